#include "tollgate/providers/output_meter.hpp"

#include <array>

namespace tg::providers {
namespace {

// Members whose string value is generated output: in OpenAI chunks, Anthropic events and
// Responses events (whose deltas are strings: `"delta":"Hel"`; elsewhere "delta" is an object).
constexpr std::array<std::string_view, 9> kGenerated = {
    "content", "text", "arguments", "reasoning_content", "reasoning", "refusal", "partial_json",
    "thinking", "delta"};

bool generated_key(std::string_view key) {
  for (auto k : kGenerated) {
    if (k == key) return true;
  }
  return false;
}

}  // namespace

void OutputMeter::feed(std::string_view s) {
  // A member name is a quoted string followed by ':' (a value never is). Inside a JSON string
  // every '"' is escaped, so a `"name":"` found here always starts a real member.
  size_t i = 0;
  while (i < s.size()) {
    size_t q = s.find('"', i);
    if (q == std::string_view::npos) return;
    size_t end = s.find('"', q + 1);
    if (end == std::string_view::npos) return;
    std::string_view name = s.substr(q + 1, end - q - 1);
    size_t j = end + 1;
    while (j < s.size() && s[j] == ' ') ++j;
    if (j >= s.size() || s[j] != ':' || name.find('\\') != std::string_view::npos) {
      i = end + 1;  // a value, not a member name (or a name with escapes: not ours)
      continue;
    }
    ++j;
    while (j < s.size() && s[j] == ' ') ++j;
    if (j >= s.size() || s[j] != '"') {
      i = j;  // a non-string value (null, a number, an object): nothing to skip
      continue;
    }
    // A string value: walk to its closing quote, measuring it (an escape is one character, a
    // \uXXXX about what it encodes in UTF-8).
    int64_t len = 0;
    size_t k = j + 1;
    while (k < s.size() && s[k] != '"') {
      if (s[k] == '\\' && k + 1 < s.size()) {
        if (s[k + 1] == 'u') {
          len += 2;
          k += 6;
        } else {
          len += 1;
          k += 2;
        }
        continue;
      }
      ++len;
      ++k;
    }
    if (name == "type") {
      // A Responses event names itself first ("type":"response.output_text.delta"); the events
      // that are not deltas repeat the streamed text whole (`.done`, `response.completed`), or
      // carry none. Types of other dialects and of nested items never start with "response.".
      std::string_view type = s.substr(j + 1, k - j - 1);
      if (type.starts_with("response.")) repeat_ = !type.ends_with(".delta");
    } else if (!repeat_ && generated_key(name) && len > 0) {
      bytes_ += len;
      ++pieces_;
    }
    i = k + 1;
  }
}

int64_t OutputMeter::tokens() const {
  int64_t by_bytes = (bytes_ + 3) / 4;
  return by_bytes > pieces_ ? by_bytes : pieces_;
}

}  // namespace tg::providers
