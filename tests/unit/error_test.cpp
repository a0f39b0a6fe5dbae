#include "tollgate/core/error.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tg {
namespace {

nlohmann::json body(const Error& e) { return nlohmann::json::parse(render_error_body(e)); }

TEST(ErrorRender, OpenAiShapeWithAllFourKeys) {
  auto j = body(Error::bad_request("bad thing", "messages"));
  ASSERT_TRUE(j.contains("error"));
  EXPECT_EQ(j["error"]["message"], "bad thing");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "messages");
  EXPECT_TRUE(j["error"]["code"].is_null());
  EXPECT_FALSE(j["error"].contains("provider"));
}

TEST(ErrorRender, StatusesAndCodesOfTheInterface) {
  EXPECT_EQ(Error::unauthorized("x").status, 401);
  EXPECT_EQ(body(Error::unauthorized("x"))["error"]["code"], "invalid_api_key");
  EXPECT_EQ(body(Error::unauthorized("x"))["error"]["type"], "authentication_error");
  EXPECT_EQ(Error::model_not_found("m").status, 404);
  EXPECT_EQ(body(Error::model_not_found("m"))["error"]["code"], "model_not_found");
  EXPECT_EQ(Error::payload_too_large(10).status, 413);
  EXPECT_EQ(body(Error::payload_too_large(10))["error"]["code"], "request_too_large");
  EXPECT_EQ(Error::upstream_timeout("p", "d").status, 504);
  EXPECT_EQ(body(Error::upstream_connect("p", "d"))["error"]["code"], "upstream_error");
}

TEST(ErrorRender, InvalidUtf8InMessageDoesNotThrow) {
  Error e = Error::bad_request(std::string("bad \xff byte"));
  EXPECT_NO_THROW(body(e));
}

TEST(UpstreamStatusError, OpenAiShapedBodyKeepsTypeCodeParamAndNamesProvider) {
  auto e = upstream_status_error(
      "openai", 400,
      R"({"error":{"message":"Unsupported parameter","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_FALSE(e.retryable);
  auto j = body(e);
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["code"], "unsupported_parameter");
  EXPECT_EQ(j["error"]["param"], "max_tokens");
  EXPECT_EQ(j["error"]["provider"], "openai");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("Unsupported parameter"),
            std::string::npos);
  EXPECT_NE(j["error"]["message"].get<std::string>().find("openai"), std::string::npos);
}

TEST(UpstreamStatusError, RetryableClasses) {
  EXPECT_TRUE(upstream_status_error("p", 429, "{}").retryable);
  EXPECT_TRUE(upstream_status_error("p", 500, "").retryable);
  EXPECT_TRUE(upstream_status_error("p", 529, "").retryable);
  EXPECT_TRUE(upstream_status_error("p", 408, "").retryable);
  EXPECT_FALSE(upstream_status_error("p", 404, "").retryable);
  EXPECT_FALSE(upstream_status_error("p", 422, "").retryable);
}

TEST(UpstreamStatusError, NonJsonAndDetailBodies) {
  auto raw = upstream_status_error("local", 502, "<html>Bad gateway</html>");
  EXPECT_NE(raw.message.find("<html>"), std::string::npos);
  // What a client sees of it: the provider's page stays in the log.
  auto safe = client_safe_upstream_error(raw);
  auto html = body(safe);
  EXPECT_EQ(html["error"]["message"], "provider 'local' answered HTTP 502");
  EXPECT_NE(safe.detail.find("<html>"), std::string::npos);
  EXPECT_EQ(html["error"]["type"], "api_error");
  auto detail = body(upstream_status_error("vllm", 400, R"({"detail":"bad input"})"));
  EXPECT_NE(detail["error"]["message"].get<std::string>().find("bad input"), std::string::npos);
  auto mistral = body(upstream_status_error("mistral", 422, R"({"message":"extra_forbidden"})"));
  EXPECT_NE(mistral["error"]["message"].get<std::string>().find("extra_forbidden"),
            std::string::npos);
}

