// json_scan::build: the document for text valid() accepted. Recursion is bounded by valid()'s
// depth limit (kMaxValidDepth at most; the client path allows kMaxJsonDepth).

#include "tollgate/providers/json_build.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tollgate/providers/json_scan.hpp"

namespace tg::providers::json_scan {
namespace {

using json = nlohmann::json;

class Builder {
 public:
  explicit Builder(std::string_view s) : s_(s) {}

  json document() {
    i_ = bom_size(s_);
    return value();
  }

 private:
  char at(size_t k) const { return k < s_.size() ? s_[k] : '\0'; }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }

  json value() {
    ws();
    switch (at(i_)) {
      case '{': return depth_ < kMaxValidDepth ? nested(&Builder::object) : json();
      case '[': return depth_ < kMaxValidDepth ? nested(&Builder::array) : json();
      case '"': return json(string());
      case 't': i_ += 4; return json(true);
      case 'f': i_ += 5; return json(false);
      case 'n': i_ += 4; return json(nullptr);
      default: return number();
    }
  }

  // Valid text nests at most kMaxValidDepth deep; the bound keeps other text off the stack.
  json nested(json (Builder::*container)()) {
    ++depth_;
    json out = (this->*container)();
    --depth_;
    return out;
  }

  json object() {
    json out(json::value_t::object);
    auto& members = *out.get_ptr<json::object_t*>();
    ++i_;  // {
    ws();
    if (at(i_) == '}') {
      ++i_;
      return out;
    }
    while (i_ < s_.size()) {
      ws();
      std::string key = string();
      ws();
      ++i_;  // :
      members[std::move(key)] = value();  // a repeated key: the last value, as the parser keeps
      ws();
      if (at(i_++) != ',') break;  // }
    }
    return out;
  }

  json array() {
    json out(json::value_t::array);
    auto& elements = *out.get_ptr<json::array_t*>();
    ++i_;  // [
    ws();
    if (at(i_) == ']') {
      ++i_;
      return out;
    }
    while (i_ < s_.size()) {
      elements.push_back(value());
      ws();
      if (at(i_++) != ',') break;  // ]
    }
    return out;
  }

  // s_[i_] == '"'. Runs without escapes are copied whole.
  std::string string() {
    std::string out;
    if (i_ >= s_.size()) return out;  // text cut short: not on valid text
    size_t start = ++i_;
    while ((i_ = plain_run_end(s_, i_)) < s_.size()) {
      const char c = s_[i_];
      if (c == '"') {
        out.append(s_.data() + start, i_ - start);
        ++i_;
        return out;
      }
      if (c != '\\') {  // a byte of a UTF-8 sequence (valid() checked it)
        ++i_;
        continue;
      }
      out.append(s_.data() + start, i_ - start);
      escape(out);
      i_ = std::min(i_, s_.size());  // an escape cut short: not on valid text
      start = i_;
    }
    out.append(s_.data() + start, s_.size() - start);  // cut short: not on valid text
    return out;
  }

  // s_[i_] == '\\': appends what the escape stands for.
  void escape(std::string& out) {
    const char e = at(i_ + 1);
    i_ += 2;
    switch (e) {
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default: out += e; return;  // " \ /
    }
    // valid(): four hex digits, and a high surrogate is followed by a low one (on other text a
    // bad escape reads as U+0000).
    unsigned cp = static_cast<unsigned>(std::max(hex4(s_, i_), 0));
    i_ += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF && at(i_) == '\\' && at(i_ + 1) == 'u') {
      const int low = hex4(s_, i_ + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      i_ += 6;
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // The parser's rule: an integer token is an unsigned (no sign) or a signed integer when it
  // fits 64 bits, else a double; a fraction or an exponent makes a double (strtod, as it does).
  json number() {
    const size_t start = i_;
    bool integer = true;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == '.' || c == 'e' || c == 'E') {
        integer = false;
      } else if (!((c >= '0' && c <= '9') || c == '-' || c == '+')) {
        break;
      }
      ++i_;
    }
    const char* b = s_.data() + start;
    const char* e = s_.data() + i_;
    if (integer && b != e) {
      if (*b == '-') {
        int64_t v = 0;
        if (auto r = std::from_chars(b, e, v); r.ec == std::errc() && r.ptr == e) return json(v);
      } else {
        uint64_t v = 0;
        if (auto r = std::from_chars(b, e, v); r.ec == std::errc() && r.ptr == e) return json(v);
      }
    }
    double d = 0;
    if (auto r = std::from_chars(b, e, d); r.ec == std::errc() && r.ptr == e) return json(d);
    const std::string token(b, e);  // out of range (an underflow): strtod, as the parser reads it
    return json(std::strtod(token.c_str(), nullptr));
  }

  std::string_view s_;
  size_t i_ = 0;
  size_t depth_ = 0;
};

}  // namespace

json build(std::string_view text) { return Builder(text).document(); }

std::string compact(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t run = i;  // up to the next string or whitespace, copied at once
    while (run < s.size() && s[run] != '"' && s[run] != ' ' && s[run] != '\n' && s[run] != '\r' &&
           s[run] != '\t') {
      ++run;
    }
    out.append(s.substr(i, run - i));
    if (run >= s.size()) break;
    if (s[run] == '"') {
      const size_t end = skip_string(s, run);
      out.append(s.substr(run, end - run));
      i = end;
    } else {
      i = run + 1;
    }
  }
  return out;
}

json parse(std::string_view text) {
  return valid(text) ? build(text) : json(json::value_t::discarded);
}

}  // namespace tg::providers::json_scan
