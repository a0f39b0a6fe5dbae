// The native Responses path of the OpenAI-style adapters (OpenAI, the OpenAI-compatible family,
// Azure's v1 API): the request is the client's body with its model set, the answer is passed
// through with its usage read, and the stream translator forwards every event byte for byte,
// holding the preamble back so that a failure before any output can still fail over.

#include <gtest/gtest.h>

#include "tollgate/providers/adapter.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;

ClientRequest responses_request(const json& body, std::string_view raw = {}) {
  ClientRequest r;
  r.endpoint = Endpoint::Responses;
  r.set_doc(&body);
  r.model = body.value("model", "");
  r.stream = body.value("stream", false);
  r.raw_body = raw;
  return r;
}

config::ProviderConfig provider(config::ProviderType type, std::string base_url,
                                config::ResponsesMode mode, std::string preset = "") {
  config::ProviderConfig p;
  p.name = "p";
  p.type = type;
  p.preset = std::move(preset);
  p.base_url = std::move(base_url);
  p.responses = mode;
  return p;
}

std::string header(const UpstreamRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

// A typical OpenAI stream: preamble, one text item in two deltas, completed with usage.
const std::string kCreated =
    "event: response.created\n"
    R"(data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[],"usage":null}})"
    "\n\n";
const std::string kInProgress =
    "event: response.in_progress\n"
    R"(data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_1","object":"response","status":"in_progress","output":[],"usage":null}})"
    "\n\n";
const std::string kOutput =
    "event: response.output_item.added\n"
    R"(data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","content":[],"role":"assistant"}})"
    "\n\n"
    "event: response.content_part.added\n"
    R"(data: {"type":"response.content_part.added","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"text":""}})"
    "\n\n"
    "event: response.output_text.delta\n"
    R"(data: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hé ✓ \"usage\"","logprobs":[]})"
    "\n\n"
    "event: response.output_text.delta\n"
    R"(data: {"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_1","output_index":0,"content_index":0,"delta":" response.completed","logprobs":[]})"
    "\n\n"
    "event: response.output_text.done\n"
    R"(data: {"type":"response.output_text.done","sequence_number":6,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Hé ✓ \"usage\" response.completed","logprobs":[]})"
    "\n\n"
    "event: response.output_item.done\n"
    R"(data: {"type":"response.output_item.done","sequence_number":7,"output_index":0,"item":{"id":"msg_1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"text":"Hé ✓ \"usage\" response.completed"}],"role":"assistant"}})"
    "\n\n";
const std::string kCompleted =
    "event: response.completed\n"
    R"(data: {"type":"response.completed","sequence_number":8,"response":{"id":"resp_1","object":"response","status":"completed","output":[{"id":"msg_1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"text":"x","usage":{"input_tokens":999}}],"role":"assistant"}],"usage":{"input_tokens":120,"input_tokens_details":{"cached_tokens":100,"cache_write_tokens":7},"output_tokens":45,"output_tokens_details":{"reasoning_tokens":30},"total_tokens":165},"user":null}})"
    "\n\n";

void expect_usage(const Usage& u) {
  EXPECT_TRUE(u.present);
  EXPECT_EQ(u.input, 120);
  EXPECT_EQ(u.cached_read, 100);
  EXPECT_EQ(u.cache_write, 7);
  EXPECT_EQ(u.output, 45);
  EXPECT_EQ(u.reasoning, 30);
}

std::unique_ptr<StreamTranslator> openai_stream() {
  json body = {{"model", "m"}, {"stream", true}};
  return adapter_for(config::ProviderType::OpenAI)->make_stream_translator(responses_request(body));
}

TEST(ResponsesNative, EndpointName) { EXPECT_EQ(to_string(Endpoint::Responses), "responses"); }

