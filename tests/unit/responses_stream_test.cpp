// Chat SSE -> Responses events (StreamConverter), against golden event lists; every stream is
// also fed split at every byte boundary and must give the same bytes as the whole feed.

#include <gtest/gtest.h>

#include "responses_test_util.hpp"

namespace tg::dialects::responses {
namespace {

using namespace testing;

ResponseInfo info() {
  ResponseInfo i;
  i.id = "resp_stream";
  i.created_at = 1700000000;
  i.model = "m";
  i.echo = {{"tools", json::array({json::object({{"type", "custom"}, {"name", "apply_patch"}})})},
            {"tool_choice", "auto"}};
  i.random = counter();
  return i;
}

// Codex's shape: namespaced tools (top-level here, so the echo alone names them).
ResponseInfo codex_info() {
  ResponseInfo i = info();
  json spawn = {{"type", "function"}, {"name", "spawn_agent"}, {"parameters", {{"type", "object"}}}};
  json exec = {{"type", "custom"}, {"name", "exec"}};
  i.echo["tools"] = json::array(
      {json::object({{"type", "namespace"}, {"name", "multi_agent_v1"}, {"description", "Agents."},
                     {"tools", json::array({spawn})}}),
       json::object({{"type", "namespace"}, {"name", "functions"}, {"description", ""},
                     {"tools", json::array({exec})}})});
  return i;
}

ResponseInfo info_for(const std::string& fixture) {
  return fixture.rfind("stream_codex", 0) == 0 ? codex_info() : info();
}

// Feeds `sse` in pieces of the given sizes (0 = whole), then finish() unless the stream failed.
std::string run(const std::string& sse, size_t cut, StreamConverter* conv = nullptr,
                const ResponseInfo& with = info()) {
  StreamConverter own(with);
  StreamConverter& c = conv ? *conv : own;
  std::string out;
  if (cut == 0) {
    c.feed(sse, out);
  } else {
    c.feed(std::string_view(sse).substr(0, cut), out);
    c.feed(std::string_view(sse).substr(cut), out);
  }
  c.finish(out);
  return out;
}

// Responses SSE text -> events, checking the framing clients rely on.
json events_of(const std::string& text) {
  sse::Decoder d;
  std::vector<sse::Event> evs;
  d.feed(text, evs);
  EXPECT_FALSE(d.has_partial());
  json out = json::array();
  int64_t seq = 0;
  for (const auto& e : evs) {
    json j = json::parse(e.data, nullptr, false);
    EXPECT_TRUE(j.is_object()) << e.data;
    EXPECT_EQ(j.value("type", ""), e.event) << "the event name repeats the data's type";
    EXPECT_EQ(j.value("sequence_number", int64_t{-1}), seq++) << "sequence_number counts from 0";
    EXPECT_NE(e.data, "[DONE]");
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<std::string> types(const json& events) {
  std::vector<std::string> t;
  for (const auto& e : events) t.push_back(e["type"]);
  return t;
}

class GoldenStream : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenStream, EventsAsTheFixtureSaysAtEverySplit) {
  const std::string name = GetParam();
  const std::string sse = read_text(name + ".sse");
  json f = json::object();
  if (!std::getenv("TG_UPDATE_GOLDEN")) f = load(name + ".expected.json");
  StreamConverter conv(info_for(name));
  std::string whole = run(sse, 0, &conv);
  json events = events_of(whole);
  expect_golden(name + ".expected.json", f, "events", events);
  EXPECT_TRUE(conv.done());
  // The stored Response is what the terminal event carried.
  EXPECT_EQ(conv.response(), events.back()["response"]);
  for (size_t cut = 1; cut < sse.size(); ++cut) {
    ASSERT_EQ(run(sse, cut, nullptr, info_for(name)), whole) << "split at " << cut;
  }
}

INSTANTIATE_TEST_SUITE_P(Responses, GoldenStream,
                         ::testing::Values("stream_text", "stream_tools", "stream_reasoning",
                                           "stream_error", "stream_custom_tool",
                                           "stream_codex_namespace"));

TEST(ResponsesStream, TextStreamSequence) {
  json ev = events_of(run(read_text("stream_text.sse"), 0));
  EXPECT_EQ(types(ev), (std::vector<std::string>{
                           "response.created", "response.in_progress",
                           "response.output_item.added", "response.content_part.added",
                           "response.output_text.delta", "response.output_text.delta",
                           "response.output_text.delta", "response.output_text.done",
                           "response.content_part.done", "response.output_item.done",
                           "response.completed"}));
  EXPECT_EQ(ev[7]["text"], "Hello, wörld ✓");
  const json& done = ev.back()["response"];
  EXPECT_EQ(done["status"], "completed");
  EXPECT_EQ(done["output"][0]["content"][0]["text"], "Hello, wörld ✓");
  EXPECT_EQ(done["usage"]["input_tokens"], 9);
  EXPECT_EQ(done["usage"]["input_tokens_details"]["cached_tokens"], 4);
  EXPECT_EQ(done["usage"]["total_tokens"], 14);
  EXPECT_EQ(ev[0]["response"]["status"], "in_progress");
  EXPECT_EQ(ev[0]["response"]["output"], json::array());
}

TEST(ResponsesStream, ToolCallsKeepTheirItemsWhenInterleaved) {
  StreamConverter conv(info());
  json ev = events_of(run(read_text("stream_tools.sse"), 0, &conv));
  const json& out = conv.response()["output"];
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0]["type"], "message");
  EXPECT_EQ(out[1]["call_id"], "call_p");
  EXPECT_EQ(out[1]["arguments"], "{\"city\":\"Paris\"}");
  EXPECT_EQ(out[2]["call_id"], "call_r");
  EXPECT_EQ(out[2]["arguments"], "{\"city\":\"Rome\"}");
  // Every delta names an item that was added and not yet done, and the done event's arguments
  // are the concatenated deltas.
  std::map<std::string, std::string> open;
  for (const auto& e : ev) {
    std::string t = e["type"];
    if (t == "response.output_item.added") open[e["item"]["id"]] = "";
    if (t == "response.function_call_arguments.delta") {
      ASSERT_TRUE(open.count(e["item_id"])) << e.dump();
      open[e["item_id"]] += e["delta"].get<std::string>();
    }
    if (t == "response.function_call_arguments.done") EXPECT_EQ(e["arguments"], open[e["item_id"]]);
    if (t == "response.output_item.done") open.erase(e["item"]["id"]);
  }
  EXPECT_TRUE(open.empty());
  EXPECT_EQ(ev.back()["type"], "response.completed");
}

TEST(ResponsesStream, CustomToolInputArrivesWhole) {
  StreamConverter conv(info());
  json ev = events_of(run(read_text("stream_custom_tool.sse"), 0, &conv));
  EXPECT_EQ(types(ev), (std::vector<std::string>{
                           "response.created", "response.in_progress",
                           "response.output_item.added", "response.custom_tool_call_input.delta",
                           "response.custom_tool_call_input.done", "response.output_item.done",
                           "response.completed"}));
  EXPECT_EQ(ev[2]["item"]["type"], "custom_tool_call");
  const json& item = conv.response()["output"][0];
  EXPECT_EQ(item["type"], "custom_tool_call");
  EXPECT_EQ(item["call_id"], "call_ap");
  EXPECT_EQ(item["input"], "*** Begin Patch\n*** End Patch");
  EXPECT_EQ(item["id"].get<std::string>().rfind("ctc_", 0), 0u);
}

// Codex builds its answer from output_item.done: a namespaced call must come back there with its
// own name and its namespace, never the flat name the chat target saw.
TEST(ResponsesStream, NamespacedCallsComeBackWithTheirNamespace) {
  StreamConverter conv(codex_info());
  json ev = events_of(run(read_text("stream_codex_namespace.sse"), 0, &conv, codex_info()));
  std::vector<json> done;
  for (const auto& e : ev) {
    if (e["type"] == "response.output_item.done") done.push_back(e["item"]);
    if (e["type"] == "response.output_item.added" && e["item"]["type"] != "message") {
      EXPECT_TRUE(e["item"].contains("namespace")) << e.dump();
    }
  }
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[1]["type"], "function_call");
  EXPECT_EQ(done[1]["name"], "spawn_agent");
  EXPECT_EQ(done[1]["namespace"], "multi_agent_v1");
  EXPECT_EQ(done[1]["call_id"], "call_spawn");
  EXPECT_EQ(done[1]["arguments"], "{\"message\":\"Check the tests\"}");
  EXPECT_EQ(done[2]["type"], "custom_tool_call") << "a custom tool inside a namespace";
  EXPECT_EQ(done[2]["name"], "exec");
  EXPECT_EQ(done[2]["namespace"], "functions");
  EXPECT_EQ(done[2]["input"], "await tools.exec_command({cmd: \"ls\"})");
  EXPECT_EQ(ev.back()["type"], "response.completed");
  EXPECT_EQ(conv.response()["output"][1], done[1]);
}

