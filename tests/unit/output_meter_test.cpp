#include "tollgate/providers/output_meter.hpp"

#include <gtest/gtest.h>

namespace tg::providers {
namespace {

TEST(OutputMeter, CountsGeneratedTextInOpenAiChunks) {
  OutputMeter m;
  m.feed(R"(data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})"
         "\n\n");
  EXPECT_EQ(m.pieces(), 0);  // the role chunk generates nothing
  m.feed(R"(data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]})"
         "\n\n"
         R"(data: {"id":"c1","choices":[{"index":0,"delta":{"content":" wo\"rld\u00e9"},"finish_reason":null}]})"
         "\n\n");
  EXPECT_EQ(m.pieces(), 2);
  EXPECT_EQ(m.bytes(), 5 + 9);  // ` wo"rld` + é (about 2 bytes)
  EXPECT_EQ(m.tokens(), 4);     // ceil(14 / 4) > 2 pieces
  // Tool-call arguments, reasoning, and a server that puts spaces after colons.
  m.feed(R"(data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]}}]})"
         "\n\n"
         R"(data: {"choices": [{"delta": {"reasoning_content": "think"}}]})"
         "\n\n");
  EXPECT_EQ(m.pieces(), 4);
  // Values that only look like names, ids and finish reasons are not output.
  OutputMeter ids;
  ids.feed(R"(data: {"id":"content","model":"text","choices":[{"delta":{},"finish_reason":"stop"}]})"
           "\n\n");
  EXPECT_EQ(ids.pieces(), 0);
  EXPECT_EQ(ids.tokens(), 0);
}

TEST(OutputMeter, CountsAnthropicDeltasAndOnePiecePerChunkAtLeast) {
  OutputMeter m;
  m.feed("event: content_block_delta\n"
         R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}})"
         "\n\n"
         "event: content_block_delta\n"
         R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"b"}})"
         "\n\n");
  EXPECT_EQ(m.pieces(), 2);
  EXPECT_EQ(m.tokens(), 2);  // one token per streamed piece even when 4 bytes are fewer
  m.feed(R"(data: {"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}})"
         "\n\n");
  EXPECT_EQ(m.pieces(), 3);
}

// Responses events passed through (a native target): the deltas are strings, and the events
// that repeat the text (`.done`, `response.completed`) must not count it again. Regression: a
// native stream cut by the client was charged no output at all ("delta" was not counted).
TEST(OutputMeter, CountsResponsesDeltasOnceAndNotTheirRepeats) {
  OutputMeter m;
  m.feed("event: response.created\n"
         R"(data: {"type":"response.created","response":{"id":"resp_1","instructions":"be brief","text":{"format":{"type":"text"}},"output":[]}})"
         "\n\n"
         R"(data: {"type":"response.content_part.added","item_id":"m","part":{"type":"output_text","text":""}})"
         "\n\n"
         R"(data: {"type":"response.output_text.delta","item_id":"m","output_index":0,"delta":"Hello"})"
         "\n\n"
         R"(data: {"type":"response.function_call_arguments.delta","item_id":"f","delta":"{\"a\":1}"})"
         "\n\n");
  EXPECT_EQ(m.pieces(), 2);
  EXPECT_EQ(m.bytes(), 5 + 7);
  m.feed(R"(data: {"type":"response.output_text.done","item_id":"m","text":"Hello"})"
         "\n\n"
         R"(data: {"type":"response.output_item.done","item":{"type":"message","content":[{"type":"output_text","text":"Hello"}]}})"
         "\n\n"
         R"(data: {"type":"response.completed","response":{"output":[{"type":"message","content":[{"type":"output_text","text":"Hello"}]}]}})"
         "\n\n");
  EXPECT_EQ(m.pieces(), 2);
  EXPECT_EQ(m.bytes(), 12);
  // The next delta counts again; other dialects' types change nothing.
  m.feed(R"(data: {"type":"response.reasoning_summary_text.delta","delta":"hmm"})"
         "\n\n"
         R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}})"
         "\n\n");
  EXPECT_EQ(m.pieces(), 4);
}

// Hostile deltas: escaped CR, LF and NUL count as one character each; a "type" written inside a
// string is text, not a member, so it cannot switch the counting off; a string left open at the
// end of the bytes is measured as far as it goes, and nothing is read past them.
TEST(OutputMeter, HostileResponsesDeltasAreMeasuredNotObeyed) {
  OutputMeter m;
  m.feed(R"(data: {"type":"response.output_text.delta","delta":"a\r\n\u0000b"})"
         "\n\n");
  EXPECT_EQ(m.pieces(), 1);
  EXPECT_EQ(m.bytes(), 2 + 2 + 2);  // a, b; \r and \n one each; \u0000 about 2
  m.feed(R"(data: {"type":"response.output_text.delta","delta":"\"type\":\"response.completed\""})"
         "\n\n"
         R"(data: {"type":"response.output_text.delta","delta":"next"})"
         "\n\n");
  EXPECT_EQ(m.pieces(), 3);
  m.feed(R"(data: {"type":"response.output_text.delta","delta":"never closed)");
  EXPECT_EQ(m.pieces(), 4);
  EXPECT_EQ(m.bytes(), 6 + 27 + 4 + 12);  // "type":"response.completed" is 27 characters
}

}  // namespace
}  // namespace tg::providers