TEST(ResponsesNative, OpenAiRequestIsTheClientsBytesWithTheModelSpliced) {
  const std::string raw =
      R"({ "model" : "alias", "input":[{"role":"user","content":"hi \u2713"}], "stream":true, "store":false, "top_p":1e0})";
  json body = json::parse(raw);
  auto p = provider(config::ProviderType::OpenAI, "https://api.openai.com/v1",
                    config::ResponsesMode::Native);
  const ProviderAdapter* a = adapter_for(p.type);
  ASSERT_TRUE(a->supports(Endpoint::Responses));
  auto req = a->build_request(responses_request(body, raw), "gpt-5", BuildContext{p, "sk-up", "", ""});
  EXPECT_EQ(req.path, "/responses");
  // No stream_options.include_usage: the Responses API always reports usage at the end.
  EXPECT_EQ(req.body,
            R"({ "model" : "gpt-5", "input":[{"role":"user","content":"hi \u2713"}], "stream":true, "store":false, "top_p":1e0})");
  EXPECT_EQ(header(req, "Authorization"), "Bearer sk-up");
  EXPECT_EQ(header(req, "Accept"), "text/event-stream");
  EXPECT_TRUE(req.dropped_params.empty());
  EXPECT_EQ(body["model"], "alias");  // the client request is untouched

  // Without the raw bytes (or when splicing is unsafe), the document is serialised: still
  // nothing added.
  auto again = a->build_request(responses_request(body), "gpt-5", BuildContext{p, "sk-up", "", ""});
  json expected = body;
  expected["model"] = "gpt-5";
  EXPECT_EQ(json::parse(again.body), expected);
}

TEST(ResponsesNative, CompatibleHostsGetTheBodyWithoutChatQuirks) {
  // Groq's chat quirks would drop top_logprobs and n; its Responses API gets the body as it is.
  const std::string raw = R"({"model":"alias","input":"hi","top_logprobs":2,"n":3})";
  json body = json::parse(raw);
  auto p = provider(config::ProviderType::OpenAICompatible, "https://api.groq.com/openai/v1",
                    config::ResponsesMode::Native, "groq");
  const ProviderAdapter* a = adapter_for(p.type);
  auto req = a->build_request(responses_request(body, raw), "llama", BuildContext{p, "gk", "", ""});
  EXPECT_EQ(req.path, "/responses");
  EXPECT_EQ(req.body, R"({"model":"llama","input":"hi","top_logprobs":2,"n":3})");
  EXPECT_TRUE(req.dropped_params.empty());
}

TEST(ResponsesNative, AzureV1RequestUsesTheDeploymentAndApiKey) {
  const std::string raw = R"({"model":"gpt-4o-mini","input":"hi","stream":true})";
  json body = json::parse(raw);
  auto p = provider(config::ProviderType::Azure, "https://r.openai.azure.com/openai/v1",
                    config::ResponsesMode::Native);
  p.deployments = {{"gpt-4o-mini", "my-dep"}};
  const ProviderAdapter* a = adapter_for(p.type);
  auto req = a->build_request(responses_request(body, raw), "gpt-4o-mini",
                              BuildContext{p, "az-key", "r.openai.azure.com", "/openai/v1"});
  EXPECT_EQ(req.path, "/responses");
  EXPECT_EQ(req.body, R"({"model":"my-dep","input":"hi","stream":true})");
  EXPECT_EQ(header(req, "api-key"), "az-key");
  EXPECT_EQ(header(req, "Authorization"), "<none>");
}

TEST(ResponsesNative, WhoSpeaksResponsesNatively) {
  using config::ProviderType;
  using config::ResponsesMode;
  auto native = [](ProviderType t, std::string url, ResponsesMode m) {
    return adapter_for(t)->native_responses(provider(t, std::move(url), m));
  };
  EXPECT_TRUE(native(ProviderType::OpenAI, "https://api.openai.com/v1", ResponsesMode::Native));
  EXPECT_FALSE(native(ProviderType::OpenAI, "https://api.openai.com/v1", ResponsesMode::Translate));
  EXPECT_TRUE(native(ProviderType::OpenAICompatible, "http://h/v1", ResponsesMode::Native));
  EXPECT_FALSE(native(ProviderType::OpenAICompatible, "http://h/v1", ResponsesMode::Translate));
  EXPECT_TRUE(native(ProviderType::Azure, "https://r.openai.azure.com/openai/v1", ResponsesMode::Native));
  // The classic Azure API has no /responses here: always translated.
  EXPECT_FALSE(native(ProviderType::Azure, "https://r.openai.azure.com", ResponsesMode::Native));
  EXPECT_FALSE(native(ProviderType::Azure, "https://r.openai.azure.com/openai/v1", ResponsesMode::Translate));
  for (ProviderType t : {ProviderType::Anthropic, ProviderType::Gemini, ProviderType::Bedrock}) {
    EXPECT_FALSE(native(t, "https://x", ResponsesMode::Native)) << config::to_string(t);
    EXPECT_FALSE(adapter_for(t)->supports(Endpoint::Responses)) << config::to_string(t);
  }
}

