// json_scan::valid: a strict JSON validator, for upstream answers that are passed through as
// they are. It accepts exactly what nlohmann::json::accept accepts (RFC 8259, UTF-8 checked in
// strings, \u escapes with paired surrogates, a leading UTF-8 BOM skipped, a NUL byte after the
// value read as the end of the text, a number that overflows a double refused), bounded in depth,
// in one pass without recursion (or allocation, but for a number beyond a double's range): a few
// instructions per byte instead of the parser's lexer, which copies every character of every
// token.

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tollgate/providers/json_scan.hpp"

namespace tg::providers::json_scan {
namespace {

inline bool is_ws(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
inline bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool in(unsigned char c, unsigned char lo, unsigned char hi) { return c >= lo && c <= hi; }

// s[i] == '"'. The index after the closing quote, or npos.
size_t string_end(std::string_view s, size_t i) {
  const size_t n = s.size();
  ++i;
  while ((i = plain_run_end(s, i)) < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"') return i + 1;
    if (c < 0x20) return std::string_view::npos;
    if (c < 0x80) {
      if (c != '\\') {
        ++i;
        continue;
      }
      if (i + 1 >= n) return std::string_view::npos;
      switch (s[i + 1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
          i += 2;
          continue;
        case 'u': {
          int u = hex4(s, i + 2);
          if (u < 0) return std::string_view::npos;
          i += 6;
          if (u >= 0xDC00 && u <= 0xDFFF) return std::string_view::npos;  // a lone low half
          if (u >= 0xD800 && u <= 0xDBFF) {  // a high half: a low one must follow
            if (i + 1 >= n || s[i] != '\\' || s[i + 1] != 'u') return std::string_view::npos;
            int lo = hex4(s, i + 2);
            if (lo < 0xDC00 || lo > 0xDFFF) return std::string_view::npos;
            i += 6;
          }
          continue;
        }
        default:
          return std::string_view::npos;
      }
    }
    // UTF-8, as RFC 3629 (and nlohmann's lexer) allows it.
    auto at = [&](size_t k) { return i + k < n ? static_cast<unsigned char>(s[i + k]) : 0; };
    size_t len;
    if (in(c, 0xC2, 0xDF)) {
      len = in(at(1), 0x80, 0xBF) ? 2 : 0;
    } else if (c == 0xE0) {
      len = in(at(1), 0xA0, 0xBF) && in(at(2), 0x80, 0xBF) ? 3 : 0;
    } else if (in(c, 0xE1, 0xEC) || c == 0xEE || c == 0xEF) {
      len = in(at(1), 0x80, 0xBF) && in(at(2), 0x80, 0xBF) ? 3 : 0;
    } else if (c == 0xED) {
      len = in(at(1), 0x80, 0x9F) && in(at(2), 0x80, 0xBF) ? 3 : 0;
    } else if (c == 0xF0) {
      len = in(at(1), 0x90, 0xBF) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
    } else if (in(c, 0xF1, 0xF3)) {
      len = in(at(1), 0x80, 0xBF) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
    } else if (c == 0xF4) {
      len = in(at(1), 0x80, 0x8F) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
    } else {
      len = 0;
    }
    if (len == 0) return std::string_view::npos;
    i += len;
  }
  return std::string_view::npos;
}

// The parser reads a number that is not an integer it can hold (a fraction, an exponent, more
// digits than 64 bits take) as a double, and refuses one that overflows to infinity.
bool finite_as_double(std::string_view token) {
  double d = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), d);
  if (ec == std::errc()) return std::isfinite(d);
  std::string copy(token);  // out of range: overflow (refused) or underflow (0, accepted)
  return std::isfinite(std::strtod(copy.c_str(), nullptr));
}

// A number at s[i]: the index after it, or npos.
size_t number_end(std::string_view s, size_t i) {
  const size_t n = s.size();
  const size_t start = i;
  auto ch = [&](size_t k) { return k < n ? static_cast<unsigned char>(s[k]) : 0; };
  if (ch(i) == '-') ++i;
  const size_t digits_at = i;
  if (ch(i) == '0') {
    ++i;
  } else if (in(ch(i), '1', '9')) {
    while (is_digit(ch(i))) ++i;
  } else {
    return std::string_view::npos;
  }
  bool integer = true;
  if (ch(i) == '.') {
    integer = false;
    ++i;
    if (!is_digit(ch(i))) return std::string_view::npos;
    while (is_digit(ch(i))) ++i;
  }
  if (ch(i) == 'e' || ch(i) == 'E') {
    integer = false;
    ++i;
    if (ch(i) == '+' || ch(i) == '-') ++i;
    if (!is_digit(ch(i))) return std::string_view::npos;
    while (is_digit(ch(i))) ++i;
  }
  // Up to 18 digits always fit in 64 bits; anything else may be read as a double.
  if ((!integer || i - digits_at > 18) && !finite_as_double(s.substr(start, i - start))) {
    return std::string_view::npos;
  }
  return i;
}

}  // namespace

namespace {

// `members`, when given, records the top-level object's members on the way (a branch per value).
bool validate(std::string_view s, size_t max_depth, TopMembers* members) {
  max_depth = std::min(max_depth, kMaxValidDepth);
  size_t key_begin = 0, key_end = 0, value_begin = 0;
  auto note_key = [&](size_t begin, size_t end) {  // s[begin] == '"', end after the closing one
    key_begin = begin + 1;
    key_end = end - 1;
  };
  auto note_value_end = [&](size_t end) {
    if (members->count == TopMembers::kMax) {
      members->more = true;
    } else {
      members->at[members->count++] = {key_begin, key_end, value_begin, end};
    }
  };
  std::array<uint64_t, kMaxValidDepth / 64> object_at{};  // bit d: level d is an object
  size_t depth = 0;
  const size_t n = s.size();
  size_t i = 0;
  if (n >= 3 && s.substr(0, 3) == "\xEF\xBB\xBF") i = 3;
  auto skip = [&] {
    while (i < n && is_ws(static_cast<unsigned char>(s[i]))) ++i;
  };
  auto is_object = [&] { return (object_at[(depth - 1) / 64] >> ((depth - 1) % 64)) & 1; };

  for (;;) {
    // A value is expected here.
    skip();
    if (i >= n) return false;
    if (members && depth == 1) value_begin = i;
    const char c = s[i];
    if (c == '{' || c == '[') {
      if (depth >= max_depth) return false;
      uint64_t bit = uint64_t{1} << (depth % 64);
      if (c == '{') object_at[depth / 64] |= bit;
      else object_at[depth / 64] &= ~bit;
      ++depth;
      ++i;
      skip();
      if (i < n && s[i] == (c == '{' ? '}' : ']')) {  // empty
        if (members && depth == 1) members->close = i;
        --depth;
        ++i;
      } else if (c == '{') {  // the first key
        if (i >= n || s[i] != '"') return false;
        const size_t key_at = i;
        i = string_end(s, i);
        if (i == std::string_view::npos) return false;
        if (members && depth == 1) note_key(key_at, i);
        skip();
        if (i >= n || s[i] != ':') return false;
        ++i;
        continue;
      } else {
        continue;
      }
    } else if (c == '"') {
      i = string_end(s, i);
      if (i == std::string_view::npos) return false;
    } else if (c == 't' || c == 'f' || c == 'n') {
      std::string_view lit = c == 't' ? "true" : c == 'f' ? "false" : "null";
      if (s.substr(i, lit.size()) != lit) return false;
      i += lit.size();
    } else {
      i = number_end(s, i);
      if (i == std::string_view::npos) return false;
    }
    // After a value: close containers, or a separator and the next member or element.
    for (;;) {
      if (members && depth == 1 && is_object()) note_value_end(i);  // a member's value ended
      skip();
      if (depth == 0) return i == n || s[i] == '\0';  // the parser reads a NUL as the end
      if (i >= n) return false;
      const bool obj = is_object();
      if (s[i] == (obj ? '}' : ']')) {
        if (members && depth == 1) members->close = i;
        --depth;
        ++i;
        continue;
      }
      if (s[i] != ',') return false;
      ++i;
      if (obj) {
        skip();
        if (i >= n || s[i] != '"') return false;
        const size_t key_at = i;
        i = string_end(s, i);
        if (i == std::string_view::npos) return false;
        if (members && depth == 1) note_key(key_at, i);
        skip();
        if (i >= n || s[i] != ':') return false;
        ++i;
      }
      break;
    }
  }
}

}  // namespace

bool valid(std::string_view s, size_t max_depth) { return validate(s, max_depth, nullptr); }

bool valid(std::string_view s, size_t max_depth, TopMembers& members) {
  members = TopMembers();
  if (!validate(s, max_depth, &members)) return false;
  const size_t first = skip_ws(s, bom_size(s));
  members.object = first < s.size() && s[first] == '{';
  if (!members.object) members = TopMembers();  // only an object has members
  return true;
}

}  // namespace tg::providers::json_scan
