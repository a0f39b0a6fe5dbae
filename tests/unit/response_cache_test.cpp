#include "tollgate/cache/response_cache.hpp"

#include <gtest/gtest.h>

namespace tg::cache {
namespace {

using namespace std::chrono_literals;

CachedAnswer answer(std::string body) { return {std::move(body), "openai", "gpt-4o-mini"}; }

TEST(ResponseCache, StoresAndExpiresAfterTheTtl) {
  ResponseCache c({100ms, 10, 1 << 20});
  auto t0 = Clock::time_point{} + 1h;
  c.put("k", answer("{\"a\":1}"), t0);
  auto hit = c.get("k", t0 + 99ms);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->body, "{\"a\":1}");
  EXPECT_EQ(hit->provider, "openai");
  EXPECT_EQ(c.get("k", t0 + 100ms), nullptr);  // expired, and dropped
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.bytes(), 0u);
  EXPECT_EQ(c.get("other", t0), nullptr);
}

TEST(ResponseCache, EvictsTheLeastRecentlyUsedBeyondMaxEntries) {
  ResponseCache c({1h, 2, 1 << 20});
  auto t = Clock::time_point{} + 1h;
  c.put("a", answer("1"), t);
  c.put("b", answer("2"), t);
  ASSERT_TRUE(c.get("a", t));  // a is now the most recently used
  c.put("c", answer("3"), t);
  EXPECT_TRUE(c.get("a", t));
  EXPECT_EQ(c.get("b", t), nullptr);
  EXPECT_TRUE(c.get("c", t));
  EXPECT_EQ(c.size(), 2u);
}

TEST(ResponseCache, StaysWithinMaxBytesAndSkipsHugeAnswers) {
  const uint64_t max = 64 * 1024;
  ResponseCache c({1h, 1000, max});
  auto t = Clock::time_point{} + 1h;
  for (int i = 0; i < 100; ++i) c.put("k" + std::to_string(i), answer(std::string(1000, 'x')), t);
  EXPECT_LE(c.bytes(), max);
  EXPECT_LT(c.size(), 100u);
  EXPECT_TRUE(c.get("k99", t));  // the newest stay
  EXPECT_EQ(c.get("k0", t), nullptr);
  c.put("huge", answer(std::string(max / 8, 'y')), t);  // over a sixteenth of the budget
  EXPECT_EQ(c.get("huge", t), nullptr);
}

TEST(ResponseCache, ReplacingAKeyKeepsTheAccountingRight) {
  ResponseCache c({1h, 10, 1 << 20});
  auto t = Clock::time_point{} + 1h;
  c.put("k", answer("short"), t);
  uint64_t one = c.bytes();
  c.put("k", answer("short"), t);
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(c.bytes(), one);
  c.set_limits({1h, 0, 1 << 20});  // shrinking evicts at once
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.bytes(), 0u);
}

TEST(ResponseCache, KeysSeparateScopesEndpointsAndBodies) {
  auto k = ResponseCache::key_of("team:a", "chat/completions", R"({"model":"m"})");
  EXPECT_EQ(k.size(), 64u);
  EXPECT_EQ(k, ResponseCache::key_of("team:a", "chat/completions", R"({"model":"m"})"));
  EXPECT_NE(k, ResponseCache::key_of("team:b", "chat/completions", R"({"model":"m"})"));
  EXPECT_NE(k, ResponseCache::key_of("team:a", "embeddings", R"({"model":"m"})"));
  EXPECT_NE(k, ResponseCache::key_of("team:a", "chat/completions", R"({"model": "m"})"));
  // The separator keeps "ab"+"c" apart from "a"+"bc".
  EXPECT_NE(ResponseCache::key_of("ab", "c", "x"), ResponseCache::key_of("a", "bc", "x"));
}

}  // namespace
}  // namespace tg::cache
