// The Gemini adapter: request/response/stream/error translation against golden fixtures in
// tests/fixtures/gemini/, plus the edge cases around them.

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "tollgate/providers/adapter.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;

std::string read_file(const std::string& name) {
  std::ifstream in(std::string(TG_SOURCE_DIR) + "/tests/fixtures/gemini/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json fixture(const std::string& name) {
  json j = json::parse(read_file(name), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << name << " is not JSON";
  return j;
}

config::ProviderConfig provider() {
  config::ProviderConfig p;
  p.name = "gem";
  p.type = config::ProviderType::Gemini;
  p.base_url = "https://generativelanguage.googleapis.com";
  p.headers = {{"x-extra", "1"}};
  return p;
}
const config::ProviderConfig kProvider = provider();

const ProviderAdapter& gemini() { return *adapter_for(config::ProviderType::Gemini); }

ClientRequest request(const json& body, Endpoint ep = Endpoint::ChatCompletions) {
  ClientRequest r;
  r.endpoint = ep;
  r.set_doc(&body);
  r.model = body.value("model", "");
  r.stream = body.value("stream", false);
  r.client_wants_usage = body.contains("stream_options") && body["stream_options"].is_object() &&
                         body["stream_options"].value("include_usage", false);
  return r;
}

UpstreamRequest build(const ClientRequest& r, std::string_view model = "gemini-2.5-flash",
                      std::string_view key = "AIza-key", std::string_view base_path = "") {
  return gemini().build_request(r, model,
                                BuildContext{kProvider, key, "generativelanguage.googleapis.com",
                                             base_path});
}

std::string header(const UpstreamRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }
std::set<std::string> as_set(const json& j) { return j.get<std::set<std::string>>(); }

json without_created(json j) {
  j.erase("created");
  return j;
}

// ---- requests -----------------------------------------------------------------------------

TEST(GeminiAdapter, ChatRequestMatchesGolden) {
  json in = fixture("chat_request.openai.json");
  const json copy = in;
  auto up = build(request(in));
  EXPECT_EQ(up.method, "POST");
  EXPECT_EQ(up.path, "/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(json::parse(up.body), fixture("chat_request.gemini.json"));
  EXPECT_EQ(as_set(up.dropped_params), as_set(fixture("chat_request.dropped.json")));
  EXPECT_EQ(in, copy) << "the client request must not change (failover builds again from it)";
}

TEST(GeminiAdapter, ToolsRequestMatchesGolden) {
  json in = fixture("tools_request.openai.json");
  auto up = build(request(in));
  EXPECT_EQ(json::parse(up.body), fixture("tools_request.gemini.json"));
  EXPECT_EQ(as_set(up.dropped_params), as_set(fixture("tools_request.dropped.json")));
}

TEST(GeminiAdapter, KeyGoesInAHeaderNeverInTheUrl) {
  json in = {{"model", "m"}, {"stream", true}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  auto up = build(request(in), "gemini-2.5-flash", "AIza-secret");
  EXPECT_EQ(up.path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  EXPECT_EQ(header(up, "x-goog-api-key"), "AIza-secret");
  EXPECT_EQ(header(up, "Content-Type"), "application/json");
  EXPECT_EQ(header(up, "x-extra"), "1");
  EXPECT_EQ(up.path.find("AIza"), std::string::npos);
  EXPECT_EQ(header(up, "Authorization"), "<absent>");
  auto nokey = build(request(in), "gemini-2.5-flash", "");
  EXPECT_EQ(header(nokey, "x-goog-api-key"), "<absent>");
  EXPECT_TRUE(up.dropped_params.empty()) << "stream and stream_options are not dropped";
}

TEST(GeminiAdapter, PathHandlesModelPrefixesAndVersionedBaseUrls) {
  json in = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  EXPECT_EQ(build(request(in), "models/gemini-2.5-pro").path,
            "/v1beta/models/gemini-2.5-pro:generateContent");
  EXPECT_EQ(build(request(in), "tunedModels/my-model-1").path,
            "/v1beta/tunedModels/my-model-1:generateContent");
  EXPECT_EQ(build(request(in), "gemini-2.5-flash", "k", "/v1beta").path,
            "/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(build(request(in), "odd model?", "k").path,
            "/v1beta/models/odd%20model%3F:generateContent");
}

TEST(GeminiAdapter, ToolChoiceModes) {
  json base = {{"model", "m"},
               {"messages", {{{"role", "user"}, {"content", "hi"}}}},
               {"tools", json::array({{{"type", "function"}, {"function", {{"name", "a"}}}},
                                      {{"type", "function"}, {"function", {{"name", "b"}}}}})}};
  auto mode = [&](const json& choice) {
    json b = base;
    b["tool_choice"] = choice;
    return json::parse(build(request(b)).body);
  };
  EXPECT_EQ(mode("auto")["toolConfig"]["functionCallingConfig"], json({{"mode", "AUTO"}}));
  EXPECT_EQ(mode("none")["toolConfig"]["functionCallingConfig"], json({{"mode", "NONE"}}));
  EXPECT_EQ(mode("required")["toolConfig"]["functionCallingConfig"], json({{"mode", "ANY"}}));
  auto allowed_auto = mode({{"type", "allowed_tools"},
                            {"allowed_tools",
                             {{"mode", "auto"},
                              {"tools", json::array({{{"type", "function"},
                                                      {"function", {{"name", "b"}}}}})}}}});
  EXPECT_EQ(allowed_auto["toolConfig"]["functionCallingConfig"], json({{"mode", "AUTO"}}));
  ASSERT_EQ(allowed_auto["tools"][0]["functionDeclarations"].size(), 1u);
  EXPECT_EQ(allowed_auto["tools"][0]["functionDeclarations"][0]["name"], "b");
  auto allowed_req = mode({{"type", "allowed_tools"},
                           {"allowed_tools",
                            {{"mode", "required"},
                             {"tools", json::array({{{"type", "function"},
                                                     {"function", {{"name", "a"}}}}})}}}});
  EXPECT_EQ(allowed_req["toolConfig"]["functionCallingConfig"],
            json({{"mode", "ANY"}, {"allowedFunctionNames", {"a"}}}));
  EXPECT_EQ(allowed_req["tools"][0]["functionDeclarations"].size(), 2u);
}

TEST(GeminiAdapter, ReasoningEffortBecomesAThinkingBudget) {
  auto thinking = [](const std::string& effort, const std::string& model = "gemini-2.5-flash") {
    json b = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}},
              {"reasoning_effort", effort}};
    auto up = build(request(b), model);
    return std::make_pair(json::parse(up.body)["generationConfig"]["thinkingConfig"],
                          up.dropped_params);
  };
  EXPECT_EQ(thinking("none").first, json({{"thinkingBudget", 0}}));
  EXPECT_EQ(thinking("minimal").first, json({{"thinkingBudget", 512}, {"includeThoughts", true}}));
  EXPECT_EQ(thinking("medium").first, json({{"thinkingBudget", 8192}, {"includeThoughts", true}}));
  EXPECT_EQ(thinking("high").first, json({{"thinkingBudget", 24576}, {"includeThoughts", true}}));
  EXPECT_EQ(thinking("max", "gemini-2.5-pro").first["thinkingBudget"], 32768);
  EXPECT_EQ(thinking("max").first["thinkingBudget"], 24576);
  auto bogus = thinking("galactic");
  EXPECT_TRUE(bogus.first.is_null());
  EXPECT_EQ(bogus.second, std::vector<std::string>{"reasoning_effort"});
}

TEST(GeminiAdapter, JsonObjectModeAndDefaultsAreNotDropped) {
  json b = {{"model", "m"},
            {"messages", {{{"role", "user"}, {"content", "hi"}}}},
            {"response_format", {{"type", "json_object"}}},
            {"n", 1},
            {"parallel_tool_calls", true},
            {"logprobs", false},
            {"store", false},
            {"temperature", nullptr},
            {"stop", "END"}};
  auto up = build(request(b));
  auto sent = json::parse(up.body);
  EXPECT_EQ(sent["generationConfig"],
            json({{"responseMimeType", "application/json"}, {"stopSequences", {"END"}}}));
  EXPECT_TRUE(up.dropped_params.empty()) << json(up.dropped_params).dump();
  b["logprobs"] = true;
  b["service_tier"] = "flex";
  b["vendor_extra"] = {{"x", 1}};
  EXPECT_EQ(as_set(build(request(b)).dropped_params),
            (std::set<std::string>{"logprobs", "service_tier", "vendor_extra"}));
}

TEST(GeminiAdapter, ToolResultNameComesFromTheNearestCall) {
  // The same id in two turns (ids are per response): each result takes its own turn's name.
  json b = {{"model", "m"},
            {"messages",
             {{{"role", "user"}, {"content", "go"}},
              {{"role", "assistant"},
               {"tool_calls", {{{"id", "call_0"}, {"type", "function"},
                                {"function", {{"name", "first"}, {"arguments", "{}"}}}}}}},
              {{"role", "tool"}, {"tool_call_id", "call_0"}, {"content", "[1, 2]"}},
              {{"role", "assistant"},
               {"tool_calls", {{{"id", "call_0"}, {"type", "function"},
                                {"function", {{"name", "second"}, {"arguments", "not json"}}}}}}},
              {{"role", "tool"}, {"tool_call_id", "call_0"}, {"content", "plain text"}}}}};
  auto sent = json::parse(build(request(b)).body);
  const auto& c = sent["contents"];
  ASSERT_EQ(c.size(), 5u) << sent.dump();
  EXPECT_EQ(c[2]["parts"][0]["functionResponse"],
            json({{"name", "first"}, {"response", {{"content", "[1, 2]"}}}}));
  EXPECT_EQ(c[3]["parts"][0]["functionCall"],
            json({{"name", "second"}, {"args", {{"arguments", "not json"}}}}));
  EXPECT_EQ(c[4]["parts"][0]["functionResponse"],
            json({{"name", "second"}, {"response", {{"content", "plain text"}}}}));
}

TEST(GeminiAdapter, Gemini3GetsTheDocumentedBypassForUnsignedHistory) {
  json b = {{"model", "m"},
            {"messages",
             {{{"role", "user"}, {"content", "go"}},
              {{"role", "assistant"},
               {"tool_calls",
                {{{"id", "toolu_01"}, {"type", "function"}, {"function", {{"name", "f"}, {"arguments", "{}"}}}},
                 {{"id", "toolu_02"}, {"type", "function"}, {"function", {{"name", "g"}, {"arguments", "{}"}}}}}}},
              {{"role", "tool"}, {"tool_call_id", "toolu_01"}, {"content", "1"}},
              {{"role", "tool"}, {"tool_call_id", "toolu_02"}, {"content", "2"}}}}};
  auto g3 = json::parse(build(request(b), "gemini-3-pro-preview").body);
  const auto& parts = g3["contents"][1]["parts"];
  EXPECT_EQ(parts[0]["thoughtSignature"], "skip_thought_signature_validator");
  EXPECT_FALSE(parts[1].contains("thoughtSignature")) << "only a step's first call carries one";
  auto g25 = json::parse(build(request(b), "gemini-2.5-flash").body);
  EXPECT_FALSE(g25["contents"][1]["parts"][0].contains("thoughtSignature"));
  // Google's own OpenAI-compatible field is read too.
  b["messages"][1]["tool_calls"][0]["extra_content"] = {{"google", {{"thought_signature", "c2ln"}}}};
  auto ec = json::parse(build(request(b), "gemini-3-pro-preview").body);
  EXPECT_EQ(ec["contents"][1]["parts"][0]["thoughtSignature"], "c2ln");
}

TEST(GeminiAdapter, UnsupportedContentIsReportedNotSilentlyLost) {
  json b = {{"model", "m"},
            {"messages",
             {{{"role", "user"},
               {"content",
                {{{"type", "text"}, {"text", "hi"}},
                 {{"type", "image_url"}, {"image_url", {{"url", "ftp://x/y.png"}}}},
                 {{"type", "input_audio"}, {"input_audio", {{"data", "UklGRg=="}, {"format", "wav"}}}},
                 {{"type", "file"}, {"file", {{"file_data", "JVBERi0="}, {"filename", "a.pdf"}}}},
                 {{"type", "image_url"}, {"image_url", {{"url", "https://x/y.png"}, {"detail", "low"}}}},
                 {{"type", "video_url"}, {"video_url", "x"}}}}}}}};
  auto up = build(request(b));
  auto parts = json::parse(up.body)["contents"][0]["parts"];
  ASSERT_EQ(parts.size(), 4u) << parts.dump();
  EXPECT_EQ(parts[1], json({{"inlineData", {{"mimeType", "audio/wav"}, {"data", "UklGRg=="}}}}));
  EXPECT_EQ(parts[2], json({{"inlineData", {{"mimeType", "application/pdf"}, {"data", "JVBERi0="}}}}));
  EXPECT_EQ(parts[3], json({{"fileData", {{"mimeType", "image/png"}, {"fileUri", "https://x/y.png"}}}}));
  EXPECT_EQ(as_set(up.dropped_params),
            (std::set<std::string>{"messages.content.image_url", "messages.content.image_url.detail",
                                   "messages.content.video_url"}));
}

TEST(GeminiAdapter, EmbeddingsRequest) {
  json b = {{"model", "emb"}, {"input", {"one", "two ✓"}}, {"dimensions", 256},
            {"encoding_format", "base64"}, {"user", "u"}};
  auto up = build(request(b, Endpoint::Embeddings), "gemini-embedding-001");
  EXPECT_EQ(up.path, "/v1beta/models/gemini-embedding-001:batchEmbedContents");
  json expected = {{"requests",
                    {{{"model", "models/gemini-embedding-001"},
                      {"content", {{"parts", {{{"text", "one"}}}}}},
                      {"outputDimensionality", 256}},
                     {{"model", "models/gemini-embedding-001"},
                      {"content", {{"parts", {{{"text", "two ✓"}}}}}},
                      {"outputDimensionality", 256}}}}};
  EXPECT_EQ(json::parse(up.body), expected);
  EXPECT_EQ(up.dropped_params, std::vector<std::string>{"user"});
  EXPECT_TRUE(gemini().supports(Endpoint::Embeddings));
  EXPECT_FALSE(gemini().supports(Endpoint::Completions));
}

// ---- responses ------------------------------------------------------------------------------

void expect_response(const std::string& in, const std::string& out, Usage want) {
  json req_body = {{"model", "alias"}, {"messages", json::array()}};
  auto resp = gemini().translate_response(request(req_body), read_file(in));
  ASSERT_FALSE(resp.error) << resp.error->message;
  json got = json::parse(resp.body);
  EXPECT_TRUE(got["created"].is_number_integer());
  EXPECT_EQ(without_created(got), fixture(out)) << got.dump(2);
  EXPECT_EQ(resp.usage.input, want.input);
  EXPECT_EQ(resp.usage.output, want.output);
  EXPECT_EQ(resp.usage.cached_read, want.cached_read);
  EXPECT_EQ(resp.usage.reasoning, want.reasoning);
  EXPECT_TRUE(resp.usage.present);
}

TEST(GeminiAdapter, TextResponseWithThoughtsMatchesGolden) {
  expect_response("response_text.gemini.json", "response_text.openai.json",
                  Usage{12, 48, 4, 0, 40, true});
}

TEST(GeminiAdapter, ToolAndMultiCandidateResponseMatchesGolden) {
  expect_response("response_tools.gemini.json", "response_tools.openai.json",
                  Usage{35, 20, 0, 0, 0, true});
}

TEST(GeminiAdapter, BlockedPromptIsAnEmptyContentFilteredChoice) {
  expect_response("response_blocked.gemini.json", "response_blocked.openai.json",
                  Usage{5, 0, 0, 0, 0, true});
}

TEST(GeminiAdapter, UnusableBodiesFailOver) {
  json req_body = {{"model", "m"}};
  auto r = request(req_body);
  EXPECT_TRUE(gemini().translate_response(r, "[1,2]").error);
  EXPECT_TRUE(gemini().translate_response(r, R"({"usageMetadata":{}})").error);
  EXPECT_TRUE(gemini().translate_response(r, "not json").error);
}

TEST(GeminiAdapter, FinishReasons) {
  json req_body = {{"model", "m"}};
  auto finish = [&](const std::string& reason) {
    json body = {{"candidates", {{{"content", {{"parts", {{{"text", "x"}}}}}}, {"finishReason", reason}}}}};
    auto resp = gemini().translate_response(request(req_body), body.dump());
    return json::parse(resp.body)["choices"][0]["finish_reason"].get<std::string>();
  };
  EXPECT_EQ(finish("STOP"), "stop");
  EXPECT_EQ(finish("MAX_TOKENS"), "length");
  for (const char* r : {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
                        "IMAGE_SAFETY", "LANGUAGE"}) {
    EXPECT_EQ(finish(r), "content_filter") << r;
  }
  for (const char* r : {"OTHER", "MALFORMED_FUNCTION_CALL", "FINISH_REASON_UNSPECIFIED", "NEW_ONE"}) {
    EXPECT_EQ(finish(r), "stop") << r;
  }
}

TEST(GeminiAdapter, EmbeddingsResponseFloatAndBase64) {
  json req_body = {{"model", "emb"}, {"input", {"abcd", "abcdefgh ✓"}}};
  std::string body = R"({"embeddings":[{"values":[0.5,-1.0]},{"values":[0.25]}]})";
  auto resp = gemini().translate_response(request(req_body, Endpoint::Embeddings), std::string(body));
  ASSERT_FALSE(resp.error);
  json expected = {{"object", "list"},
                   {"data",
                    {{{"object", "embedding"}, {"index", 0}, {"embedding", {0.5, -1.0}}},
                     {{"object", "embedding"}, {"index", 1}, {"embedding", {0.25}}}}},
                   {"model", "emb"},
                   {"usage", {{"prompt_tokens", 4}, {"total_tokens", 4}}}};  // 1 + 3 estimated
  EXPECT_EQ(json::parse(resp.body), expected);
  EXPECT_EQ(resp.usage.input, 4);
  EXPECT_FALSE(resp.usage.present) << "an estimate, not the upstream's count";
  req_body["encoding_format"] = "base64";
  auto b64 = gemini().translate_response(request(req_body, Endpoint::Embeddings), std::string(body));
  auto j = json::parse(b64.body);
  EXPECT_EQ(j["data"][0]["embedding"], "AAAAPwAAgL8=");  // float32 LE 0.5, -1.0
  EXPECT_EQ(j["data"][1]["embedding"], "AACAPg==");
}

// ---- streams --------------------------------------------------------------------------------

struct StreamResult {
  std::vector<json> chunks;
  StreamStatus status = StreamStatus::Continue;
  Usage usage;
};

StreamResult feed(const ClientRequest& req, const std::vector<std::string_view>& pieces) {
  StreamResult r;
  auto t = gemini().make_stream_translator(req);
  std::string out;
  for (auto p : pieces) {
    r.status = t->on_bytes(p, out);
    if (r.status != StreamStatus::Continue) break;
  }
  if (r.status == StreamStatus::Continue) r.status = t->on_end(out);
  for (const auto& d : [&] {
         std::vector<std::string> v;
         sse::Decoder dec;
         std::vector<sse::Event> evs;
         dec.feed(out, evs);
         for (auto& e : evs) v.push_back(e.data);
         return v;
       }()) {
    r.chunks.push_back(json::parse(d, nullptr, false));
  }
  EXPECT_EQ(static_cast<size_t>(t->events_out()), r.chunks.size());
  r.usage = t->usage();
  return r;
}

std::string_view status_name(StreamStatus s) {
  switch (s) {
    case StreamStatus::Continue: return "Continue";
    case StreamStatus::Done: return "Done";
    case StreamStatus::UpstreamError: return "UpstreamError";
    case StreamStatus::Malformed: return "Malformed";
  }
  return "?";
}

void check_stream_fixture(const std::string& sse_name, const std::string& expected_name) {
  const std::string bytes = read_file(sse_name);
  const json expected = fixture(expected_name);
  json body = {{"model", "alias"}, {"stream", true}};
  if (expected["client_wants_usage"].get<bool>()) body["stream_options"] = {{"include_usage", true}};
  const ClientRequest req = request(body);
  std::vector<json> want = expected["chunks"].get<std::vector<json>>();
  auto check = [&](const StreamResult& got, const std::string& how) {
    ASSERT_EQ(got.chunks.size(), want.size()) << how;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_TRUE(got.chunks[i]["created"].is_number_integer()) << how;
      EXPECT_EQ(without_created(got.chunks[i]), want[i]) << how << " chunk " << i;
    }
    EXPECT_EQ(status_name(got.status), expected["status"].get<std::string>()) << how;
    const auto& u = expected["usage"];
    EXPECT_EQ(got.usage.input, u["input"].get<int64_t>()) << how;
    EXPECT_EQ(got.usage.output, u["output"].get<int64_t>()) << how;
    EXPECT_EQ(got.usage.cached_read, u["cached_read"].get<int64_t>()) << how;
    EXPECT_EQ(got.usage.reasoning, u["reasoning"].get<int64_t>()) << how;
  };
  const std::string_view all(bytes);
  check(feed(req, {all}), "whole");
  for (size_t k = 1; k < bytes.size(); ++k) {
    check(feed(req, {all.substr(0, k), all.substr(k)}), "split at " + std::to_string(k));
    if (::testing::Test::HasFailure()) return;
  }
  std::vector<std::string_view> bytewise;
  for (size_t k = 0; k < bytes.size(); ++k) bytewise.push_back(all.substr(k, 1));
  check(feed(req, bytewise), "byte by byte");
}

TEST(GeminiStream, TextWithThoughtsAtEverySplit) {
  check_stream_fixture("stream_text.sse", "stream_text.openai.json");
}

TEST(GeminiStream, ParallelToolCallsAtEverySplit) {
  check_stream_fixture("stream_tools.sse", "stream_tools.openai.json");
}

TEST(GeminiStream, NoFinishReasonMeansTheStreamWasCut) {
  json body = {{"model", "m"}, {"stream", true}};
  std::string sse =
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}],\"role\":\"model\"},"
      "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":3,\"totalTokenCount\":4,"
      "\"candidatesTokenCount\":1}}\r\n\r\n";
  auto r = feed(request(body), {sse});
  EXPECT_EQ(r.status, StreamStatus::Continue);
  ASSERT_EQ(r.chunks.size(), 2u);
  EXPECT_EQ(r.chunks[1]["choices"][0]["delta"]["content"], "Hel");
  EXPECT_EQ(r.usage.input, 3) << "usage so far is kept even for a cut stream";
  EXPECT_EQ(feed(request(body), {}).status, StreamStatus::Continue);
}

