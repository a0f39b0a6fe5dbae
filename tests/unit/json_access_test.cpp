#include "tollgate/core/json_access.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace tg {
namespace {

using json = nlohmann::json;

// Reading a hostile body's members never throws: a member of another type, or null, or a number
// out of the wanted integer's range, reads as the fallback (nlohmann's value() threw on each).
TEST(JsonAccess, MemberOrTakesTheFallbackInsteadOfThrowing) {
  const json j = json::parse(R"({"b":true,"s":"x","i":42,"f":2.5,"big":1e300,"neg":-3,"n":null,
                                "o":{},"a":[1]})");
  EXPECT_EQ(member_or(j, "b", false), true);
  EXPECT_EQ(member_or(j, "s", false), false);
  EXPECT_EQ(member_or<int64_t>(j, "i", 0), 42);
  EXPECT_EQ(member_or<int64_t>(j, "f", 0), 2);  // as nlohmann converts a float
  EXPECT_EQ(member_or<int64_t>(j, "big", 7), 7);  // out of range: not converted (UB)
  EXPECT_EQ(member_or<uint32_t>(j, "neg", 9), 9u);
  EXPECT_EQ(member_or<int64_t>(j, "s", -1), -1);
  EXPECT_EQ(member_or(j, "i", 0.0), 42.0);
  EXPECT_EQ(member_or(j, "o", 1.5), 1.5);
  EXPECT_EQ(member_or<std::string>(j, "s", "d"), "x");
  EXPECT_EQ(member_or<std::string>(j, "n", "d"), "d");
  EXPECT_EQ(member_or<std::string>(j, "a", "d"), "d");
  EXPECT_EQ(member_or<std::string>(j, "absent", "d"), "d");
  EXPECT_EQ(member_or<std::string>(json::array(), "s", "d"), "d");  // not an object
  EXPECT_EQ(str_member(j, "s"), "x");
  EXPECT_EQ(str_member(j, "i"), "");
  EXPECT_EQ(str_member(json(5), "s"), "");
}

}  // namespace
}  // namespace tg
