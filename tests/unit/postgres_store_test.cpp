// The PostgreSQL store against a real PostgreSQL 15 (tests/support/postgres_server.hpp): what the
// SQLite store's tests check, plus what only a shared server has (two stores on one database,
// changes reaching the other, an outage).

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "../support/eventually.hpp"
#include "../support/postgres_server.hpp"
#include "tollgate/store/postgres_conn.hpp"
#include "tollgate/store/postgres_store.hpp"

namespace tg::store {
namespace {

using nlohmann::json;
using test::eventually;
using test::PostgresServer;

#define REQUIRE_POSTGRES()                                                              \
  if (!PostgresServer::available())                                                     \
  GTEST_SKIP() << "PostgreSQL 15 binaries not found in " << PostgresServer::bin_dir() \
               << " (apt-get install postgresql-15)"

template <class T, class Fn>
T wait_for(Fn start) {
  std::mutex m;
  std::condition_variable cv;
  std::optional<T> result;
  start([&](T r) {
    std::lock_guard lock(m);
    result = std::move(r);
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return result.has_value(); });
  return std::move(*result);
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

SpendQuery by(const std::string& group) {
  SpendQuery q;
  q.group_by = group;
  return q;
}

std::unique_ptr<Store> open(const std::string& url, StoreOptions opts = {}) {
  std::string err;
  auto s = open_postgres_store(url, std::move(opts), &err);
  EXPECT_TRUE(s) << err;
  return s;
}

int64_t scalar(const std::string& url, const std::string& sql) {
  pg::Conn c;
  std::string err;
  if (!c.connect(url, 5, &err)) throw std::runtime_error(err);
  return c.exec(sql).i64(0, 0);
}

TEST(PostgresText, InvalidUtf8AndNulBecomeTheReplacementCharacter) {
  EXPECT_EQ(pg::clean_text("plain ascii"), "plain ascii");
  EXPECT_EQ(pg::clean_text("h\xC3\xA9 \xF0\x9F\x99\x82"), "h\xC3\xA9 \xF0\x9F\x99\x82");
  EXPECT_EQ(pg::clean_text(std::string("a\0b", 3)), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(pg::clean_text("\xFF"), "\xEF\xBF\xBD");
  EXPECT_EQ(pg::clean_text("\xC3"), "\xEF\xBF\xBD");                 // cut short
  EXPECT_EQ(pg::clean_text("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(pg::clean_text("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(pg::redact_url("postgresql://u:secret@db:5432/x"), "postgresql://u:***@db:5432/x");
  EXPECT_EQ(pg::redact_url("postgresql://u@db/x"), "postgresql://u@db/x");
}

// Everything SQLite holds is kept across a restart: request log, rollups, spend, keys (revoked
// ones not loaded), teams, stored Responses; hostile bytes in a body do not stop a batch.
TEST(PostgresStore, EverythingIsQueryableAndSurvivesARestart) {
  REQUIRE_POSTGRES();
  PostgresServer server;
  const std::string url = server.create_database();
  const int64_t t0 = 1'795'000'000'000;  // 2026-11-18
  {
    auto s = open(url);
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->reachable());
    s->record(row(t0, "key_a", "gpt-4o", 200, 1500), {{"key:key_a", 1'794'960'000, 1500}});
    s->record(row(t0 + 1, "key_a", "gpt-4o", 200, 2500),
              {{"key:key_a", 1'794'960'000, 2500}, {"team:t", 0, 2500}});
    s->record(row(t0 + 2, "key_b", "claude", 502, std::nullopt), {});
    RequestRow refused = row(t0 + 3, "key_b", "claude", 404, std::nullopt);
    refused.input_tokens = refused.output_tokens = 0;
    refused.request_body = std::string("{\"x\":\"\xFF\0\"}", 10);  // invalid UTF-8 and a NUL
    refused.ttft_ms = 12.5;
    refused.attempt_log = R"([{"provider":"a","model":"claude","status":503,"ms":1.5}])";
    s->record(refused, {});
    EXPECT_TRUE(wait_for<bool>([&](auto cb) {
      s->save_key(KeyRow{"key_a", "hash_a", json{{"id", "key_a"}, {"name", "a"}}, false}, cb);
    }));
    EXPECT_TRUE(wait_for<bool>([&](auto cb) {
      s->save_key(KeyRow{"key_r", "hash_r", json{{"id", "key_r"}}, false}, cb);
    }));
    EXPECT_TRUE(wait_for<bool>([&](auto cb) {  // revoked: an upsert of the same id
      s->save_key(KeyRow{"key_r", "hash_r", json{{"id", "key_r"}}, true}, cb);
    }));
    EXPECT_TRUE(wait_for<bool>([&](auto cb) {
      s->save_team(TeamRow{"t", json{{"name", "t"}, {"budget", {{"usd", 5}}}}}, cb);
    }));
    EXPECT_TRUE(wait_for<bool>([&](auto cb) { s->save_team(TeamRow{"gone", json::object()}, cb); }));
    EXPECT_TRUE(wait_for<bool>([&](auto cb) { s->delete_team("gone", cb); }));
    s->save_response(ResponseRow{"resp_1", "key:key_a", "", t0, R"({"id":"resp_1"})",
                                 R"([{"role":"user","content":"hi"}])", R"([{"type":"message"}])"});
    s->save_response(ResponseRow{"resp_2", "key:key_a", "resp_1", t0 + 5, R"({"id":"resp_2"})",
                                 R"([{"role":"user","content":"again"}])", R"([])"});
    s->flush();
    auto logs = wait_for<json>([&](auto cb) { s->query_logs(LogQuery{}, cb); });
    ASSERT_EQ(logs.size(), 4u);
    EXPECT_EQ(logs[0]["key_id"], "key_b");  // newest first
    EXPECT_EQ(logs[0]["ttft_ms"], 12.5);
    EXPECT_EQ(logs[0]["request_body"], "{\"x\":\"\xEF\xBF\xBD\xEF\xBF\xBD\"}");
    ASSERT_EQ(logs[0]["attempt_details"].size(), 1u) << logs[0].dump();
    EXPECT_EQ(logs[0]["attempt_details"][0]["status"], 503);
    EXPECT_FALSE(logs[1].contains("attempt_details"));
    EXPECT_TRUE(logs[1]["cost_usd"].is_null());  // unknown cost stays unknown
    EXPECT_EQ(logs[3]["cost_nano_usd"], 1500);
    LogQuery by_key;
    by_key.key_id = "key_a";
    by_key.before_id = logs[2]["id"].get<int64_t>() + 1;
    EXPECT_EQ(wait_for<json>([&](auto cb) { s->query_logs(by_key, cb); }).size(), 2u);
    auto spend = wait_for<json>([&](auto cb) { s->query_spend(by("key"), cb); });
    ASSERT_EQ(spend.size(), 2u);
    EXPECT_EQ(spend[0]["key"], "key_a");
    EXPECT_EQ(spend[0]["spend_nano_usd"], 4000);
    EXPECT_EQ(spend[0]["requests"], 2);
    EXPECT_EQ(spend[1]["unknown_cost_requests"], 1);
    EXPECT_EQ(spend[1]["errors"], 2);
    // The UI's queries: one row by id, keys' last use, stats by hour.
    EXPECT_EQ(wait_for<json>([&](auto cb) { s->get_log(logs[1]["id"].get<int64_t>(), cb); }), logs[1]);
    EXPECT_TRUE(wait_for<json>([&](auto cb) { s->get_log(999999, cb); }).is_null());
    EXPECT_EQ(wait_for<json>([&](auto cb) { s->keys_last_used({"key_a", "key_b", "nope"}, cb); }),
              (json{{"key_a", t0 + 1}, {"key_b", t0 + 3}}));
    LogQuery by_provider;
    by_provider.provider = "openai";
    by_provider.team = "nope";
    EXPECT_EQ(wait_for<json>([&](auto cb) { s->query_logs(by_provider, cb); }).size(), 0u);
    StatsQuery sq;
    sq.from_ms = t0 - t0 % 3'600'000;
    sq.to_ms = sq.from_ms + 3'600'000;
    sq.step_s = 3600;
    sq.group_by = "model";
    auto stats = wait_for<json>([&](auto cb) { s->query_stats(sq, cb); });
    ASSERT_EQ(stats["counts"].size(), 2u) << stats.dump();
    for (const auto& r : stats["counts"]) {  // [group, t_ms, requests, errors, in, out, cost]
      EXPECT_EQ(r[1], sq.from_ms);
      EXPECT_EQ(r[2], 2);
      if (r[0] == "gpt-4o") EXPECT_EQ(r[6], 4000);
      else EXPECT_EQ(r[3], 2);  // claude: both errors
    }
    int64_t latency_rows = 0;
    for (const auto& r : stats["latency"]) latency_rows += r[4].get<int64_t>();
    EXPECT_EQ(latency_rows, 5);  // four latencies and one time to first token
  }
  auto s = open(url);
  ASSERT_TRUE(s);
  auto st = s->load();
  ASSERT_EQ(st.keys.size(), 1u);  // key_r is revoked
  EXPECT_EQ(st.keys[0].id, "key_a");
  EXPECT_EQ(st.keys[0].record["name"], "a");
  ASSERT_EQ(st.teams.size(), 1u);
  EXPECT_EQ(st.teams[0].record["budget"]["usd"], 5);
  ASSERT_EQ(st.spend.size(), 2u);
  EXPECT_EQ(st.spend[0].holder, "key:key_a");
  EXPECT_EQ(st.spend[0].nano_usd, 4000);
  ASSERT_EQ(st.spend_total.size(), 2u);
  EXPECT_EQ(wait_for<json>([&](auto cb) { s->query_logs(LogQuery{}, cb); }).size(), 4u);
  auto conv = wait_for<std::optional<json>>(
      [&](auto cb) { s->conversation("resp_2", "key:key_a", cb); });
  ASSERT_TRUE(conv);
  ASSERT_EQ(conv->size(), 3u);
  EXPECT_EQ((*conv)[0]["content"], "hi");
  EXPECT_EQ((*conv)[2]["content"], "again");
  EXPECT_FALSE(wait_for<std::optional<ResponseRow>>(
      [&](auto cb) { s->get_response("resp_1", "key:other", cb); }));  // another scope
  EXPECT_TRUE(wait_for<bool>([&](auto cb) { s->delete_response("resp_1", "key:key_a", cb); }));
  EXPECT_FALSE(wait_for<std::optional<ResponseRow>>(
      [&](auto cb) { s->get_response("resp_1", "key:key_a", cb); }));
}

TEST(PostgresStore, RetentionDeletesOnlyOldRequestRowsAndKeepsRollups) {
  REQUIRE_POSTGRES();
  PostgresServer server;
  const std::string url = server.create_database();
  const int64_t now = 1'795'000'000'000;
  StoreOptions opts;
  opts.retention_days = 7;
  opts.now_ms = [&] { return now; };
  auto s = open(url, opts);
  ASSERT_TRUE(s);
  s->record(row(now - 8 * 86'400'000LL, "k", "m", 200, 100), {});
  s->record(row(now - 6 * 86'400'000LL, "k", "m", 200, 200), {});
  s->save_response(ResponseRow{"resp_old", "master", "", now - 9 * 86'400'000LL, "{}", "[]", "[]"});
  s->flush();
  EXPECT_EQ(s->enforce_retention(), 1);
  auto logs = wait_for<json>([&](auto cb) { s->query_logs(LogQuery{}, cb); });
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0]["cost_nano_usd"], 200);
  auto spend = wait_for<json>([&](auto cb) { s->query_spend(by("key"), cb); });
  ASSERT_EQ(spend.size(), 1u);
  EXPECT_EQ(spend[0]["spend_nano_usd"], 300);  // rollups keep the deleted row's figures
  EXPECT_EQ(spend[0]["requests"], 2);
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM responses"), 0);
}

// Two instances on one database, started at the same moment (migrations serialised by the
// advisory lock), adding spend to the same holders concurrently: the sums are exact.
TEST(PostgresStore, TwoStoresStartTogetherAndTheirSpendAddsUpExactly) {
  REQUIRE_POSTGRES();
  PostgresServer server;
  const std::string url = server.create_database();
  std::unique_ptr<Store> a, b;
  std::thread ta([&] { a = open(url); });
  std::thread tb([&] { b = open(url); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM schema_migrations"), pg::latest_schema_version());
  const int64_t t0 = 1'795'000'000'000;
  auto writer = [&](Store& s, int64_t base) {
    for (int i = 0; i < 1000; ++i) {
      s.record(row(t0 + base + i, "key_x", "gpt-4o", 200, 1'000 + i),
               {{"key:key_x", 1'794'960'000, 1'000 + i}, {"team:t", 1'794'960'000, 1'000 + i}});
    }
  };
  std::thread wa([&] { writer(*a, 0); });
  std::thread wb([&] { writer(*b, 5000); });
  wa.join();
  wb.join();
  a->flush();
  b->flush();
  const int64_t expected = 2 * (1000 * 1000 + 999 * 1000 / 2);
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM requests"), 2000);
  EXPECT_EQ(scalar(url, "SELECT SUM(cost_nano) FROM requests"), expected);
  EXPECT_EQ(scalar(url, "SELECT spent_nano FROM spend WHERE holder = 'key:key_x'"), expected);
  EXPECT_EQ(scalar(url, "SELECT spent_nano FROM spend WHERE holder = 'team:t'"), expected);
  EXPECT_EQ(scalar(url, "SELECT spent_nano FROM spend_total WHERE holder = 'key:key_x'"), expected);
  EXPECT_EQ(scalar(url, "SELECT cost_nano FROM usage_daily"), expected);
  EXPECT_EQ(scalar(url, "SELECT requests FROM usage_daily"), 2000);
}

// A key or team saved through one store reaches the other's on_change (LISTEN/NOTIFY) within a
// second; a store is not told of its own changes.
TEST(PostgresStore, AChangeOnOneStoreReachesTheOtherWithinASecond) {
  REQUIRE_POSTGRES();
  PostgresServer server;
  const std::string url = server.create_database();
  auto a = open(url), b = open(url);
  ASSERT_TRUE(a && b);
  std::mutex m;
  std::vector<StoreChange> seen_a, seen_b;
  a->on_change([&](StoreChange c) {
    std::lock_guard lock(m);
    seen_a.push_back(std::move(c));
  });
  b->on_change([&](StoreChange c) {
    std::lock_guard lock(m);
    seen_b.push_back(std::move(c));
  });
  auto count_b = [&] {
    std::lock_guard lock(m);
    return seen_b.size();
  };
  ASSERT_TRUE(wait_for<bool>([&](auto cb) {
    a->save_key(KeyRow{"key_1", "h1", json{{"id", "key_1"}, {"enabled", true}}, false}, cb);
  }));
  ASSERT_TRUE(eventually([&] { return count_b() == 1; }, std::chrono::seconds(1)));
  {
    std::lock_guard lock(m);
    EXPECT_EQ(seen_b[0].kind, StoreChange::Kind::Key);
    ASSERT_TRUE(seen_b[0].key);
    EXPECT_EQ(seen_b[0].key->record["enabled"], true);
    EXPECT_FALSE(seen_b[0].key->revoked);
  }
  ASSERT_TRUE(wait_for<bool>([&](auto cb) {
    b->save_key(KeyRow{"key_1", "h1", json{{"id", "key_1"}}, true}, cb);
  }));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(m);
    return seen_a.size() == 1;
  }, std::chrono::seconds(1)));
  {
    std::lock_guard lock(m);
    ASSERT_TRUE(seen_a[0].key);
    EXPECT_TRUE(seen_a[0].key->revoked);
  }
  ASSERT_TRUE(wait_for<bool>([&](auto cb) { a->save_team(TeamRow{"t1", json{{"name", "t1"}}}, cb); }));
  ASSERT_TRUE(wait_for<bool>([&](auto cb) { a->delete_team("t1", cb); }));
  ASSERT_TRUE(eventually([&] { return count_b() == 3; }, std::chrono::seconds(1)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::lock_guard lock(m);
  EXPECT_EQ(seen_b.size(), 3u);  // nothing of b's own change came back to b
  EXPECT_EQ(seen_a.size(), 1u);
  EXPECT_EQ(seen_b[1].kind, StoreChange::Kind::Team);
  EXPECT_TRUE(seen_b[2].kind == StoreChange::Kind::Team && !seen_b[2].team);  // deleted
}

// PostgreSQL stopped: rows wait in memory, /ready's reachable() turns false, back-pressure past
// the bound; restarted: everything is written, nothing lost, nothing twice.
TEST(PostgresStore, AnOutageQueuesRowsAppliesBackPressureAndLosesNothing) {
  REQUIRE_POSTGRES();
  PostgresServer server;
  const std::string url = server.create_database();
  StoreOptions opts;
  opts.max_queued_rows = 50;
  auto s = open(url, opts);
  ASSERT_TRUE(s);
  const int64_t t0 = 1'795'000'000'000;
  s->record(row(t0, "k", "m", 200, 7), {{"key:k", 0, 7}});
  s->flush();
  server.stop();
  ASSERT_TRUE(eventually([&] { return !s->reachable(); }, std::chrono::seconds(5)));
  for (int i = 1; i < 60; ++i) s->record(row(t0 + i, "k", "m", 200, 7), {{"key:k", 0, 7}});
  // A Responses turn stored during the outage: readable at once, written once the server is back.
  s->save_response(ResponseRow{"resp_down", "master", "", t0, "{}", "[]", "[]"});
  EXPECT_TRUE(wait_for<std::optional<ResponseRow>>(
      [&](auto cb) { s->get_response("resp_down", "master", cb); }));
  EXPECT_FALSE(s->accepting());
  EXPECT_GE(s->health().backlog_rows, 50u);
  server.start();
  ASSERT_TRUE(eventually([&] { return s->reachable() && s->accepting(); }, std::chrono::seconds(10)));
  ASSERT_TRUE(eventually([&] { return s->health().backlog_rows == 0; }, std::chrono::seconds(10)));
  s->flush();
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM requests"), 60);
  EXPECT_EQ(scalar(url, "SELECT spent_nano FROM spend_total WHERE holder = 'key:k'"), 60 * 7);
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM responses WHERE id = 'resp_down'"), 1);
}

// A change notified while another store's listener is disconnected is not lost: the listener
// re-reads every key and team when it reconnects (NOTIFY reaches only those listening).
TEST(PostgresStore, AChangeMadeWhileTheListenerWasDownArrivesAfterItReconnects) {
  REQUIRE_POSTGRES();
  PostgresServer server;
  const std::string url = server.create_database();
  auto b = open(url);
  ASSERT_TRUE(b);
  std::mutex m;
  std::set<std::string> seen;
  b->on_change([&](StoreChange c) {
    std::lock_guard lock(m);
    if (c.key && !c.key->revoked) seen.insert(c.id);
  });
  pg::Conn c;
  std::string err;
  ASSERT_TRUE(c.connect(url, 5, &err)) << err;
  // The listener's connection is cut; a change is committed and notified at once, while the
  // listener waits out its reconnect backoff.
  auto cut = c.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = "
                    "'LISTEN tollgate_changes'");
  ASSERT_EQ(cut.rows(), 1);
  c.transaction([&] {
    c.exec("INSERT INTO keys (id, hash, record) VALUES ('key_quiet', 'hq', '{\"id\":\"key_quiet\"}')");
    c.exec("SELECT pg_notify('tollgate_changes', 'key:key_quiet')");
  });
  EXPECT_TRUE(eventually([&] {
    std::lock_guard lock(m);
    return seen.count("key_quiet") == 1;
  }, std::chrono::seconds(5)));
  EXPECT_TRUE(eventually([&] { return b->reachable(); }, std::chrono::seconds(5)));
}

TEST(PostgresStore, OpeningAnUnreachableServerFailsWithAClearError) {
  std::string err;
  StoreOptions opts;
  PostgresOptions pgo;
  pgo.connect_timeout_s = 1;
  auto s = open_postgres_store("postgresql://u:secret@127.0.0.1:1/x", opts, &err, pgo);
  EXPECT_FALSE(s);
  EXPECT_NE(err.find("cannot connect to postgresql://u:***@127.0.0.1:1/x"), std::string::npos) << err;
  EXPECT_EQ(err.find("secret"), std::string::npos);
}

// tollgate store migrate: every key, team, spend figure, log row, rollup and stored Response
// copied; a second run into the now non-empty database is refused and changes nothing.
TEST(PostgresMigrate, CopiesEverySqliteRowAndRefusesANonEmptyTarget) {
  REQUIRE_POSTGRES();
  PostgresServer server;
  const std::string url = server.create_database();
  auto dir = std::filesystem::temp_directory_path() /
             ("tg-migrate-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "tollgate.db").string();
  const int64_t t0 = 1'795'000'000'000;
  {
    StoreOptions keep;
    keep.retention_days = 0;
    std::string err;
    auto s = open_sqlite_store(path, keep, &err);
    ASSERT_TRUE(s) << err;
    for (int i = 0; i < 1234; ++i) {
      RequestRow r = row(t0 + i, i % 2 ? "key_a" : "key_b", "gpt-4o", 200, 1000 + i);
      if (i == 7) r.attempt_log = R"([{"provider":"a","status":500},{"provider":"b","status":200}])";
      s->record(r, {{i % 2 ? "key:key_a" : "key:key_b", 1'794'960'000, 1000 + i}});
    }
    wait_for<bool>([&](auto cb) { s->save_key(KeyRow{"key_a", "ha", json{{"id", "key_a"}}, false}, cb); });
    wait_for<bool>([&](auto cb) { s->save_key(KeyRow{"key_r", "hr", json{{"id", "key_r"}}, true}, cb); });
    wait_for<bool>([&](auto cb) { s->save_team(TeamRow{"t", json{{"name", "t"}}}, cb); });
    s->save_response(ResponseRow{"resp_1", "master", "", t0, "{}", "[]", "[]"});
    s->flush();
  }
  std::ostringstream out, err;
  ASSERT_EQ(migrate_sqlite_to_postgres(path, url, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("1234 request log rows"), std::string::npos) << out.str();
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM requests"), 1234);
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM requests WHERE attempt_log LIKE '%\"b\"%'"), 1);
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM keys"), 2);
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM keys WHERE revoked"), 1);
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM teams"), 1);
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM responses"), 1);
  const int64_t total = 1234 * 1000 + 1233 * 1234 / 2;
  EXPECT_EQ(scalar(url, "SELECT SUM(cost_nano) FROM requests"), total);
  EXPECT_EQ(scalar(url, "SELECT SUM(spent_nano) FROM spend"), total);
  EXPECT_EQ(scalar(url, "SELECT SUM(spent_nano) FROM spend_total"), total);
  EXPECT_EQ(scalar(url, "SELECT SUM(cost_nano) FROM usage_daily"), total);
  EXPECT_EQ(scalar(url, "SELECT SUM(cost_nano) FROM usage_buckets WHERE res = 3600"), total);
  EXPECT_EQ(scalar(url, "SELECT SUM(n) FROM usage_latency WHERE res = 3600 AND kind = 0"), 1234);
  {  // the copy is a working store: loaded as the SQLite one, new rows numbered after the old
    auto s = open(url);
    ASSERT_TRUE(s);
    auto st = s->load();
    EXPECT_EQ(st.keys.size(), 1u);
    s->record(row(t0 + 5000, "key_a", "gpt-4o", 200, 1), {});
    s->flush();
    EXPECT_EQ(scalar(url, "SELECT MAX(id) FROM requests"), 1235);
  }
  std::ostringstream out2, err2;
  EXPECT_EQ(migrate_sqlite_to_postgres(path, url, out2, err2), 1);
  EXPECT_NE(err2.str().find("already holds data"), std::string::npos) << err2.str();
  EXPECT_EQ(scalar(url, "SELECT count(*) FROM requests"), 1235);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tg::store
