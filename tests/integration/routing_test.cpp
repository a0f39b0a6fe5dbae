// Routing end to end: several tollgate-mock instances failing on command, one gateway.

#include <atomic>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

std::string provider(const std::string& name, const Mock& m, const std::string& extra = "") {
  return "  " + name + ":\n    type: openai-compatible\n    base_url: " + m.base_url() +
         "\n    api_key: key-" + name + "\n" + extra;
}

std::string head(const std::string& router = "  retries: 0\n") {
  return "server:\n  master_key: sk-test-master\n  workers: 2\nrouter:\n" + router;
}

size_t count(Mock& m) { return m.requests().size(); }

TEST(Routing, FailoverInOrderThenCooldownSkipsTheFailingDeployment) {
  Mock a, b;
  Gateway gw(head("  retries: 0\n  allowed_fails: 1\n  cooldown: 30s\n") + "providers:\n" +
             provider("a", a) + provider("b", b) +
             "models:\n  - name: m\n    targets: [a/gpt-4o, b/gpt-4o]\n");
  a.add_fault({{"mode", "status"}, {"status", 503}, {"count", -1}});
  auto r1 = gw.post("/v1/chat/completions", chat("m", "one"));
  ASSERT_EQ(r1.status, 200) << r1.body;
  EXPECT_EQ(r1.header("x-tollgate-provider"), "b");
  EXPECT_EQ(r1.header("x-tollgate-attempts"), "2");
  EXPECT_EQ(count(a), 1u);
  // a is now resting: the next requests go straight to b.
  for (int i = 0; i < 5; ++i) {
    auto r = gw.post("/v1/chat/completions", chat("m", "again"));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("x-tollgate-attempts"), "1");
  }
  EXPECT_EQ(count(a), 1u);
  EXPECT_EQ(count(b), 6u);
  auto metrics = gw.get("/metrics", "");
  EXPECT_NE(metrics.body.find(R"(tollgate_deployment_up{model="gpt-4o",provider="a"} 0)"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find(R"(tollgate_deployment_up{model="gpt-4o",provider="b"} 1)"),
            std::string::npos);
}

TEST(Routing, WhenEverythingRestsTheSoonestToRecoverIsStillTried) {
  Mock a;
  Gateway gw(head("  retries: 0\n  allowed_fails: 1\n  cooldown: 60s\n") + "providers:\n" +
             provider("a", a) + "models:\n  - name: m\n    targets: [a/gpt-4o]\n");
  a.add_fault({{"mode", "status"}, {"status", 500}, {"count", 1}});
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("m", "x")).status, 502);
  auto r = gw.post("/v1/chat/completions", chat("m", "x"));  // a rests, but is all there is
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(count(a), 2u);
}

