// Azure OpenAI adapter: URLs and auth (classic and v1), the body (model = deployment, stream
// usage by api-version), the stream (Azure's annotation-only chunks dropped, every byte split),
// and the error mapping. Golden fixtures in tests/fixtures/azure/.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tollgate/providers/adapter.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;

std::string fixture_text(const std::string& name) {
  std::ifstream f(std::string(TG_SOURCE_DIR) + "/tests/fixtures/azure/" + name, std::ios::binary);
  EXPECT_TRUE(f.good()) << name;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

json fixture(const std::string& name) { return json::parse(fixture_text(name)); }

const ProviderAdapter& azure() { return *adapter_for(config::ProviderType::Azure); }

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

Endpoint endpoint_of(const json& c) {
  std::string e = c.value("endpoint", "chat");
  if (e == "embeddings") return Endpoint::Embeddings;
  if (e == "completions") return Endpoint::Completions;
  return Endpoint::ChatCompletions;
}

std::string header(const UpstreamRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(AzureAdapter, SupportsChatCompletionsAndEmbeddings) {
  EXPECT_TRUE(azure().supports(Endpoint::ChatCompletions));
  EXPECT_TRUE(azure().supports(Endpoint::Completions));
  EXPECT_TRUE(azure().supports(Endpoint::Embeddings));
}

TEST(AzureAdapter, RequestFixtures) {
  json cases = fixture("requests.json");
  ASSERT_GE(cases.size(), 5u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    config::ProviderConfig p;
    p.name = "az";
    p.type = config::ProviderType::Azure;
    p.base_url = c["provider"]["base_url"];
    p.api_version = c["provider"]["api_version"];
    p.deployments = c["provider"]["deployments"].get<std::map<std::string, std::string>>();
    p.headers = {{"x-ms-useragent", "tollgate"}};
    const json body = c["request"];
    const json before = body;
    std::string base_path = c["base_path"];
    auto req = azure().build_request(request(body, endpoint_of(c)), c["model"].get<std::string>(),
                                     BuildContext{p, "az-key", "contoso.openai.azure.com", base_path});
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.path, c["expect_path"].get<std::string>());
    EXPECT_EQ(json::parse(req.body), c["expect_body"]);
    EXPECT_EQ(json(req.dropped_params), c["expect_dropped"]);
    EXPECT_EQ(header(req, "api-key"), "az-key");
    EXPECT_EQ(header(req, "Authorization"), "<absent>");  // Azure keys go in api-key
    EXPECT_EQ(header(req, "Content-Type"), "application/json");
    EXPECT_EQ(header(req, "x-ms-useragent"), "tollgate");
    EXPECT_EQ(header(req, "Accept"), body.value("stream", false) ? "text/event-stream" : "<absent>");
    EXPECT_EQ(body, before);  // the client request is never modified (failover reuses it)
  }
}

TEST(AzureAdapter, NoKeyNoApiKeyHeaderAndEntraTokenViaHeaders) {
  config::ProviderConfig p;
  p.base_url = "https://contoso.openai.azure.com";
  p.api_version = "2024-10-21";
  p.headers = {{"Authorization", "Bearer entra-token"}};
  json body = {{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "x"}}})}};
  auto req = azure().build_request(request(body), "gpt-4o", BuildContext{p, "", "h", ""});
  EXPECT_EQ(header(req, "api-key"), "<absent>");
  EXPECT_EQ(header(req, "Authorization"), "Bearer entra-token");
  // base_path not given: read from base_url.
  EXPECT_EQ(req.path, "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21");
  p.base_url = "https://contoso.openai.azure.com/openai/v1/";
  auto v1 = azure().build_request(request(body), "gpt-4o", BuildContext{p, "", "h", ""});
  EXPECT_EQ(v1.path, "/chat/completions");
}

// An older api-version drops stream_options; a client's include_usage that is not a boolean is
// read as false there, not thrown on (nlohmann's value(key, false) threw: a 500).
TEST(AzureAdapter, AStreamOptionOfTheWrongTypeDoesNotThrow) {
  config::ProviderConfig p;
  p.base_url = "https://contoso.openai.azure.com";
  p.api_version = "2023-05-15";
  const json body = {{"model", "m"}, {"stream", true}, {"stream_options", {{"include_usage", "yes"}}},
                     {"messages", json::array({{{"role", "user"}, {"content", "x"}}})}};
  json plain = body;  // (this file's request() reads stream_options with value())
  plain.erase("stream_options");
  ClientRequest r = request(plain);
  r.set_doc(&body);
  UpstreamRequest up;
  ASSERT_NO_THROW(up = azure().build_request(r, "gpt-4o", BuildContext{p, "k", "h", ""}));
  EXPECT_FALSE(json::parse(up.body).contains("stream_options"));
  EXPECT_TRUE(up.dropped_params.empty());  // "yes" asked for nothing
}

// ---- responses ----

TEST(AzureAdapter, NonStreamedAnswerPassesThroughWithUsage) {
  json body = {{"model", "m"}};
  std::string upstream = fixture_text("response_chat.json");
  json expect = fixture("response_chat.expected.json");
  auto r = azure().translate_response(request(body), std::string(upstream));
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.body, upstream);  // byte for byte: no re-parse, annotations kept
  EXPECT_TRUE(r.usage.present);
  EXPECT_EQ(r.usage.input, expect["usage"]["input"].get<int64_t>());
  EXPECT_EQ(r.usage.output, expect["usage"]["output"].get<int64_t>());
  EXPECT_EQ(r.usage.cached_read, expect["usage"]["cached_read"].get<int64_t>());
}

