// The request log and spend survive restarts and crashes; the admin API reads them.

#include <signal.h>
#include <sqlite3.h>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

std::string config_with_store(const Mock& mock, const std::string& db) {
  return mock_config(mock) + "store:\n  sqlite: " + db + "\n" +
         "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n";
}

// Request rows in the database file, read with a connection of our own, as a crash recovery would.
int64_t rows_on_disk(const std::string& db) {
  sqlite3* conn = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(conn, "SELECT COUNT(*) FROM requests", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(conn);
  return n;
}

TEST(RequestLog, RowsAndSpendSurviveAGracefulRestart) {
  Mock mock;
  std::string db = temp_dir() + "/tollgate.db";
  {
    Gateway gw(config_with_store(mock, db));
    for (int i = 0; i < 7; ++i) {
      ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "log me", i % 2 == 0)).status, 200);
    }
    ASSERT_EQ(gw.post("/v1/chat/completions", chat("nope", "unknown model")).status, 404);
    auto logs = gw.get("/admin/logs?limit=3");
    ASSERT_EQ(logs.status, 200) << logs.body;
    // Rows reach the store within the flush interval; the newest may still be queued.
    EXPECT_TRUE(eventually([&] { return gw.get("/admin/logs").json_body()["data"].size() == 8; }));
    gw.process().signal(SIGTERM);
    ASSERT_EQ(gw.process().wait(), 0);
  }
  Gateway gw(config_with_store(mock, db));
  auto logs = gw.get("/admin/logs?limit=100").json_body()["data"];
  ASSERT_EQ(logs.size(), 8u);
  // Rows are in the order requests finished (a stream is recorded just after its last byte, so
  // the next request may be recorded first): look the 404 up rather than rely on its place.
  int not_found = 0;
  for (const auto& row : logs) {
    if (row["status"] == 404) {
      ++not_found;
      EXPECT_EQ(row["model"], "nope");
    } else {
      EXPECT_EQ(row["model"], "gpt-test");
      EXPECT_EQ(row["provider"], "mock");
      EXPECT_GT(row["tokens"]["input"].get<int>(), 0);
    }
  }
  EXPECT_EQ(not_found, 1);
  auto page = gw.get("/admin/logs?limit=5").json_body();
  ASSERT_EQ(page["data"].size(), 5u);
  auto next = gw.get("/admin/logs?limit=5&before=" + page["next_before"].dump()).json_body();
  EXPECT_EQ(next["data"].size(), 3u);
  auto only_404 = gw.get("/admin/logs?status=404").json_body()["data"];
  EXPECT_EQ(only_404.size(), 1u);
  auto spend = gw.get("/admin/spend?group_by=model").json_body();
  ASSERT_EQ(spend["data"].size(), 2u) << spend.dump();
  EXPECT_EQ(gw.get("/admin/spend?group_by=nonsense").status, 400);
  // The admin API wants the master key.
  EXPECT_EQ(gw.get("/admin/logs", "sk-not-master").status, 401);
}

TEST(RequestLog, KillNineLosesAtMostTheFlushIntervalAndTheFileOpens) {
  Mock mock;
  std::string db = temp_dir() + "/tollgate.db";
  int answered = 0;
  {
    Gateway gw(config_with_store(mock, db));
    for (int i = 0; i < 40; ++i) {
      if (gw.post("/v1/chat/completions", chat("gpt-test", "before the crash")).status == 200) {
        ++answered;
      }
    }
    // The rows reach the file on the writer's own schedule (no flush is asked for): within the
    // 250 ms flush bound, waited for here with room for a loaded (or sanitizer) machine.
    ASSERT_TRUE(eventually([&] { return rows_on_disk(db) == answered; }, std::chrono::seconds(3)))
        << rows_on_disk(db) << " of " << answered << " rows on disk";
    gw.process().signal(SIGKILL);
    gw.process().wait();
  }
  Gateway gw(config_with_store(mock, db));
  auto logs = gw.get("/admin/logs?limit=1000");
  ASSERT_EQ(logs.status, 200);
  EXPECT_EQ(logs.json_body()["data"].size(), static_cast<size_t>(answered));
}

}  // namespace
}  // namespace tg::it
