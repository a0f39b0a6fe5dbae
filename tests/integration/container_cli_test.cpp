// The container image's subcommands on the real daemon: `tollgate healthcheck` (the image's
// HEALTHCHECK) and `tollgate backup` (the online backup docs/nas.md promises), and the part of
// `tollgate entrypoint` that touches nothing (the rest needs a chroot: docker/verify-rootfs.sh).

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "../support/redis_server.hpp"
#include "harness.hpp"

namespace tg::it {
namespace {

int64_t requests_in(const std::string& db) {
  sqlite3* conn = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(conn, "SELECT COUNT(*) FROM requests", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(conn);
  return n;
}

int run(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& env,
        std::string* output = nullptr) {
  Process p;
  p.start(argv, env);
  int rc = p.wait(std::chrono::seconds(20));
  if (output) *output = p.output();
  return rc;
}

TEST(ContainerCli, HealthcheckIsZeroWhileServingAndOneOnceStopped) {
  Mock mock;
  Gateway gw(mock_config(mock));
  const std::string port = std::to_string(gw.port());
  // As the image runs it: the port from TOLLGATE_LISTEN, whose 0.0.0.0 means "probe loopback".
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "healthcheck"}, {{"TOLLGATE_LISTEN", "0.0.0.0:" + port}}), 0);
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "healthcheck", "127.0.0.1:" + port}, {}), 0);
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "healthcheck", port}, {{"TOLLGATE_LISTEN", "127.0.0.1:1"}}), 0);
  std::string out;
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "healthcheck", "no-port-here"}, {}, &out), 1);
  EXPECT_NE(out.find("want HOST:PORT"), std::string::npos) << out;

  gw.process().signal(SIGTERM);
  ASSERT_EQ(gw.process().wait(), 0);
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "healthcheck", "127.0.0.1:" + port}, {}, &out), 1);
  EXPECT_NE(out.find("unhealthy"), std::string::npos) << out;
}

TEST(ContainerCli, HealthcheckIsOneOnAnAnswerOtherThan200) {
  // The mock answers /health with 404: a live port is not enough to be healthy.
  Mock mock;
  std::string out;
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "healthcheck", "127.0.0.1:" + std::to_string(mock.port())}, {}, &out), 1);
  EXPECT_NE(out.find("unhealthy: HTTP "), std::string::npos) << out;
}

TEST(ContainerCli, HealthcheckReadyFollowsReadyNotHealth) {
  // Fail-closed Redis gone: still serving (/health 200), not ready (/ready 503 redis_down).
  Mock mock;
  testing::RedisServer redis;
  Gateway gw(mock_config(mock, "store:\n  redis: " + redis.url() +
                                   "\n  redis_timeout: 100ms\n  redis_fail: closed\n"));
  const std::string at = "127.0.0.1:" + std::to_string(gw.port());
  ASSERT_TRUE(eventually([&] { return gw.get("/ready").status == 200; }));
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "healthcheck", "--ready", at}, {}), 0);
  redis.kill(SIGKILL);
  ASSERT_TRUE(eventually([&] { return gw.get("/ready").status == 503; }));
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "healthcheck", at}, {}), 0);
  std::string out;
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "healthcheck", "--ready", at}, {}, &out), 1);
  EXPECT_NE(out.find("unhealthy: HTTP 503"), std::string::npos) << out;
  // The port alone, as the image runs it (TOLLGATE_LISTEN's host is probed on loopback).
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "healthcheck", "--ready"},
                {{"TOLLGATE_LISTEN", "0.0.0.0:" + std::to_string(gw.port())}}), 1);
}

