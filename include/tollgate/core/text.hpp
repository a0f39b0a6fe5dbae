#pragma once
// Small text helpers for header values and environment lists. Pure.

#include <charconv>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
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

// A number's text in a stack buffer, for appending to a string or a header on the request path
// without a format string (fmt parses its own on every call) or a heap temporary:
// line.append(NumberText(n)); add_header("x-ms", NumberText(ms, 3)).
class NumberText {
 public:
  template <class Int, std::enable_if_t<std::is_integral_v<Int>, int> = 0>
  explicit NumberText(Int v, int base = 10) {
    set(std::to_chars(buf_, buf_ + sizeof buf_, v, base));
  }
  // With `decimals` digits after the point (printf's %.3f for 3); a figure too large for that
  // (over 60 digits) in the shortest exact form instead ("1e+300").
  NumberText(double v, int decimals) {
    auto r = std::to_chars(buf_, buf_ + sizeof buf_, v, std::chars_format::fixed, decimals);
    if (r.ec != std::errc()) r = std::to_chars(buf_, buf_ + sizeof buf_, v);
    set(r);
  }
  std::string_view view() const { return {buf_, len_}; }
  operator std::string_view() const { return view(); }

 private:
  void set(std::to_chars_result r) {  // 64 bytes hold any integer and any shortest double
    len_ = r.ec == std::errc() ? static_cast<size_t>(r.ptr - buf_) : 0;
  }
  char buf_[64];
  size_t len_ = 0;
};

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
