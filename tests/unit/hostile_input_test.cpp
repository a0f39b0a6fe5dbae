// Hostile input to the pure parts (issue 16): JSON nesting bounded before parsing, model names,
// log escaping, the Gemini schema cleaner's $ref budget and URL paths, Anthropic system
// messages, the open-mode listener rule.

#include <chrono>
#include <cstdint>

#include <gtest/gtest.h>

#include "tollgate/config/config.hpp"
#include "tollgate/core/text.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/providers/anthropic_ingress.hpp"
#include "tollgate/providers/client_json.hpp"
#include "tollgate/providers/json_scan.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;

std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ClientJson, NestingDepthIsMeasuredInOnePassAndIgnoresStrings) {
  EXPECT_EQ(json_scan::nesting_depth("1", 10), 0u);
  EXPECT_EQ(json_scan::nesting_depth(R"({"a":[1,{"b":[]}]})", 10), 4u);
  EXPECT_EQ(json_scan::nesting_depth(R"({"a":"[[[[{{{{","b":"\"[[["})", 10), 1u);
  EXPECT_EQ(json_scan::nesting_depth(R"(["\\",[[]]])", 10), 3u);
  // Counting stops once over the limit.
  EXPECT_EQ(json_scan::nesting_depth(nested(1'000'000), 128), 129u);
}

TEST(ClientJson, DeepBodiesAreRefusedBeforeParsingQuickly) {
  std::string bomb = R"({"model":"m","x":)" + nested(1'000'000) + "}";
  auto r = parse_client_json(bomb);  // parsed whole, a million levels would overflow the stack
  ASSERT_TRUE(std::holds_alternative<Error>(r));
  const Error& e = std::get<Error>(r);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.type, "invalid_request_error");
  EXPECT_NE(e.message.find("128"), std::string::npos) << e.message;

  EXPECT_TRUE(std::holds_alternative<json>(
      parse_client_json(R"({"x":)" + nested(kMaxJsonDepth - 1) + "}")));
  EXPECT_TRUE(std::holds_alternative<Error>(
      parse_client_json(R"({"x":)" + nested(kMaxJsonDepth) + "}")));
  EXPECT_FALSE(check_json_depth(nested(kMaxJsonDepth)));
  EXPECT_TRUE(check_json_depth(nested(kMaxJsonDepth + 1)));
  // Not JSON, or not an object: 400s too.
  EXPECT_EQ(std::get<Error>(parse_client_json("{nope")).status, 400);
  EXPECT_EQ(std::get<Error>(parse_client_json("[1]")).status, 400);
}

TEST(ClientJson, ModelNamesAreBoundedWithoutControlsOrDotSegments) {
  for (std::string_view ok : {"gpt-4o", "openai/gpt-4o-mini", "local/llama3.1:8b",
                              "gem/gemini-2.5-flash", "models/gemini-2.5-pro", "a..b", ".hidden",
                              "x/...", "ünïcode"}) {
    EXPECT_FALSE(check_model_name(ok)) << ok;
  }
  for (std::string_view bad : std::vector<std::string_view>{"mock/x\r\nX-Injected: 1", "a\nb", std::string_view("a\0b", 3),
                               "tab\there", "del\x7f", "gem/../../v1beta/models/x", "..", ".",
                               "gem/.", "a/./b", "a/.."}) {
    auto e = check_model_name(bad);
    ASSERT_TRUE(e) << bad;
    EXPECT_EQ(e->status, 400);
    EXPECT_EQ(e->param, "model");
  }
  EXPECT_FALSE(check_model_name(std::string(kMaxModelNameBytes, 'm')));
  EXPECT_TRUE(check_model_name(std::string(kMaxModelNameBytes + 1, 'm')));
}

TEST(LogEscape, ControlCharactersCannotStartALine) {
  EXPECT_EQ(log_escape("plain text / ünïcode"), "plain text / ünïcode");
  EXPECT_EQ(log_escape("a\r\nb\tc"), "a\\r\\nb\\tc");
  EXPECT_EQ(log_escape(std::string_view("\0\x1b[31m\x7f", 7)), "\\x00\\x1b[31m\\x7f");
  EXPECT_EQ(fmt::format("model={}", log_safe("x\nINFO forged")), "model=x\\nINFO forged");
  // Printable runs around each escape, and an escape at either end.
  EXPECT_EQ(log_escape("\nab\x01" "cd\t"), "\\nab\\x01cd\\t");
}

// The request path's number text (headers, the access log, Redis key names): what fmt wrote.
TEST(NumberText, WritesWhatFmtWrote) {
  EXPECT_EQ(NumberText(0).view(), "0");
  EXPECT_EQ(NumberText(-42).view(), "-42");
  EXPECT_EQ(NumberText(INT64_MIN).view(), fmt::format("{}", INT64_MIN));
  EXPECT_EQ(NumberText(UINT64_MAX).view(), fmt::format("{}", UINT64_MAX));
  EXPECT_EQ(NumberText(uint64_t{0xdeadbeef}, 16).view(), "deadbeef");
  for (double ms : {0.0, 0.0004, 0.0005, 1.23456, 999.9995, 12345678.9}) {
    EXPECT_EQ(NumberText(ms, 3).view(), fmt::format("{:.3f}", ms)) << ms;
  }
  EXPECT_EQ(NumberText(1e300, 3).view(), "1e+300");  // too wide for three decimals: still true
  std::string line = "n=";
  line.append(NumberText(7));
  EXPECT_EQ(line, "n=7");
}

// ---- Gemini ----------------------------------------------------------------------------------

config::ProviderConfig gemini_provider() {
  config::ProviderConfig p;
  p.name = "gem";
  p.type = config::ProviderType::Gemini;
  p.base_url = "https://generativelanguage.googleapis.com";
  return p;
}

UpstreamRequest gemini_build(const json& body, std::string_view model = "gemini-2.5-flash") {
  static const config::ProviderConfig provider = gemini_provider();
  ClientRequest r;
  r.set_doc(&body);
  r.model = model;
  return adapter_for(config::ProviderType::Gemini)
      ->build_request(r, model, BuildContext{provider, "k", "generativelanguage.googleapis.com", ""});
}

json with_tool(const json& parameters) {
  return {{"model", "m"},
          {"messages", {{{"role", "user"}, {"content", "hi"}}}},
          {"tools",
           {{{"type", "function"}, {"function", {{"name", "t"}, {"parameters", parameters}}}}}}};
}

TEST(GeminiSchema, RecursiveRefsAreInlinedWithinABudget) {
  json props = json::object();
  for (const char* p : {"a", "b", "c", "d", "e", "f"}) props[p] = {{"$ref", "#"}};
  json bomb = with_tool({{"type", "object"}, {"properties", props}});
  ASSERT_LT(bomb.dump().size(), 400u);
  // Without the budget, six self-references expand without end: the bounded output (and the test
  // finishing at all) is the proof. No wall-clock bound: timing belongs in bench/, and a loaded
  // sanitizer run would make one flaky.
  auto up = gemini_build(bomb);
  EXPECT_NE(std::find(up.dropped_params.begin(), up.dropped_params.end(), "tools.parameters.$ref"),
            up.dropped_params.end());
  EXPECT_LT(up.body.size(), 8u << 20);
  json sent = json::parse(up.body);
  EXPECT_EQ(sent["tools"][0]["functionDeclarations"][0]["parameters"]["properties"].size(), 6u);
  // The same attack spread over many tools shares one budget.
  json many = bomb;
  for (int i = 0; i < 200; ++i) many["tools"].push_back(bomb["tools"][0]);
  auto up_many = gemini_build(many);
  EXPECT_LT(up_many.body.size(), 16u << 20);
}

TEST(GeminiSchema, OrdinaryRefsAreInlinedWithTheirSiblings) {
  json schema = {{"type", "object"},
                 {"$defs", {{"City", {{"type", "string"}, {"description", "a city"}}}}},
                 {"properties",
                  {{"from", {{"$ref", "#/$defs/City"}, {"description", "where from"}}},
                   {"to", {{"$ref", "#/$defs/City"}}}}}};
  auto up = gemini_build(with_tool(schema));
  EXPECT_TRUE(up.dropped_params.empty());
  json p = json::parse(up.body)["tools"][0]["functionDeclarations"][0]["parameters"]["properties"];
  EXPECT_EQ(p["from"], json({{"type", "string"}, {"description", "where from"}}));
  EXPECT_EQ(p["to"], json({{"type", "string"}, {"description", "a city"}}));
  // A linked list: one recursive $ref, unrolled (not dropped) until the depth guard.
  json list = {{"type", "object"},
               {"properties", {{"value", {{"type", "string"}}}, {"next", {{"$ref", "#"}}}}}};
  auto up_list = gemini_build(with_tool(list));
  EXPECT_TRUE(up_list.dropped_params.empty());
}

TEST(GeminiPath, ModelNamesStayInTheirPathSegment) {
  json body = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  EXPECT_EQ(gemini_build(body, "../../v1beta/models/x").path,
            "/v1beta/models/..%2F..%2Fv1beta%2Fmodels%2Fx:generateContent");
  EXPECT_EQ(gemini_build(body, "a/b").path, "/v1beta/models/a%2Fb:generateContent");
  EXPECT_EQ(gemini_build(body, "models/gemini-2.5-pro").path,
            "/v1beta/models/gemini-2.5-pro:generateContent");
  EXPECT_EQ(gemini_build(body, "tunedModels/a/b").path, "/v1beta/tunedModels/a%2Fb:generateContent");
}

// ---- Anthropic -------------------------------------------------------------------------------

namespace ai = anthropic_ingress;

TEST(AnthropicIngress, SystemEntriesInMessagesBecomeSystemMessagesInPlace) {
  json in = json::parse(R"({"model":"m","max_tokens":8,"system":"top","messages":[
      {"role":"user","content":"a"},
      {"role":"system","content":[{"type":"text","text":"s1"},{"type":"text","text":"s2"}]},
      {"role":"user","content":"b"}]})");
  auto r = ai::to_openai_request(in);
  ASSERT_TRUE(std::holds_alternative<json>(r)) << std::get<Error>(r).message;
  json msgs = std::get<json>(r)["messages"];
  ASSERT_EQ(msgs.size(), 4u) << msgs.dump();
  EXPECT_EQ(msgs[0], json({{"role", "system"}, {"content", "top"}}));
  EXPECT_EQ(msgs[2], json({{"role", "system"}, {"content", "s1\ns2"}}));
  in["messages"][1]["role"] = "tool";
  auto bad = ai::to_openai_request(in);
  ASSERT_TRUE(std::holds_alternative<Error>(bad));
  EXPECT_EQ(std::get<Error>(bad).param, "messages.1.role");
}

TEST(AnthropicIngress, SystemEntriesFoldIntoSystemForOlderVersions) {
  EXPECT_FALSE(ai::takes_system_messages("2023-06-01"));
  EXPECT_FALSE(ai::takes_system_messages(""));
  EXPECT_TRUE(ai::takes_system_messages("2026-10-21"));
  EXPECT_TRUE(ai::takes_system_messages("2027-01-01"));
  json body = json::parse(R"({"system":"top","messages":[
      {"role":"system","content":"s0"},
      {"role":"user","content":"a"},
      {"role":"system","content":[{"type":"text","text":"s1","cache_control":{"type":"ephemeral"}}]}]})");
  ai::fold_system_messages(body);
  EXPECT_EQ(body["messages"], json::parse(R"([{"role":"user","content":"a"}])"));
  EXPECT_EQ(body["system"], json::parse(R"([{"type":"text","text":"top"},
      {"type":"text","text":"s0"},
      {"type":"text","text":"s1","cache_control":{"type":"ephemeral"}}])"));
  json untouched = json::parse(R"({"system":"top","messages":[{"role":"user","content":"a"}]})");
  json copy = untouched;
  ai::fold_system_messages(copy);
  EXPECT_EQ(copy, untouched);
}

TEST(AnthropicIngress, StreamNullIsFalseAndOtherTypesAreRefused) {
  json in = json::parse(
      R"({"model":"m","max_tokens":8,"stream":null,"messages":[{"role":"user","content":"a"}]})");
  auto r = ai::to_openai_request(in);
  ASSERT_TRUE(std::holds_alternative<json>(r));
  EXPECT_FALSE(std::get<json>(r).contains("stream"));
  in["stream"] = 1;
  auto bad = ai::to_openai_request(in);
  ASSERT_TRUE(std::holds_alternative<Error>(bad));
  EXPECT_EQ(std::get<Error>(bad).param, "stream");
}

// tool_result blocks nest: the estimate's walk is bounded whatever the document's depth.
TEST(AnthropicIngress, TokenEstimateWalkIsDepthBounded) {
  json content = json::array({{{"type", "text"}, {"text", "leaf"}}});
  for (int i = 0; i < 300'000; ++i) {
    json block = json::object();
    block["type"] = "tool_result";
    block["content"] = std::move(content);
    content = json::array();
    content.push_back(std::move(block));
  }
  json body = {{"model", "m"}, {"messages", json::array()}};
  body["messages"].push_back({{"role", "user"}, {"content", std::move(content)}});
  EXPECT_GE(ai::estimate_input_tokens(body), 1);
}

config::ProviderConfig anthropic_provider(std::map<std::string, std::string> headers = {}) {
  config::ProviderConfig p;
  p.name = "claude";
  p.type = config::ProviderType::Anthropic;
  p.base_url = "https://api.anthropic.com";
  p.headers = std::move(headers);
  return p;
}

std::string version_sent(const ClientRequest& r, const config::ProviderConfig& p) {
  auto up = adapter_for(config::ProviderType::Anthropic)
                ->build_request(r, "claude-x", BuildContext{p, "k", "api.anthropic.com", ""});
  for (const auto& [k, v] : up.headers) {
    if (k == "anthropic-version") return v;
  }
  return "<absent>";
}

TEST(AnthropicAdapter, NativePassThroughSendsTheClientsVersion) {
  json native = json::parse(R"({"model":"m","max_tokens":8,"messages":[]})");
  json openai = json::parse(R"({"model":"m","messages":[]})");
  ClientRequest r;
  r.set_doc(&openai);
  r.native_body = &native;
  r.ingress = Ingress::Anthropic;
  r.anthropic_version = "2026-10-21";
  EXPECT_EQ(version_sent(r, anthropic_provider()), "2026-10-21");
  r.anthropic_version = "2026-10-21\r\nx: y";  // not a date: the gateway's own version
  EXPECT_EQ(version_sent(r, anthropic_provider()), "2023-06-01");
  r.anthropic_version = "2026-10-21";
  EXPECT_EQ(version_sent(r, anthropic_provider({{"anthropic-version", "2024-01-01"}})),
            "2024-01-01");
  ClientRequest translated;
  translated.set_doc(&openai);
  translated.anthropic_version = "2026-10-21";
  EXPECT_EQ(version_sent(translated, anthropic_provider()), "2023-06-01");
}

}  // namespace
}  // namespace tg::providers

namespace tg::config {
namespace {

TEST(OpenMode, WithoutAMasterKeyAWildcardListenerBecomesLoopback) {
  ServerConfig s;
  s.listen_host = "0.0.0.0";
  std::string warning = restrict_open_listener(s);
  EXPECT_EQ(s.listen_host, "127.0.0.1");
  EXPECT_NE(warning.find("TOLLGATE_MASTER_KEY"), std::string::npos) << warning;
  EXPECT_NE(warning.find("allow_unauthenticated"), std::string::npos) << warning;
  EXPECT_EQ(restrict_open_listener(s), "");  // idempotent

  for (std::string host : {"::", "192.168.1.20"}) {
    ServerConfig lan;
    lan.listen_host = host;
    EXPECT_NE(restrict_open_listener(lan), "");
    EXPECT_EQ(lan.listen_host, "127.0.0.1");
  }
  for (std::string host : {"127.0.0.1", "127.0.0.2", "::1", "localhost"}) {
    ServerConfig local;
    local.listen_host = host;
    EXPECT_EQ(restrict_open_listener(local), "");
    EXPECT_EQ(local.listen_host, host);
  }
  ServerConfig keyed;
  keyed.master_key = "sk-master";
  EXPECT_EQ(restrict_open_listener(keyed), "");
  EXPECT_EQ(keyed.listen_host, "0.0.0.0");
  ServerConfig allowed;
  allowed.allow_unauthenticated = true;
  EXPECT_EQ(restrict_open_listener(allowed), "");
  EXPECT_EQ(allowed.listen_host, "0.0.0.0");
}

TEST(OpenMode, AllowUnauthenticatedIsAServerSetting) {
  auto r = load_config_string("server:\n  allow_unauthenticated: true\n", [](std::string_view) {
    return std::optional<std::string>();
  });
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].to_string());
  EXPECT_TRUE(r.config->server.allow_unauthenticated);
  auto d = load_config_string("server: {}\n", [](std::string_view) {
    return std::optional<std::string>();
  });
  ASSERT_TRUE(d.config);
  EXPECT_FALSE(d.config->server.allow_unauthenticated);
  auto bad = load_config_string("server:\n  allow_unauthenticated: maybe\n",
                                [](std::string_view) { return std::optional<std::string>(); });
  EXPECT_FALSE(bad.errors.empty());
}

}  // namespace
}  // namespace tg::config
