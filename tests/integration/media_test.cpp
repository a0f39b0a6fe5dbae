// The media endpoints through the real daemon and tollgate-mock: audio (transcriptions,
// translations, speech), images, moderations, rerank. Success, failover on 5xx, 413 over the
// upload limit, budgets charged by the units each is billed by, the request log's cost.

#include <gtest/gtest.h>

#include <chrono>

#include "harness.hpp"

namespace tg::it {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kKey = "sk-tg-media-0123456789abcdef0123456789ab";
const std::string kB = "----tollgateTestBoundary";
const std::string kSlowKey = "sk-tg-slow-0123456789abcdef0123456789abcd";

std::string media_config(const Mock& mock, const std::string& db, const std::string& server_extra = "") {
  return "server:\n"
         "  master_key: sk-test-master\n"
         "  workers: 2\n" + server_extra +
         "store:\n  sqlite: " + db + "\n"
         "router:\n  retries: 0\n"
         "providers:\n"
         "  mock:\n"
         "    type: openai-compatible\n"
         "    base_url: " + mock.base_url() + "\n"
         "    api_key: mock-upstream-key\n"
         "  backup:\n"
         "    type: openai\n"
         "    base_url: " + mock.base_url() + "\n"
         "    api_key: mock-upstream-key\n"
         "  claude:\n"
         "    type: anthropic\n"
         "    base_url: http://127.0.0.1:9\n"
         "    api_key: never-used\n"
         "models:\n"
         "  - name: whisper\n"
         "    targets: [mock/whisper-1, backup/whisper-1]\n"
         "  - name: voice\n"
         "    targets: [mock/tts-1]\n"
         "  - name: painter\n"
         "    targets: [mock/dall-e-3]\n"
         "  - name: mod\n"
         "    targets: [claude/claude-haiku-4-5, mock/omni-moderation-latest]\n"
         "  - name: claude-only\n"
         "    targets: [claude/claude-haiku-4-5]\n"
         "  - name: ranker\n"
         "    targets: [mock/rerank-v3.5]\n"
         "  - name: chatty\n"
         "    targets: [mock/gpt-4o-mini]\n"
         "pricing:\n"
         "  mock/whisper-1: {audio_minute: 0.006}\n"
         "  backup/whisper-1: {audio_minute: 0.006}\n"
         "  mock/tts-1: {characters: 15}\n"
         "  mock/dall-e-3: {image: {\"1024x1024\": 0.04, \"hd/1024x1024\": 0.08}}\n"
         "  mock/omni-moderation-latest: {input: 0, output: 0}\n"
         "  mock/rerank-v3.5: {search_unit: 0.002}\n"
         "  mock/gpt-4o-mini: {input: 1, output: 2}\n"
         "keys:\n"
         "  - name: media\n"
         "    key: " + kKey + "\n"
         "    budget: {usd: 5, period: monthly}\n"
         "  - name: slow\n"
         "    key: " + kSlowKey + "\n"
         "    models: [ranker]\n"
         "    limits: {rpm: 1}\n";
}

// 8 kHz 8-bit mono WAV of `seconds`.
std::string wav(int seconds) {
  auto le = [](std::string& s, uint32_t v, int n) {
    for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  const uint32_t data = 8000u * seconds;
  std::string w = "RIFF";
  le(w, 36 + data, 4);
  w += "WAVEfmt ";
  le(w, 16, 4);
  le(w, 1, 2);
  le(w, 1, 2);
  le(w, 8000, 4);
  le(w, 8000, 4);
  le(w, 1, 2);
  le(w, 8, 2);
  w += "data";
  le(w, data, 4);
  for (uint32_t i = 0; i < data; ++i) w += static_cast<char>(i % 40 < 20 ? 0x70 : 0x90);
  return w;
}

std::string form(const std::vector<std::pair<std::string, std::string>>& fields,
                 const std::string& file_field, const std::string& filename, const std::string& file) {
  std::string b;
  for (const auto& [k, v] : fields) {
    b += "--" + kB + "\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + v + "\r\n";
  }
  b += "--" + kB + "\r\nContent-Disposition: form-data; name=\"" + file_field + "\"; filename=\"" +
       filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + file + "\r\n";
  return b + "--" + kB + "--\r\n";
}

HttpResponse upload(Gateway& gw, const std::string& path, const std::string& body,
                    const std::string& key = kKey) {
  return http(gw.port(), "POST", path, body,
              {{"authorization", "Bearer " + key},
               {"content-type", "multipart/form-data; boundary=" + kB}});
}

json find_key(Gateway& gw, const std::string& name) {
  json all = gw.get("/admin/keys").json_body();
  for (const auto& k : all["data"]) {
    if (k["name"] == name) return k;
  }
  return nullptr;
}

// x-tollgate-cost-usd as a number (-1 when absent).
double cost(const HttpResponse& r) {
  const std::string h = r.header("x-tollgate-cost-usd");
  return h.empty() ? -1 : std::stod(h);
}

double spend(Gateway& gw) {
  auto k = find_key(gw, "media");
  return k.is_object() ? k["spend_usd"].get<double>() : -1;
}

class Media : public ::testing::Test {
 protected:
  void SetUp() override {
    gw_ = std::make_unique<Gateway>(media_config(mock_, temp_dir() + "/m.db"));
  }
  Mock mock_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(Media, TranscriptionUploadIsForwardedWithTheUpstreamModelAndBilledByTheMinute) {
  const std::string audio = wav(30);
  auto r = upload(*gw_, "/v1/audio/transcriptions",
                  form({{"model", "whisper"}, {"response_format", "verbose_json"}}, "file", "memo.wav", audio));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json_body();
  EXPECT_EQ(j["text"], "Transcript of memo.wav (" + std::to_string(audio.size()) + " bytes).");
  EXPECT_DOUBLE_EQ(j["duration"].get<double>(), 30.0);
  EXPECT_EQ(r.header("x-tollgate-provider"), "mock");
  EXPECT_EQ(r.header("x-tollgate-model"), "whisper-1");
  EXPECT_NEAR(cost(r), 0.003, 1e-12);  // 30 s at 0.006 USD a minute
  auto reqs = mock_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const std::string sent = reqs[0]["body"];
  EXPECT_NE(sent.find("name=\"model\"\r\n\r\nwhisper-1\r\n"), std::string::npos);
  EXPECT_EQ(reqs[0]["headers"]["content-type"], "multipart/form-data; boundary=" + kB);
  EXPECT_TRUE(eventually([&] { return std::abs(spend(*gw_) - 0.003) < 1e-9; })) << spend(*gw_);

  // Without /v1, translations, and a text answer passed through with its content type: billed
  // from the file's length, marked as an estimate in the request log.
  auto t = upload(*gw_, "/audio/translations",
                  form({{"model", "whisper"}, {"response_format", "text"}}, "file", "memo.wav", audio));
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.body, "Translation of memo.wav (" + std::to_string(audio.size()) + " bytes).\n");
  EXPECT_EQ(t.header("content-type"), "text/plain; charset=utf-8");
  EXPECT_NEAR(cost(t), 0.003, 1e-12);
  json rows;
  ASSERT_TRUE(eventually([&] {
    rows = gw_->get("/admin/logs?limit=10").json_body()["data"];
    return rows.size() == 2;
  }));
  bool estimated = false;
  for (const auto& row : rows) {
    EXPECT_EQ(row["model"], "whisper");
    EXPECT_NEAR(row["cost_usd"].get<double>(), 0.003, 1e-9) << row.dump();
    estimated = estimated || row["usage_estimated"].get<bool>();
  }
  EXPECT_TRUE(estimated);
}

TEST_F(Media, StreamedTranscriptIsRelayedAndBilledFromItsLastEvent) {
  auto r = upload(*gw_, "/v1/audio/transcriptions",
                  form({{"model", "whisper"}, {"stream", "true"}}, "file", "memo.wav", wav(20)));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto events = sse_data(r.body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(json::parse(events.front())["type"], "transcript.text.delta");
  EXPECT_EQ(json::parse(events.back())["type"], "transcript.text.done");
  // 20 s at 0.006 USD a minute, from the done event's usage (not estimated from the file).
  EXPECT_TRUE(eventually([&] { return std::abs(spend(*gw_) - 0.002) < 1e-9; })) << spend(*gw_);
  json rows;
  ASSERT_TRUE(eventually([&] {
    rows = gw_->get("/admin/logs?limit=1").json_body()["data"];
    return rows.size() == 1;
  }));
  EXPECT_FALSE(rows[0]["usage_estimated"].get<bool>()) << rows[0].dump();
  EXPECT_NEAR(rows[0]["cost_usd"].get<double>(), 0.002, 1e-9);
}

TEST_F(Media, TranscriptionFailsOverOnA5xx) {
  mock_.add_fault({{"mode", "status"}, {"status", 503}, {"match_model", "whisper-1"}, {"count", 1}});
  auto r = upload(*gw_, "/v1/audio/transcriptions",
                  form({{"model", "whisper"}}, "file", "a.mp3", std::string(32000, 'x')));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tollgate-provider"), "backup");
  EXPECT_EQ(r.header("x-tollgate-attempts"), "2");
  EXPECT_EQ(r.json_body()["text"], "Transcript of a.mp3 (32000 bytes).");
  // Both attempts sent the whole upload.
  auto reqs = mock_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0]["body"], reqs[1]["body"]);
}

TEST_F(Media, BadUploadsAre400s) {
  auto no_file = http(gw_->port(), "POST", "/v1/audio/transcriptions",
                      "--" + kB + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper\r\n--" + kB + "--\r\n",
                      {{"authorization", "Bearer " + kKey},
                       {"content-type", "multipart/form-data; boundary=" + kB}});
  EXPECT_EQ(no_file.status, 400);
  EXPECT_EQ(no_file.json_body()["error"]["param"], "file");
  auto bad_boundary = http(gw_->port(), "POST", "/v1/audio/transcriptions", "--nope\r\n",
                           {{"authorization", "Bearer " + kKey},
                            {"content-type", "multipart/form-data; boundary=\"unterminated"}});
  EXPECT_EQ(bad_boundary.status, 400);
  EXPECT_EQ(bad_boundary.json_body()["error"]["type"], "invalid_request_error");
  auto as_json = gw_->post("/v1/audio/transcriptions", {{"model", "whisper"}}, kKey);
  EXPECT_EQ(as_json.status, 400);
  EXPECT_EQ(mock_.requests().size(), 0u);
  // The daemon keeps serving.
  EXPECT_EQ(gw_->get("/health", "").status, 200);
}

TEST(MediaLimits, UploadsHaveTheirOwnBodyLimit) {
  Mock mock;
  Gateway gw(media_config(mock, temp_dir() + "/m.db", "  max_upload_body: 64KiB\n  max_request_body: 1MiB\n"));
  auto big = upload(gw, "/v1/audio/transcriptions",
                    form({{"model", "whisper"}}, "file", "big.wav", std::string(100 * 1024, 'x')));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.json_body()["error"]["code"], "request_too_large");
  EXPECT_NE(big.json_body()["error"]["message"].get<std::string>().find("max_upload_body"),
            std::string::npos);
  auto fits = upload(gw, "/v1/audio/transcriptions",
                     form({{"model", "whisper"}}, "file", "ok.wav", std::string(60 * 1024, 'x')));
  EXPECT_EQ(fits.status, 200) << fits.body;
  // Other endpoints keep max_request_body: a 100 KiB chat is fine.
  auto chat_body = chat("chatty", std::string(100 * 1024, 'a'));
  EXPECT_EQ(gw.post("/v1/chat/completions", chat_body).status, 200);
  EXPECT_EQ(mock.requests().size(), 2u);
}

