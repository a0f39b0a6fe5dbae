// vnd.amazon.eventstream framing against the vectors of provider-formats.md 4.5, decoded at every
// byte split, with corrupt CRCs detected.

#include <gtest/gtest.h>

#include "../../src/providers/bedrock/eventstream.hpp"

namespace tg::providers::bedrock::eventstream {
namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  auto v = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(v(hex[i]) * 16 + v(hex[i + 1]));
  return out;
}

const std::string kVector1 = from_hex(
    "0000001e00000000baf2f68a7b22666f6f223a2022626172227dae7258e4");
const std::string kVector2 = from_hex(
    "0000009f00000057c37babff0b3a6576656e742d74797065070011636f6e74656e74426c6f636b44656c74610d3a636f"
    "6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d7479706507000565"
    "76656e747b22636f6e74656e74426c6f636b496e646578223a302c2264656c7461223a7b2274657874223a224869"
    "227d2c2270223a2261626364227df2ace5ff");
constexpr std::string_view kPayload2 = R"({"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"})";

TEST(BedrockEventStream, Crc32IsZlibs) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("6789", crc32("12345")), 0xCBF43926u);  // continues
}

TEST(BedrockEventStream, EncodesTheVectorsExactly) {
  std::string a;
  encode(a, {}, R"({"foo": "bar"})");
  EXPECT_EQ(a, kVector1);
  std::string b;
  encode(b, {{":event-type", "contentBlockDelta"}, {":content-type", "application/json"}, {":message-type", "event"}},
         kPayload2);
  ASSERT_EQ(b.size(), 0x9fu);
  EXPECT_EQ(b, kVector2);
}

TEST(BedrockEventStream, DecodesTheVectors) {
  Decoder d;
  std::vector<Message> out;
  ASSERT_TRUE(d.feed(kVector1 + kVector2, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].headers.empty());
  EXPECT_EQ(out[0].payload, R"({"foo": "bar"})");
  EXPECT_EQ(out[1].header(":event-type"), "contentBlockDelta");
  EXPECT_EQ(out[1].header(":content-type"), "application/json");
  EXPECT_EQ(out[1].header(":message-type"), "event");
  EXPECT_EQ(out[1].header(":missing"), "");
  EXPECT_EQ(out[1].payload, kPayload2);
  EXPECT_EQ(d.pending(), 0u);
}

// Every split of the concatenated frames into two feeds gives the same messages.
TEST(BedrockEventStream, DecodesSplitAtEveryByte) {
  const std::string all = kVector2 + kVector1 + kVector2;
  for (size_t cut = 0; cut <= all.size(); ++cut) {
    Decoder d;
    std::vector<Message> out;
    std::vector<std::string> payloads;
    ASSERT_TRUE(d.feed(std::string_view(all).substr(0, cut), out));
    for (const auto& m : out) payloads.emplace_back(m.payload);
    ASSERT_TRUE(d.feed(std::string_view(all).substr(cut), out));
    for (const auto& m : out) payloads.emplace_back(m.payload);
    ASSERT_EQ(payloads.size(), 3u) << "cut at " << cut;
    EXPECT_EQ(payloads[0], kPayload2);
    EXPECT_EQ(payloads[1], R"({"foo": "bar"})");
    EXPECT_EQ(payloads[2], kPayload2);
    EXPECT_EQ(d.pending(), 0u);
  }
  // And one byte at a time.
  Decoder d;
  std::vector<Message> out;
  int n = 0;
  for (char c : all) {
    ASSERT_TRUE(d.feed(std::string_view(&c, 1), out));
    n += static_cast<int>(out.size());
  }
  EXPECT_EQ(n, 3);
}

TEST(BedrockEventStream, DetectsCorruptPreludeCrc) {
  std::string bad = kVector2;
  bad[9] ^= 0x01;  // inside the prelude CRC
  Decoder d;
  std::vector<Message> out;
  EXPECT_FALSE(d.feed(bad.substr(0, 12), out));  // detected as soon as the prelude is in
  EXPECT_NE(d.error().find("prelude CRC"), std::string::npos);
  EXPECT_FALSE(d.feed(kVector1, out));  // stays failed
  // A corrupt length is caught by the prelude CRC too.
  std::string len = kVector1;
  len[3] = 0x20;
  Decoder d2;
  EXPECT_FALSE(d2.feed(len, out));
  EXPECT_NE(d2.error().find("prelude CRC"), std::string::npos);
}

TEST(BedrockEventStream, DetectsCorruptMessageCrc) {
  for (size_t at : {size_t{20}, size_t{100}, size_t{0x9f - 1}}) {  // a header, the payload, the CRC
    std::string bad = kVector2;
    bad[at] ^= 0x40;
    Decoder d;
    std::vector<Message> out;
    EXPECT_TRUE(d.feed(bad.substr(0, at), out));  // nothing wrong yet
    EXPECT_FALSE(d.feed(bad.substr(at), out)) << at;
    EXPECT_NE(d.error().find("message CRC"), std::string::npos);
    EXPECT_TRUE(out.empty());
  }
}

TEST(BedrockEventStream, RejectsImpossibleLengthsAndBadHeaders) {
  // total_len below the minimum, with a correct prelude CRC.
  std::string tiny("\x00\x00\x00\x08\x00\x00\x00\x00", 8);
  uint32_t c = crc32(tiny);
  for (int s = 24; s >= 0; s -= 8) tiny += static_cast<char>(c >> s);
  Decoder d;
  std::vector<Message> out;
  EXPECT_FALSE(d.feed(tiny, out));
  EXPECT_NE(d.error().find("lengths"), std::string::npos);
  // A header block that does not parse (a string header longer than the block), CRCs correct.
  std::string frame;
  encode(frame, {{":a", "xyz"}}, "{}");
  std::string body = frame.substr(0, frame.size() - 4);
  body[12 + 1 + 2 + 1 + 1] = 0x7f;  // the string length byte
  uint32_t mc = crc32(body);
  for (int s = 24; s >= 0; s -= 8) body += static_cast<char>(mc >> s);
  Decoder d2;
  EXPECT_FALSE(d2.feed(body, out));
  EXPECT_NE(d2.error().find("headers"), std::string::npos);
}

}  // namespace
}  // namespace tg::providers::bedrock::eventstream
