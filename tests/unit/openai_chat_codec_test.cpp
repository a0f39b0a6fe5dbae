// The OpenAI chat codec reads the few members the gateway needs from the body's text and builds
// the document only when something asks for it (src/dialects/openai_chat.cpp). What it reads and
// what goes upstream must be what the document would have given.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "../../src/providers/openai/openai_wire.hpp"
#include "tollgate/dialects/dialect.hpp"
#include "tollgate/governance/pricing.hpp"
#include "tollgate/providers/adapter.hpp"

namespace tg {
namespace {

using json = nlohmann::json;
using providers::Endpoint;

std::unique_ptr<dialects::Call> parse(std::string_view raw, Endpoint e = Endpoint::ChatCompletions) {
  dialects::ClientInput in;
  in.body = raw;
  auto parsed = dialects::openai_codec(e).parse(json::object(), in);
  if (auto* err = std::get_if<Error>(&parsed)) {
    ADD_FAILURE() << raw << ": " << err->message;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<dialects::Call>>(parsed));
}

Error refusal(std::string_view raw, Endpoint e = Endpoint::ChatCompletions) {
  dialects::ClientInput in;
  in.body = raw;
  auto parsed = dialects::openai_codec(e).parse(json::object(), in);
  EXPECT_TRUE(std::holds_alternative<Error>(parsed)) << raw;
  return std::holds_alternative<Error>(parsed) ? std::get<Error>(parsed) : Error{};
}

TEST(OpenAIChatCodec, APassThroughNeverBuildsTheDocument) {
  const std::string long_text(4000, 'x');
  const std::string raw = R"({"model":"gpt-x","messages":[{"role":"user","content":")" + long_text +
                          R"("}],"n":2,"max_tokens":50,"temperature":0.5})";
  auto call = parse(raw);
  ASSERT_TRUE(call);
  const auto& req = call->request();
  EXPECT_EQ(req.model, "gpt-x");
  EXPECT_FALSE(req.stream);
  // The short members are there to read; the long conversation is not copied into them.
  EXPECT_EQ(req.fields()["n"], 2);
  EXPECT_EQ(req.fields()["max_tokens"], 50);
  EXPECT_FALSE(req.fields().contains("messages"));
  const std::string sent = providers::openai_wire::serialize_body(req, "upstream-x");
  EXPECT_FALSE(req.has_doc());  // spliced from the text
  std::string expected = raw;
  expected.replace(expected.find("gpt-x"), 5, "upstream-x");
  EXPECT_EQ(sent, expected);
  // Whoever needs the document still gets it, built from the text.
  EXPECT_EQ(req.doc(), json::parse(raw));
  EXPECT_TRUE(req.has_doc());
}

TEST(OpenAIChatCodec, AStreamGetsStreamOptionsAddedOnlyWhenItDoesNotAskForUsage) {
  auto call = parse(R"({"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]} )");
  ASSERT_TRUE(call);
  const auto& req = call->request();
  EXPECT_TRUE(req.stream);
  EXPECT_EQ(providers::openai_wire::serialize_body(req, "u"),
            R"({"model":"u","stream":true,"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}})");
  EXPECT_EQ(providers::openai_wire::serialize_body(req, "u", /*ask_stream_usage=*/false),
            R"({"model":"u","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_FALSE(req.has_doc());

  // Asked already: sent as it is.
  auto asked = parse(R"({"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[1]})");
  ASSERT_TRUE(asked);
  EXPECT_TRUE(asked->request().client_wants_usage);
  EXPECT_EQ(providers::openai_wire::serialize_body(asked->request(), "u"),
            R"({"model":"u","stream":true,"stream_options":{"include_usage":true},"messages":[1]})");

  // Its own stream_options without usage: edited in the document, its other members kept.
  auto other = parse(R"({"model":"m","stream":true,"stream_options":{"x":1},"messages":[1]})");
  ASSERT_TRUE(other);
  auto sent = json::parse(providers::openai_wire::serialize_body(other->request(), "u"));
  EXPECT_EQ(sent["stream_options"], json({{"x", 1}, {"include_usage", true}}));
  EXPECT_EQ(sent["model"], "u");
}