TEST(GeminiStream, ErrorEventBecomesAnOpenAiErrorChunk) {
  json body = {{"model", "m"}, {"stream", true}};
  std::string sse =
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}]},\"index\":0}]}\r\n\r\n"
      "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":"
      "\"UNAVAILABLE\"}}\r\n\r\n";
  auto r = feed(request(body), {sse});
  EXPECT_EQ(r.status, StreamStatus::UpstreamError);
  ASSERT_EQ(r.chunks.size(), 3u);
  const auto& err = r.chunks[2]["error"];
  EXPECT_NE(err["message"].get<std::string>().find("The model is overloaded."), std::string::npos);
  EXPECT_EQ(err["type"], "api_error");
  EXPECT_EQ(err["code"], "unavailable");
  EXPECT_FALSE(r.chunks[2].contains("choices"));
}

TEST(GeminiStream, MalformedFirstEvent) {
  json body = {{"model", "m"}, {"stream", true}};
  auto r = feed(request(body), {"data: {\"candidates\":[{\"con\r\n\r\n"});
  EXPECT_EQ(r.status, StreamStatus::Malformed);
  EXPECT_TRUE(r.chunks.empty());
}

TEST(GeminiStream, BlockedPromptAndMultipleCandidates) {
  json body = {{"model", "m"}, {"stream", true}};
  auto blocked = feed(request(body),
                      {"data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"usageMetadata\":"
                       "{\"promptTokenCount\":4,\"totalTokenCount\":4}}\n\n"});
  EXPECT_EQ(blocked.status, StreamStatus::Done);
  ASSERT_EQ(blocked.chunks.size(), 2u);
  EXPECT_EQ(blocked.chunks[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(blocked.chunks[1]["choices"][0]["finish_reason"], "content_filter");
  EXPECT_EQ(blocked.usage.input, 4);

  // n=2: both candidates must finish before the stream is complete.
  std::string two =
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]},\"index\":0},"
      "{\"content\":{\"parts\":[{\"text\":\"b\"}]},\"finishReason\":\"STOP\",\"index\":1}]}\n\n";
  auto half = feed(request(body), {two});
  EXPECT_EQ(half.status, StreamStatus::Continue);
  std::string rest = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"c\"}]},"
                     "\"finishReason\":\"MAX_TOKENS\",\"index\":0}]}\n\n";
  auto full = feed(request(body), {two, rest});
  EXPECT_EQ(full.status, StreamStatus::Done);
  std::string content0, content1, finish0;
  for (const auto& c : full.chunks) {
    const auto& ch = c["choices"][0];
    if (ch["delta"].contains("content")) {
      (ch["index"] == 0 ? content0 : content1) += ch["delta"]["content"].get<std::string>();
    }
    if (ch["index"] == 0 && ch["finish_reason"].is_string()) finish0 = ch["finish_reason"];
  }
  EXPECT_EQ(content0, "ac");
  EXPECT_EQ(content1, "b");
  EXPECT_EQ(finish0, "length");
}