TEST(Routing, RetriesHonourRetryAfterAndStopOnClientErrors) {
  Mock a;
  Gateway gw(head("  retries: 2\n  allowed_fails: 10\n") + "providers:\n" + provider("a", a) +
             "models:\n  - name: m\n    targets: [a/gpt-4o]\n");
  a.add_fault({{"mode", "status"}, {"status", 429}, {"retry_after_ms", 300}, {"count", 1}});
  auto t0 = std::chrono::steady_clock::now();
  auto r = gw.post("/v1/chat/completions", chat("m", "rate limited once"));
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tollgate-attempts"), "2");
  EXPECT_GE(waited, std::chrono::milliseconds(290));  // the retry waited as the provider asked

  a.reset();
  a.add_fault({{"mode", "status"}, {"status", 400}, {"count", 1}});
  auto bad = gw.post("/v1/chat/completions", chat("m", "my own mistake"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json_body()["error"]["provider"], "a");
  EXPECT_EQ(count(a), 1u);  // never retried
}

TEST(Routing, RefusedProviderKeyMovesToTheNextKey) {
  Mock a({"--api-key", "good-key"});
  Gateway gw(head("  retries: 0\n") +
             "providers:\n  a:\n    type: openai-compatible\n    base_url: " + a.base_url() +
             "\n    api_keys:\n      - {key: bad-key, weight: 100}\n      - {key: good-key, weight: 1}\n"
             "models:\n  - name: m\n    targets: [a/gpt-4o]\n");
  for (int i = 0; i < 6; ++i) {
    auto r = gw.post("/v1/chat/completions", chat("m", "which key?"));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  int bad = 0;
  for (const auto& req : a.requests()) {
    if (req["headers"]["authorization"] == "Bearer bad-key") ++bad;
  }
  EXPECT_LE(bad, 1);  // after its 401, the bad key rests and is not tried again
  // With only a bad key, the client gets a 502 naming the refusal, not a 401 of its own.
  Mock b({"--api-key", "good-key"});
  Gateway gw2(head() + "providers:\n" + provider("b", b) +
              "models:\n  - name: m\n    targets: [b/gpt-4o]\n");
  auto r = gw2.post("/v1/chat/completions", chat("m", "x"));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("401"), std::string::npos);
}

TEST(Routing, ContextWindowErrorGoesToTheContextFallback) {
  Mock a;
  Gateway gw(head() + "providers:\n" + provider("a", a) +
             "models:\n  - name: m\n    targets: [a/small]\n"
             "    context_window_fallbacks: [a/big]\n");
  a.add_fault({{"mode", "status"},
               {"status", 400},
               {"code", "context_length_exceeded"},
               {"message", "This model's maximum context length is 8192 tokens."},
               {"match_model", "small"}});
  auto r = gw.post("/v1/chat/completions", chat("m", "a very long prompt"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tollgate-model"), "big");
  EXPECT_EQ(r.header("x-tollgate-attempts"), "2");
}

TEST(Routing, StreamFailureAfterTheFirstEventIsNotFailedOver) {
  Mock a, b;
  Gateway gw(head() + "providers:\n" + provider("a", a) + provider("b", b) +
             "models:\n  - name: m\n    targets: [a/gpt-4o, b/gpt-4o]\n");
  a.add_fault({{"mode", "drop_mid_stream"}, {"after_events", 2}});
  auto r = gw.post("/v1/chat/completions", chat("m", "one two three four five", true));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-tollgate-provider"), "a");
  auto data = sse_data(r.body);
  ASSERT_FALSE(data.empty());
  EXPECT_TRUE(json::parse(data.back()).contains("error"));
  EXPECT_EQ(count(b), 0u);  // committed to a: no second answer spliced in
}

TEST(Routing, FirstTokenTimeoutMovesToTheNextTarget) {
  Mock a, b;
  Gateway gw(head("  retries: 0\n  timeouts: {connect: 1s, first_token: 300ms, idle: 2s, total: 10s}\n") +
             "providers:\n" + provider("a", a) + provider("b", b) +
             "models:\n  - name: m\n    targets: [a/gpt-4o, b/gpt-4o]\n");
  a.add_fault({{"mode", "stall"}, {"after_events", 0}});
  auto r = gw.post("/v1/chat/completions", chat("m", "hurry", true));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tollgate-provider"), "b");
  EXPECT_EQ(sse_data(r.body).back(), "[DONE]");
}

TEST(Routing, WeightedStrategySpreadsTraffic) {
  Mock a, b;
  Gateway gw(head() + "providers:\n" + provider("a", a) + provider("b", b) +
             "models:\n  - name: m\n    strategy: weighted\n"
             "    targets:\n      - {target: a/gpt-4o, weight: 3}\n      - {target: b/gpt-4o, weight: 1}\n");
  const int n = 400;
  for (int i = 0; i < n; ++i) ASSERT_EQ(gw.post("/v1/chat/completions", chat("m", "w")).status, 200);
  double share_a = static_cast<double>(count(a)) / n;
  EXPECT_NEAR(share_a, 0.75, 0.1);  // 4.6 standard deviations
  EXPECT_EQ(count(a) + count(b), static_cast<size_t>(n));
}

TEST(Routing, ThousandRequestsUnderRandomFailuresAllEndCorrectly) {
  Mock a, b, c;
  // (Stalls are left out: a stalled non-streamed answer waits for the total timeout; the
  // first-token timeout test covers stalled streams.)
  Gateway gw(head("  retries: 1\n  allowed_fails: 1000\n"
                  "  timeouts: {connect: 1s, first_token: 500ms, idle: 1s, total: 8s}\n") +
             "providers:\n" + provider("a", a) + provider("b", b) + provider("c", c) +
             "models:\n  - name: m\n    targets: [a/gpt-4o, b/gpt-4o]\n    fallbacks: [c/gpt-4o]\n");
  std::mt19937 rng(12345);
  const std::vector<json> modes = {
      {{"mode", "status"}, {"status", 500}},      {{"mode", "status"}, {"status", 429}, {"retry_after_ms", 1}},
      {{"mode", "status"}, {"status", 503}},      {{"mode", "drop"}},
      {{"mode", "drop_mid_stream"}, {"after_events", 0}},
      {{"mode", "malformed"}},                    {{"mode", "drop_mid_stream"}, {"after_events", 3}},
      {{"mode", "error_mid_stream"}, {"after_events", 2}}, {{"mode", "delay"}, {"delay_ms", 20}}};
  for (Mock* m : {&a, &b}) {
    json faults = json::array();
    for (int i = 0; i < 300; ++i) faults.push_back(modes[rng() % modes.size()]);
    m->add_fault(faults);
  }
  std::atomic<int> ok{0}, stream_error_events{0}, error_bodies{0}, wrong{0};
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < 1000; i = next++) {
        bool stream = i % 2 == 0;
        auto r = gw.post("/v1/chat/completions", chat("m", "request " + std::to_string(i), stream));
        std::string expected = "mock: request " + std::to_string(i);
        if (r.status == 200 && !stream &&
            r.json_body()["choices"][0]["message"]["content"] == expected) {
          ++ok;
        } else if (r.status == 200 && stream) {
          auto data = sse_data(r.body);
          if (!data.empty() && data.back() == "[DONE]") {
            ++ok;
          } else if (!data.empty() && json::parse(data.back(), nullptr, false).contains("error")) {
            ++stream_error_events;  // failed after its commit point: said so explicitly
          } else {
            ++wrong;
          }
        } else if (r.status >= 400 && r.json_body().contains("error")) {
          ++error_bodies;
        } else {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(ok + stream_error_events + error_bodies, 1000);
  EXPECT_GT(ok.load(), 900);  // the healthy fallback catches what fails before a commit
  EXPECT_EQ(gw.get("/health").status, 200);
}

// Many requests at once failing over from a target that refuses connections. Each failed
// connect drops the worker's DNS entry for that host while other requests are resolving it: the
// connect path must not hold a reference into that cache across its await (it did, and the
// gateway crashed under this load in the failover benchmark).
TEST(Routing, ConcurrentFailoversFromARefusedTargetAllSucceed) {
  Mock b;
  Gateway gw(head("  retries: 0\n  allowed_fails: 1000\n  cooldown: 1ms\n") + "providers:\n" +
             "  dead:\n    type: openai-compatible\n    base_url: http://localhost:" +
             std::to_string(free_port()) + "/v1\n    api_key: k\n" + provider("b", b) +
             "models:\n  - name: m\n    targets: [dead/gpt-4o, b/gpt-4o]\n");
  std::atomic<int> ok{0}, next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < 1600; i = next++) {
        auto r = gw.post("/v1/chat/completions", chat("m", "hi", i % 2 == 0));
        if (r.status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1600);
  EXPECT_EQ(gw.get("/health").status, 200);
}

}  // namespace
}  // namespace tg::it
