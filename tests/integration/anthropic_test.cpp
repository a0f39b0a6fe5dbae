// The Anthropic adapter through the real daemon and tollgate-mock's Anthropic Messages API:
// the upstream request as the mock recorded it, auth, reasoning, JSON mode, finish reasons,
// Anthropic's own errors (529, 429, 401, "prompt is too long"), strict mode; and the mock's
// Anthropic wire format itself (provider-formats.md section 10).

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

json user(const std::string& text) { return json::array({{{"role", "user"}, {"content", text}}}); }

json weather_tools() {
  return json::array({{{"type", "function"},
                       {"function",
                        {{"name", "get_weather"},
                         {"description", "Weather for a city"},
                         {"parameters",
                          {{"type", "object"},
                           {"properties", {{"city", {{"type", "string"}}}}},
                           {"required", {"city"}}}}}}}});
}

struct Streamed {
  std::string content, reasoning, finish;
  json tool_calls = json::array();
  json thinking_blocks = json::array();
  json usage;
  std::vector<std::string> data;
};

Streamed parse_stream(const std::string& body) {
  Streamed s;
  s.data = sse_data(body);
  std::map<int, json> calls;
  for (const auto& d : s.data) {
    auto j = json::parse(d, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("usage") && j["usage"].is_object()) s.usage = j["usage"];
    if (!j.contains("choices")) continue;
    for (const auto& c : j["choices"]) {
      const auto& delta = c["delta"];
      if (delta.contains("content") && delta["content"].is_string())
        s.content += delta["content"].get<std::string>();
      if (delta.contains("reasoning_content"))
        s.reasoning += delta["reasoning_content"].get<std::string>();
      if (delta.contains("thinking_blocks")) {
        for (const auto& b : delta["thinking_blocks"]) s.thinking_blocks.push_back(b);
      }
      if (delta.contains("tool_calls")) {
        for (const auto& tc : delta["tool_calls"]) {
          json& call = calls[tc.value("index", 0)];
          if (tc.contains("id")) call["id"] = tc["id"];
          if (tc.contains("function") && tc["function"].contains("name"))
            call["name"] = tc["function"]["name"];
          if (tc.contains("function") && tc["function"].contains("arguments")) {
            call["arguments"] =
                call.value("arguments", "") + tc["function"]["arguments"].get<std::string>();
          }
        }
      }
      if (c.contains("finish_reason") && c["finish_reason"].is_string())
        s.finish = c["finish_reason"];
    }
  }
  for (auto& [i, c] : calls) s.tool_calls.push_back(c);
  return s;
}

class AnthropicIT : public ::testing::Test {
 protected:
  void SetUp() override {
    mock_ = std::make_unique<Mock>(std::vector<std::string>{"--api-key", "up-key"});
    root_ = "http://127.0.0.1:" + std::to_string(mock_->port());
    gw_ = std::make_unique<Gateway>(
        "server:\n  master_key: sk-test-master\n  workers: 1\n"
        "router:\n  retries: 1\n  allowed_fails: 100\n"
        "providers:\n"
        "  claude:\n    type: anthropic\n    base_url: " +
        root_ +
        "\n    api_key: up-key\n"
        "  wrongkey:\n    type: anthropic\n    base_url: " +
        root_ +
        "\n    api_key: not-the-key\n"
        "  oai:\n    type: openai\n    base_url: " +
        root_ +
        "/v1\n    api_key: up-key\n"
        "models:\n"
        "  - name: claude\n    targets: [claude/claude-sonnet-4-5]\n"
        "  - name: claude-small\n    targets: [claude/claude-small]\n"
        "    context_window_fallbacks: [oai/gpt-4o-mini]\n"
        "  - name: claude-strict\n    targets: [claude/claude-sonnet-4-5]\n    strict: true\n"
        "  - name: claude-wrongkey\n    targets: [wrongkey/claude-sonnet-4-5]\n");
  }
  json chat(const json& messages, json extra = json::object(),
            const std::string& model = "claude") {
    json body = {{"model", model}, {"messages", messages}};
    for (auto& [k, v] : extra.items()) body[k] = v;
    return body;
  }
  json last_upstream() {
    json all = mock_->requests();
    EXPECT_TRUE(all.is_array() && !all.empty());
    return all.is_array() && !all.empty() ? all.back() : json();
  }
  HttpResponse mock_post(const std::string& path, const json& body, Headers headers) {
    return http(mock_->port(), "POST", path, body.dump(), headers);
  }