TEST_F(Media, SpeechStreamsTheAudioAsItArrives) {
  const std::string input = "Hello from the gateway, this is a spoken answer.";
  json body = {{"model", "voice"}, {"input", input}, {"voice", "alloy"}, {"response_format", "wav"}};
  std::string audio;
  Clock::time_point first{}, last{};
  int chunks = 0;
  auto r = http_stream(gw_->port(), "/v1/audio/speech", body.dump(),
                       {{"authorization", "Bearer " + kKey}, {"content-type", "application/json"}},
                       [&](const std::string& chunk) {
                         if (chunks++ == 0) first = Clock::now();
                         last = Clock::now();
                         audio += chunk;
                         return true;
                       });
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "audio/wav");
  EXPECT_EQ(r.header("x-tollgate-model"), "tts-1");
  ASSERT_GT(audio.size(), 44u);
  EXPECT_EQ(audio.substr(0, 4), "RIFF");
  EXPECT_EQ(audio.substr(8, 4), "WAVE");
  // The mock sends 4 pieces 40 ms apart: the first reached the client well before the last.
  EXPECT_GE(chunks, 2);
  EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(last - first).count(), 60);
  // 15 USD per 1M characters.
  const double expected = input.size() * 15.0 / 1e6;
  EXPECT_TRUE(eventually([&] { return std::abs(spend(*gw_) - expected) < 1e-9; })) << spend(*gw_);
}

