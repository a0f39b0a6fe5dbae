// Chat answer -> Response object (build_response) against golden fixtures; usage both ways.

#include <gtest/gtest.h>

#include "responses_test_util.hpp"

namespace tg::dialects::responses {
namespace {

using namespace testing;

ResponseInfo info() {
  ResponseInfo i;
  i.id = "resp_test";
  i.created_at = 1700000000;
  i.model = "claude-sonnet-4-5";
  i.echo = {{"instructions", "Be brief."}, {"temperature", 0.5}, {"metadata", {{"k", "v"}}}};
  i.previous_response_id = "resp_before";
  i.store = true;
  i.random = counter();
  return i;
}

class GoldenResponse : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenResponse, TranslatesAsTheFixtureSays) {
  const std::string name = GetParam();
  json f = load(name);
  json got = build_response(f["chat"].dump(), info());
  expect_golden(name, f, "response", got);
  // What every Response carries, whatever the answer.
  EXPECT_EQ(got["object"], "response");
  EXPECT_EQ(got["id"], "resp_test");
  EXPECT_EQ(got["error"], nullptr);
  EXPECT_EQ(got["instructions"], "Be brief.");
  EXPECT_EQ(got["previous_response_id"], "resp_before");
  EXPECT_FALSE(got.contains("output_text")) << "a convenience the SDKs compute";
  const json& u = got["usage"];
  const json& cu = f["chat"]["usage"];
  EXPECT_EQ(u["input_tokens"], cu["prompt_tokens"]);
  EXPECT_EQ(u["output_tokens"], cu["completion_tokens"]);
  EXPECT_EQ(u["total_tokens"], cu["total_tokens"]);
}

INSTANTIATE_TEST_SUITE_P(Responses, GoldenResponse,
                         ::testing::Values("response_text.json", "response_tool_calls.json",
                                           "response_reasoning.json", "response_length.json",
                                           "response_refusal.json"),
                         [](const auto& info) {
                           std::string n = info.param.substr(9, info.param.size() - 9 - 5);
                           return n;
                         });

TEST(ResponsesResponse, StatusFollowsFinishReason) {
  json text = build_response(load("response_text.json")["chat"].dump(), info());
  EXPECT_EQ(text["status"], "completed");
  EXPECT_EQ(text["incomplete_details"], nullptr);
  json cut = build_response(load("response_length.json")["chat"].dump(), info());
  EXPECT_EQ(cut["status"], "incomplete");
  EXPECT_EQ(cut["incomplete_details"], json({{"reason", "max_output_tokens"}}));
  EXPECT_EQ(cut["output"][0]["status"], "incomplete");
  json filtered = build_response(load("response_refusal.json")["chat"].dump(), info());
  EXPECT_EQ(filtered["incomplete_details"], json({{"reason", "content_filter"}}));
  EXPECT_EQ(filtered["output"][0]["content"][0],
            json({{"type", "refusal"}, {"refusal", "I can't help with that."}}));
}

TEST(ResponsesResponse, ToolCallsBecomeFunctionCallItemsWithCallIds) {
  json r = build_response(load("response_tool_calls.json")["chat"].dump(), info());
  ASSERT_EQ(r["output"].size(), 2u);
  for (const auto& item : r["output"]) {
    EXPECT_EQ(item["type"], "function_call");
    EXPECT_EQ(item["status"], "completed");
    EXPECT_EQ(item["id"].get<std::string>().rfind("fc_", 0), 0u);
  }
  EXPECT_EQ(r["output"][0]["call_id"], "call_a");
  EXPECT_EQ(r["output"][1]["arguments"], "{\"city\":\"Rome\"}");
  EXPECT_EQ(r["usage"]["input_tokens_details"]["cached_tokens"], 100);
  EXPECT_EQ(r["usage"]["output_tokens_details"]["reasoning_tokens"], 12);
}

TEST(ResponsesResponse, SignedThinkingSurvivesTheRoundTrip) {
  json r = build_response(load("response_reasoning.json")["chat"].dump(), info());
  ASSERT_GE(r["output"].size(), 3u);
  // The Response's output, sent back as input, gives Claude its signed thinking again.
  json input = r["output"];
  input.insert(input.begin(), json::object({{"role", "user"}, {"content", "q"}}));
  input.push_back(json::object({{"role", "user"}, {"content", "next"}}));
  auto parsed = parse_request({{"model", "m"}, {"input", input}}, json::array());
  ASSERT_TRUE(std::holds_alternative<Request>(parsed)) << std::get<Error>(parsed).message;
  const json& assistant = std::get<Request>(parsed).chat["messages"][1];
  EXPECT_EQ(assistant["content"], "42.");
  EXPECT_EQ(assistant["reasoning_content"], "Let me think.");
  EXPECT_EQ(assistant["thinking_blocks"],
            json::array({{{"type", "thinking"}, {"thinking", "Let me think."}, {"signature", "EqQBsig"}},
                         {{"type", "redacted_thinking"}, {"data", "EmwKAhgB"}}}));
}

TEST(ResponsesResponse, CustomToolCallsComeBackAsCustomToolCallItems) {
  ResponseInfo i = info();
  i.echo["tools"] = json::array({json::object({{"type", "custom"}, {"name", "apply_patch"}})});
  json chat = load("response_tool_calls.json")["chat"];
  json& calls = chat["choices"][0]["message"]["tool_calls"];
  calls[0]["function"] = {{"name", "apply_patch"}, {"arguments", "{\"input\":\"*** Begin Patch\"}"}};
  calls[1]["function"] = {{"name", "apply_patch"}, {"arguments", "not json"}};
  json r = build_response(chat.dump(), i);
  EXPECT_EQ(r["output"][0]["type"], "custom_tool_call");
  EXPECT_EQ(r["output"][0]["input"], "*** Begin Patch");
  EXPECT_EQ(r["output"][0]["call_id"], "call_a");
  EXPECT_EQ(r["output"][1]["input"], "not json") << "arguments that are not the wrapper pass as is";
  // Sent back, the call becomes the same function call again.
  json input = json::array({json::object({{"role", "user"}, {"content", "q"}}), r["output"][0],
                            json::object({{"type", "custom_tool_call_output"}, {"call_id", "call_a"}, {"output", "ok"}})});
  auto parsed = parse_request({{"model", "m"}, {"input", input}, {"tools", i.echo["tools"]}}, json::array());
  ASSERT_TRUE(std::holds_alternative<Request>(parsed));
  EXPECT_EQ(std::get<Request>(parsed).chat["messages"][1]["tool_calls"][0]["function"]["arguments"],
            "{\"input\":\"*** Begin Patch\"}");
}

TEST(ResponsesResponse, NotAChatCompletionIsAFailedResponse) {
  for (std::string body : {"", "{}", "[1]", "{\"choices\":[]}", "{\"choices\":[3]}"}) {
    json r = build_response(body, info());
    EXPECT_EQ(r["status"], "failed") << body;
    EXPECT_EQ(r["error"]["code"], "server_error");
  }
}

TEST(ResponsesUsage, ReadsNativeUsage) {
  providers::Usage u = usage_from_responses(
      {{"input_tokens", 328},
       {"input_tokens_details", {{"cached_tokens", 256}}},
       {"output_tokens", 52},
       {"output_tokens_details", {{"reasoning_tokens", 40}}},
       {"total_tokens", 380}});
  EXPECT_TRUE(u.present);
  EXPECT_EQ(u.input, 328);
  EXPECT_EQ(u.cached_read, 256);
  EXPECT_EQ(u.output, 52);
  EXPECT_EQ(u.reasoning, 40);
  EXPECT_EQ(u.cache_write, 0);
  EXPECT_FALSE(usage_from_responses(nullptr).present);
  providers::Usage odd = usage_from_responses({{"input_tokens", -5}, {"output_tokens", "7"}});
  EXPECT_EQ(odd.input, 0);
  EXPECT_EQ(odd.output, 0);
  // And back: the shape a Response reports.
  EXPECT_EQ(usage_from_responses(responses_usage(u)).reasoning, 40);
  EXPECT_EQ(responses_usage(u)["total_tokens"], 380);
}

// A namespaced tool's call comes back with its own name and namespace: the names from the
// request (additional_tools too), or from the echoed top-level tools when none were passed.
TEST(ResponsesResponse, NamespacedCallsComeBackWithTheirNamespace) {
  json chat = {{"choices",
                json::array({json::object(
                    {{"index", 0},
                     {"finish_reason", "tool_calls"},
                     {"message",
                      {{"role", "assistant"},
                       {"content", nullptr},
                       {"tool_calls",
                        json::array({json::object({{"id", "call_1"}, {"type", "function"},
                                                   {"function", {{"name", "clock__sleep"}, {"arguments", "{\"duration_ms\":5}"}}}}),
                                     json::object({{"id", "call_2"}, {"type", "function"},
                                                   {"function", {{"name", "functions__exec"}, {"arguments", "{\"input\":\"1+1\"}"}}}})})}}}})})},
               {"usage", {{"prompt_tokens", 5}, {"completion_tokens", 3}, {"total_tokens", 8}}}};
  auto parsed = parse_request(load("request_codex_known_model.json")["request"], json::array());
  ASSERT_TRUE(std::holds_alternative<Request>(parsed));
  ResponseInfo i = info();
  i.tools = std::get<Request>(parsed).tools;
  json r = build_response(chat.dump(), i);
  const json& out = r["output"];
  ASSERT_EQ(out.size(), 2u) << out.dump();
  EXPECT_EQ(out[0]["type"], "function_call");
  EXPECT_EQ(out[0]["name"], "sleep");
  EXPECT_EQ(out[0]["namespace"], "clock");
  EXPECT_EQ(out[0]["arguments"], "{\"duration_ms\":5}");
  EXPECT_EQ(out[1]["type"], "custom_tool_call");
  EXPECT_EQ(out[1]["name"], "exec");
  EXPECT_EQ(out[1]["namespace"], "functions");
  EXPECT_EQ(out[1]["input"], "1+1");
  // From the echo alone (top-level namespace tools, as Codex sends for unknown model names).
  ResponseInfo e = info();
  e.echo["tools"] = load("request_codex_known_model.json")["request"]["input"][0]["tools"];
  json from_echo = build_response(chat.dump(), e);
  EXPECT_EQ(from_echo["output"][0]["namespace"], "clock");
  EXPECT_EQ(from_echo["output"][1]["type"], "custom_tool_call");
  // A name no tool has stays a plain function call.
  json plain = build_response(chat.dump(), info());
  EXPECT_EQ(plain["output"][0]["name"], "clock__sleep");
  EXPECT_FALSE(plain["output"][0].contains("namespace"));
}

}  // namespace
}  // namespace tg::dialects::responses
