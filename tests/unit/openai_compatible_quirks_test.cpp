// The OpenAI-compatible family: per-preset request quirks (golden fixtures in
// tests/fixtures/compatible/requests.json), response repairs for non-streamed answers
// (responses.json) and for streams (*.sse fed split at every byte offset, *.expected.json), and
// the promise that a request or answer that needs nothing is neither copied nor re-serialised.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "../../src/providers/openai/compat_quirks.hpp"
#include "../../src/providers/openai/openai_wire.hpp"
#include "tollgate/providers/adapter.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;

std::string fixture_text(const std::string& name) {
  std::ifstream f(std::string(TG_SOURCE_DIR) + "/tests/fixtures/compatible/" + name,
                  std::ios::binary);
  EXPECT_TRUE(f.good()) << name;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

json fixture(const std::string& name) { return json::parse(fixture_text(name)); }

const ProviderAdapter& compatible() { return *adapter_for(config::ProviderType::OpenAICompatible); }
const ProviderAdapter& openai() { return *adapter_for(config::ProviderType::OpenAI); }

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

config::ProviderConfig preset_provider(const std::string& preset) {
  config::ProviderConfig p;
  p.name = preset.empty() ? "local" : preset;
  p.type = config::ProviderType::OpenAICompatible;
  p.preset = preset;
  p.base_url = "https://example.test/v1";
  return p;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Replaces the placeholder "MISTRAL_ID" by the id the Mistral quirk derives.
void fill_mistral_id(json& j, const std::string& id) {
  if (j.is_string() && j == "MISTRAL_ID") j = id;
  if (j.is_structured()) {
    for (auto& v : j) fill_mistral_id(v, id);
  }
}

TEST(CompatQuirks, RequestFixtures) {
  json cases = fixture("requests.json");
  ASSERT_GE(cases.size(), 10u);
  for (const auto& c : cases) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const json body = c["request"];
    const json before = body;
    const std::string preset = c["preset"];
    const std::string model = c["model"];
    json want = c["expect_body"];
    if (c.contains("mistral_id_of")) {
      std::string id = compat::mistral_tool_call_id(c["mistral_id_of"].get<std::string>());
      EXPECT_NE(id, c["mistral_id_of"].get<std::string>());
      fill_mistral_id(want, id);
    }
    config::ProviderConfig p = preset_provider(preset);
    auto req = compatible().build_request(request(body), model,
                                          BuildContext{p, "sk-host", "example.test", "/v1"});
    EXPECT_EQ(req.path, "/chat/completions");
    EXPECT_EQ(json::parse(req.body), want);
    EXPECT_EQ(sorted(req.dropped_params), sorted(c["expect_dropped"].get<std::vector<std::string>>()));
    EXPECT_EQ(body, before);  // never modified: a failover builds again from it
    bool bearer = false;
    for (const auto& [k, v] : req.headers) bearer |= k == "Authorization" && v == "Bearer sk-host";
    EXPECT_TRUE(bearer);

    // The quirks edit a copy only when they must.
    compat::CowJson cow(body);
    std::vector<std::string> dropped;
    compat::apply_request_quirks(compat::preset_from_name(preset), Endpoint::ChatCompletions, cow,
                                 model, dropped);
    EXPECT_EQ(cow.copied(), !c.value("unchanged", false));
  }
}

// A client's members of the wrong type reach every preset's quirks without an exception (they
// used nlohmann's value(key, fallback), which threw: a 500 instead of the upstream's answer).
TEST(CompatQuirks, MembersOfTheWrongTypeNeverThrow) {
  const json body = json::parse(R"({"model":"m","stream":true,"stream_options":{"include_usage":"yes"},
      "tools":[{"type":5,"function":{"name":7}},{"type":"function","function":{"name":"f"}}],
      "tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":3,"tools":[{"type":"function","function":{"name":8}}]}},
      "messages":[{"role":5,"content":"x"},{"role":"developer","content":[{"type":9,"text":"t"}]},
                  {"role":"assistant","content":null,"tool_calls":[{"id":4,"type":6,"function":{"name":"f","arguments":"{}"}}]},
                  {"role":"tool","tool_call_id":4,"content":"r"}]})");
  for (std::string preset : {"groq", "mistral", "deepseek", "together", "fireworks", "openrouter",
                             "xai", "ollama", "vllm", "lmstudio", ""}) {
    config::ProviderConfig p = preset_provider(preset);
    json plain = body;  // (this file's request() reads stream_options with value())
    plain.erase("stream_options");
    ClientRequest req = request(plain);
    req.set_doc(&body);
    EXPECT_NO_THROW((void)compatible().build_request(req, "m", BuildContext{p, "", "h", "/v1"}))
        << preset;
  }
}