TEST(ResponsesNative, AnswerPassesThroughWithItsUsage) {
  const std::string body =
      R"({"id":"resp_1","object":"response","status":"completed","error":null,"output":[{"type":"message","content":[{"type":"output_text","text":"{\"usage\":{\"input_tokens\":1}}"}]}],"usage":{"input_tokens":120,"input_tokens_details":{"cached_tokens":100,"cache_write_tokens":7},"output_tokens":45,"output_tokens_details":{"reasoning_tokens":30},"total_tokens":165}})";
  json req_body = {{"model", "m"}};
  for (auto t : {config::ProviderType::OpenAI, config::ProviderType::OpenAICompatible,
                 config::ProviderType::Azure}) {
    Response r = adapter_for(t)->translate_response(responses_request(req_body), std::string(body));
    EXPECT_FALSE(r.error) << config::to_string(t);
    EXPECT_EQ(r.body, body) << config::to_string(t);  // byte for byte
    expect_usage(r.usage);
  }
}

TEST(ResponsesNative, FailedAnswersAndErrorObjectsFailOver) {
  json req_body = {{"model", "m"}};
  const ProviderAdapter* a = adapter_for(config::ProviderType::OpenAI);
  Response failed = a->translate_response(
      responses_request(req_body),
      R"({"id":"r","object":"response","status":"failed","error":{"code":"server_error","message":"boom"},"output":[],"usage":null})");
  ASSERT_TRUE(failed.error);
  EXPECT_TRUE(failed.error->retryable);
  EXPECT_NE(failed.error->message.find("boom"), std::string::npos);
  EXPECT_EQ(failed.error->code_str, "server_error");

  Response bare = a->translate_response(responses_request(req_body),
                                        R"({"error":{"message":"overloaded","type":"server_error"}})");
  ASSERT_TRUE(bare.error);
  EXPECT_TRUE(bare.error->retryable);

  // An incomplete response is an answer (cut by max_output_tokens), not a failure.
  Response incomplete = a->translate_response(
      responses_request(req_body),
      R"({"id":"r","status":"incomplete","error":null,"incomplete_details":{"reason":"max_output_tokens"},"output":[],"usage":{"input_tokens":3,"output_tokens":16}})");
  EXPECT_FALSE(incomplete.error);
  EXPECT_EQ(incomplete.usage.output, 16);
}

TEST(ResponsesNative, StreamPassesEveryEventThroughAtAnySplit) {
  const std::string stream = kCreated + kInProgress + kOutput + kCompleted;
  for (size_t cut = 0; cut < stream.size(); ++cut) {
    auto t = openai_stream();
    std::string out;
    StreamStatus st = t->on_bytes(std::string_view(stream).substr(0, cut), out);
    ASSERT_EQ(st, StreamStatus::Continue) << cut;
    st = t->on_bytes(std::string_view(stream).substr(cut), out);
    ASSERT_EQ(st, StreamStatus::Done) << cut;
    ASSERT_EQ(out, stream) << cut;  // byte for byte, event: lines included
    EXPECT_EQ(t->events_out(), 9);
    expect_usage(t->usage());
  }
  // One byte at a time.
  auto t = openai_stream();
  std::string out;
  StreamStatus st = StreamStatus::Continue;
  for (char c : stream) {
    ASSERT_EQ(st, StreamStatus::Continue);
    st = t->on_bytes(std::string_view(&c, 1), out);
  }
  EXPECT_EQ(st, StreamStatus::Done);
  EXPECT_EQ(out, stream);
  expect_usage(t->usage());
}

