#pragma once
// Reading members of a client's or an upstream's JSON without exceptions: one definition for the
// translators (dialects, provider adapters), so "absent" and "null" mean the same everywhere.

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
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

// nlohmann's obj.value(key, fallback) without its throw: the fallback also when the member is
// null or of another type (a string for a bool, a float too large for the integer wanted).
template <class T>
T member_or(const nlohmann::json& obj, const char* key, T fallback) {
  const nlohmann::json* m = member(obj, key);
  if (!m) return fallback;
  if constexpr (std::is_same_v<T, bool>) {
    return m->is_boolean() ? m->get<bool>() : fallback;
  } else if constexpr (std::is_integral_v<T>) {
    if (m->is_number_unsigned()) {
      const auto v = m->get<uint64_t>();
      return std::in_range<T>(v) ? static_cast<T>(v) : fallback;
    }
    if (m->is_number_integer()) {
      const auto v = m->get<int64_t>();
      return std::in_range<T>(v) ? static_cast<T>(v) : fallback;
    }
    if (m->is_number_float()) {
      const double d = m->get<double>();
      const double hi = std::ldexp(1.0, std::numeric_limits<T>::digits);  // 2^63 for int64_t
      if (d >= (std::is_signed_v<T> ? -hi : 0.0) && d < hi) return static_cast<T>(d);
    }
    return fallback;
  } else if constexpr (std::is_floating_point_v<T>) {
    return m->is_number() ? m->get<T>() : fallback;
  } else {
    return m->is_string() ? T(m->get_ref<const std::string&>()) : fallback;
  }
}

}  // namespace tg
