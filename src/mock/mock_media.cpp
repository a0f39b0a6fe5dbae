// tollgate-mock: OpenAI's media endpoints and the Cohere/Jina rerank shape, deterministic.
//   /audio/transcriptions, /audio/translations (multipart): a transcript naming the file and its
//     size; json (usage by duration, or by tokens for gpt-4o-* models), text, srt, vtt,
//     verbose_json (with duration), or stream=true (transcript.text.delta/done events).
//   /audio/speech (JSON): a small valid WAV (or silent MP3 frames for mp3, the default), sent in
//     several chunks 40 ms apart (x-mock-interval-ms overrides) so streaming is observable.
//   /images/generations, /images/edits, /images/variations: a 1x1 PNG as b64_json or a url;
//     gpt-image-* models report token usage.
//   /moderations: categories from keywords in the input.
//   /rerank, /v2/rerank: relevance from the words a document shares with the query.
// Faults work as for every endpoint (x-mock-fault or the queue; `status` answers in OpenAI's shape).

#include <algorithm>
#include <array>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "mock_api.hpp"
#include "mock_faults.hpp"
#include "mock_media.hpp"
#include "mock_util.hpp"
#include "tollgate/core/multipart.hpp"

namespace tollgate::mock {

namespace {

using ojson = nlohmann::ordered_json;

// A 1x1 transparent PNG.
constexpr std::string_view kPngBase64 =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

std::string_view route_of(std::string_view path) {
  if (path == "/v2/rerank") return "/rerank";
  return normalize_route(path);
}

bool media_route(std::string_view r) {
  return r == "/audio/transcriptions" || r == "/audio/translations" || r == "/audio/speech" ||
         r == "/images/generations" || r == "/images/edits" || r == "/images/variations" ||
         r == "/moderations" || r == "/rerank";
}

bool upload_route(std::string_view r) {
  return r == "/audio/transcriptions" || r == "/audio/translations" || r == "/images/edits" ||
         r == "/images/variations";
}

Reply bad_request(std::string_view message, std::optional<std::string_view> param = std::nullopt) {
  return error_reply(400, message, "invalid_request_error", param, std::nullopt);
}

Reply json_reply(const ojson& j) {
  Reply r;
  r.body = j.dump();
  return r;
}

std::vector<std::string> words_of(std::string_view s) {
  std::vector<std::string> out;
  std::string w;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      out.push_back(std::move(w));
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(std::move(w));
  return out;
}

// ---- audio ---------------------------------------------------------------------------------

double audio_seconds(std::string_view file) {
  if (file.size() >= 44 && file.substr(0, 4) == "RIFF" && file.substr(8, 4) == "WAVE") {
    const auto* p = reinterpret_cast<const unsigned char*>(file.data());
    uint32_t rate = p[28] | p[29] << 8 | p[30] << 16 | uint32_t(p[31]) << 24;
    if (rate > 0) return static_cast<double>(file.size() - 44) / rate;
  }
  return std::max(1.0, static_cast<double>(file.size()) / 16000.0);
}

std::string srt_time(double s, char sep) {
  long long ms = static_cast<long long>(s * 1000);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld%c%03lld", ms / 3600000, ms / 60000 % 60,
                ms / 1000 % 60, sep, ms % 1000);
  return buf;
}

Reply transcription(const ProviderRequest& req, std::string_view route) {
  auto parsed = tg::multipart::parse(req.header("content-type"), req.raw_body);
  if (!parsed.form) return bad_request("Could not parse multipart form: " + parsed.error);
  const auto& form = *parsed.form;
  auto model = form.field("model");
  if (!model || model->empty()) return missing_param("model");
  const auto* file = form.find("file");
  if (!file || !file->file) return missing_param("file");
  const std::string_view bytes = tg::multipart::Form::content(*file, req.raw_body);
  const double seconds = audio_seconds(bytes);
  const bool translate = route == "/audio/translations";
  std::string text = std::string(translate ? "Translation" : "Transcript") + " of " +
                     file->filename + " (" + std::to_string(bytes.size()) + " bytes).";
  const std::string format(form.field("response_format").value_or("json"));
  const bool tokens = model->substr(0, 6) == "gpt-4o";
  const int64_t out_tokens = static_cast<int64_t>(count_words(text));
  const int64_t in_tokens = static_cast<int64_t>(seconds * 10) + 1;
  ojson usage = tokens ? ojson{{"type", "tokens"},
                               {"input_tokens", in_tokens},
                               {"input_token_details", {{"text_tokens", 0}, {"audio_tokens", in_tokens}}},
                               {"output_tokens", out_tokens},
                               {"total_tokens", in_tokens + out_tokens}}
                       : ojson{{"type", "duration"}, {"seconds", static_cast<int64_t>(seconds + 0.999)}};
  if (form.field("stream").value_or("") == "true") {
    Reply r;
    r.stream = true;
    r.raw_framing = true;
    r.content_type = "text/event-stream";
    for (const auto& w : words_of(text)) {
      ojson ev = {{"type", "transcript.text.delta"}, {"delta", w + " "}};
      r.events.push_back("data: " + ev.dump() + "\n\n");
    }
    ojson done = {{"type", "transcript.text.done"}, {"text", text}, {"usage", usage}};
    r.events.push_back("data: " + done.dump() + "\n\n");
    r.stream_end = "";
    return r;
  }
  Reply r;
  if (format == "text") {
    r.content_type = "text/plain; charset=utf-8";
    r.body = text + "\n";
  } else if (format == "srt" || format == "vtt") {
    r.content_type = "text/plain; charset=utf-8";
    const char sep = format == "srt" ? ',' : '.';
    if (format == "vtt") r.body = "WEBVTT\n\n";
    if (format == "srt") r.body += "1\n";
    r.body += srt_time(0, sep) + " --> " + srt_time(seconds, sep) + "\n" + text + "\n\n";
  } else if (format == "verbose_json") {
    r.body = ojson{{"task", translate ? "translate" : "transcribe"},
                   {"language", "english"},
                   {"duration", seconds},
                   {"text", text},
                   {"segments", ojson::array({{{"id", 0}, {"start", 0.0}, {"end", seconds}, {"text", text}}})},
                   {"usage", usage}}
                 .dump();
  } else if (format == "json") {
    r.body = ojson{{"text", text}, {"usage", usage}}.dump();
  } else {
    return bad_request("Invalid response_format: " + format, "response_format");
  }
  return r;
}

void put_le(std::string& s, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

// 8 kHz, 8-bit mono: a quiet square wave, 40 ms per input character (at most 4 s).
std::string wav_for(std::string_view input) {
  const uint32_t samples = static_cast<uint32_t>(std::min<size_t>(input.size(), 100) * 320);
  std::string w = "RIFF";
  put_le(w, 36 + samples, 4);
  w += "WAVEfmt ";
  put_le(w, 16, 4);
  put_le(w, 1, 2);     // PCM
  put_le(w, 1, 2);     // mono
  put_le(w, 8000, 4);  // sample rate
  put_le(w, 8000, 4);  // byte rate
  put_le(w, 1, 2);     // block align
  put_le(w, 8, 2);     // bits per sample
  w += "data";
  put_le(w, samples, 4);
  for (uint32_t i = 0; i < samples; ++i) w += static_cast<char>((i / 20) % 2 ? 0x90 : 0x70);
  return w;
}

// Silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz: 417 bytes each), one per 4 characters.
std::string mp3_for(std::string_view input) {
  const size_t frames = std::clamp<size_t>(input.size() / 4, 4, 40);
  std::string m;
  for (size_t i = 0; i < frames; ++i) {
    m += std::string("\xFF\xFB\x90\x64", 4);
    m.append(413, '\0');
  }
  return m;
}

Reply speech(const ProviderRequest& req) {
  const ParsedBody& b = *req.body;
  if (auto bad = check_object_with_model(b)) return *bad;
  const auto& j = b.json;
  auto in = j.find("input");
  if (in == j.end() || !in->is_string()) return missing_param("input");
  auto voice = j.find("voice");
  if (voice == j.end() || voice->is_null()) return missing_param("voice");
  std::string format = j.value("response_format", "mp3");
  const std::string text = in->get<std::string>();
  Reply r;
  std::string audio;
  if (format == "mp3") {
    r.content_type = "audio/mpeg";
    audio = mp3_for(text);
  } else if (format == "wav" || format == "opus" || format == "aac" || format == "flac" ||
             format == "pcm") {
    r.content_type = format == "wav" ? "audio/wav" : "audio/" + format;
    audio = wav_for(text);
    if (format == "pcm") audio.erase(0, 44);  // raw samples
  } else {
    return bad_request("Invalid response_format: " + format, "response_format");
  }
  r.stream = true;
  r.raw_framing = true;
  const size_t pieces = 4, step = (audio.size() + pieces - 1) / pieces;
  for (size_t at = 0; at < audio.size(); at += step) r.events.push_back(audio.substr(at, step));
  r.stream_end = "";
  if (req.header("x-mock-interval-ms").empty()) r.interval_ms = 40;
  return r;
}

// ---- images --------------------------------------------------------------------------------

Reply images(const ProviderRequest& req, std::string_view route) {
  std::string model, prompt, format, size = "1024x1024";
  int64_t n = 1;
  std::optional<tg::multipart::Form> form;
  if (upload_route(route)) {
    auto parsed = tg::multipart::parse(req.header("content-type"), req.raw_body);
    if (!parsed.form) return bad_request("Could not parse multipart form: " + parsed.error);
    form = std::move(parsed.form);
    const auto* img = form->find("image");
    if (!img) img = form->find("image[]");
    if (!img || !img->file) return missing_param("image");
    model = std::string(form->field("model").value_or("dall-e-2"));
    prompt = std::string(form->field("prompt").value_or(""));
    format = std::string(form->field("response_format").value_or(""));
    if (auto s = form->field("size")) size = std::string(*s);
    if (auto v = form->field("n")) n = parse_non_negative(*v);
    if (route == "/images/edits" && prompt.empty()) return missing_param("prompt");
  } else {
    const ParsedBody& b = *req.body;
    if (!b.ok || !b.json.is_object()) return bad_request("We could not parse the JSON body of your request.");
    const auto& j = b.json;
    model = j.value("model", "dall-e-2");
    auto p = j.find("prompt");
    if (p == j.end() || !p->is_string()) return missing_param("prompt");
    prompt = p->get<std::string>();
    format = j.value("response_format", "");
    size = j.value("size", size);
    if (auto it = j.find("n"); it != j.end() && it->is_number_integer()) n = it->get<int64_t>();
  }
  if (n < 1 || n > 10) return bad_request("'n' must be between 1 and 10", "n");
  const bool gpt_image = model.rfind("gpt-image", 0) == 0;
  if (format.empty()) format = gpt_image ? "b64_json" : "url";
  if (format != "url" && format != "b64_json") {
    return bad_request("Invalid response_format: " + format, "response_format");
  }
  ojson data = ojson::array();
  for (int64_t i = 0; i < n; ++i) {
    ojson img = ojson::object();
    if (format == "b64_json") {
      img["b64_json"] = kPngBase64;
    } else {
      img["url"] = "http://mock.invalid/images/" + std::to_string(fnv1a64(prompt) + i) + ".png";
    }
    if (model == "dall-e-3") img["revised_prompt"] = prompt;
    data.push_back(std::move(img));
  }
  ojson out = {{"created", req.created}, {"data", std::move(data)}};
  if (gpt_image) {
    const int64_t in = static_cast<int64_t>(count_words(prompt)) + 1, outt = 272 * n;
    out["usage"] = {{"input_tokens", in},
                    {"input_tokens_details", {{"text_tokens", in}, {"image_tokens", 0}}},
                    {"output_tokens", outt},
                    {"total_tokens", in + outt}};
  }
  (void)size;
  return json_reply(out);
}

// ---- moderations ---------------------------------------------------------------------------

constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kKeywords = {{
    {"kill", "violence"},  {"murder", "violence"},  {"hate", "hate"},
    {"suicide", "self-harm"}, {"harass", "harassment"}, {"sex", "sexual"},
    {"steal", "illicit"},
}};
constexpr std::array<std::string_view, 13> kCategories = {
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
    "illicit/violent", "self-harm", "self-harm/intent", "self-harm/instructions", "sexual",
    "sexual/minors", "violence", "violence/graphic"};

ojson moderate(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::set<std::string_view> hit;
  for (const auto& [word, category] : kKeywords) {
    if (lower.find(word) != std::string::npos) hit.insert(category);
  }
  ojson cats = ojson::object(), scores = ojson::object();
  for (auto c : kCategories) {
    cats[std::string(c)] = hit.contains(c);
    scores[std::string(c)] = hit.contains(c) ? 0.91 : 0.0001;
  }
  return {{"flagged", !hit.empty()}, {"categories", cats}, {"category_scores", scores}};
}

Reply moderations(const ProviderRequest& req) {
  const ParsedBody& b = *req.body;
  if (!b.ok || !b.json.is_object()) return bad_request("We could not parse the JSON body of your request.");
  const auto& j = b.json;
  auto in = j.find("input");
  if (in == j.end() || in->is_null()) return missing_param("input");
  std::vector<std::string> texts;
  if (in->is_string()) {
    texts.push_back(in->get<std::string>());
  } else if (in->is_array()) {
    for (const auto& item : *in) {
      if (item.is_string()) texts.push_back(item.get<std::string>());
      else if (item.is_object() && item.value("type", "") == "text") texts.push_back(item.value("text", ""));
      else if (item.is_object()) texts.emplace_back();  // an image: nothing flagged
      else return invalid_type("input", "a string or an array", item);
    }
  } else {
    return invalid_type("input", "a string or an array", *in);
  }
  ojson results = ojson::array();
  for (const auto& t : texts) results.push_back(moderate(t));
  return json_reply({{"id", "modr-mock-" + std::to_string(req.seq)},
                     {"model", j.value("model", "omni-moderation-latest")},
                     {"results", std::move(results)}});
}

// ---- rerank --------------------------------------------------------------------------------

Reply rerank(const ProviderRequest& req) {
  const ParsedBody& b = *req.body;
  if (auto bad = check_object_with_model(b)) return *bad;
  const auto& j = b.json;
  auto q = j.find("query");
  if (q == j.end() || !q->is_string()) return missing_param("query");
  auto docs = j.find("documents");
  if (docs == j.end() || !docs->is_array()) return missing_param("documents");
  const auto query = words_of(q->get<std::string>());
  const std::set<std::string> qset(query.begin(), query.end());
  struct Scored {
    size_t index;
    double score;
    std::string text;
  };
  std::vector<Scored> scored;
  size_t words = query.size();
  for (size_t i = 0; i < docs->size(); ++i) {
    const auto& d = (*docs)[i];
    std::string text = d.is_string() ? d.get<std::string>()
                       : d.is_object() ? d.value("text", "")
                                       : std::string();
    auto dw = words_of(text);
    words += dw.size();
    std::set<std::string> shared;
    for (const auto& w : dw) {
      if (qset.contains(w)) shared.insert(w);
    }
    double score = qset.empty() ? 0 : static_cast<double>(shared.size()) / qset.size();
    scored.push_back({i, score, std::move(text)});
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const Scored& a, const Scored& b) { return a.score > b.score; });
  size_t top = scored.size();
  if (auto t = j.find("top_n"); t != j.end() && t->is_number_integer() && t->get<int64_t>() > 0) {
    top = std::min<size_t>(top, t->get<int64_t>());
  }
  const bool with_docs = j.value("return_documents", false);
  ojson results = ojson::array();
  for (size_t i = 0; i < top; ++i) {
    ojson r = {{"index", scored[i].index}, {"relevance_score", scored[i].score}};
    if (with_docs) r["document"] = {{"text", scored[i].text}};
    results.push_back(std::move(r));
  }
  return json_reply({{"id", "rerank-mock-" + std::to_string(req.seq)},
                     {"model", j.value("model", "")},
                     {"results", std::move(results)},
                     {"meta", {{"billed_units", {{"search_units", (docs->size() + 99) / 100}}}}},
                     {"usage", {{"total_tokens", words}}}});
}

// ---- the provider mock ---------------------------------------------------------------------

std::string media_model_of(const ProviderRequest& req) {
  const std::string_view route = route_of(req.path);
  if (upload_route(route)) {
    auto parsed = tg::multipart::parse(req.header("content-type"), req.raw_body);
    if (!parsed.form) return {};
    return std::string(parsed.form->field("model").value_or(""));
  }
  return std::string(model_of(*req.body));
}

Reply handle(const ProviderRequest& req) {
  if (auto denied = check_auth(req.header("authorization"), req.api_key)) return *denied;
  return handle_media(req, route_of(req.path));
}

const bool kRegistered = register_provider_mock(ProviderMock{
    "media",
    [](std::string_view path) { return media_route(route_of(path)); },
    media_model_of,
    handle,
    [](const Fault& f, std::string_view model) { return fault_status_reply(f, model); },
});

}  // namespace

bool is_media_route(std::string_view route) { return media_route(route); }

Reply handle_media(const ProviderRequest& req, std::string_view route) {
  if (req.method != "POST") {
    return error_reply(405, "Invalid method for URL (" + std::string(req.method) + " " +
                                std::string(req.path) + ")",
                       "invalid_request_error", std::nullopt, std::nullopt);
  }
  if (route == "/audio/transcriptions" || route == "/audio/translations") {
    return transcription(req, route);
  }
  if (route == "/audio/speech") return speech(req);
  if (route == "/moderations") return moderations(req);
  if (route == "/rerank") return rerank(req);
  return images(req, route);
}

}  // namespace tollgate::mock
