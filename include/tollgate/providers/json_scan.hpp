#pragma once
// Scanning JSON text without parsing it: for reading one member of a body that is otherwise
// passed through as is. Each function takes the index of the first character and returns the
// index just after what it skipped (the text's size when it is cut short). Pure.

#include <cstddef>
#include <string_view>

namespace tg::providers::json_scan {

size_t skip_ws(std::string_view s, size_t i);
size_t skip_string(std::string_view s, size_t i);  // s[i] == '"'
size_t skip_value(std::string_view s, size_t i);   // any value: string, object, array, scalar

}  // namespace tg::providers::json_scan
