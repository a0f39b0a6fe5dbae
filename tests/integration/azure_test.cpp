// Azure OpenAI through the real daemon and tollgate-mock's Azure format, where the conformance
// suite does not reach: the exact upstream request (URL, api-version, api-key header, body),
// the v1 path, Azure's stream annotations, its errors (DeploymentNotFound fails over, content
// filter 400 passes through, 429 retried), and the mock's own Azure behaviour. Plus the preset
// quirks of the OpenAI-compatible family as they reach the wire.

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

json user_chat(const std::string& model, const std::string& text, json extra = json::object()) {
  json body = {{"model", model}, {"messages", json::array({{{"role", "user"}, {"content", text}}})}};
  for (auto& [k, v] : extra.items()) body[k] = v;
  return body;
}

std::string root_of(const Mock& m) { return "http://127.0.0.1:" + std::to_string(m.port()); }

std::string gateway_config(const std::string& providers, const std::string& models) {
  return "server:\n  master_key: sk-test-master\n  workers: 1\n"
         "router:\n  retries: 1\n  allowed_fails: 100\n"
         "providers:\n" + providers + "models:\n" + models;
}

std::string azure_provider(const Mock& m, const std::string& deployments = "{gpt-4o-mini: my-gpt4o-mini, text-embedding-3-small: emb, gpt-35-turbo-instruct: instruct}") {
  return "  az:\n    type: azure\n    base_url: " + root_of(m) +
         "\n    api_key: up-key\n    api_version: 2024-10-21\n    deployments: " + deployments + "\n";
}

const json& last_request(const json& log) { return log.back(); }

class AzureIT : public ::testing::Test {
 protected:
  void SetUp() override {
    mock_ = std::make_unique<Mock>(std::vector<std::string>{"--api-key", "up-key"});
    gw_ = std::make_unique<Gateway>(gateway_config(
        azure_provider(*mock_),
        "  - name: m\n    targets: [az/gpt-4o-mini]\n"
        "  - name: emb\n    targets: [az/text-embedding-3-small]\n"
        "  - name: inst\n    targets: [az/gpt-35-turbo-instruct]\n"));
  }
  std::unique_ptr<Mock> mock_;
  std::unique_ptr<Gateway> gw_;
};

