#include "tollgate/providers/json_build.hpp"

#include <gtest/gtest.h>

#include <string>

#include "../support/json_identical.hpp"
#include "tollgate/providers/client_json.hpp"
#include "tollgate/providers/json_scan.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;

void expect_as_parsed(const std::string& text) {
  ASSERT_TRUE(json_scan::valid(text)) << text;
  const json want = json::parse(text);
  const json got = json_scan::build(text);
  EXPECT_TRUE(test::json_identical(got, want)) << text << "\n got " << got.dump() << "\nwant "
                                               << want.dump();
}

TEST(JsonBuild, BuildsWhatTheParserBuilds) {
  for (const std::string text : std::initializer_list<std::string>{
           R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true})",
           R"({})", R"([])", R"("")", R"(null)", R"(true)", R"(false)", R"( [ 1 , [ ] , { } ] )",
           // strings: every escape, \u with and without surrogate pairs, raw UTF-8, a NUL escape
           R"(["a\"b\\c\/d\be\ff\ng\rh\ti", "\u0041\u00e9\u20ac\ud83d\ude00", "é€😀", "\u0000x"])",
           R"({"k\u0065y":1,"key":2})",  // an escaped key repeats a plain one: the last counts
           R"({"a":1,"b":{"c":[1,2]},"a":{"x":true}})",  // a repeated key, last value kept
           // numbers: the parser's types
           R"([0,-0,1,-1,18446744073709551615,18446744073709551616,-9223372036854775808,)"
           R"(-9223372036854775809,9223372036854775807,9223372036854775808])",
           R"([0.0,-0.0,1.5,-1.5e3,1E-7,2e+10,0.1,123456789012345678901234567890,1e-400,)"
           R"(4.9e-324,2.2250738585072014e-308,1.7976931348623157e308])",
           "\xEF\xBB\xBF{\"bom\":1}",  // a leading BOM is skipped
           std::string("{\"a\":1}\0trailing", 16),  // text after a NUL is not read
           " \t\r\n{ \"spaced\" : [ 1 , 2 ] } \n",
       }) {
    expect_as_parsed(text);
  }
}

TEST(JsonBuild, CompactDropsOnlyTheWhitespaceBetweenTokens) {
  const std::string text = " {\n\t\"a b\" : [ 1 ,\r\n 2.50 , \"x \\\" \\n y\" ] ,\"e\":{ } } ";
  const std::string got = json_scan::compact(text);
  EXPECT_EQ(got, R"({"a b":[1,2.50,"x \" \n y"],"e":{}})");
  EXPECT_TRUE(test::json_identical(json::parse(got), json::parse(text)));
  EXPECT_EQ(json_scan::compact(got), got);
  EXPECT_EQ(json_scan::compact("\"  \""), "\"  \"") << "a string is copied as written";
  EXPECT_EQ(json_scan::compact(""), "");
}

TEST(JsonBuild, DeepButValidNesting) {
  std::string deep(1000, '[');
  deep += "1";
  deep += std::string(1000, ']');
  expect_as_parsed(deep);
}

TEST(JsonBuild, StaysSafeOnTextValidWouldRefuse) {
  // Outside the precondition the result is unspecified, but nothing crashes or hangs, however
  // deep or cut short the text is.
  for (const std::string text : {std::string(2'000'000, '['), std::string(2'000'000, '{'),
                                 std::string(R"({"a":)"), std::string(R"(["\u12)"),
                                 std::string(R"("\ud83d")"), std::string("{\"a\" 1 2 3 ]]]"),
                                 std::string("-"), std::string("1e"), std::string("\\"),
                                 std::string("{\xA8\0\0\0\0\0\0\0\"o,\n", 13),
                                 std::string(R"(["\ud83d\u0041"])"),  // a high surrogate unpaired
                                 std::string(R"(["\ud83d\u00)")}) {
    (void)json_scan::build(text);
  }
}

TEST(JsonBuild, ClientBodiesKeepTheirErrors) {
  auto error_of = [](std::string_view body) {
    auto r = parse_client_json(body);
    return std::holds_alternative<Error>(r) ? std::get<Error>(r).message : std::string();
  };
  EXPECT_NE(error_of("{\"a\":").find("could not parse"), std::string::npos);
  EXPECT_NE(error_of("[1]").find("must be a JSON object"), std::string::npos);
  std::string deep = "{\"a\":" + std::string(kMaxJsonDepth + 1, '[') +
                     std::string(kMaxJsonDepth + 1, ']') + "}";
  EXPECT_NE(error_of(deep).find("levels deep"), std::string::npos);
  deep.pop_back();  // too deep and malformed: the depth is named, as before
  EXPECT_NE(error_of(deep).find("levels deep"), std::string::npos);
  std::string ok = "{\"a\":" + std::string(kMaxJsonDepth - 1, '[') +
                   std::string(kMaxJsonDepth - 1, ']') + "}";
  EXPECT_EQ(error_of(ok), "");
  // A raw CR, LF or NUL inside a string is not JSON: refused before anything is built. A NUL
  // after the body ends it, as the parser reads it.
  EXPECT_NE(error_of("{\"a\":\"x\r\ny\"}").find("could not parse"), std::string::npos);
  EXPECT_NE(error_of(std::string("{\"a\":\"x\0y\"}", 11)).find("could not parse"), std::string::npos);
  EXPECT_EQ(error_of(std::string("{\"a\":1}\0{", 10)), "");
  // A field nobody knows is kept as it is; 2^63 does not fit int64 but fits uint64.
  auto odd = std::get<json>(parse_client_json(R"({"zz_unknown":{"x":[1]},"n":9223372036854775808})"));
  EXPECT_EQ(odd["zz_unknown"]["x"][0], 1);
  EXPECT_TRUE(odd["n"].is_number_unsigned());
  auto doc = std::get<json>(parse_client_json(R"({"model":"m","max_tokens":5,"t":0.5})"));
  EXPECT_TRUE(doc["max_tokens"].is_number_unsigned());
  EXPECT_TRUE(doc["t"].is_number_float());
}

}  // namespace
}  // namespace tg::providers
