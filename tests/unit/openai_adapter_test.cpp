#include <gtest/gtest.h>

#include "tollgate/providers/adapter.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;

config::ProviderConfig provider() {
  config::ProviderConfig p;
  p.name = "openai";
  p.headers = {{"OpenAI-Organization", "org-1"}};
  return p;
}

ClientRequest request(const json& body, Endpoint ep = Endpoint::ChatCompletions) {
  ClientRequest r;
  r.endpoint = ep;
  r.set_doc(&body);
  r.model = body.value("model", "");
  r.stream = body.value("stream", false);
  r.client_wants_usage =
      body.contains("stream_options") && body["stream_options"].value("include_usage", false);
  return r;
}

const ProviderAdapter& openai() { return *adapter_for(config::ProviderType::OpenAI); }

const config::ProviderConfig kProvider = provider();

UpstreamRequest build(const ClientRequest& r, std::string_view model, std::string_view key) {
  return openai().build_request(r, model, BuildContext{kProvider, key, "api.openai.com", "/v1"});
}

TEST(OpenAiAdapter, RequestSetsUpstreamModelAndKeepsEverythingElse) {
  json body = {{"model", "gpt-alias"},
               {"messages", {{{"role", "user"}, {"content", "hi ✓"}}}},
               {"temperature", 0.2},
               {"tools", json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}})},
               {"vendor_extra", {{"x", 1}}}};
  auto req = build(request(body), "gpt-4o-2024-08-06", "sk-up");
  EXPECT_EQ(req.path, "/chat/completions");
  auto sent = json::parse(req.body);
  EXPECT_EQ(sent["model"], "gpt-4o-2024-08-06");
  json expected = body;
  expected["model"] = "gpt-4o-2024-08-06";
  EXPECT_EQ(sent, expected);  // nothing else added, dropped or changed
  EXPECT_EQ(body["model"], "gpt-alias");  // the client request is untouched (failover reuses it)
  bool auth = false, org = false;
  for (const auto& [k, v] : req.headers) {
    if (k == "Authorization") auth = v == "Bearer sk-up";
    if (k == "OpenAI-Organization") org = v == "org-1";
  }
  EXPECT_TRUE(auth);
  EXPECT_TRUE(org);
}

// A body whose only change is its model is sent as the client's bytes with the model spliced in
// (no re-serialisation: member order and number spelling stay the client's).
TEST(OpenAiAdapter, UnchangedBodiesKeepTheClientsBytesButForTheModel) {
  std::string raw =
      R"({ "messages":[{"role":"user","content":"hi \u2713"}], "model" : "gpt-alias", "top_p":1e0})";
  json body = json::parse(raw);
  ClientRequest r = request(body);
  r.raw_body = raw;
  auto req = build(r, "gpt-4o-2024-08-06", "k");
  EXPECT_EQ(req.body,
            R"({ "messages":[{"role":"user","content":"hi \u2713"}], "model" : "gpt-4o-2024-08-06", "top_p":1e0})");
}

// A duplicate or escaped "model" key would let the upstream read another model than the one
// routed and priced: such bodies are serialised from the parsed document instead.
TEST(OpenAiAdapter, DuplicateOrEscapedModelKeysAreNeverSpliced) {
  for (std::string raw : {std::string(R"({"model":"cheap","messages":[],"model":"dear"})"),
                          std::string(R"({"model":"cheap","messages":[],"mod\u0065l":"dear"})"),
                          std::string(R"({"messages":[],"mod\u0065l":"dear"})")}) {
    json body = json::parse(raw);
    ClientRequest r = request(body);
    r.raw_body = raw;
    auto req = build(r, "upstream-id", "k");
    EXPECT_EQ(req.body, R"({"messages":[],"model":"upstream-id"})") << raw;
  }
}

TEST(OpenAiAdapter, StreamsAskForUsageKeepingOtherStreamOptions) {
  json body = {{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "x"}}})},
               {"stream", true}};
  auto sent = json::parse(build(request(body), "m", "").body);
  EXPECT_EQ(sent["stream_options"]["include_usage"], true);
  body["stream_options"] = {{"include_usage", false}, {"include_obfuscation", false}};
  sent = json::parse(build(request(body), "m", "").body);
  EXPECT_EQ(sent["stream_options"]["include_usage"], true);
  EXPECT_EQ(sent["stream_options"]["include_obfuscation"], false);
  json emb = {{"model", "e"}, {"input", "x"}};
  auto e = build(request(emb, Endpoint::Embeddings), "e", "");
  EXPECT_EQ(e.path, "/embeddings");
  EXPECT_FALSE(json::parse(e.body).contains("stream_options"));
}

