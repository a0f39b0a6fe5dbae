#pragma once
// Small text helpers for header values and environment lists. Pure.

#include <string_view>
#include <vector>

namespace tg {

// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
std::string_view trim(std::string_view s);

// The items of a `sep`-separated list ("a, b,,c"), each trimmed; empty items are left out.
std::vector<std::string_view> split_list(std::string_view list, char sep = ',');

}  // namespace tg
