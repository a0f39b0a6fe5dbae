#include <map>

#include <gtest/gtest.h>

#include "tollgate/config/config.hpp"
#include "tollgate/routing/health.hpp"
#include "tollgate/routing/router.hpp"

namespace tg::routing {
namespace {

using namespace std::chrono_literals;

config::Config two_provider_config() {
  config::Config c;
  config::ModelConfig m;
  m.name = "chain";
  m.targets = {{"a", "m1", 1}, {"b", "m2", 1}};
  m.fallbacks = {{"c", "m3", 1}};
  m.context_window_fallbacks = {{"b", "big", 1}};
  c.models.push_back(m);
  config::ModelConfig w;
  w.name = "spread";
  w.strategy = "weighted";
  w.targets = {{"a", "x", 3}, {"b", "x", 1}};
  c.models.push_back(w);
  return c;
}

const std::vector<std::string> kProviders = {"a", "b", "c"};

HealthView healthy(const Candidate&) { return {}; }

TEST(Router, PlansModelEntriesAndProviderSlashModel) {
  Router r(two_provider_config(), kProviders);
  auto plan = r.plan("chain");
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->targets.size(), 2u);
  EXPECT_EQ(plan->targets[0].provider, 0u);
  EXPECT_EQ(plan->fallbacks[0].model, "m3");
  EXPECT_EQ(plan->context_fallbacks[0].model, "big");
  auto direct = r.plan("b/org/model-with/slashes");
  ASSERT_TRUE(direct);
  EXPECT_EQ(direct->targets[0].provider, 1u);
  EXPECT_EQ(direct->targets[0].model, "org/model-with/slashes");
  EXPECT_FALSE(r.plan("zzz/model"));
  EXPECT_FALSE(r.plan("nomodel"));
  EXPECT_FALSE(r.plan("a/"));
}

TEST(Router, SkippedProvidersDropTheirTargets) {
  Router r(two_provider_config(), {"b"});  // a and c were skipped at load
  auto plan = r.plan("chain");
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->targets.size(), 1u);
  EXPECT_EQ(plan->targets[0].model, "m2");
  EXPECT_TRUE(plan->fallbacks.empty());
}

TEST(OrderAttempts, FailoverKeepsOrderThenFallbacks) {
  Router r(two_provider_config(), kProviders);
  auto order = order_attempts(*r.plan("chain"), healthy, 42);
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0].model, "m1");
  EXPECT_EQ(order[1].model, "m2");
  EXPECT_EQ(order[2].model, "m3");
  EXPECT_TRUE(order[2].fallback);
}

TEST(OrderAttempts, CoolingTargetsGoLastSoonestRecoveryFirst) {
  Router r(two_provider_config(), kProviders);
  auto now = SteadyClock::now();
  auto health = [&](const Candidate& c) {
    HealthView v;
    if (c.model == "m1") v = {true, now + 10s, -1, 0};
    if (c.model == "m2") v = {true, now + 5s, -1, 0};
    return v;
  };
  auto order = order_attempts(*r.plan("chain"), health, 1);
  // Both targets rest: m2 recovers first; the fallback is still after the targets.
  EXPECT_EQ(order[0].model, "m2");
  EXPECT_EQ(order[1].model, "m1");
  EXPECT_EQ(order[2].model, "m3");
}

TEST(OrderAttempts, WeightedSpreadsByWeightWithinStatisticalBounds) {
  Router r(two_provider_config(), kProviders);
  auto plan = *r.plan("spread");
  int first_a = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    auto order = order_attempts(plan, healthy, 0x1234567ull * (i + 1));
    ASSERT_EQ(order.size(), 2u);
    if (order[0].provider == 0) ++first_a;
  }
  // Expected 3/4 = 15000; 5 standard deviations is about ±306.
  EXPECT_NEAR(first_a, 15000, 310);
}

TEST(OrderAttempts, LeastBusyAndLeastLatency) {
  RoutePlan plan;
  plan.targets = {{0, "slow", 1, false}, {1, "fast", 1, false}, {2, "new", 1, false}};
  auto views = [](const Candidate& c) {
    HealthView v;
    if (c.model == "slow") v = {false, {}, 900, 5};
    if (c.model == "fast") v = {false, {}, 100, 1};
    if (c.model == "new") v = {false, {}, -1, 3};
    return v;
  };
  plan.strategy = Strategy::LeastBusy;
  auto busy = order_attempts(plan, views, 7);
  EXPECT_EQ(busy[0].model, "fast");
  EXPECT_EQ(busy[1].model, "new");
  EXPECT_EQ(busy[2].model, "slow");
  plan.strategy = Strategy::LeastLatency;
  int explored = 0;
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    auto lat = order_attempts(plan, views, seed * 0x9e3779b97f4a7c15ull);
    if (lat[0].model == "new" && lat[1].model == "fast" && lat[2].model == "slow") continue;
    ++explored;  // a random order now and then, so slow ones get measured again
  }
  EXPECT_GT(explored, 20);
  EXPECT_LT(explored, 250);
}

