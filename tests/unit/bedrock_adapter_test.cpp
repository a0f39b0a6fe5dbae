// The Bedrock adapter against golden fixtures (tests/fixtures/bedrock): OpenAI requests ->
// Converse bodies, Converse answers -> chat.completion, recorded ConverseStream frames fed split
// at every byte -> chunks and usage, AWS error bodies -> status/type/code/retryable. Plus SigV4
// and Bearer auth on the built request.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../../src/providers/bedrock/bedrock_adapter.hpp"
#include "../../src/providers/bedrock/eventstream.hpp"
#include "../../src/providers/bedrock/sigv4.hpp"
#include "tollgate/providers/adapter.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;

json fixture(const std::string& name) {
  std::ifstream f(std::string(TG_SOURCE_DIR) + "/tests/fixtures/bedrock/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << name;
  return j;
}

const ProviderAdapter& bedrock_adapter() { return *adapter_for(config::ProviderType::Bedrock); }

ClientRequest request(const json& body) {
  ClientRequest r;
  r.set_doc(&body);
  r.model = body.value("model", "");
  r.stream = body.value("stream", false);
  r.client_wants_usage =
      body.contains("stream_options") && body["stream_options"].value("include_usage", false);
  return r;
}

config::ProviderConfig aws_provider(std::string base_url = "https://bedrock-runtime.us-east-1.amazonaws.com") {
  config::ProviderConfig p;
  p.name = "br";
  p.type = config::ProviderType::Bedrock;
  p.base_url = std::move(base_url);
  p.region = "us-east-1";
  p.aws_access_key_id = "AKIDEXAMPLE";
  p.aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  return p;
}

std::string header(const UpstreamRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

std::chrono::system_clock::time_point jan2() {
  using namespace std::chrono;
  return sys_days{year{2025} / 1 / 2} + hours{3} + minutes{4} + seconds{5};
}

TEST(BedrockAdapter, RequestFixtures) {
  const auto p = aws_provider();
  for (const auto& c : fixture("requests.json")) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const json body = c["openai"];
    const std::string model = c["model"];
    auto req = bedrock_adapter().build_request(request(body), model,
                                               BuildContext{p, "", "bedrock-runtime.us-east-1.amazonaws.com", ""});
    EXPECT_EQ(json::parse(req.body), c["converse"]);
    auto dropped = req.dropped_params;
    std::sort(dropped.begin(), dropped.end());
    std::vector<std::string> want = c["dropped"];
    std::sort(want.begin(), want.end());
    EXPECT_EQ(dropped, want);
    EXPECT_EQ(req.path, "/model/" + bedrock::sigv4::uri_encode(model, false) + "/converse");
    EXPECT_EQ(c["openai"], body);  // the client's request is never changed
  }
}

TEST(BedrockAdapter, StreamPathAndAcceptHeader) {
  json body = {{"model", "m"}, {"stream", true}, {"messages", {{{"role", "user"}, {"content", "x"}}}}};
  const auto p = aws_provider();
  auto req = bedrock_adapter().build_request(request(body), "arn:aws:bedrock:us-east-1:1:inference-profile/us.x",
                                             BuildContext{p, "", "h", ""});
  EXPECT_EQ(req.path, "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse-stream");
  EXPECT_EQ(header(req, "Accept"), "application/vnd.amazon.eventstream");
  EXPECT_EQ(header(req, "Content-Type"), "application/json");
}

// The signature, recomputed here from the canonical request written out by hand.
TEST(BedrockAdapter, SignsWithSigV4OverTheWirePath) {
  json body = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "Hello"}}}}, {"max_tokens", 256}};
  const auto p = aws_provider();
  auto req = bedrock_adapter().build_request(
      request(body), "anthropic.claude-3-haiku-20240307-v1:0",
      BuildContext{p, "", "bedrock-runtime.us-east-1.amazonaws.com", "", jan2()});
  EXPECT_EQ(header(req, "X-Amz-Date"), "20250102T030405Z");
  const std::string canonical =
      "POST\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n\n"
      "content-type:application/json\nhost:bedrock-runtime.us-east-1.amazonaws.com\n"
      "x-amz-date:20250102T030405Z\n\ncontent-type;host;x-amz-date\n" +
      bedrock::sigv4::sha256_hex(req.body);
  const std::string sts = "AWS4-HMAC-SHA256\n20250102T030405Z\n20250102/us-east-1/bedrock/aws4_request\n" +
                          bedrock::sigv4::sha256_hex(canonical);
  // The signing key of this date/region/service (vector of provider-formats.md 4.6).
  const std::string key_hex = "e21c623e4635aedbfb69d823d2707c3757772dc1c9e96594ba340ac8e635ce57";
  std::string key;
  for (size_t i = 0; i < key_hex.size(); i += 2) {
    key += static_cast<char>(std::stoi(key_hex.substr(i, 2), nullptr, 16));
  }
  const std::string sig = bedrock::sigv4::to_hex(bedrock::sigv4::hmac_sha256(key, sts));
  EXPECT_EQ(header(req, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250102/us-east-1/bedrock/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, Signature=" + sig);
}

TEST(BedrockAdapter, SignsTheHostWithItsPortAndTheBasePath) {
  json body = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}};
  const auto p = aws_provider("http://127.0.0.1:9001/proxy");
  auto req = bedrock_adapter().build_request(request(body), "m:1", BuildContext{p, "", "127.0.0.1", "/proxy", jan2()});
  const std::string hash = bedrock::sigv4::sha256_hex(req.body);
  bedrock::sigv4::Request sr;
  sr.method = "POST";
  sr.path = "/proxy/model/m%3A1/converse";
  sr.headers = {{"content-type", "application/json"}, {"host", "127.0.0.1:9001"}, {"x-amz-date", "20250102T030405Z"}};
  sr.payload_hash = hash;
  auto s = bedrock::sigv4::sign(sr, {p.aws_access_key_id, p.aws_secret_access_key, "us-east-1", "bedrock",
                                     "20250102T030405Z"});
  EXPECT_EQ(header(req, "Authorization"), s.authorization);
}

