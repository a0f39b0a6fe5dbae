// store.redis: two tollgate instances sharing one real redis-server (Debian's, on a free loopback
// port): rate limits and budgets exact across both, holds of a killed instance expiring, and
// Redis going away under load (the fail mode holds, no request hangs).

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "../support/redis_server.hpp"
#include "../support/shared_store.hpp"
#include "harness.hpp"
#include "tollgate/redis/scripts.hpp"

namespace tg::it {
namespace {

using testing::RedisServer;
using Ms = std::chrono::milliseconds;

const std::string kKey = "sk-tg-shared-0123456789abcdef0123456789ab";

// Both instances read the same file (each with its own SQLite file until the shared store lands).
std::string shared_config(const Mock& mock, const RedisServer& redis, const std::string& key_extra,
                          const std::string& store_extra = "") {
  return mock_config(mock) + "store:\n  sqlite: " + temp_dir() + "/t.db\n  redis: " + redis.url() +
         "\n  redis_timeout: 200ms\n" + store_extra +
         "router:\n  retries: 0\n  timeouts: {connect: 1s, first_token: 3s, idle: 3s, total: 3s}\n"
         "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n"
         "keys:\n  - name: shared\n    key: " + kKey + "\n" + key_extra;
}

TEST(RedisShared, RpmIsExactAcrossTwoInstances) {
  Mock mock;
  RedisServer redis;
  const std::string cfg = shared_config(mock, redis, "    limits: {rpm: 10}\n");
  Gateway a(cfg), b(cfg);
  ASSERT_TRUE(redis_up(a));
  ASSERT_TRUE(redis_up(b));
  int ok = 0, limited = 0;
  std::string last_remaining;
  for (int i = 0; i < 20; ++i) {
    Gateway& gw = i % 2 == 0 ? a : b;
    auto r = gw.post("/v1/chat/completions", small_chat("rpm " + std::to_string(i)), kKey);
    if (r.status == 200) {
      ++ok;
      last_remaining = r.header("x-ratelimit-remaining-requests");
    } else if (r.status == 429 && r.json_body()["error"]["code"] == "rate_limit_exceeded") {
      ++limited;
      EXPECT_FALSE(r.header("retry-after").empty());
    } else {
      ADD_FAILURE() << r.status << " " << r.body;
    }
  }
  EXPECT_EQ(ok, 10);  // one instance alone would let 10 through, two would let 20
  EXPECT_EQ(limited, 10);
  EXPECT_EQ(last_remaining, "0");  // counted across both: the 10th request left none
  // The window lives in Redis, under the key's id.
  const std::string id = find_key(a, "shared")["id"];
  auto n = redis.command({"HVALS", redis::Keys{}.requests(id)});
  ASSERT_TRUE(n && n->is_array());
  int64_t total = 0;
  for (const auto& v : n->elements) total += std::stoll(v.str);
  EXPECT_EQ(total, 10);
}

// The admission reads the window's totals, summed from the per-second buckets by each second's
// first admission: requests counted in earlier seconds (here written as buckets directly, as
// instances that ran a while ago leave them) count, and buckets past the window do not.
TEST(RedisShared, RpmCountsTheBucketsOfEarlierSecondsAndDropsExpiredOnes) {
  Mock mock;
  RedisServer redis;
  const std::string cfg = shared_config(mock, redis, "    limits: {rpm: 10}\n");
  Gateway a(cfg), b(cfg);
  ASSERT_TRUE(redis_up(a));
  ASSERT_TRUE(redis_up(b));
  const std::string id = find_key(a, "shared")["id"];
  const std::string req = redis::Keys{}.requests(id);
  auto t = redis.command({"TIME"});
  ASSERT_TRUE(t && t->is_array() && t->elements.size() == 2);
  const int64_t now = std::stoll(t->elements[0].str);
  // 4 requests in the window (2 s and 30 s ago), 50 that left it (61 s and 120 s ago).
  for (auto [ago, n] : {std::pair{2, "3"}, {30, "1"}, {61, "20"}, {120, "30"}}) {
    ASSERT_TRUE(redis.command({"HSET", req, std::to_string(now - ago), n}));
  }
  int ok = 0;
  for (int i = 0; i < 12; ++i) {
    Gateway& gw = i % 2 == 0 ? a : b;
    auto r = gw.post("/v1/chat/completions", small_chat("early " + std::to_string(i)), kKey);
    if (r.status == 200) ++ok;
    else EXPECT_EQ(r.status, 429) << r.body;
  }
  EXPECT_EQ(ok, 6);  // 10 - the 4 still in the window
  auto old = redis.command({"HEXISTS", req, std::to_string(now - 120)});
  ASSERT_TRUE(old);
  EXPECT_EQ(old->integer, 0);  // expired buckets are deleted
}

TEST(RedisShared, ParallelHoldsAcrossTwoInstances) {
  Mock mock({"--latency-ms", "1000"});
  RedisServer redis;
  const std::string cfg = shared_config(mock, redis, "    limits: {parallel: 2}\n");
  Gateway a(cfg), b(cfg);
  ASSERT_TRUE(redis_up(a));
  ASSERT_TRUE(redis_up(b));
  std::atomic<int> ok{0}, limited{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      Gateway& gw = i % 2 == 0 ? a : b;
      auto r = gw.post("/v1/chat/completions", small_chat("par " + std::to_string(i)), kKey);
      if (r.status == 200) {
        ++ok;
      } else if (r.status == 429 && r.json_body()["error"]["code"] == "rate_limit_exceeded") {
        ++limited;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 2);
  EXPECT_EQ(limited.load(), 4);
  EXPECT_EQ(other.load(), 0);
  // Finished requests give their slots back (the finish script runs just after the answer).
  EXPECT_TRUE(eventually([&] {
    return b.post("/v1/chat/completions", small_chat("after"), kKey).status == 200;
  }, Ms(5000)));
}

TEST(RedisShared, ConcurrentRequestsOnBothInstancesNeverOvershootTheBudget) {
  Mock mock;
  RedisServer redis;
  const std::string cfg = shared_config(mock, redis, "    budget: {usd: 0.001, period: monthly}\n");
  Gateway a(cfg), b(cfg);
  ASSERT_TRUE(redis_up(a));
  ASSERT_TRUE(redis_up(b));
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 10; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        Gateway& gw = (t + i) % 2 == 0 ? a : b;
        auto r = gw.post("/v1/chat/completions", small_chat("spend " + std::to_string(t * 10 + i)), kKey);
        if (r.status == 200) {
          ++ok;
        } else if (r.status == 429 && r.json_body()["error"]["code"] == "budget_exceeded") {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(refused.load(), 0);
  // Each instance knows what it settled; Redis holds the sum of both.
  double spent_a = 0, spent_b = 0;
  std::string redis_spent;
  const std::string id = find_key(a, "shared")["id"];
  const std::string holder = "key:" + id;
  ASSERT_TRUE(eventually([&] {
    spent_a = find_key(a, "shared")["budget"]["spend_usd"].get<double>();
    spent_b = find_key(b, "shared")["budget"]["spend_usd"].get<double>();
    auto keys = redis.command({"KEYS", "tg:b:" + std::to_string(holder.size()) + ":" + holder + ":spent:*"});
    if (!keys || !keys->is_array() || keys->elements.size() != 1) return false;
    auto v = redis.command({"GET", keys->elements[0].str});
    if (!v || v->type != redis::Value::Type::String) return false;
    redis_spent = v->str;
    return std::llround((spent_a + spent_b) * 1e9) == std::stoll(redis_spent);
  })) << spent_a << " + " << spent_b << " != " << redis_spent;
  // Both served (the load was split), and the sum stays within the budget: the actual cost of
  // an answer never exceeds its reservation, so not even one reservation's overshoot.
  EXPECT_GT(spent_a, 0);
  EXPECT_GT(spent_b, 0);
  std::printf("budget $0.001 across two instances: %d answered, %d refused; spent $%.9f (A) + "
              "$%.9f (B) = %s nUSD in Redis\n", ok.load(), refused.load(), spent_a, spent_b,
              redis_spent.c_str());
  EXPECT_LE(spent_a + spent_b, 0.001 + 1e-9);
  EXPECT_GT(spent_a + spent_b, 0.0005);
  // No reservation is left behind.
  auto amt = redis.command({"HLEN", "tg:b:" + std::to_string(holder.size()) + ":" + holder + ":amt"});
  ASSERT_TRUE(amt);
  EXPECT_EQ(amt->integer, 0);
}

TEST(RedisShared, AKilledInstancesHoldsExpireAndTheOtherKeepsServing) {
  Mock mock({"--latency-ms", "2500"});
  RedisServer redis;
  const std::string cfg =
      shared_config(mock, redis, "    limits: {parallel: 2}\n    budget: {usd: 10, period: daily}\n");
  auto a = std::make_unique<Gateway>(cfg);
  Gateway b(cfg);
  ASSERT_TRUE(redis_up(*a));
  ASSERT_TRUE(redis_up(b));
  const std::string id = find_key(b, "shared")["id"];
  const std::string holder = "key:" + id;
  const std::string par = redis::Keys{}.parallel(id);
  const std::string amt = redis::Keys{}.amounts(holder);
  // Two slow requests on A take both slots and two reservations.
  std::vector<std::thread> threads;
  const uint16_t a_port = a->port();
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([a_port, i] {
      http(a_port, "POST", "/v1/chat/completions", small_chat("held " + std::to_string(i)).dump(),
           {{"Authorization", "Bearer " + kKey}, {"Content-Type", "application/json"}}, Ms(10000));
    });
  }
  ASSERT_TRUE(eventually([&] {
    auto n = redis.command({"ZCARD", par});
    return n && n->integer == 2;
  }, Ms(3000)));
  a->process().signal(SIGKILL);
  a->process().wait();
  for (auto& t : threads) t.join();
  auto hlen = redis.command({"HLEN", amt});
  ASSERT_TRUE(hlen);
  EXPECT_EQ(hlen->integer, 2);  // A's reservations are still there...
  auto refused = b.post("/v1/chat/completions", small_chat("blocked"), kKey);
  EXPECT_EQ(refused.status, 429);
  EXPECT_NE(refused.body.find("parallel"), std::string::npos) << refused.body;
  // ...until their TTL (router.timeouts.total + margin) passes; B keeps serving throughout.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(eventually([&] {
    return b.post("/v1/chat/completions", small_chat("free again"), kKey).status == 200;
  }, Ms(15000)));
  const auto waited = std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t0);
  std::printf("the killed instance's parallel slots were free again after %lld ms\n",
              static_cast<long long>(waited.count()));
  EXPECT_LT(waited.count(), 12000);
  EXPECT_TRUE(eventually([&] {
    auto n = redis.command({"HLEN", amt});
    return n && n->integer == 0;  // the dead instance's reservations expired too
  }, Ms(5000)));
  a.reset();
}

