// Gemini through the real daemon and tollgate-mock speaking Gemini: what the conformance suite
// does not reach (the upstream request's exact shape, auth, key rotation on Gemini's 400 for a bad
// key, thinking, blocked prompts, thought signatures, Gemini's errors, embeddings) and the mock's
// own Gemini wire format.

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

std::string root(const Mock& m) { return "http://127.0.0.1:" + std::to_string(m.port()); }

std::string gemini_config(const Mock& m, const std::string& keys = "    api_key: up-key\n",
                          const std::string& models_extra = "") {
  return "server:\n  master_key: sk-test-master\n  workers: 1\n"
         "router:\n  retries: 1\n  allowed_fails: 100\n"
         "providers:\n  g:\n    type: gemini\n    base_url: " + root(m) + "\n" + keys +
         "models:\n"
         "  - name: flash\n    targets: [g/gemini-2.5-flash]\n"
         "  - name: g3\n    targets: [g/gemini-3-pro-preview]\n"
         "  - name: emb\n    targets: [g/gemini-embedding-001]\n" + models_extra;
}

json user(const std::string& text) { return json::array({{{"role", "user"}, {"content", text}}}); }

json weather_tools() {
  return json::array({{{"type", "function"},
                       {"function",
                        {{"name", "get_weather"},
                         {"description", "Weather for a city"},
                         {"strict", true},
                         {"parameters",
                          {{"type", "object"},
                           {"properties", {{"city", {{"type", "string"}}}}},
                           {"required", {"city"}},
                           {"additionalProperties", false}}}}}}});
}

// The last API request the mock received.
json last_request(Mock& m) {
  json reqs = m.requests();
  EXPECT_TRUE(reqs.is_array() && !reqs.empty());
  return reqs.empty() ? json() : reqs.back();
}

// Content, reasoning, finish reason and usage of an OpenAI SSE body.
struct Streamed {
  std::string content, reasoning, finish;
  json usage, tool_calls = json::array();
  bool done = false;
  bool role_first = false;
};

Streamed parse_stream(const std::string& body) {
  Streamed s;
  bool first = true;
  for (const auto& d : sse_data(body)) {
    if (d == "[DONE]") {
      s.done = true;
      continue;
    }
    auto j = json::parse(d, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("usage") && j["usage"].is_object()) s.usage = j["usage"];
    if (!j.contains("choices")) continue;
    for (const auto& c : j["choices"]) {
      const auto& delta = c["delta"];
      if (first) s.role_first = delta.value("role", "") == "assistant";
      first = false;
      if (delta.contains("content") && delta["content"].is_string()) s.content += delta["content"];
      if (delta.contains("reasoning_content")) s.reasoning += delta["reasoning_content"];
      if (delta.contains("tool_calls")) {
        for (const auto& tc : delta["tool_calls"]) s.tool_calls.push_back(tc);
      }
      if (c["finish_reason"].is_string()) s.finish = c["finish_reason"];
    }
  }
  return s;
}