TEST(BedrockAdapter, BearerApiKeyWithoutAwsKeys) {
  json body = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}};
  config::ProviderConfig p;
  p.type = config::ProviderType::Bedrock;
  p.base_url = "https://bedrock-runtime.us-east-1.amazonaws.com";
  p.headers = {{"x-extra", "1"}};
  auto req = bedrock_adapter().build_request(request(body), "m", BuildContext{p, "ABSKkey", "h", ""});
  EXPECT_EQ(header(req, "Authorization"), "Bearer ABSKkey");
  EXPECT_EQ(header(req, "X-Amz-Date"), "<absent>");
  EXPECT_EQ(header(req, "x-extra"), "1");
  auto none = bedrock_adapter().build_request(request(body), "m", BuildContext{p, "", "h", ""});
  EXPECT_EQ(header(none, "Authorization"), "<absent>");
}

TEST(BedrockAdapter, ResponseFixtures) {
  for (const auto& c : fixture("responses.json")) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const json body = c["openai_request"];
    auto r = bedrock_adapter().translate_response(request(body), c["converse"].dump());
    ASSERT_FALSE(r.error.has_value());
    json got = json::parse(r.body);
    EXPECT_TRUE(got["id"].get<std::string>().starts_with("chatcmpl-"));
    EXPECT_TRUE(got["created"].is_number_integer());
    got.erase("id");
    got.erase("created");
    EXPECT_EQ(got, c["openai"]);
    EXPECT_TRUE(r.usage.present);
    EXPECT_EQ(r.usage.input, c["usage"]["input"].get<int64_t>());
    EXPECT_EQ(r.usage.output, c["usage"]["output"].get<int64_t>());
    EXPECT_EQ(r.usage.cached_read, c["usage"]["cached_read"].get<int64_t>());
    EXPECT_EQ(r.usage.cache_write, c["usage"]["cache_write"].get<int64_t>());
  }
}

TEST(BedrockAdapter, ResponseWithoutOutputFailsOver) {
  json body = {{"model", "m"}};
  auto r = bedrock_adapter().translate_response(request(body), R"({"message":"odd"})");
  ASSERT_TRUE(r.error.has_value());
  EXPECT_TRUE(r.error->retryable);
}