TEST_F(AzureIT, ClassicRequestShapeOnTheWire) {
  auto r = gw_->post("/v1/chat/completions", user_chat("m", "Bonjour ✓", {{"temperature", 0.5}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json_body();
  EXPECT_EQ(j["choices"][0]["message"]["content"], "mock: Bonjour ✓");
  EXPECT_EQ(j["model"], "my-gpt4o-mini");  // Azure echoes the deployment's model
  EXPECT_TRUE(j.contains("prompt_filter_results"));  // passed through as Azure sent it
  EXPECT_EQ(r.header("x-tollgate-provider"), "az");
  auto seen = last_request(mock_->requests());
  EXPECT_EQ(seen["method"], "POST");
  EXPECT_EQ(seen["path"], "/openai/deployments/my-gpt4o-mini/chat/completions?api-version=2024-10-21");
  EXPECT_EQ(seen["headers"]["api-key"], "up-key");
  EXPECT_FALSE(seen["headers"].contains("authorization"));
  EXPECT_EQ(seen["body"]["model"], "my-gpt4o-mini");
  EXPECT_EQ(seen["body"]["temperature"], 0.5);
  EXPECT_FALSE(seen["body"].contains("stream_options"));
}

TEST_F(AzureIT, StreamDropsAzureAnnotationChunksAndAsksUsage) {
  auto r = gw_->post("/v1/chat/completions",
                     user_chat("m", "stream me please", {{"stream", true},
                                                         {"stream_options", {{"include_usage", true}}}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto data = sse_data(r.body);
  ASSERT_GE(data.size(), 4u);
  EXPECT_EQ(data.back(), "[DONE]");
  std::string content;
  bool usage_seen = false;
  for (size_t i = 0; i + 1 < data.size(); ++i) {
    auto j = json::parse(data[i]);
    EXPECT_FALSE(j.contains("prompt_filter_results")) << data[i];  // Azure's first chunk: dropped
    EXPECT_EQ(j["object"], "chat.completion.chunk");
    if (j["choices"].empty()) {
      usage_seen = true;
      EXPECT_GT(j["usage"]["completion_tokens"].get<int>(), 0);
      continue;
    }
    const auto& d = j["choices"][0]["delta"];
    if (d.contains("content") && d["content"].is_string()) content += d["content"].get<std::string>();
  }
  EXPECT_EQ(content, "mock: stream me please");
  EXPECT_TRUE(usage_seen);
  EXPECT_TRUE(json::parse(data[0])["choices"][0]["delta"].contains("role"));
  auto seen = last_request(mock_->requests());
  EXPECT_EQ(seen["body"]["stream_options"]["include_usage"], true);
}

TEST_F(AzureIT, EmbeddingsAndCompletions) {
  auto e = gw_->post("/v1/embeddings", {{"model", "emb"}, {"input", json::array({"a b", "c"})}});
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.json_body()["data"].size(), 2u);
  EXPECT_EQ(last_request(mock_->requests())["path"],
            "/openai/deployments/emb/embeddings?api-version=2024-10-21");
  auto c = gw_->post("/v1/completions", {{"model", "inst"}, {"prompt", "Say hi"}});
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.json_body()["choices"][0]["text"], "mock: Say hi");
  EXPECT_EQ(last_request(mock_->requests())["path"],
            "/openai/deployments/instruct/completions?api-version=2024-10-21");
}

TEST_F(AzureIT, ContentFilter400PassesThroughAnd429IsRetried) {
  mock_->add_fault({{"status", 400}, {"code", "content_filter"}});
  auto r = gw_->post("/v1/chat/completions", user_chat("m", "x"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json_body()["error"]["code"], "content_filter");
  EXPECT_EQ(r.json_body()["error"]["provider"], "az");
  EXPECT_NE(r.json_body()["error"]["message"].get<std::string>().find("content management policy"),
            std::string::npos);
  EXPECT_EQ(mock_->requests().size(), 1u);  // not retried

  mock_->reset();
  mock_->add_fault({{"status", 429}, {"retry_after_ms", 10}});
  auto ok = gw_->post("/v1/chat/completions", user_chat("m", "after 429"));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.header("x-tollgate-attempts"), "2");
}

TEST(AzureFailover, DeploymentNotFoundTriesTheNextTarget) {
  Mock mock({"--api-key", "up-key"});
  std::string providers = azure_provider(mock, "{gpt-4o-mini: missing-deployment}") +
                          "  backup:\n    type: openai\n    base_url: " + mock.base_url() +
                          "\n    api_key: up-key\n";
  // The generic mock checks Bearer up-key; the Azure paths check api-key up-key.
  Gateway gw(gateway_config(providers, "  - name: m\n    targets: [az/gpt-4o-mini, backup/gpt-4o-mini]\n"));
  auto r = gw.post("/v1/chat/completions", user_chat("m", "failover"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tollgate-provider"), "backup");
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], "mock: failover");
  auto log = mock.requests();
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log[0]["path"],
            "/openai/deployments/missing-deployment/chat/completions?api-version=2024-10-21");

  // Alone, the missing deployment is reported as the provider's 404 (every attempt failed).
  Gateway alone(gateway_config(azure_provider(mock, "{gpt-4o-mini: missing-deployment}"),
                               "  - name: m\n    targets: [az/gpt-4o-mini]\n"));
  auto fail = alone.post("/v1/chat/completions", user_chat("m", "x"));
  EXPECT_EQ(fail.status, 502) << fail.body;
  EXPECT_NE(fail.body.find("The API deployment for this resource does not exist"), std::string::npos)
      << fail.body;
}

TEST(AzureV1IT, V1PathUsesDeploymentAsModel) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(gateway_config("  az:\n    type: azure\n    base_url: " + root_of(mock) +
                                "/openai/v1\n    api_key: up-key\n    deployments: {gpt-4o: prod-4o}\n",
                            "  - name: m\n    targets: [az/gpt-4o]\n"));
  auto r = gw.post("/v1/chat/completions", user_chat("m", "v1 please"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["model"], "prod-4o");
  auto seen = last_request(mock.requests());
  EXPECT_EQ(seen["path"], "/openai/v1/chat/completions");
  EXPECT_EQ(seen["headers"]["api-key"], "up-key");
  EXPECT_EQ(seen["body"]["model"], "prod-4o");
}

// The mock itself, spoken to directly: Azure's answers, exactly.
TEST(AzureMock, SpeaksAzure) {
  Mock mock({"--api-key", "up-key"});
  const std::string chat = R"({"messages":[{"role":"user","content":"hi"}]})";
  const Headers key = {{"api-key", "up-key"}, {"content-type", "application/json"}};

  // api-version is required on classic paths: Azure's 404.
  auto nv = http(mock.port(), "POST", "/openai/deployments/d1/chat/completions", chat, key);
  EXPECT_EQ(nv.status, 404);
  EXPECT_EQ(nv.json_body(), json::parse(R"({"error":{"code":"404","message":"Resource not found"}})"));

  // api-key auth; Bearer is not accepted on classic paths.
  auto none = http(mock.port(), "POST", "/openai/deployments/d1/chat/completions?api-version=2024-10-21", chat,
                   {{"content-type", "application/json"}});
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.json_body()["error"]["code"], "401");
  auto bearer = http(mock.port(), "POST", "/openai/deployments/d1/chat/completions?api-version=2024-10-21",
                     chat, {{"authorization", "Bearer up-key"}});
  EXPECT_EQ(bearer.status, 401);

  // A good call: the deployment is the model; Azure's annotations.
  auto ok = http(mock.port(), "POST", "/openai/deployments/d1/chat/completions?api-version=2024-10-21", chat, key);
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto j = ok.json_body();
  EXPECT_EQ(j["model"], "d1");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "mock: hi");
  EXPECT_TRUE(j["choices"][0].contains("content_filter_results"));
  EXPECT_EQ(j["prompt_filter_results"][0]["prompt_index"], 0);
  EXPECT_FALSE(ok.header("apim-request-id").empty());

  // Streams start with the choices: [] + prompt_filter_results chunk.
  auto s = http(mock.port(), "POST", "/openai/deployments/d1/chat/completions?api-version=2024-10-21",
                R"({"stream":true,"messages":[{"role":"user","content":"hi"}]})", key);
  ASSERT_EQ(s.status, 200);
  auto data = sse_data(s.body);
  ASSERT_GE(data.size(), 3u);
  auto first = json::parse(data[0]);
  EXPECT_TRUE(first["choices"].empty());
  EXPECT_TRUE(first.contains("prompt_filter_results"));
  EXPECT_FALSE(first.contains("usage"));
  EXPECT_EQ(data.back(), "[DONE]");

  // DeploymentNotFound.
  auto missing = http(mock.port(), "POST", "/openai/deployments/missing-x/chat/completions?api-version=2024-10-21",
                      chat, key);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json_body()["error"]["code"], "DeploymentNotFound");

  // v1: Bearer or api-key; the body's model is the deployment.
  auto v1 = http(mock.port(), "POST", "/openai/v1/chat/completions",
                 R"({"model":"dep-v1","messages":[{"role":"user","content":"yo"}]})",
                 {{"authorization", "Bearer up-key"}});
  ASSERT_EQ(v1.status, 200) << v1.body;
  EXPECT_EQ(v1.json_body()["model"], "dep-v1");

  // A 429 fault: Azure's body, retry-after and x-ratelimit-* at 0.
  mock.add_fault({{"status", 429}});
  auto limited = http(mock.port(), "POST", "/openai/deployments/d1/chat/completions?api-version=2024-10-21", chat, key);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.json_body()["error"]["code"], "429");
  EXPECT_NE(limited.json_body()["error"]["message"].get<std::string>().find("Please retry after 1 second"),
            std::string::npos);
  EXPECT_EQ(limited.header("retry-after"), "1");
  EXPECT_EQ(limited.header("x-ratelimit-remaining-requests"), "0");
  EXPECT_EQ(limited.header("x-ratelimit-remaining-tokens"), "0");
}

