// Several tollgate instances on one PostgreSQL (store.postgres, issue 14): keys and teams reach
// every instance within a second, the request log and spend are shared, an outage is survived
// without a hung request or a lost row, and `tollgate store migrate` moves a SQLite setup over.
// A real PostgreSQL 15 runs in a temp directory (tests/support/postgres_server.hpp).

#include <atomic>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../support/postgres_server.hpp"
#include "../support/shared_store.hpp"
#include "harness.hpp"

namespace tg::it {
namespace {

using test::PostgresServer;
const std::string kMaster = "sk-test-master";

// gpt-test -> mock/gpt-4o-mini at 75 and 300 nUSD per token.
std::string pg_config(const Mock& mock, const std::string& url, const std::string& store_extra = "") {
  return mock_config(mock) + "store:\n  postgres: " + url + "\n" + store_extra +
         "pricing:\n  mock/gpt-4o-mini: {input: 0.075, output: 0.30}\n";
}

HttpResponse send(Gateway& gw, const std::string& method, const std::string& path,
                  const json& body = nullptr, const std::string& key = kMaster) {
  return http(gw.port(), method, path, body.is_null() ? "" : body.dump(),
              {{"Authorization", "Bearer " + key}}, std::chrono::seconds(10));
}

// The time from a change on one instance until the other acts on it.
template <class F>
std::chrono::milliseconds time_until(F&& cond, std::chrono::milliseconds limit) {
  auto start = std::chrono::steady_clock::now();
  while (!cond() && std::chrono::steady_clock::now() - start < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

TEST(Postgres, TwoInstancesShareKeysTeamsLogsAndSpend) {
  REQUIRE_POSTGRES();
  PostgresServer server;
  const std::string url = server.create_database();
  Mock mock;
  Gateway a(pg_config(mock, url));
  Gateway b(pg_config(mock, url));
  EXPECT_EQ(send(a, "GET", "/ready").status, 200);

  const int64_t from_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count() - 60'000;
  // Created on A: works on B within a second.
  auto created = send(a, "POST", "/admin/keys", {{"name", "shared"}, {"team", "eng"}});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string key = created.json_body()["key"];
  const std::string id = created.json_body()["id"];
  int64_t served = 0;  // 200s for this key, on either instance
  auto call = [&](Gateway& gw) {
    int status = send(gw, "POST", "/v1/chat/completions", chat("gpt-test", "hi"), key).status;
    served += status == 200;
    return status;
  };
  auto took = time_until([&] { return call(b) == 200; }, std::chrono::seconds(3));
  EXPECT_LT(took.count(), 1000) << "the key reached B after " << took.count() << " ms";
  std::cout << "[ figures  ] key created on A usable on B after " << took.count() << " ms\n";

  // Disabled on B: refused on A within a second.
  auto off = send(b, "PATCH", "/admin/keys/" + id, {{"enabled", false}});
  ASSERT_EQ(off.status, 200) << off.body;
  took = time_until([&] { return call(a) == 403; }, std::chrono::seconds(3));
  EXPECT_LT(took.count(), 1000) << "the disable reached A after " << took.count() << " ms";
  std::cout << "[ figures  ] key disabled on B refused on A after " << took.count() << " ms\n";
  auto refused = send(a, "POST", "/v1/chat/completions", chat("gpt-test", "hi"), key);
  EXPECT_EQ(refused.json_body()["error"]["code"], "key_disabled") << refused.body;
  ASSERT_EQ(send(a, "PATCH", "/admin/keys/" + id, {{"enabled", true}}).status, 200);
  ASSERT_TRUE(eventually([&] { return call(b) == 200; }, std::chrono::seconds(3)));

  // A team created on B is listed by A; deleted on A, gone from B.
  ASSERT_EQ(send(b, "POST", "/admin/teams", {{"name", "ops"}, {"budget", {{"usd", 3}}}}).status, 200);
  ASSERT_TRUE(eventually([&] { return send(a, "GET", "/admin/teams/ops").status == 200; },
                         std::chrono::seconds(1)));
  EXPECT_EQ(send(a, "GET", "/admin/teams/ops").json_body()["budget"]["usd"], 3);
  ASSERT_EQ(send(a, "DELETE", "/admin/teams/ops").status, 200);
  EXPECT_TRUE(eventually([&] { return send(b, "GET", "/admin/teams/ops").status == 404; },
                         std::chrono::seconds(1)));

  // Requests on both: either instance's /admin/logs and /admin/spend show all of them.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(call(a), 200);
    ASSERT_EQ(call(b), 200);
  }
  for (Gateway* gw : {&a, &b}) {
    json logs;
    int64_t nano = 0, ok = 0;
    ASSERT_TRUE(eventually([&] {
      logs = send(*gw, "GET", "/admin/logs?limit=1000").json_body();
      nano = ok = 0;
      for (const auto& r : logs["data"]) {
        if (r["status"] == 200 && r["key_id"] == id) {
          ++ok;
          nano += r["cost_nano_usd"].get<int64_t>();
        }
      }
      return ok == served;
    })) << ok << " of " << served << ": " << logs.dump();
    auto spend = send(*gw, "GET", "/admin/spend?group_by=key").json_body();
    int64_t spent = -1;
    for (const auto& r : spend["data"]) {
      if (r["key"] == id) spent = r["spend_nano_usd"];
    }
    EXPECT_EQ(spent, nano) << spend.dump();
    // The UI's charts (minute rollups) count both instances' requests too.
    auto stats = send(*gw, "GET", fmt::format("/admin/stats?from={}&to={}&step=60&group_by=key",
                                              from_ms, from_ms + 180'000)).json_body();
    int64_t charted = -1;
    for (const auto& series : stats["series"]) {
      if (series["group"] == id) charted = series["total"]["cost_nano_usd"];
    }
    EXPECT_EQ(charted, nano) << stats.dump();
  }
  EXPECT_EQ(pg_scalar(url, fmt::format("SELECT spent_nano FROM spend_total WHERE holder = 'key:{}'", id)),
            pg_scalar(url, fmt::format("SELECT SUM(cost_nano) FROM requests WHERE key_id = '{}'", id)));
}

// PostgreSQL stopped under load: every request is answered (served while the backlog fits, then
// 503 store_unavailable), /ready says so, and after a restart every served row is in the database.
TEST(Postgres, StoppedUnderLoadNoHungRequestThen503AndNothingLost) {
  REQUIRE_POSTGRES();
  PostgresServer server;
  const std::string url = server.create_database();
  Mock mock;
  Gateway gw(pg_config(mock, url, "  max_queued_rows: 30\n  flush_interval: 20ms\n"));
  int served = 0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "before")).status, 200);
    ++served;
  }
  server.stop();
  ASSERT_TRUE(eventually([&] { return send(gw, "GET", "/ready").status == 503; },
                         std::chrono::seconds(5)));
  EXPECT_EQ(send(gw, "GET", "/ready").json_body()["reason"], "store_unreachable");
  int unavailable = 0;
  std::atomic<int> slow{0};
  for (int i = 0; i < 60; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto r = gw.post("/v1/chat/completions", chat("gpt-test", "during"));
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(2)) ++slow;
    if (r.status == 200) {
      ++served;
    } else {
      ASSERT_EQ(r.status, 503) << r.body;
      EXPECT_EQ(r.json_body()["error"]["code"], "store_unavailable");
      ++unavailable;
    }
  }
  std::cout << "[ figures  ] during the outage: " << served - 5 << " served, " << unavailable
            << " answered 503 store_unavailable, " << slow.load() << " slower than 2 s\n";
  EXPECT_EQ(slow.load(), 0) << "no request may wait on the database";
  EXPECT_GT(unavailable, 0);
  EXPECT_GE(served, 30);  // served while the backlog fitted
  server.start();
  ASSERT_TRUE(eventually([&] { return send(gw, "GET", "/ready").status == 200; },
                         std::chrono::seconds(10)));
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "after")).status, 200);
  ++served;
  EXPECT_TRUE(eventually([&] {
    return pg_scalar(url, "SELECT count(*) FROM requests WHERE status = 200") == served;
  }, std::chrono::seconds(10))) << pg_scalar(url, "SELECT count(*) FROM requests") << " rows, "
                                << served << " served";
}

