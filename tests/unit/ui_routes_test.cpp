// The web UI's routes and the admin endpoints it reads.

#include <gtest/gtest.h>

#include "tollgate/api/routes.hpp"

using namespace tg::api;

TEST(UiRoutes, UiFilesAndSessionNeedNoKeyButLiveOnTheAdminPort) {
  for (const char* path : {"/ui", "/ui/assets/0123456789abcdef/app.js", "/ui/assets/x/y/z.svg"}) {
    auto m = match(path);
    ASSERT_TRUE(m) << path;
    EXPECT_EQ(m->route->id, RouteId::UiFile);
    EXPECT_EQ(m->route->access, Access::Ui);
    EXPECT_TRUE(m->route->admin_port);
    EXPECT_FALSE(m->route->llm);
    EXPECT_TRUE(allows(*m->route, "GET"));
    EXPECT_TRUE(allows(*m->route, "HEAD"));
    EXPECT_FALSE(allows(*m->route, "POST"));
  }
  auto s = match("/ui/api/session");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->route->id, RouteId::UiSession);
  EXPECT_EQ(s->route->access, Access::Ui);
  for (const char* m : {"GET", "POST", "DELETE"}) EXPECT_TRUE(allows(*s->route, m)) << m;
  EXPECT_FALSE(allows(*s->route, "PATCH"));
  EXPECT_EQ(match("/ui/api/other")->route->id, RouteId::UiFile) << "its 404 has the UI's headers";
  EXPECT_EQ(match("/ui/x")->route->id, RouteId::UiFile);
  EXPECT_FALSE(match("/uix"));
}

TEST(UiRoutes, PlaygroundAliasIsTheChatOnTheAdminPort) {
  auto m = match("/ui/api/chat/completions");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route->id, RouteId::ChatCompletions);
  EXPECT_EQ(m->route->access, Access::Key);
  EXPECT_TRUE(m->route->llm);
  EXPECT_TRUE(m->route->admin_port);
  EXPECT_FALSE(match("/chat/completions")->route->admin_port);
}

TEST(UiRoutes, AdminDataEndpoints) {
  for (auto [path, id] : {std::pair{"/admin/stats", RouteId::AdminStats},
                          std::pair{"/admin/providers", RouteId::AdminProviders},
                          std::pair{"/admin/config", RouteId::AdminConfig}}) {
    auto m = match(path);
    ASSERT_TRUE(m) << path;
    EXPECT_EQ(m->route->id, id);
    EXPECT_EQ(m->route->access, Access::Master);
    EXPECT_TRUE(m->route->admin_port);
    EXPECT_FALSE(allows(*m->route, "POST"));
  }
  auto row = match("/admin/logs/42");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->route->id, RouteId::AdminLogById);
  EXPECT_EQ(row->id, "42");
  EXPECT_EQ(match("/admin/logs")->route->id, RouteId::AdminLogs);
  EXPECT_FALSE(match("/admin/logs/42/x"));
  EXPECT_FALSE(match("/admin/logs/"));
}
