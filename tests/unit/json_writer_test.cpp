#include "tollgate/core/json_writer.hpp"

#include <cmath>
#include <cstdint>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tg {
namespace {

using json = nlohmann::json;

// What the admin API wrote before: nlohmann's dump, invalid UTF-8 replaced.
std::string nlohmann_text(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string escaped(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(escaped("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(escaped("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(escaped(std::string_view("\0\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(escaped("\x7f/<script>"), "\"\x7f/<script>\"") << "DEL and '/' as they are";
  for (int c = 0; c < 0x80; ++c) {
    std::string s(1, static_cast<char>(c));
    EXPECT_EQ(escaped(s), nlohmann_text(s)) << c;
  }
}

// Long plain runs are passed 8 bytes at a time: every byte value, at every offset of such a
// run (and of the word after it), must still be seen.
TEST(JsonWriter, EveryByteInsideALongPlainRunIsSeen) {
  for (int c = 0; c < 256; ++c) {
    for (size_t at = 0; at < 25; ++at) {
      std::string s(25, 'x');
      s[at] = static_cast<char>(c);
      ASSERT_EQ(escaped(s), nlohmann_text(s)) << "byte " << c << " at " << at;
    }
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255), plain(0x20, 0x7e), len(0, 300), odds(0, 40);
  for (int n = 0; n < 20'000; ++n) {
    std::string s(static_cast<size_t>(len(rng)), '\0');
    for (auto& c : s) c = static_cast<char>(odds(rng) == 0 ? byte(rng) : plain(rng));
    ASSERT_EQ(escaped(s), nlohmann_text(s)) << ::testing::PrintToString(s);
  }
}

TEST(JsonWriter, KeepsValidUtf8) {
  const std::string s = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xED\x9F\xBF \xF4\x8F\xBF\xBF";
  EXPECT_EQ(escaped(s), "\"" + s + "\"");
}

TEST(JsonWriter, ReplacesInvalidUtf8AsNlohmannDoes) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(escaped("a\xFF" "b"), "\"a" + r + "b\"");
  EXPECT_EQ(escaped("\xC0\xAF"), "\"" + r + r + "\"") << "overlong: each byte";
  EXPECT_EQ(escaped("\xE2\x82" "A"), "\"" + r + "A\"") << "a truncated sequence: one";
  EXPECT_EQ(escaped("\xE2\x82"), "\"" + r + "\"") << "truncated at the end: one";
  EXPECT_EQ(escaped("\xED\xA0\x80"), "\"" + r + r + r + "\"") << "a surrogate";
  EXPECT_EQ(escaped("\xF4\x90\x80\x80"), "\"" + r + r + r + r + "\"") << "above U+10FFFF";
  for (std::string_view s : {"\xE2\x82" "A", "\xC0\xAF", "\xED\xA0\x80", "\xF0\x9F\x98", "\x80\x80"}) {
    EXPECT_EQ(escaped(s), nlohmann_text(s));
  }
}

// Any bytes at all: the same text as nlohmann's dump with error_handler_t::replace.
TEST(JsonWriter, SameTextAsNlohmannForRandomBytes) {
  std::mt19937 rng(12);
  // Bytes that matter to UTF-8 and to escaping, and some plain ones.
  const unsigned char interesting[] = {0x00, 0x1f, '"', '\\', 'a', 0x7f, 0x80, 0x8f, 0x90, 0x9f,
                                       0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed,
                                       0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff};
  std::uniform_int_distribution<size_t> len(0, 12), pick(0, sizeof interesting - 1);
  for (int n = 0; n < 100'000; ++n) {
    std::string s(len(rng), '\0');
    for (auto& c : s) c = static_cast<char>(interesting[pick(rng)]);
    ASSERT_EQ(escaped(s), nlohmann_text(s)) << ::testing::PrintToString(s);
    ASSERT_TRUE(json::accept(escaped(s)));
  }
}

TEST(JsonWriter, AppendJsonWritesADocumentAsDumpDoes) {
  std::string bad_utf8 = "a\xff\xc3";
  json doc = {{"s", "q\"\\\n\x01"},
              {bad_utf8, bad_utf8},
              {"ints", {0, -1, INT64_MIN, INT64_MAX, UINT64_MAX}},
              {"reals", {0.1, -2.5e300, 1.0, 1e-7}},
              {"flags", {true, false, nullptr}},
              {"nested", {{"a", json::array({json::object(), json::array()})}}},
              {"", "empty key"}};
  doc["bin"] = json::binary({1, 2, 3});
  std::string out = "prefix:";
  append_json(out, doc);
  EXPECT_EQ(out, "prefix:" + doc.dump(-1, ' ', false, json::error_handler_t::replace));
  for (const json& scalar : {json(nullptr), json(7), json("x"), json(json::value_t::discarded)}) {
    std::string one;
    append_json(one, scalar);
    EXPECT_EQ(one, scalar.dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

TEST(JsonWriter, NestsWithCommasAndEscapesKeys) {
  JsonWriter w;
  w.object()
      .array("a").num(int64_t{-1}).str("x").null().object().end_object().array().end_array()
      .end_array()
      .object("b").boolean("c", true).num("d", uint64_t{18'446'744'073'709'551'615u}).end_object()
      .str_or_null("e", "")
      .num_or_null("f", std::optional<int64_t>())
      .strings("g", std::vector<std::string>{"1", "2"})
      .str("q\"k\n", "v")
      .end_object();
  EXPECT_EQ(w.text(),
            R"({"a":[-1,"x",null,{},[]],"b":{"c":true,"d":18446744073709551615},"e":null,)"
            R"("f":null,"g":["1","2"],"q\"k\n":"v"})");
  EXPECT_TRUE(json::accept(w.text()));
}

TEST(JsonWriter, DoublesAsNlohmannWritesThem) {
  for (double d : {0.0, 10.0, 0.1, 12.5, 1e-05, 123456789.25, -3.0, 1e300}) {
    JsonWriter w;
    w.real(d);
    EXPECT_EQ(w.text(), json(d).dump()) << d;
  }
  JsonWriter w;
  w.array().real(std::nan("")).real(INFINITY).end_array();
  EXPECT_EQ(w.text(), "[null,null]");
}

}  // namespace
}  // namespace tg
