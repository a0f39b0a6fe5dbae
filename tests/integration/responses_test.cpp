// POST /v1/responses end to end: translated to chat for a chat-only target, the stored
// conversation (GET/DELETE, input_items, previous_response_id) scoped to the key that made it,
// and the same money as the same conversation through chat.

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

const char* kKeys =
    "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n"
    "keys:\n"
    "  - {name: alice, key: sk-alice-0123456789, budget: {usd: 10, period: monthly}}\n"
    "  - {name: bob, key: sk-bob-0123456789}\n";

json ask(const std::string& text, bool stream = false) {
  json body = {{"model", "gpt-test"}, {"input", text}};
  if (stream) body["stream"] = true;
  return body;
}

std::string output_text(const json& response) {
  std::string text;
  for (const auto& item : response.value("output", json::array())) {
    if (item.value("type", "") != "message") continue;
    for (const auto& part : item.value("content", json::array())) {
      if (part.value("type", "") == "output_text") text += part.value("text", "");
    }
  }
  return text;
}

// The events of a Responses stream: (type, data).
std::vector<json> events_of(const std::string& body) {
  std::vector<json> out;
  for (const auto& data : sse_data(body)) out.push_back(json::parse(data, nullptr, false));
  return out;
}

json last_mock_body(Mock& mock) {
  json reqs = mock.requests();
  return reqs.empty() ? json() : reqs.back()["body"];
}

TEST(Responses, TranslatedToChatAndStored) {
  Mock mock;
  Gateway gw(mock_config(mock, kKeys));
  auto r = gw.post("/v1/responses", ask("hello there"), "sk-alice-0123456789");
  ASSERT_EQ(r.status, 200) << r.body;
  json resp = r.json_body();
  EXPECT_EQ(resp["object"], "response");
  EXPECT_EQ(resp["status"], "completed");
  EXPECT_TRUE(resp["id"].get<std::string>().starts_with("resp_"));
  EXPECT_EQ(output_text(resp), "mock: hello there");
  EXPECT_GT(resp["usage"]["input_tokens"].get<int>(), 0);
  EXPECT_GT(resp["usage"]["output_tokens"].get<int>(), 0);
  EXPECT_EQ(r.header("x-tollgate-provider"), "mock");
  EXPECT_FALSE(r.header("x-tollgate-cost-usd").empty());
  // The target got a chat request.
  json sent = last_mock_body(mock);
  ASSERT_TRUE(sent.contains("messages")) << sent.dump();
  EXPECT_EQ(sent["messages"].back()["content"], "hello there");

  const std::string id = resp["id"];
  auto got = gw.get("/v1/responses/" + id, "sk-alice-0123456789");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.json_body()["id"], id);
  EXPECT_EQ(output_text(got.json_body()), "mock: hello there");
  auto items = gw.get("/v1/responses/" + id + "/input_items", "sk-alice-0123456789");
  ASSERT_EQ(items.status, 200) << items.body;
  ASSERT_EQ(items.json_body()["data"].size(), 1u);
  EXPECT_EQ(items.json_body()["data"][0]["role"], "user");
  // Bare paths too.
  EXPECT_EQ(gw.get("/responses/" + id, "sk-alice-0123456789").status, 200);
}

TEST(Responses, StoredResponsesAreScopedToTheKey) {
  Mock mock;
  Gateway gw(mock_config(mock, kKeys));
  auto r = gw.post("/v1/responses", ask("mine"), "sk-alice-0123456789");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = r.json_body()["id"];
  auto other = gw.get("/v1/responses/" + id, "sk-bob-0123456789");
  EXPECT_EQ(other.status, 404) << other.body;
  json next = ask("continue");
  next["previous_response_id"] = id;
  auto cont = gw.post("/v1/responses", next, "sk-bob-0123456789");
  EXPECT_EQ(cont.status, 404) << cont.body;
  EXPECT_EQ(cont.json_body()["error"]["param"], "previous_response_id");
  // DELETE by another key: 404; by the owner: gone.
  EXPECT_EQ(http(gw.port(), "DELETE", "/v1/responses/" + id, "",
                 {{"Authorization", "Bearer sk-bob-0123456789"}})
                .status,
            404);
  auto del = http(gw.port(), "DELETE", "/v1/responses/" + id, "",
                  {{"Authorization", "Bearer sk-alice-0123456789"}});
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(del.json_body()["deleted"], true);
  EXPECT_EQ(gw.get("/v1/responses/" + id, "sk-alice-0123456789").status, 404);
}