TEST(ContainerCli, BackupWhileServingHoldsEveryLoggedRequest) {
  Mock mock;
  const std::string dir = temp_dir();
  const std::string db = dir + "/tollgate.db";
  Gateway gw(mock_config(mock, "store:\n  sqlite: " + db + "\n"));
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "back me up", i % 2 == 1)).status, 200);
  ASSERT_TRUE(eventually([&] { return requests_in(db) == 5; }));

  // Found through the config, as `docker exec tollgate tollgate backup FILE` finds it.
  std::string out;
  ASSERT_EQ(run({TG_TOLLGATE_BIN, "backup", dir + "/backup.db"}, {{"TOLLGATE_CONFIG", gw.config_path()}}, &out), 0)
      << out;
  EXPECT_NE(out.find("quick_check ok"), std::string::npos) << out;
  EXPECT_EQ(requests_in(dir + "/backup.db"), 5);
  EXPECT_FALSE(std::filesystem::exists(dir + "/backup.db.part"));

  // The daemon keeps serving and writing while and after the copy is taken.
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "after the backup")).status, 200);
  ASSERT_TRUE(eventually([&] { return requests_in(db) == 6; }));
  ASSERT_EQ(run({TG_TOLLGATE_BIN, "backup", "--db", db, dir + "/backup.db"}, {}, &out), 0) << out;
  EXPECT_EQ(requests_in(dir + "/backup.db"), 6);
}

TEST(ContainerCli, BackupOfAMissingDatabaseFailsAndWritesNothing) {
  const std::string dir = temp_dir();
  std::string out;
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "backup", "--db", dir + "/nope.db", dir + "/backup.db"}, {}, &out), 1);
  EXPECT_NE(out.find("cannot open"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir + "/nope.db"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/backup.db"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/backup.db.part"));
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "backup"}, {}, &out), 2);
}

// After `tollgate store migrate`, store.sqlite may still name the old file: copying it would be a
// "backup" of data that is no longer the store. Refused, and pg_dump named.
TEST(ContainerCli, BackupRefusesAPostgresStoreInsteadOfCopyingAStaleSqliteFile) {
  const std::string dir = temp_dir();
  sqlite3* old = nullptr;  // the file the SQLite store left behind
  ASSERT_EQ(sqlite3_open((dir + "/old.db").c_str(), &old), SQLITE_OK);
  sqlite3_exec(old, "CREATE TABLE requests (id TEXT)", nullptr, nullptr, nullptr);
  sqlite3_close(old);
  const std::string config = dir + "/config.yaml";
  {
    std::ofstream f(config);
    f << "store:\n  sqlite: " << dir << "/old.db\n"
      << "  postgres: postgresql://tollgate@127.0.0.1:1/tollgate\n";
  }
  std::string out;
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "backup", "--config", config, dir + "/backup.db"}, {}, &out), 1);
  EXPECT_NE(out.find("pg_dump"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir + "/backup.db"));
}

TEST(ContainerCli, EntrypointRefusesAPuidThatIsNotANumberBeforeTouchingAnything) {
  // Refused before any file is looked at: safe to run on a host (the rest of the entrypoint
  // chowns /data, so it runs in docker/verify-rootfs.sh's chroot instead).
  if (::geteuid() != 0) GTEST_SKIP() << "PUID/PGID apply only when started as root";
  std::string out;
  EXPECT_EQ(run({TG_TOLLGATE_BIN, "entrypoint", "--version"}, {{"PUID", "10x"}, {"PGID", "1"}}, &out), 64);
  EXPECT_NE(out.find("PUID and PGID must be numbers"), std::string::npos) << out;
}

// The allocator is named, and a linked mimalloc really serves malloc (the binary checks an
// allocation at start): a link-order change that left glibc's malloc bound would show here.
TEST(ContainerCli, VersionNamesTheAllocatorThatServesMalloc) {
  std::string out;
  ASSERT_EQ(run({TG_TOLLGATE_BIN, "--version"}, {}, &out), 0) << out;
  const bool mimalloc = out.find("(mimalloc 2.") != std::string::npos;
  EXPECT_TRUE(mimalloc || out.find("(glibc malloc)") != std::string::npos) << out;
  EXPECT_EQ(out.find("bound elsewhere"), std::string::npos) << out;
}

}  // namespace
}  // namespace tg::it
