#pragma once
// Small text helpers for header values and environment lists. Pure.

#include <charconv>
#include <cstring>
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

// needle's first position in hay at or after `from` (npos if none), as hay.find(needle, from)
// does. libstdc++'s find calls memchr for every occurrence of the needle's first character ('"',
// 'c', 'u' are everywhere in JSON); glibc's memmem compares in one pass.
inline size_t find_text(std::string_view hay, std::string_view needle, size_t from = 0) {
  if (from > hay.size()) return std::string_view::npos;
  if (needle.empty()) return from;
  const void* p = ::memmem(hay.data() + from, hay.size() - from, needle.data(), needle.size());
  return p ? static_cast<size_t>(static_cast<const char*>(p) - hay.data()) : std::string_view::npos;
}

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
