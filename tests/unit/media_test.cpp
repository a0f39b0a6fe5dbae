// The media endpoints' pure parts: the codec (fields, defaults, refusals, how answers are relayed
// and metered), their units, their prices, the upload body an adapter builds, and their routes.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tollgate/api/routes.hpp"
#include "tollgate/dialects/dialect.hpp"
#include "tollgate/dialects/media_units.hpp"
#include "tollgate/governance/pricing.hpp"
#include "tollgate/providers/adapter.hpp"

using namespace tg;
using json = nlohmann::json;
using providers::Endpoint;

namespace {

const std::string kB = "xXmediaBoundaryXx";
const std::string kCt = "multipart/form-data; boundary=" + kB;

std::string wav(uint32_t byte_rate, uint32_t data_bytes) {
  auto le = [](std::string& s, uint32_t v, int n) {
    for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  std::string w = "RIFF";
  le(w, 36 + data_bytes, 4);
  w += "WAVEfmt ";
  le(w, 16, 4);
  le(w, 1, 2);
  le(w, 1, 2);
  le(w, byte_rate, 4);
  le(w, byte_rate, 4);
  le(w, 1, 2);
  le(w, 8, 2);
  w += "data";
  le(w, data_bytes, 4);
  w.append(data_bytes, '\x80');
  return w;
}

std::string form(std::vector<std::pair<std::string, std::string>> fields, std::string file_name = "",
                 std::string file = "", std::string filename = "a.wav") {
  std::string b;
  for (auto& [k, v] : fields) {
    b += "--" + kB + "\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + v + "\r\n";
  }
  if (!file_name.empty()) {
    b += "--" + kB + "\r\nContent-Disposition: form-data; name=\"" + file_name + "\"; filename=\"" +
         filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + file + "\r\n";
  }
  return b + "--" + kB + "--\r\n";
}

struct Parsed {
  std::unique_ptr<dialects::Call> call;
  std::optional<Error> error;
};

Parsed parse(Endpoint e, const std::string& body, std::string_view ct = "application/json") {
  const auto& codec = dialects::media_codec(e);
  json doc = json::object();
  if (codec.reads_json()) doc = json::parse(body);
  dialects::ClientInput in;
  in.body = body;
  in.content_type = ct;
  auto r = codec.parse(std::move(doc), in);
  Parsed p;
  if (auto* err = std::get_if<Error>(&r)) p.error = *err;
  else p.call = std::move(std::get<std::unique_ptr<dialects::Call>>(r));
  return p;
}

}  // namespace

TEST(MediaRoutes, EveryEndpointWithAndWithoutV1IsAnLlmCall) {
  const std::pair<const char*, Endpoint> paths[] = {
      {"/audio/transcriptions", Endpoint::AudioTranscriptions},
      {"/audio/translations", Endpoint::AudioTranslations},
      {"/audio/speech", Endpoint::AudioSpeech},
      {"/images/generations", Endpoint::ImagesGenerations},
      {"/images/edits", Endpoint::ImagesEdits},
      {"/images/variations", Endpoint::ImagesVariations},
      {"/moderations", Endpoint::Moderations},
      {"/rerank", Endpoint::Rerank},
      {"/v2/rerank", Endpoint::Rerank},
  };
  for (const auto& [path, endpoint] : paths) {
    auto m = api::match(path);  // the worker strips /v1 before matching
    ASSERT_TRUE(m) << path;
    EXPECT_EQ(m->route->id, api::RouteId::Media) << path;
    EXPECT_EQ(m->route->endpoint, endpoint) << path;
    EXPECT_TRUE(m->route->llm) << path;
    EXPECT_TRUE(api::allows(*m->route, "POST"));
    EXPECT_FALSE(api::allows(*m->route, "GET"));
  }
  EXPECT_TRUE(api::takes_upload("/audio/transcriptions"));
  EXPECT_TRUE(api::takes_upload("/images/edits"));
  EXPECT_FALSE(api::takes_upload("/audio/speech"));
  EXPECT_FALSE(api::takes_upload("/chat/completions"));
  EXPECT_FALSE(api::takes_upload("/nope"));
}

TEST(MediaUnits, WavDurationFromItsHeader) {
  EXPECT_EQ(media::wav_duration_ms(wav(8000, 16000)).value_or(-1), 2000);
  EXPECT_EQ(media::wav_duration_ms(wav(32000, 8000)).value_or(-1), 250);
  EXPECT_FALSE(media::wav_duration_ms("ID3\x04 not a wav"));
  EXPECT_FALSE(media::wav_duration_ms(wav(8000, 100).substr(0, 30)));  // cut before data
  std::string streamed = wav(8000, 8000);
  streamed[40] = streamed[41] = streamed[42] = streamed[43] = '\xff';  // unknown length
  EXPECT_EQ(media::wav_duration_ms(streamed).value_or(-1), 1000);
  EXPECT_EQ(media::estimate_audio_ms(wav(8000, 24000), "x.mp3"), 3000);  // the header wins
  EXPECT_EQ(media::estimate_audio_ms(std::string(160000, 'x'), "talk.MP3"), 10000);
  EXPECT_EQ(media::estimate_audio_ms(std::string(10, 'x'), "tiny.ogg"), 1000);  // at least 1 s
}

TEST(MediaUnits, Utf8Characters) {
  EXPECT_EQ(media::utf8_chars("hello"), 5);
  EXPECT_EQ(media::utf8_chars("h\xC3\xA9llo \xF0\x9F\x98\x80"), 7);
}

TEST(MediaUnits, ReportedUsageShapes) {
  auto d = media::reported_usage(R"({"text":"hi","usage":{"type":"duration","seconds":7}})");
  EXPECT_EQ(d.audio_ms, 7000);
  EXPECT_EQ(d.input, 0);
  auto t = media::reported_usage(
      R"({"text":"hi","usage":{"type":"tokens","input_tokens":30,"output_tokens":4,"total_tokens":34}})");
  EXPECT_EQ(t.input, 30);
  EXPECT_EQ(t.output, 4);
  auto v = media::reported_usage(R"({"task":"transcribe","duration":12.5,"text":"x"})");
  EXPECT_EQ(v.audio_ms, 12500);
  auto r = media::reported_usage(
      R"({"results":[],"meta":{"billed_units":{"search_units":2}},"usage":{"total_tokens":99}})");
  EXPECT_EQ(r.search_units, 2);
  EXPECT_EQ(r.input, 99);
  auto none = media::reported_usage("plain text, not JSON");
  EXPECT_TRUE(none.present);
  EXPECT_EQ(none.input + none.audio_ms + none.search_units, 0);
  const std::string sse =
      "data: {\"type\":\"transcript.text.delta\",\"delta\":\"a\"}\n\n"
      "data: {\"type\":\"transcript.text.done\",\"text\":\"a\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}\n\n";
  auto ev = media::last_usage_event(sse);
  EXPECT_EQ(media::reported_usage(ev).input, 5);
  EXPECT_EQ(media::last_usage_event("data: {\"delta\":\"x\"}\n\n"), "");
}

TEST(MediaCodec, TranscriptionFromAFormWithoutCopyingTheFile) {
  const std::string audio = wav(8000, 8000 * 90);  // 90 s
  const std::string body = form({{"model", "whisper"}, {"response_format", "verbose_json"}}, "file", audio);
  auto p = parse(Endpoint::AudioTranscriptions, body, kCt);
  ASSERT_TRUE(p.call) << p.error->message;
  const auto& req = p.call->request();
  EXPECT_EQ(req.model, "whisper");
  EXPECT_FALSE(req.stream);
  ASSERT_NE(req.form, nullptr);
  EXPECT_EQ(req.raw_body.data(), body.data());
  EXPECT_EQ(req.doc()["response_format"], "verbose_json");
  EXPECT_FALSE(req.doc().contains("file"));
  EXPECT_EQ(p.call->relay(), dialects::Call::Relay::Json);
  EXPECT_FALSE(p.call->cacheable());
  auto ceiling = p.call->ceiling();
  ASSERT_TRUE(ceiling);
  EXPECT_EQ(ceiling->audio_ms, 90000);
  EXPECT_EQ(ceiling->input, 0);  // the upload's bytes are not tokens

  // Billed from the answer's duration; estimated from the file when it has none.
  providers::Usage u;
  EXPECT_FALSE(p.call->meter(R"({"task":"transcribe","duration":88.2,"text":"x"})", u));
  EXPECT_EQ(u.audio_ms, 88200);
  EXPECT_TRUE(p.call->meter(R"({"text":"x"})", u));
  EXPECT_EQ(u.audio_ms, 90000);
  // Tokens when the provider reports them (gpt-4o-transcribe): no audio estimate.
  EXPECT_FALSE(p.call->meter(R"({"text":"x","usage":{"type":"tokens","input_tokens":9,"output_tokens":2}})", u));
  EXPECT_EQ(u.input, 9);
  EXPECT_EQ(u.audio_ms, 0);
}

TEST(MediaCodec, TranscriptFormatsAndStreamsChooseTheRelay) {
  auto text = parse(Endpoint::AudioTranscriptions,
                    form({{"model", "m"}, {"response_format", "srt"}}, "file", "abc"), kCt);
  ASSERT_TRUE(text.call);
  EXPECT_EQ(text.call->relay(), dialects::Call::Relay::Raw);
  auto streamed = parse(Endpoint::AudioTranscriptions,
                        form({{"model", "m"}, {"stream", "true"}}, "file", "abc"), kCt);
  ASSERT_TRUE(streamed.call);
  EXPECT_EQ(streamed.call->relay(), dialects::Call::Relay::Bytes);
  auto speech = parse(Endpoint::AudioSpeech, R"({"model":"tts-1","input":"h\u00e9llo","voice":"alloy"})");
  ASSERT_TRUE(speech.call);
  EXPECT_EQ(speech.call->relay(), dialects::Call::Relay::Bytes);
  EXPECT_EQ(speech.call->ceiling()->characters, 5);
  providers::Usage u;
  EXPECT_FALSE(speech.call->meter("\xFF\xFB binary audio", u));
  EXPECT_EQ(u.characters, 5);
}

TEST(MediaCodec, RefusesWhatTheEndpointCannotTake) {
  auto expect_400 = [](const Parsed& p, std::string_view param) {
    ASSERT_TRUE(p.error);
    EXPECT_EQ(p.error->status, 400);
    EXPECT_EQ(p.error->type, "invalid_request_error");
    if (!param.empty()) {
      EXPECT_EQ(p.error->param, param);
    }
  };
  expect_400(parse(Endpoint::AudioTranscriptions, form({{"model", "m"}}), kCt), "file");
  expect_400(parse(Endpoint::AudioTranscriptions, form({}, "file", "x"), kCt), "model");
  expect_400(parse(Endpoint::AudioTranscriptions, form({{"model", "m"}}, "file", "x"), "application/json"), "");
  expect_400(parse(Endpoint::AudioTranscriptions, form({{"model", "m"}}, "file", "x"),
                   "multipart/form-data; boundary=wrong"), "");
  expect_400(parse(Endpoint::AudioTranscriptions, form({{"model", "m"}}, "file", "x").substr(0, 60), kCt), "");
  expect_400(parse(Endpoint::AudioTranscriptions, form({{"model", "a" + kB}}, "file", "x"), kCt), "model");
  expect_400(parse(Endpoint::AudioTranscriptions, form({{"model", "m\xff"}}, "file", "x"), kCt), "model");
  expect_400(parse(Endpoint::AudioSpeech, R"({"model":"tts-1","voice":"alloy"})"), "input");
  expect_400(parse(Endpoint::AudioSpeech, R"({"input":"hi"})"), "model");
  expect_400(parse(Endpoint::ImagesGenerations, R"({"model":"dall-e-3"})"), "prompt");
  expect_400(parse(Endpoint::ImagesGenerations, R"({"prompt":"a cat","n":11})"), "n");
  expect_400(parse(Endpoint::ImagesGenerations, R"({"prompt":"a cat","n":"2"})"), "n");
  expect_400(parse(Endpoint::ImagesEdits, form({{"prompt", "p"}}), kCt), "image");
  expect_400(parse(Endpoint::ImagesEdits, form({{"n", "two"}}, "image", "png"), kCt), "n");
  expect_400(parse(Endpoint::Moderations, R"({"model":"omni-moderation-latest"})"), "input");
  expect_400(parse(Endpoint::Rerank, R"({"model":"r","query":"q","documents":[]})"), "documents");
  expect_400(parse(Endpoint::Rerank, R"({"model":"r","documents":["a"]})"), "query");
}

TEST(MediaCodec, DefaultModelsAreSentUpstream) {
  auto img = parse(Endpoint::ImagesGenerations, R"({"prompt":"a cat","n":3,"size":"512x512"})");
  ASSERT_TRUE(img.call);
  EXPECT_EQ(img.call->request().model, "dall-e-2");
  EXPECT_EQ(img.call->request().doc()["model"], "dall-e-2");
  EXPECT_TRUE(img.call->request().raw_body.empty());  // serialised again, with the model
  EXPECT_EQ(img.call->ceiling()->images, 3);
  EXPECT_EQ(img.call->ceiling()->image_variant, "/512x512");
  auto mod = parse(Endpoint::Moderations, R"({"input":"hello"})");
  ASSERT_TRUE(mod.call);
  EXPECT_EQ(mod.call->request().model, "omni-moderation-latest");
  // An edit's form gets the model field added for the upstream.
  const std::string body = form({{"prompt", "a hat"}, {"n", "2"}, {"quality", "hd"}}, "image", "PNGDATA", "a.png");
  auto edit = parse(Endpoint::ImagesEdits, body, kCt);
  ASSERT_TRUE(edit.call) << edit.error->message;
  EXPECT_EQ(edit.call->request().model, "dall-e-2");
  EXPECT_EQ(edit.call->ceiling()->images, 2);
  EXPECT_EQ(edit.call->ceiling()->image_variant, "hd/1024x1024");
  auto emitted = multipart::emit(*edit.call->request().form, body, {{"model", "dall-e-2"}});
  ASSERT_TRUE(emitted);
  auto back = multipart::parse(kCt, emitted->flatten());
  ASSERT_TRUE(back.form);
  EXPECT_EQ(back.form->field("model").value_or(""), "dall-e-2");
  EXPECT_EQ(multipart::Form::content(*back.form->find("image"), emitted->flatten()), "PNGDATA");
}

TEST(MediaCodec, RerankSearchUnits) {
  json docs = json::array();
  for (int i = 0; i < 250; ++i) docs.push_back("doc");
  auto p = parse(Endpoint::Rerank, json{{"model", "rerank-v3.5"}, {"query", "q"}, {"documents", docs}}.dump());
  ASSERT_TRUE(p.call);
  EXPECT_EQ(p.call->ceiling()->search_units, 3);
  providers::Usage u;
  EXPECT_FALSE(p.call->meter(R"({"results":[],"meta":{"billed_units":{"search_units":1}}})", u));
  EXPECT_EQ(u.search_units, 1);
  EXPECT_TRUE(p.call->meter(R"({"results":[]})", u));
  EXPECT_EQ(u.search_units, 3);
}

// ---- prices ---------------------------------------------------------------------------------

namespace {

std::shared_ptr<const governance::PriceCatalog> catalog(
    const std::map<std::string, config::PriceConfig>& overrides = {}) {
  auto r = governance::PriceCatalog::build_from_file(std::string(TG_SOURCE_DIR) + "/config/prices.json",
                                                     overrides);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front();
  return r.catalog;
}

providers::Usage units(int64_t images, std::string variant, int64_t audio_ms, int64_t chars,
                       int64_t search_units) {
  providers::Usage u;
  u.present = true;
  u.images = images;
  u.image_variant = std::move(variant);
  u.audio_ms = audio_ms;
  u.characters = chars;
  u.search_units = search_units;
  return u;
}

}  // namespace

TEST(MediaPricing, UnitsAtTheirPrices) {
  auto c = catalog();
  auto whisper = c->lookup("openai", "openai", "whisper-1");
  ASSERT_TRUE(whisper);
  EXPECT_FALSE(whisper->tokens);
  // 0.006 USD per minute: 90 s = 0.009 USD = 9,000,000 nUSD.
  EXPECT_EQ(governance::cost_of(*whisper, units(0, "", 90'000, 0, 0)).value_or(-1), 9'000'000);
  // No image price on a transcription model: unknown, never 0.
  EXPECT_FALSE(governance::cost_of(*whisper, units(1, "", 0, 0, 0)));

  auto dalle3 = c->lookup("openai", "openai", "dall-e-3");
  ASSERT_TRUE(dalle3);
  EXPECT_EQ(governance::cost_of(*dalle3, units(2, "hd/1024x1792", 0, 0, 0)).value_or(-1), 240'000'000);
  EXPECT_EQ(governance::cost_of(*dalle3, units(1, "/1024x1024", 0, 0, 0)).value_or(-1), 40'000'000);
  // An unknown variant costs the dearest known one.
  EXPECT_EQ(governance::cost_of(*dalle3, units(1, "hd/4096x4096", 0, 0, 0)).value_or(-1), 120'000'000);

  auto tts = c->lookup("openai", "openai", "tts-1");
  ASSERT_TRUE(tts);
  // 15 USD per 1M characters: 1000 characters = 0.015 USD.
  EXPECT_EQ(governance::cost_of(*tts, units(0, "", 0, 1000, 0)).value_or(-1), 15'000'000);

  auto rerank = c->lookup("cohere", "", "rerank-v3.5");
  ASSERT_TRUE(rerank);
  EXPECT_EQ(governance::cost_of(*rerank, units(0, "", 0, 0, 3)).value_or(-1), 6'000'000);

  // Moderation is free, and priced (a budgeted key may use it).
  auto mod = c->lookup("openai", "openai", "omni-moderation-latest");
  ASSERT_TRUE(mod);
  providers::Usage none;
  none.present = true;
  none.input = 40;
  EXPECT_EQ(governance::cost_of(*mod, none).value_or(-1), 0);
}

TEST(MediaPricing, ReportedTokensWinOverUnits) {
  auto c = catalog();
  auto img = c->lookup("openai", "openai", "gpt-image-1");
  ASSERT_TRUE(img);
  EXPECT_TRUE(img->tokens);
  providers::Usage u = units(1, "high/1024x1024", 0, 0, 0);
  EXPECT_EQ(governance::cost_of(*img, u).value_or(-1), 167'000'000);  // the reservation
  u.input = 10;
  u.output = 1000;  // 10 * 5 + 1000 * 40 USD per 1M = 0.04005 USD
  EXPECT_EQ(governance::cost_of(*img, u).value_or(-1), 40'050'000);
}

TEST(MediaPricing, OverridesFromConfig) {
  config::PriceConfig local;
  local.audio_minute = 0.001;
  config::PriceConfig images;
  images.image = 0.5;
  images.image_by["hd/1024x1024"] = 1.0;
  auto c = catalog({{"speaches/*", local}, {"openai/dall-e-3", images}});
  auto l = c->lookup("speaches", "", "Systran/faster-whisper-small");
  ASSERT_TRUE(l);
  EXPECT_EQ(governance::cost_of(*l, units(0, "", 60'000, 0, 0)).value_or(-1), 1'000'000);
  auto d = c->lookup("openai", "openai", "dall-e-3");
  ASSERT_TRUE(d);
  EXPECT_EQ(governance::cost_of(*d, units(1, "hd/1024x1024", 0, 0, 0)).value_or(-1), 1'000'000'000);
  // The catalog's other variants stay.
  EXPECT_EQ(governance::cost_of(*d, units(1, "hd/1792x1024", 0, 0, 0)).value_or(-1), 120'000'000);
}

TEST(MediaPricing, CatalogRejectsBadUnitPrices) {
  auto r = governance::PriceCatalog::build(R"({"x/m": {"image": {"1024x1024": "cheap"}}, "x/n": {"audio_minute": -1}})");
  EXPECT_EQ(r.errors.size(), 2u);
}

// ---- what the adapters send ----------------------------------------------------------------

namespace {

std::string header_of(const providers::UpstreamRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

std::string body_of(const providers::UpstreamRequest& r) {
  std::string out = r.body;
  for (const auto& [borrowed, text] : r.body_pieces) {
    out.append(borrowed);
    out.append(text);
  }
  return out;
}

}  // namespace

TEST(MediaAdapters, UploadsGoOutAsAFormWithTheTargetModelAndTheFileBorrowed) {
  const std::string audio = wav(8000, 4000);
  const std::string body = form({{"model", "whisper"}, {"language", "fr"}}, "file", audio);
  auto p = parse(Endpoint::AudioTranscriptions, body, kCt);
  ASSERT_TRUE(p.call);
  const auto& creq = p.call->request();

  config::ProviderConfig openai;
  openai.type = config::ProviderType::OpenAI;
  openai.base_url = "https://api.openai.com/v1";
  auto up = providers::adapter_for(config::ProviderType::OpenAI)
                ->build_request(creq, "whisper-1", providers::BuildContext{openai, "sk-up", "h", "/v1"});
  EXPECT_EQ(up.path, "/audio/transcriptions");
  EXPECT_EQ(header_of(up, "Content-Type"), kCt);
  EXPECT_EQ(header_of(up, "Authorization"), "Bearer sk-up");
  ASSERT_EQ(up.body_pieces.size(), 1u);
  EXPECT_EQ(up.body_pieces[0].first.data(), body.data() + body.find("RIFF"));  // not copied
  EXPECT_EQ(up.body_size(), body_of(up).size());
  auto sent = multipart::parse(kCt, body_of(up));
  ASSERT_TRUE(sent.form) << sent.error;
  EXPECT_EQ(sent.form->field("model").value_or(""), "whisper-1");
  EXPECT_EQ(sent.form->field("language").value_or(""), "fr");
  EXPECT_EQ(multipart::Form::content(*sent.form->find("file"), body_of(up)), audio);

  config::ProviderConfig azure;
  azure.type = config::ProviderType::Azure;
  azure.base_url = "https://contoso.openai.azure.com";
  azure.api_version = "2024-10-21";
  azure.deployments = {{"whisper-1", "my-whisper"}};
  auto az = providers::adapter_for(config::ProviderType::Azure)
                ->build_request(creq, "whisper-1", providers::BuildContext{azure, "az-key", "h", ""});
  EXPECT_EQ(az.path, "/openai/deployments/my-whisper/audio/transcriptions?api-version=2024-10-21");
  EXPECT_EQ(header_of(az, "Content-Type"), kCt);
  EXPECT_EQ(header_of(az, "api-key"), "az-key");
  auto az_form = multipart::parse(kCt, body_of(az));
  ASSERT_TRUE(az_form.form);
  EXPECT_EQ(az_form.form->field("model").value_or(""), "my-whisper");

  config::ProviderConfig compat;
  compat.type = config::ProviderType::OpenAICompatible;
  compat.base_url = "http://speaches:8000/v1";
  auto local = providers::adapter_for(config::ProviderType::OpenAICompatible)
                   ->build_request(creq, "Systran/faster-whisper-small",
                                   providers::BuildContext{compat, "", "speaches", "/v1"});
  EXPECT_EQ(header_of(local, "Authorization"), "<absent>");
  EXPECT_NE(body_of(local).find("name=\"model\"\r\n\r\nSystran/faster-whisper-small\r\n"), std::string::npos);
}

TEST(MediaAdapters, JsonEndpointsKeepTheClientBytesButTheModel) {
  const std::string body = R"({"model":"voice","input":"hi","voice":"alloy","speed":1.25})";
  auto p = parse(Endpoint::AudioSpeech, body);
  ASSERT_TRUE(p.call);
  config::ProviderConfig openai;
  openai.type = config::ProviderType::OpenAI;
  auto up = providers::adapter_for(config::ProviderType::OpenAI)
                ->build_request(p.call->request(), "tts-1", providers::BuildContext{openai, "k", "h", "/v1"});
  EXPECT_EQ(up.path, "/audio/speech");
  EXPECT_EQ(header_of(up, "Content-Type"), "application/json");
  EXPECT_EQ(up.body, R"({"model":"tts-1","input":"hi","voice":"alloy","speed":1.25})");
  EXPECT_TRUE(up.body_pieces.empty());
  // Targets that cannot serve the media endpoints say so (the proxy leaves them out).
  for (auto type : {config::ProviderType::Anthropic, config::ProviderType::Gemini,
                    config::ProviderType::Bedrock}) {
    EXPECT_FALSE(providers::adapter_for(type)->supports(Endpoint::AudioSpeech));
    EXPECT_FALSE(providers::adapter_for(type)->supports(Endpoint::Rerank));
  }
}
