// One conformance suite, run against every provider type through the real daemon and the mock
// speaking that provider's wire format. Adding a provider = adding a row to kProviderCases.
// The mock answers every format the same way: "mock: <last user text>", a tool call to the
// first tool with arguments {"echo": "<last user text>"}, and "mock: tool said <result>" after a
// tool result; so one set of client-side expectations fits all.

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

struct ProviderCase {
  std::string name;  // test name suffix
  // The providers: entry for provider "p" pointing at the mock (root URL given, no /v1).
  std::function<std::string(const std::string& mock_root)> provider_yaml;
  std::string model = "gpt-4o-mini";  // the upstream model asked for
  std::vector<std::string> mock_args;
};

// gtest prints a parameter in a failure's "GetParam() = ..." line: the provider's name, not
// the struct's bytes.
void PrintTo(const ProviderCase& c, std::ostream* os) { *os << c.name; }

std::vector<ProviderCase> provider_cases() {
  return {
      {"OpenAI",
       [](const std::string& root) {
         return "  p:\n    type: openai\n    base_url: " + root + "/v1\n    api_key: up-key\n";
       }},
      {"OpenAICompatible",
       [](const std::string& root) {
         return "  p:\n    type: openai-compatible\n    base_url: " + root + "/v1\n"
                "    api_key: up-key\n";
       }},
      // Rows for anthropic, gemini, azure and bedrock are added with their adapters.
#include "conformance_cases.inc"
  };
}

class Conformance : public ::testing::TestWithParam<ProviderCase> {
 protected:
  void SetUp() override {
    const auto& c = GetParam();
    mock_ = std::make_unique<Mock>(c.mock_args);
    std::string root = "http://127.0.0.1:" + std::to_string(mock_->port());
    gw_ = std::make_unique<Gateway>(
        "server:\n  master_key: sk-test-master\n  workers: 1\n"
        "router:\n  retries: 1\n  allowed_fails: 100\n"
        "providers:\n" + c.provider_yaml(root) +
        "models:\n  - name: m\n    targets: [p/" + c.model + "]\n");
  }
  json chat(const json& messages, json extra = json::object()) {
    json body = {{"model", "m"}, {"messages", messages}};
    for (auto& [k, v] : extra.items()) body[k] = v;
    return body;
  }
  static json user(const std::string& text) {
    return json::array({{{"role", "user"}, {"content", text}}});
  }
  std::unique_ptr<Mock> mock_;
  std::unique_ptr<Gateway> gw_;
};

json tools() {
  return json::array({{{"type", "function"},
                       {"function",
                        {{"name", "get_weather"},
                         {"description", "Weather for a city"},
                         {"parameters",
                          {{"type", "object"},
                           {"properties", {{"city", {{"type", "string"}}}}},
                           {"required", {"city"}}}}}}}});
}

std::string stream_content(const std::string& body, json* usage = nullptr,
                           json* tool_calls = nullptr, std::string* finish = nullptr) {
  std::string content;
  std::map<int, json> calls;
  for (const auto& d : sse_data(body)) {
    if (d == "[DONE]") continue;
    auto j = json::parse(d, nullptr, false);
    if (!j.is_object()) continue;
    if (usage && j.contains("usage") && j["usage"].is_object()) *usage = j["usage"];
    if (!j.contains("choices")) continue;
    for (const auto& c : j["choices"]) {
      const auto& delta = c.value("delta", json::object());
      if (delta.contains("content") && delta["content"].is_string()) {
        content += delta["content"].get<std::string>();
      }
      if (delta.contains("tool_calls")) {
        for (const auto& tc : delta["tool_calls"]) {
          int idx = tc.value("index", 0);
          json& call = calls[idx];
          if (tc.contains("id")) call["id"] = tc["id"];
          if (tc.contains("function")) {
            const auto& f = tc["function"];
            if (f.contains("name")) call["name"] = f["name"];
            if (f.contains("arguments") && f["arguments"].is_string()) {
              call["arguments"] = call.value("arguments", "") + f["arguments"].get<std::string>();
            }
          }
        }
      }
      if (finish && c.contains("finish_reason") && c["finish_reason"].is_string()) {
        *finish = c["finish_reason"];
      }
    }
  }
  if (tool_calls) {
    *tool_calls = json::array();
    for (auto& [i, c] : calls) tool_calls->push_back(c);
  }
  return content;
}

TEST_P(Conformance, PlainChatWithUsage) {
  auto r = gw_->post("/v1/chat/completions", chat(user("Hello, conformance ✓")));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json_body();
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "mock: Hello, conformance ✓");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_GT(j["usage"]["completion_tokens"].get<int>(), 0);
  EXPECT_EQ(j["usage"]["total_tokens"].get<int>(),
            j["usage"]["prompt_tokens"].get<int>() + j["usage"]["completion_tokens"].get<int>());
}

TEST_P(Conformance, SystemPromptAndMultiTurn) {
  json messages = json::array({{{"role", "system"}, {"content", "Be terse."}},
                               {{"role", "user"}, {"content", "first"}},
                               {{"role", "assistant"}, {"content", "mock: first"}},
                               {{"role", "user"}, {"content", "second turn"}}});
  auto r = gw_->post("/v1/chat/completions", chat(messages));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], "mock: second turn");
}

