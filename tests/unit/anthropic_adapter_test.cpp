// The Anthropic adapter against golden fixtures (tests/fixtures/anthropic/): OpenAI requests
// out, Messages responses and recorded streams in (fed split at every byte offset), errors.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../../src/providers/anthropic/anthropic_internal.hpp"
#include "tollgate/dialects/dialect.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/providers/client_json.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;

std::string fixture_path(const std::string& name) {
  return std::string(TG_SOURCE_DIR) + "/tests/fixtures/anthropic/" + name;
}

std::string read_text(const std::string& name) {
  std::ifstream f(fixture_path(name), std::ios::binary);
  EXPECT_TRUE(f.good()) << "missing fixture " << name;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

json load(const std::string& name) { return json::parse(read_text(name)); }

std::vector<std::string> fixtures(const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(fixture_path(""))) {
    std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) == 0 && n.size() > 5 && n.substr(n.size() - 5) == ".json")
      names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

const ProviderAdapter& anthropic() {
  const ProviderAdapter* a = adapter_for(config::ProviderType::Anthropic);
  EXPECT_NE(a, nullptr);
  return *a;
}

config::ProviderConfig provider_config(std::map<std::string, std::string> headers = {}) {
  config::ProviderConfig p;
  p.name = "claude";
  p.type = config::ProviderType::Anthropic;
  p.base_url = "https://api.anthropic.com";
  p.headers = std::move(headers);
  return p;
}

ClientRequest request(const json& body) {
  ClientRequest r;
  r.set_doc(&body);
  r.model = body.value("model", "");
  r.stream = body.value("stream", false);
  r.client_wants_usage =
      body.contains("stream_options") && body["stream_options"].value("include_usage", false);
  return r;
}

std::string header(const UpstreamRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

json usage_json(const Usage& u) {
  return {{"input", u.input},
          {"output", u.output},
          {"cached_read", u.cached_read},
          {"cache_write", u.cache_write},
          {"reasoning", u.reasoning}};
}

json without_created(json j) {
  if (j.is_object()) {
    EXPECT_TRUE(!j.contains("created") || j["created"].is_number_integer()) << j.dump();
    j.erase("created");
  }
  return j;
}

// The data payloads of SSE text, as JSON.
std::vector<json> sse_json(const std::string& text) {
  sse::Decoder d;
  std::vector<sse::Event> events;
  d.feed(text, events);
  EXPECT_FALSE(d.has_partial()) << "unterminated event in: " << text;
  std::vector<json> out;
  for (const auto& e : events) {
    EXPECT_TRUE(e.event.empty()) << "OpenAI chunks carry no event: field";
    out.push_back(json::parse(e.data, nullptr, false));
  }
  return out;
}

std::string_view status_name(StreamStatus s) {
  switch (s) {
    case StreamStatus::Continue:
      return "Continue";
    case StreamStatus::Done:
      return "Done";
    case StreamStatus::UpstreamError:
      return "UpstreamError";
    case StreamStatus::Malformed:
      return "Malformed";
  }
  return "?";
}

struct StreamRun {
  std::string out;
  StreamStatus status = StreamStatus::Continue;
  Usage usage;
  int64_t events_out = 0;
};

// Feeds `input` in the given pieces, stopping at the first status other than Continue, then
// on_end if the stream never finished.
StreamRun feed(StreamTranslator& t, const std::string& input, const std::vector<size_t>& cuts) {
  StreamRun run;
  size_t pos = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    run.status = t.on_bytes(std::string_view(input).substr(pos, end - pos), run.out);
    pos = end;
    if (run.status != StreamStatus::Continue) break;
  }
  if (run.status == StreamStatus::Continue) run.status = t.on_end(run.out);
  run.usage = t.usage();
  run.events_out = t.events_out();
  return run;
}

// ---------------------------------------------------------------------------------------------
// Requests

