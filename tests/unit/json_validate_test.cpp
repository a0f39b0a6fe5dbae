// json_scan::valid (the validator that stands in for json::accept on pass-through answers) and
// openai_wire::scan_usage (usage read without a document): each agrees with the parser path it
// replaces, and steps aside where it cannot tell exactly. tests/fuzz/fuzz_json_validate.cpp
// checks the same agreement on generated input.

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../src/providers/openai/compat_quirks.hpp"
#include "../../src/providers/openai/openai_wire.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/providers/json_scan.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;
using namespace std::string_literals;

// skip_value ends a value where its nesting closes, whatever sits inside its strings.
TEST(JsonScan, SkipValueEndsWhereTheValueEnds) {
  const std::string text = R"({"a":[1,{"b":"x]}\"{"}],"c":"[[[[[[[[","d":{}} tail)";
  EXPECT_EQ(json_scan::skip_value(text, 0), text.size() - 5);
  EXPECT_EQ(json_scan::skip_value(text, 5), text.find(R"(,"c")"));  // the array
  EXPECT_EQ(json_scan::skip_value("[[[[", 0), 4u) << "unterminated: the end of the text";
  EXPECT_EQ(json_scan::skip_value(R"(["abc)", 0), 5u);
  EXPECT_EQ(json_scan::skip_value("12345678901234567890]", 0), 20u);
  // Where a valid value ends, the parser agrees: what follows is not part of it.
  for (const std::string v : {R"({"k":"}]\"","n":[[],{}]})", R"([{"a":"{"},"[",[[["]"]]]])"}) {
    const std::string with_tail = v + R"(,"x"])";
    ASSERT_EQ(json_scan::skip_value(with_tail, 0), v.size()) << v;
    EXPECT_TRUE(json::accept(with_tail.substr(0, v.size())));
  }
}

TEST(JsonValidate, AgreesWithTheParserOnValidAndBrokenText) {
  const std::vector<std::string> texts = {
      R"({"id":"x","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":1}})",
      R"([1,-0,0.5,-1.25e+10,1E3,true,false,null,"",{}, [] ])", " \t\r\n{} \n", "0", "\"s\"",
      "\xEF\xBB\xBF{\"bom\":1}", R"({"a":"\ud83d\ude00 \" \\ \/ \b \f \n \r \t"})",
      "{\"a\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"}", "{\"a\":1}\0trailing"s,
      // broken
      "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[01]", "[1.]", "[.5]", "[1e]",
      "[-]", "[+1]", "tru", "nul", "[true false]", "{} {}", "{\"a\":1}x", "\"\\x\"", "\"\\u12\"",
      R"("\ud800")", R"("\udc00")", R"("\ud800\u0041")", "\"a\tb\"", "\"\x01\"",
      "\"\xC0\x80\"", "\"\xED\xA0\x80\"", "\"\xF5\x80\x80\x80\"", "\"\xE2\x82\"", "\"\x80\"",
      "[1,\0]"s, "\0"s, "{\"a\":\"unterminated}", "[[[[]]]", "[]]",
      // numbers the parser reads as doubles: an overflow is refused, an underflow is 0
      "1e400", "-1e309", "[1.5e308]", "1e-400", "123456789012345678901234567890",
      std::string(400, '9'), "-" + std::string(20, '9'), "18446744073709551615", "3e994\0x"s};
  for (const auto& t : texts) {
    EXPECT_EQ(json_scan::valid(t), json::accept(t)) << "text: " << t;
  }
}

