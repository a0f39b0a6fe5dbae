#pragma once
// Writing JSON text straight into a string, for answers whose shape is fixed (the admin API's
// read-only views, the Responses dialect's events): no DOM, so no std::map node per member and
// none of nlohmann's per-shape template code. Every string goes through append_json_string.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace tg {

// Appends s as a JSON string, quotes included, exactly as nlohmann's dump() with
// error_handler_t::replace writes it: '"', '\\' and control characters escaped (\b \f \n \r \t,
// else \u00XX), other bytes as they are, and each maximal ill-formed UTF-8 subpart replaced by one
// U+FFFD. The output is valid JSON whatever the bytes.
void append_json_string(std::string& out, std::string_view s);

// Appends j as compact JSON text, exactly as j.dump(-1, ' ', false, error_handler_t::replace)
// writes it, without dump's per-call set-up and temporary string. Recursive: for documents whose
// depth is bounded (client and upstream JSON is depth-checked when parsed).
void append_json(std::string& out, const nlohmann::json& j);

// The length of the valid UTF-8 sequence starting at s[i], whose lead byte is >= 0x80, or 0 when
// it is not one (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence(std::string_view s, size_t i);

// A JSON value being written: objects and arrays nest, commas are the writer's. Keys are escaped
// like any string. Members come out in call order.
class JsonWriter {
 public:
  JsonWriter& object() { return open('{'); }
  JsonWriter& array() { return open('['); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& end_array() { return close(']'); }
  // A member's key; its value is the next thing written.
  JsonWriter& key(std::string_view k);

  JsonWriter& str(std::string_view v);
  JsonWriter& num(int64_t v);
  JsonWriter& num(uint64_t v);
  JsonWriter& num(int v) { return num(static_cast<int64_t>(v)); }
  JsonWriter& num(uint32_t v) { return num(static_cast<uint64_t>(v)); }
  JsonWriter& real(double v);  // as nlohmann writes a double (shortest round trip, "1.0"; NaN: null)
  JsonWriter& boolean(bool v) { return raw(v ? "true" : "false"); }
  JsonWriter& null() { return raw("null"); }
  JsonWriter& raw(std::string_view json_text);  // JSON text the caller vouches for

  // Members: key then value. A string that is empty (or an absent optional) as null.
  JsonWriter& str(std::string_view k, std::string_view v) { return key(k).str(v); }
  JsonWriter& str_or_null(std::string_view k, std::string_view v) {
    return v.empty() ? key(k).null() : key(k).str(v);
  }
  template <typename N>
  JsonWriter& num(std::string_view k, N v) { return key(k).num(v); }
  template <typename N>
  JsonWriter& num_or_null(std::string_view k, const std::optional<N>& v) {
    return v ? key(k).num(*v) : key(k).null();
  }
  JsonWriter& real(std::string_view k, double v) { return key(k).real(v); }
  JsonWriter& boolean(std::string_view k, bool v) { return key(k).boolean(v); }
  JsonWriter& null(std::string_view k) { return key(k).null(); }
  JsonWriter& object(std::string_view k) { return key(k).object(); }
  JsonWriter& array(std::string_view k) { return key(k).array(); }
  // An array of strings.
  template <typename Strings>
  JsonWriter& strings(std::string_view k, const Strings& values) {
    key(k).array();
    for (const auto& v : values) str(v);
    return end_array();
  }

  std::string& text() { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void comma() {
    if (after_value_) out_ += ',';
  }
  JsonWriter& open(char c) {
    comma();
    out_ += c;
    after_value_ = false;
    return *this;
  }
  JsonWriter& close(char c) {
    out_ += c;
    after_value_ = true;
    return *this;
  }

  std::string out_;
  bool after_value_ = false;  // the next value or key needs a ',' first
};

}  // namespace tg
