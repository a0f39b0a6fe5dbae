#pragma once
// Writing JSON text straight into an output string, for the Responses events and objects whose
// shapes are fixed: no DOM, one allocation per string at most (a Response stream writes ~28 events;
// as nlohmann objects each cost a std::map node per member). Internal to the Responses dialect.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tollgate/core/json_writer.hpp"

namespace tg::dialects::responses::detail {

using tg::append_json;         // (src/core/json_escape.cpp: one escaping for every JSON writer)
using tg::append_json_string;

// Whether s, the inside of a JSON string literal as written, is its own value: no escapes, no
// control characters, valid UTF-8. Then the text needs no decoding.
bool plain_json_string(std::string_view s);

// The value of a JSON string literal as written (quotes included): the text itself when it needs
// no decoding, else decoded into scratch; nullopt when it is not a valid JSON string.
std::optional<std::string_view> json_string_value(std::string_view raw, std::string& scratch);

// A JSON integer as written (-?[0-9]+) that fits int64_t; nullopt for anything else.
std::optional<int64_t> json_int(std::string_view raw);

// A JSON object being written into `out`: members are appended in call order. Keys are the
// caller's constants (never escaped); values are escaped, or raw JSON text the caller vouches for.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  ObjectWriter& str(std::string_view key, std::string_view value) {
    this->key(key);
    append_json_string(out_, value);
    return *this;
  }
  // A string value that needs no escaping, which the caller vouches for: a constant, an id
  // Tollgate generated (never a client's or an upstream's text).
  ObjectWriter& word(std::string_view key, std::string_view value) {
    this->key(key);
    out_ += '"';
    out_ += value;
    out_ += '"';
    return *this;
  }
  ObjectWriter& num(std::string_view key, int64_t value);
  ObjectWriter& boolean(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }
  ObjectWriter& null(std::string_view key) { return raw(key, "null"); }
  ObjectWriter& raw(std::string_view key, std::string_view json_text) {
    this->key(key);
    out_ += json_text;
    return *this;
  }
  // Writes the key; the caller then writes the value itself (a nested writer, an array).
  ObjectWriter& key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_ += key;
    out_ += "\":";
    return *this;
  }
  std::string& out() { return out_; }
  void close() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace tg::dialects::responses::detail
