#include <gtest/gtest.h>

#include "tollgate/api/routes.hpp"

using namespace tg::api;

TEST(Routes, ExactPathsAndTheirPolicy) {
  auto m = match("/chat/completions");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route->id, RouteId::ChatCompletions);
  EXPECT_TRUE(m->route->llm);
  EXPECT_EQ(m->route->access, Access::Key);
  EXPECT_TRUE(allows(*m->route, "POST"));
  EXPECT_FALSE(allows(*m->route, "GET"));

  m = match("/admin/logs");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route->access, Access::Master);
  EXPECT_TRUE(m->route->admin_port);

  m = match("/health");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route->access, Access::Open);
  EXPECT_TRUE(allows(*m->route, "HEAD"));
}

TEST(Routes, ResponsesById) {
  auto m = match("/responses/resp_123");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route->id, RouteId::ResponseById);
  EXPECT_EQ(m->id, "resp_123");
  EXPECT_TRUE(allows(*m->route, "DELETE"));
  EXPECT_FALSE(allows(*m->route, "POST"));

  m = match("/responses/resp_123/input_items");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route->id, RouteId::ResponseInputItems);
  EXPECT_EQ(m->id, "resp_123");

  EXPECT_FALSE(match("/responses/"));
  EXPECT_FALSE(match("/responses/a/b"));
  EXPECT_FALSE(match("/responses//input_items"));
}

TEST(Routes, AdminGovernancePrefixIsSegmentBound) {
  EXPECT_TRUE(match("/admin/keys"));
  EXPECT_TRUE(match("/admin/keys/k1"));
  EXPECT_TRUE(match("/admin/teams/t1"));
  EXPECT_FALSE(match("/admin/keysX"));
  EXPECT_FALSE(match("/admin/other"));
}

TEST(Routes, ModelIdsMayHoldSlashes) {
  auto m = match("/models/openai/gpt-4o");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route->id, RouteId::Models);
  EXPECT_EQ(m->id, "openai/gpt-4o");
  EXPECT_FALSE(match("/unknown"));
}