TEST(GeminiIntegration, UpstreamRequestShapeAuthAndAnswer) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(gemini_config(mock));
  json body = {{"model", "flash"},
               {"messages",
                {{{"role", "system"}, {"content", "Be terse."}},
                 {{"role", "user"}, {"content", "first"}},
                 {{"role", "assistant"}, {"content", "mock: first"}},
                 {{"role", "user"}, {"content", "Hello Gemini ✓"}}}},
               {"temperature", 0.2},
               {"max_completion_tokens", 50},
               {"stop", "END"}};
  auto r = gw.post("/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json_body();
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "gemini-2.5-flash");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "mock: Hello Gemini ✓");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 8);  // words of every message, the system one included
  EXPECT_EQ(r.header("x-tollgate-provider"), "g");

  json up = last_request(mock);
  EXPECT_EQ(up["path"], "/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(up["headers"]["x-goog-api-key"], "up-key");
  EXPECT_FALSE(up["headers"].contains("authorization"));
  EXPECT_EQ(up["path"].get<std::string>().find("key="), std::string::npos);
  json want = {{"systemInstruction", {{"parts", {{{"text", "Be terse."}}}}}},
               {"contents",
                {{{"role", "user"}, {"parts", {{{"text", "first"}}}}},
                 {{"role", "model"}, {"parts", {{{"text", "mock: first"}}}}},
                 {{"role", "user"}, {"parts", {{{"text", "Hello Gemini ✓"}}}}}}},
               {"generationConfig",
                {{"temperature", 0.2}, {"maxOutputTokens", 50}, {"stopSequences", {"END"}}}}};
  EXPECT_EQ(up["body"], want);

  // Streamed: ?alt=sse, CRLF events from the mock, OpenAI chunks and [DONE] to the client.
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  auto s = gw.post("/v1/chat/completions", body);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(last_request(mock)["path"],
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  auto st = parse_stream(s.body);
  EXPECT_TRUE(st.role_first);
  EXPECT_EQ(st.content, "mock: Hello Gemini ✓");
  EXPECT_EQ(st.finish, "stop");
  EXPECT_TRUE(st.done);
  ASSERT_TRUE(st.usage.is_object()) << s.body;
  EXPECT_EQ(st.usage["prompt_tokens"], 8);
  EXPECT_EQ(st.usage["total_tokens"],
            st.usage["prompt_tokens"].get<int>() + st.usage["completion_tokens"].get<int>());
}

TEST(GeminiIntegration, InvalidKeyRotatesToTheNextKey) {
  Mock mock({"--api-key", "good-key"});
  {
    // Only a bad key: Gemini's 400 API_KEY_INVALID is treated as a refused key.
    Gateway gw(gemini_config(mock, "    api_key: bad-key\n"));
    auto r = gw.post("/v1/chat/completions", {{"model", "flash"}, {"messages", user("hi")}});
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_NE(r.body.find("refused Tollgate's credentials (401)"), std::string::npos) << r.body;
    EXPECT_TRUE(eventually([&] {  // Gemini's own wording is in the server log
      return gw.process().output().find("API key not valid") != std::string::npos;
    }));
    EXPECT_EQ(r.header("x-tollgate-attempts"), "1") << "a refused key is not retried";
  }
  mock.reset();
  Gateway gw(gemini_config(mock, "    api_keys: [bad-key, good-key]\n"));
  for (int i = 0; i < 4; ++i) {
    auto r = gw.post("/v1/chat/completions", {{"model", "flash"}, {"messages", user("hi")}});
    ASSERT_EQ(r.status, 200) << r.body;
  }
  int bad = 0;
  for (const auto& q : mock.requests()) bad += q["headers"].value("x-goog-api-key", "") == "bad-key";
  EXPECT_LE(bad, 1) << "the refused key is rested after its first failure";
}

TEST(GeminiIntegration, ToolsAndThoughtSignatureRoundTrip) {
  Mock mock;
  Gateway gw(gemini_config(mock));
  // gemini-3: the mock signs its function calls and refuses history without the signature.
  auto r = gw.post("/v1/chat/completions",
                   {{"model", "g3"}, {"messages", user("Paris")}, {"tools", weather_tools()},
                    {"tool_choice", "required"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto msg = r.json_body()["choices"][0]["message"];
  ASSERT_TRUE(msg["tool_calls"].is_array()) << r.body;
  const std::string id = msg["tool_calls"][0]["id"];
  EXPECT_NE(id.find("__ts_"), std::string::npos) << id;
  EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"),
            std::string::npos) << "ids stay in the charset every client accepts: " << id;
  json up = last_request(mock)["body"];
  EXPECT_EQ(up["toolConfig"], json({{"functionCallingConfig", {{"mode", "ANY"}}}}));
  EXPECT_FALSE(up["tools"][0]["functionDeclarations"][0]["parameters"].contains("additionalProperties"));

  auto follow_up = [&](const std::string& call_id) {
    json messages = user("Paris");
    json calls = msg["tool_calls"];
    calls[0]["id"] = call_id;
    messages.push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", calls}});
    messages.push_back({{"role", "tool"}, {"tool_call_id", call_id}, {"content", "18C and sunny"}});
    return gw.post("/v1/chat/completions",
                   {{"model", "g3"}, {"messages", messages}, {"tools", weather_tools()}});
  };
  auto ok = follow_up(id);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json_body()["choices"][0]["message"]["content"], "mock: tool said 18C and sunny");
  json replay = last_request(mock)["body"]["contents"][1]["parts"][0];
  EXPECT_TRUE(replay.contains("thoughtSignature")) << replay.dump();
  EXPECT_EQ(last_request(mock)["body"]["contents"][2]["parts"][0]["functionResponse"]["name"],
            "get_weather");

  // History from elsewhere (no signature): the documented bypass value is sent.
  auto foreign = follow_up("toolu_abc");
  EXPECT_EQ(foreign.status, 200) << foreign.body;
  EXPECT_EQ(last_request(mock)["body"]["contents"][1]["parts"][0]["thoughtSignature"],
            "skip_thought_signature_validator");

  // A signature damaged on the way is Gemini's 400, passed to the client.
  std::string damaged = id.substr(0, id.size() - 2) + (id.back() == 'A' ? "BB" : "AA");
  auto bad = follow_up(damaged);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("thought signature"), std::string::npos) << bad.body;

  // Streamed tool call: one complete delta with id, name and arguments.
  auto s = gw.post("/v1/chat/completions", {{"model", "flash"}, {"messages", user("Lyon")},
                                            {"tools", weather_tools()}, {"stream", true}});
  ASSERT_EQ(s.status, 200) << s.body;
  auto st = parse_stream(s.body);
  ASSERT_EQ(st.tool_calls.size(), 1u) << s.body;
  EXPECT_EQ(st.tool_calls[0]["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(st.tool_calls[0]["function"]["arguments"].get<std::string>()),
            json({{"echo", "Lyon"}}));
  EXPECT_EQ(st.finish, "tool_calls");
}

TEST(GeminiIntegration, ReasoningEffortGivesReasoningContentAndTokens) {
  Mock mock;
  Gateway gw(gemini_config(mock));
  json body = {{"model", "flash"}, {"messages", user("think hard")}, {"reasoning_effort", "low"}};
  auto r = gw.post("/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json_body();
  EXPECT_EQ(j["choices"][0]["message"]["content"], "mock: think hard");
  EXPECT_EQ(j["choices"][0]["message"]["reasoning_content"], "Thinking about: think hard");
  const int reasoning = j["usage"]["completion_tokens_details"]["reasoning_tokens"];
  EXPECT_GT(reasoning, 0);
  EXPECT_GT(j["usage"]["completion_tokens"].get<int>(), reasoning) << "reasoning is included";
  EXPECT_EQ(last_request(mock)["body"]["generationConfig"]["thinkingConfig"],
            json({{"thinkingBudget", 1024}, {"includeThoughts", true}}));

  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  auto s = gw.post("/v1/chat/completions", body);
  ASSERT_EQ(s.status, 200) << s.body;
  auto st = parse_stream(s.body);
  EXPECT_EQ(st.reasoning, "Thinking about: think hard");
  EXPECT_EQ(st.content, "mock: think hard");
  EXPECT_EQ(st.usage["completion_tokens_details"]["reasoning_tokens"], reasoning);
}

TEST(GeminiIntegration, BlockedPromptAndMaxTokens) {
  Mock mock;
  Gateway gw(gemini_config(mock));
  auto r = gw.post("/v1/chat/completions", {{"model", "flash"}, {"messages", user("BLOCKME now")}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["choices"][0]["finish_reason"], "content_filter");
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], "");
  auto s = gw.post("/v1/chat/completions",
                   {{"model", "flash"}, {"messages", user("BLOCKME")}, {"stream", true}});
  ASSERT_EQ(s.status, 200) << s.body;
  auto st = parse_stream(s.body);
  EXPECT_EQ(st.finish, "content_filter");
  EXPECT_TRUE(st.done) << "a blocked prompt is a finished stream: " << s.body;

  auto cut = gw.post("/v1/chat/completions",
                     {{"model", "flash"}, {"messages", user("a long answer")}, {"max_tokens", 3}});
  ASSERT_EQ(cut.status, 200) << cut.body;
  EXPECT_EQ(cut.json_body()["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(cut.json_body()["usage"]["completion_tokens"], 3);
}

TEST(GeminiIntegration, GeminiErrorsMapToOpenAiErrors) {
  Mock mock;
  Gateway gw(gemini_config(mock, "    api_key: up-key\n",
                           "  - name: longctx\n    targets: [g/gemini-2.5-flash]\n"
                           "    context_window_fallbacks: [g/gemini-2.5-pro]\n"
                           "  - name: missing\n    targets: [g/missing-model]\n"
                           "  - name: strict\n    targets: [g/gemini-2.5-flash]\n    strict: true\n"));
  // 429 with only a RetryInfo (no Retry-After header): retried after its delay, then succeeds.
  mock.add_fault({{"status", 429}, {"retry_after_ms", 200}});
  auto start = std::chrono::steady_clock::now();
  auto r = gw.post("/v1/chat/completions", {{"model", "flash"}, {"messages", user("x")}});
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tollgate-attempts"), "2");
  EXPECT_GE(took, std::chrono::milliseconds(190)) << "RetryInfo.retryDelay is honoured";

  // Unknown model: Gemini's 404 NOT_FOUND -> 404 model_not_found.
  auto nf = gw.post("/v1/chat/completions", {{"model", "missing"}, {"messages", user("x")}});
  EXPECT_EQ(nf.status, 404) << nf.body;
  EXPECT_EQ(nf.json_body()["error"]["code"], "model_not_found");
  EXPECT_NE(nf.body.find("models/missing-model is not found"), std::string::npos);

  // "exceeds the maximum number of tokens": the context-window fallback is used.
  mock.reset();
  mock.add_fault({{"status", 400},
                  {"message", "The input token count (2000000) exceeds the maximum number of "
                              "tokens allowed (1048576)."},
                  {"match_model", "gemini-2.5-flash"}});
  auto cw = gw.post("/v1/chat/completions", {{"model", "longctx"}, {"messages", user("x")}});
  EXPECT_EQ(cw.status, 200) << cw.body;
  EXPECT_EQ(cw.json_body()["model"], "gemini-2.5-pro");

  // A Gemini in-stream error after the first events ends the stream with an OpenAI error event.
  mock.reset();
  mock.add_fault({{"mode", "error_mid_stream"}, {"after_events", 2}});
  auto mid = gw.post("/v1/chat/completions",
                     {{"model", "flash"}, {"messages", user("one two three four")}, {"stream", true}});
  ASSERT_EQ(mid.status, 200);
  auto data = sse_data(mid.body);
  ASSERT_FALSE(data.empty());
  auto last = json::parse(data.back(), nullptr, false);
  EXPECT_NE(last["error"]["message"].get<std::string>().find("mock mid-stream error"),
            std::string::npos) << mid.body;

  // A stream cut before any finishReason is not a success.
  mock.reset();
  mock.add_fault({{"mode", "drop_mid_stream"}, {"after_events", 2}});
  auto dropped = gw.post("/v1/chat/completions",
                         {{"model", "flash"}, {"messages", user("one two three four")}, {"stream", true}});
  auto dd = sse_data(dropped.body);
  ASSERT_FALSE(dd.empty());
  EXPECT_NE(dd.back(), "[DONE]");
  EXPECT_TRUE(json::parse(dd.back(), nullptr, false).contains("error"));

  // strict: a parameter Gemini cannot take is refused instead of dropped.
  auto strict = gw.post("/v1/chat/completions",
                        {{"model", "strict"}, {"messages", user("x")}, {"logit_bias", {{"1", 2}}}});
  EXPECT_EQ(strict.status, 400) << strict.body;
  EXPECT_EQ(strict.json_body()["error"]["param"], "logit_bias");
}

TEST(GeminiIntegration, Embeddings) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(gemini_config(mock));
  auto r = gw.post("/v1/embeddings", {{"model", "emb"}, {"input", {"hello world", "bye"}},
                                      {"dimensions", 16}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json_body();
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][1]["index"], 1);
  EXPECT_EQ(j["data"][0]["embedding"].size(), 16u);
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 0);
  json up = last_request(mock);
  EXPECT_EQ(up["path"], "/v1beta/models/gemini-embedding-001:batchEmbedContents");
  EXPECT_EQ(up["body"]["requests"][0]["outputDimensionality"], 16);
  // The same text always gives the same vector.
  auto again = gw.post("/v1/embeddings", {{"model", "emb"}, {"input", "hello world"}, {"dimensions", 16}});
  EXPECT_EQ(again.json_body()["data"][0]["embedding"], j["data"][0]["embedding"]);
}

// ---- the mock's Gemini wire format, directly ----------------------------------------------

TEST(GeminiMock, FramingsAuthAndEndpoints) {
  Mock mock({"--api-key", "k1"});
  const std::string gen =
      R"({"contents":[{"role":"user","parts":[{"text":"hi there"}]}]})";
  // ?key= works as well as the header; a missing key is a 403, a wrong one a 400 API_KEY_INVALID.
  auto q = http(mock.port(), "POST", "/v1beta/models/gemini-2.5-flash:generateContent?key=k1", gen);
  EXPECT_EQ(q.status, 200) << q.body;
  EXPECT_EQ(q.json_body()["candidates"][0]["content"]["parts"][0]["text"], "mock: hi there");
  auto none = http(mock.port(), "POST", "/v1beta/models/gemini-2.5-flash:generateContent", gen);
  EXPECT_EQ(none.status, 403);
  EXPECT_EQ(none.json_body()["error"]["status"], "PERMISSION_DENIED");
  auto wrong = http(mock.port(), "POST", "/v1beta/models/gemini-2.5-flash:generateContent", gen,
                    {{"x-goog-api-key", "nope"}});
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.json_body()["error"]["details"][0]["reason"], "API_KEY_INVALID");

  const Headers key = {{"x-goog-api-key", "k1"}};
  // SSE: CRLF-terminated events, no [DONE].
  auto sse = http(mock.port(), "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                  gen, key);
  EXPECT_EQ(sse.status, 200);
  EXPECT_EQ(sse.header("content-type"), "text/event-stream");
  EXPECT_NE(sse.body.find("}\r\n\r\ndata: "), std::string::npos);
  EXPECT_EQ(sse.body.find("[DONE]"), std::string::npos);
  std::string text;
  for (const auto& d : sse_data(sse.body)) {
    auto j = json::parse(d);
    text += j["candidates"][0]["content"]["parts"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, "mock: hi there");
  // Without alt=sse: one JSON array, streamed.
  auto arr = http(mock.port(), "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                  gen, key);
  EXPECT_EQ(arr.status, 200);
  auto aj = json::parse(arr.body, nullptr, false);
  ASSERT_TRUE(aj.is_array()) << arr.body;
  EXPECT_EQ(aj.back()["candidates"][0]["finishReason"], "STOP");

  // Validation like the real service: unknown fields and OpenAI-isms are refused.
  auto unknown = http(mock.port(), "POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                      R"({"contents":[{"role":"user","parts":[{"text":"x"}]}],"temperature":1})", key);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("Unknown name \\\"temperature\\\""), std::string::npos) << unknown.body;
  auto role = http(mock.port(), "POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                   R"({"contents":[{"role":"assistant","parts":[{"text":"x"}]}]})", key);
  EXPECT_EQ(role.status, 400);
  auto schema = http(mock.port(), "POST", "/v1beta/models/gemini-2.5-flash:generateContent",
                     R"({"contents":[{"role":"user","parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}}]}]})",
                     key);
  EXPECT_EQ(schema.status, 400);
  EXPECT_NE(schema.body.find("additionalProperties"), std::string::npos);

  // countTokens, embedContent, batchEmbedContents, models.
  auto ct = http(mock.port(), "POST", "/v1beta/models/gemini-2.5-flash:countTokens", gen, key);
  EXPECT_EQ(ct.json_body()["totalTokens"], 2);
  auto ec = http(mock.port(), "POST", "/v1beta/models/gemini-embedding-001:embedContent",
                 R"({"content":{"parts":[{"text":"a b"}]},"outputDimensionality":4})", key);
  EXPECT_EQ(ec.json_body()["embedding"]["values"].size(), 4u) << ec.body;
  auto be = http(mock.port(), "POST", "/v1beta/models/gemini-embedding-001:batchEmbedContents",
                 R"({"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a b"}]},"outputDimensionality":4}]})",
                 key);
  ASSERT_EQ(be.status, 200) << be.body;
  EXPECT_EQ(be.json_body()["embeddings"][0]["values"], ec.json_body()["embedding"]["values"]);
  auto models = http(mock.port(), "GET", "/v1beta/models", "", key);
  EXPECT_EQ(models.json_body()["models"][0]["name"], "models/gemini-2.5-flash");

  // Faults speak Gemini: 429 RESOURCE_EXHAUSTED with RetryInfo.
  mock.add_fault({{"status", 429}, {"retry_after", 7}});
  auto limited = http(mock.port(), "POST", "/v1beta/models/gemini-2.5-flash:generateContent", gen, key);
  EXPECT_EQ(limited.status, 429);
  auto lj = limited.json_body();
  EXPECT_EQ(lj["error"]["status"], "RESOURCE_EXHAUSTED");
  bool retry_info = false;
  for (const auto& d : lj["error"]["details"]) {
    if (d["@type"] == "type.googleapis.com/google.rpc.RetryInfo") retry_info = d["retryDelay"] == "7s";
  }
  EXPECT_TRUE(retry_info) << limited.body;
  // The OpenAI paths are still OpenAI.
  auto oa = http(mock.port(), "GET", "/v1/models", "", {{"authorization", "Bearer k1"}});
  EXPECT_EQ(oa.json_body()["object"], "list");
}

}  // namespace
}  // namespace tg::it
