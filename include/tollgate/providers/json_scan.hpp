#pragma once
// Scanning JSON text without parsing it: for reading one member of a body that is otherwise
// passed through as is. Each function takes the index of the first character and returns the
// index just after what it skipped (the text's size when it is cut short). Pure.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "tollgate/core/hex.hpp"

namespace tg::providers::json_scan {

size_t skip_ws(std::string_view s, size_t i);

// The index of the first byte at or after i that is '"', '\\', a control character or not ASCII
// (s.size() if none): the only bytes inside a string that a scanner must look at. The rest, most
// of an answer's text, is passed eight bytes at a time (bit tricks on a 64-bit word, each exact
// about whether any of the eight bytes matches).
inline size_t plain_run_end(std::string_view s, size_t i) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHighs = 0x8080808080808080ull;
  while (i + 8 <= s.size()) {
    uint64_t v;
    std::memcpy(&v, s.data() + i, 8);
    const uint64_t quote = v ^ (kOnes * '"'), backslash = v ^ (kOnes * '\\');
    const uint64_t special = ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) |
                             (v - kOnes * 0x20) | v;  // a zero byte in either; < 0x20; >= 0x80
    if (const uint64_t hit = special & kHighs) {
      // The lowest flagged byte is always a real one (a borrow only flags bytes above it), so on
      // a little-endian machine its position is the count of trailing zero bits / 8.
      if constexpr (std::endian::native == std::endian::little) {
        return i + static_cast<size_t>(std::countr_zero(hit) >> 3);
      }
      break;
    }
    i += 8;
  }
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
    ++i;
  }
  return i;
}
size_t skip_string(std::string_view s, size_t i);  // s[i] == '"'

// The code unit of the four hex digits of a \u escape at s[i..i+4), or -1 (cut short, or not hex).
inline int hex4(std::string_view s, size_t i) {
  if (i > s.size() || s.size() - i < 4) return -1;
  int v = 0;
  for (size_t k = 0; k < 4; ++k) {
    const int h = hex_value(s[i + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}
size_t skip_value(std::string_view s, size_t i);   // any value: string, object, array, scalar

// How deeply arrays and objects nest in s (0 for a scalar), counting no further than limit + 1:
// one pass, no recursion, brackets inside strings ignored. Malformed text is measured as far as
// it goes (the parser refuses it afterwards).
size_t nesting_depth(std::string_view s, size_t limit);

// Whether s is one JSON value and nothing else, exactly as nlohmann::json::accept decides it
// (UTF-8 and \u surrogate pairs checked, a leading BOM skipped, text after a NUL byte ignored),
// with arrays and objects nested at most max_depth (capped at kMaxValidDepth) deep. One pass, no
// allocation (src/providers/json_validate.cpp).
inline constexpr size_t kMaxValidDepth = 1024;
bool valid(std::string_view s, size_t max_depth = kMaxValidDepth);

// The members of a top-level object, as valid() passed them: each key as written (without its
// quotes, escapes kept) and its value, as offsets into the text; the first kMax of them (`more`
// when there were others), and where the closing brace is. Nothing when the value is no object.
struct TopMembers {
  static constexpr size_t kMax = 64;
  struct Member {
    size_t key_begin, key_end, value_begin, value_end;
  };
  std::array<Member, kMax> at;
  size_t count = 0;
  bool more = false;
  bool object = false;
  size_t close = 0;  // the object's '}'
};
// valid(), noting the top-level object's members on the way: one pass for both.
bool valid(std::string_view s, size_t max_depth, TopMembers& members);

// 3 when s starts with a UTF-8 byte order mark, which the parser skips (so do the walks here).
inline size_t bom_size(std::string_view s) { return s.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0; }

// Walks the object that starts at s[i]: fn(key, value_begin) is called for each member, the key
// as written (without its quotes, escapes kept), and returns the index just after the value (it
// skips the value, or reads into it). Returns the index just after the closing brace, or npos
// when s is not an object there or is malformed. For reading a few members at known places in
// one pass, without skipping a container twice.
template <class Fn>
size_t walk_object(std::string_view s, size_t i, Fn&& fn) {
  constexpr size_t npos = std::string_view::npos;
  if (i >= s.size() || s[i] != '{') return npos;
  i = skip_ws(s, i + 1);
  if (i < s.size() && s[i] == '}') return i + 1;
  while (i < s.size()) {
    if (s[i] != '"') return npos;
    const size_t key_end = skip_string(s, i);
    if (key_end > s.size() || key_end < i + 2) return npos;
    const std::string_view key = s.substr(i + 1, key_end - i - 2);
    i = skip_ws(s, key_end);
    if (i >= s.size() || s[i] != ':') return npos;
    i = skip_ws(s, i + 1);
    if (i >= s.size()) return npos;
    const size_t value_end = fn(key, i);
    if (value_end == npos || value_end <= i) return npos;
    i = skip_ws(s, value_end);
    if (i < s.size() && s[i] == '}') return i + 1;
    if (i >= s.size() || s[i] != ',') return npos;
    i = skip_ws(s, i + 1);
  }
  return npos;
}

// Calls fn(key, value_begin, value_end) for each member of the top-level object, in order: the
// key as written (without its quotes, escapes kept), the value as [begin, end) of s. fn returns
// false to stop. Returns false when s is not an object or is malformed before the walk ended.
template <class Fn>
bool for_each_member(std::string_view s, Fn&& fn) {
  bool stopped = false;
  const size_t end = walk_object(s, skip_ws(s, bom_size(s)), [&](std::string_view key, size_t i) {
    const size_t value_end = skip_value(s, i);
    stopped = !fn(key, i, value_end);
    return stopped ? std::string_view::npos : value_end;
  });
  return stopped || end != std::string_view::npos;
}

// As walk_object, for the array that starts at s[i]: fn(value_begin) returns the index after the
// value.
template <class Fn>
size_t walk_array(std::string_view s, size_t i, Fn&& fn) {
  constexpr size_t npos = std::string_view::npos;
  if (i >= s.size() || s[i] != '[') return npos;
  i = skip_ws(s, i + 1);
  if (i < s.size() && s[i] == ']') return i + 1;
  while (i < s.size()) {
    const size_t value_end = fn(i);
    if (value_end == npos || value_end <= i) return npos;
    i = skip_ws(s, value_end);
    if (i < s.size() && s[i] == ']') return i + 1;
    if (i >= s.size() || s[i] != ',') return npos;
    i = skip_ws(s, i + 1);
  }
  return npos;
}

}  // namespace tg::providers::json_scan
