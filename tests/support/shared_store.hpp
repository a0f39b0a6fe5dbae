#pragma once
// Helpers of the integration tests that run several tollgate instances on real servers
// (redis_test, postgres_test, scale_test): a small budgeted chat body, a key as an instance's
// admin API shows it, "is this instance connected to Redis", and one number out of PostgreSQL.

#include <cstdint>
#include <stdexcept>
#include <string>

#include "../integration/harness.hpp"
#include "postgres_server.hpp"
#include "tollgate/store/postgres_conn.hpp"

// Skips the test when Debian's postgresql-15 is not installed.
#define REQUIRE_POSTGRES()                                                                       \
  if (!::tg::test::PostgresServer::available())                                                  \
  GTEST_SKIP() << "PostgreSQL 15 binaries not found in " << ::tg::test::PostgresServer::bin_dir() \
               << " (apt-get install postgresql-15)"

namespace tg::it {

// gpt-test with a 20-token cap: a small, known reservation.
inline json small_chat(const std::string& text) {
  return {{"model", "gpt-test"},
          {"messages", {{{"role", "user"}, {"content", text}}}},
          {"max_tokens", 20}};
}

// The key named `name` as /admin/keys on this instance shows it (null when absent).
inline json find_key(Gateway& gw, const std::string& name) {
  json all = gw.get("/admin/keys").json_body();
  for (const auto& k : all["data"]) {
    if (k["name"] == name) return k;
  }
  return nullptr;
}

// Waits until the instance's workers are connected to Redis (/metrics tollgate_redis_up 1).
inline bool redis_up(Gateway& gw) {
  return eventually([&] {
    return gw.get("/metrics").body.find("tollgate_redis_up 1") != std::string::npos;
  });
}

// The first column of the first row of `sql` (0 for SQL NULL).
inline int64_t pg_scalar(const std::string& url, const std::string& sql) {
  store::pg::Conn c;
  std::string err;
  if (!c.connect(url, 5, &err)) throw std::runtime_error(err);
  return c.exec(sql).i64(0, 0);
}

}  // namespace tg::it
