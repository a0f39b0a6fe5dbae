#include "json_text.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

namespace tg::dialects::responses::detail {

namespace {

// The length of the valid UTF-8 sequence at s[i] (non-ASCII lead byte), or 0 (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  size_t run = 0;  // start of the bytes not yet copied
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (size_t n = utf8_sequence(s, i)) {
        i += n;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += "\xEF\xBF\xBD";  // an invalid byte: U+FFFD
        }
    }
    ++i;
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

bool plain_json_string(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == '\\' || c == '"') return false;
      ++i;
      continue;
    }
    size_t n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::optional<std::string_view> json_string_value(std::string_view raw, std::string& scratch) {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return std::nullopt;
  std::string_view inner = raw.substr(1, raw.size() - 2);
  if (plain_json_string(inner)) return inner;
  auto j = nlohmann::json::parse(raw, nullptr, false);
  if (!j.is_string()) return std::nullopt;
  scratch = j.get<std::string>();
  return std::string_view(scratch);
}

void write_json(std::string& out, const nlohmann::json& j) {
  using value_t = nlohmann::json::value_t;
  char buf[24];
  switch (j.type()) {
    case value_t::null: out += "null"; return;
    case value_t::boolean: out += j.get<bool>() ? "true" : "false"; return;
    case value_t::string: append_json_string(out, j.get_ref<const std::string&>()); return;
    case value_t::number_integer: {
      auto r = std::to_chars(buf, buf + sizeof buf, j.get<int64_t>());
      out.append(buf, r.ptr);
      return;
    }
    case value_t::number_unsigned: {
      auto r = std::to_chars(buf, buf + sizeof buf, j.get<uint64_t>());
      out.append(buf, r.ptr);
      return;
    }
    case value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& v : j) {
        if (!first) out += ',';
        first = false;
        write_json(out, v);
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
        write_json(out, v);
      }
      out += '}';
      return;
    }
    default:  // floats (nlohmann's shortest round-trip form), binary, discarded
      out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

std::optional<int64_t> json_int(std::string_view raw) {
  if (raw.empty()) return std::nullopt;
  int64_t v = 0;
  auto r = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (r.ec != std::errc() || r.ptr != raw.data() + raw.size()) return std::nullopt;
  if (raw.front() == '+') return std::nullopt;
  return v;
}

ObjectWriter& ObjectWriter::num(std::string_view key, int64_t value) {
  this->key(key);
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, r.ptr);
  return *this;
}

}  // namespace tg::dialects::responses::detail