TEST(Responses, StoreFalseKeepsNothing) {
  Mock mock;
  Gateway gw(mock_config(mock, kKeys));
  json body = ask("forget me");
  body["store"] = false;
  auto r = gw.post("/v1/responses", body, "sk-alice-0123456789");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(gw.get("/v1/responses/" + r.json_body()["id"].get<std::string>(),
                   "sk-alice-0123456789")
                .status,
            404);
}

TEST(Responses, PreviousResponseIdSurvivesAFailoverToAnotherProvider) {
  Mock first, second;
  std::string config =
      "server:\n  master_key: sk-test-master\n  workers: 2\n"
      "providers:\n"
      "  one:\n    type: openai-compatible\n    base_url: " + first.base_url() +
      "\n    api_key: k1\n"
      "  two:\n    type: openai-compatible\n    base_url: " + second.base_url() +
      "\n    api_key: k2\n"
      "router:\n  retries: 0\n"
      "models:\n  - name: gpt-test\n    targets: [one/m1, two/m2]\n";
  Gateway gw(config);
  json turn1 = ask("my name is Ada");
  turn1["instructions"] = "Be brief.";
  auto r1 = gw.post("/v1/responses", turn1);
  ASSERT_EQ(r1.status, 200) << r1.body;
  EXPECT_EQ(r1.header("x-tollgate-provider"), "one");
  first.add_fault({{"mode", "status"}, {"status", 503}, {"count", -1}});
  json turn2 = ask("what is my name?");
  turn2["previous_response_id"] = r1.json_body()["id"];
  auto r2 = gw.post("/v1/responses", turn2);
  ASSERT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(r2.header("x-tollgate-provider"), "two");
  EXPECT_EQ(r2.json_body()["previous_response_id"], r1.json_body()["id"]);
  // The second provider saw the whole conversation; the first turn's instructions are not
  // carried over (as OpenAI does).
  json sent = last_mock_body(second);
  ASSERT_TRUE(sent["messages"].is_array()) << sent.dump();
  ASSERT_EQ(sent["messages"].size(), 3u) << sent.dump();
  EXPECT_EQ(sent["messages"][0]["role"], "user");
  EXPECT_EQ(sent["messages"][0]["content"], "my name is Ada");
  EXPECT_EQ(sent["messages"][1]["role"], "assistant");
  EXPECT_EQ(sent["messages"][1]["content"], "mock: my name is Ada");
  EXPECT_EQ(sent["messages"][2]["content"], "what is my name?");
}

TEST(Responses, StreamedTranslationEmitsTheFullEventSequence) {
  Mock mock;
  Gateway gw(mock_config(mock, kKeys));
  auto r = gw.post("/v1/responses", ask("stream me", true), "sk-alice-0123456789");
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = events_of(r.body);
  ASSERT_GE(events.size(), 8u) << r.body;
  EXPECT_EQ(events.front()["type"], "response.created");
  EXPECT_EQ(events.back()["type"], "response.completed");
  std::string text;
  int64_t seq = -1;
  for (const auto& e : events) {
    EXPECT_GT(e["sequence_number"].get<int64_t>(), seq);
    seq = e["sequence_number"];
    if (e["type"] == "response.output_text.delta") text += e["delta"].get<std::string>();
  }
  EXPECT_EQ(text, "mock: stream me");
  const json& done = events.back()["response"];
  EXPECT_GT(done["usage"]["output_tokens"].get<int>(), 0);
  // The streamed answer is stored too.
  auto got = gw.get("/v1/responses/" + done["id"].get<std::string>(), "sk-alice-0123456789");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(output_text(got.json_body()), "mock: stream me");
}