// ---- errors ---------------------------------------------------------------------------------

TEST(GeminiErrors, MapErrorMatchesGolden) {
  for (const auto& c : fixture("errors.json")) {
    const std::string name = c["name"];
    const std::string body = c["body"].is_string() ? c["body"].get<std::string>() : c["body"].dump();
    Error e = gemini().map_error("gem", c["status"].get<int>(), body, c.value("retry_after", ""));
    const auto& x = c["expect"];
    EXPECT_EQ(e.status, x["status"].get<int>()) << name;
    EXPECT_EQ(e.retryable, x["retryable"].get<bool>()) << name;
    EXPECT_EQ(e.provider, "gem") << name;
    if (x.contains("type")) EXPECT_EQ(e.type, x["type"].get<std::string>()) << name;
    if (x.contains("code")) EXPECT_EQ(e.code_str, x["code"].get<std::string>()) << name;
    if (x.contains("retry_after")) EXPECT_EQ(e.retry_after, x["retry_after"].get<std::string>()) << name;
    if (x.contains("context_window")) {
      EXPECT_EQ(is_context_window_error(e), x["context_window"].get<bool>()) << name;
    }
    if (x.contains("message_has")) {
      EXPECT_NE(e.message.find(x["message_has"].get<std::string>()), std::string::npos)
          << name << ": " << e.message;
    }
    EXPECT_NE(e.message.find("gem"), std::string::npos) << name;
    auto rendered = json::parse(render_error_body(e));
    EXPECT_EQ(rendered["error"]["provider"], "gem") << name;
  }
}

}  // namespace
}  // namespace tg::providers
