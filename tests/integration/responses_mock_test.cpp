// tollgate-mock speaking OpenAI's Responses API, talked to directly (the gateway's own
// /v1/responses is tested elsewhere): non-streamed and streamed answers, the event sequence and
// its numbering, a function-tool round trip, max_output_tokens, usage details, faults, the
// request log, and Azure's v1 path.

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

struct NamedEvent {
  std::string name;
  json data;
};

// "event: X\ndata: {...}\n\n" events, in order (the mock writes one data line per event).
std::vector<NamedEvent> named_events(const std::string& body) {
  std::vector<NamedEvent> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    std::string block = body.substr(pos, end - pos);
    pos = end + 2;
    NamedEvent e;
    size_t line = 0;
    while (line < block.size()) {
      size_t nl = block.find('\n', line);
      if (nl == std::string::npos) nl = block.size();
      std::string l = block.substr(line, nl - line);
      if (l.rfind("event: ", 0) == 0) e.name = l.substr(7);
      if (l.rfind("data: ", 0) == 0) e.data = json::parse(l.substr(6), nullptr, false);
      line = nl + 1;
    }
    if (!e.name.empty() || !e.data.is_null()) out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> names(const std::vector<NamedEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.name);
  return out;
}

HttpResponse post(const Mock& m, const json& body, const Headers& headers = {},
                  const std::string& path = "/v1/responses") {
  return http(m.port(), "POST", path, body.dump(), headers);
}

TEST(ResponsesMock, NonStreamedTextAnswer) {
  Mock mock;
  json body = {{"model", "gpt-4o-mini"},
               {"instructions", "answer briefly please"},
               {"input", "Bonjour ✓ monde"},
               {"metadata", {{"k", "v"}}}};
  auto r = post(mock, body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto j = r.json_body();
  EXPECT_EQ(j["object"], "response");
  EXPECT_EQ(j["status"], "completed");
  EXPECT_EQ(j["id"], "resp_mock_1");
  EXPECT_EQ(j["model"], "gpt-4o-mini");
  EXPECT_EQ(j["instructions"], "answer briefly please");  // echoed
  EXPECT_EQ(j["metadata"]["k"], "v");
  ASSERT_EQ(j["output"].size(), 1u);
  EXPECT_EQ(j["output"][0]["type"], "message");
  EXPECT_EQ(j["output"][0]["content"][0]["type"], "output_text");
  EXPECT_EQ(j["output"][0]["content"][0]["text"], "mock: Bonjour ✓ monde");
  // 3 instruction words + 3 input words; "mock: Bonjour ✓ monde" is 21 code points, 20 pieces.
  EXPECT_EQ(j["usage"]["input_tokens"], 6);
  EXPECT_EQ(j["usage"]["output_tokens"], 20);
  EXPECT_EQ(j["usage"]["total_tokens"], 26);
  EXPECT_EQ(j["usage"]["input_tokens_details"]["cached_tokens"], 0);
  EXPECT_EQ(j["usage"]["output_tokens_details"]["reasoning_tokens"], 0);

  // The bare path answers too, and the request is logged like a chat request.
  auto bare = post(mock, body, {}, "/responses");
  EXPECT_EQ(bare.status, 200) << bare.body;
  auto log = mock.requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["path"], "/v1/responses");
  EXPECT_EQ(log[0]["body"], body);
}

TEST(ResponsesMock, StreamedEventSequenceIsNumberedAndEndsWithUsage) {
  Mock mock;
  json body = {{"model", "gpt-4o-mini"}, {"input", "Hi there"}, {"stream", true}};
  auto r = post(mock, body, {{"x-mock-events", "4"}, {"x-mock-cached-tokens", "1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type").rfind("text/event-stream", 0), 0u);
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
  auto events = named_events(r.body);
  EXPECT_EQ(names(events),
            (std::vector<std::string>{"response.created", "response.in_progress",
                                      "response.output_item.added", "response.content_part.added",
                                      "response.output_text.delta", "response.output_text.delta",
                                      "response.output_text.delta", "response.output_text.delta",
                                      "response.output_text.done", "response.content_part.done",
                                      "response.output_item.done", "response.completed"}));
  std::string text;
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_TRUE(events[i].data.is_object()) << i;
    EXPECT_EQ(events[i].data["type"], events[i].name);
    EXPECT_EQ(events[i].data["sequence_number"], i);
    if (events[i].name == "response.output_text.delta") {
      EXPECT_EQ(events[i].data["item_id"], "msg_mock_1");
      EXPECT_EQ(events[i].data["output_index"], 0);
      EXPECT_EQ(events[i].data["content_index"], 0);
      text += events[i].data["delta"].get<std::string>();
    }
  }
  EXPECT_EQ(text, "mock: Hi there");
  EXPECT_EQ(events[0].data["response"]["status"], "in_progress");
  EXPECT_TRUE(events[0].data["response"]["usage"].is_null());
  EXPECT_EQ(events[8].data["text"], "mock: Hi there");
  const json& done = events.back().data["response"];
  EXPECT_EQ(done["status"], "completed");
  EXPECT_EQ(done["output"][0]["content"][0]["text"], "mock: Hi there");
  EXPECT_EQ(done["usage"]["input_tokens"], 2);
  EXPECT_EQ(done["usage"]["input_tokens_details"]["cached_tokens"], 1);
  EXPECT_EQ(done["usage"]["output_tokens"], 4);
  EXPECT_EQ(mock.stats()["streams_completed"], 1);
}