// A member of the wrong type (a tool's id or name that is not a string) is read as absent: the
// answer is translated, nothing throws (found by fuzz_provider_bedrock: nlohmann's value() threw).
TEST(BedrockAdapter, MembersOfTheWrongTypeDoNotThrow) {
  json body = {{"model", "m"}};
  const std::string answer =
      R"({"output":{"message":{"role":"assistant","content":[{"text":"Let me check."},)"
      R"({"toolUse":{"toolUseId":{"city":"Lyon"},"name":7,"input":{}}}]}},)"
      R"("stopReason":"tool_use","usage":{"inputTokens":30,"outputTokens":20,"totalTokens":50}})";
  providers::Response r;
  ASSERT_NO_THROW(r = bedrock_adapter().translate_response(request(body), std::string(answer)));
  ASSERT_FALSE(r.error.has_value());
  json out = json::parse(r.body);
  const json& call = out["choices"][0]["message"]["tool_calls"][0];
  EXPECT_EQ(call["id"], "");
  EXPECT_EQ(call["function"]["name"], "");
  EXPECT_EQ(r.usage.input, 30);
}

// ---- streams ----

std::string encode_frames(const json& frames) {
  std::string out;
  for (const auto& f : frames) {
    std::vector<std::pair<std::string, std::string>> hs;
    for (auto& [k, v] : f["headers"].items()) hs.emplace_back(k, v.get<std::string>());
    std::vector<std::pair<std::string_view, std::string_view>> views(hs.begin(), hs.end());
    bedrock::eventstream::encode(out, views, f["payload"].dump());
  }
  return out;
}

struct StreamRun {
  std::vector<json> events;
  StreamStatus status = StreamStatus::Continue;
  Usage usage;
  int64_t events_out = 0;
};

StreamRun run_stream(const ClientRequest& req, std::string_view bytes, std::vector<size_t> cuts) {
  StreamRun run;
  auto t = bedrock_adapter().make_stream_translator(req);
  std::string out;
  size_t from = 0;
  cuts.push_back(bytes.size());
  for (size_t cut : cuts) {
    run.status = t->on_bytes(bytes.substr(from, cut - from), out);
    from = cut;
    if (run.status != StreamStatus::Continue) break;
  }
  if (run.status == StreamStatus::Continue) run.status = t->on_end(out);
  std::string_view rest = out;
  while (!rest.empty()) {
    size_t end = rest.find("\n\n");
    std::string_view ev = rest.substr(0, end);
    EXPECT_TRUE(ev.starts_with("data: ")) << ev;
    run.events.push_back(json::parse(ev.substr(6)));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 2);
  }
  run.usage = t->usage();
  run.events_out = t->events_out();
  return run;
}

// Strips id/object/created/model after checking them (one id per stream).
std::vector<json> normalise(std::vector<json> events, const std::string& model) {
  std::string id;
  for (auto& e : events) {
    if (!e.contains("id")) continue;
    if (id.empty()) id = e["id"];
    EXPECT_EQ(e["id"], id);
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    EXPECT_EQ(e["model"], model);
    EXPECT_TRUE(e["created"].is_number_integer());
    for (const char* k : {"id", "object", "created", "model"}) e.erase(k);
  }
  return events;
}

StreamStatus status_named(const std::string& s) {
  if (s == "Done") return StreamStatus::Done;
  if (s == "UpstreamError") return StreamStatus::UpstreamError;
  if (s == "Malformed") return StreamStatus::Malformed;
  return StreamStatus::Continue;
}

TEST(BedrockStream, FixturesSplitAtEveryByte) {
  for (const auto& c : fixture("streams.json")) {
    SCOPED_TRACE(c["name"].get<std::string>());
    json body = {{"model", "m"}, {"stream", true}};
    if (c["client_wants_usage"].get<bool>()) body["stream_options"] = {{"include_usage", true}};
    const ClientRequest req = request(body);
    const std::string bytes = encode_frames(c["frames"]);
    const std::vector<json> want(c["chunks"].begin(), c["chunks"].end());
    for (size_t cut = 0; cut <= bytes.size(); ++cut) {
      auto run = run_stream(req, bytes, {cut});
      ASSERT_EQ(normalise(run.events, "m"), want) << "cut at " << cut;
      ASSERT_EQ(run.status, status_named(c["status"])) << "cut at " << cut;
      ASSERT_EQ(run.events_out, static_cast<int64_t>(want.size()));
      if (c["usage"].is_object()) {
        ASSERT_TRUE(run.usage.present);
        ASSERT_EQ(run.usage.input, c["usage"]["input"].get<int64_t>());
        ASSERT_EQ(run.usage.output, c["usage"]["output"].get<int64_t>());
        ASSERT_EQ(run.usage.cached_read, c["usage"]["cached_read"].get<int64_t>());
        ASSERT_EQ(run.usage.cache_write, c["usage"]["cache_write"].get<int64_t>());
      }
    }
    // One byte at a time.
    std::vector<size_t> every;
    for (size_t i = 1; i < bytes.size(); ++i) every.push_back(i);
    auto run = run_stream(req, bytes, every);
    EXPECT_EQ(normalise(run.events, "m"), want);
  }
}