  std::unique_ptr<Mock> mock_;
  std::unique_ptr<Gateway> gw_;
  std::string root_;
};

TEST_F(AnthropicIT, UpstreamRequestShapeAndAuth) {
  json messages = json::array({{{"role", "system"}, {"content", "Be terse."}},
                               {{"role", "user"}, {"content", "first"}},
                               {{"role", "user"}, {"content", "second"}},
                               {{"role", "assistant"}, {"content", "mock: first"}},
                               {{"role", "user"}, {"content", "Hello there ✓"}}});
  auto r = gw_->post("/v1/chat/completions", chat(messages, {{"temperature", 0.5},
                                                             {"stop", "ZZZ"},
                                                             {"user", "u-1"},
                                                             {"max_completion_tokens", 300}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json_body();
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "claude-sonnet-4-5");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "mock: Hello there ✓");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["id"].get<std::string>().rfind("msg_mock_", 0), 0u);
  EXPECT_EQ(r.header("x-tollgate-provider"), "claude");

  json up = last_upstream();
  EXPECT_EQ(up["path"], "/v1/messages");
  EXPECT_EQ(up["headers"]["x-api-key"], "up-key");
  EXPECT_EQ(up["headers"]["anthropic-version"], "2023-06-01");
  EXPECT_FALSE(up["headers"].contains("authorization"));
  json expected = {
      {"model", "claude-sonnet-4-5"},
      {"system", json::array({{{"type", "text"}, {"text", "Be terse."}}})},
      {"messages",
       json::array({{{"role", "user"},
                     {"content", json::array({{{"type", "text"}, {"text", "first"}},
                                              {{"type", "text"}, {"text", "second"}}})}},
                    {{"role", "assistant"},
                     {"content", json::array({{{"type", "text"}, {"text", "mock: first"}}})}},
                    {{"role", "user"},
                     {"content", json::array({{{"type", "text"}, {"text", "Hello there ✓"}}})}}})},
      {"max_tokens", 300},
      {"temperature", 0.5},
      {"stop_sequences", json::array({"ZZZ"})},
      {"metadata", {{"user_id", "u-1"}}}};
  EXPECT_EQ(up["body"], expected) << up["body"].dump();
  // usage: words of all texts (Be terse. first second mock: first Hello there ✓ = 9)
  EXPECT_EQ(j["usage"]["prompt_tokens"], 9);
  EXPECT_GT(j["usage"]["completion_tokens"].get<int>(), 0);

  // A provider with the wrong key: Anthropic's 401 (authentication_error) from the mock.
  auto denied = gw_->post("/v1/chat/completions", chat(user("x"), {}, "claude-wrongkey"));
  EXPECT_EQ(denied.status, 502) << denied.body;
  // In Tollgate's words (the provider's own can echo part of the key); its text is in the log.
  EXPECT_NE(denied.body.find("provider 'wrongkey' refused Tollgate's credentials (401)"),
            std::string::npos)
      << denied.body;
  EXPECT_EQ(denied.body.find("invalid x-api-key"), std::string::npos) << denied.body;
}

