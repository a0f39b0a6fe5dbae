#include "tollgate/core/json_writer.hpp"


#include <nlohmann/json.hpp>

#include "tollgate/core/text.hpp"

namespace tg {

// (The escaping is src/core/json_escape.cpp, optimised for speed: the Responses dialect streams
// through it. These members build the admin API's answers, cold: this file is built -Os.)

JsonWriter& JsonWriter::key(std::string_view k) {
  comma();
  append_json_string(out_, k);
  out_ += ':';
  after_value_ = false;
  return *this;
}

JsonWriter& JsonWriter::str(std::string_view v) {
  comma();
  append_json_string(out_, v);
  after_value_ = true;
  return *this;
}

JsonWriter& JsonWriter::num(int64_t v) { return raw(NumberText(v)); }

JsonWriter& JsonWriter::num(uint64_t v) { return raw(NumberText(v)); }

JsonWriter& JsonWriter::real(double v) {
  // nlohmann's own form (its serializer is in the binary anyway).
  return raw(nlohmann::json(v).dump());
}

JsonWriter& JsonWriter::raw(std::string_view json_text) {
  comma();
  out_ += json_text;
  after_value_ = true;
  return *this;
}

}  // namespace tg
