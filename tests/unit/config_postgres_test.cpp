// store.postgres in config.yaml: ${VAR} expansion, and a clear error (never echoing the value,
// which holds a password) for anything that is not a PostgreSQL URL.

#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace tg::config {
namespace {

using testing::load;
using testing::rendered;

TEST(ConfigPostgres, AUrlIsReadWithItsVariablesExpanded) {
  auto r = load("store:\n  postgres: postgresql://tollgate:${PGPW}@db:5432/tollgate\n",
                {{"PGPW", "s3cret"}});
  ASSERT_TRUE(r.errors.empty()) << rendered(r)[0];
  EXPECT_EQ(r.config->store.postgres, "postgresql://tollgate:s3cret@db:5432/tollgate");
  auto short_scheme = load("store:\n  postgres: postgres://db/x\n");
  ASSERT_TRUE(short_scheme.errors.empty());
  EXPECT_EQ(short_scheme.config->store.postgres, "postgres://db/x");
}

TEST(ConfigPostgres, NotSetMeansSqlite) {
  auto r = load("store:\n  sqlite: ./x.db\n");
  ASSERT_TRUE(r.errors.empty());
  EXPECT_TRUE(r.config->store.postgres.empty());
}

TEST(ConfigPostgres, AnythingButAPostgresUrlIsAnErrorThatDoesNotEchoTheValue) {
  for (const char* bad : {"mysql://u:hunter2@db/x", "db:5432", "postgresql://", "\"\""}) {
    auto r = load(std::string("store:\n  postgres: ") + bad + "\n");
    ASSERT_EQ(r.errors.size(), 1u) << bad;
    const std::string msg = rendered(r)[0];
    EXPECT_NE(msg.find("line 2: store.postgres: must be a PostgreSQL URL"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
  }
  auto typo = load("store:\n  postgress: postgresql://db/x\n");
  ASSERT_EQ(typo.errors.size(), 1u);
  EXPECT_NE(rendered(typo)[0].find("did you mean 'postgres'"), std::string::npos) << rendered(typo)[0];
}

}  // namespace
}  // namespace tg::config