TEST(ResponsesMock, FunctionToolRoundTrip) {
  Mock mock;
  json tools = json::array({{{"type", "function"},
                             {"name", "get_weather"},
                             {"parameters", {{"type", "object"}, {"properties", json::object()}}}}});
  json first = {{"model", "gpt-4o-mini"},
                {"input", json::array({{{"role", "user"}, {"content", "weather in Paris"}}})},
                {"tools", tools},
                {"stream", true}};
  auto r = post(mock, first);
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = named_events(r.body);
  ASSERT_GE(events.size(), 6u);
  EXPECT_EQ(events[2].name, "response.output_item.added");
  EXPECT_EQ(events[2].data["item"]["type"], "function_call");
  std::string args;
  for (const auto& e : events) {
    if (e.name == "response.function_call_arguments.delta") args += e.data["delta"].get<std::string>();
  }
  EXPECT_EQ(json::parse(args), json({{"echo", "weather in Paris"}}));
  const json& call = events.back().data["response"]["output"][0];
  EXPECT_EQ(call["type"], "function_call");
  EXPECT_EQ(call["name"], "get_weather");
  EXPECT_EQ(call["call_id"], "call_mock_1");
  EXPECT_EQ(call["arguments"], args);

  // The client runs the tool and sends its output: the answer is text.
  json second = {{"model", "gpt-4o-mini"},
                 {"input", json::array({{{"role", "user"}, {"content", "weather in Paris"}},
                                        {{"type", "function_call"},
                                         {"call_id", call["call_id"]},
                                         {"name", "get_weather"},
                                         {"arguments", call["arguments"]}},
                                        {{"type", "function_call_output"},
                                         {"call_id", call["call_id"]},
                                         {"output", "18C and sunny"}}})},
                 {"tools", tools}};
  auto r2 = post(mock, second);
  ASSERT_EQ(r2.status, 200) << r2.body;
  auto j = r2.json_body();
  EXPECT_EQ(j["output"][0]["content"][0]["text"], "mock: tool said 18C and sunny");
  EXPECT_EQ(j["usage"]["input_tokens"], 6);  // the user's 3 words and the output's 3

  // An output for a call the input never made is refused, as OpenAI does.
  json orphan = second;
  orphan["input"].erase(1);
  auto r3 = post(mock, orphan);
  EXPECT_EQ(r3.status, 400);
  EXPECT_EQ(r3.json_body()["error"]["param"], "input");
  // tool_choice none: text.
  json none = first;
  none["stream"] = false;
  none["tool_choice"] = "none";
  EXPECT_EQ(post(mock, none).json_body()["output"][0]["type"], "message");
}