TEST(OrderKeys, WeightedAndCoolingKeysLast) {
  auto now = SteadyClock::now();
  std::vector<HealthView> views(3);
  views[0] = {true, now + 30s, -1, 0};
  int first1 = 0;
  for (uint64_t seed = 1; seed <= 4000; ++seed) {
    auto order = order_keys({5, 1, 1}, views, seed * 0x9e3779b97f4a7c15ull);
    ASSERT_EQ(order.size(), 3u);
    EXPECT_EQ(order[2], 0u);  // the cooling key is always last
    if (order[0] == 1) ++first1;
  }
  EXPECT_NEAR(first1, 2000, 200);
}

class FakeClock {
 public:
  SteadyClock::time_point now() const { return t_; }
  void advance(std::chrono::milliseconds d) { t_ += d; }

 private:
  SteadyClock::time_point t_ = SteadyClock::time_point(1h);
};

TEST(HealthTable, CooldownEntryAndExitWithAnInjectableClock) {
  FakeClock clock;
  HealthTable table([&] { return clock.now(); });
  HealthPolicy policy{3, 30s, 60s};
  const std::string id = deployment_id("openai", "k1", "gpt-4o");
  for (int i = 0; i < 2; ++i) {
    table.on_start(id);
    table.on_failure(id, policy);
  }
  EXPECT_FALSE(table.view(id).cooling);  // two failures: still allowed
  table.on_start(id);
  table.on_failure(id, policy);
  EXPECT_TRUE(table.view(id).cooling);  // the third in a row: rests
  clock.advance(29s);
  EXPECT_TRUE(table.view(id).cooling);
  clock.advance(2s);
  EXPECT_FALSE(table.view(id).cooling);  // rested: back in rotation
  EXPECT_EQ(table.view(id).in_flight, 0);
}

TEST(HealthTable, SuccessResetsFailuresAndRetryAfterCoolsAtOnceCapped) {
  FakeClock clock;
  HealthTable table([&] { return clock.now(); });
  HealthPolicy policy{3, 30s, 60s};
  const std::string id = deployment_id("p", "k", "m");
  table.on_start(id);
  table.on_failure(id, policy);
  table.on_start(id);
  table.on_failure(id, policy);
  table.on_start(id);
  table.on_success(id, 120);
  table.on_start(id);
  table.on_failure(id, policy);
  EXPECT_FALSE(table.view(id).cooling);  // the success reset the count
  EXPECT_DOUBLE_EQ(table.view(id).latency_ms, 120);
  table.on_start(id);
  table.on_failure(id, policy, 3600s);  // a 429 asking for an hour
  auto v = table.view(id);
  EXPECT_TRUE(v.cooling);
  EXPECT_EQ(v.cool_until - clock.now(), 60s);  // capped at retry_after_cap
  auto rows = table.rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].up);
}

// The error rate of a deployment counts its attempts, the ones a failover answered for too, over
// the last five minutes; older minutes drop out.
TEST(HealthTable, RecentAttemptsAndFailuresCoverTheLastFiveMinutes) {
  FakeClock clock;
  HealthTable table([&] { return clock.now(); });
  HealthPolicy policy{100, 30s, 60s};
  const std::string id = deployment_id("p", "k", "m");
  EXPECT_EQ(table.recent(id).attempts, 0);
  table.on_start(id);
  table.on_failure(id, policy);
  table.on_start(id);
  table.on_success(id, 10);
  table.on_start(id);
  table.on_neutral(id);  // a client's own mistake: an attempt, not the deployment's failure
  auto v = table.recent(id);
  EXPECT_EQ(v.attempts, 3);
  EXPECT_EQ(v.failures, 1);
  clock.advance(3min);
  table.on_start(id);
  table.on_failure(id, policy);
  v = table.recent(id);
  EXPECT_EQ(v.attempts, 4);
  EXPECT_EQ(v.failures, 2);
  clock.advance(150s);  // the first minute is now more than five minutes old
  v = table.recent(id);
  EXPECT_EQ(v.attempts, 1);
  EXPECT_EQ(v.failures, 1);
  clock.advance(5min);  // the same ring slots come round again: nothing stale is counted
  EXPECT_EQ(table.recent(id).attempts, 0);
  table.on_start(id);
  table.on_success(id, 10);
  v = table.recent(id);
  EXPECT_EQ(v.attempts, 1);
  EXPECT_EQ(v.failures, 0);
}

TEST(HealthTable, LatencyIsAMovingAverage) {
  HealthTable table;
  const std::string id = deployment_id("p", "k", "m");
  table.on_start(id);
  table.on_success(id, 100);
  table.on_start(id);
  table.on_success(id, 200);
  EXPECT_DOUBLE_EQ(table.view(id).latency_ms, 120);  // 100 + 0.2 * (200 - 100)
}

}  // namespace
}  // namespace tg::routing