struct StreamRun {
  std::vector<std::string> data;  // client events' data, in order
  StreamStatus status = StreamStatus::Continue;
  Usage usage;
};

// Feeds `bytes` in two pieces cut at `cut`, then ends the stream, as the handler does.
StreamRun run_stream(const ProviderAdapter& a, const ClientRequest& req, std::string_view bytes,
                     size_t cut) {
  auto t = a.make_stream_translator(req);
  std::string out;
  StreamRun run;
  run.status = t->on_bytes(bytes.substr(0, cut), out);
  if (run.status == StreamStatus::Continue) run.status = t->on_bytes(bytes.substr(cut), out);
  if (run.status == StreamStatus::Continue) run.status = t->on_end(out);
  sse::Decoder d;
  std::vector<sse::Event> events;
  d.feed(out, events);
  EXPECT_FALSE(d.has_partial()) << "client output must be whole SSE events";
  for (auto& e : events) run.data.push_back(e.data);
  EXPECT_EQ(t->events_out(), static_cast<int64_t>(run.data.size()));
  run.usage = t->usage();
  return run;
}

void check_stream_fixture(const std::string& name) {
  std::string sse_text = fixture_text(name + ".sse");
  json expect = fixture(name + ".expected.json");
  for (bool wants_usage : {false, true}) {
    json body = {{"model", "m"}, {"stream", true}};
    if (wants_usage) body["stream_options"] = {{"include_usage", true}};
    ClientRequest req = request(body);
    json want = expect["chunks"];
    if (wants_usage) want.push_back(expect["usage_chunk"]);
    for (size_t cut = 0; cut <= sse_text.size(); ++cut) {
      SCOPED_TRACE(name + " wants_usage=" + std::to_string(wants_usage) + " cut=" +
                   std::to_string(cut));
      StreamRun run = run_stream(azure(), req, sse_text, cut);
      ASSERT_EQ(run.status, StreamStatus::Done);
      json got = json::array();
      for (const auto& d : run.data) got.push_back(json::parse(d));
      ASSERT_EQ(got, want);
      EXPECT_EQ(run.usage.input, expect["usage"]["input"].get<int64_t>());
      EXPECT_EQ(run.usage.output, expect["usage"]["output"].get<int64_t>());
      EXPECT_EQ(run.usage.cached_read, expect["usage"]["cached_read"].get<int64_t>());
      EXPECT_EQ(run.usage.reasoning, expect["usage"]["reasoning"].get<int64_t>());
      // Chunks that carry an answer are forwarded byte for byte.
      for (size_t i = 0; i < run.data.size(); ++i) {
        EXPECT_NE(sse_text.find("data: " + run.data[i] + "\n"), std::string::npos);
      }
    }
  }
}

TEST(AzureStream, DropsPromptFilterAndAsyncFilterChunksAtEveryByteSplit) {
  check_stream_fixture("stream_chat");
}

TEST(AzureStream, ContentFilterFinishReasonPassesThrough) {
  check_stream_fixture("stream_content_filter");
}

TEST(AzureStream, PromptFilterChunkIsNotTheCommitPointNorUsage) {
  json body = {{"model", "m"}, {"stream", true}};
  auto t = azure().make_stream_translator(request(body));
  std::string out;
  std::string first =
      R"({"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]})";
  EXPECT_EQ(t->on_event(sse::Event{"", first, ""}, out), StreamStatus::Continue);
  EXPECT_TRUE(out.empty());  // nothing for the client yet: failover is still possible
  EXPECT_FALSE(t->usage().present);
  EXPECT_EQ(t->events_out(), 0);
  // An error before any content: the handler fails over.
  EXPECT_EQ(t->on_event(sse::Event{"", R"({"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}})", ""}, out),
            StreamStatus::UpstreamError);
  // A malformed first event is reported as such even after a dropped annotation chunk.
  auto t2 = azure().make_stream_translator(request(body));
  std::string out2;
  EXPECT_EQ(t2->on_event(sse::Event{"", first, ""}, out2), StreamStatus::Continue);
  EXPECT_EQ(t2->on_event(sse::Event{"", "{\"id\":", ""}, out2), StreamStatus::Malformed);
}

// ---- errors ----

TEST(AzureAdapter, ErrorFixtures) {
  json cases = fixture("errors.json");
  ASSERT_GE(cases.size(), 8u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    Error e = azure().map_error("az", c["status"], c["body"].dump(), c["retry_after"].get<std::string>());
    const json& x = c["expect"];
    EXPECT_EQ(e.status, x["status"].get<int>());
    EXPECT_EQ(e.code_str, x["code"].get<std::string>());
    EXPECT_EQ(e.type, x["type"].get<std::string>());
    EXPECT_EQ(e.retryable, x["retryable"].get<bool>());
    EXPECT_EQ(e.provider, "az");
    EXPECT_NE(e.message.find(x["message_contains"].get<std::string>()), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("az"), std::string::npos);
    if (x.contains("retry_after")) EXPECT_EQ(e.retry_after, x["retry_after"].get<std::string>());
    if (x.contains("param")) {
      ASSERT_TRUE(e.param.has_value());
      EXPECT_EQ(*e.param, x["param"].get<std::string>());
    }
    // The client sees OpenAI's 4-key shape.
    json rendered = json::parse(render_error_body(e));
    for (const char* k : {"message", "type", "param", "code"}) {
      EXPECT_TRUE(rendered["error"].contains(k)) << k;
    }
  }
}

}  // namespace
}  // namespace tg::providers
