// The admin API's pure core (src/admin/governance_state.cpp): strict request bodies, and writes
// that change memory only when the caller commits them (after the store confirmed).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tollgate/admin/governance_state.hpp"

namespace tg::admin {
namespace {

using json = nlohmann::json;
const auto kNow = std::chrono::sys_days{std::chrono::year{2026} / 12 / 6} + std::chrono::hours(4);

AdminResponse call(GovernanceState& st, std::string_view method, std::string_view path,
                   const json& body = nullptr) {
  return admin_api(st, method, path, body.is_null() ? "" : body.dump(), kNow);
}

// A write, committed as the handler does once the store said yes.
AdminResponse commit(GovernanceState& st, AdminResponse r) {
  if (!r.is_write()) return r;
  return r.commit(st);
}

std::string message(const AdminResponse& r) { return r.body["error"].value("message", ""); }

TEST(AdminApi, UnknownFieldIsRefusedNamingIt) {
  GovernanceState st;
  // A typo must not create an unlimited key.
  auto r = call(st, "POST", "/admin/keys", {{"name", "app"}, {"budget_usd", 5}});
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(r.is_write());
  EXPECT_EQ(r.body["error"]["param"], "budget_usd");
  EXPECT_EQ(r.body["error"]["code"], "unknown_field");
  EXPECT_NE(message(r).find("unknown field 'budget_usd'"), std::string::npos) << message(r);
  EXPECT_NE(message(r).find("did you mean 'budget'"), std::string::npos) << message(r);
  // Nested objects too.
  r = call(st, "POST", "/admin/keys", {{"name", "app"}, {"budget", {{"usd", 5}, {"perid", "daily"}}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["error"]["param"], "budget.perid");
  EXPECT_NE(message(r).find("did you mean 'period'"), std::string::npos) << message(r);
  r = call(st, "POST", "/admin/keys", {{"name", "app"}, {"limits", {{"rpms", 5}}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["error"]["param"], "limits.rpms");
  EXPECT_EQ(st.keys.snapshot()->size(), 0u);
  // Teams as well.
  r = call(st, "POST", "/admin/teams", {{"name", "blue"}, {"budgte", {{"usd", 5}}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["error"]["param"], "budgte");
  EXPECT_TRUE(st.teams().empty());
}

TEST(AdminApi, EveryNumberAndStringIsBounded) {
  GovernanceState st;
  auto refused = [&](const json& extra, std::string_view param) {
    json b = {{"name", "app"}};
    b.update(extra);
    auto r = call(st, "POST", "/admin/keys", b);
    EXPECT_EQ(r.status, 400) << b.dump();
    EXPECT_EQ(r.body["error"]["param"], param) << b.dump() << " -> " << r.body.dump();
  };
  refused({{"budget", {{"usd", -1}}}}, "budget.usd");
  refused({{"budget", {{"usd", 1e12}}}}, "budget.usd");
  refused({{"budget", {{"usd", "5"}}}}, "budget.usd");
  refused({{"budget", {{"usd", 5}, {"period", "yearly"}}}}, "budget.period");
  refused({{"limits", {{"rpm", -1}}}}, "limits.rpm");
  refused({{"limits", {{"tpm", 1e15}}}}, "limits.tpm");
  refused({{"limits", {{"tpm", 18446744073709551615ull}}}}, "limits.tpm");
  refused({{"limits", {{"parallel", 5'000'000}}}}, "limits.parallel");
  refused({{"limits", {{"rpm", 1.5}}}}, "limits.rpm");
  refused({{"expires_at", "next tuesday"}}, "expires_at");
  refused({{"expires_at", "2026-13-45"}}, "expires_at");
  refused({{"expires_at", -5}}, "expires_at");
  refused({{"expires_at", int64_t{1} << 60}}, "expires_at");
  refused({{"name", std::string(1000, 'a')}}, "name");
  refused({{"name", "a\r\nX-Injected: 1"}}, "name");
  refused({{"team", std::string(1000, 't')}}, "team");
  refused({{"models", json::array({std::string(5000, 'm')})}}, "models");
  json many = json::object();
  for (int i = 0; i < 100; ++i) many["k" + std::to_string(i)] = "v";
  refused({{"metadata", many}}, "metadata");
  refused({{"metadata", {{"k", std::string(5000, 'v')}}}}, "metadata");
  EXPECT_EQ(st.keys.snapshot()->size(), 0u);
  // In range: accepted.
  auto ok = commit(st, call(st, "POST", "/admin/keys",
                            {{"name", "app"},
                             {"budget", {{"usd", 0}, {"period", "total"}}},
                             {"limits", {{"rpm", 0}, {"tpm", 1'000'000'000}, {"parallel", 10}}},
                             {"expires_at", "2030-01-01T00:00:00Z"}}));
  EXPECT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["expires_at"], "2030-01-01T00:00:00Z");
}

TEST(AdminApi, PatchRefusesUnknownFieldsAndKeepsTheKey) {
  GovernanceState st;
  auto made = commit(st, call(st, "POST", "/admin/keys", {{"name", "app"}, {"budget", {{"usd", 5}}}}));
  ASSERT_EQ(made.status, 200);
  std::string id = made.body["id"];
  auto r = call(st, "PATCH", "/admin/keys/" + id, {{"budget", {{"usd", 5}}}, {"enabeld", false}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body["error"]["param"], "enabeld");
  EXPECT_NE(message(r).find("did you mean 'enabled'"), std::string::npos) << message(r);
  EXPECT_TRUE(st.keys.snapshot()->get(id)->enabled);
}

// Issue 16: a failed store write left a live key, a deleted key came back after a restart. The
// pure core now returns the change; memory moves only when the caller commits it.
TEST(AdminApi, WritesChangeNothingUntilCommitted) {
  GovernanceState st;
  auto post = call(st, "POST", "/admin/keys", {{"name", "app"}, {"budget", {{"usd", 5}}}});
  ASSERT_TRUE(post.is_write());
  ASSERT_EQ(post.save_keys.size(), 1u);
  EXPECT_FALSE(post.save_keys[0].revoked);
  // The store refused (the handler never commits): no key, no budget.
  EXPECT_EQ(st.keys.snapshot()->size(), 0u);
  EXPECT_TRUE(st.ledger.holders().empty());
  auto made = post.commit(st);
  ASSERT_EQ(made.status, 200);
  std::string id = made.body["id"];
  std::string plaintext = made.body["key"];
  EXPECT_NE(st.keys.snapshot()->find_by_key(plaintext), nullptr);
  EXPECT_EQ(st.ledger.holders().size(), 1u);

  auto patch = call(st, "PATCH", "/admin/keys/" + id, {{"enabled", false}});
  ASSERT_TRUE(patch.is_write());
  EXPECT_EQ(patch.save_keys[0].record["enabled"], false);
  EXPECT_TRUE(st.keys.snapshot()->get(id)->enabled);  // not yet
  EXPECT_EQ(patch.commit(st).body["enabled"], false);
  EXPECT_FALSE(st.keys.snapshot()->get(id)->enabled);

  auto del = call(st, "DELETE", "/admin/keys/" + id);
  ASSERT_TRUE(del.is_write());
  ASSERT_EQ(del.save_keys.size(), 1u);
  EXPECT_TRUE(del.save_keys[0].revoked);  // the revocation is what gets persisted
  EXPECT_NE(st.keys.snapshot()->find_by_key(plaintext), nullptr);  // the store has not said yes
  EXPECT_EQ(del.commit(st).body["deleted"], true);
  EXPECT_EQ(st.keys.snapshot()->find_by_key(plaintext), nullptr);

  auto team = call(st, "POST", "/admin/teams", {{"name", "blue"}, {"budget", {{"usd", 1}}}});
  ASSERT_TRUE(team.is_write());
  EXPECT_FALSE(st.team("blue"));
  team.commit(st);
  EXPECT_TRUE(st.team("blue"));
  auto gone = call(st, "DELETE", "/admin/teams/blue");
  ASSERT_TRUE(gone.is_write());
  EXPECT_TRUE(st.team("blue"));
  gone.commit(st);
  EXPECT_FALSE(st.team("blue"));
}

TEST(AdminApi, SpendIsShownExactlyInNanos) {
  GovernanceState st;
  auto made = commit(st, call(st, "POST", "/admin/keys", {{"name", "app"}}));
  std::string id = made.body["id"];
  st.add_total({{governance::key_holder(id), 0, 225}});  // 3 tokens at $0.075/1M
  auto k = call(st, "GET", "/admin/keys/" + id);
  EXPECT_EQ(k.body["spend_nano_usd"], 225);
  EXPECT_DOUBLE_EQ(k.body["spend_usd"].get<double>(), 225e-9);
}

// Soak finding: each deleted key left its budget entry and its lifetime spend in memory (about
// 300 bytes a key, for ever). Deleted keys and teams leave nothing behind, and a request that
// settles after its key was deleted does not bring it back.
TEST(AdminApi, ADeletedKeyOrTeamLeavesNothingBehind) {
  GovernanceState st;
  auto made = commit(st, call(st, "POST", "/admin/keys", {{"name", "app"}, {"budget", {{"usd", 5}}}}));
  std::string id = made.body["id"];
  const std::string holder = governance::key_holder(id);
  st.add_total({{holder, 0, 225}});
  ASSERT_EQ(st.total(holder), 225);
  ASSERT_TRUE(st.ledger.spend(holder).has_value());
  commit(st, call(st, "DELETE", "/admin/keys/" + id));
  EXPECT_EQ(st.total(holder), 0);
  EXPECT_FALSE(st.ledger.spend(holder).has_value());
  EXPECT_TRUE(st.ledger.holders().empty());
  st.add_total({{holder, 0, 100}});  // a request that was in flight when the key went
  EXPECT_EQ(st.total(holder), 0);

  commit(st, call(st, "POST", "/admin/teams", {{"name", "blue"}, {"budget", {{"usd", 1}}}}));
  const std::string team = governance::team_holder("blue");
  st.add_total({{team, 0, 50}});
  ASSERT_EQ(st.total(team), 50);
  commit(st, call(st, "DELETE", "/admin/teams/blue"));
  EXPECT_EQ(st.total(team), 0);
  st.add_total({{team, 0, 50}});
  EXPECT_EQ(st.total(team), 0);
}

}  // namespace
}  // namespace tg::admin
