#pragma once
// Reading members of a client's or an upstream's JSON without exceptions: one definition for the
// translators (dialects, provider adapters), so "absent" and "null" mean the same everywhere.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tg {

// A member that is present and not null, or nullptr (also when `obj` is not an object).
inline const nlohmann::json* member(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}
inline const nlohmann::json* member(const nlohmann::json* obj, const char* key) {
  return obj ? member(*obj, key) : nullptr;
}
// A string's value, or "" for anything else (absent, null, another type).
inline std::string_view str_of(const nlohmann::json* j) {
  return j && j->is_string() ? std::string_view(j->get_ref<const std::string&>()) : "";
}

// A member's string value, or "" (absent, null, another type): where nlohmann's value(key, "")
// would throw on a member of another type, which a hostile body can send.
inline std::string_view str_member(const nlohmann::json& obj, const char* key) {
  return str_of(member(obj, key));
}

}  // namespace tg