TEST_F(Media, SpeechCutAfterItsFirstBytesIsATruncatedBodyNeverASuccess) {
  mock_.add_fault({{"mode", "drop_mid_stream"}, {"match_model", "tts-1"}, {"after_events", 2}});
  json body = {{"model", "voice"}, {"input", "a long answer read aloud"}, {"voice", "alloy"},
               {"response_format", "wav"}};
  std::string audio;
  auto r = http_stream(gw_->port(), "/v1/audio/speech", body.dump(),
                       {{"authorization", "Bearer " + kKey}, {"content-type", "application/json"}},
                       [&](const std::string& chunk) {
                         audio += chunk;
                         return true;
                       });
  EXPECT_EQ(r.status, 200);  // the head went out with the first bytes
  EXPECT_FALSE(r.error.empty()) << "a cut stream must not end like a whole one";
  EXPECT_EQ(audio.substr(0, 4), "RIFF");
  json rows;
  ASSERT_TRUE(eventually([&] {
    rows = gw_->get("/admin/logs?limit=1").json_body()["data"];
    return rows.size() == 1;
  }));
  EXPECT_NE(rows[0]["error_code"], "") << rows[0].dump();
  // The characters were spoken (in part) and are billed.
  EXPECT_GT(rows[0]["cost_usd"].get<double>(), 0.0);
  // The gateway keeps serving.
  EXPECT_EQ(gw_->post("/v1/audio/speech", body, kKey).status, 200);
}

