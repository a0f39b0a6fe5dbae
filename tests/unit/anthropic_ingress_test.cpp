// The Anthropic-style ingress translators (Anthropic SDK / Claude Code clients routed to any
// provider), against fixtures, plus round trips through the Anthropic adapter: what the SDK
// sees must keep tool_use/tool_result ids, signed thinking, stop_reason and usage.

#include "tollgate/providers/anthropic_ingress.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "../../src/providers/anthropic/anthropic_internal.hpp"
#include "tollgate/providers/adapter.hpp"

namespace tg::providers::anthropic_ingress {
namespace {

using json = nlohmann::json;

std::string read_text(const std::string& name) {
  std::ifstream f(std::string(TG_SOURCE_DIR) + "/tests/fixtures/anthropic/" + name,
                  std::ios::binary);
  EXPECT_TRUE(f.good()) << "missing fixture " << name;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

json load(const std::string& name) { return json::parse(read_text(name)); }

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

json convert(const json& in, std::vector<std::string>* dropped = nullptr) {
  auto r = to_openai_request(in, dropped);
  if (auto* e = std::get_if<Error>(&r)) {
    ADD_FAILURE() << e->message;
    return nullptr;
  }
  return std::get<json>(r);
}

Error convert_error(const json& in) {
  auto r = to_openai_request(in);
  EXPECT_TRUE(std::holds_alternative<Error>(r)) << in.dump();
  return std::holds_alternative<Error>(r) ? std::get<Error>(r) : Error{};
}

json minimal(json extra = json::object()) {
  json body = {{"model", "claude-sonnet-4-5"},
               {"max_tokens", 100},
               {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  for (auto& [k, v] : extra.items()) body[k] = v;
  return body;
}

// Anthropic SSE text -> [(event name, data)], checking the framing the SDK relies on.
std::vector<std::pair<std::string, json>> events_of(const std::string& text) {
  sse::Decoder d;
  std::vector<sse::Event> evs;
  d.feed(text, evs);
  EXPECT_FALSE(d.has_partial());
  std::vector<std::pair<std::string, json>> out;
  for (const auto& e : evs) {
    json j = json::parse(e.data, nullptr, false);
    EXPECT_TRUE(j.is_object()) << e.data;
    EXPECT_EQ(j.value("type", ""), e.event) << "the event name repeats the data's type";
    out.emplace_back(e.event, j);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Requests

TEST(AnthropicIngress, ClaudeCodeRequestFixture) {
  json f = load("ingress_request_claude_code.json");
  std::vector<std::string> dropped;
  json got = convert(f["anthropic"], &dropped);
  EXPECT_EQ(got, f["openai"]) << "got:      " << got.dump() << "\nexpected: " << f["openai"].dump();
  EXPECT_EQ(sorted(dropped), sorted(f["dropped"].get<std::vector<std::string>>()));
}

TEST(AnthropicIngress, InvalidShapesAreAnthropicWorded400s) {
  struct Case {
    json body;
    std::string message;
    std::string param;
  };
  json no_max = minimal();
  no_max.erase("max_tokens");
  json no_model = minimal();
  no_model.erase("model");
  json no_messages = minimal();
  no_messages.erase("messages");
  std::vector<Case> cases = {
      {no_max, "max_tokens: Field required", "max_tokens"},
      {no_model, "model: Field required", "model"},
      {no_messages, "messages: Field required", "messages"},
      {minimal({{"max_tokens", "10"}}), "max_tokens: Input should be a valid integer",
       "max_tokens"},
      {minimal({{"messages", "hi"}}), "messages: Input should be a valid list", "messages"},
      // ("system" entries are accepted: Claude Code sends them.)
      {minimal({{"messages", json::array({{{"role", "tool"}, {"content", "x"}}})}}),
       "messages.0.role: Input should be 'user', 'assistant' or 'system'", "messages.0.role"},
      {minimal({{"messages", json::array({{{"role", "user"}}})}}),
       "messages.0.content: Field required", "messages.0.content"},
      {minimal({{"messages", json::array({{{"role", "user"}, {"content", "a"}},
                                          {{"role", "user"}, {"content", 5}}})}}),
       "messages.1.content: Input should be a valid list", "messages.1.content"},
      {minimal({{"stream", "yes"}}), "stream: Input should be a valid boolean", "stream"},
      {minimal({{"system", 3}}), "system: Input should be a valid list", "system"},
  };
  for (const auto& c : cases) {
    Error e = convert_error(c.body);
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.message, c.message);
    EXPECT_EQ(e.param.value_or(""), c.param);
    EXPECT_EQ(render_error(e),
              json({{"type", "error"},
                    {"error", {{"type", "invalid_request_error"}, {"message", c.message}}}})
                  .dump());
  }
  Error e = convert_error(json::array());
  EXPECT_EQ(e.status, 400);
}

TEST(AnthropicIngress, NonStreamedRequestAndParameters) {
  json got = convert(
      minimal({{"stream", false},
               {"service_tier", "standard_only"},
               {"output_config",
                {{"format", {{"type", "json_schema"}, {"schema", {{"type", "object"}}}}}}}}));
  EXPECT_FALSE(got.contains("stream"));
  EXPECT_FALSE(got.contains("stream_options"));
  EXPECT_EQ(got["max_completion_tokens"], 100);
  EXPECT_EQ(got["service_tier"], "default");
  EXPECT_EQ(got["response_format"],
            json({{"type", "json_schema"},
                  {"json_schema",
                   {{"name", "output"}, {"schema", {{"type", "object"}}}, {"strict", true}}}}));
  EXPECT_EQ(got["messages"], json::array({{{"role", "user"}, {"content", "hi"}}}));
  // Thinking budgets -> reasoning_effort.
  auto effort = [](json thinking) {
    json r = convert(minimal({{"thinking", thinking}}));
    return r.value("reasoning_effort", "<none>");
  };
  EXPECT_EQ(effort({{"type", "enabled"}, {"budget_tokens", 1024}}), "low");
  EXPECT_EQ(effort({{"type", "enabled"}, {"budget_tokens", 8000}}), "medium");
  EXPECT_EQ(effort({{"type", "enabled"}, {"budget_tokens", 20000}}), "high");
  EXPECT_EQ(effort({{"type", "disabled"}}), "<none>");
  EXPECT_EQ(convert(minimal({{"output_config", {{"effort", "low"}}}}))["reasoning_effort"], "low");
  // tool_choice
  json tools = json::array({{{"name", "f"}, {"input_schema", {{"type", "object"}}}}});
  auto choice = [&](json tc) {
    return convert(minimal({{"tools", tools}, {"tool_choice", tc}}))["tool_choice"];
  };
  EXPECT_EQ(choice({{"type", "any"}}), "required");
  EXPECT_EQ(choice({{"type", "none"}}), "none");
  EXPECT_EQ(choice({{"type", "tool"}, {"name", "f"}}),
            json({{"type", "function"}, {"function", {{"name", "f"}}}}));
  json no_tools = convert(minimal({{"tool_choice", {{"type", "any"}}}}));
  EXPECT_FALSE(no_tools.contains("tool_choice")) << "no tools, no tool_choice";
  json tool_no_schema = convert(minimal({{"tools", json::array({{{"name", "g"}}})}}));
  EXPECT_EQ(tool_no_schema["tools"][0]["function"]["parameters"],
            json({{"type", "object"}, {"properties", json::object()}}));
}

TEST(AnthropicIngress, LongUserIdsAreHashedToOpenAIsLimit) {
  EXPECT_EQ(convert(minimal({{"metadata", {{"user_id", "short-id"}}}}))["user"], "short-id");
  // Claude Code's ids are ~150 characters; OpenAI takes 64 at most.
  std::string long_id =
      "user_" + std::string(64, 'a') + "_account__session_0b3f4c1e-8f55-4a53-9a43-0f8f5e7a9d1c";
  json a = convert(minimal({{"metadata", {{"user_id", long_id}}}}));
  json b = convert(minimal({{"metadata", {{"user_id", long_id}}}}));
  json c = convert(minimal({{"metadata", {{"user_id", long_id + "x"}}}}));
  ASSERT_TRUE(a["user"].is_string());
  EXPECT_EQ(a["user"].get<std::string>().size(), 64u);
  EXPECT_EQ(a["user"], b["user"]) << "stable";
  EXPECT_NE(a["user"], c["user"]);
  // lowercase hex digits only
  std::string abc_long(65, 'x');
  EXPECT_EQ(convert(minimal({{"metadata", {{"user_id", abc_long}}}}))["user"]
                .get<std::string>()
                .find_first_not_of("0123456789abcdef"),
            std::string::npos);
}

TEST(AnthropicIngress, MediaAndToolResults) {
  json body = minimal(
      {{"messages",
        json::array(
            {{{"role", "user"},
              {"content",
               json::array(
                   {{{"type", "image"},
                     {"source",
                      {{"type", "base64"}, {"media_type", "image/png"}, {"data", "AAA="}}}},
                    {{"type", "image"}, {"source", {{"type", "url"}, {"url", "https://x/y.png"}}}},
                    {{"type", "document"},
                     {"title", "spec.pdf"},
                     {"source",
                      {{"type", "base64"}, {"media_type", "application/pdf"}, {"data", "JVBE"}}}},
                    {{"type", "document"},
                     {"source",
                      {{"type", "text"}, {"media_type", "text/plain"}, {"data", "plain doc"}}}},
                    {{"type", "text"}, {"text", "what?"}}})}},
             {{"role", "assistant"},
              {"content", json::array({{{"type", "tool_use"},
                                        {"id", "toolu_S"},
                                        {"name", "shot"},
                                        {"input", json::object()}}})}},
             {{"role", "user"},
              {"content",
               json::array({{{"type", "tool_result"},
                             {"tool_use_id", "toolu_S"},
                             {"is_error", false},
                             {"content", json::array({{{"type", "text"}, {"text", "took it"}},
                                                      {{"type", "image"},
                                                       {"source",
                                                        {{"type", "base64"},
                                                         {"media_type", "image/jpeg"},
                                                         {"data", "BBB="}}}}})}}})}}})}});
  json got = convert(body);
  json expected = json::array(
      {{{"role", "user"},
        {"content",
         json::array(
             {{{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAA="}}}},
              {{"type", "image_url"}, {"image_url", {{"url", "https://x/y.png"}}}},
              {{"type", "file"},
               {"file",
                {{"filename", "spec.pdf"}, {"file_data", "data:application/pdf;base64,JVBE"}}}},
              {{"type", "text"}, {"text", "plain doc"}},
              {{"type", "text"}, {"text", "what?"}}})}},
       {{"role", "assistant"},
        {"content", nullptr},
        {"tool_calls", json::array({{{"id", "toolu_S"},
                                     {"type", "function"},
                                     {"function", {{"name", "shot"}, {"arguments", "{}"}}}}})}},
       {{"role", "tool"}, {"tool_call_id", "toolu_S"}, {"content", "took it"}},
       {{"role", "user"},
        {"content", json::array({{{"type", "image_url"},
                                  {"image_url", {{"url", "data:image/jpeg;base64,BBB="}}}}})}}});
  EXPECT_EQ(got["messages"], expected) << got["messages"].dump();
}

// ---------------------------------------------------------------------------------------------
// Responses

TEST(AnthropicIngress, ResponseFixture) {
  json f = load("ingress_response.json");
  json got = json::parse(to_anthropic_response(f["openai"].dump(), f["model"].get<std::string>()));
  EXPECT_EQ(got, f["anthropic"]) << got.dump();
}

TEST(AnthropicIngress, ResponseStopReasonsAndEdges) {
  auto answer = [](json message, const char* finish, json usage = nullptr) {
    json body = {{"id", "chatcmpl-1"},
                 {"object", "chat.completion"},
                 {"choices",
                  json::array({{{"index", 0}, {"message", message}, {"finish_reason", finish}}})}};
    if (!usage.is_null()) body["usage"] = usage;
    return json::parse(to_anthropic_response(body.dump(), "claude-x"));
  };
  json text = {{"role", "assistant"}, {"content", "hi"}};
  EXPECT_EQ(answer(text, "stop")["stop_reason"], "end_turn");
  EXPECT_EQ(answer(text, "length")["stop_reason"], "max_tokens");
  EXPECT_EQ(answer(text, "content_filter")["stop_reason"], "refusal");
  EXPECT_EQ(answer(text, "tool_calls")["stop_reason"], "tool_use");
  json r = answer(text, "stop");
  EXPECT_EQ(r["content"], json::array({{{"type", "text"}, {"text", "hi"}}}));
  EXPECT_TRUE(r["stop_sequence"].is_null());
  EXPECT_EQ(r["usage"], json({{"input_tokens", 0},
                              {"cache_creation_input_tokens", 0},
                              {"cache_read_input_tokens", 0},
                              {"output_tokens", 0}}));
  // No text, no tools: an empty content list (an empty text block would be refused if sent back).
  EXPECT_EQ(answer({{"role", "assistant"}, {"content", ""}}, "stop")["content"], json::array());
  // Broken tool arguments still give an object input.
  json bad_args = {
      {"role", "assistant"},
      {"content", nullptr},
      {"tool_calls", json::array({{{"id", "c1"},
                                   {"type", "function"},
                                   {"function", {{"name", "f"}, {"arguments", "{not json"}}}}})}};
  EXPECT_EQ(answer(bad_args, "tool_calls")["content"][0]["input"], json::object());
  // Signed thinking blocks (from an adapter that has them) are kept as they are.
  json signed_msg = {{"role", "assistant"},
                     {"content", "ok"},
                     {"reasoning_content", "r"},
                     {"thinking_blocks",
                      json::array({{{"type", "thinking"}, {"thinking", "r"}, {"signature", "S"}},
                                   {{"type", "redacted_thinking"}, {"data", "D"}}})}};
  EXPECT_EQ(answer(signed_msg, "stop")["content"],
            json::array({{{"type", "thinking"}, {"thinking", "r"}, {"signature", "S"}},
                         {{"type", "redacted_thinking"}, {"data", "D"}},
                         {{"type", "text"}, {"text", "ok"}}}));
  // Cache writes come out of input_tokens.
  json usage = {{"prompt_tokens", 1000},
                {"completion_tokens", 7},
                {"prompt_tokens_details", {{"cached_tokens", 600}, {"cache_write_tokens", 300}}}};
  EXPECT_EQ(answer(text, "stop", usage)["usage"], json({{"input_tokens", 100},
                                                        {"cache_creation_input_tokens", 300},
                                                        {"cache_read_input_tokens", 600},
                                                        {"output_tokens", 7}}));
  json err = json::parse(to_anthropic_response("{\"error\":{\"message\":\"x\"}}", "m"));
  EXPECT_EQ(err["type"], "error");
  EXPECT_EQ(err["error"]["type"], "api_error");
}

// ---------------------------------------------------------------------------------------------
// Streams

TEST(AnthropicIngress, StreamFixtureAtEveryByteSplit) {
  const std::string input = read_text("ingress_stream.sse");
  json f = load("ingress_stream.expected.json");
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    StreamConverter c(f["model"].get<std::string>());
    std::string out;
    c.feed(std::string_view(input).substr(0, cut), out);
    c.feed(std::string_view(input).substr(cut), out);
    EXPECT_FALSE(c.done());
    c.finish(out);
    EXPECT_TRUE(c.done());
    auto evs = events_of(out);
    ASSERT_EQ(evs.size(), f["events"].size()) << "split at " << cut << "\n" << out;
    for (size_t i = 0; i < evs.size(); ++i) {
      ASSERT_EQ(evs[i].first, f["events"][i][0].get<std::string>())
          << "event " << i << " split " << cut;
      ASSERT_EQ(evs[i].second, f["events"][i][1])
          << "event " << i << " split " << cut << ": " << evs[i].second.dump();
    }
    std::string more;
    c.finish(more);
    c.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"}}]}\n\n", more);
    EXPECT_TRUE(more.empty()) << "nothing after message_stop";
  }
}

TEST(AnthropicIngress, StreamTextOnlyAndEmpty) {
  StreamConverter c("claude-x");
  std::string out;
  c.feed(
      "data: "
      "{\"id\":\"chatcmpl-2\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
      "\"content\":\"\"}}]}\n\n"
      "data: {\"id\":\"chatcmpl-2\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hé\"}}]}\n\n"
      "data: "
      "{\"id\":\"chatcmpl-2\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]"
      "}\n\n",
      out);
  c.finish(out);
  auto evs = events_of(out);
  std::vector<std::string> names;
  for (auto& [n, d] : evs) names.push_back(n);
  EXPECT_EQ(names,
            (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                      "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(evs[1].second["content_block"], json({{"type", "text"}, {"text", ""}}));
  EXPECT_EQ(evs[2].second["delta"], json({{"type", "text_delta"}, {"text", "Hé"}}));
  EXPECT_EQ(evs[4].second["delta"]["stop_reason"], "max_tokens");
  EXPECT_EQ(evs[0].second["message"]["id"], "msg_chatcmpl-2");

  StreamConverter empty("claude-x");
  std::string o2;
  empty.finish(o2);
  auto e2 = events_of(o2);
  ASSERT_EQ(e2.size(), 3u);
  EXPECT_EQ(e2[0].first, "message_start");
  EXPECT_EQ(e2[1].second["delta"]["stop_reason"], "end_turn");
  EXPECT_EQ(e2[2].first, "message_stop");
}

TEST(AnthropicIngress, StreamErrors) {
  // An error event from the upstream (as an OpenAI adapter passes it on) ends the Message.
  StreamConverter c("claude-x");
  std::string out;
  c.feed(
      "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"
      "data: {\"error\":{\"message\":\"Rate limit "
      "reached\",\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}\n\n",
      out);
  EXPECT_TRUE(c.done());
  auto evs = events_of(out);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.back().first, "error");
  EXPECT_EQ(evs.back().second,
            json({{"type", "error"},
                  {"error", {{"type", "rate_limit_error"}, {"message", "Rate limit reached"}}}}));
  std::string after;
  c.finish(after);
  EXPECT_TRUE(after.empty()) << "no message_stop after an error";
  // fail(): the gateway's own error (a stall, a cut) in Anthropic's shape.
  StreamConverter f("claude-x");
  std::string o;
  f.feed("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n", o);
  Error e = Error::upstream_protocol("p", "upstream closed the stream before it finished");
  f.fail(e, o);
  auto fe = events_of(o);
  EXPECT_EQ(fe.back().first, "error");
  EXPECT_EQ(fe.back().second["error"]["type"], "api_error");
  EXPECT_EQ(fe.back().second["error"]["message"], e.message);
}

TEST(AnthropicIngress, RenderErrorTypes) {
  auto type_of = [](int status, std::string type = "") {
    Error e;
    e.status = status;
    e.type = std::move(type);
    e.message = "m";
    return json::parse(render_error(e))["error"]["type"].get<std::string>();
  };
  EXPECT_EQ(type_of(400), "invalid_request_error");
  EXPECT_EQ(type_of(401), "authentication_error");
  EXPECT_EQ(type_of(403), "permission_error");
  EXPECT_EQ(type_of(404), "not_found_error");
  EXPECT_EQ(type_of(413), "request_too_large");
  EXPECT_EQ(type_of(429), "rate_limit_error");
  EXPECT_EQ(type_of(500), "api_error");
  EXPECT_EQ(type_of(502), "api_error");
  EXPECT_EQ(type_of(503), "overloaded_error");
  EXPECT_EQ(type_of(529), "overloaded_error");
  EXPECT_EQ(type_of(504), "api_error");
  EXPECT_EQ(type_of(422), "invalid_request_error");
  EXPECT_EQ(type_of(500, "overloaded_error"), "overloaded_error") << "an Anthropic type is kept";
  EXPECT_EQ(type_of(400, "invalid_request_error"), "invalid_request_error");
  EXPECT_EQ(type_of(404, "invalid_request_error"), "invalid_request_error");
  Error e = Error::model_not_found("nope");
  EXPECT_EQ(json::parse(render_error(e)),
            json({{"type", "error"},
                  {"error", {{"type", "invalid_request_error"}, {"message", e.message}}}}));
}

TEST(AnthropicIngress, TokenEstimate) {
  // 16 characters -> 4 tokens, + 4 for the message.
  EXPECT_EQ(
      estimate_input_tokens(minimal(
          {{"messages", json::array({{{"role", "user"}, {"content", "abcdefghijklmnop"}}})}})),
      8);
  // System (8 chars) + 1 image + text (4 chars) -> ceil(12/4) + 4 + 1600.
  json body = minimal(
      {{"system", "12345678"},
       {"messages",
        json::array({{{"role", "user"},
                      {"content", json::array({{{"type", "image"},
                                                {"source", {{"type", "url"}, {"url", "u"}}}},
                                               {{"type", "text"}, {"text", "abcd"}}})}}})}});
  EXPECT_EQ(estimate_input_tokens(body), 3 + 4 + 1600);
  // Code points, not bytes.
  EXPECT_EQ(estimate_input_tokens(
                minimal({{"messages", json::array({{{"role", "user"}, {"content", "éééé"}}})}})),
            1 + 4);
  // Tools count.
  json with_tools = minimal(
      {{"tools", json::array({{{"name", "abcd"}, {"input_schema", {{"type", "object"}}}}})}});
  EXPECT_GT(estimate_input_tokens(with_tools), estimate_input_tokens(minimal()));
  EXPECT_EQ(estimate_input_tokens(json::object()), 1);
}

// ---------------------------------------------------------------------------------------------
// Round trips through the Anthropic adapter: what an Anthropic SDK client sends comes back to
// Anthropic equivalent, and what Anthropic answers reaches the client equivalent.

TEST(AnthropicIngress, RequestRoundTripKeepsIdsAndSignedThinking) {
  json f = load("ingress_request_claude_code.json");
  json openai = convert(f["anthropic"]);
  providers::ClientRequest req;
  req.set_doc(&openai);
  req.stream = true;
  config::ProviderConfig cfg;
  cfg.name = "a";
  cfg.type = config::ProviderType::Anthropic;
  const auto* adapter = providers::adapter_for(config::ProviderType::Anthropic);
  auto up =
      adapter->build_request(req, "claude-sonnet-4-5", providers::BuildContext{cfg, "k", "h", ""});
  json back = json::parse(up.body);
  json original = f["anthropic"];
  EXPECT_EQ(back["messages"][1]["content"], original["messages"][1]["content"])
      << "thinking (signed), text and tool_use come back unchanged: " << back["messages"][1].dump();
  EXPECT_EQ(back["messages"][2]["content"][0]["tool_use_id"], "toolu_01");
  EXPECT_EQ(back["messages"][2]["content"][0]["content"], "a.txt\nb.txt");
  EXPECT_EQ(back["tools"][0]["input_schema"], original["tools"][0]["input_schema"]);
  EXPECT_EQ(back["tool_choice"], json({{"type", "auto"}, {"disable_parallel_tool_use", true}}));
  EXPECT_EQ(back["thinking"]["type"], "enabled");
  EXPECT_EQ(back["max_tokens"], 32000);
  EXPECT_EQ(back["stop_sequences"], original["stop_sequences"]);
  EXPECT_EQ(back["metadata"], original["metadata"]);
}

TEST(AnthropicIngress, ResponseRoundTrip) {
  json message = load("response_tool_thinking.json")["anthropic"];
  auto openai = anthropic::translate_message(message.dump(), false);
  ASSERT_FALSE(openai.error);
  json back = json::parse(to_anthropic_response(openai.body, "claude-opus-4-1"));
  EXPECT_EQ(back["content"], message["content"]);
  EXPECT_EQ(back["stop_reason"], "tool_use");
  EXPECT_EQ(back["usage"]["input_tokens"], 377);
  EXPECT_EQ(back["usage"]["output_tokens"], 65);
  EXPECT_EQ(back["id"], "msg_02");
}

TEST(AnthropicIngress, StreamRoundTrip) {
  // Anthropic SSE -> OpenAI chunks (adapter) -> Anthropic SSE (ingress): the same blocks.
  for (const char* name : {"stream_text_tool.sse", "stream_thinking.sse"}) {
    SCOPED_TRACE(name);
    const std::string input = read_text(name);
    auto t = anthropic::make_chunk_translator(true, false);
    std::string chunks;
    EXPECT_EQ(t->on_bytes(input, chunks), providers::StreamStatus::Done);
    StreamConverter c("claude");
    std::string out;
    c.feed(chunks, out);
    c.finish(out);
    auto original = events_of(input);
    auto back = events_of(out);
    // Compare the content blocks and the final stop reason / usage, ignoring ping and the
    // empty input_json_delta both sides may send.
    auto blocks = [](const std::vector<std::pair<std::string, json>>& evs) {
      json out = json::array();
      for (const auto& [n, d] : evs) {
        if (n == "ping" || n == "message_start" || n == "message_stop") continue;
        json x = d;
        if (n == "content_block_delta" && x["delta"].value("partial_json", "x").empty()) continue;
        if (n == "content_block_start") x["content_block"].erase("caller");
        if (n == "message_delta") x.erase("usage");
        out.push_back(x);
      }
      return out;
    };
    EXPECT_EQ(blocks(back), blocks(original)) << out;
    const json& final_usage = back[back.size() - 2].second["usage"];
    EXPECT_EQ(final_usage["output_tokens"], t->usage().output);
    EXPECT_EQ(final_usage["input_tokens"].get<int64_t>() +
                  final_usage["cache_read_input_tokens"].get<int64_t>() +
                  final_usage["cache_creation_input_tokens"].get<int64_t>(),
              t->usage().input);
  }
}

}  // namespace
}  // namespace tg::providers::anthropic_ingress