TEST(ResponsesStream, ReasoningThenLengthIsIncomplete) {
  StreamConverter conv(info());
  json ev = events_of(run(read_text("stream_reasoning.sse"), 0, &conv));
  EXPECT_EQ(ev[2]["item"]["type"], "reasoning");
  EXPECT_EQ(ev[3]["type"], "response.reasoning_summary_part.added");
  EXPECT_EQ(ev[4]["type"], "response.reasoning_summary_text.delta");
  const json& r = conv.response();
  EXPECT_EQ(ev.back()["type"], "response.incomplete");
  EXPECT_EQ(r["status"], "incomplete");
  EXPECT_EQ(r["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(r["output"][0]["summary"][0]["text"], "First, add.");
  EXPECT_EQ(r["output"][0]["encrypted_content"], "tg.sig:EqQBsig");
  EXPECT_EQ(r["output"][1]["status"], "incomplete");
  EXPECT_EQ(r["usage"]["output_tokens_details"]["reasoning_tokens"], 15);
  EXPECT_EQ(conv.usage().output, 20);
}

TEST(ResponsesStream, ErrorMidStreamEndsWithResponseFailed) {
  StreamConverter conv(info());
  std::string out;
  conv.feed(read_text("stream_error.sse"), out);
  EXPECT_TRUE(conv.done());
  std::string after;
  conv.finish(after);
  conv.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n", after);
  EXPECT_EQ(after, "") << "nothing after the terminal event";
  json ev = events_of(out);
  EXPECT_EQ(ev.back()["type"], "response.failed");
  EXPECT_EQ(ev.back()["response"]["status"], "failed");
  EXPECT_EQ(ev.back()["response"]["error"],
            json({{"code", "stream_interrupted"}, {"message", "upstream connection reset"}}));
}

TEST(ResponsesStream, FailAfterTheFirstEventIsNeverSilent) {
  StreamConverter conv(info());
  std::string out;
  conv.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n", out);
  conv.fail(Error::upstream_timeout("p", "idle timeout"), out);
  json ev = events_of(out);
  EXPECT_EQ(ev.back()["type"], "response.failed");
  EXPECT_EQ(ev.back()["response"]["error"]["code"], "upstream_timeout") << "the gateway's own code";
  EXPECT_TRUE(conv.done());
  EXPECT_EQ(conv.response()["status"], "failed");
}

TEST(ResponsesStream, EmitsAsChunksArrive) {
  StreamConverter conv(info());
  std::string out;
  conv.feed("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"He\"}}]}\n\n", out);
  json ev = events_of(out);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back()["type"], "response.output_text.delta");
  EXPECT_EQ(ev.back()["delta"], "He");
  EXPECT_FALSE(conv.done());
}

// Text chunks are read by scanning, any other by parsing: both give the same events. A chunk
// whose index is written 0.0 is not the plain shape, so it takes the parser's path.
TEST(ResponsesStream, ScannedAndParsedChunksGiveTheSameEvents) {
  auto stream = [](std::string_view index) {
    std::string s;
    for (std::string_view text : {"Hi \\\"there\\\"\\n", "caf\\u00e9 \u2713", "plain", "\\ud83d\\ude00"}) {
      s += "data: {\"id\":\"c\",\"choices\":[{\"index\":" + std::string(index) +
           ",\"delta\":{\"content\":\"" + std::string(text) + "\"},\"logprobs\":null}]}\n\n";
    }
    s += "data: {\"choices\":[{\"index\":" + std::string(index) +
         ",\"delta\":{},\"finish_reason\":\"length\"}]}\n\n";
    s += "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":6}}\n\ndata: [DONE]\n\n";
    return s;
  };
  std::string scanned = run(stream("0"), 0);
  std::string parsed = run(stream("0.0"), 0);
  EXPECT_EQ(events_of(scanned), events_of(parsed));
  json ev = events_of(scanned);
  json done = ev.back()["response"];
  EXPECT_EQ(done["status"], "incomplete");
  EXPECT_EQ(done["output"][0]["content"][0]["text"], "Hi \"there\"\ncaf\u00e9 \u2713plain\U0001F600");
  EXPECT_EQ(done["usage"]["total_tokens"], 10);
}