TEST_F(Media, SpeechFailsOverBeforeTheFirstByteAndIsRefusedWhenMalformed) {
  mock_.add_fault({{"mode", "status"}, {"status", 500}, {"match_model", "tts-1"}, {"count", 1}});
  json body = {{"model", "voice"}, {"input", "hi"}, {"voice", "alloy"}};
  auto r = gw_->post("/v1/audio/speech", body, kKey);
  // One target, no retries: the 500 is the answer, in OpenAI's shape.
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.json_body()["error"]["code"], "upstream_error");
  auto ok = gw_->post("/v1/audio/speech", body, kKey);
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(ok.header("content-type"), "audio/mpeg");
  EXPECT_EQ(static_cast<unsigned char>(ok.body[0]), 0xFF);  // an MPEG frame header
}

TEST_F(Media, ImagesAreBilledPerImageBySizeAndQuality) {
  json body = {{"model", "painter"}, {"prompt", "a lighthouse"}, {"n", 2}, {"quality", "hd"},
               {"response_format", "b64_json"}};
  auto r = gw_->post("/v1/images/generations", body, kKey);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json_body();
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][0]["b64_json"].get<std::string>().substr(0, 8), "iVBORw0K");  // PNG
  EXPECT_NEAR(cost(r), 0.16, 1e-12);
  auto url = gw_->post("/images/generations", {{"model", "painter"}, {"prompt", "x"}}, kKey);
  ASSERT_EQ(url.status, 200);
  EXPECT_TRUE(url.json_body()["data"][0].contains("url"));
  EXPECT_NEAR(cost(url), 0.04, 1e-12);
  EXPECT_TRUE(eventually([&] { return std::abs(spend(*gw_) - 0.20) < 1e-9; })) << spend(*gw_);
  // Counted and costed in the metrics like any call.
  const std::string metrics = gw_->get("/metrics", "").body;
  EXPECT_NE(metrics.find("tollgate_cost_usd_total{model=\"painter\",provider=\"mock\",team=\"\"} 0.2"),
            std::string::npos)
      << metrics.substr(0, 4000);
  EXPECT_NE(metrics.find("tollgate_requests_total{model=\"painter\",provider=\"mock\",status=\"200\"} 2"),
            std::string::npos);
  // Failover on a 5xx is the same as for chat: one target here, so a 502 naming the attempt.
  mock_.add_fault({{"mode", "status"}, {"status", 500}, {"match_model", "dall-e-3"}, {"count", 1}});
  EXPECT_EQ(gw_->post("/v1/images/generations", body, kKey).status, 502);
}