json ev(std::string type, json payload) {
  return {{"headers", {{":event-type", type}, {":content-type", "application/json"}, {":message-type", "event"}}},
          {"payload", payload}};
}

TEST(BedrockStream, UsageIsAlwaysRecordedButOnlySentWhenAsked) {
  json frames = json::array({ev("messageStart", {{"role", "assistant"}}),
                             ev("contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", {{"text", "x"}}}}),
                             ev("messageStop", {{"stopReason", "max_tokens"}}),
                             ev("metadata", {{"usage", {{"inputTokens", 2}, {"outputTokens", 1}}}})});
  json body = {{"model", "m"}, {"stream", true}};
  auto run = run_stream(request(body), encode_frames(frames), {});
  EXPECT_EQ(run.status, StreamStatus::Done);
  ASSERT_EQ(run.events.size(), 3u);
  EXPECT_EQ(run.events[2]["choices"][0]["finish_reason"], "length");
  EXPECT_FALSE(run.events[2].contains("usage"));
  EXPECT_EQ(run.usage.input, 2);
  EXPECT_EQ(run.usage.output, 1);
}

TEST(BedrockStream, JsonModeToolStreamsAsContent) {
  json frames = json::array(
      {ev("messageStart", {{"role", "assistant"}}),
       ev("contentBlockStart", {{"contentBlockIndex", 0}, {"start", {{"toolUse", {{"toolUseId", "t"}, {"name", "json_response"}}}}}}),
       ev("contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", {{"toolUse", {{"input", "{\"a\":"}}}}}}),
       ev("contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", {{"toolUse", {{"input", "1}"}}}}}}),
       ev("contentBlockStop", {{"contentBlockIndex", 0}}), ev("messageStop", {{"stopReason", "tool_use"}}),
       ev("metadata", {{"usage", {{"inputTokens", 2}, {"outputTokens", 1}}}})});
  json body = {{"model", "m"}, {"stream", true}, {"response_format", {{"type", "json_object"}}}};
  auto run = run_stream(request(body), encode_frames(frames), {});
  auto events = normalise(run.events, "m");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1]["choices"][0]["delta"], json({{"content", "{\"a\":"}}));
  EXPECT_EQ(events[2]["choices"][0]["delta"], json({{"content", "1}"}}));
  EXPECT_EQ(events[3]["choices"][0]["finish_reason"], "stop");
}

TEST(BedrockStream, ToolWithoutInputGetsAnEmptyObject) {
  json frames = json::array(
      {ev("messageStart", {{"role", "assistant"}}),
       ev("contentBlockStart", {{"contentBlockIndex", 0}, {"start", {{"toolUse", {{"toolUseId", "t"}, {"name", "now"}}}}}}),
       ev("contentBlockStop", {{"contentBlockIndex", 0}}), ev("messageStop", {{"stopReason", "tool_use"}}),
       ev("metadata", {{"usage", {{"inputTokens", 2}, {"outputTokens", 1}}}})});
  json body = {{"model", "m"}, {"stream", true}};
  auto events = normalise(run_stream(request(body), encode_frames(frames), {}).events, "m");
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[2]["choices"][0]["delta"],
            json::parse(R"({"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]})"));
  EXPECT_EQ(events[3]["choices"][0]["finish_reason"], "tool_calls");
}

TEST(BedrockStream, CorruptFrameBeforeAnyEventIsMalformed) {
  json frames = json::array({ev("messageStart", {{"role", "assistant"}}),
                             ev("contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", {{"text", "x"}}}})});
  std::string bytes = encode_frames(frames);
  bytes[bytes.size() - 10] ^= 1;  // inside the second frame's payload: its message CRC fails
  json body = {{"model", "m"}, {"stream", true}};
  auto run = run_stream(request(body), bytes, {});
  EXPECT_EQ(run.status, StreamStatus::Malformed);
  EXPECT_TRUE(run.events.empty());
  // Not an event stream at all (an HTML page, say): the prelude CRC fails.
  auto html = run_stream(request(body), "<html><body>502 Bad Gateway</body></html>", {});
  EXPECT_EQ(html.status, StreamStatus::Malformed);
  // A frame cut short and then the end: nothing was sent, so it is malformed too.
  auto cut = run_stream(request(body), std::string_view(bytes).substr(0, 20), {});
  EXPECT_EQ(cut.status, StreamStatus::Malformed);
}

