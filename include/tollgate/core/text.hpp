#pragma once
// Small text helpers for header values and environment lists. Pure.

#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace tg {

// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
std::string_view trim(std::string_view s);

// The items of a `sep`-separated list ("a, b,,c"), each trimmed; empty items are left out.
std::vector<std::string_view> split_list(std::string_view list, char sep = ',');

// A client-chosen string made safe for a text log line: \r \n \t as those two characters,
// other control characters (and DEL) as \xNN, so that no client can start a line of its own
// or hide one. Everything else is kept as it is.
std::string log_escape(std::string_view s);
void log_escape_into(std::string& out, std::string_view s);

// For format arguments: spdlog::warn("model {}", log_safe(model)) escapes without a copy.
struct LogSafe {
  std::string_view text;
};
inline LogSafe log_safe(std::string_view s) { return LogSafe{s}; }

}  // namespace tg

template <>
struct fmt::formatter<tg::LogSafe> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const tg::LogSafe& v, Ctx& ctx) const {
    std::string escaped;
    tg::log_escape_into(escaped, v.text);
    return fmt::formatter<std::string_view>::format(escaped, ctx);
  }
};