TEST_F(Media, ImageEditsUploadAFormWithTheModelAdded) {
  std::string body = "--" + kB + "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nadd a hat\r\n" +
                     "--" + kB + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"cat.png\"\r\n" +
                     "Content-Type: image/png\r\n\r\nPNGDATA\r\n--" + kB + "--\r\n";
  auto r = http(gw_->port(), "POST", "/v1/images/edits", body,
                {{"authorization", "Bearer sk-test-master"},
                 {"content-type", "multipart/form-data; boundary=" + kB}});
  // dall-e-2 is OpenAI's default model, and `mock/dall-e-2` is routable directly; here it is
  // not configured, so the default name must be a model entry or provider/model.
  EXPECT_EQ(r.status, 404) << r.body;
  body.insert(0, "--" + kB + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nmock/dall-e-2\r\n");
  r = http(gw_->port(), "POST", "/v1/images/edits", body,
           {{"authorization", "Bearer sk-test-master"},
            {"content-type", "multipart/form-data; boundary=" + kB}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["data"].size(), 1u);
  const std::string sent = mock_.requests().back()["body"];
  EXPECT_NE(sent.find("name=\"model\"\r\n\r\ndall-e-2\r\n"), std::string::npos) << sent;
  EXPECT_NE(sent.find("PNGDATA"), std::string::npos);
}

TEST_F(Media, ModerationsSkipTargetsThatCannotServeThemAndAreFree) {
  auto r = gw_->post("/v1/moderations", {{"model", "mod"}, {"input", {"I will kill the process", "tea"}}}, kKey);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json_body();
  EXPECT_EQ(j["results"][0]["flagged"], true);
  EXPECT_EQ(j["results"][0]["categories"]["violence"], true);
  EXPECT_EQ(j["results"][1]["flagged"], false);
  EXPECT_EQ(r.header("x-tollgate-provider"), "mock");  // the Anthropic target was left out
  EXPECT_EQ(r.header("x-tollgate-attempts"), "1");
  EXPECT_NEAR(cost(r), 0, 1e-12);
  // A model with no target that can serve the endpoint: a 400 naming both.
  auto refused = gw_->post("/v1/moderations", {{"model", "claude-only"}, {"input", "x"}}, kKey);
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.json_body()["error"]["code"], "unsupported_endpoint");
  const std::string msg = refused.json_body()["error"]["message"];
  EXPECT_NE(msg.find("moderations"), std::string::npos) << msg;
  EXPECT_NE(msg.find("anthropic"), std::string::npos) << msg;
}

TEST_F(Media, RerankOnBothPathsIsBilledBySearchUnits) {
  json body = {{"model", "ranker"},
               {"query", "red apple pie"},
               {"documents", {"blue sky", "apple pie recipe", "red apple pie with cream"}},
               {"top_n", 2}};
  for (const char* path : {"/v1/rerank", "/v2/rerank", "/rerank"}) {
    auto r = gw_->post(path, body, kKey);
    ASSERT_EQ(r.status, 200) << path << ": " << r.body;
    auto results = r.json_body()["results"];
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0]["index"], 2);
    EXPECT_EQ(results[1]["index"], 1);
    EXPECT_NEAR(cost(r), 0.002, 1e-12) << path;
  }
}