TEST(BedrockStream, CorruptFrameAfterContentEndsWithAnError) {
  json frames = json::array({ev("messageStart", {{"role", "assistant"}}),
                             ev("contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", {{"text", "x"}}}}),
                             ev("contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", {{"text", "y"}}}})});
  std::string bytes = encode_frames(frames);
  bytes[bytes.size() - 1] ^= 1;  // the last frame's message CRC
  json body = {{"model", "m"}, {"stream", true}};
  auto run = run_stream(request(body), bytes, {});
  EXPECT_EQ(run.status, StreamStatus::UpstreamError);
  ASSERT_EQ(run.events.size(), 3u);  // role, "x", error
  EXPECT_NE(run.events[2]["error"]["message"].get<std::string>().find("CRC"), std::string::npos);
}

TEST(BedrockStream, EndWithoutMetadataAfterMessageStopIsDone) {
  json frames = json::array({ev("messageStart", {{"role", "assistant"}}),
                             ev("contentBlockDelta", {{"contentBlockIndex", 0}, {"delta", {{"text", "x"}}}}),
                             ev("messageStop", {{"stopReason", "end_turn"}})});
  json body = {{"model", "m"}, {"stream", true}};
  EXPECT_EQ(run_stream(request(body), encode_frames(frames), {}).status, StreamStatus::Done);
  // Without messageStop the stream was cut short.
  frames.erase(2);
  EXPECT_EQ(run_stream(request(body), encode_frames(frames), {}).status, StreamStatus::Continue);
}

TEST(BedrockStream, ExceptionBeforeContentFailsOver) {
  json frames = json::array(
      {ev("messageStart", {{"role", "assistant"}}),
       {{"headers", {{":exception-type", "serviceUnavailableException"}, {":message-type", "exception"}}},
        {"payload", {{"message", "busy"}}}}});
  json body = {{"model", "m"}, {"stream", true}};
  auto run = run_stream(request(body), encode_frames(frames), {});
  EXPECT_EQ(run.status, StreamStatus::UpstreamError);
  ASSERT_EQ(run.events.size(), 1u);  // only the error: no role chunk went out before it
  EXPECT_EQ(run.events[0]["error"]["code"], "service_unavailable");
}

// ---- errors ----

TEST(BedrockErrors, Fixtures) {
  for (const auto& c : fixture("errors.json")) {
    const std::string body = c["body"].is_string() ? c["body"].get<std::string>() : c["body"].dump();
    SCOPED_TRACE(body);
    Error e = bedrock_adapter().map_error("br", c["status"], body, "");
    const json& x = c["expect"];
    EXPECT_EQ(e.status, x["status"].get<int>());
    EXPECT_EQ(e.type, x["type"].get<std::string>());
    EXPECT_EQ(e.code_str, x["code"].is_null() ? "" : x["code"].get<std::string>());
    EXPECT_EQ(e.retryable, x["retryable"].get<bool>());
    EXPECT_EQ(is_context_window_error(e), x["context_window"].get<bool>());
    EXPECT_EQ(e.provider, "br");
    // The provider's own message is kept.
    std::string msg = c["body"].is_object() ? c["body"].value("message", c["body"].value("Message", "")) : body;
    EXPECT_NE(e.message.find(msg), std::string::npos) << e.message;
  }
}

TEST(BedrockErrors, RetryAfterIsKept) {
  Error e = bedrock_adapter().map_error("br", 429, R"({"message":"slow down"})", "2");
  EXPECT_EQ(e.retry_after, "2");
  EXPECT_NE(e.message.find("ThrottlingException"), std::string::npos);
}

TEST(BedrockAdapter, ChatOnly) {
  EXPECT_TRUE(bedrock_adapter().supports(Endpoint::ChatCompletions));
  EXPECT_FALSE(bedrock_adapter().supports(Endpoint::Embeddings));
  EXPECT_FALSE(bedrock_adapter().supports(Endpoint::Completions));
}

}  // namespace
}  // namespace tg::providers