TEST(ResponsesNative, UsageOfTheCompletedEventAtEveryByteSplit) {
  // The terminal event alone, cut at every byte: usage is read once the event is whole, and
  // nothing before that ends the stream.
  for (size_t cut = 1; cut < kCompleted.size(); ++cut) {
    auto t = openai_stream();
    std::string out;
    ASSERT_EQ(t->on_bytes(std::string_view(kCompleted).substr(0, cut), out), StreamStatus::Continue);
    EXPECT_FALSE(t->usage().present) << cut;
    ASSERT_EQ(t->on_bytes(std::string_view(kCompleted).substr(cut), out), StreamStatus::Done) << cut;
    expect_usage(t->usage());
    EXPECT_EQ(out, kCompleted);
  }
}

TEST(ResponsesNative, PreambleIsHeldSoAnEarlyErrorCanFailOver) {
  const std::string error =
      "event: error\n"
      R"(data: {"type":"error","sequence_number":2,"code":"server_error","message":"overloaded","param":null})"
      "\n\n";
  const std::string failed =
      "event: response.failed\n"
      R"(data: {"type":"response.failed","sequence_number":2,"response":{"id":"resp_1","status":"failed","error":{"code":"server_error","message":"x"},"output":[],"usage":{"input_tokens":5,"output_tokens":0}}})"
      "\n\n";
  for (const std::string& bad : {error, failed}) {
    auto t = openai_stream();
    std::string out;
    ASSERT_EQ(t->on_bytes(kCreated + kInProgress, out), StreamStatus::Continue);
    EXPECT_EQ(out, "");  // nothing to commit yet
    EXPECT_EQ(t->events_out(), 0);
    EXPECT_EQ(t->on_bytes(bad, out), StreamStatus::UpstreamError);
    EXPECT_EQ(out, "");  // the router fails over: the client saw nothing
  }
  // The 2026 shape of the error event (an error object, no event: line) is recognised too.
  auto t = openai_stream();
  std::string out;
  EXPECT_EQ(t->on_bytes(
                R"(data: {"type":"error","error":{"code":"server_is_overloaded","message":"busy","type":"service_unavailable_error"},"sequence_number":0})"
                "\n\n",
                out),
            StreamStatus::UpstreamError);
  EXPECT_EQ(out, "");
}

TEST(ResponsesNative, ErrorAfterOutputIsForwardedAndTheFailureEndsTheStream) {
  const std::string error =
      "event: error\n"
      R"(data: {"type":"error","sequence_number":8,"code":"server_error","message":"cut","param":null})"
      "\n\n";
  const std::string failed =
      "event: response.failed\n"
      R"(data: {"type":"response.failed","sequence_number":9,"response":{"id":"resp_1","status":"failed","error":{"code":"server_error","message":"cut"},"output":[],"usage":{"input_tokens":120,"input_tokens_details":{"cached_tokens":100,"cache_write_tokens":7},"output_tokens":45,"output_tokens_details":{"reasoning_tokens":30}}}})"
      "\n\n";
  auto t = openai_stream();
  std::string out;
  ASSERT_EQ(t->on_bytes(kCreated + kInProgress + kOutput, out), StreamStatus::Continue);
  EXPECT_EQ(out, kCreated + kInProgress + kOutput);  // committed: the preamble went first
  out.clear();
  EXPECT_EQ(t->on_bytes(error, out), StreamStatus::Continue);  // response.failed follows it
  EXPECT_EQ(out, error);
  out.clear();
  EXPECT_EQ(t->on_bytes(failed, out), StreamStatus::UpstreamError);
  EXPECT_EQ(out, failed);
  expect_usage(t->usage());  // what the failed response consumed is billed

  // An upstream that closes right after its error event: a failed stream the client was told of.
  auto u = openai_stream();
  out.clear();
  u->on_bytes(kCreated + kOutput + error, out);
  EXPECT_EQ(u->on_end(out), StreamStatus::UpstreamError);
  // One that closes without a terminal event was cut short.
  auto v = openai_stream();
  out.clear();
  v->on_bytes(kCreated + kOutput, out);
  EXPECT_EQ(v->on_end(out), StreamStatus::Continue);
}