TEST(CompatQuirks, StreamUsageIsAskedForExceptFromMistral) {
  json body = {{"model", "m"}, {"stream", true},
               {"messages", json::array({{{"role", "user"}, {"content", "x"}}})}};
  for (std::string preset : {"groq", "deepseek", "xai", "ollama", "", "openrouter"}) {
    config::ProviderConfig p = preset_provider(preset);
    auto req = compatible().build_request(request(body), "m", BuildContext{p, "", "h", "/v1"});
    EXPECT_EQ(json::parse(req.body)["stream_options"]["include_usage"], true) << preset;
  }
  config::ProviderConfig p = preset_provider("mistral");
  json asked = body;
  asked["stream_options"] = {{"include_usage", true}};
  auto req = compatible().build_request(request(asked), "m", BuildContext{p, "", "h", "/v1"});
  EXPECT_FALSE(json::parse(req.body).contains("stream_options"));  // Mistral: 422 extra_forbidden
  EXPECT_TRUE(req.dropped_params.empty());  // its last chunk carries usage anyway
}

TEST(CompatQuirks, EmbeddingsAndCompletions) {
  json emb = {{"model", "m"}, {"input", "x"}, {"user", "u"}, {"dimensions", 256}};
  config::ProviderConfig mistral = preset_provider("mistral");
  auto req = compatible().build_request(request(emb, Endpoint::Embeddings), "mistral-embed",
                                        BuildContext{mistral, "", "h", "/v1"});
  EXPECT_EQ(req.path, "/embeddings");
  EXPECT_EQ(json::parse(req.body),
            json({{"model", "mistral-embed"}, {"input", "x"}, {"output_dimension", 256}}));
  EXPECT_EQ(req.dropped_params, std::vector<std::string>{"user"});
  // Other hosts' embeddings and completions pass as they are.
  config::ProviderConfig groq = preset_provider("groq");
  json comp = {{"model", "m"}, {"prompt", "x"}, {"logprobs", 2}};
  auto c = compatible().build_request(request(comp, Endpoint::Completions), "m",
                                      BuildContext{groq, "", "h", "/v1"});
  EXPECT_EQ(c.path, "/completions");
  EXPECT_EQ(json::parse(c.body), comp);
  EXPECT_TRUE(c.dropped_params.empty());
}

TEST(CompatQuirks, MistralToolCallIds) {
  EXPECT_EQ(compat::mistral_tool_call_id("D681PevKs"), "D681PevKs");
  std::string a = compat::mistral_tool_call_id("call_0fypS1hVX");
  EXPECT_EQ(a, compat::mistral_tool_call_id("call_0fypS1hVX"));  // deterministic
  EXPECT_TRUE(std::regex_match(a, std::regex("^[a-zA-Z0-9]{9}$"))) << a;
  EXPECT_NE(a, compat::mistral_tool_call_id("call_0fypS1hVY"));
  EXPECT_TRUE(std::regex_match(compat::mistral_tool_call_id(""), std::regex("^[a-zA-Z0-9]{9}$")));
}

TEST(CompatQuirks, FinishReasonTable) {
  using compat::normalize_finish_reason;
  EXPECT_EQ(normalize_finish_reason("", true), "tool_calls");   // xAI
  EXPECT_EQ(normalize_finish_reason("", false), "stop");
  EXPECT_EQ(normalize_finish_reason("eos", false), "stop");     // Together
  EXPECT_EQ(normalize_finish_reason("model_length", false), "length");  // Mistral
  EXPECT_EQ(normalize_finish_reason("error", false), "stop");   // Mistral
  EXPECT_EQ(normalize_finish_reason("stop", true), "tool_calls");
  EXPECT_FALSE(normalize_finish_reason("stop", false));
  EXPECT_FALSE(normalize_finish_reason("length", true));
  EXPECT_FALSE(normalize_finish_reason("content_filter", false));
  EXPECT_FALSE(normalize_finish_reason("tool_calls", true));
  EXPECT_FALSE(normalize_finish_reason("something_new", false));  // unknown: as sent
}