TEST(RedisShared, RedisRestartUnderLoadFailOpenNeverHangsAndLimitsRecover) {
  Mock mock;
  RedisServer redis;
  const std::string cfg = shared_config(mock, redis, "    limits: {rpm: 100000}\n");
  Gateway a(cfg), b(cfg);
  ASSERT_TRUE(redis_up(a));
  ASSERT_TRUE(redis_up(b));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::atomic<int64_t> slowest_ms{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        Gateway& gw = (t + i) % 2 == 0 ? a : b;
        auto t0 = std::chrono::steady_clock::now();
        auto r = gw.post("/v1/chat/completions", small_chat("load"), kKey, {});
        auto ms = std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t0).count();
        int64_t prev = slowest_ms.load();
        while (ms > prev && !slowest_ms.compare_exchange_weak(prev, ms)) {
        }
        (r.status == 200 ? ok : failed)++;
      }
    });
  }
  std::this_thread::sleep_for(Ms(300));
  redis.kill(SIGSTOP);  // a frozen Redis: the connection stays open, nothing answers
  std::this_thread::sleep_for(Ms(800));
  redis.kill(SIGCONT);
  redis.restart();      // then gone, and back empty
  std::this_thread::sleep_for(Ms(500));
  auto ready = a.get("/ready");
  EXPECT_EQ(ready.status, 200);  // fail open: still serving, on its own figures
  ASSERT_TRUE(redis_up(a));
  ASSERT_TRUE(redis_up(b));
  std::this_thread::sleep_for(Ms(300));
  stop = true;
  for (auto& t : load) t.join();
  std::printf("Redis frozen 0.8 s then restarted under load: %d answered, %d failed, slowest %lld ms\n",
              ok.load(), failed.load(), static_cast<long long>(slowest_ms.load()));
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 20);
  // Every request was answered promptly: a stalled Redis costs at most its timeout (200ms).
  EXPECT_LT(slowest_ms.load(), 1500);
  // The limits recovered: counted in the new Redis again.
  const std::string id = find_key(a, "shared")["id"];
  EXPECT_TRUE(eventually([&] {
    a.post("/v1/chat/completions", small_chat("again"), kKey);
    auto n = redis.command({"EXISTS", redis::Keys{}.requests(id)});
    return n && n->integer == 1;
  }));
  EXPECT_NE(a.get("/metrics").body.find("tollgate_redis_errors_total"), std::string::npos);
}

