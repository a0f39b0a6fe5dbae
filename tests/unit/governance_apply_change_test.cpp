// GovernanceState::apply_change: another instance's key or team change (store.postgres, LISTEN/
// NOTIFY) applied to this instance's memory as its own admin API would.

#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "tollgate/admin/governance_state.hpp"

namespace tg::admin {
namespace {

using nlohmann::json;
using store::StoreChange;

governance::KeyRecord new_key(const std::string& name) {
  governance::KeySpec spec;
  spec.name = name;
  return governance::create_key(spec, std::chrono::sys_seconds(std::chrono::seconds(1'790'000'000)))
      .record;
}

StoreChange key_change(const governance::KeyRecord& r, bool revoked) {
  StoreChange c;
  c.kind = StoreChange::Kind::Key;
  c.id = r.id;
  c.key = store::KeyRow{r.id, r.key_hash, stored_key_json(r), revoked};
  return c;
}

TEST(ApplyChange, AKeyIsAddedUpdatedAndRemoved) {
  GovernanceState st;
  auto cfg = config::testing::load("keys:\n  - name: filed\n    key: sk-filed-0123456789\n");
  ASSERT_TRUE(cfg.errors.empty());
  st.load({}, *cfg.config);
  auto rec = new_key("remote");
  st.apply_change(key_change(rec, false));
  auto got = st.keys.snapshot()->get(rec.id);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->enabled);
  EXPECT_EQ(st.keys.snapshot()->find_by_hash(rec.key_hash), st.keys.snapshot()->find_by_id(rec.id));

  rec.enabled = false;
  rec.budget = config::BudgetConfig{};
  rec.budget->usd = 2;
  st.apply_change(key_change(rec, false));
  got = st.keys.snapshot()->get(rec.id);
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->enabled);
  EXPECT_EQ(st.budgets_remaining().size(), 1u);  // the budget reached the ledger
  st.apply_change(key_change(rec, false));       // the same change twice: no harm
  EXPECT_EQ(st.keys.snapshot()->size(), 2u);

  st.apply_change(key_change(rec, true));  // deleted there
  EXPECT_FALSE(st.keys.snapshot()->get(rec.id));
  StoreChange gone;
  gone.id = "key_unknown";
  st.apply_change(gone);  // a row that is not there, for a key not here: nothing
  EXPECT_EQ(st.keys.snapshot()->size(), 1u);

  // A key declared in this instance's config.yaml is the file's, not the database's.
  auto filed = st.keys.snapshot()->all().front();
  StoreChange clash;
  clash.id = filed->id;
  st.apply_change(clash);
  EXPECT_TRUE(st.keys.snapshot()->get(filed->id));
}

TEST(ApplyChange, ATeamIsPutAndRemoved) {
  GovernanceState st;
  auto cfg = config::testing::load("teams:\n  - name: filed\n");
  ASSERT_TRUE(cfg.errors.empty()) << config::testing::rendered(cfg)[0];
  st.load({}, *cfg.config);
  StoreChange c;
  c.kind = StoreChange::Kind::Team;
  c.id = "ops";
  c.team = store::TeamRow{"ops", json{{"name", "ops"}, {"budget", {{"usd", 3}, {"period", "daily"}}}}};
  st.apply_change(c);
  auto t = st.team("ops");
  ASSERT_TRUE(t);
  ASSERT_TRUE(t->budget);
  EXPECT_EQ(t->budget->usd, 3);
  EXPECT_EQ(t->budget->period, config::BudgetPeriod::Daily);
  c.team.reset();  // deleted there
  st.apply_change(c);
  EXPECT_FALSE(st.team("ops"));
  StoreChange filed;
  filed.kind = StoreChange::Kind::Team;
  filed.id = "filed";
  st.apply_change(filed);
  EXPECT_TRUE(st.team("filed"));  // config teams are the file's
}

}  // namespace
}  // namespace tg::admin