TEST_F(Media, VirtualKeysModelListsAndRateLimitsApply) {
  json body = {{"model", "ranker"}, {"query", "q"}, {"documents", {"q"}}};
  auto first = gw_->post("/v1/rerank", body, kSlowKey);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-ratelimit-limit-requests"), "1");
  auto second = gw_->post("/v1/rerank", body, kSlowKey);
  EXPECT_EQ(second.status, 429);
  EXPECT_EQ(second.json_body()["error"]["code"], "rate_limit_exceeded");
  EXPECT_FALSE(second.header("retry-after").empty());
  auto other = gw_->post("/v1/moderations", {{"model", "mod"}, {"input", "x"}}, kSlowKey);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.json_body()["error"]["code"], "model_not_allowed");
  EXPECT_EQ(mock_.requests().size(), 1u);
}

TEST_F(Media, BudgetedKeysNeedAPriceForWhatTheEndpointBillsBy) {
  // gpt-4o-mini has token prices but no image price: an image call could not be metered.
  auto r = gw_->post("/v1/images/generations", {{"model", "chatty"}, {"prompt", "x"}}, kKey);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.json_body()["error"]["code"], "model_not_priced");
  auto unpriced = upload(*gw_, "/v1/audio/transcriptions",
                         form({{"model", "mock/whisper-large"}}, "file", "a.wav", wav(1)));
  EXPECT_EQ(unpriced.status, 403);
  EXPECT_EQ(unpriced.json_body()["error"]["code"], "model_not_priced");
  // The master key has no budget: the call goes through, its cost unknown.
  auto master = upload(*gw_, "/v1/audio/transcriptions",
                       form({{"model", "mock/whisper-large"}}, "file", "a.wav", wav(1)), "sk-test-master");
  EXPECT_EQ(master.status, 200) << master.body;
  EXPECT_EQ(master.header("x-tollgate-cost-usd"), "");
  EXPECT_EQ(mock_.requests().size(), 1u);
}

}  // namespace
}  // namespace tg::it

namespace tg::it {
namespace {

TEST(MediaAzure, UploadsAndSpeechGoToTheDeploymentPath) {
  Mock mock({"--api-key", "az-key"});
  Gateway gw("server:\n  master_key: sk-test-master\n  workers: 1\n"
             "providers:\n  az:\n    type: azure\n    base_url: http://127.0.0.1:" +
             std::to_string(mock.port()) +
             "\n    api_key: az-key\n    api_version: 2024-10-21\n"
             "    deployments: {whisper-1: my-whisper, tts-1: my-voice}\n");
  auto r = upload(gw, "/v1/audio/transcriptions",
                  form({{"model", "az/whisper-1"}}, "file", "note.wav", wav(2)), "sk-test-master");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["text"], "Transcript of note.wav (" + std::to_string(wav(2).size()) + " bytes).");
  auto reqs = mock.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0]["path"],
            "/openai/deployments/my-whisper/audio/transcriptions?api-version=2024-10-21");
  EXPECT_EQ(reqs[0]["headers"]["api-key"], "az-key");
  EXPECT_NE(reqs[0]["body"].get<std::string>().find("name=\"model\"\r\n\r\nmy-whisper\r\n"),
            std::string::npos);
  auto s = gw.post("/v1/audio/speech", {{"model", "az/tts-1"}, {"input", "hi"}, {"voice", "alloy"},
                                        {"response_format", "wav"}});
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.header("content-type"), "audio/wav");
  EXPECT_EQ(s.body.substr(0, 4), "RIFF");
  EXPECT_EQ(mock.requests().back()["path"],
            "/openai/deployments/my-voice/audio/speech?api-version=2024-10-21");
}

}  // namespace
}  // namespace tg::it