// A one-instance SQLite setup moved with `tollgate store migrate`: the key still works, and every
// log row and spend figure is there; a second run is refused.
TEST(Postgres, StoreMigrateKeepsEveryKeySpendFigureAndLogRow) {
  REQUIRE_POSTGRES();
  PostgresServer server;
  const std::string url = server.create_database();
  Mock mock;
  const std::string db = temp_dir() + "/t.db";
  std::string key, id;
  json logs_before, keys_before;
  {
    Gateway gw(mock_config(mock) + "store:\n  sqlite: " + db + "\n" +
               "pricing:\n  mock/gpt-4o-mini: {input: 0.075, output: 0.30}\n");
    auto created = send(gw, "POST", "/admin/keys", {{"name", "mover"}, {"budget", {{"usd", 5}}}});
    ASSERT_EQ(created.status, 200);
    key = created.json_body()["key"];
    id = created.json_body()["id"];
    for (int i = 0; i < 7; ++i) {
      ASSERT_EQ(send(gw, "POST", "/v1/chat/completions", chat("gpt-test", "hi"), key).status, 200);
    }
    ASSERT_TRUE(eventually([&] {
      logs_before = send(gw, "GET", "/admin/logs").json_body();
      return logs_before["data"].size() == 7;
    }));
    keys_before = send(gw, "GET", "/admin/keys/" + id).json_body();
    gw.process().signal(SIGTERM);
    ASSERT_EQ(gw.process().wait(), 0);
  }
  Process migrate;
  migrate.start({TG_TOLLGATE_BIN, "store", "migrate", "--from", db, "--to", url});
  ASSERT_EQ(migrate.wait(), 0) << migrate.output();
  EXPECT_NE(migrate.output().find("7 request log rows"), std::string::npos) << migrate.output();

  Gateway gw(pg_config(mock, url));
  auto k = send(gw, "GET", "/admin/keys/" + id).json_body();
  EXPECT_EQ(k["spend_nano_usd"], keys_before["spend_nano_usd"]) << k.dump();
  EXPECT_EQ(k["budget"]["spend_nano_usd"], keys_before["budget"]["spend_nano_usd"]);
  EXPECT_GT(k["spend_nano_usd"].get<int64_t>(), 0);
  auto logs = send(gw, "GET", "/admin/logs").json_body();
  ASSERT_EQ(logs["data"].size(), 7u);
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(logs["data"][i]["request_id"], logs_before["data"][i]["request_id"]);
    EXPECT_EQ(logs["data"][i]["cost_nano_usd"], logs_before["data"][i]["cost_nano_usd"]);
  }
  EXPECT_EQ(send(gw, "POST", "/v1/chat/completions", chat("gpt-test", "hi"), key).status, 200);

  Process again;
  again.start({TG_TOLLGATE_BIN, "store", "migrate", "--from", db, "--to", url});
  EXPECT_EQ(again.wait(), 1);
  EXPECT_NE(again.output().find("already holds data"), std::string::npos) << again.output();
}

// libpq (and the twenty libraries it needs) is loaded only when a PostgreSQL store is used: an
// instance on SQLite, the default, does without the memory they take.
bool loads_libpq(Gateway& gw) {
  std::ifstream maps("/proc/" + std::to_string(gw.process().pid()) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("/libpq.so") != std::string::npos) return true;
  }
  return false;
}

TEST(Postgres, LibpqIsLoadedOnlyForAPostgresStore) {
  Mock mock;
  Gateway sqlite(mock_config(mock));
  ASSERT_EQ(send(sqlite, "GET", "/ready").status, 200);
  EXPECT_FALSE(loads_libpq(sqlite));

  REQUIRE_POSTGRES();
  PostgresServer server;
  Gateway postgres(pg_config(mock, server.create_database()));
  ASSERT_EQ(send(postgres, "GET", "/ready").status, 200);
  EXPECT_TRUE(loads_libpq(postgres));
}

}  // namespace
}  // namespace tg::it
