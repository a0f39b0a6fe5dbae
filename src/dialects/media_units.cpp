#include "tollgate/dialects/media_units.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "tollgate/core/json_access.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::media {

namespace {

using json = nlohmann::json;

uint32_t le32(std::string_view s, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + at);
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

std::string_view extension(std::string_view filename) {
  size_t dot = filename.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : filename.substr(dot + 1);
}

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

int64_t num(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return 0;
  double v = it->get<double>();
  return v > 0 && v < 9e15 ? static_cast<int64_t>(v) : 0;
}

}  // namespace

std::optional<int64_t> wav_duration_ms(std::string_view f) {
  if (f.size() < 12 || f.substr(0, 4) != "RIFF" || f.substr(8, 4) != "WAVE") return std::nullopt;
  uint32_t byte_rate = 0;
  size_t at = 12;
  // Chunks: "fmt " holds the byte rate (offset 8 of its body), "data" the samples.
  for (int guard = 0; guard < 64 && at + 8 <= f.size(); ++guard) {
    std::string_view id = f.substr(at, 4);
    uint64_t size = le32(f, at + 4);
    if (id == "fmt " && at + 8 + 12 <= f.size()) byte_rate = le32(f, at + 8 + 8);
    if (id == "data") {
      if (byte_rate == 0) return std::nullopt;
      // A streamed WAV writes 0 or 0xFFFFFFFF as the data size: take what the file holds.
      uint64_t held = f.size() - (at + 8);
      if (size == 0 || size > held) size = held;
      return static_cast<int64_t>(size * 1000 / byte_rate);
    }
    at += 8 + size + (size & 1);
  }
  return std::nullopt;
}

int64_t estimate_audio_ms(std::string_view file, std::string_view filename) {
  if (auto wav = wav_duration_ms(file)) return std::max<int64_t>(*wav, 1000);
  std::string_view ext = extension(filename);
  int64_t bytes_per_second = 16'000;  // 128 kbit/s: mp3, m4a, mp4, mpeg, mpga, ogg, webm
  if (ieq(ext, "flac")) bytes_per_second = 87'500;
  if (ieq(ext, "wav")) bytes_per_second = 32'000;  // 16 kHz 16-bit mono without a readable header
  int64_t ms = static_cast<int64_t>(file.size()) * 1000 / bytes_per_second;
  return std::max<int64_t>(ms, 1000);
}

int64_t utf8_chars(std::string_view text) {
  int64_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;  // every byte but continuation bytes
  return n;
}

providers::Usage reported_usage(std::string_view answer) {
  providers::Usage out;
  std::string_view usage_text = providers::find_top_level_member(answer, "usage");
  if (!usage_text.empty()) {
    json u = providers::json_scan::parse(usage_text);
    if (u.is_object()) {
      if (str_member(u, "type") == "duration") {
        double s = member_or(u, "seconds", 0.0);
        if (s > 0 && s < 1e9) out.audio_ms = static_cast<int64_t>(std::llround(s * 1000));
      } else if (u.contains("input_tokens") || u.contains("output_tokens")) {
        out = providers::Usage::from_responses(u);
      } else if (u.contains("prompt_tokens") || u.contains("completion_tokens")) {
        out = providers::Usage::from_openai(u);
      } else if (u.contains("total_tokens")) {  // Jina rerank: {total_tokens}
        out.input = num(u, "total_tokens");
      }
    }
  }
  if (out.audio_ms == 0) {
    std::string_view d = providers::find_top_level_member(answer, "duration");
    if (!d.empty()) {
      json v = providers::json_scan::parse(d);
      if (v.is_number() && v.get<double>() > 0 && v.get<double>() < 1e9) {
        out.audio_ms = static_cast<int64_t>(std::llround(v.get<double>() * 1000));
      }
    }
  }
  std::string_view meta = providers::find_top_level_member(answer, "meta");
  if (!meta.empty()) {
    json m = providers::json_scan::parse(meta);
    if (m.is_object()) {
      auto bu = m.find("billed_units");
      if (bu != m.end() && bu->is_object()) out.search_units = num(*bu, "search_units");
    }
  }
  out.present = true;
  return out;
}

std::string_view last_usage_event(std::string_view tail) {
  size_t at = tail.rfind("\"usage\"");
  if (at == std::string_view::npos) return {};
  size_t start = tail.rfind("data:", at);
  if (start == std::string_view::npos) return {};
  start += 5;
  while (start < tail.size() && tail[start] == ' ') ++start;
  size_t end = tail.find('\n', at);
  if (end == std::string_view::npos) end = tail.size();
  std::string_view ev = tail.substr(start, end - start);
  while (!ev.empty() && (ev.back() == '\r' || ev.back() == ' ')) ev.remove_suffix(1);
  return ev;
}

}  // namespace tg::media