TEST(CompatQuirks, UsageNormalisation) {
  json xai = {{"prompt_tokens", 10}, {"completion_tokens", 5}, {"total_tokens", 35},
              {"completion_tokens_details", {{"reasoning_tokens", 20}}}};
  EXPECT_TRUE(compat::fix_usage(xai));
  EXPECT_EQ(xai["completion_tokens"], 25);
  EXPECT_FALSE(compat::fix_usage(xai));  // idempotent
  json openai = {{"prompt_tokens", 10}, {"completion_tokens", 25}, {"total_tokens", 35},
                 {"completion_tokens_details", {{"reasoning_tokens", 20}}}};
  EXPECT_FALSE(compat::fix_usage(openai));  // already folded: left alone
  json odd = {{"prompt_tokens", 10}, {"completion_tokens", 5}, {"total_tokens", 99},
              {"completion_tokens_details", {{"reasoning_tokens", 20}}}};
  EXPECT_FALSE(compat::fix_usage(odd));  // totals that do not add up either way: not guessed
  json no_total = {{"prompt_tokens", 3}, {"completion_tokens", 4}};
  EXPECT_TRUE(compat::fix_usage(no_total));
  EXPECT_EQ(no_total["total_tokens"], 7);
  json ds = {{"prompt_tokens", 10}, {"completion_tokens", 2}, {"total_tokens", 12},
             {"prompt_cache_hit_tokens", 6}, {"prompt_cache_miss_tokens", 4}};
  EXPECT_TRUE(compat::fix_usage(ds));
  EXPECT_EQ(ds["prompt_tokens_details"]["cached_tokens"], 6);
  Usage u = Usage::from_openai(ds);
  EXPECT_EQ(u.input, 10);
  EXPECT_EQ(u.cached_read, 6);
}