// Members of the wrong type in an answer are read as absent, never thrown on (nlohmann's
// value(key, "") throws when the member is there with another type).
TEST(AnthropicAdapter, AnswerMembersOfTheWrongTypeDoNotThrow) {
  json body = {{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  const std::string answer =
      R"({"type":"message","id":5,"model":["x"],"role":"assistant","content":[)"
      R"({"type":"text","text":"ok"},{"type":"tool_use","id":{},"name":1,"input":{}},)"
      R"({"type":"thinking","thinking":2,"signature":null}],"stop_reason":"end_turn",)"
      R"("usage":{"input_tokens":3,"output_tokens":4}})";
  providers::Response r;
  ASSERT_NO_THROW(r = anthropic().translate_response(request(body), std::string(answer)));
  ASSERT_FALSE(r.error.has_value());
  json out = json::parse(r.body);
  EXPECT_EQ(out["id"], "");
  EXPECT_EQ(out["choices"][0]["message"]["content"], "ok");
  EXPECT_EQ(out["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "");
}

TEST(AnthropicAdapter, RequestFixtures) {
  auto names = fixtures("request_");
  ASSERT_GE(names.size(), 6u);
  const auto cfg = provider_config();
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    json f = load(name);
    const json body = f["openai"];
    const json before = body;
    ClientRequest req = request(body);
    EXPECT_EQ(req.stream, f["stream"].get<bool>());
    auto up = anthropic().build_request(req, f["model"].get<std::string>(),
                                        BuildContext{cfg, "sk-ant-1", "api.anthropic.com", ""});
    json sent = json::parse(up.body, nullptr, false);
    ASSERT_TRUE(sent.is_object()) << up.body;
    EXPECT_EQ(sent, f["anthropic"])
        << "got:      " << sent.dump() << "\nexpected: " << f["anthropic"].dump();
    EXPECT_EQ(sorted(up.dropped_params), sorted(f["dropped"].get<std::vector<std::string>>()));
    EXPECT_EQ(body, before) << "the client request must not change (a failover builds again)";
    EXPECT_EQ(up.method, "POST");
    EXPECT_EQ(up.path, "/v1/messages");
    EXPECT_EQ(header(up, "x-api-key"), "sk-ant-1");
    EXPECT_EQ(header(up, "anthropic-version"), "2023-06-01");
    EXPECT_EQ(header(up, "content-type"), "application/json");
    EXPECT_EQ(header(up, "Authorization"), "<absent>");
    EXPECT_EQ(header(up, "accept"), req.stream ? "text/event-stream" : "<absent>");
  }
}

// Claude Code and the Anthropic SDKs send feature flags in anthropic-beta: they reach an
// Anthropic target, merged with the provider's configured flags, each once.
TEST(AnthropicAdapter, ClientBetaFlagsAreForwardedWithTheConfiguredOnes) {
  json body = {{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  auto cfg = provider_config({{"anthropic-beta", "context-1m-2025-08-07"}});
  ClientRequest r = request(body);
  r.anthropic_beta = "prompt-caching-2024-07-31, context-1m-2025-08-07,interleaved-thinking-2025-05-14";
  auto up = anthropic().build_request(r, "claude-x", BuildContext{cfg, "k", "api.anthropic.com", ""});
  int n = 0;
  for (const auto& [k, v] : up.headers) n += k == "anthropic-beta";
  EXPECT_EQ(n, 1);
  EXPECT_EQ(header(up, "anthropic-beta"),
            "context-1m-2025-08-07,prompt-caching-2024-07-31,interleaved-thinking-2025-05-14");
  ClientRequest plain = request(body);
  auto none = anthropic().build_request(plain, "claude-x",
                                        BuildContext{provider_config({}), "k", "api.anthropic.com", ""});
  EXPECT_EQ(header(none, "anthropic-beta"), "<absent>");
}

TEST(AnthropicAdapter, PathHeadersAndKeyless) {
  json body = {{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  auto cfg = provider_config(
      {{"anthropic-version", "2024-01-01"}, {"anthropic-beta", "context-1m-2025-08-07"}});
  auto up = anthropic().build_request(request(body), "claude-x",
                                      BuildContext{cfg, "", "gw.example", "/anthropic/v1"});
  EXPECT_EQ(up.path, "/messages") << "a base_url ending in /v1 is not doubled";
  EXPECT_EQ(header(up, "x-api-key"), "<absent>");
  int versions = 0;
  for (const auto& [k, v] : up.headers) {
    if (k == "anthropic-version") {
      ++versions;
      EXPECT_EQ(v, "2024-01-01") << "the provider's own header wins";
    }
  }
  EXPECT_EQ(versions, 1);
  EXPECT_EQ(header(up, "anthropic-beta"), "context-1m-2025-08-07");
  EXPECT_EQ(json::parse(up.body)["max_tokens"], 4096) << "Anthropic requires max_tokens";
  EXPECT_FALSE(json::parse(up.body).contains("stream"));
}

TEST(AnthropicAdapter, ReasoningEffortBudgets) {
  using anthropic::thinking_budget;
  EXPECT_EQ(thinking_budget("none"), 0);
  EXPECT_EQ(thinking_budget("minimal"), 1024);
  EXPECT_EQ(thinking_budget("low"), 1024);
  EXPECT_EQ(thinking_budget("medium"), 4096);
  EXPECT_EQ(thinking_budget("high"), 16384);
  EXPECT_EQ(thinking_budget("xhigh"), 32768);
  EXPECT_EQ(thinking_budget("bogus"), -1);
  const auto cfg = provider_config();
  auto build = [&](json extra) {
    json body = {{"model", "m"},
                 {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
    for (auto& [k, v] : extra.items()) body[k] = v;
    auto up = anthropic().build_request(request(body), "c", BuildContext{cfg, "k", "h", ""});
    return std::make_pair(json::parse(up.body), up.dropped_params);
  };
  auto [low, d1] = build({{"reasoning_effort", "low"}});
  EXPECT_EQ(low["thinking"], json({{"type", "enabled"}, {"budget_tokens", 1024}}));
  EXPECT_EQ(low["max_tokens"], 1024 + 4096);
  EXPECT_TRUE(d1.empty());
  auto [none, d2] = build({{"reasoning_effort", "none"}});
  EXPECT_FALSE(none.contains("thinking"));
  EXPECT_TRUE(d2.empty());
  auto [capped, d3] = build({{"reasoning_effort", "high"}, {"max_tokens", 8000}});
  EXPECT_EQ(capped["thinking"]["budget_tokens"], 4000) << "the budget must stay below max_tokens";
  EXPECT_EQ(capped["max_tokens"], 8000);
  auto [tiny, d4] = build({{"reasoning_effort", "high"}, {"max_completion_tokens", 500}});
  EXPECT_FALSE(tiny.contains("thinking"));
  EXPECT_EQ(d4, std::vector<std::string>{"reasoning_effort"});
  auto [bogus, d5] = build({{"reasoning_effort", "extreme"}});
  EXPECT_FALSE(bogus.contains("thinking"));
  EXPECT_EQ(d5, std::vector<std::string>{"reasoning_effort"});
  auto [native, d6] = build({{"thinking", {{"type", "enabled"}, {"budget_tokens", 2048}}}});
  EXPECT_EQ(native["thinking"]["budget_tokens"], 2048) << "Anthropic's own parameter passes as is";
  EXPECT_EQ(native["max_tokens"], 2048 + 4096);
  // json_object cannot be forced through a tool together with thinking: named, not emulated.
  auto [jt, d7] =
      build({{"reasoning_effort", "low"}, {"response_format", {{"type", "json_object"}}}});
  EXPECT_FALSE(jt.contains("tools"));
  EXPECT_EQ(d7, std::vector<std::string>{"response_format"});
}

TEST(AnthropicAdapter, ToolChoiceVariants) {
  const auto cfg = provider_config();
  json tools = json::array({{{"type", "function"}, {"function", {{"name", "a"}}}},
                            {{"type", "function"}, {"function", {{"name", "b"}}}}});
  auto build = [&](json extra) {
    json body = {{"model", "m"},
                 {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
                 {"tools", tools}};
    for (auto& [k, v] : extra.items()) body[k] = v;
    return json::parse(
        anthropic().build_request(request(body), "c", BuildContext{cfg, "k", "h", ""}).body);
  };
  EXPECT_FALSE(build(json::object()).contains("tool_choice"));
  EXPECT_EQ(build({{"tool_choice", "auto"}})["tool_choice"], json({{"type", "auto"}}));
  EXPECT_EQ(build({{"tool_choice", "none"}})["tool_choice"], json({{"type", "none"}}));
  EXPECT_EQ(build({{"tool_choice", "required"}})["tool_choice"], json({{"type", "any"}}));
  EXPECT_EQ(build({{"parallel_tool_calls", false}})["tool_choice"],
            json({{"type", "auto"}, {"disable_parallel_tool_use", true}}));
  auto allowed = build(
      {{"tool_choice",
        {{"type", "allowed_tools"},
         {"allowed_tools",
          {{"mode", "required"},
           {"tools", json::array({{{"type", "function"}, {"function", {{"name", "b"}}}}})}}}}}});
  EXPECT_EQ(allowed["tool_choice"], json({{"type", "any"}}));
  ASSERT_EQ(allowed["tools"].size(), 1u);
  EXPECT_EQ(allowed["tools"][0]["name"], "b");
  // tool_choice without tools is not sent (Anthropic refuses it).
  json plain = {{"model", "m"},
                {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
                {"tool_choice", "auto"}};
  auto sent = json::parse(
      anthropic().build_request(request(plain), "c", BuildContext{cfg, "k", "h", ""}).body);
  EXPECT_FALSE(sent.contains("tool_choice"));
  EXPECT_FALSE(sent.contains("tools"));
}

TEST(AnthropicAdapter, ToolHistoryWithoutToolsDeclaresThemUncallable) {
  // The final turn of a tool loop often leaves `tools` out; Anthropic refuses tool blocks then.
  json body = {
      {"model", "m"},
      {"messages",
       json::array(
           {{{"role", "user"}, {"content", "Paris?"}},
            {{"role", "assistant"},
             {"content", nullptr},
             {"tool_calls",
              json::array({{{"id", "toolu_1"},
                            {"type", "function"},
                            {"function", {{"name", "get_weather"}, {"arguments", "{}"}}}}})}},
            {{"role", "tool"}, {"tool_call_id", "toolu_1"}, {"content", "18C"}}})}};
  const auto cfg = provider_config();
  auto up = anthropic().build_request(request(body), "c", BuildContext{cfg, "k", "h", ""});
  json sent = json::parse(up.body);
  EXPECT_EQ(sent["tools"],
            json::array({{{"name", "get_weather"}, {"input_schema", {{"type", "object"}}}}}));
  EXPECT_EQ(sent["tool_choice"], json({{"type", "none"}}));
  EXPECT_TRUE(up.dropped_params.empty());
  body["response_format"] = {{"type", "json_object"}};
  sent = json::parse(
      anthropic().build_request(request(body), "c", BuildContext{cfg, "k", "h", ""}).body);
  ASSERT_EQ(sent["tools"].size(), 2u) << "the JSON tool is added, history tools stay declared";
  EXPECT_EQ(sent["tools"][1]["name"], "json_tool_call");
  EXPECT_EQ(sent["tool_choice"], json({{"type", "tool"}, {"name", "json_tool_call"}}));
}

// ---------------------------------------------------------------------------------------------
// Responses

TEST(AnthropicAdapter, ResponseFixtures) {
  auto names = fixtures("response_");
  ASSERT_GE(names.size(), 3u);
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    json f = load(name);
    json body = {{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "x"}}})}};
    if (f["json_tool"].get<bool>()) body["response_format"] = {{"type", "json_object"}};
    auto r = anthropic().translate_response(request(body), f["anthropic"].dump());
    ASSERT_FALSE(r.error) << r.error->message;
    json got = json::parse(r.body);
    ASSERT_TRUE(got.contains("created"));
    EXPECT_EQ(without_created(got), f["openai"])
        << "got:      " << got.dump() << "\nexpected: " << f["openai"].dump();
    EXPECT_EQ(usage_json(r.usage), f["usage"]);
    EXPECT_TRUE(r.usage.present);
  }
}

TEST(AnthropicAdapter, FinishReasons) {
  using anthropic::finish_reason_for;
  EXPECT_EQ(finish_reason_for("end_turn"), "stop");
  EXPECT_EQ(finish_reason_for("stop_sequence"), "stop");
  EXPECT_EQ(finish_reason_for("pause_turn"), "stop");
  EXPECT_EQ(finish_reason_for("max_tokens"), "length");
  EXPECT_EQ(finish_reason_for("model_context_window_exceeded"), "length");
  EXPECT_EQ(finish_reason_for("tool_use"), "tool_calls");
  EXPECT_EQ(finish_reason_for("refusal"), "content_filter");
  EXPECT_EQ(finish_reason_for("something_new"), "stop");
}

TEST(AnthropicAdapter, UnusableBodyFailsOver) {
  json body = {{"model", "m"}, {"messages", json::array()}};
  for (std::string bad : {R"({"type":"error","error":{"type":"overloaded_error","message":"x"}})",
                          R"({"id":"x"})", R"([1,2])"}) {
    auto r = anthropic().translate_response(request(body), std::string(bad));
    ASSERT_TRUE(r.error) << bad;
    EXPECT_TRUE(r.error->retryable);
  }
}

TEST(AnthropicAdapter, EmptyAnswerAndToolOnlyContent) {
  json body = {{"model", "m"}, {"messages", json::array()}};
  auto only_tool = anthropic().translate_response(
      request(body),
      R"({"id":"msg_1","type":"message","role":"assistant","model":"c","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}})");
  json j = json::parse(only_tool.body);
  EXPECT_TRUE(j["choices"][0]["message"]["content"].is_null())
      << "content is null with only tool calls";
  EXPECT_FALSE(j["choices"][0]["message"].contains("reasoning_content"));
  auto empty = anthropic().translate_response(
      request(body),
      R"({"id":"msg_2","type":"message","role":"assistant","model":"c","content":[],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":0}})");
  EXPECT_EQ(json::parse(empty.body)["choices"][0]["message"]["content"], "");
}

// ---------------------------------------------------------------------------------------------
// Streams

struct StreamCase {
  std::string sse;
  std::string expected;
};

void check_stream_fixture(const std::string& sse_name, const std::string& expected_name,
                          bool crlf) {
  std::string input = read_text(sse_name);
  if (crlf) {
    std::string c;
    for (char ch : input) {
      if (ch == '\n')
        c += "\r\n";
      else
        c += ch;
    }
    input = c;
  }
  json f = load(expected_name);
  std::vector<json> expected_all;
  for (const auto& c : f["chunks"]) expected_all.push_back(c);
  // Without include_usage the usage-only chunk is not sent (usage is still recorded).
  std::vector<json> expected_no_usage;
  for (const auto& c : expected_all) {
    if (!(c.contains("choices") && c["choices"].empty())) expected_no_usage.push_back(c);
  }
  for (bool wants_usage : {true, false}) {
    const auto& expected = wants_usage ? expected_all : expected_no_usage;
    for (size_t cut = 0; cut <= input.size(); ++cut) {
      auto t = anthropic::make_chunk_translator(wants_usage, false);
      auto run = feed(*t, input, {cut});
      SCOPED_TRACE("split at byte " + std::to_string(cut) + (wants_usage ? " with usage" : ""));
      EXPECT_EQ(status_name(run.status), f["status"].get<std::string>());
      auto chunks = sse_json(run.out);
      ASSERT_EQ(chunks.size(), expected.size()) << run.out;
      for (size_t i = 0; i < chunks.size(); ++i) {
        EXPECT_EQ(without_created(chunks[i]), expected[i])
            << "chunk " << i << ": " << chunks[i].dump();
      }
      EXPECT_EQ(run.events_out, static_cast<int64_t>(expected.size()));
      EXPECT_EQ(usage_json(run.usage), f["usage"]);
      if (::testing::Test::HasFailure()) return;
    }
  }
  // One byte at a time.
  auto t = anthropic::make_chunk_translator(true, false);
  std::vector<size_t> every;
  for (size_t i = 1; i < input.size(); ++i) every.push_back(i);
  auto run = feed(*t, input, every);
  EXPECT_EQ(sse_json(run.out).size(), expected_all.size());
}

TEST(AnthropicAdapter, StreamTextAndToolAtEveryByteSplit) {
  check_stream_fixture("stream_text_tool.sse", "stream_text_tool.expected.json", false);
}

TEST(AnthropicAdapter, StreamTextAndToolWithCrlfFraming) {
  check_stream_fixture("stream_text_tool.sse", "stream_text_tool.expected.json", true);
}

TEST(AnthropicAdapter, StreamThinkingAtEveryByteSplit) {
  check_stream_fixture("stream_thinking.sse", "stream_thinking.expected.json", false);
}

TEST(AnthropicAdapter, StreamErrorEventAtEveryByteSplit) {
  check_stream_fixture("stream_error.sse", "stream_error.expected.json", false);
}

TEST(AnthropicAdapter, StreamViaAdapterUsesClientUsageFlag) {
  json body = {{"model", "m"}, {"stream", true}, {"messages", json::array()}};
  auto t = anthropic().make_stream_translator(request(body));
  auto run = feed(*t, read_text("stream_text_tool.sse"), {});
  EXPECT_EQ(run.status, StreamStatus::Done);
  auto chunks = sse_json(run.out);
  ASSERT_FALSE(chunks.empty());
  EXPECT_FALSE(chunks.back()["choices"].empty()) << "no usage chunk unless asked";
  EXPECT_EQ(run.usage.output, 65) << "usage is recorded anyway, for billing";
}

TEST(AnthropicAdapter, StreamCutBeforeMessageStopIsNotDone) {
  std::string input = read_text("stream_text_tool.sse");
  input = input.substr(0, input.find("event: message_delta"));
  auto t = anthropic::make_chunk_translator(true, false);
  auto run = feed(*t, input, {});
  EXPECT_EQ(run.status, StreamStatus::Continue) << "EOF without message_stop is a cut";
  for (const auto& c : sse_json(run.out)) {
    EXPECT_TRUE(c["choices"].empty() || c["choices"][0]["finish_reason"].is_null());
  }
}

TEST(AnthropicAdapter, StreamMalformedFirstEvent) {
  auto t = anthropic::make_chunk_translator(false, false);
  std::string out;
  EXPECT_EQ(t->on_bytes("event: content_block_start\ndata: {\"type\":\"conte\n\n", out),
            StreamStatus::Malformed);
  EXPECT_TRUE(out.empty());
}

TEST(AnthropicAdapter, StreamJsonToolBecomesContent) {
  std::string input =
      "event: message_start\ndata: "
      "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_j\",\"model\":\"c\",\"usage\":{"
      "\"input_tokens\":2,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\ndata: "
      "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\","
      "\"id\":\"toolu_1\",\"name\":\"json_tool_call\",\"input\":{}}}\n\n"
      "event: content_block_delta\ndata: "
      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
      "\"partial_json\":\"{\\\"a\\\":\"}}\n\n"
      "event: content_block_delta\ndata: "
      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
      "\"partial_json\":\"1}\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: message_delta\ndata: "
      "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_"
      "tokens\":5}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  auto t = anthropic::make_chunk_translator(false, true);
  auto run = feed(*t, input, {});
  EXPECT_EQ(run.status, StreamStatus::Done);
  auto chunks = sse_json(run.out);
  std::string content;
  for (const auto& c : chunks) {
    const auto& d = c["choices"][0]["delta"];
    EXPECT_FALSE(d.contains("tool_calls"));
    if (d.contains("content")) content += d["content"].get<std::string>();
  }
  EXPECT_EQ(content, "{\"a\":1}");
  EXPECT_EQ(chunks.back()["choices"][0]["finish_reason"], "stop");
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(AnthropicAdapter, ErrorFixtures) {
  json f = load("errors.json");
  for (const auto& c : f["cases"]) {
    SCOPED_TRACE(c.dump());
    std::string body = c["body"].is_string() ? c["body"].get<std::string>() : c["body"].dump();
    Error e =
        anthropic().map_error("claude", c["status"].get<int>(), body, c.value("retry_after", ""));
    const auto& x = c["expect"];
    EXPECT_EQ(e.status, x["status"].get<int>());
    EXPECT_EQ(e.type, x["type"].get<std::string>());
    EXPECT_EQ(e.code_str, x["code"].get<std::string>());
    EXPECT_EQ(e.retryable, x["retryable"].get<bool>());
    EXPECT_EQ(is_context_window_error(e), x["context_window"].get<bool>());
    EXPECT_EQ(e.provider, "claude");
    EXPECT_EQ(e.code, ErrorCode::UpstreamStatus);
    if (x.contains("retry_after")) EXPECT_EQ(e.retry_after, x["retry_after"].get<std::string>());
    if (x.contains("message_contains")) {
      EXPECT_NE(e.message.find(x["message_contains"].get<std::string>()), std::string::npos)
          << e.message;
    }
    EXPECT_NE(e.message.find("claude"), std::string::npos) << "the provider is named";
  }
}

// ---------------------------------------------------------------------------------------------
// Native pass-through (the Anthropic ingress routed to Anthropic)

TEST(AnthropicAdapter, NativeRequestOnlyReplacesModel) {
  EXPECT_TRUE(anthropic().speaks_natively(Ingress::Anthropic));
  EXPECT_FALSE(anthropic().speaks_natively(Ingress::OpenAI));
  EXPECT_TRUE(anthropic().supports(Endpoint::ChatCompletions));
  EXPECT_FALSE(anthropic().supports(Endpoint::Embeddings));
  EXPECT_FALSE(anthropic().supports(Endpoint::Completions));
  json native = {{"model", "claude-alias"},
                 {"max_tokens", 10},
                 {"stream", true},
                 {"system", "s"},
                 {"messages", json::array({{{"role", "user"}, {"content", "hi ✓"}}})},
                 {"top_k", 5},
                 {"container", "c1"}};
  json openai = {{"model", "claude-alias"}, {"stream", true}, {"messages", json::array()}};
  ClientRequest req = request(openai);
  req.ingress = Ingress::Anthropic;
  req.native_body = &native;
  const auto cfg = provider_config();
  auto up = anthropic().build_request(req, "claude-sonnet-4-5", BuildContext{cfg, "k", "h", ""});
  json expected = native;
  expected["model"] = "claude-sonnet-4-5";
  EXPECT_EQ(json::parse(up.body), expected);
  EXPECT_TRUE(up.dropped_params.empty());
  EXPECT_EQ(native["model"], "claude-alias");
  EXPECT_EQ(header(up, "x-api-key"), "k");
  EXPECT_EQ(header(up, "anthropic-version"), "2023-06-01");
}

// Through the Messages codec: a body the document reads as it is written goes to an Anthropic
// target as the client's own bytes with the model spliced in (not written again); an edited one
// (stream: null left out, system entries folded for an older version) from the document.
TEST(AnthropicAdapter, NativeBodyIsTheClientsBytesWithTheModelSpliced) {
  const auto cfg = provider_config();
  auto build = [&](const std::string& raw, std::string_view version) {
    providers::json_scan::TopMembers members;
    auto parsed = providers::parse_client_json(raw, &members);
    EXPECT_TRUE(std::holds_alternative<json>(parsed)) << raw;
    dialects::ClientInput in;
    in.body = raw;
    in.anthropic_version = version;
    in.members = &members;
    auto call = dialects::anthropic_codec().parse(std::move(std::get<json>(parsed)), in);
    EXPECT_TRUE(std::holds_alternative<std::unique_ptr<dialects::Call>>(call)) << raw;
    const auto& req = std::get<std::unique_ptr<dialects::Call>>(call)->request_for(true);
    return std::pair{!req.native_raw.empty(),
                     anthropic().build_request(req, "claude-sonnet-4-5", BuildContext{cfg, "k", "h", ""}).body};
  };
  const std::string raw =
      R"({ "max_tokens":10, "model" : "claude-alias","messages":[{"role":"user","content":"hi \u2713"}],"z":{"a":1,"a":2}} )";
  auto [spliced, body] = build(raw, "2023-06-01");
  EXPECT_TRUE(spliced);
  EXPECT_EQ(body, R"({ "max_tokens":10, "model" : "claude-sonnet-4-5","messages":[{"role":"user","content":"hi \u2713"}],"z":{"a":1,"a":2}})");

  auto [null_stream, body2] = build(R"({"model":"a","max_tokens":1,"stream":null,"messages":[{"role":"user","content":"x"}]})", "2023-06-01");
  EXPECT_FALSE(null_stream);
  EXPECT_FALSE(json::parse(body2).contains("stream"));
  const std::string with_system =
      R"({"model":"a","max_tokens":1,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"x"}]})";
  auto [folded, body3] = build(with_system, "2023-06-01");
  EXPECT_FALSE(folded);
  EXPECT_EQ(json::parse(body3)["system"][0]["text"], "be brief");
  auto [kept, body4] = build(with_system, "2026-10-21");  // that version takes them as sent
  EXPECT_TRUE(kept);
  EXPECT_EQ(json::parse(body4)["messages"].size(), 2u);
  auto [repeated, body5] = build(R"({"model":"a","max_tokens":1,"messages":[{"role":"user","content":"x"}],"model":"b"})", "2023-06-01");
  EXPECT_FALSE(repeated);
  EXPECT_EQ(json::parse(body5)["model"], "claude-sonnet-4-5");
}

TEST(AnthropicAdapter, NativeResponseUntouched) {
  json openai = {{"model", "m"}, {"messages", json::array()}};
  json native = {{"model", "m"}, {"max_tokens", 1}, {"messages", json::array()}};
  ClientRequest req = request(openai);
  req.ingress = Ingress::Anthropic;
  req.native_body = &native;
  std::string body = load("response_text.json")["anthropic"].dump();
  auto r = anthropic().translate_response(req, std::string(body));
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(r.usage.input, 330);
  EXPECT_EQ(r.usage.cached_read, 300);
  EXPECT_EQ(r.usage.cache_write, 20);
  EXPECT_EQ(r.usage.output, 5);
  auto bad = anthropic().translate_response(req, R"({"type":"error","error":{}})");
  EXPECT_TRUE(bad.error);
}

TEST(AnthropicAdapter, NativeStreamPassesEventsThroughAtEveryByteSplit) {
  json openai = {{"model", "m"}, {"stream", true}, {"messages", json::array()}};
  json native = {{"model", "m"}, {"max_tokens", 1}, {"stream", true}, {"messages", json::array()}};
  ClientRequest req = request(openai);
  req.ingress = Ingress::Anthropic;
  req.native_body = &native;
  for (const char* name : {"stream_text_tool.sse", "stream_thinking.sse"}) {
    const std::string input = read_text(name);
    for (size_t cut = 0; cut <= input.size(); ++cut) {
      auto t = anthropic().make_stream_translator(req);
      auto run = feed(*t, input, {cut});
      ASSERT_EQ(run.status, StreamStatus::Done) << name << " split at " << cut;
      ASSERT_EQ(run.out, input) << "Anthropic events are re-framed untouched";
      ASSERT_TRUE(run.usage.present);
    }
  }
  auto t = anthropic().make_stream_translator(req);
  auto run = feed(*t, read_text("stream_thinking.sse"), {});
  EXPECT_EQ(run.usage.input, 1150);
  EXPECT_EQ(run.usage.output, 30);
  EXPECT_EQ(run.usage.reasoning, 20);
  auto e = anthropic().make_stream_translator(req);
  auto err = feed(*e, read_text("stream_error.sse"), {});
  EXPECT_EQ(err.status, StreamStatus::UpstreamError);
  EXPECT_NE(err.out.find("event: error\ndata: {\"type\":\"error\""), std::string::npos);
  auto m = anthropic().make_stream_translator(req);
  std::string out;
  EXPECT_EQ(m->on_bytes("event: message_start\ndata: {oops\n\n", out), StreamStatus::Malformed);
  // An upstream that ends without message_stop was cut.
  auto c = anthropic().make_stream_translator(req);
  std::string cut_input = read_text("stream_text_tool.sse");
  cut_input = cut_input.substr(0, cut_input.find("event: message_stop"));
  EXPECT_EQ(feed(*c, cut_input, {}).status, StreamStatus::Continue);
}

}  // namespace
}  // namespace tg::providers