TEST_P(Conformance, StreamedChatWithAndWithoutUsage) {
  auto r = gw_->post("/v1/chat/completions", chat(user("stream conformance"), {{"stream", true}}));
  ASSERT_EQ(r.status, 200) << r.body;
  json usage;
  std::string finish;
  EXPECT_EQ(stream_content(r.body, &usage, nullptr, &finish), "mock: stream conformance");
  EXPECT_EQ(finish, "stop");
  EXPECT_TRUE(usage.is_null()) << "usage chunk must not appear unless asked";
  EXPECT_EQ(sse_data(r.body).back(), "[DONE]");
  auto u = gw_->post("/v1/chat/completions",
                     chat(user("stream usage"),
                          {{"stream", true}, {"stream_options", {{"include_usage", true}}}}));
  ASSERT_EQ(u.status, 200);
  json usage2;
  EXPECT_EQ(stream_content(u.body, &usage2), "mock: stream usage");
  ASSERT_TRUE(usage2.is_object()) << u.body;
  EXPECT_GT(usage2["completion_tokens"].get<int>(), 0);
}

TEST_P(Conformance, ToolCallRoundTrip) {
  auto r = gw_->post("/v1/chat/completions", chat(user("Paris"), {{"tools", tools()}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto msg = r.json_body()["choices"][0]["message"];
  EXPECT_EQ(r.json_body()["choices"][0]["finish_reason"], "tool_calls");
  ASSERT_TRUE(msg["tool_calls"].is_array()) << r.body;
  auto call = msg["tool_calls"][0];
  EXPECT_FALSE(call["id"].get<std::string>().empty());
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(call["function"]["arguments"].get<std::string>()), json({{"echo", "Paris"}}));
  // Send the tool result back.
  json messages = user("Paris");
  messages.push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", msg["tool_calls"]}});
  messages.push_back({{"role", "tool"}, {"tool_call_id", call["id"]}, {"content", "18C and sunny"}});
  auto r2 = gw_->post("/v1/chat/completions", chat(messages, {{"tools", tools()}}));
  ASSERT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(r2.json_body()["choices"][0]["message"]["content"], "mock: tool said 18C and sunny");
}

TEST_P(Conformance, StreamedToolCall) {
  auto r = gw_->post("/v1/chat/completions",
                     chat(user("Lyon"), {{"tools", tools()}, {"stream", true}}));
  ASSERT_EQ(r.status, 200) << r.body;
  json calls;
  std::string finish;
  stream_content(r.body, nullptr, &calls, &finish);
  ASSERT_EQ(calls.size(), 1u) << r.body;
  EXPECT_EQ(calls[0]["name"], "get_weather");
  EXPECT_FALSE(calls[0].value("id", "").empty());
  EXPECT_EQ(json::parse(calls[0]["arguments"].get<std::string>()), json({{"echo", "Lyon"}}));
  EXPECT_EQ(finish, "tool_calls");
}

TEST_P(Conformance, ImageInputAndJsonMode) {
  json content = json::array(
      {{{"type", "text"}, {"text", "describe"}},
       {{"type", "image_url"},
        {"image_url", {{"url", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="}}}}});
  auto r = gw_->post("/v1/chat/completions",
                     chat(json::array({{{"role", "user"}, {"content", content}}})));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], "mock: describe");
  auto j = gw_->post("/v1/chat/completions",
                     chat(user("json please"), {{"response_format", {{"type", "json_object"}}}}));
  ASSERT_EQ(j.status, 200) << j.body;
}

TEST_P(Conformance, ErrorClasses) {
  // The client's own mistake (400) comes back as a 400 naming the provider, not retried.
  mock_->add_fault({{"mode", "status"}, {"status", 400}, {"message", "bad parameter"}});
  auto bad = gw_->post("/v1/chat/completions", chat(user("x")));
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.json_body()["error"]["provider"], "p");
  // A 429 is retried (router.retries: 1) and then succeeds.
  mock_->reset();
  mock_->add_fault({{"mode", "status"}, {"status", 429}, {"retry_after_ms", 10}});
  auto limited = gw_->post("/v1/chat/completions", chat(user("after 429")));
  EXPECT_EQ(limited.status, 200) << limited.body;
  EXPECT_EQ(limited.header("x-tollgate-attempts"), "2");
  // 5xx on every try: 502 listing the attempts.
  mock_->reset();
  mock_->add_fault({{"mode", "status"}, {"status", 500}, {"count", 2}});
  auto down = gw_->post("/v1/chat/completions", chat(user("x")));
  EXPECT_EQ(down.status, 502) << down.body;
  EXPECT_EQ(down.json_body()["error"]["code"], "upstream_error");
  // An error after the stream started ends it with an error event and no [DONE].
  mock_->reset();
  mock_->add_fault({{"mode", "error_mid_stream"}, {"after_events", 2}});
  auto mid = gw_->post("/v1/chat/completions",
                       chat(user("one two three four five six"), {{"stream", true}}));
  ASSERT_EQ(mid.status, 200) << mid.body;
  auto data = sse_data(mid.body);
  ASSERT_FALSE(data.empty());
  EXPECT_NE(data.back(), "[DONE]");
  EXPECT_TRUE(json::parse(data.back(), nullptr, false).contains("error")) << mid.body;
}

INSTANTIATE_TEST_SUITE_P(Providers, Conformance, ::testing::ValuesIn(provider_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace tg::it