// A repeated or escaped key: which member counts is the parser's decision (the last one), so the
// document is read, and the upstream gets one model, the one routed.
TEST(OpenAIChatCodec, RepeatedOrEscapedKeysAreReadFromTheDocument) {
  for (std::string raw : {R"({"model":"cheap","messages":[1],"model":"dear"})",
                          R"({"model":"cheap","messages":[1],"mod\u0065l":"dear"})",
                          R"({"stream":false,"model":"dear","messages":[1],"stream":true})"}) {
    auto call = parse(raw);
    ASSERT_TRUE(call) << raw;
    const auto& req = call->request();
    EXPECT_EQ(req.model, json::parse(raw)["model"]) << raw;
    EXPECT_EQ(req.stream, json::parse(raw).value("stream", false)) << raw;
    auto sent = json::parse(providers::openai_wire::serialize_body(req, "u", false));
    EXPECT_EQ(sent["model"], "u") << raw;
    EXPECT_EQ(sent.size(), json::parse(raw).size()) << raw;
    EXPECT_EQ(std::string(providers::openai_wire::serialize_body(req, "u", false)).find("dear"),
              std::string::npos)
        << raw;
  }
}

TEST(OpenAIChatCodec, ABodyOfManyMembersIsReadFromTheDocument) {
  std::string raw = R"({"model":"m","messages":[1])";
  for (int i = 0; i < 200; ++i) raw += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
  raw += ",\"n\":3}";
  auto call = parse(raw);
  ASSERT_TRUE(call);
  EXPECT_EQ(call->request().fields()["n"], 3);
  EXPECT_EQ(json::parse(providers::openai_wire::serialize_body(call->request(), "u")),
            [&] {
              json j = json::parse(raw);
              j["model"] = "u";
              return j;
            }());
}

// Hostile values read from the text are what the document holds: a count of 2^63 is the
// parser's unsigned number (then refused as n), escapes for NUL and CR LF are decoded as the
// parser decodes them, and a member nobody knows passes through as written.
TEST(OpenAIChatCodec, HostileValuesReadFromTheTextAreTheDocuments) {
  const std::string raw =
      R"({"model":"m\u0000x","n":9223372036854775808,"user":"a\r\nb","x-unknown":{"k":[1,"\u0000"]},"messages":[1]})";
  auto call = parse(raw);
  ASSERT_TRUE(call);
  const auto& req = call->request();
  EXPECT_EQ(req.model, std::string("m\0x", 3));
  EXPECT_TRUE(req.fields()["n"].is_number_unsigned());
  EXPECT_EQ(req.fields()["n"], json::parse(raw)["n"]);
  EXPECT_EQ(req.fields()["user"], "a\r\nb");
  EXPECT_TRUE(std::holds_alternative<Error>(governance::requested_choices(req.fields())));
  const std::string sent = providers::openai_wire::serialize_body(req, "up");
  EXPECT_NE(sent.find(R"("x-unknown":{"k":[1,"\u0000"]})"), std::string::npos) << sent;
  EXPECT_NE(sent.find(R"("model":"up")"), std::string::npos) << sent;
  EXPECT_FALSE(req.has_doc());
}

TEST(OpenAIChatCodec, TheRequiredMembersAreCheckedFromTheText) {
  EXPECT_EQ(refusal(R"({"messages":[1]})").param.value_or(""), "model");
  EXPECT_EQ(refusal(R"({"model":"","messages":[1]})").param.value_or(""), "model");
  EXPECT_EQ(refusal(R"({"model":7,"messages":[1]})").param.value_or(""), "model");
  EXPECT_EQ(refusal(R"({"model":"m"})").message, "Missing required parameter: 'messages'.");
  EXPECT_EQ(refusal(R"({"model":"m","messages":null})").message,
            "Missing required parameter: 'messages'.");
  EXPECT_EQ(refusal(R"({"model":"m","messages":[ ]})").param.value_or(""), "messages");
  EXPECT_EQ(refusal(R"({"model":"m","messages":{"a":1}})").param.value_or(""), "messages");
  EXPECT_EQ(refusal(R"({"model":"m","messages":[1],"stream":"yes"})").param.value_or(""), "stream");
  EXPECT_EQ(refusal(R"({"model":"m"})", Endpoint::Completions).param.value_or(""), "prompt");
  EXPECT_TRUE(parse(R"({"model":"m","prompt":"hi"})", Endpoint::Completions));
  EXPECT_TRUE(parse(R"({"model":"m","input":["a","b"]})", Endpoint::Embeddings));
}

}  // namespace
}  // namespace tg