TEST(RedisShared, FailClosedRefusesQuicklyWhileRedisIsDownAndRecovers) {
  Mock mock;
  RedisServer redis;
  const std::string cfg = shared_config(mock, redis, "    limits: {rpm: 1000}\n", "  redis_fail: closed\n");
  Gateway a(cfg);
  ASSERT_TRUE(redis_up(a));
  EXPECT_EQ(a.post("/v1/chat/completions", small_chat("up"), kKey).status, 200);
  redis.kill(SIGSTOP);
  auto t0 = std::chrono::steady_clock::now();
  auto r = a.post("/v1/chat/completions", small_chat("frozen"), kKey);
  auto ms = std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json_body()["error"]["code"], "limits_unavailable");
  EXPECT_LT(ms, 1000);
  // A key without limits or budget does not need Redis.
  EXPECT_EQ(a.post("/v1/chat/completions", small_chat("master")).status, 200);
  redis.kill(SIGCONT);
  redis.kill(SIGKILL);
  EXPECT_TRUE(eventually([&] { return a.get("/ready").status == 503; }, Ms(5000)));
  EXPECT_EQ(a.get("/ready").json_body()["reason"], "redis_down");
  EXPECT_EQ(a.post("/v1/chat/completions", small_chat("down"), kKey).status, 503);
  redis.start();
  EXPECT_TRUE(eventually([&] { return a.get("/ready").status == 200; }, Ms(10000)));
  EXPECT_EQ(a.post("/v1/chat/completions", small_chat("back"), kKey).status, 200);
}

