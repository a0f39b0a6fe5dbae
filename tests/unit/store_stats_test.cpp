// The store's additions for the web UI: minute/hour/day rollups with latency histograms
// (query_stats), one log row (get_log), log filters and keys' last use.

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <map>
#include <tuple>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tollgate/store/store.hpp"

namespace tg::store {
namespace {

using json = nlohmann::json;
constexpr int64_t kDay = 86'400'000;
const int64_t t0 = 1'795'000'000'000 - 1'795'000'000'000 % kDay;  // a UTC midnight

std::string temp_db() {
  auto dir = std::filesystem::temp_directory_path() /
             ("tollgate-stats-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  return (dir / "tollgate.db").string();
}

template <class Fn>
json wait_for(Fn start) {
  std::mutex m;
  std::condition_variable cv;
  json result;
  bool done = false;
  start([&](json r) {
    std::lock_guard lock(m);
    result = std::move(r);
    done = true;
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return done; });
  return result;
}

RequestRow row(int64_t ts, std::string key, std::string model, int status, double latency,
               double ttft = -1) {
  RequestRow r;
  r.ts_ms = ts;
  r.request_id = "req-" + std::to_string(ts);
  r.key_id = std::move(key);
  r.team = r.key_id == "k1" ? "family" : "";
  r.model = std::move(model);
  r.provider = r.model == "fast" ? "local" : "openai";
  r.upstream_model = r.model == "fast" ? "llama3" : "gpt-4o";
  r.status = status;
  r.latency_ms = latency;
  r.ttft_ms = ttft;
  r.input_tokens = 10;
  r.output_tokens = 5;
  r.cost_nano = 1000;
  return r;
}

json stats(Store& s, int64_t from, int64_t to, int64_t step, std::string group) {
  return wait_for([&](auto cb) { s.query_stats(StatsQuery{from, to, step, group}, cb); });
}

// counts rows -> {group: requests} for one bucket.
std::map<std::string, int64_t> requests_at(const json& rows, int64_t t) {
  std::map<std::string, int64_t> out;
  for (const auto& r : rows["counts"]) {
    if (r[1] == t) out[r[0].get<std::string>()] += r[2].get<int64_t>();
  }
  return out;
}

TEST(StoreStats, RollupsByMinuteHourAndDayWithLatencyHistograms) {
  auto s = open_sqlite_store(temp_db(), {}, nullptr);
  ASSERT_TRUE(s);
  s->record(row(t0 + 1'000, "k1", "gpt-4o", 200, 100, 40), {});
  s->record(row(t0 + 59'000, "k1", "gpt-4o", 500, 2000), {});
  s->record(row(t0 + 61'000, "k2", "fast", 200, 100, 40), {});
  s->record(row(t0 + 3'600'000 + 5, "k2", "fast", 200, 100), {});
  s->record(row(t0 + kDay + 5, "k1", "gpt-4o", 200, 100), {});
  s->flush();

  auto m = stats(*s, t0, t0 + 120'000, 60, "none");
  EXPECT_EQ(requests_at(m, t0), (std::map<std::string, int64_t>{{"", 2}}));
  EXPECT_EQ(requests_at(m, t0 + 60'000), (std::map<std::string, int64_t>{{"", 1}}));
  int64_t errors = 0, cost = 0;
  for (const auto& r : m["counts"]) {
    errors += r[3].get<int64_t>();
    cost += r[6].get<int64_t>();
  }
  EXPECT_EQ(errors, 1);
  EXPECT_EQ(cost, 3000);
  // Latency: bins 100 ms (x2) and 2000 ms in the first minute; ttft only where measured.
  std::map<std::tuple<int64_t, int64_t, int64_t>, int64_t> bins;
  for (const auto& r : m["latency"]) bins[{r[1], r[2], r[3]}] += r[4].get<int64_t>();
  EXPECT_EQ((bins[{t0, 0, latency_bin(100)}]), 1);
  EXPECT_EQ((bins[{t0, 0, latency_bin(2000)}]), 1);
  EXPECT_EQ((bins[{t0, 1, latency_bin(40)}]), 1);
  EXPECT_EQ((bins[{t0 + 60'000, 0, latency_bin(100)}]), 1);

  auto h = stats(*s, t0, t0 + 2 * 3'600'000, 3600, "model");
  EXPECT_EQ(requests_at(h, t0), (std::map<std::string, int64_t>{{"gpt-4o", 2}, {"fast", 1}}));
  EXPECT_EQ(requests_at(h, t0 + 3'600'000), (std::map<std::string, int64_t>{{"fast", 1}}));
  auto d = stats(*s, t0, t0 + 2 * kDay, 86400, "deployment");
  EXPECT_EQ(requests_at(d, t0),
            (std::map<std::string, int64_t>{{"openai/gpt-4o", 2}, {"local/llama3", 2}}));
  EXPECT_EQ(requests_at(d, t0 + kDay), (std::map<std::string, int64_t>{{"openai/gpt-4o", 1}}));
  auto k = stats(*s, t0, t0 + 2 * kDay, 86400, "team");
  EXPECT_EQ(requests_at(k, t0), (std::map<std::string, int64_t>{{"family", 2}, {"", 2}}));
  // Days summed from hour rows give the same as the day rollup.
  auto hd = stats(*s, t0, t0 + 2 * kDay, 3600, "key");
  int64_t total = 0;
  for (const auto& r : hd["counts"]) total += r[2].get<int64_t>();
  EXPECT_EQ(total, 5);
}

TEST(StoreStats, UpgradeFillsRollupsFromTheLogAndMinuteRowsExpire) {
  std::string path = temp_db();
  std::atomic<int64_t> now{t0 + 20 * kDay};
  StoreOptions opts;
  opts.now_ms = [&] { return now.load(); };
  opts.retention_days = 0;
  {
    auto s = open_sqlite_store(path, opts, nullptr);
    ASSERT_TRUE(s);
    s->record(row(t0 + 1'000, "k1", "gpt-4o", 200, 100), {});
    s->record(row(t0 + 15 * kDay, "k1", "gpt-4o", 429, 100), {});
    s->flush();
  }
  {  // As a database from before migration 6.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DROP TABLE usage_buckets; DROP TABLE usage_latency; "
                               "ALTER TABLE requests DROP COLUMN attempt_log; "
                               "PRAGMA user_version=5;", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = open_sqlite_store(path, opts, nullptr);
  ASSERT_TRUE(s);
  s->flush();  // the writer thread's retention pass at open runs before this job (reads race it)
  auto d = stats(*s, t0, t0 + 16 * kDay, 86400, "none");
  EXPECT_EQ(requests_at(d, t0)[""], 1);
  EXPECT_EQ(requests_at(d, t0 + 15 * kDay)[""], 1);
  EXPECT_EQ(d["latency"].size(), 0u) << "histograms start with the upgrade";
  // The retention pass at open dropped minute rows older than 8 days, even with retention 0.
  EXPECT_EQ(stats(*s, t0, t0 + 60'000, 60, "none")["counts"].size(), 0u);
  EXPECT_EQ(stats(*s, t0 + 15 * kDay, t0 + 15 * kDay + 60'000, 60, "none")["counts"].size(), 1u);
  EXPECT_EQ(stats(*s, t0, t0 + 3'600'000, 3600, "none")["counts"].size(), 1u) << "hours are kept";
}

TEST(StoreStats, OneLogRowFiltersAndLastUse) {
  auto s = open_sqlite_store(temp_db(), {}, nullptr);
  ASSERT_TRUE(s);
  auto r = row(t0 + 10, "k1", "gpt-4o", 200, 12.5, 3);
  r.attempts = 2;
  r.error_code = "";
  r.request_body = "{\"model\":\"gpt-4o\"}";
  s->record(r, {});
  s->record(row(t0 + 20, "k2", "fast", 502, 7), {});
  s->record(row(t0 + 30, "k1", "fast", 200, 7), {});
  s->flush();
  auto logs = wait_for([&](auto cb) { s->query_logs(LogQuery{}, cb); });
  ASSERT_EQ(logs.size(), 3u);
  const int64_t first_id = logs[2]["id"];
  auto one = wait_for([&](auto cb) { s->get_log(first_id, cb); });
  EXPECT_EQ(one["request_id"], "req-" + std::to_string(t0 + 10));
  EXPECT_EQ(one["attempts"], 2);
  EXPECT_EQ(one["ttft_ms"], 3.0);
  EXPECT_EQ(one["team"], "family");
  EXPECT_EQ(one["request_body"], "{\"model\":\"gpt-4o\"}");
  EXPECT_EQ(one["cost_nano_usd"], 1000);
  EXPECT_TRUE(wait_for([&](auto cb) { s->get_log(first_id + 100, cb); }).is_null());

  LogQuery q;
  q.team = "family";
  EXPECT_EQ(wait_for([&](auto cb) { s->query_logs(q, cb); }).size(), 2u);
  q = LogQuery{};
  q.provider = "local";
  auto local = wait_for([&](auto cb) { s->query_logs(q, cb); });
  ASSERT_EQ(local.size(), 2u);
  EXPECT_EQ(local[0]["model"], "fast");
  q.status = 502;
  EXPECT_EQ(wait_for([&](auto cb) { s->query_logs(q, cb); }).size(), 1u);

  auto used = wait_for([&](auto cb) { s->keys_last_used({"k1", "k2", "k3"}, cb); });
  EXPECT_EQ(used, json({{"k1", t0 + 30}, {"k2", t0 + 20}}));
}

// A year of traffic: 12 groups every hour. Queries read the rollups, never the log.
TEST(StoreStats, AYearOfRollupsIsQuickToQuery) {
  std::string path = temp_db();
  { auto s = open_sqlite_store(path, {}, nullptr); }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const std::string fill = fmt::format(R"sql(
      BEGIN;
      WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM h WHERE i < 365 * 24 - 1),
                     g(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM g WHERE j < 11)
      INSERT INTO usage_buckets SELECT 3600, {0} + i * 3600000, 'key' || (j % 6), '',
        'model' || (j / 6), 'p', 'm', 10, 1, 100, 50, 1000 FROM h, g;
      INSERT INTO usage_latency SELECT res, t_ms, key_id, team, model, provider, upstream_model,
        0, 60 + (t_ms / 3600000) % 3, 10 FROM usage_buckets;
      INSERT INTO usage_buckets SELECT 86400, (t_ms / 86400000) * 86400000, key_id, team, model,
        provider, upstream_model, SUM(requests), SUM(errors), SUM(input_tokens),
        SUM(output_tokens), SUM(cost_nano) FROM usage_buckets WHERE res = 3600
        GROUP BY 2, 3, 4, 5, 6, 7;
      INSERT INTO usage_latency SELECT 86400, (t_ms / 86400000) * 86400000, key_id, team, model,
        provider, upstream_model, kind, bin, SUM(n) FROM usage_latency WHERE res = 3600
        GROUP BY 2, 3, 4, 5, 6, 7, 8, 9;
      COMMIT;)sql", t0 - 365 * kDay);
    ASSERT_EQ(sqlite3_exec(db, fill.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto s = open_sqlite_store(path, {}, nullptr);
  ASSERT_TRUE(s);
  auto start = std::chrono::steady_clock::now();
  auto year = stats(*s, t0 - 365 * kDay, t0, 86400, "model");
  auto year_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  start = std::chrono::steady_clock::now();
  auto month = stats(*s, t0 - 30 * kDay, t0, 3600, "key");
  auto month_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  int64_t total = 0;
  for (const auto& r : year["counts"]) total += r[2].get<int64_t>();
  EXPECT_EQ(total, 365LL * 24 * 12 * 10);
  EXPECT_EQ(year["counts"].size(), 365u * 2);
  EXPECT_EQ(month["counts"].size(), 30u * 24 * 6);
  std::printf("a year by day and model: %.1f ms; 30 days by hour and key: %.1f ms\n", year_ms,
              month_ms);
  // Generous bounds for a loaded CI machine; typically tens of ms.
  EXPECT_LT(year_ms, 2000);
  EXPECT_LT(month_ms, 2000);
}

}  // namespace
}  // namespace tg::store