TEST(CompatQuirks, ResponseFixtures) {
  json cases = fixture("responses.json");
  ASSERT_GE(cases.size(), 8u);
  json body = {{"model", "m"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::string upstream = c["body"];
    auto r = compatible().translate_response(request(body), std::string(upstream));
    if (c.contains("expect_error")) {
      ASSERT_TRUE(r.error.has_value());
      EXPECT_EQ(r.error->status, c["expect_error"]["status"].get<int>());
      EXPECT_EQ(r.error->retryable, c["expect_error"]["retryable"].get<bool>());
      EXPECT_NE(r.error->message.find(c["expect_error"]["message_contains"].get<std::string>()),
                std::string::npos)
          << r.error->message;
      continue;
    }
    ASSERT_FALSE(r.error.has_value()) << r.error->message;
    EXPECT_EQ(json::parse(r.body), c["expect_body"]);
    if (c.value("byte_identical", false)) EXPECT_EQ(r.body, upstream);
    if (c.value("usage_only", false)) {
      // Only usage changed: spliced in place, the rest of the bytes as received.
      std::string_view head(r.body);
      EXPECT_EQ(head.substr(0, head.find("\"usage\"")),
                std::string_view(upstream).substr(0, upstream.find("\"usage\"")));
    }
    const json& u = c["expect_usage"];
    EXPECT_TRUE(r.usage.present);
    EXPECT_EQ(r.usage.input, u["input"].get<int64_t>());
    EXPECT_EQ(r.usage.output, u["output"].get<int64_t>());
    EXPECT_EQ(r.usage.cached_read, u["cached_read"].get<int64_t>());
    EXPECT_EQ(r.usage.reasoning, u["reasoning"].get<int64_t>());
  }
}

// The one-walk scan that decides whether an answer is parsed: it must flag every answer that
// compat::fix_response would change (apart from usage, read and spliced on its own), and read the
// top-level members as the parser sees them.
void expect_scan_agrees_with_the_parser(const std::string& text) {
  SCOPED_TRACE(text);
  const auto scan = openai_wire::scan_answer(text);
  json doc = json::parse(text, nullptr, false);
  ASSERT_TRUE(doc.is_object());
  EXPECT_TRUE(scan.object);
  EXPECT_EQ(scan.choices, doc.contains("choices"));
  EXPECT_EQ(scan.data, doc.contains("data"));
  if (doc.contains("usage")) EXPECT_EQ(json::parse(scan.usage), doc["usage"]);
  else EXPECT_TRUE(scan.usage.empty());
  if (doc.contains("error")) EXPECT_EQ(json::parse(scan.error), doc["error"]);
  else EXPECT_TRUE(scan.error.empty());
  json without_usage = doc;
  without_usage.erase("usage");
  json fixed = without_usage;
  bool fails = false;
  for (const auto& c : doc.value("choices", json::array())) {
    fails = fails || (c.is_object() && c.value("finish_reason", json()) == "insufficient_system_resource");
  }
  if (compat::fix_response(fixed) || fails) EXPECT_TRUE(scan.needs_repair);
}

TEST(CompatQuirks, OneWalkFindsEveryQuirkTheParserWouldRepair) {
  for (const auto& c : fixture("responses.json")) {
    expect_scan_agrees_with_the_parser(c["body"].get<std::string>());
  }
  const std::string quirky[] = {
      R"({"choices":[{"message":{"content":[{"type":"text","text":"a"}]},"finish_reason":"stop"}]})",
      R"({"choices":[{"message":{"content":"a","reasoning":"r"},"finish_reason":"stop"}]})",
      R"({"choices":[{"message":{"content":"a"},"finish_reason":"eos"}]})",
      R"({"choices":[{"message":{"content":"a"},"finish_reason":7}]})",
      R"({"choices":[{"message":{"content":"","tool_calls":[{"id":"1"}]},"finish_reason":"stop"}]})",
      R"({"choices":[{"message":{"content":"","tool_calls":[{"id":"1"}]},"finish_reason":""}]})",
      R"({"choices":[{"finish_reason":"stop","message":{"content":"ok"}},{"message":{"content":"x"},"finish_reason":"insufficient_system_resource"}]})",
      R"({ "choices" : [ { "message" : { "content" : [ ] } , "finish_reason" : "stop" } ] })",
  };
  for (const auto& text : quirky) {
    expect_scan_agrees_with_the_parser(text);
    EXPECT_TRUE(openai_wire::scan_answer(text).needs_repair) << text;
  }
  // What needs nothing is not flagged (the answer passes through without a parse), including a
  // content array and a "reasoning" key elsewhere than in a message.
  const std::string clean[] = {
      R"({"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"say \"content\": [1]"},"logprobs":{"content":[{"token":"a"}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})",
      R"({"choices":[{"message":{"content":null,"tool_calls":[{"id":"1"}],"reasoning":null},"finish_reason":"tool_calls"}],"reasoning":{"effort":"low"}})",
      R"({"choices":[{"text":"legacy completion","finish_reason":"length"}]})",
      R"({"object":"list","data":[{"embedding":[0.1,0.2]}],"usage":{"prompt_tokens":2,"total_tokens":2}})",
      R"({"choices":[]})",
      R"({})",
  };
  for (const auto& text : clean) {
    expect_scan_agrees_with_the_parser(text);
    EXPECT_FALSE(openai_wire::scan_answer(text).needs_repair) << text;
  }
  // A repeated member: its last value, as the parser keeps it. An escaped key: flagged, and the
  // answer's usage is still read (an upstream cannot dodge its bill by spelling a key oddly).
  expect_scan_agrees_with_the_parser(R"({"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}})");
  const std::string odd =
      R"({"choices":[{"message":{"content":"a"},"finish_reason":"stop"}],"u\u0073age":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})";
  EXPECT_TRUE(openai_wire::scan_answer(odd).escaped_key);
  const auto odd_answer = compatible().translate_response(request(json{{"model", "m"}}), std::string(odd));
  EXPECT_EQ(odd_answer.usage.input, 3);
  EXPECT_EQ(odd_answer.usage.output, 2);
  EXPECT_EQ(json::parse(odd_answer.body), json::parse(odd));
  EXPECT_TRUE(openai_wire::scan_answer("\xEF\xBB\xBF{\"choices\":[]}").choices);  // a BOM
  // The parser skips a byte order mark, so a BOM must not hide an answer's usage either (fuzz).
  const std::string bom =
      "\xEF\xBB\xBF" R"({"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}})";
  EXPECT_EQ(openai().translate_response(request(json{{"model", "m"}}), std::string(bom)).usage.input, 4);
  EXPECT_EQ(compatible().translate_response(request(json{{"model", "m"}}), std::string(bom)).usage.input, 4);
  // Not an object, or cut short: no walk (the caller parses, and passes through what it cannot).
  for (std::string_view bad : {"[1,2]", "\"x\"", R"({"choices":[{"message":{"content":"a"})",
                               R"({"usage":{"prompt_tokens":1}, )", ""}) {
    EXPECT_FALSE(openai_wire::scan_answer(bad).object) << bad;
  }
}

