#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "../support/eventually.hpp"
#include "tollgate/store/store.hpp"

namespace tg::store {
namespace {

std::string temp_db() {
  auto dir = std::filesystem::temp_directory_path() /
             ("tollgate-store-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  return (dir / "nested" / "tollgate.db").string();  // the directory is created by the store
}

template <class Fn>
nlohmann::json wait_for(Fn start) {
  std::mutex m;
  std::condition_variable cv;
  nlohmann::json result;
  bool done = false;
  start([&](nlohmann::json r) {
    std::lock_guard lock(m);
    result = std::move(r);
    done = true;
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return done; });
  return result;
}

RequestRow row(int64_t ts_ms, std::string key, std::string model, int status,
               std::optional<int64_t> cost) {
  RequestRow r;
  r.ts_ms = ts_ms;
  r.request_id = "req-" + std::to_string(ts_ms);
  r.key_id = std::move(key);
  r.model = std::move(model);
  r.provider = "openai";
  r.status = status;
  r.input_tokens = 10;
  r.output_tokens = 5;
  r.cost_nano = cost;
  return r;
}

TEST(Store, RecordsAreQueryableAndSurviveARestart) {
  std::string path = temp_db();
  const int64_t t0 = 1'795'000'000'000;  // 2026-11-18
  {
    std::string err;
    auto s = open_sqlite_store(path, {}, &err);
    ASSERT_TRUE(s) << err;
    s->record(row(t0, "key_a", "gpt-4o", 200, 1500), {{"key:key_a", 1'794'960'000, 1500}});
    s->record(row(t0 + 1, "key_a", "gpt-4o", 200, 2500), {{"key:key_a", 1'794'960'000, 2500}});
    s->record(row(t0 + 2, "key_b", "claude", 502, std::nullopt), {});
    // A refused request used no tokens: an error, but not a cost that is unknown.
    RequestRow refused = row(t0 + 3, "key_b", "claude", 404, std::nullopt);
    refused.input_tokens = refused.output_tokens = 0;
    s->record(refused, {});
    s->flush();
    auto logs = wait_for([&](auto cb) { s->query_logs(LogQuery{}, cb); });
    ASSERT_EQ(logs.size(), 4u);
    EXPECT_EQ(logs[0]["key_id"], "key_b");  // newest first
    EXPECT_TRUE(logs[0]["cost_usd"].is_null());  // unknown cost stays unknown
    LogQuery by_key;
    by_key.key_id = "key_a";
    EXPECT_EQ(wait_for([&](auto cb) { s->query_logs(by_key, cb); }).size(), 2u);
    auto spend = wait_for([&](auto cb) { s->query_spend(SpendQuery{"key"}, cb); });
    ASSERT_EQ(spend.size(), 2u);
    EXPECT_EQ(spend[0]["key"], "key_a");
    EXPECT_DOUBLE_EQ(spend[0]["spend_usd"].get<double>(), 0.000004);  // nUSD: 1500 + 2500
    EXPECT_EQ(spend[0]["spend_nano_usd"], 4000);
    EXPECT_EQ(spend[0]["requests"], 2);
    EXPECT_EQ(spend[1]["unknown_cost_requests"], 1);
    EXPECT_EQ(spend[1]["errors"], 2);
  }
  std::string err;
  auto s = open_sqlite_store(path, {}, &err);
  ASSERT_TRUE(s) << err;
  auto st = s->load();
  ASSERT_EQ(st.spend.size(), 1u);
  EXPECT_EQ(st.spend[0].holder, "key:key_a");
  EXPECT_EQ(st.spend[0].nano_usd, 4000);
  ASSERT_EQ(st.spend_total.size(), 1u);
  EXPECT_EQ(st.spend_total[0].second, 4000);
  EXPECT_EQ(wait_for([&](auto cb) { s->query_logs(LogQuery{}, cb); }).size(), 4u);
}

// A batch is summed per day group and per budget holder before it is written: rows over two UTC
// days, two keys and a team, in one batch and then another, add up exactly.
TEST(Store, ABatchSummedPerDayAndHolderAddsUpExactly) {
  const int64_t day1 = 1'795'000'000'000, day2 = day1 + 86'400'000;
  std::string err;
  auto s = open_sqlite_store(temp_db(), {}, &err);
  ASSERT_TRUE(s) << err;
  s->record(row(day1, "key_a", "gpt-4o", 200, 100), {{"key:key_a", 1, 100}, {"team:t", 0, 100}});
  s->record(row(day1 + 1, "key_a", "gpt-4o", 500, 7), {{"key:key_a", 1, 7}, {"team:t", 0, 7}});
  s->record(row(day2, "key_a", "gpt-4o", 200, 200), {{"key:key_a", 2, 200}, {"team:t", 0, 200}});
  s->record(row(day1 + 2, "key_b", "gpt-4o", 200, std::nullopt), {});
  s->flush();
  s->record(row(day2 + 1, "key_a", "gpt-4o", 200, 50), {{"key:key_a", 2, 50}, {"team:t", 0, 50}});
  s->flush();
  auto spend = wait_for([&](auto cb) { s->query_spend(SpendQuery{"key"}, cb); });
  ASSERT_EQ(spend.size(), 2u) << spend.dump();
  EXPECT_EQ(spend[0]["key"], "key_a");
  EXPECT_EQ(spend[0]["spend_nano_usd"], 357);
  EXPECT_EQ(spend[0]["requests"], 4);
  EXPECT_EQ(spend[0]["errors"], 1);
  EXPECT_EQ(spend[0]["input_tokens"], 40);
  EXPECT_EQ(spend[1]["unknown_cost_requests"], 1);
  SpendQuery first_day{"key"};
  first_day.to_ms = day1 + 1000;
  auto one_day = wait_for([&](auto cb) { s->query_spend(first_day, cb); });
  ASSERT_EQ(one_day.size(), 2u) << one_day.dump();
  EXPECT_EQ(one_day[0]["spend_nano_usd"], 107);
  auto st = s->load();
  std::map<std::string, int64_t> totals(st.spend_total.begin(), st.spend_total.end());
  EXPECT_EQ(totals["key:key_a"], 357);
  EXPECT_EQ(totals["team:t"], 357);
}

TEST(Store, UsageReachesTheDiskWithinTheFlushIntervalWithoutFlush) {
  std::string path = temp_db();
  StoreOptions opts;
  opts.flush_interval = std::chrono::milliseconds(50);
  auto s = open_sqlite_store(path, opts, nullptr);
  ASSERT_TRUE(s);
  s->record(row(1000, "k", "m", 200, 1), {});
  // Read with an independent connection, as a crash-recovery would.
  EXPECT_TRUE(tg::test::eventually([&] {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    bool seen = false;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM requests", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      seen = sqlite3_column_int(st, 0) == 1;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return seen;
  }));
}

TEST(Store, RetentionDeletesOnlyOldRequestRowsAndKeepsRollups) {
  std::string path = temp_db();
  std::atomic<int64_t> now{100LL * 86'400'000};
  StoreOptions opts;
  opts.retention_days = 30;
  opts.now_ms = [&] { return now.load(); };
  auto s = open_sqlite_store(path, opts, nullptr);
  ASSERT_TRUE(s);
  for (int day : {50, 69, 71, 99}) s->record(row(int64_t(day) * 86'400'000, "k", "m", 200, 10), {});
  s->flush();
  EXPECT_EQ(s->enforce_retention(), 2);  // days 50 and 69 are older than 30 days
  auto logs = wait_for([&](auto cb) { s->query_logs(LogQuery{}, cb); });
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_EQ(logs[1]["ts_ms"], 71LL * 86'400'000);
  auto spend = wait_for([&](auto cb) { s->query_spend(SpendQuery{"day"}, cb); });
  EXPECT_EQ(spend.size(), 4u);  // the daily rollups are kept
  s->set_retention_days(0);
  EXPECT_EQ(s->enforce_retention(), 0);
}

// A gateway restarted more often than hourly must still enforce retention: the first pass runs
// at start, not an hour later.
TEST(Store, RetentionRunsAtStartOnRowsLeftByAnEarlierRun) {
  std::string path = temp_db();
  {
    StoreOptions keep;
    keep.retention_days = 0;  // keep forever
    auto s = open_sqlite_store(path, keep, nullptr);
    ASSERT_TRUE(s);
    for (int day : {10, 95}) s->record(row(int64_t(day) * 86'400'000, "k", "m", 200, 10), {});
    s->flush();
  }
  StoreOptions opts;
  opts.retention_days = 30;
  opts.flush_interval = std::chrono::milliseconds(20);
  opts.now_ms = [] { return 100LL * 86'400'000; };
  auto s = open_sqlite_store(path, opts, nullptr);
  ASSERT_TRUE(s);
  size_t left = 2;
  EXPECT_TRUE(tg::test::eventually([&] {
    left = wait_for([&](auto cb) { s->query_logs(LogQuery{}, cb); }).size();
    return left == 1;
  })) << left << " rows: the day-10 row outlived a 30-day retention after a restart";
}

TEST(Store, PerKeyLogPagesUseAnIndexOnKeyAndId) {
  std::string path = temp_db();
  { ASSERT_TRUE(open_sqlite_store(path, {}, nullptr)); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string plan;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "EXPLAIN QUERY PLAN SELECT id FROM requests WHERE key_id = 'k' "
                               "AND id < 100 ORDER BY id DESC LIMIT 10",
                               -1, &st, nullptr),
            SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
    plan += "\n";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_NE(plan.find("requests_key_id"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << "sorts instead of walking the index:\n"
                                                          << plan;
}

TEST(Store, AdminKeysAndTeamsPersistAndRevokedKeysAreNotLoaded) {
  std::string path = temp_db();
  {
    auto s = open_sqlite_store(path, {}, nullptr);
    std::atomic<int> ok{0};
    s->save_key({"key_1", "hash1", {{"name", "app"}}, false}, [&](bool o) { ok += o; });
    s->save_key({"key_2", "hash2", {{"name", "old"}}, false}, [&](bool o) { ok += o; });
    s->save_key({"key_2", "hash2", {{"name", "old"}}, true}, [&](bool o) { ok += o; });
    s->save_team({"team_1", {{"name", "family"}}}, [&](bool o) { ok += o; });
    s->flush();
    EXPECT_EQ(ok.load(), 4);
  }
  auto s = open_sqlite_store(path, {}, nullptr);
  auto st = s->load();
  ASSERT_EQ(st.keys.size(), 1u);
  EXPECT_EQ(st.keys[0].id, "key_1");
  EXPECT_EQ(st.keys[0].record["name"], "app");
  ASSERT_EQ(st.teams.size(), 1u);
}

// A database written by a tollgate whose money was micro-USD (schema version 2): it opens, and
// every figure is converted to nano-USD (x1000), nothing lost.
// clang-format off
const char* const kOldSchema[] = {
    // 1: the request log, daily rollups, spend, admin-created keys and teams.
    R"sql(
    CREATE TABLE requests (
      id INTEGER PRIMARY KEY,
      ts_ms INTEGER NOT NULL,
      request_id TEXT NOT NULL,
      key_id TEXT NOT NULL DEFAULT '',
      key_name TEXT NOT NULL DEFAULT '',
      team TEXT NOT NULL DEFAULT '',
      model TEXT NOT NULL DEFAULT '',
      provider TEXT NOT NULL DEFAULT '',
      upstream_model TEXT NOT NULL DEFAULT '',
      attempts INTEGER NOT NULL DEFAULT 0,
      status INTEGER NOT NULL,
      error_code TEXT NOT NULL DEFAULT '',
      stream INTEGER NOT NULL DEFAULT 0,
      latency_ms REAL NOT NULL DEFAULT 0,
      ttft_ms REAL,
      input_tokens INTEGER NOT NULL DEFAULT 0,
      output_tokens INTEGER NOT NULL DEFAULT 0,
      cached_tokens INTEGER NOT NULL DEFAULT 0,
      cache_write_tokens INTEGER NOT NULL DEFAULT 0,
      reasoning_tokens INTEGER NOT NULL DEFAULT 0,
      cost_micro INTEGER,
      request_body TEXT,
      response_body TEXT
    );
    CREATE INDEX requests_ts ON requests (ts_ms);
    CREATE INDEX requests_key_ts ON requests (key_id, ts_ms);
    CREATE TABLE usage_daily (
      day TEXT NOT NULL,
      key_id TEXT NOT NULL,
      team TEXT NOT NULL,
      model TEXT NOT NULL,
      provider TEXT NOT NULL,
      requests INTEGER NOT NULL DEFAULT 0,
      errors INTEGER NOT NULL DEFAULT 0,
      input_tokens INTEGER NOT NULL DEFAULT 0,
      output_tokens INTEGER NOT NULL DEFAULT 0,
      cached_tokens INTEGER NOT NULL DEFAULT 0,
      reasoning_tokens INTEGER NOT NULL DEFAULT 0,
      cost_micro INTEGER NOT NULL DEFAULT 0,
      unknown_cost_requests INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (day, key_id, team, model, provider)
    );
    CREATE TABLE spend (
      holder TEXT NOT NULL,
      period_start INTEGER NOT NULL,
      spent_micro INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (holder, period_start)
    );
    CREATE TABLE spend_total (
      holder TEXT PRIMARY KEY,
      spent_micro INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE keys (
      id TEXT PRIMARY KEY,
      hash TEXT NOT NULL UNIQUE,
      record TEXT NOT NULL,
      revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE teams (
      id TEXT PRIMARY KEY,
      record TEXT NOT NULL
    );
    )sql",
    // 2: /admin/logs?key= pages by id within one key (71 ms -> under 1 ms on 1M rows).
    R"sql(
    CREATE INDEX requests_key_id ON requests (key_id, id);
    )sql",
};
// clang-format on

TEST(Store, OpensADatabaseFromTheMicroDollarSchemaAndConvertsItsMoney) {
  std::string path = temp_db();
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    for (const char* sql : kOldSchema) ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK);
    const char* rows = R"sql(
      PRAGMA user_version=2;
      INSERT INTO requests (ts_ms, request_id, key_id, status, cost_micro)
        VALUES (1795000000000, 'r1', 'key_a', 200, 1234), (1795000000001, 'r2', 'key_a', 200, NULL);
      INSERT INTO usage_daily (day, key_id, team, model, provider, requests, cost_micro)
        VALUES ('2026-11-18', 'key_a', '', 'gpt-4o', 'openai', 2, 1234);
      INSERT INTO spend (holder, period_start, spent_micro) VALUES ('key:key_a', 1794960000, 1234);
      INSERT INTO spend_total (holder, spent_micro) VALUES ('key:key_a', 5678);
    )sql";
    ASSERT_EQ(sqlite3_exec(db, rows, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  std::string err;
  auto s = open_sqlite_store(path, {}, &err);
  ASSERT_TRUE(s) << err;
  auto st = s->load();
  ASSERT_EQ(st.spend.size(), 1u);
  EXPECT_EQ(st.spend[0].nano_usd, 1'234'000);
  ASSERT_EQ(st.spend_total.size(), 1u);
  EXPECT_EQ(st.spend_total[0].second, 5'678'000);
  auto logs = wait_for([&](auto cb) { s->query_logs(LogQuery{}, cb); });
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_TRUE(logs[0]["cost_usd"].is_null());  // unknown stays unknown, not 0
  EXPECT_EQ(logs[1]["cost_nano_usd"], 1'234'000);
  EXPECT_DOUBLE_EQ(logs[1]["cost_usd"].get<double>(), 0.001234);
  auto spend = wait_for([&](auto cb) { s->query_spend(SpendQuery{"key"}, cb); });
  ASSERT_EQ(spend.size(), 1u);
  EXPECT_EQ(spend[0]["spend_nano_usd"], 1'234'000);
  // New rows are nano from now on, next to the converted ones.
  s->record(row(1'795'000'000'002, "key_a", "gpt-4o", 200, 7), {{"key:key_a", 1'794'960'000, 7}});
  s->flush();
  spend = wait_for([&](auto cb) { s->query_spend(SpendQuery{"key"}, cb); });
  EXPECT_EQ(spend[0]["spend_nano_usd"], 1'234'007);
  // Migration 8 dropped the second per-key index; a key's last use is read through the other.
  EXPECT_EQ(wait_for([&](auto cb) { s->keys_last_used({"key_a"}, cb); }),
            nlohmann::json({{"key_a", 1'795'000'000'002}}));
  s.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  auto count = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
  };
  EXPECT_EQ(count("SELECT count(*) FROM sqlite_master WHERE name = 'requests_key_ts'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM sqlite_master WHERE name = 'requests_key_id'"), 1);
  sqlite3_close(db);
}

// A second connection that holds the write lock: the store's commits fail with SQLITE_BUSY.
struct WriteLock {
  sqlite3* db = nullptr;
  explicit WriteLock(const std::string& path) {
    sqlite3_open(path.c_str(), &db);
    // The store's writer may be running its start-up retention pass: wait for it, don't fail.
    sqlite3_busy_timeout(db, 10'000);
    EXPECT_EQ(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  }
  void release() {
    if (!db) return;
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    db = nullptr;
  }
  ~WriteLock() { release(); }
};

int64_t count_rows(Store& s, int64_t* spend_nano = nullptr) {
  auto logs = wait_for([&](auto cb) {
    LogQuery q;
    q.limit = 1000;
    s.query_logs(q, cb);
  });
  if (spend_nano) {
    auto spend = wait_for([&](auto cb) { s.query_spend(SpendQuery{"key"}, cb); });
    *spend_nano = 0;
    for (const auto& r : spend) *spend_nano += r["spend_nano_usd"].get<int64_t>();
  }
  return static_cast<int64_t>(logs.size());
}

template <class Pred>
bool eventually(Pred p, int ms = 5000) {
  for (int i = 0; i < ms / 10; ++i) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return p();
}

// Issue 16: a batch whose commit failed (SQLITE_BUSY, disk full) was rolled back and its rows
// and spend dropped for good. It is kept and retried until the disk takes it.
TEST(Store, ABatchWhoseCommitFailsIsRetriedNotDropped) {
  std::string path = temp_db();
  StoreOptions opts;
  opts.flush_interval = std::chrono::milliseconds(20);
  opts.busy_timeout = std::chrono::milliseconds(20);
  auto s = open_sqlite_store(path, opts, nullptr);
  ASSERT_TRUE(s);
  WriteLock lock(path);
  for (int i = 0; i < 5; ++i) {
    s->record(row(1'795'000'000'000 + i, "key_a", "gpt-4o", 200, 100 + i),
              {{"key:key_a", 1'794'960'000, 100 + i}});
  }
  ASSERT_TRUE(eventually([&] { return s->health().commit_failures >= 2; }));
  EXPECT_EQ(s->health().backlog_rows, 5u);
  EXPECT_TRUE(s->accepting());  // under the bound
  lock.release();
  int64_t spend = 0;
  ASSERT_TRUE(eventually([&] { return count_rows(*s, &spend) == 5; }));
  EXPECT_EQ(spend, 100 + 101 + 102 + 103 + 104);
  auto st = s->load();
  ASSERT_EQ(st.spend_total.size(), 1u);
  EXPECT_EQ(st.spend_total[0].second, 510);
  EXPECT_EQ(s->health().backlog_rows, 0u);
}

// The queue is bounded: past max_queued_rows the store says it is not accepting (the gateway
// answers 503 store_unavailable) and keeps every row; it accepts again once drained.
TEST(Store, ABacklogOverTheBoundAppliesBackPressureAndKeepsEveryRow) {
  std::string path = temp_db();
  StoreOptions opts;
  opts.flush_interval = std::chrono::milliseconds(20);
  opts.busy_timeout = std::chrono::milliseconds(20);
  opts.max_queued_rows = 10;
  auto s = open_sqlite_store(path, opts, nullptr);
  ASSERT_TRUE(s);
  WriteLock lock(path);
  for (int i = 0; i < 12; ++i) {
    s->record(row(1'795'000'000'000 + i, "key_a", "gpt-4o", 200, 7), {{"key:key_a", 1'794'960'000, 7}});
  }
  EXPECT_FALSE(s->accepting());
  EXPECT_FALSE(s->health().accepting);
  EXPECT_EQ(s->health().backlog_rows, 12u);
  lock.release();
  ASSERT_TRUE(eventually([&] { return s->accepting(); }));
  int64_t spend = 0;
  ASSERT_TRUE(eventually([&] { return count_rows(*s, &spend) == 12; }));
  EXPECT_EQ(spend, 12 * 7);
}

// An admin write on a locked database fails (the caller then changes nothing) and does not wait
// for the record batch's retries.
TEST(Store, AnAdminWriteOnALockedDatabaseReportsFailure) {
  std::string path = temp_db();
  StoreOptions opts;
  opts.busy_timeout = std::chrono::milliseconds(20);
  auto s = open_sqlite_store(path, opts, nullptr);
  ASSERT_TRUE(s);
  WriteLock lock(path);
  std::mutex m;
  std::condition_variable cv;
  std::optional<bool> result;
  s->save_key({"key_1", "hash1", {{"name", "app"}}, false}, [&](bool ok) {
    std::lock_guard l(m);
    result = ok;
    cv.notify_one();
  });
  std::unique_lock l(m);
  ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(5), [&] { return result.has_value(); }));
  EXPECT_FALSE(*result);
}

// A stored Response, read back through the store (pending or written).
std::optional<ResponseRow> get_response(Store& s, const std::string& id, const std::string& scope) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<std::optional<ResponseRow>> got;
  s.get_response(id, scope, [&](std::optional<ResponseRow> r) {
    std::lock_guard lock(m);
    got = std::move(r);
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return got.has_value(); });
  return *got;
}

int64_t responses_on_disk(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM responses", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

ResponseRow response_row(std::string id) {
  ResponseRow r;
  r.id = std::move(id);
  r.scope = "key:k1";
  r.created_ms = 1'795'000'000'000;
  r.response = R"({"id":"x","output":[]})";
  r.input_items = "[]";
  r.output_items = "[]";
  return r;
}

// A stored Response goes to the disk with the request rows (one group commit, not a transaction
// of its own), so it shares their retry: one saved while the disk refuses writes was dropped
// (its own INSERT failed once and was never retried). Until written, reads find it (pending).
TEST(Store, AResponseSavedWhileTheDiskIsLockedIsReadableAndWrittenLater) {
  std::string path = temp_db();
  StoreOptions opts;
  opts.flush_interval = std::chrono::milliseconds(20);
  opts.busy_timeout = std::chrono::milliseconds(20);
  auto s = open_sqlite_store(path, opts, nullptr);
  ASSERT_TRUE(s);
  WriteLock lock(path);
  s->save_response(response_row("resp_1"));
  s->record(row(1'795'000'000'000, "k1", "gpt-4o", 200, 1), {});
  ASSERT_TRUE(eventually([&] { return s->health().commit_failures >= 2; }));
  auto pending = get_response(*s, "resp_1", "key:k1");
  ASSERT_TRUE(pending.has_value()) << "a save waiting for the disk is read back";
  EXPECT_EQ(pending->response, R"({"id":"x","output":[]})");
  EXPECT_FALSE(get_response(*s, "resp_1", "key:other").has_value()) << "scoped while pending";
  lock.release();
  ASSERT_TRUE(eventually([&] { return responses_on_disk(path) == 1; }));
  EXPECT_TRUE(get_response(*s, "resp_1", "key:k1").has_value());
  EXPECT_EQ(count_rows(*s), 1);
}

TEST(Store, DeletingAResponseThatWaitsForTheDiskDropsIt) {
  std::string path = temp_db();
  StoreOptions opts;
  opts.flush_interval = std::chrono::milliseconds(20);
  opts.busy_timeout = std::chrono::milliseconds(20);
  auto s = open_sqlite_store(path, opts, nullptr);
  ASSERT_TRUE(s);
  WriteLock lock(path);
  s->save_response(response_row("resp_gone"));
  s->save_response(response_row("resp_kept"));
  ASSERT_TRUE(eventually([&] { return s->health().commit_failures >= 1; }));
  std::optional<bool> deleted;
  std::mutex m;
  std::condition_variable cv;
  s->delete_response("resp_gone", "key:k1", [&](bool ok) {
    std::lock_guard l(m);
    deleted = ok;
    cv.notify_one();
  });
  // The delete runs on the writer, which is retrying the locked batch: release the lock first.
  lock.release();
  {
    std::unique_lock l(m);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(5), [&] { return deleted.has_value(); }));
  }
  EXPECT_TRUE(*deleted);
  s->flush();
  EXPECT_FALSE(get_response(*s, "resp_gone", "key:k1").has_value());
  EXPECT_TRUE(get_response(*s, "resp_kept", "key:k1").has_value());
  EXPECT_EQ(responses_on_disk(path), 1);
}

TEST(Store, RefusesASchemaFromTheFuture) {
  std::string path = temp_db();
  { auto s = open_sqlite_store(path, {}, nullptr); }
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version=999", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  std::string err;
  EXPECT_FALSE(open_sqlite_store(path, {}, &err));
  EXPECT_NE(err.find("newer"), std::string::npos);
}

}  // namespace
}  // namespace tg::store