TEST(ClientSafeUpstreamError, CredentialsRefusalsAndOutagesGetACleanMessage) {
  const std::string key = "sk-live-0123456789abcdefghijklmnop";
  auto refused = client_safe_upstream_error(
      upstream_status_error("openai", 401,
                            R"({"error":{"message":"Incorrect API key provided: )" + key +
                                R"(.","type":"invalid_request_error","code":"invalid_api_key"}})"),
      key);
  EXPECT_EQ(refused.message, "provider 'openai' refused Tollgate's credentials (401)");
  EXPECT_EQ(refused.status, 401);  // the router still rotates keys on it
  EXPECT_EQ(render_error_body(refused).find(key), std::string::npos);
  EXPECT_EQ(refused.detail.find(key), std::string::npos);
  EXPECT_NE(refused.detail.find("Incorrect API key provided: [redacted]"), std::string::npos)
      << refused.detail;

  auto limited = client_safe_upstream_error(upstream_status_error(
      "azure", 429, R"({"error":{"message":"Rate limit of org-Abc123 reached"}})", "5"));
  EXPECT_EQ(limited.message, "provider 'azure' answered HTTP 429");
  EXPECT_EQ(limited.retry_after, "5");
  EXPECT_TRUE(limited.retryable);

  // The client's own mistake keeps the provider's words.
  auto mistake = client_safe_upstream_error(upstream_status_error(
      "openai", 400, R"({"error":{"message":"Invalid 'temperature'","param":"temperature"}})"));
  EXPECT_NE(mistake.message.find("Invalid 'temperature'"), std::string::npos);
  EXPECT_EQ(mistake.param, "temperature");
  EXPECT_TRUE(mistake.detail.empty());

  // A connection failure names the provider, not the address.
  auto lan = Error::upstream_connect("local", "cannot connect to 10.1.2.3:8000: refused");
  EXPECT_EQ(render_error_body(lan).find("10.1.2.3"), std::string::npos);
  EXPECT_NE(lan.message.find("provider 'local' could not be reached"), std::string::npos);
  EXPECT_NE(lan.detail.find("10.1.2.3:8000"), std::string::npos);
}

TEST(RedactSecrets, KeysAndTokensAreHiddenAndLinesCannotBeForged) {
  EXPECT_EQ(redact_secrets("bad key sk-proj-abcdefghijklmnop"), "bad key [redacted]");
  EXPECT_EQ(redact_secrets("key AIzaSyA1b2C3d4E5f6G7h8 refused"), "key [redacted] refused");
  EXPECT_EQ(redact_secrets("token 0123456789abcdef0123456789abcdef."), "token [redacted].");
  EXPECT_EQ(redact_secrets("the secret is hunter2hunter2!", "hunter2hunter2"),
            "the secret is [redacted]!");
  EXPECT_EQ(redact_secrets("cannot connect to 10.1.2.3:8000: Connection refused"),
            "cannot connect to 10.1.2.3:8000: Connection refused");
  EXPECT_EQ(redact_secrets("line\nINFO forged"), "line\\x0aINFO forged");
  EXPECT_EQ(redact_secrets(std::string(1000, 'a'), {}, 10), "aaaaaaaaaa...");
  EXPECT_EQ(redact_secrets(std::string(1000, 'a') + "1", {}, 10), "[redacted]");
}

TEST(UpstreamRateLimited, A429WithTheSoonestRetryAfter) {
  auto e = Error::upstream_rate_limited("slow down", 3);
  EXPECT_EQ(e.status, 429);
  EXPECT_EQ(e.retry_after, "3");
  auto j = body(e);
  EXPECT_EQ(j["error"]["type"], "rate_limit_error");
  EXPECT_EQ(j["error"]["code"], "upstream_rate_limited");
  EXPECT_TRUE(Error::upstream_rate_limited("x", std::nullopt).retry_after.empty());
}

}  // namespace
}  // namespace tg
