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
  auto html = body(upstream_status_error("local", 502, "<html>Bad gateway</html>"));
  EXPECT_NE(html["error"]["message"].get<std::string>().find("<html>"), std::string::npos);
  EXPECT_EQ(html["error"]["type"], "api_error");
  auto detail = body(upstream_status_error("vllm", 400, R"({"detail":"bad input"})"));
  EXPECT_NE(detail["error"]["message"].get<std::string>().find("bad input"), std::string::npos);
  auto mistral = body(upstream_status_error("mistral", 422, R"({"message":"extra_forbidden"})"));
  EXPECT_NE(mistral["error"]["message"].get<std::string>().find("extra_forbidden"),
            std::string::npos);
}

}  // namespace
}  // namespace tg
