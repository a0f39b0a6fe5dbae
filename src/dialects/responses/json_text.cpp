#include "json_text.hpp"


#include <nlohmann/json.hpp>

#include "tollgate/core/text.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::dialects::responses::detail {

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
  auto j = providers::json_scan::parse(raw);
  if (!j.is_string()) return std::nullopt;
  scratch = j.get<std::string>();
  return std::string_view(scratch);
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
  out_.append(NumberText(value));
  return *this;
}

}  // namespace tg::dialects::responses::detail