// Hostile answers: nesting a million deep (the walk does not recurse into values it skips), a
// count of 2^63 (more than int64: left to the parser, never a wrapped figure), control bytes and
// unknown members (passed through as they are).
TEST(CompatQuirks, OneWalkSurvivesHostileAnswers) {
  const std::string deep(1'000'000, '[');
  const std::string deep_body = R"({"choices":[{"message":{"content":)" + deep + std::string(1'000'000, ']') +
                                R"(},"finish_reason":"stop"}],"x":)" + deep + "}";
  const auto scan = openai_wire::scan_answer(deep_body);  // cut short: the last value never closes
  EXPECT_FALSE(scan.object);
  EXPECT_TRUE(scan.needs_repair);  // the content array was seen before the walk stopped

  const std::string big =
      R"({"choices":[{"message":{"content":"a\r\nb\u0000c"},"finish_reason":"stop"}],"who":{"knows":1},)"
      R"("usage":{"prompt_tokens":9223372036854775808,"completion_tokens":1,"total_tokens":1}})";
  const auto answer = openai_wire::scan_answer(big);
  EXPECT_TRUE(answer.object);
  EXPECT_FALSE(answer.needs_repair);
  EXPECT_FALSE(openai_wire::scan_usage(answer.usage, true).has_value());  // the parser decides
  const auto r = compatible().translate_response(request(json{{"model", "m"}}), std::string(big));
  ASSERT_FALSE(r.error.has_value());
  EXPECT_EQ(r.body, big);  // nothing to repair but usage, which the parser cannot fix either
}

TEST(CompatQuirks, PlainOpenAiStaysPassThrough) {
  // The same quirky answer through type openai is not touched: OpenAI's fast path stays as is.
  std::string upstream =
      R"({"id":"t","choices":[{"index":0,"message":{"role":"assistant","content":"x","reasoning":"r"},"finish_reason":"eos"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})";
  json body = {{"model", "m"}};
  EXPECT_EQ(openai().translate_response(request(body), std::string(upstream)).body, upstream);
  auto t = openai().make_stream_translator(request(json{{"model", "m"}, {"stream", true}}));
  std::string out;
  std::string chunk = R"({"id":"t","choices":[{"index":0,"delta":{},"finish_reason":""}]})";
  t->on_event(sse::Event{"", chunk, ""}, out);
  EXPECT_EQ(out, "data: " + chunk + "\n\n");
}

struct StreamRun {
  std::vector<std::string> data;
  StreamStatus status = StreamStatus::Continue;
  Usage usage;
};

StreamRun run_stream(const ClientRequest& req, std::string_view bytes, size_t cut) {
  auto t = compatible().make_stream_translator(req);
  std::string out;
  StreamRun run;
  run.status = t->on_bytes(bytes.substr(0, cut), out);
  if (run.status == StreamStatus::Continue) run.status = t->on_bytes(bytes.substr(cut), out);
  if (run.status == StreamStatus::Continue) run.status = t->on_end(out);
  sse::Decoder d;
  std::vector<sse::Event> events;
  d.feed(out, events);
  EXPECT_FALSE(d.has_partial());
  for (auto& e : events) run.data.push_back(e.data);
  EXPECT_EQ(t->events_out(), static_cast<int64_t>(run.data.size()));
  run.usage = t->usage();
  return run;
}