// Claude Code sends anthropic-beta flags to /v1/messages: an Anthropic target receives them.
TEST_F(AnthropicIT, ClientBetaHeaderReachesTheAnthropicTarget) {
  json body = {{"model", "claude"},
               {"max_tokens", 64},
               {"messages", json::array({{{"role", "user"}, {"content", "beta please"}}})}};
  auto r = http(gw_->port(), "POST", "/v1/messages", body.dump(),
                {{"x-api-key", "sk-test-master"},
                 {"anthropic-version", "2023-06-01"},
                 {"anthropic-beta", "interleaved-thinking-2025-05-14"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(last_upstream()["headers"]["anthropic-beta"], "interleaved-thinking-2025-05-14");
  auto plain = gw_->post("/v1/chat/completions",
                         chat(json::array({{{"role", "user"}, {"content", "no beta"}}})));
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_FALSE(last_upstream()["headers"].contains("anthropic-beta"));
}

// count_tokens for a model served by Anthropic asks Anthropic (an exact count); for any other
// model it is Tollgate's estimate. The header says which.
TEST_F(AnthropicIT, CountTokensIsExactForAnthropicTargets) {
  json body = {{"model", "claude"},
               {"system", "one two three"},
               {"messages", json::array({{{"role", "user"}, {"content", "four five six seven"}}})}};
  const Headers h = {{"x-api-key", "sk-test-master"}, {"anthropic-version", "2023-06-01"}};
  auto r = http(gw_->port(), "POST", "/v1/messages/count_tokens", body.dump(), h);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tollgate-count"), "exact");
  EXPECT_EQ(r.json_body()["input_tokens"], 7);  // the mock counts words: 3 + 4
  json up = last_upstream();
  EXPECT_EQ(up["path"], "/v1/messages/count_tokens");
  EXPECT_EQ(up["body"]["model"], "claude-sonnet-4-5");
  EXPECT_EQ(up["headers"]["x-api-key"], "up-key");
  // A model without an Anthropic target: the estimate, no upstream call.
  const size_t calls = mock_->requests().size();
  body["model"] = "oai/gpt-4o-mini";
  auto est = http(gw_->port(), "POST", "/v1/messages/count_tokens", body.dump(), h);
  ASSERT_EQ(est.status, 200) << est.body;
  EXPECT_EQ(est.header("x-tollgate-count"), "estimate");
  EXPECT_GT(est.json_body()["input_tokens"].get<int>(), 0);
  EXPECT_EQ(mock_->requests().size(), calls);
}

TEST_F(AnthropicIT, ReasoningRoundTripWithToolsStreamedAndNot) {
  auto r =
      gw_->post("/v1/chat/completions",
                chat(user("Paris"), {{"tools", weather_tools()}, {"reasoning_effort", "low"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  json up = last_upstream()["body"];
  EXPECT_EQ(up["thinking"], json({{"type", "enabled"}, {"budget_tokens", 1024}}));
  EXPECT_EQ(up["max_tokens"], 1024 + 4096);
  auto msg = r.json_body()["choices"][0]["message"];
  EXPECT_EQ(msg["reasoning_content"], "mock thinking");
  ASSERT_EQ(msg["thinking_blocks"].size(), 1u) << msg.dump();
  EXPECT_EQ(msg["thinking_blocks"][0]["signature"].get<std::string>().rfind("mock-signature-", 0),
            0u);
  EXPECT_EQ(r.json_body()["choices"][0]["finish_reason"], "tool_calls");
  ASSERT_EQ(msg["tool_calls"].size(), 1u);
  EXPECT_EQ(msg["tool_calls"][0]["id"].get<std::string>().rfind("toolu_mock_", 0), 0u);
  EXPECT_EQ(json::parse(msg["tool_calls"][0]["function"]["arguments"].get<std::string>()),
            json({{"echo", "Paris"}}));

  // Turn 2: the client appends the assistant message as received (signed thinking included)
  // and the tool result. The mock refuses unsigned thinking and unanswered tool uses.
  json messages = user("Paris");
  messages.push_back(msg);
  messages.push_back(
      {{"role", "tool"}, {"tool_call_id", msg["tool_calls"][0]["id"]}, {"content", "18C"}});
  auto r2 = gw_->post(
      "/v1/chat/completions",
      chat(messages, {{"tools", weather_tools()}, {"reasoning_effort", "low"}, {"stream", true}}));
  ASSERT_EQ(r2.status, 200) << r2.body;
  auto s = parse_stream(r2.body);
  EXPECT_EQ(s.content, "mock: tool said 18C");
  EXPECT_EQ(s.reasoning, "mock thinking");
  ASSERT_EQ(s.thinking_blocks.size(), 1u);
  EXPECT_FALSE(s.thinking_blocks[0]["signature"].get<std::string>().empty());
  EXPECT_EQ(s.finish, "stop");
  EXPECT_EQ(s.data.back(), "[DONE]");
  json up2 = last_upstream()["body"];
  EXPECT_EQ(up2["messages"][1]["content"][0]["type"], "thinking")
      << "signed thinking goes back first";
  EXPECT_EQ(up2["messages"][1]["content"][0]["signature"], msg["thinking_blocks"][0]["signature"]);
  EXPECT_EQ(up2["messages"][2]["content"][0]["tool_use_id"], msg["tool_calls"][0]["id"]);
  EXPECT_EQ(up2["stream"], true);
}

TEST_F(AnthropicIT, StreamedToolCallAndUsage) {
  auto r = gw_->post("/v1/chat/completions",
                     chat(user("Lyon"), {{"tools", weather_tools()},
                                         {"stream", true},
                                         {"stream_options", {{"include_usage", true}}}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto s = parse_stream(r.body);
  ASSERT_EQ(s.tool_calls.size(), 1u) << r.body;
  EXPECT_EQ(s.tool_calls[0]["name"], "get_weather");
  EXPECT_EQ(json::parse(s.tool_calls[0]["arguments"].get<std::string>()), json({{"echo", "Lyon"}}));
  EXPECT_EQ(s.finish, "tool_calls");
  ASSERT_TRUE(s.usage.is_object());
  // {"echo": "Lyon"} is 16 code points: 16 pieces (the mock's default is up to 20).
  EXPECT_EQ(s.usage["completion_tokens"], 16);
  EXPECT_EQ(s.usage["prompt_tokens"], 1);
  EXPECT_EQ(s.usage["total_tokens"], 17);
}

TEST_F(AnthropicIT, FinishReasonsLengthAndStopSequence) {
  auto cut = gw_->post("/v1/chat/completions", chat(user("one two three"), {{"max_tokens", 2}}));
  ASSERT_EQ(cut.status, 200) << cut.body;
  EXPECT_EQ(cut.json_body()["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(cut.json_body()["usage"]["completion_tokens"], 2);
  auto stop = gw_->post("/v1/chat/completions",
                        chat(user("hello world"), {{"stop", json::array({"wor"})}}));
  ASSERT_EQ(stop.status, 200) << stop.body;
  EXPECT_EQ(stop.json_body()["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(stop.json_body()["choices"][0]["message"]["content"], "mock: hello ");
  auto streamed = gw_->post("/v1/chat/completions",
                            chat(user("one two three"), {{"max_tokens", 3}, {"stream", true}}));
  EXPECT_EQ(parse_stream(streamed.body).finish, "length");
}

TEST_F(AnthropicIT, JsonModeAndJsonSchema) {
  auto r = gw_->post("/v1/chat/completions",
                     chat(user("give json"), {{"response_format", {{"type", "json_object"}}}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto choice = r.json_body()["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "stop");
  EXPECT_FALSE(choice["message"].contains("tool_calls"));
  EXPECT_EQ(json::parse(choice["message"]["content"].get<std::string>()),
            json({{"echo", "give json"}}));
  auto s = gw_->post(
      "/v1/chat/completions",
      chat(user("give json"), {{"response_format", {{"type", "json_object"}}}, {"stream", true}}));
  auto st = parse_stream(s.body);
  EXPECT_EQ(json::parse(st.content), json({{"echo", "give json"}})) << s.body;
  EXPECT_TRUE(st.tool_calls.empty());
  EXPECT_EQ(st.finish, "stop");
  json schema = {{"type", "object"}, {"properties", {{"a", {{"type", "string"}}}}}};
  auto js = gw_->post(
      "/v1/chat/completions",
      chat(user("x"),
           {{"response_format",
             {{"type", "json_schema"}, {"json_schema", {{"name", "n"}, {"schema", schema}}}}}}));
  ASSERT_EQ(js.status, 200) << js.body;
  EXPECT_EQ(last_upstream()["body"]["output_config"],
            json({{"format", {{"type", "json_schema"}, {"schema", schema}}}}));
}

TEST_F(AnthropicIT, AnthropicErrors) {
  // 529 overloaded: retried, then served.
  mock_->add_fault({{"status", 529}});
  auto once = gw_->post("/v1/chat/completions", chat(user("after 529")));
  EXPECT_EQ(once.status, 200) << once.body;
  EXPECT_EQ(once.header("x-tollgate-attempts"), "2");
  // 529 on every try: the gateway's 502 naming the overload.
  mock_->reset();
  mock_->add_fault({{"status", 529}, {"count", 2}});
  auto down = gw_->post("/v1/chat/completions", chat(user("x")));
  EXPECT_EQ(down.status, 502) << down.body;
  EXPECT_NE(down.body.find("answered HTTP 529 (overloaded)"), std::string::npos) << down.body;
  // 429 with retry-after: retried after it.
  mock_->reset();
  mock_->add_fault({{"status", 429}, {"retry_after", 1}});
  auto t0 = std::chrono::steady_clock::now();
  auto limited = gw_->post("/v1/chat/completions", chat(user("after 429")));
  EXPECT_EQ(limited.status, 200) << limited.body;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900))
      << "retry-after honoured";
  // "prompt is too long": not retried, but the context-window fallback answers.
  mock_->reset();
  mock_->add_fault({{"status", 400},
                    {"match_model", "claude-small"},
                    {"message", "prompt is too long: 250000 tokens > 200000 maximum"}});
  auto ctx = gw_->post("/v1/chat/completions", chat(user("long one"), {}, "claude-small"));
  EXPECT_EQ(ctx.status, 200) << ctx.body;
  EXPECT_EQ(ctx.header("x-tollgate-provider"), "oai");
  EXPECT_EQ(ctx.json_body()["choices"][0]["message"]["content"], "mock: long one");
  // Another 400 is the client's: passed through, Anthropic's message kept, provider named.
  mock_->reset();
  mock_->add_fault(
      {{"status", 400}, {"message", "temperature: Input should be less than or equal to 1"}});
  auto bad = gw_->post("/v1/chat/completions", chat(user("x")));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json_body()["error"]["provider"], "claude");
  EXPECT_NE(
      bad.json_body()["error"]["message"].get<std::string>().find("temperature: Input should be"),
      std::string::npos);
  // An error event mid-stream: the stream ends with an error event and no [DONE].
  mock_->reset();
  mock_->add_fault({{"mode", "error_mid_stream"}, {"after_events", 4}});
  auto mid =
      gw_->post("/v1/chat/completions", chat(user("one two three four"), {{"stream", true}}));
  ASSERT_EQ(mid.status, 200);
  auto data = sse_data(mid.body);
  ASSERT_FALSE(data.empty());
  EXPECT_NE(data.back(), "[DONE]");
  auto last = json::parse(data.back(), nullptr, false);
  EXPECT_EQ(last["error"]["message"], "Overloaded") << mid.body;
  // A malformed first event: the next try answers.
  mock_->reset();
  mock_->add_fault({{"mode", "malformed"}});
  auto mal = gw_->post("/v1/chat/completions", chat(user("recover"), {{"stream", true}}));
  EXPECT_EQ(mal.status, 200);
  EXPECT_EQ(parse_stream(mal.body).content, "mock: recover");
  // Cut mid-stream (no message_stop): an error event, never a silent success.
  mock_->reset();
  mock_->add_fault({{"mode", "drop_mid_stream"}, {"after_events", 4}});
  auto dropped =
      gw_->post("/v1/chat/completions", chat(user("one two three four"), {{"stream", true}}));
  auto dd = sse_data(dropped.body);
  ASSERT_FALSE(dd.empty());
  EXPECT_TRUE(json::parse(dd.back(), nullptr, false).contains("error")) << dropped.body;
}

TEST_F(AnthropicIT, StrictModelRefusesWhatAnthropicCannotTake) {
  auto strict =
      gw_->post("/v1/chat/completions", chat(user("x"), {{"logprobs", true}}, "claude-strict"));
  EXPECT_EQ(strict.status, 400) << strict.body;
  EXPECT_EQ(strict.json_body()["error"]["code"], "unsupported_parameter");
  EXPECT_EQ(strict.json_body()["error"]["param"], "logprobs");
  auto lenient = gw_->post("/v1/chat/completions", chat(user("x"), {{"logprobs", true}}));
  EXPECT_EQ(lenient.status, 200) << lenient.body;
  EXPECT_FALSE(last_upstream()["body"].contains("logprobs"));
  auto metrics = gw_->get("/metrics");
  EXPECT_NE(metrics.body.find("logprobs"), std::string::npos) << "dropped parameters are counted";
}

// ---------------------------------------------------------------------------------------------
// The mock's Anthropic wire format (what the adapter is tested against must be faithful).

TEST_F(AnthropicIT, MockSpeaksAnthropic) {
  Headers ok = {{"x-api-key", "up-key"}, {"anthropic-version", "2023-06-01"}};
  json body = {{"model", "claude-x"}, {"max_tokens", 50}, {"messages", user("hi")}};
  auto r = mock_post("/v1/messages", body, ok);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json_body();
  EXPECT_EQ(j["type"], "message");
  EXPECT_EQ(j["content"], json::array({{{"type", "text"}, {"text", "mock: hi"}}}));
  EXPECT_EQ(j["stop_reason"], "end_turn");
  EXPECT_TRUE(j["stop_sequence"].is_null());
  EXPECT_EQ(j["usage"]["input_tokens"], 1);
  EXPECT_TRUE(j["usage"].contains("cache_read_input_tokens"));
  EXPECT_FALSE(r.header("request-id").empty());
  EXPECT_FALSE(r.header("anthropic-ratelimit-requests-remaining").empty());

  // Auth: Bearer (newer SDKs) works; missing or wrong keys are Anthropic-shaped 401s.
  auto bearer =
      mock_post("/v1/messages", body,
                {{"authorization", "Bearer up-key"}, {"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(bearer.status, 200);
  auto nokey = mock_post("/v1/messages", body, {{"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(nokey.status, 401);
  EXPECT_EQ(nokey.json_body()["type"], "error");
  EXPECT_EQ(nokey.json_body()["error"]["type"], "authentication_error");
  auto wrong =
      mock_post("/v1/messages", body, {{"x-api-key", "nope"}, {"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(wrong.json_body()["error"]["message"], "invalid x-api-key");
  // Required header and field.
  auto noversion = mock_post("/v1/messages", body, {{"x-api-key", "up-key"}});
  EXPECT_EQ(noversion.status, 400);
  json no_max = body;
  no_max.erase("max_tokens");
  auto nomax = mock_post("/v1/messages", no_max, ok);
  EXPECT_EQ(nomax.status, 400);
  EXPECT_EQ(nomax.json_body()["error"],
            json({{"type", "invalid_request_error"}, {"message", "max_tokens: Field required"}}));
  // Tool pairing is validated.
  json orphan = body;
  orphan["tools"] = json::array({{{"name", "f"}, {"input_schema", {{"type", "object"}}}}});
  orphan["messages"] = json::array(
      {{{"role", "user"},
        {"content",
         json::array({{{"type", "tool_result"}, {"tool_use_id", "toolu_x"}, {"content", "r"}}})}}});
  EXPECT_EQ(mock_post("/v1/messages", orphan, ok).status, 400);
  json bad_id = body;
  bad_id["tools"] = orphan["tools"];
  bad_id["messages"] = json::array(
      {{{"role", "user"}, {"content", "q"}},
       {{"role", "assistant"},
        {"content", json::array({{{"type", "tool_use"},
                                  {"id", "call|1"},
                                  {"name", "f"},
                                  {"input", json::object()}}})}},
       {{"role", "user"},
        {"content",
         json::array({{{"type", "tool_result"}, {"tool_use_id", "call|1"}, {"content", "r"}}})}}});
  EXPECT_EQ(mock_post("/v1/messages", bad_id, ok).status, 400);
  // count_tokens
  auto count = mock_post("/v1/messages/count_tokens",
                         {{"model", "claude-x"}, {"messages", user("a b c")}}, ok);
  EXPECT_EQ(count.status, 200);
  EXPECT_EQ(count.json_body(), json({{"input_tokens", 3}}));

  // A streamed tool call: named events, a ping, an empty first input_json_delta, cumulative
  // usage in message_delta, no [DONE].
  json tools_body = body;
  tools_body["stream"] = true;
  tools_body["tools"] = orphan["tools"];
  auto s =
      http(mock_->port(), "POST", "/v1/messages", tools_body.dump(),
           {{"x-api-key", "up-key"}, {"anthropic-version", "2023-06-01"}, {"x-mock-events", "5"}});
  ASSERT_EQ(s.status, 200);
  EXPECT_NE(s.header("content-type").find("text/event-stream"), std::string::npos);
  EXPECT_EQ(s.body.find("[DONE]"), std::string::npos);
  EXPECT_NE(s.body.find("event: ping\n"), std::string::npos);
  std::vector<std::string> names;
  std::string args;
  bool first_fragment_empty = false;
  json final_usage;
  size_t pos = 0;
  while ((pos = s.body.find("event: ", pos)) != std::string::npos) {
    size_t nl = s.body.find('\n', pos);
    names.push_back(s.body.substr(pos + 7, nl - pos - 7));
    pos = nl;
  }
  auto datas = sse_data(s.body);
  ASSERT_EQ(datas.size(), names.size());
  for (size_t i = 0; i < datas.size(); ++i) {
    auto d = json::parse(datas[i]);
    EXPECT_EQ(d["type"], names[i]);
    if (names[i] == "content_block_delta" && d["delta"]["type"] == "input_json_delta") {
      if (args.empty() && !first_fragment_empty)
        first_fragment_empty = d["delta"]["partial_json"] == "";
      args += d["delta"]["partial_json"].get<std::string>();
    }
    if (names[i] == "message_delta") final_usage = d["usage"];
  }
  EXPECT_EQ(names.front(), "message_start");
  EXPECT_EQ(names.back(), "message_stop");
  EXPECT_TRUE(first_fragment_empty);
  EXPECT_EQ(json::parse(args), json({{"echo", "hi"}}));
  EXPECT_EQ(final_usage["output_tokens"], 5);
  EXPECT_EQ(final_usage["input_tokens"], 1);

  // Faults in Anthropic's format.
  mock_->add_fault({{"status", 429}});
  auto rl = mock_post("/v1/messages", body, ok);
  EXPECT_EQ(rl.status, 429);
  EXPECT_EQ(rl.json_body()["error"]["type"], "rate_limit_error");
  EXPECT_EQ(rl.header("retry-after"), "1");
  EXPECT_EQ(rl.header("anthropic-ratelimit-requests-remaining"), "0");
  mock_->add_fault({{"status", 529}});
  auto ov = mock_post("/v1/messages", body, ok);
  EXPECT_EQ(ov.status, 529);
  EXPECT_EQ(ov.json_body()["error"],
            json({{"type", "overloaded_error"}, {"message", "Overloaded"}}));
  mock_->add_fault({{"mode", "error_mid_stream"}, {"after_events", 2}});
  json sb = body;
  sb["stream"] = true;
  auto me = mock_post("/v1/messages", sb, ok);
  EXPECT_NE(me.body.find(
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\""),
            std::string::npos)
      << me.body;
}

}  // namespace
}  // namespace tg::it