// Upstream bytes are hostile: a chunk that is not valid JSON (raw control characters or invalid
// UTF-8 in a string, a cut object) is dropped, and every event written is valid JSON.
TEST(ResponsesStream, MalformedChunksAreDroppedAndTheOutputStaysJson) {
  std::string sse = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\n";
  sse += "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tab\there\"}}]}\n\n";
  sse += "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"bad \xff\xfe utf8\"}}]}\n\n";
  sse += "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"cut\"\n\n";
  sse += "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"}}]}\n\n";
  json ev = events_of(run(sse, 0));
  std::string text;
  for (const auto& e : ev) {
    if (e["type"] == "response.output_text.delta") text += e["delta"].get<std::string>();
  }
  EXPECT_EQ(text, "ok!");
  EXPECT_EQ(ev.back()["response"]["output"][0]["content"][0]["text"], "ok!");
}

// The Response in created, in_progress and the terminal event is written from one skeleton:
// the request's echo over OpenAI's defaults, the same in all three.
TEST(ResponsesStream, TheResponseSkeletonCarriesTheEcho) {
  ResponseInfo i = info();
  i.echo["temperature"] = 0.5;
  i.echo["user"] = "u-1";
  i.previous_response_id = "resp_prev";
  json ev = events_of(run("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n", 0,
                          nullptr, i));
  for (size_t k : {size_t{0}, size_t{1}, ev.size() - 1}) {
    const json& r = ev[k]["response"];
    EXPECT_EQ(r["id"], "resp_stream");
    EXPECT_EQ(r["temperature"], 0.5);
    EXPECT_EQ(r["user"], "u-1");
    EXPECT_EQ(r["previous_response_id"], "resp_prev");
    EXPECT_EQ(r["tool_choice"], "auto");
    EXPECT_EQ(r["truncation"], "disabled");
    EXPECT_EQ(r["tools"], i.echo["tools"]);
  }
}

}  // namespace
}  // namespace tg::dialects::responses
