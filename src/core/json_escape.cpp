#include "tollgate/core/json_writer.hpp"

#include <cstring>
#include <nlohmann/json.hpp>

#include "tollgate/core/text.hpp"

namespace tg {

namespace {

// What a UTF-8 lead byte starts (RFC 3629): the sequence's length (0: not a lead byte) and the
// range its second byte must be in (no overlong forms, no surrogates, nothing above U+10FFFF).
struct Lead {
  size_t length = 0;
  unsigned char lo = 0x80, hi = 0xBF;
};

Lead lead_of(unsigned char c) {
  Lead l;
  if (c >= 0xC2 && c <= 0xDF) {
    l.length = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    l.length = 3;
    if (c == 0xE0) l.lo = 0xA0;
    if (c == 0xED) l.hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    l.length = 4;
    if (c == 0xF0) l.lo = 0x90;
    if (c == 0xF4) l.hi = 0x8F;
  }
  return l;
}

// How many bytes from s[i] (a lead byte) fit the sequence it starts, up to its length.
size_t fitting_bytes(std::string_view s, size_t i, const Lead& lead) {
  size_t k = 1;
  for (; k < lead.length && i + k < s.size(); ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < (k == 1 ? lead.lo : 0x80) || b > (k == 1 ? lead.hi : 0xBF)) break;
  }
  return k;
}

// The bytes of the ill-formed sequence at s[i] that one U+FFFD replaces (at least 1): a valid
// lead byte and the continuation bytes that could still have completed it, as nlohmann's
// decoder consumes them before it rejects.
size_t ill_formed_length(std::string_view s, size_t i) {
  const Lead lead = lead_of(static_cast<unsigned char>(s[i]));
  return lead.length ? fitting_bytes(s, i, lead) : 1;
}

}  // namespace

size_t utf8_sequence(std::string_view s, size_t i) {
  const Lead lead = lead_of(static_cast<unsigned char>(s[i]));
  return lead.length && fitting_bytes(s, i, lead) == lead.length ? lead.length : 0;
}

namespace {

// The escapes' appends, out of line: inlined, std::string's growth paths made this function
// several times larger for the rare path.
[[gnu::noinline]] void put(std::string& out, std::string_view v) { out.append(v); }

// True when none of the 8 bytes at p needs a look of its own: each is printable ASCII other
// than '"' and '\\' (the per-byte loop's fast case). Long strings (descriptions, schemas,
// message text) are mostly such runs; 8 bytes per test instead of one.
bool plain8(const char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  uint64_t v;
  std::memcpy(&v, p, 8);
  auto has_zero = [&](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  const uint64_t below_space = (v - 0x20 * kOnes) & ~v & kHigh;  // exact for bounds up to 0x80
  const uint64_t quote = has_zero(v ^ ('"' * kOnes)), backslash = has_zero(v ^ ('\\' * kOnes));
  return ((v & kHigh) | below_space | quote | backslash) == 0;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  size_t run = 0;  // start of the bytes not yet copied
  size_t i = 0;
  while (i < s.size()) {
    while (i + 8 <= s.size() && plain8(s.data() + i)) i += 8;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    size_t skip = 1;
    if (c >= 0x80) {
      if (size_t n = utf8_sequence(s, i)) {
        i += n;
        continue;
      }
      skip = ill_formed_length(s, i);
    }
    out.append(s.data() + run, i - run);
    char esc[6] = {'\\', static_cast<char>(c), 0, 0, 0, 0};
    size_t len = 2;
    switch (c) {
      case '"': case '\\': break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        if (c < 0x20) {
          esc[1] = 'u';
          esc[2] = esc[3] = '0';
          esc[4] = kHex[c >> 4];
          esc[5] = kHex[c & 0xF];
          len = 6;
        } else {
          std::memcpy(esc, "\xEF\xBF\xBD", 3);  // U+FFFD
          len = 3;
        }
    }
    put(out, std::string_view(esc, len));
    i += skip;
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_json(std::string& out, const nlohmann::json& j) {
  using value_t = nlohmann::json::value_t;
  switch (j.type()) {
    case value_t::null: out += "null"; return;
    case value_t::boolean: out += j.get<bool>() ? "true" : "false"; return;
    case value_t::string: append_json_string(out, j.get_ref<const std::string&>()); return;
    case value_t::number_integer: out.append(NumberText(j.get<int64_t>())); return;
    case value_t::number_unsigned: out.append(NumberText(j.get<uint64_t>())); return;
    case value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& v : j) {
        if (!first) out += ',';
        first = false;
        append_json(out, v);
      }
      out += ']';
      return;
    }
    case value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, k);
        out += ':';
        append_json(out, v);
      }
      out += '}';
      return;
    }
    default:  // floats (nlohmann's shortest round-trip form), binary, discarded
      out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

}  // namespace tg