// ---- the OpenAI-compatible presets, on the wire ----

TEST(CompatPresetWire, GroqAndMistralQuirksReachTheUpstream) {
  Mock mock;
  Gateway gw(gateway_config(
      "  groq:\n    type: groq\n    base_url: " + mock.base_url() + "\n    api_key: k\n"
      "  mistral:\n    type: mistral\n    base_url: " + mock.base_url() + "\n    api_key: k\n",
      "  - name: g\n    targets: [groq/llama-3.3-70b-versatile]\n"
      "  - name: m\n    targets: [mistral/mistral-small-latest]\n"
      "  - name: strict-m\n    strict: true\n    targets: [mistral/mistral-small-latest]\n"));
  auto g = gw.post("/v1/chat/completions",
                   user_chat("g", "hello groq", {{"logprobs", true}, {"top_logprobs", 2}}));
  ASSERT_EQ(g.status, 200) << g.body;
  auto seen = last_request(mock.requests());
  EXPECT_FALSE(seen["body"].contains("logprobs"));
  EXPECT_FALSE(seen["body"].contains("top_logprobs"));
  EXPECT_EQ(seen["body"]["model"], "llama-3.3-70b-versatile");

  auto m = gw.post("/v1/chat/completions",
                   user_chat("m", "hello mistral", {{"seed", 7}, {"stream", true}}));
  ASSERT_EQ(m.status, 200) << m.body;
  seen = last_request(mock.requests());
  EXPECT_EQ(seen["body"]["random_seed"], 7);
  EXPECT_FALSE(seen["body"].contains("seed"));
  EXPECT_FALSE(seen["body"].contains("stream_options"));

  // A parameter Mistral has no place for is refused when the model entry is strict.
  auto strict = gw.post("/v1/chat/completions", user_chat("strict-m", "x", {{"user", "u-1"}}));
  EXPECT_EQ(strict.status, 400) << strict.body;
  EXPECT_EQ(strict.json_body()["error"]["code"], "unsupported_parameter");
  EXPECT_EQ(strict.json_body()["error"]["param"], "user");
}

}  // namespace
}  // namespace tg::it
