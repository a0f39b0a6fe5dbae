#include "tollgate/core/secure.hpp"

#include <gtest/gtest.h>

namespace tg {
namespace {

TEST(ConstantTimeEquals, MatchesOnlyTheSameKey) {
  EXPECT_TRUE(constant_time_equals("sk-master-123", "sk-master-123"));
  EXPECT_FALSE(constant_time_equals("sk-master-124", "sk-master-123"));
  EXPECT_FALSE(constant_time_equals("sk-master-12", "sk-master-123"));
  EXPECT_FALSE(constant_time_equals("sk-master-1234", "sk-master-123"));
  EXPECT_FALSE(constant_time_equals("", "sk-master-123"));
  EXPECT_FALSE(constant_time_equals("", ""));  // an empty secret never authenticates
}

TEST(Sha256Hex, KnownVector) {
  EXPECT_EQ(sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(RedactKey, KeepsOnlyPrefixAndLastFour) {
  EXPECT_EQ(redact_key("sk-proj-abcdefghijklmnop"), "sk-...mnop");
  EXPECT_EQ(redact_key("short"), "***");
}

}  // namespace
}  // namespace tg
