// The Responses codec (src/dialects/openai_responses.cpp): the translation to chat is made when a
// translated target first needs it, so a request that native targets serve costs no translation;
// its errors then come from refuse(false), as clean 400s. The stored turn is JSON text written
// once.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tollgate/dialects/dialect.hpp"
#include "tollgate/governance/pricing.hpp"

namespace tg::dialects {
namespace {

using json = nlohmann::json;

std::unique_ptr<Call> parse_ok(const json& body) {
  std::string raw = body.dump();
  ClientInput in;
  in.body = raw;
  auto parsed = responses_codec().parse(json(body), in);
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<Call>>(parsed))
      << std::get<Error>(parsed).message;
  if (auto* c = std::get_if<std::unique_ptr<Call>>(&parsed)) return std::move(*c);
  return nullptr;
}

TEST(ResponsesCodec, AnInvalidBodyForANativeTargetIsRefusedOnlyWhenTranslated) {
  auto call = parse_ok({{"model", "m"}, {"input", 5}, {"store", false}, {"stream", true}});
  ASSERT_TRUE(call);
  EXPECT_EQ(call->request().model, "m");
  EXPECT_TRUE(call->request().stream);
  EXPECT_FALSE(call->refuse(true)) << "a native target gets the body as it is";
  EXPECT_EQ(call->request_for(true).doc()["input"], 5);
  for (int i = 0; i < 2; ++i) {  // every translated attempt gets the same 400
    auto e = call->refuse(false);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->status, 400);
    EXPECT_EQ(e->param, std::optional<std::string>("input"));
  }
}

TEST(ResponsesCodec, StoredOrInvalidHeadsAreTranslatedAtOnce) {
  for (const json& body : {json{{"model", "m"}, {"input", 5}},  // store defaults to true
                           json{{"model", "m"}, {"input", 5}, {"store", true}},
                           json{{"model", 7}, {"input", "hi"}, {"store", false}},
                           json{{"model", "m"}, {"input", "hi"}, {"stream", "yes"}, {"store", false}}}) {
    std::string raw = body.dump();
    ClientInput in;
    in.body = raw;
    auto parsed = responses_codec().parse(json(body), in);
    ASSERT_TRUE(std::holds_alternative<Error>(parsed)) << raw;
    EXPECT_EQ(std::get<Error>(parsed).status, 400) << raw;
  }
}

TEST(ResponsesCodec, TheLazyTranslationIsTheEagerOne) {
  json body = {{"model", "m"},          {"input", "Say hi"}, {"instructions", "Be brief."},
               {"max_output_tokens", 77}, {"store", false}};
  auto call = parse_ok(body);
  ASSERT_TRUE(call);
  // Budgets read the canonical body: before the translation it says the same.
  EXPECT_EQ(governance::requested_max_output(call->request().doc()), 77);
  ASSERT_FALSE(call->refuse(false));
  const json& chat = call->request_for(false).doc();
  EXPECT_EQ(chat["model"], "m");
  EXPECT_EQ(chat["max_completion_tokens"], 77);
  EXPECT_EQ(chat["messages"], json::parse(R"([{"role":"system","content":"Be brief."},
      {"role":"user","content":"Say hi"}])"))
      << chat["messages"].dump();
  EXPECT_EQ(governance::requested_max_output(call->request().doc()), 77);
  // The Response names what was asked.
  json r = json::parse(call->render(
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
          "usage":{"prompt_tokens":3,"completion_tokens":1}})",
      false));
  EXPECT_EQ(r["instructions"], "Be brief.");
  EXPECT_EQ(r["max_output_tokens"], 77);
  EXPECT_EQ(r["output"][0]["content"][0]["text"], "hi");
  EXPECT_EQ(r["usage"]["total_tokens"], 4);
  EXPECT_FALSE(call->turn()) << "store: false keeps nothing";
}

TEST(ResponsesCodec, AStoredTurnIsTheResponseTheClientGot) {
  auto call = parse_ok({{"model", "m"}, {"input", "Say hi"}});
  ASSERT_TRUE(call);
  ASSERT_FALSE(call->refuse(false));
  std::string body = call->render(
      R"({"choices":[{"index":0,"message":{"role":"assistant","content":"hi \"you\""},"finish_reason":"stop"}]})",
      false);
  auto turn = call->turn();
  ASSERT_TRUE(turn);
  EXPECT_EQ(turn->response, body);
  json r = json::parse(body);
  EXPECT_EQ(turn->id, r["id"]);
  EXPECT_EQ(json::parse(turn->output_items), r["output"]);
  json input = json::parse(turn->input_items);
  ASSERT_EQ(input.size(), 1u);
  EXPECT_EQ(input[0]["content"][0]["text"], "Say hi");
}

TEST(ResponsesCodec, AStoredStreamKeepsItsCompletedResponse) {
  auto call = parse_ok({{"model", "m"}, {"input", "Say hi"}, {"stream", true}});
  ASSERT_TRUE(call);
  ASSERT_FALSE(call->refuse(false));
  auto egress = call->egress(false);
  std::string out;
  egress->feed(
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hi\"}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
      out);
  egress->finish(out);
  auto turn = call->turn();
  ASSERT_TRUE(turn);
  json r = json::parse(turn->response);
  EXPECT_EQ(r["status"], "completed");
  EXPECT_EQ(r["output"][0]["content"][0]["text"], "hi");
  EXPECT_EQ(json::parse(turn->output_items), r["output"]);
  EXPECT_NE(out.find(turn->response), std::string::npos) << "as the client got it";
}

TEST(ResponsesCodec, ANativeStoredStreamKeepsTheUpstreamsResponse) {
  auto call = parse_ok({{"model", "m"}, {"input", "Say hi"}, {"stream", true}});
  ASSERT_TRUE(call);
  auto egress = call->egress(true);
  std::string completed =
      R"({"type":"response.completed","sequence_number":3,"response":{"id":"resp_up","object":"response","status":"completed","output":[{"id":"msg_1","type":"message"}]}})";
  std::string in = "event: response.created\ndata: {\"type\":\"response.created\"}\n\n"
                   "event: response.completed\ndata: " + completed + "\n\n";
  std::string out;
  egress->feed(in, out);
  egress->finish(out);
  EXPECT_EQ(out, in) << "passed through as it came";
  auto turn = call->turn();
  ASSERT_TRUE(turn);
  EXPECT_EQ(turn->id, "resp_up");
  EXPECT_EQ(json::parse(turn->response), json::parse(completed)["response"]);
  EXPECT_EQ(turn->output_items, R"([{"id":"msg_1","type":"message"}])");
}

}  // namespace
}  // namespace tg::dialects
