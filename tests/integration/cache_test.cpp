// The response cache end to end: a repeated non-streamed request is answered from memory.

#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

json ask(const std::string& text, bool stream = false) {
  json body = {{"model", "gpt-test"}, {"messages", {{{"role", "user"}, {"content", text}}}}};
  if (stream) body["stream"] = true;
  return body;
}

std::string cached_config(const Mock& mock, const std::string& ttl = "1h") {
  return mock_config(mock) + "cache:\n  enabled: true\n  ttl: " + ttl + "\n" +
         "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n"
         "teams:\n  - {name: blue}\n"
         "keys:\n"
         "  - {name: one, key: sk-blue-one-0123456789, team: blue}\n"
         "  - {name: two, key: sk-blue-two-0123456789, team: blue}\n"
         "  - {name: solo, key: sk-solo-0123456789}\n";
}

double metric(Gateway& gw, const std::string& name) {
  auto text = gw.get("/metrics", "").body;
  auto pos = text.find("\n" + name + " ");
  return pos == std::string::npos ? -1 : std::stod(text.substr(pos + name.size() + 2));
}

TEST(Cache, RepeatedRequestIsAnsweredFromTheCacheWithinItsScope) {
  Mock mock;
  Gateway gw(cached_config(mock));
  auto first = gw.post("/v1/chat/completions", ask("what is cached?"), "sk-blue-one-0123456789");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-tollgate-cache"), "miss");
  EXPECT_NE(first.header("x-tollgate-cost-usd"), "0");
  // Same bytes, same team (another key of it): from the cache, the upstream is not called.
  auto second = gw.post("/v1/chat/completions", ask("what is cached?"), "sk-blue-two-0123456789");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.header("x-tollgate-cache"), "hit");
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(second.header("x-tollgate-provider"), "mock");
  EXPECT_EQ(second.header("x-tollgate-attempts"), "0");
  EXPECT_EQ(second.header("x-tollgate-cost-usd"), "0");
  EXPECT_EQ(mock.requests().size(), 1u);
  // Another scope (a key without a team, the master key) does not see it.
  EXPECT_EQ(gw.post("/v1/chat/completions", ask("what is cached?"), "sk-solo-0123456789")
                .header("x-tollgate-cache"),
            "miss");
  EXPECT_EQ(gw.post("/v1/chat/completions", ask("what is cached?")).header("x-tollgate-cache"),
            "miss");
  EXPECT_EQ(mock.requests().size(), 3u);
  // Cache-Control: no-cache goes upstream (and refreshes the entry); no-store neither reads nor
  // writes.
  auto fresh = gw.post("/v1/chat/completions", ask("what is cached?"), "sk-blue-one-0123456789",
                       {{"Cache-Control", "no-cache"}});
  EXPECT_EQ(fresh.header("x-tollgate-cache"), "miss");
  auto bypass = gw.post("/v1/chat/completions", ask("never stored"), "sk-blue-one-0123456789",
                        {{"Cache-Control", "no-store"}});
  EXPECT_EQ(bypass.header("x-tollgate-cache"), "");
  EXPECT_EQ(gw.post("/v1/chat/completions", ask("never stored"), "sk-blue-one-0123456789")
                .header("x-tollgate-cache"),
            "miss");
  EXPECT_EQ(mock.requests().size(), 6u);
  // Streams are not cached.
  auto s1 = gw.post("/v1/chat/completions", ask("a stream", true), "sk-blue-one-0123456789");
  auto s2 = gw.post("/v1/chat/completions", ask("a stream", true), "sk-blue-one-0123456789");
  EXPECT_EQ(s2.status, 200);
  EXPECT_EQ(s2.header("x-tollgate-cache"), "");
  EXPECT_EQ(mock.requests().size(), 8u);

  ASSERT_TRUE(eventually([&] { return metric(gw, "tollgate_cache_hits_total") == 1; }));
  EXPECT_EQ(metric(gw, "tollgate_cache_misses_total"), 5);
  // The hit is in the request log as answered by the cache, at no cost.
  json spend;
  ASSERT_TRUE(eventually([&] {
    spend = gw.get("/admin/spend?group_by=provider").json_body();
    for (const auto& r : spend["data"]) {
      if (r["provider"] == "cache") return r["requests"] == 1;
    }
    return false;
  })) << spend.dump();
  for (const auto& r : spend["data"]) {
    if (r["provider"] == "cache") EXPECT_EQ(r["spend_usd"], 0.0);
  }
}

TEST(Cache, EntriesExpireAfterTheTtl) {
  Mock mock;
  Gateway gw(cached_config(mock, "300ms"));
  ASSERT_EQ(gw.post("/v1/chat/completions", ask("short-lived")).header("x-tollgate-cache"), "miss");
  ASSERT_EQ(gw.post("/v1/chat/completions", ask("short-lived")).header("x-tollgate-cache"), "hit");
  // Hits until the TTL passes (they do not reach the mock), then one miss that goes upstream.
  EXPECT_TRUE(eventually([&] {
    return gw.post("/v1/chat/completions", ask("short-lived")).header("x-tollgate-cache") == "miss";
  }));
  EXPECT_EQ(mock.requests().size(), 2u);
}

TEST(Cache, ErrorsAreNotCachedAndTheCacheIsOffByDefault) {
  Mock mock;
  Gateway gw(cached_config(mock));
  mock.add_fault({{"mode", "status"}, {"status", 400}, {"count", 1}});
  EXPECT_EQ(gw.post("/v1/chat/completions", ask("bad once")).status, 400);
  auto r = gw.post("/v1/chat/completions", ask("bad once"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-tollgate-cache"), "miss");

  Mock plain_mock;
  Gateway plain(mock_config(plain_mock));
  EXPECT_EQ(plain.post("/v1/chat/completions", ask("x")).header("x-tollgate-cache"), "");
  EXPECT_EQ(plain.post("/v1/chat/completions", ask("x")).header("x-tollgate-cache"), "");
  EXPECT_EQ(plain_mock.requests().size(), 2u);
}

}  // namespace
}  // namespace tg::it
