#include "tollgate/sse/sse.hpp"

#include <gtest/gtest.h>

namespace tg::sse {
namespace {

std::vector<Event> decode_in_two(std::string_view text, size_t split) {
  Decoder d;
  std::vector<Event> out;
  d.feed(text.substr(0, split), out);
  d.feed(text.substr(split), out);
  return out;
}

std::vector<Event> decode_bytewise(std::string_view text) {
  Decoder d;
  std::vector<Event> out;
  for (char c : text) d.feed(std::string_view(&c, 1), out);
  return out;
}

TEST(SseDecoder, OpenAiStreamSplitAtEveryByte) {
  const std::string text =
      "data: {\"a\":1}\n\n"
      ": keep-alive comment\n\n"
      "data: {\"b\":\"x y\"}\n\n"
      "data: [DONE]\n\n";
  for (size_t split = 0; split <= text.size(); ++split) {
    auto events = decode_in_two(text, split);
    ASSERT_EQ(events.size(), 3u) << "split at " << split;
    EXPECT_EQ(events[0].data, "{\"a\":1}");
    EXPECT_EQ(events[1].data, "{\"b\":\"x y\"}");
    EXPECT_EQ(events[2].data, "[DONE]");
  }
  EXPECT_EQ(decode_bytewise(text).size(), 3u);
}

TEST(SseDecoder, CrLfAndCrLineEndsAtEverySplit) {
  for (std::string_view eol : {"\r\n", "\r", "\n"}) {
    std::string text;
    text += "event: message_start";
    text += eol;
    text += "data: {\"x\":1}";
    text += eol;
    text += eol;
    text += "data: two";
    text += eol;
    text += eol;
    for (size_t split = 0; split <= text.size(); ++split) {
      auto events = decode_in_two(text, split);
      ASSERT_EQ(events.size(), 2u) << "eol size " << eol.size() << " split " << split;
      EXPECT_EQ(events[0].event, "message_start");
      EXPECT_EQ(events[0].data, "{\"x\":1}");
      EXPECT_EQ(events[1].event, "");
      EXPECT_EQ(events[1].data, "two");
    }
  }
}

TEST(SseDecoder, MultiLineDataIsJoinedWithNewline) {
  auto events = decode_bytewise("data: line1\ndata:line2\ndata\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "line1\nline2\n");
}

TEST(SseDecoder, EventWithoutDataIsNotDispatched) {
  auto events = decode_bytewise("event: ping\n\nid: 7\ndata: x\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
  EXPECT_EQ(events[0].id, "7");
  EXPECT_EQ(events[0].event, "");  // event name does not leak from the undispatched event
}

TEST(SseDecoder, PartialEventIsReported) {
  Decoder d;
  std::vector<Event> out;
  d.feed("data: {\"trunc", out);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(d.has_partial());
  d.feed("\"}\n\n", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(d.has_partial());
}

TEST(SseEncoder, DataEvent) {
  std::string out;
  append_data_event(out, "{\"a\":1}");
  EXPECT_EQ(out, "data: {\"a\":1}\n\n");
}

}  // namespace
}  // namespace tg::sse