TEST(ResponsesMock, MaxOutputTokensMakesAnIncompleteResponse) {
  Mock mock;
  json body = {{"model", "gpt-4o-mini"},
               {"input", "a fairly long question indeed"},
               {"max_output_tokens", 16}};
  auto j = post(mock, body).json_body();
  EXPECT_EQ(j["status"], "incomplete");
  EXPECT_EQ(j["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(j["output"][0]["status"], "incomplete");
  EXPECT_EQ(j["output"][0]["content"][0]["text"], "mock: a fairly long question in");  // 16 pieces
  EXPECT_EQ(j["usage"]["output_tokens"], 16);

  body["stream"] = true;
  auto events = named_events(post(mock, body).body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().name, "response.incomplete");
  EXPECT_EQ(events.back().data["response"]["usage"]["output_tokens"], 16);

  body["max_output_tokens"] = 3;
  auto bad = post(mock, body);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json_body()["error"]["code"], "integer_below_min_value");
}

TEST(ResponsesMock, ReasoningTokensAddAReasoningItem) {
  Mock mock;
  auto j = post(mock, {{"model", "o4-mini"}, {"input", "think"}}, {{"x-mock-reasoning-tokens", "7"}})
               .json_body();
  ASSERT_EQ(j["output"].size(), 2u);
  EXPECT_EQ(j["output"][0]["type"], "reasoning");
  EXPECT_EQ(j["output"][1]["type"], "message");
  EXPECT_EQ(j["usage"]["output_tokens_details"]["reasoning_tokens"], 7);
  EXPECT_EQ(j["usage"]["output_tokens"], 7 + 11);  // "mock: think" is 11 pieces
}

TEST(ResponsesMock, FaultsApply) {
  Mock mock;
  json body = {{"model", "gpt-4o-mini"}, {"input", "Hi"}, {"stream", true}};
  // A queued 503 for this path only.
  mock.add_fault({{"status", 503}, {"match_path", "/v1/responses"}});
  auto failed = post(mock, body);
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(failed.json_body()["error"]["type"], "server_error");
  mock.add_fault({{"status", 429}, {"retry_after", 2}});
  auto limited = post(mock, body);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("retry-after"), "2");

  // error_mid_stream: an error event then response.failed, numbered after what was sent.
  auto cut = post(mock, body,
                  {{"x-mock-events", "3"},
                   {"x-mock-fault", R"({"mode":"error_mid_stream","after_events":5})"}});
  ASSERT_EQ(cut.status, 200);
  auto events = named_events(cut.body);
  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(events[5].name, "error");
  EXPECT_EQ(events[5].data["sequence_number"], 5);
  EXPECT_EQ(events[5].data["message"], "mock mid-stream error");
  EXPECT_EQ(events[6].name, "response.failed");
  EXPECT_EQ(events[6].data["sequence_number"], 6);
  EXPECT_EQ(events[6].data["response"]["status"], "failed");
  EXPECT_EQ(events[6].data["response"]["error"]["code"], "server_error");
  EXPECT_EQ(events[6].data["response"]["usage"]["output_tokens"], 1);  // one delta was sent

  // drop_mid_stream: the events sent, then the connection closes (no response.completed).
  auto dropped = post(mock, body, {{"x-mock-fault", R"({"mode":"drop_mid_stream","after_events":2})"}});
  EXPECT_EQ(dropped.body.find("response.completed"), std::string::npos);

  // malformed: one event whose data is not JSON.
  auto bad = post(mock, body, {{"x-mock-fault", R"({"mode":"malformed"})"}});
  auto bad_events = named_events(bad.body);
  ASSERT_EQ(bad_events.size(), 1u);
  EXPECT_TRUE(bad_events[0].data.is_discarded());
  auto log = mock.requests();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[2]["fault"], "error_mid_stream");
}

TEST(ResponsesMock, ValidationAndAuth) {
  Mock mock({"--api-key", "up-key"});
  const Headers auth = {{"authorization", "Bearer up-key"}};
  auto no_key = post(mock, {{"model", "m"}, {"input", "x"}});
  EXPECT_EQ(no_key.status, 401);
  EXPECT_EQ(post(mock, {{"model", "m"}}, auth).json_body()["error"]["param"], "input");
  EXPECT_EQ(post(mock, {{"model", "missing-x"}, {"input", "x"}}, auth).status, 404);
  auto role = post(mock, {{"model", "m"}, {"input", json::array({{{"role", "robot"}, {"content", "x"}}})}}, auth);
  EXPECT_EQ(role.status, 400);
  EXPECT_EQ(role.json_body()["error"]["param"], "input[0].role");
  auto choice = post(mock, {{"model", "m"}, {"input", "x"},
                            {"tool_choice", {{"type", "function"}, {"name", "nope"}}}}, auth);
  EXPECT_EQ(choice.status, 400);
  EXPECT_EQ(http(mock.port(), "GET", "/v1/responses", "", auth).status, 405);
}

TEST(ResponsesMock, AzureV1Path) {
  Mock mock({"--api-key", "az-key"});
  json body = {{"model", "my-deployment"}, {"input", "hello azure"}, {"stream", true}};
  auto r = post(mock, body, {{"api-key", "az-key"}}, "/openai/v1/responses");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.header("apim-request-id").empty());
  auto events = named_events(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().name, "response.created");  // no chat-style annotation chunk
  EXPECT_EQ(events.back().name, "response.completed");
  EXPECT_EQ(events.back().data["response"]["model"], "my-deployment");
  auto denied = post(mock, body, {{"api-key", "wrong"}}, "/openai/v1/responses");
  EXPECT_EQ(denied.status, 401);
}

}  // namespace
}  // namespace tg::it