TEST(OpenAiAdapter, NoKeyMeansNoAuthorizationHeader) {
  json body = {{"model", "m"}, {"messages", json::array()}};
  auto req = build(request(body), "m", "");
  for (const auto& [k, v] : req.headers) EXPECT_NE(k, "Authorization");
}

std::string run(StreamTranslator& t, const std::vector<std::string>& datas,
                std::vector<StreamStatus>* statuses = nullptr) {
  std::string out;
  for (const auto& d : datas) {
    auto st = t.on_event(sse::Event{"", d, ""}, out);
    if (statuses) statuses->push_back(st);
  }
  return out;
}

const std::string kChunk =
    R"({"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null})";
const std::string kUsage =
    R"({"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}})";

TEST(OpenAiStream, UsageChunkIsReadAndStrippedUnlessAsked) {
  json body = {{"model", "m"}, {"stream", true}};
  auto t = openai().make_stream_translator(request(body));
  std::vector<StreamStatus> st;
  std::string out = run(*t, {kChunk, kUsage, "[DONE]"}, &st);
  EXPECT_EQ(out, "data: " + kChunk + "\n\n");  // forwarded byte for byte; usage chunk dropped
  EXPECT_EQ(st.back(), StreamStatus::Done);
  EXPECT_TRUE(t->usage().present);
  EXPECT_EQ(t->usage().input, 7);
  EXPECT_EQ(t->usage().output, 3);
  EXPECT_EQ(t->usage().cached_read, 2);
  EXPECT_EQ(t->usage().reasoning, 1);

  body["stream_options"] = {{"include_usage", true}};
  auto t2 = openai().make_stream_translator(request(body));
  EXPECT_EQ(run(*t2, {kChunk, kUsage}), "data: " + kChunk + "\n\ndata: " + kUsage + "\n\n");
}

TEST(OpenAiStream, ErrorEventAndMalformedFirstEvent) {
  json body = {{"model", "m"}, {"stream", true}};
  auto t = openai().make_stream_translator(request(body));
  std::vector<StreamStatus> st;
  std::string out = run(*t, {kChunk, R"({"error":{"message":"overloaded","type":"server_error"}})"}, &st);
  EXPECT_EQ(st[1], StreamStatus::UpstreamError);
  EXPECT_NE(out.find("overloaded"), std::string::npos);

  auto t2 = openai().make_stream_translator(request(body));
  std::string ignored;
  EXPECT_EQ(t2->on_event(sse::Event{"", "{\"id\":", ""}, ignored), StreamStatus::Malformed);
  // A chunk whose *content* mentions "error" is not an error event.
  auto t3 = openai().make_stream_translator(request(body));
  std::string text_chunk =
      R"({"choices":[{"index":0,"delta":{"content":"\"error\" is a word"}}],"usage":null})";
  EXPECT_EQ(t3->on_event(sse::Event{"", text_chunk, ""}, ignored), StreamStatus::Continue);
}

TEST(FindTopLevelMember, FindsOnlyTopLevelKeys) {
  std::string body =
      R"({"id":"x","choices":[{"message":{"content":"{\"usage\":1}","usage":2}}], "usage" : {"prompt_tokens":5}})";
  EXPECT_EQ(find_top_level_member(body, "usage"), R"({"prompt_tokens":5})");
  EXPECT_EQ(find_top_level_member(body, "id"), R"("x")");
  EXPECT_EQ(find_top_level_member(body, "missing"), "");
  EXPECT_EQ(find_top_level_member("not json", "usage"), "");
  EXPECT_EQ(find_top_level_member(R"({"a":[1,2,{"b":"]"}],"n":12})", "n"), "12");
}

TEST(OpenAiAdapter, NonStreamedBodyPassesThroughWithUsage) {
  json body = {{"model", "m"}};
  std::string upstream =
      R"({"id":"c","choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":11,"completion_tokens":4}})";
  std::string copy = upstream;
  auto r = openai().translate_response(request(body), std::move(copy));
  EXPECT_EQ(r.body, upstream);
  EXPECT_EQ(r.usage.input, 11);
  EXPECT_EQ(r.usage.output, 4);
}

}  // namespace
}  // namespace tg::providers