// Just after start a worker may still be making its first connection to Redis: a request that
// reaches it then waits for that connection (within store.redis_timeout) instead of being
// refused as if Redis were down (it was: a 503 when failing closed, on whichever worker lost).
TEST(RedisShared, FailClosedServesTheFirstRequestsAfterStart) {
  Mock mock;
  RedisServer redis;
  std::string cfg = shared_config(mock, redis, "    limits: {rpm: 1000}\n", "  redis_fail: closed\n");
  cfg.replace(cfg.find("redis_timeout: 200ms"), 20, "redis_timeout: 3s");
  // A frozen Redis accepts the connections (the kernel does) but answers nothing: each worker's
  // first connection stays in its handshake until the server is thawed.
  redis.kill(SIGSTOP);
  Gateway a(cfg);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (a.post("/v1/chat/completions", small_chat("first"), kKey).status == 200) ++ok;
    });
  }
  std::this_thread::sleep_for(Ms(300));  // the requests are in while the connections are not
  redis.kill(SIGCONT);
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 4);
}

TEST(RedisShared, TheResponseCacheIsSharedAcrossInstances) {
  Mock mock;
  RedisServer redis;
  const std::string cfg = mock_config(mock) + "store:\n  sqlite: " + temp_dir() +
                          "/t.db\n  redis: " + redis.url() + "\ncache:\n  enabled: true\n  ttl: 1m\n";
  Gateway a(cfg), b(cfg);
  ASSERT_TRUE(redis_up(a));
  ASSERT_TRUE(redis_up(b));
  auto first = a.post("/v1/chat/completions", small_chat("cache me"));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("x-tollgate-cache"), "miss");
  // B never saw this request: its answer comes from Redis, byte for byte, without the upstream.
  ASSERT_TRUE(eventually([&] {
    auto n = redis.command({"DBSIZE"});
    return n && n->integer >= 1;
  }));
  auto second = b.post("/v1/chat/completions", small_chat("cache me"));
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.header("x-tollgate-cache"), "hit");
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(mock.requests().size(), 1u);
  // With Redis gone a lookup is a plain miss, not an error.
  redis.kill(SIGKILL);
  auto third = b.post("/v1/chat/completions", small_chat("not cached yet"));
  EXPECT_EQ(third.status, 200);
  EXPECT_EQ(third.header("x-tollgate-cache"), "miss");
}

}  // namespace
}  // namespace tg::it