// Strings are passed eight bytes at a time (json_scan::plain_run_end): a quote, backslash, control
// byte or UTF-8 byte at every offset of the word, and every length around it, must be seen.
TEST(JsonValidate, StringsAgreeWithTheParserAtEveryOffsetOfTheWordScan) {
  const std::vector<std::string> specials = {"\"", "\\", "\\\"", "\\u00e9", "\x01", "\x1f",
                                             "\x7f", "\xC3\xA9", "\xC3", "\x80", "\xFF", " "};
  size_t checked = 0;
  for (size_t before = 0; before < 18; ++before) {
    for (const auto& special : specials) {
      for (size_t after = 0; after < 10; ++after) {
        const std::string inner = std::string(before, 'a') + special + std::string(after, 'b');
        const std::string text = "{\"k\":\"" + inner + "\",\"n\":1}";
        ASSERT_EQ(json_scan::valid(text), json::accept(text)) << "text: " << text;
        // skip_string ends where a byte-at-a-time scan ends.
        size_t naive = text.size();
        for (size_t i = 6; i < text.size(); ++i) {
          if (text[i] == '\\') {
            ++i;
          } else if (text[i] == '"') {
            naive = i + 1;
            break;
          }
        }
        ASSERT_EQ(json_scan::skip_string(text, 5), naive) << "text: " << text;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 18u * 12u * 10u);
}

// valid() with TopMembers notes what a walk of the object finds: every key as written, every
// value's extent, and the closing brace; nothing for another value; `more` past kMax members.
TEST(JsonValidate, NotesTheTopLevelMembersAsAWalkFindsThem) {
  namespace js = tg::providers::json_scan;
  for (std::string text : {std::string(R"({"model":"m","messages":[{"a":{"b":[1,2,{}]}}],"n":2})"),
                           std::string("\xEF\xBB\xBF { \"a\" : { } , \"b\":[ ],\"c\":\"x\\\"y\" ,\"d\":-1.5e3 } \n"),
                           std::string(R"({"mod\u0065l":"x","model":null,"t":true,"f":false})"),
                           std::string("{}"), std::string(R"({"a":{}})")}) {
    js::TopMembers m;
    ASSERT_TRUE(js::valid(text, 128, m)) << text;
    EXPECT_TRUE(m.object);
    std::vector<std::array<size_t, 4>> walked;
    size_t close = js::walk_object(text, js::skip_ws(text, js::bom_size(text)), [&](std::string_view key, size_t b) {
      const size_t e = js::skip_value(text, b);
      const size_t kb = static_cast<size_t>(key.data() - text.data());
      walked.push_back({kb, kb + key.size(), b, e});
      return e;
    });
    ASSERT_NE(close, std::string_view::npos) << text;
    EXPECT_EQ(m.close, close - 1) << text;
    ASSERT_EQ(m.count, walked.size()) << text;
    EXPECT_FALSE(m.more);
    for (size_t k = 0; k < m.count; ++k) {
      EXPECT_EQ(m.at[k].key_begin, walked[k][0]) << text << " member " << k;
      EXPECT_EQ(m.at[k].key_end, walked[k][1]) << text << " member " << k;
      EXPECT_EQ(m.at[k].value_begin, walked[k][2]) << text << " member " << k;
      EXPECT_EQ(m.at[k].value_end, walked[k][3]) << text << " member " << k;
    }
  }
  for (std::string text : {"[1,{\"a\":2}]", "\"s\"", "3"}) {
    js::TopMembers m;
    ASSERT_TRUE(js::valid(text, 128, m)) << text;
    EXPECT_FALSE(m.object) << text;
    EXPECT_EQ(m.count, 0u) << text;
  }
  std::string many = "{";
  for (size_t i = 0; i <= js::TopMembers::kMax; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  many += "}";
  js::TopMembers m;
  ASSERT_TRUE(js::valid(many, 128, m));
  EXPECT_EQ(m.count, js::TopMembers::kMax);
  EXPECT_TRUE(m.more);
  EXPECT_FALSE(js::valid(R"({"a":1,})", 128, m));
}

TEST(JsonValidate, NestingIsBounded) {
  std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_TRUE(json_scan::valid(deep, 100));
  EXPECT_FALSE(json_scan::valid(deep, 99));
  std::string too_deep = std::string(json_scan::kMaxValidDepth + 1, '[') +
                         std::string(json_scan::kMaxValidDepth + 1, ']');
  EXPECT_FALSE(json_scan::valid(too_deep, 1u << 20));  // the cap holds whatever is asked
  std::string objects;
  for (int i = 0; i < 70; ++i) objects += "{\"k\":[";
  objects += "1";
  for (int i = 0; i < 70; ++i) objects += "]}";
  EXPECT_TRUE(json_scan::valid(objects, 140));  // levels past 64 keep their kind
  EXPECT_FALSE(json_scan::valid(objects.substr(0, objects.size() - 1), 140));
}

Usage parsed(std::string_view text, bool compat, bool* repaired = nullptr) {
  json u = json::parse(text, nullptr, false);
  bool fixed = compat && compat::fix_usage(u);
  if (repaired) *repaired = fixed;
  return Usage::from_openai(u);
}

void expect_same(const Usage& a, const Usage& b, std::string_view text) {
  EXPECT_EQ(a.present, b.present) << text;
  EXPECT_EQ(a.input, b.input) << text;
  EXPECT_EQ(a.output, b.output) << text;
  EXPECT_EQ(a.cached_read, b.cached_read) << text;
  EXPECT_EQ(a.cache_write, b.cache_write) << text;
  EXPECT_EQ(a.reasoning, b.reasoning) << text;
}

TEST(ScanUsage, ReadsOpenAiUsageAsTheParserDoes) {
  const std::string openai =
      R"({"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":)"
      R"({"cached_tokens":4,"audio_tokens":0,"cache_write_tokens":2},"completion_tokens_details":)"
      R"({"reasoning_tokens":3,"audio_tokens":0}})";
  for (bool compat : {false, true}) {
    auto u = openai_wire::scan_usage(openai, compat);
    ASSERT_TRUE(u) << compat;
    EXPECT_TRUE(u->present);
    EXPECT_EQ(u->input, 19);
    EXPECT_EQ(u->output, 10);
    EXPECT_EQ(u->cached_read, 4);
    EXPECT_EQ(u->cache_write, 2);
    EXPECT_EQ(u->reasoning, 3);
    expect_same(*u, parsed(openai, compat), openai);
  }
  for (std::string text : {
           R"({"prompt_tokens":5,"prompt_tokens":7,"completion_tokens":1,"total_tokens":8})",  // last wins
           R"({"prompt_tokens":1.0,"completion_tokens":"2","total_tokens":null})",  // not integers
           R"({"prompt_tokens":-3,"completion_tokens":1,"total_tokens":-2})",
           R"({"prompt_tokens":5,"completion_tokens":1,"total_tokens":6,"prompt_tokens_details":7})",
           R"({"prompt_tokens":5,"completion_tokens":1,"total_tokens":6,"prompt_cache_hit_tokens":0})",
           R"({"x":{"prompt_tokens":9},"prompt_tokens":2,"completion_tokens":2,"total_tokens":4})",
           R"({})", R"([])", R"(null)", R"(12)", R"({"prompt_tokens":1,)", R"({"a":"\x"})"}) {
    for (bool compat : {false, true}) {
      auto u = openai_wire::scan_usage(text, compat);
      ASSERT_TRUE(u) << text;
      bool repaired = false;
      expect_same(*u, parsed(text, compat, &repaired), text);
      EXPECT_FALSE(repaired) << text;
    }
  }
}

TEST(ScanUsage, StepsAsideWhereOnlyTheParserCanTell) {
  for (std::string text : {
           R"({"prompt\u005ftokens":5,"completion_tokens":1,"total_tokens":6})",  // escaped key
           R"({"prompt_tokens":5,"completion_tokens":1,"total_tokens":6,"prompt_tokens_details":)"
           R"({"cached\u005ftokens":2}})",
           R"({"prompt_tokens":9223372036854775808,"completion_tokens":1,"total_tokens":1})",
           R"({"prompt_tokens":9223372036854775807,"completion_tokens":1,"total_tokens":1})"}) {
    EXPECT_FALSE(openai_wire::scan_usage(text, true)) << text;
  }
}

TEST(ScanUsage, LeavesCompatibleHostsRepairsToTheParser) {
  for (std::string text : {
           // xAI: reasoning counted in total_tokens only
           R"({"prompt_tokens":5,"completion_tokens":3,"total_tokens":10,)"
           R"("completion_tokens_details":{"reasoning_tokens":2}})",
           // DeepSeek: cache hits under their own name
           R"({"prompt_tokens":5,"completion_tokens":3,"total_tokens":8,"prompt_cache_hit_tokens":4})",
           // no or a short total
           R"({"prompt_tokens":5,"completion_tokens":3})",
           R"({"prompt_tokens":5,"completion_tokens":3,"total_tokens":7})"}) {
    bool repaired = false;
    (void)parsed(text, true, &repaired);
    ASSERT_TRUE(repaired) << text;
    EXPECT_FALSE(openai_wire::scan_usage(text, true)) << text;
    auto plain = openai_wire::scan_usage(text, false);  // OpenAI itself: no repair, just read
    ASSERT_TRUE(plain) << text;
    expect_same(*plain, parsed(text, false), text);
  }
}

TEST(ScanUsage, CompatibleAnswerPassesThroughByteForByteWithItsUsage) {
  const std::string body =
      R"({"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant",)"
      R"("content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,)"
      R"("total_tokens":4,"prompt_tokens_details":{"cached_tokens":2}}})";
  const ProviderAdapter* adapter = adapter_for(config::ProviderType::OpenAICompatible);
  ASSERT_NE(adapter, nullptr);
  const json client = {{"model", "m"}, {"messages", json::array()}};
  ClientRequest req;
  req.set_doc(&client);
  auto r = adapter->translate_response(req, std::string(body));
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.body, body);
  EXPECT_TRUE(r.usage.present);
  EXPECT_EQ(r.usage.input, 3);
  EXPECT_EQ(r.usage.output, 1);
  EXPECT_EQ(r.usage.cached_read, 2);
}

}  // namespace
}  // namespace tg::providers
