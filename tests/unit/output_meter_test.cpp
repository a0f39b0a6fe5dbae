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

}  // namespace
}  // namespace tg::providers