TEST(Responses, FunctionToolRoundTrip) {
  Mock mock;
  Gateway gw(mock_config(mock, kKeys));
  json body = ask("weather in Paris");
  body["tools"] = json::array({{{"type", "function"},
                                {"name", "get_weather"},
                                {"description", "Weather of a city"},
                                {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}});
  auto r1 = gw.post("/v1/responses", body);
  ASSERT_EQ(r1.status, 200) << r1.body;
  json call;
  const json first = r1.json_body();
  for (const auto& item : first["output"]) {
    if (item["type"] == "function_call") call = item;
  }
  ASSERT_TRUE(call.is_object()) << r1.body;
  EXPECT_EQ(call["name"], "get_weather");
  json turn2 = {{"model", "gpt-test"},
                {"previous_response_id", first["id"]},
                {"tools", body["tools"]},
                {"input", json::array({{{"type", "function_call_output"},
                                        {"call_id", call["call_id"]},
                                        {"output", "sunny"}}})}};
  auto r2 = gw.post("/v1/responses", turn2);
  ASSERT_EQ(r2.status, 200) << r2.body;
  json sent = last_mock_body(mock);
  ASSERT_GE(sent["messages"].size(), 3u) << sent.dump();
  EXPECT_EQ(sent["messages"].back()["role"], "tool");
  EXPECT_EQ(sent["messages"].back()["tool_call_id"], call["call_id"]);
  EXPECT_EQ(sent["messages"].back()["content"], "sunny");
}

// The Response repeats the client's tools as it wrote them; a body written over several lines
// (JSON whitespace) must still give one SSE data line per event, and the same tools.
TEST(Responses, ToolsFromABodyOnSeveralLinesAreEchoedOnOneLine) {
  Mock mock;
  Gateway gw(mock_config(mock, kKeys));
  json body = ask("weather in Paris", true);
  body["store"] = false;
  body["tools"] = json::array({{{"type", "function"},
                                {"name", "get_weather"},
                                {"description", "Weather\nof a city"},
                                {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}});
  const std::string pretty = body.dump(2);
  ASSERT_NE(pretty.find('\n'), std::string::npos);
  auto r = http(gw.port(), "POST", "/v1/responses", pretty,
                {{"Authorization", "Bearer sk-alice-0123456789"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = events_of(r.body);
  ASSERT_GE(events.size(), 4u) << r.body;
  for (const auto& e : events) ASSERT_TRUE(e.is_object()) << r.body;
  EXPECT_EQ(events.front()["response"]["tools"], body["tools"]);
  EXPECT_EQ(events.back()["type"], "response.completed");
  EXPECT_EQ(events.back()["response"]["tools"], body["tools"]);
  // Not streamed: the same tools.
  body["stream"] = false;
  auto whole = http(gw.port(), "POST", "/v1/responses", body.dump(4),
                    {{"Authorization", "Bearer sk-alice-0123456789"}});
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(whole.json_body()["tools"], body["tools"]);
}

TEST(Responses, BuiltInToolsOnATranslatedTargetAreRefusedByName) {
  Mock mock;
  Gateway gw(mock_config(mock, kKeys));
  json body = ask("search the web");
  body["tools"] = json::array({{{"type", "web_search"}}});
  auto r = gw.post("/v1/responses", body);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.json_body()["error"]["message"].get<std::string>().find("web_search"),
            std::string::npos);
  EXPECT_TRUE(mock.requests().empty());
}

TEST(Responses, CostsTheSameAsTheSameConversationThroughChat) {
  Mock mock;
  Gateway gw(mock_config(mock, kKeys));
  auto viaResponses = gw.post("/v1/responses", ask("price me"), "sk-alice-0123456789");
  ASSERT_EQ(viaResponses.status, 200) << viaResponses.body;
  auto viaChat = gw.post("/v1/chat/completions", chat("gpt-test", "price me"), "sk-alice-0123456789");
  ASSERT_EQ(viaChat.status, 200) << viaChat.body;
  EXPECT_EQ(viaResponses.header("x-tollgate-cost-usd"), viaChat.header("x-tollgate-cost-usd"));
  json rows;
  ASSERT_TRUE(eventually([&] {
    rows = gw.get("/admin/logs?limit=10").json_body()["data"];
    return rows.is_array() && rows.size() == 2;
  }));
  EXPECT_EQ(rows[0]["tokens"]["input"], rows[1]["tokens"]["input"]);
  EXPECT_EQ(rows[0]["tokens"]["output"], rows[1]["tokens"]["output"]);
  EXPECT_EQ(rows[0]["cost_nano_usd"], rows[1]["cost_nano_usd"]);
  EXPECT_GT(rows[0]["tokens"]["output"].get<int>(), 0);
  // Both count against the key's budget.
  json keys = gw.get("/admin/keys").json_body()["data"];
  double spent = -1;
  for (const auto& k : keys) {
    if (k["name"] == "alice") spent = k["budget"]["spend_usd"].get<double>();
  }
  EXPECT_GT(spent, 0);
}

// The mock as a provider that speaks Responses natively.
std::string native_config(const Mock& mock, const std::string& extra = "") {
  return "server:\n  master_key: sk-test-master\n  workers: 2\n"
         "providers:\n"
         "  native:\n    type: openai-compatible\n    base_url: " + mock.base_url() +
         "\n    api_key: k\n    responses: native\n"
         "models:\n  - name: gpt-test\n    targets: [native/gpt-4o-mini]\n"
         "pricing:\n  native/gpt-4o-mini: {input: 1.0, output: 2.0}\n" + extra;
}

TEST(Responses, NativeTargetGetsTheClientsBodyAndIsBilled) {
  Mock mock;
  Gateway gw(native_config(mock));
  json body = ask("hello native");
  body["text"] = {{"verbosity", "low"}};  // something chat cannot carry passes through
  auto r = gw.post("/v1/responses", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(output_text(r.json_body()), "mock: hello native");
  json reqs = mock.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0]["path"], "/v1/responses");
  EXPECT_EQ(reqs[0]["body"]["model"], "gpt-4o-mini");
  EXPECT_EQ(reqs[0]["body"]["text"]["verbosity"], "low");
  EXPECT_FALSE(r.header("x-tollgate-cost-usd").empty());
  json rows;
  ASSERT_TRUE(eventually([&] {
    rows = gw.get("/admin/logs?limit=5").json_body()["data"];
    return rows.is_array() && rows.size() == 1;
  }));
  EXPECT_GT(rows[0]["tokens"]["output"].get<int>(), 0);
  EXPECT_FALSE(rows[0]["cost_nano_usd"].is_null());
  // Stored under the upstream's id.
  const std::string id = r.json_body()["id"];
  EXPECT_EQ(gw.get("/v1/responses/" + id).status, 200);
}

TEST(Responses, NativeStreamPassesEventsThroughAndIsStored) {
  Mock mock;
  Gateway gw(native_config(mock));
  auto r = gw.post("/v1/responses", ask("native stream", true));
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = events_of(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["type"], "response.created");
  EXPECT_EQ(events.back()["type"], "response.completed");
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
  const std::string id = events.back()["response"]["id"];
  EXPECT_EQ(output_text(gw.get("/v1/responses/" + id).json_body()), "mock: native stream");
}

// A client that hangs up on a native stream still pays for what was generated: the deltas are
// counted (estimated, marked so), as for a chat stream. Regression: it was charged no output,
// since a Responses delta is a string under "delta", which the meter did not read.
TEST(Responses, NativeStreamTheClientCutsIsBilledForWhatWasGenerated) {
  Mock mock({"--events", "200", "--interval-ms", "5"});
  Gateway gw(native_config(mock));
  std::string text(400, 'x');
  for (size_t i = 5; i < text.size(); i += 6) text[i] = ' ';
  size_t got = 0;
  auto r = http_stream(gw.port(), "/v1/responses", ask(text, true).dump(),
                       {{"Authorization", "Bearer sk-test-master"}, {"x-request-id", "cut-native-1"}},
                       [&](const std::string& chunk) {
                         got += chunk.size();
                         return got < 12000;  // part of the answer, then hang up
                       });
  EXPECT_EQ(r.status, 200);
  json row;
  ASSERT_TRUE(eventually([&] {
    json rows = gw.get("/admin/logs?limit=5").json_body();
    for (const auto& x : rows["data"]) {
      if (x["request_id"] == "cut-native-1") row = x;
    }
    return row.is_object();
  })) << gw.get("/admin/logs?limit=5").body;
  EXPECT_EQ(row["error_code"], "client_closed") << row.dump();
  EXPECT_EQ(row["usage_estimated"], true) << row.dump();
  const int64_t out = row["tokens"]["output"].get<int64_t>();
  EXPECT_GT(out, 20) << row.dump();
  EXPECT_LE(out, 200) << row.dump();  // never more than the whole answer would have been
  ASSERT_FALSE(row["cost_usd"].is_null()) << row.dump();
  EXPECT_NEAR(row["cost_usd"].get<double>(),
              (row["tokens"]["input"].get<double>() * 1 + out * 2) / 1e6, 1.01e-6);
}

TEST(Responses, NativeTargetGetsTheStoredConversationExpanded) {
  Mock mock;
  Gateway gw(native_config(mock));
  auto r1 = gw.post("/v1/responses", ask("remember 42"));
  ASSERT_EQ(r1.status, 200) << r1.body;
  json turn2 = ask("what number?");
  turn2["previous_response_id"] = r1.json_body()["id"];
  auto r2 = gw.post("/v1/responses", turn2);
  ASSERT_EQ(r2.status, 200) << r2.body;
  // The client still sees the conversation it continued.
  EXPECT_EQ(r2.json_body()["previous_response_id"], r1.json_body()["id"]);
  turn2["stream"] = true;
  auto r3 = gw.post("/v1/responses", turn2);
  ASSERT_EQ(r3.status, 200) << r3.body;
  auto events = events_of(r3.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["type"], "response.completed");
  EXPECT_EQ(events.back()["response"]["previous_response_id"], r1.json_body()["id"]);
  json sent = last_mock_body(mock);
  EXPECT_FALSE(sent.contains("previous_response_id")) << sent.dump();
  ASSERT_TRUE(sent["input"].is_array()) << sent.dump();
  ASSERT_EQ(sent["input"].size(), 3u) << sent.dump();
  EXPECT_EQ(sent["input"][1]["role"], "assistant");
}

TEST(Responses, BuiltInToolsPassToANativeTarget) {
  Mock mock;
  Gateway gw(native_config(mock));
  json body = ask("search the web");
  body["tools"] = json::array({{{"type", "web_search"}}});
  auto r = gw.post("/v1/responses", body);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(mock.requests().size(), 1u);
}

TEST(Responses, HostileBodiesAndIdsGetCleanErrorsAndTheDaemonKeepsServing) {
  Mock mock;
  Gateway gw(mock_config(mock, kKeys));
  // Nested a million deep: refused by the depth check before any parse or walk.
  std::string deep = R"({"model":"gpt-test","input":"x","metadata":)";
  deep += std::string(1'000'000, '[') + std::string(1'000'000, ']') + "}";
  auto r = http(gw.port(), "POST", "/v1/responses", deep,
                {{"Authorization", "Bearer sk-test-master"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400) << r.body.substr(0, 200);
  // A previous_response_id with CR LF and NUL: a 404 in JSON, nothing echoed raw into headers.
  json body = ask("continue");
  body["previous_response_id"] = std::string("resp_x\r\nX-Injected: 1\0y", 24);
  auto p = gw.post("/v1/responses", body);
  EXPECT_EQ(p.status, 404) << p.body;
  EXPECT_TRUE(p.json_body().contains("error"));
  EXPECT_EQ(p.header("x-injected"), "");
  // A huge limit on input_items is clamped, not trusted.
  auto ok = gw.post("/v1/responses", ask("still serving"));
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto items = gw.get("/v1/responses/" + ok.json_body()["id"].get<std::string>() +
                      "/input_items?limit=9223372036854775808");
  ASSERT_EQ(items.status, 200) << items.body;
  EXPECT_EQ(items.json_body()["data"].size(), 1u);
}

// The same Responses call served by a provider with its own native API (Anthropic Messages,
// Gemini generateContent): Responses -> chat -> the provider's adapter -> back.
class ResponsesThroughProvider : public ::testing::TestWithParam<const char*> {};

TEST_P(ResponsesThroughProvider, TranslatedStreamedAndNot) {
  Mock mock;
  const std::string type = GetParam();
  const std::string root = "http://127.0.0.1:" + std::to_string(mock.port());
  const std::string model = type == "anthropic" ? "claude-sonnet-4-5" : "gemini-2.5-flash";
  Gateway gw("server:\n  master_key: sk-test-master\n  workers: 1\n"
             "providers:\n  up:\n    type: " + type + "\n    base_url: " + root +
             "\n    api_key: up-key\n"
             "models:\n  - name: gpt-test\n    targets: [up/" + model + "]\n");
  json body = ask("hello provider");
  body["instructions"] = "Be brief.";
  auto r = gw.post("/v1/responses", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tollgate-provider"), "up");
  EXPECT_NE(output_text(r.json_body()).find("hello provider"), std::string::npos) << r.body;
  EXPECT_GT(r.json_body()["usage"]["output_tokens"].get<int>(), 0);
  auto s = gw.post("/v1/responses", ask("stream provider", true));
  ASSERT_EQ(s.status, 200) << s.body;
  auto events = events_of(s.body);
  ASSERT_FALSE(events.empty()) << s.body;
  EXPECT_EQ(events.back()["type"], "response.completed") << s.body;
  std::string text;
  for (const auto& e : events) {
    if (e["type"] == "response.output_text.delta") text += e["delta"].get<std::string>();
  }
  EXPECT_NE(text.find("stream provider"), std::string::npos) << s.body;
  // The provider got its own wire format.
  json reqs = mock.requests();
  ASSERT_EQ(reqs.size(), 2u);
  const std::string path = reqs[0]["path"];
  EXPECT_NE(path.find(type == "anthropic" ? "/v1/messages" : ":generateContent"),
            std::string::npos) << path;
}

INSTANTIATE_TEST_SUITE_P(Providers, ResponsesThroughProvider,
                         ::testing::Values("anthropic", "gemini"));

}  // namespace
}  // namespace tg::it
