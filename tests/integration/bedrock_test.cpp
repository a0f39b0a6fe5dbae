// Bedrock through the real daemon and tollgate-mock speaking Converse/ConverseStream: what the
// conformance suite does not reach (the signed upstream request, Bearer API keys, AWS keys from
// the environment, Bedrock's errors and in-stream exceptions, context-window fallbacks,
// reasoning, JSON mode) and the mock's own SigV4 check and binary framing.

#include <gtest/gtest.h>

#include <chrono>

#include "../../src/providers/bedrock/eventstream.hpp"
#include "../../src/providers/bedrock/sigv4.hpp"
#include "harness.hpp"

namespace tg::it {
namespace {

namespace sigv4 = tg::providers::bedrock::sigv4;
namespace es = tg::providers::bedrock::eventstream;

constexpr const char* kClaude = "anthropic.claude-3-5-sonnet-20240620-v1:0";
constexpr const char* kClaudePath = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";

std::string root(const Mock& m) { return "http://127.0.0.1:" + std::to_string(m.port()); }

const std::string kAwsKeys =
    "    aws_access_key_id: AKIDEXAMPLE\n    aws_secret_access_key: mock-secret\n";

std::string bedrock_config(const Mock& m, const std::string& auth = kAwsKeys,
                           const std::string& extra_provider = "", const std::string& models_extra = "") {
  return "server:\n  master_key: sk-test-master\n  workers: 1\n"
         "router:\n  retries: 1\n  allowed_fails: 100\n"
         "providers:\n  br:\n    type: bedrock\n    base_url: " + root(m) + "\n    region: eu-west-3\n" + auth +
         extra_provider +
         "models:\n"
         "  - name: claude\n    targets: [br/" + kClaude + "]\n"
         "  - name: nova\n    targets: [br/amazon.nova-pro-v1:0]\n" + models_extra;
}

json user(const std::string& text) { return json::array({{{"role", "user"}, {"content", text}}}); }

json chat(const std::string& model, const json& messages, json extra = json::object()) {
  json body = {{"model", model}, {"messages", messages}};
  for (auto& [k, v] : extra.items()) body[k] = v;
  return body;
}

json last_request(Mock& m) {
  json reqs = m.requests();
  EXPECT_TRUE(reqs.is_array() && !reqs.empty());
  return reqs.empty() ? json() : reqs.back();
}

std::string content_of(const std::string& sse_body, json* last_error = nullptr) {
  std::string content;
  for (const auto& d : sse_data(sse_body)) {
    auto j = json::parse(d, nullptr, false);
    if (!j.is_object()) continue;
    if (last_error && j.contains("error")) *last_error = j["error"];
    if (!j.contains("choices")) continue;
    for (const auto& c : j["choices"]) {
      const auto& delta = c.value("delta", json::object());
      if (delta.contains("content") && delta["content"].is_string()) content += delta["content"].get<std::string>();
    }
  }
  return content;
}

TEST(Bedrock, UpstreamRequestIsSignedConverse) {
  Mock mock({"--api-key", "mock-secret"});
  Gateway gw(bedrock_config(mock));
  json messages = json::array({{{"role", "system"}, {"content", "Be terse."}},
                               {{"role", "user"}, {"content", "Bonjour ✓"}}});
  auto r = gw.post("/v1/chat/completions", chat("claude", messages, {{"max_tokens", 100}, {"temperature", 0.5}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json_body();
  EXPECT_EQ(j["choices"][0]["message"]["content"], "mock: Bonjour ✓");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 4);  // "Be terse." + "Bonjour ✓"
  EXPECT_EQ(r.header("x-tollgate-model"), kClaude);

  json q = last_request(mock);
  EXPECT_EQ(q["method"], "POST");
  EXPECT_EQ(q["path"], kClaudePath);
  const std::string auth = q["headers"]["authorization"];
  const std::string date = q["headers"]["x-amz-date"];
  ASSERT_EQ(date.size(), 16u);
  EXPECT_EQ(auth.substr(0, auth.find("Signature=")),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + date.substr(0, 8) +
                "/eu-west-3/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, ");
  EXPECT_EQ(q["headers"]["content-type"], "application/json");
  EXPECT_EQ(q["headers"]["accept"], "application/json");
  EXPECT_EQ(q["body"], json::parse(R"({"system":[{"text":"Be terse."}],
      "messages":[{"role":"user","content":[{"text":"Bonjour ✓"}]}],
      "inferenceConfig":{"maxTokens":100,"temperature":0.5}})"));
  // The master key never goes upstream.
  EXPECT_EQ(q["headers"].dump().find("sk-test-master"), std::string::npos);
}

TEST(Bedrock, WrongSecretIsRefusedByTheMockAndReported) {
  Mock mock({"--api-key", "another-secret"});
  Gateway gw(bedrock_config(mock));
  auto r = gw.post("/v1/chat/completions", chat("claude", user("x")));
  EXPECT_EQ(r.status, 502) << r.body;
  // In Tollgate's words; AWS's own (InvalidSignatureException, ...) is in the server log.
  EXPECT_NE(r.body.find("refused Tollgate's credentials"), std::string::npos) << r.body;
  EXPECT_TRUE(eventually([&] {
    return gw.process().output().find("signature we calculated does not match") !=
           std::string::npos;
  })) << gw.process().output();
  EXPECT_EQ(mock.requests().size(), 1u);  // a refused key is not retried
}

TEST(Bedrock, BearerApiKeyAndAwsKeysFromTheEnvironment) {
  Mock mock({"--api-key", "mock-secret"});
  {
    Gateway gw(bedrock_config(mock, "    api_key: mock-secret\n"));
    auto r = gw.post("/v1/chat/completions", chat("claude", user("bearer")));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(last_request(mock)["headers"]["authorization"], "Bearer mock-secret");
  }
  {
    Gateway gw(bedrock_config(mock, ""), {{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "mock-secret"}});
    auto r = gw.post("/v1/chat/completions", chat("claude", user("env keys")));
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string auth = last_request(mock)["headers"]["authorization"];
    EXPECT_NE(auth.find("Credential=AKIDENV/"), std::string::npos) << auth;
  }
}

// Temporary credentials (STS, SSO, an instance role): the session token goes with the request as
// X-Amz-Security-Token and is signed; the mock verifies the signature over it.
TEST(Bedrock, SessionTokenIsSentAndSigned) {
  Mock mock({"--api-key", "mock-secret"});
  {
    Gateway gw(bedrock_config(mock, kAwsKeys + "    aws_session_token: FQoGZXIvYXdzEXAMPLE\n"));
    auto r = gw.post("/v1/chat/completions", chat("claude", user("temporary")));
    ASSERT_EQ(r.status, 200) << r.body;
    json q = last_request(mock);
    EXPECT_EQ(q["headers"]["x-amz-security-token"], "FQoGZXIvYXdzEXAMPLE");
    const std::string auth = q["headers"]["authorization"];
    EXPECT_NE(auth.find("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"),
              std::string::npos)
        << auth;
  }
  {  // from the environment, with the key pair
    Gateway gw(bedrock_config(mock, ""), {{"AWS_ACCESS_KEY_ID", "ASIAENV"},
                                          {"AWS_SECRET_ACCESS_KEY", "mock-secret"},
                                          {"AWS_SESSION_TOKEN", "env-session-token"}});
    auto r = gw.post("/v1/chat/completions", chat("claude", user("env token")));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(last_request(mock)["headers"]["x-amz-security-token"], "env-session-token");
  }
}

TEST(Bedrock, StreamIsBinaryUpstreamAndOpenAiDownstream) {
  Mock mock({"--api-key", "mock-secret"});
  Gateway gw(bedrock_config(mock));
  auto r = gw.post("/v1/chat/completions",
                   chat("claude", user("stream me"), {{"stream", true}, {"stream_options", {{"include_usage", true}}}}),
                   "sk-test-master", {{"x-mock-events", "4"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(content_of(r.body), "mock: stream me");
  auto data = sse_data(r.body);
  ASSERT_GE(data.size(), 4u);
  EXPECT_EQ(data.back(), "[DONE]");
  auto usage = json::parse(data[data.size() - 2]);
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"]["prompt_tokens"], 2);
  EXPECT_GT(usage["usage"]["completion_tokens"].get<int>(), 0);
  json q = last_request(mock);
  EXPECT_EQ(q["path"], "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream");
  EXPECT_EQ(q["headers"]["accept"], "application/vnd.amazon.eventstream");
}

TEST(Bedrock, ExceptionFramesMidStreamAndBeforeContent) {
  Mock mock({"--api-key", "mock-secret"});
  // The provider's extra headers reach the mock: its exception frames become throttlingException.
  Gateway gw(bedrock_config(mock, kAwsKeys, "    headers:\n      x-mock-bedrock-exception: throttlingException\n"));
  mock.add_fault({{"mode", "error_mid_stream"}, {"after_events", 3}});
  auto mid = gw.post("/v1/chat/completions", chat("claude", user("one two three"), {{"stream", true}}));
  ASSERT_EQ(mid.status, 200) << mid.body;
  json err;
  EXPECT_FALSE(content_of(mid.body, &err).empty());
  EXPECT_EQ(err["code"], "rate_limit_exceeded") << mid.body;
  EXPECT_EQ(err["type"], "rate_limit_error");
  EXPECT_NE(sse_data(mid.body).back(), "[DONE]");
  // An exception right after messageStart: nothing was sent yet, so the router tries again.
  mock.reset();
  mock.add_fault({{"mode", "error_mid_stream"}, {"after_events", 1}});
  auto early = gw.post("/v1/chat/completions", chat("claude", user("again"), {{"stream", true}}));
  ASSERT_EQ(early.status, 200) << early.body;
  EXPECT_EQ(content_of(early.body), "mock: again");
  EXPECT_EQ(early.header("x-tollgate-attempts"), "2");
  // A corrupt stream before any content also fails over.
  mock.reset();
  mock.add_fault({{"mode", "malformed"}});
  auto bad = gw.post("/v1/chat/completions", chat("claude", user("fine"), {{"stream", true}}));
  ASSERT_EQ(bad.status, 200) << bad.body;
  EXPECT_EQ(content_of(bad.body), "mock: fine");
  EXPECT_EQ(bad.header("x-tollgate-attempts"), "2");
}

TEST(Bedrock, ErrorsKeepBedrocksMessageAndClass) {
  Mock mock({"--api-key", "mock-secret"});
  Gateway gw(bedrock_config(mock));
  // The mock's own validation (a conversation must start with a user turn) comes back as a 400.
  json starts_with_assistant = json::array({{{"role", "assistant"}, {"content", "hi"}}, {{"role", "user"}, {"content", "x"}}});
  auto v = gw.post("/v1/chat/completions", chat("claude", starts_with_assistant));
  EXPECT_EQ(v.status, 400) << v.body;
  EXPECT_EQ(v.json_body()["error"]["provider"], "br");
  EXPECT_NE(v.body.find("ValidationException"), std::string::npos);
  EXPECT_NE(v.body.find("must start with a user message"), std::string::npos);
  // 404 ResourceNotFoundException -> model_not_found, not retried.
  mock.reset();
  mock.add_fault({{"status", 404}});
  auto nf = gw.post("/v1/chat/completions", chat("claude", user("x")));
  EXPECT_EQ(nf.status, 404) << nf.body;
  EXPECT_EQ(nf.json_body()["error"]["code"], "model_not_found");
  // 403 AccessDeniedException: the key is refused.
  mock.reset();
  mock.add_fault({{"status", 403}});
  auto denied = gw.post("/v1/chat/completions", chat("claude", user("x")));
  EXPECT_NE(denied.status, 200);
  EXPECT_NE(denied.body.find("refused Tollgate's credentials (403)"), std::string::npos)
      << denied.body;
  // 503 ServiceUnavailableException is retried.
  mock.reset();
  mock.add_fault({{"status", 503}});
  auto busy = gw.post("/v1/chat/completions", chat("claude", user("after 503")));
  EXPECT_EQ(busy.status, 200) << busy.body;
  EXPECT_EQ(busy.header("x-tollgate-attempts"), "2");
}

TEST(Bedrock, InputTooLongGoesToTheContextWindowFallback) {
  Mock mock({"--api-key", "mock-secret"});
  Gateway gw(bedrock_config(mock, kAwsKeys, "",
                            "  - name: small\n    targets: [br/" + std::string(kClaude) + "]\n"
                            "    context_window_fallbacks: [br/amazon.nova-pro-v1:0]\n"));
  mock.add_fault({{"status", 400}, {"message", "Input is too long for requested model."}});
  auto r = gw.post("/v1/chat/completions", chat("small", user("a very long prompt")));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tollgate-model"), "amazon.nova-pro-v1:0");
  EXPECT_EQ(last_request(mock)["path"], "/model/amazon.nova-pro-v1%3A0/converse");
}

TEST(Bedrock, ReasoningToolsAndJsonModeReachConverse) {
  Mock mock({"--api-key", "mock-secret"});
  Gateway gw(bedrock_config(mock));
  auto r = gw.post("/v1/chat/completions", chat("claude", user("think"), {{"reasoning_effort", "medium"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  json q = last_request(mock);
  EXPECT_EQ(q["body"]["additionalModelRequestFields"]["thinking"],
            json({{"type", "enabled"}, {"budget_tokens", 2048}}));
  EXPECT_EQ(q["body"]["inferenceConfig"]["maxTokens"], 2048 + 4096);
  // Not a Claude model: reasoning_effort is dropped (and said so), the request still works.
  auto nova = gw.post("/v1/chat/completions", chat("nova", user("think"), {{"reasoning_effort", "medium"}}));
  ASSERT_EQ(nova.status, 200) << nova.body;
  EXPECT_FALSE(last_request(mock)["body"].contains("additionalModelRequestFields"));
  EXPECT_TRUE(eventually([&] { return gw.process().output().find("cannot take 'reasoning_effort'") != std::string::npos; }));
  // JSON mode: a forced tool upstream, plain JSON content for the client.
  auto js = gw.post("/v1/chat/completions", chat("claude", user("json please"), {{"response_format", {{"type", "json_object"}}}}));
  ASSERT_EQ(js.status, 200) << js.body;
  EXPECT_EQ(json::parse(js.json_body()["choices"][0]["message"]["content"].get<std::string>()),
            json({{"echo", "json please"}}));
  EXPECT_EQ(js.json_body()["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(last_request(mock)["body"]["toolConfig"]["toolChoice"], json({{"tool", {{"name", "json_response"}}}}));
  auto jss = gw.post("/v1/chat/completions",
                     chat("claude", user("json stream"), {{"stream", true}, {"response_format", {{"type", "json_object"}}}}));
  ASSERT_EQ(jss.status, 200) << jss.body;
  EXPECT_EQ(json::parse(content_of(jss.body)), json({{"echo", "json stream"}}));
}

// The mock on its own: SigV4 is verified over the exact bytes, path and headers.
TEST(Bedrock, MockVerifiesSigV4) {
  Mock mock({"--api-key", "mock-secret"});
  const std::string body = R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})";
  const std::string host = "127.0.0.1:" + std::to_string(mock.port());
  const std::string date = sigv4::amz_date(std::chrono::system_clock::now());
  auto signed_headers = [&](const std::string& secret, const std::string& signed_body) {
    sigv4::Request sr;
    sr.method = "POST";
    sr.path = kClaudePath;
    sr.headers = {{"content-type", "application/json"}, {"host", host}, {"x-amz-date", date}};
    const std::string hash = sigv4::sha256_hex(signed_body);
    sr.payload_hash = hash;
    auto s = sigv4::sign(sr, {"AKID", secret, "us-west-2", "bedrock", date});
    return Headers{{"content-type", "application/json"}, {"x-amz-date", date}, {"authorization", s.authorization}};
  };
  auto ok = http(mock.port(), "POST", kClaudePath, body, signed_headers("mock-secret", body));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json_body()["output"]["message"]["content"][0]["text"], "mock: hi");
  EXPECT_EQ(ok.json_body()["stopReason"], "end_turn");
  auto tampered = http(mock.port(), "POST", kClaudePath, body + " ", signed_headers("mock-secret", body));
  EXPECT_EQ(tampered.status, 403);
  EXPECT_EQ(tampered.header("x-amzn-errortype").substr(0, 25), "InvalidSignatureException");
  EXPECT_EQ(tampered.json_body().size(), 1u);  // {"message": ...}
  auto wrong = http(mock.port(), "POST", kClaudePath, body, signed_headers("nope", body));
  EXPECT_EQ(wrong.status, 403);
  auto none = http(mock.port(), "POST", kClaudePath, body, {{"content-type", "application/json"}});
  EXPECT_EQ(none.status, 403);
  EXPECT_EQ(none.json_body()["message"], "Missing Authentication Token");
  auto bearer = http(mock.port(), "POST", kClaudePath, body, {{"authorization", "Bearer mock-secret"}});
  EXPECT_EQ(bearer.status, 200);
}

TEST(Bedrock, MockStreamsValidEventStreamFrames) {
  Mock mock;
  const std::string body = R"({"messages":[{"role":"user","content":[{"text":"Hi"}]}],
      "toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}}]}})";
  auto r = http(mock.port(), "POST", "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", body,
                {{"x-mock-events", "3"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/vnd.amazon.eventstream");
  es::Decoder d;
  std::vector<es::Message> msgs;
  ASSERT_TRUE(d.feed(r.body, msgs)) << d.error();
  EXPECT_EQ(d.pending(), 0u);
  std::vector<std::string> types;
  for (const auto& m : msgs) {
    EXPECT_EQ(m.header(":message-type"), "event");
    EXPECT_EQ(m.header(":content-type"), "application/json");
    auto p = json::parse(m.payload);
    EXPECT_TRUE(p.contains("p"));  // the padding field
    types.emplace_back(m.header(":event-type"));
  }
  EXPECT_EQ(types, (std::vector<std::string>{"messageStart", "contentBlockStart", "contentBlockDelta",
                                             "contentBlockDelta", "contentBlockDelta", "contentBlockStop",
                                             "messageStop", "metadata"}));
  EXPECT_EQ(json::parse(msgs[6].payload)["stopReason"], "tool_use");
  EXPECT_EQ(json::parse(msgs[7].payload)["usage"]["outputTokens"], 3);
  // The model id is URL-decoded: a "missing..." model is not found.
  auto nf = http(mock.port(), "POST", "/model/missing%3Amodel/converse", body);
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.header("x-amzn-errortype").substr(0, 25), "ResourceNotFoundException");
}

}  // namespace
}  // namespace tg::it
