// GET /admin/stats' pure part: planning the buckets, the series and percentiles from rollups.

#include <gtest/gtest.h>

#include "tollgate/admin/stats.hpp"

namespace tg::admin {
namespace {

using json = nlohmann::json;
constexpr int64_t kDay = 86'400'000;
const int64_t t0 = 1'795'000'000'000 - 1'795'000'000'000 % kDay;  // a UTC midnight

store::StatsQuery planned(std::optional<int64_t> from, std::optional<int64_t> to,
                          std::optional<int64_t> step, std::string group = "", int64_t now = t0) {
  auto p = plan_stats(from, to, step, std::move(group), now);
  EXPECT_TRUE(std::holds_alternative<store::StatsQuery>(p)) << std::get<std::string>(p);
  return std::get<store::StatsQuery>(p);
}

TEST(StatsPlan, AlignsToWholeUtcStepsAndPicksAStep) {
  auto q = planned(t0 + 90'000, t0 + 3'600'000 + 1, 60);
  EXPECT_EQ(q.from_ms, t0 + 60'000);
  EXPECT_EQ(q.to_ms, t0 + 3'660'000) << "the bucket holding to-1 ms, whole";
  EXPECT_EQ(q.step_s, 60);
  EXPECT_EQ(q.group_by, "none");
  q = planned(t0 + 5, t0 + 2 * kDay, 86400, "model");
  EXPECT_EQ(q.from_ms, t0);
  EXPECT_EQ(q.to_ms, t0 + 2 * kDay);
  EXPECT_EQ(q.group_by, "model");
  // No step: the finest under ~200 buckets. No range: the last day.
  EXPECT_EQ(planned(t0 - 3'600'000, t0, std::nullopt).step_s, 60);
  EXPECT_EQ(planned(t0 - 7 * kDay, t0, std::nullopt).step_s, 3600);
  EXPECT_EQ(planned(t0 - 365 * kDay, t0, std::nullopt).step_s, 86400);
  q = planned(std::nullopt, std::nullopt, 3600, "", t0 + 1);
  EXPECT_EQ(q.to_ms, t0 + 3'600'000);
  EXPECT_EQ(q.from_ms, t0 - kDay);
}

TEST(StatsPlan, RefusesBadValues) {
  auto err = [](auto p) { return std::holds_alternative<std::string>(p); };
  EXPECT_TRUE(err(plan_stats(t0, t0 + 1000, 61, "", t0)));
  EXPECT_TRUE(err(plan_stats(t0, t0 + 1000, 0, "", t0)));
  EXPECT_TRUE(err(plan_stats(t0, t0 + 1000, 60, "colour", t0)));
  EXPECT_TRUE(err(plan_stats(t0, t0, 60, "", t0))) << "empty range";
  EXPECT_TRUE(err(plan_stats(t0 + 1000, t0, 60, "", t0)));
  EXPECT_TRUE(err(plan_stats(-5, t0, 86400, "", t0)));
  EXPECT_TRUE(err(plan_stats(t0 - 30 * kDay, t0, 60, "", t0))) << "43200 buckets";
  EXPECT_FALSE(err(plan_stats(t0 - 365 * kDay, t0, 86400, "", t0)));
  EXPECT_FALSE(err(plan_stats(t0 - 60 * kDay, t0, 3600, "", t0))) << "1440 buckets";
}

TEST(StatsBins, LogSpacedWithinNinePercent) {
  EXPECT_EQ(store::latency_bin(0), 0);
  EXPECT_EQ(store::latency_bin(0.99), 0);
  EXPECT_EQ(store::latency_bin(-1), 0);
  int last = 0;
  for (double ms = 1; ms < 3'600'000; ms *= 1.01) {
    int b = store::latency_bin(ms);
    EXPECT_GE(b, last);
    last = b;
    EXPECT_NEAR(store::latency_bin_ms(b) / ms, 1.0, 0.09) << ms;
  }
  EXPECT_LT(last, store::kLatencyBins);
  EXPECT_EQ(store::latency_bin(1e300), store::kLatencyBins - 1);
}

TEST(StatsQuantile, RankedOverBins) {
  Histogram h;
  EXPECT_FALSE(histogram_quantile(h, 0.5));
  h[store::latency_bin(100)] = 90;
  h[store::latency_bin(2000)] = 10;
  EXPECT_NEAR(*histogram_quantile(h, 0.5), 100, 9);
  EXPECT_NEAR(*histogram_quantile(h, 0.9), 100, 9) << "rank 90 is the last fast one";
  EXPECT_NEAR(*histogram_quantile(h, 0.95), 2000, 180);
  EXPECT_NEAR(*histogram_quantile(h, 0), 100, 9);
}

TEST(StatsBuild, SeriesAlignedWithBucketsNullsWhereNoLatency) {
  auto q = planned(t0, t0 + 3 * 3'600'000, 3600);
  const int b50 = store::latency_bin(50), b400 = store::latency_bin(400);
  json rows = {{"counts",
                {{"", t0, 3, 1, 30, 60, 1'500'000'000},
                 {"", t0 + 2 * 3'600'000, 1, 0, 10, 20, 7},
                 {"", t0 + 9 * 3'600'000, 100, 0, 0, 0, 0}}},  // outside: ignored
               {"latency", {{"", t0, 0, b50, 2}, {"", t0, 0, b400, 1}, {"", t0, 1, b50, 3}}}};
  json s = json::parse(build_stats(q, rows));
  EXPECT_EQ(s["from"], t0);
  EXPECT_EQ(s["to"], t0 + 3 * 3'600'000);
  EXPECT_EQ(s["step"], 3600);
  EXPECT_EQ(s["buckets"], json({t0, t0 + 3'600'000, t0 + 7'200'000}));
  ASSERT_EQ(s["series"].size(), 1u);
  const json& all = s["series"][0];
  EXPECT_EQ(all["group"], "all");
  EXPECT_FALSE(all.contains("name"));
  EXPECT_EQ(all["requests"], json({3, 0, 1}));
  EXPECT_EQ(all["errors"], json({1, 0, 0}));
  EXPECT_EQ(all["input_tokens"], json({30, 0, 10}));
  EXPECT_EQ(all["output_tokens"], json({60, 0, 20}));
  EXPECT_EQ(all["cost_nano_usd"], json({1'500'000'000, 0, 7}));
  EXPECT_NEAR(all["latency_p50_ms"][0].get<double>(), 50, 5);
  EXPECT_NEAR(all["latency_p95_ms"][0].get<double>(), 400, 36);
  EXPECT_TRUE(all["latency_p50_ms"][1].is_null());
  EXPECT_TRUE(all["latency_p50_ms"][2].is_null()) << "requests without a latency row";
  EXPECT_NEAR(all["ttft_p50_ms"][0].get<double>(), 50, 5);
  const json& t = s["totals"];
  EXPECT_EQ(t["requests"], 4);
  EXPECT_EQ(t["errors"], 1);
  EXPECT_EQ(t["cost_nano_usd"], 1'500'000'007) << "integer nano-USD, exact";
  EXPECT_NEAR(t["latency_p50_ms"].get<double>(), 50, 5);
  EXPECT_EQ(all["total"], t);
}

TEST(StatsBuild, GroupsByBusiestWithNamesAndTheRestAsOther) {
  auto q = planned(t0, t0 + 60'000, 60, "key");
  json counts = json::array();
  for (int i = 0; i < 25; ++i) {
    counts.push_back({"k" + std::to_string(i), t0, 100 - i, 0, 0, 0, 1});
  }
  counts.push_back({"", t0, 1, 1, 0, 0, 0});
  json s = json::parse(build_stats(q, {{"counts", counts}, {"latency", json::array()}},
                                   [](const std::string& id) { return id == "k0" ? "alice" : ""; }));
  ASSERT_EQ(s["series"].size(), kMaxStatsGroups + 1);
  EXPECT_EQ(s["series"][0]["group"], "k0");
  EXPECT_EQ(s["series"][0]["name"], "alice");
  EXPECT_EQ(s["series"][1]["name"], "k1") << "no name known: the id";
  const json& other = s["series"].back();
  EXPECT_EQ(other["group"], "(other)");
  // k20..k24 (80+79+78+77+76) and the request without a key.
  EXPECT_EQ(other["requests"][0], 80 + 79 + 78 + 77 + 76 + 1);
  EXPECT_EQ(s["totals"]["requests"], 25 * 100 - (24 * 25) / 2 + 1);
  EXPECT_EQ(s["totals"]["cost_nano_usd"], 25);
}

}  // namespace
}  // namespace tg::admin