TEST(ResponsesNative, IncompleteEndsTheStreamWithItsUsage) {
  const std::string incomplete =
      "event: response.incomplete\n"
      R"(data: {"type":"response.incomplete","sequence_number":8,"response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":4,"output_tokens":16,"output_tokens_details":{"reasoning_tokens":0}}}})"
      "\n\n";
  auto t = openai_stream();
  std::string out;
  EXPECT_EQ(t->on_bytes(kCreated + kOutput + incomplete, out), StreamStatus::Done);
  EXPECT_EQ(out, kCreated + kOutput + incomplete);
  EXPECT_EQ(t->usage().input, 4);
  EXPECT_EQ(t->usage().output, 16);
}

TEST(ResponsesNative, EventsWithoutNamesAreClassifiedByTheirType) {
  // Some servers write data: lines only; the events still pass through as they came.
  std::string stream;
  for (const std::string* e : {&kCreated, &kOutput, &kCompleted}) {
    std::string_view s = *e;
    while (!s.empty()) {
      size_t nl = s.find('\n');
      std::string_view line = s.substr(0, nl + 1);
      if (!line.starts_with("event: ")) stream += line;
      s.remove_prefix(nl + 1);
    }
  }
  auto t = openai_stream();
  std::string out;
  EXPECT_EQ(t->on_bytes(stream, out), StreamStatus::Done);
  EXPECT_EQ(out, stream);
  expect_usage(t->usage());
}

TEST(ResponsesNative, MalformedFirstEventsAndAnEndlessPreamble) {
  auto t = openai_stream();
  std::string out;
  EXPECT_EQ(t->on_bytes("event: response.created\ndata: {\"type\":\"response.cre\n\n", out),
            StreamStatus::Malformed);
  EXPECT_EQ(out, "");

  // A held preamble is bounded: past 8 events the stream is committed anyway.
  auto u = openai_stream();
  out.clear();
  for (int i = 0; i < 8; ++i) ASSERT_EQ(u->on_bytes(kInProgress, out), StreamStatus::Continue);
  EXPECT_EQ(out, "");
  ASSERT_EQ(u->on_bytes(kInProgress, out), StreamStatus::Continue);
  EXPECT_EQ(u->events_out(), 9);
  std::string nine;
  for (int i = 0; i < 9; ++i) nine += kInProgress;
  EXPECT_EQ(out, nine);
}

// The first events are validated before anything is sent (json_scan::valid, bounded in depth):
// a first event nested a million deep is refused as malformed (so the call can fail over), never
// a stack overflow; one with CR, LF or NUL escaped in its strings and members nobody knows passes
// byte for byte.
TEST(ResponsesNative, HostileFirstEventsAreMalformedOrPassedAsSent) {
  auto t = openai_stream();
  std::string out;
  const std::string deep = "data: {\"type\":\"response.created\",\"x\":" +
                           std::string(1'000'000, '[') + std::string(1'000'000, ']') + "}\n\n";
  EXPECT_EQ(t->on_bytes(deep, out), StreamStatus::Malformed);
  EXPECT_EQ(out, "");

  auto u = openai_stream();
  const std::string odd =
      "data: {\"type\":\"response.output_text.delta\",\"delta\":\"a\\r\\nb\\u0000c\","
      "\"unknown_field\":9223372036854775808}\n\n";
  EXPECT_EQ(u->on_bytes(odd, out), StreamStatus::Continue);
  EXPECT_EQ(out, odd);
}

TEST(ResponsesNative, UsageFromResponsesIgnoresJunk) {
  Usage u = Usage::from_responses(json::parse(
      R"({"input_tokens":-5,"output_tokens":"7","input_tokens_details":null,"output_tokens_details":{"reasoning_tokens":3}})"));
  EXPECT_TRUE(u.present);
  EXPECT_EQ(u.input, 0);
  EXPECT_EQ(u.output, 0);
  EXPECT_EQ(u.reasoning, 3);
  EXPECT_FALSE(Usage::from_responses(json()).present);
}

}  // namespace
}  // namespace tg::providers