StreamStatus status_named(const std::string& s) {
  if (s == "Done") return StreamStatus::Done;
  if (s == "UpstreamError") return StreamStatus::UpstreamError;
  if (s == "Malformed") return StreamStatus::Malformed;
  return StreamStatus::Continue;
}

class CompatStream : public ::testing::TestWithParam<std::string> {};

TEST_P(CompatStream, FixtureAtEveryByteSplit) {
  const std::string name = GetParam();
  const std::string text = fixture_text(name + ".sse");
  const json expect = fixture(name + ".expected.json");
  for (bool wants_usage : {false, true}) {
    json body = {{"model", "m"}, {"stream", true}};
    if (wants_usage) body["stream_options"] = {{"include_usage", true}};
    json want = expect["chunks"];
    if (wants_usage && !expect["usage_chunk"].is_null()) want.push_back(expect["usage_chunk"]);
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      SCOPED_TRACE("wants_usage=" + std::to_string(wants_usage) + " cut=" + std::to_string(cut));
      StreamRun run = run_stream(request(body), text, cut);
      ASSERT_EQ(run.status, status_named(expect["status"]));
      json got = json::array();
      for (const auto& d : run.data) got.push_back(json::parse(d));
      ASSERT_EQ(got, want);
      if (expect["usage"].is_null()) {
        EXPECT_FALSE(run.usage.present);
      } else {
        EXPECT_TRUE(run.usage.present);
        EXPECT_EQ(run.usage.input, expect["usage"]["input"].get<int64_t>());
        EXPECT_EQ(run.usage.output, expect["usage"]["output"].get<int64_t>());
        EXPECT_EQ(run.usage.cached_read, expect["usage"]["cached_read"].get<int64_t>());
        EXPECT_EQ(run.usage.reasoning, expect["usage"]["reasoning"].get<int64_t>());
      }
      if (expect.value("byte_identical_chunks", false)) {
        for (size_t i = 0; i < expect["chunks"].size(); ++i) {
          EXPECT_NE(text.find("data: " + run.data[i] + "\n"), std::string::npos) << run.data[i];
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CompatStream,
                         ::testing::Values("xai_tool_stream", "mistral_stream",
                                           "local_tools_no_done", "groq_x_groq_usage",
                                           "together_eos", "no_finish_reason",
                                           "openrouter_mid_stream_error", "deepseek_reasoning"));

TEST(CompatStreamEdge, CutShortWithoutFinishIsNotASuccess) {
  auto t = compatible().make_stream_translator(request(json{{"model", "m"}, {"stream", true}}));
  std::string out;
  t->on_event(sse::Event{"", R"({"id":"a","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]})", ""}, out);
  EXPECT_EQ(t->on_end(out), StreamStatus::Continue);  // no finish reason, no [DONE]: truncated
}

TEST(CompatStreamEdge, InsufficientSystemResourceEndsWithAnError) {
  auto t = compatible().make_stream_translator(request(json{{"model", "m"}, {"stream", true}}));
  std::string out;
  EXPECT_EQ(t->on_event(sse::Event{"", R"({"id":"a","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]})", ""}, out),
            StreamStatus::Continue);
  EXPECT_EQ(t->on_event(sse::Event{"", R"({"id":"a","choices":[{"index":0,"delta":{"content":"y"},"finish_reason":"insufficient_system_resource"}]})", ""}, out),
            StreamStatus::UpstreamError);
  sse::Decoder d;
  std::vector<sse::Event> ev;
  d.feed(out, ev);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_TRUE(json::parse(ev[1].data)["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(json::parse(ev[2].data)["error"]["code"], "insufficient_system_resource");
}

TEST(CompatStreamEdge, MalformedFirstEvent) {
  auto t = compatible().make_stream_translator(request(json{{"model", "m"}, {"stream", true}}));
  std::string out;
  EXPECT_EQ(t->on_event(sse::Event{"", "{\"id\":", ""}, out), StreamStatus::Malformed);
}

}  // namespace
}  // namespace tg::providers
