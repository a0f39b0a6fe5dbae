#pragma once
// The live governance state shared by every worker (keys, teams, budgets, rate limits, all-time
// spend), and the admin API over it. Pure: the HTTP handler does the I/O and the store writes
// this code asks for. Thread-safe.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "tollgate/config/config.hpp"
#include "tollgate/governance/keys.hpp"
#include "tollgate/governance/ledger.hpp"
#include "tollgate/governance/rate_limit.hpp"
#include "tollgate/store/store.hpp"

namespace tg::admin {

struct Team {
  std::string id;  // the team's name is its id (keys refer to teams by name)
  std::optional<config::BudgetConfig> budget;
  governance::KeySource source = governance::KeySource::Admin;
  std::chrono::sys_seconds created_at{};
};

class GovernanceState {
 public:
  governance::KeyIndex keys;
  governance::BudgetLedger ledger;
  governance::RateLimiter limiter;

  // Start-up: admin keys and teams from the store, then the config's, then spend.
  // Returns warnings to log.
  std::vector<std::string> load(const store::LoadedState& stored, const config::Config& config);
  // A key or team another instance changed (store.postgres), applied as a local admin change
  // would be: upserted, or removed when deleted. Config-declared ones are left alone.
  void apply_change(const store::StoreChange& change);
  // Reload: the config's keys and teams replace the previous config's (admin ones stay).
  std::vector<std::string> apply_config(const config::Config& config);

  // Spend settled for a request: all-time totals (the ledger keeps the period).
  void add_total(const std::vector<governance::SpendDelta>& deltas);
  governance::Nanos total(std::string_view holder) const;

  std::optional<Team> team(std::string_view id) const;
  std::vector<Team> teams() const;
  void put_team(Team t);
  bool remove_team(std::string_view id);
  // A deleted key: refused from now on, and nothing of it kept (its rate windows, its budget,
  // its lifetime spend): a server that churns keys for months must not grow with them.
  void forget_key(std::string_view id);

  // The key's record as the admin API shows it (never the key itself).
  nlohmann::json key_json(const governance::KeyRecord& r) const;
  nlohmann::json team_json(const Team& t) const;
  // Budget left for a key (its own budget), for the metrics gauge; nullopt without a budget.
  std::optional<double> budget_remaining_usd(const governance::KeyRecord& r) const;
  // (key name, budget left) for every key with a budget: the gauge's whole set.
  std::vector<std::pair<std::string, double>> budgets_remaining() const;

 private:
  void set_key_budget(const governance::KeyRecord& r);
  void set_team_budget(const Team& t);
  // A holder ("key:<id>", "team:<id>") that still exists; mu_ held.
  bool live_locked(std::string_view holder) const;

  mutable std::mutex mu_;
  std::map<std::string, Team> teams_;
  std::unordered_map<std::string, governance::Nanos> totals_;
};

// A key record <-> the JSON kept in the store (the admin shape plus key_hash and source).
nlohmann::json stored_key_json(const governance::KeyRecord& r);
std::optional<governance::KeyRecord> key_from_stored_json(const nlohmann::json& j);

struct AdminResponse {
  int status = 200;
  nlohmann::json body;
  // A write: the rows to persist, and `commit`, which publishes the change to memory and returns
  // the answer. The caller runs commit only after the store confirmed every row; on a failed write
  // it answers an error and memory is unchanged (no live key the store does not know, no revoked
  // key that comes back after a restart).
  std::vector<store::KeyRow> save_keys{};
  std::vector<store::TeamRow> save_teams{};
  std::vector<std::string> delete_teams{};
  std::function<AdminResponse(GovernanceState&)> commit{};
  bool is_write() const { return static_cast<bool>(commit); }
};

// /admin/keys[/{id}] and /admin/teams[/{id}] (path without /v1, method as received). Changes
// nothing by itself: a write's change is in the returned commit.
AdminResponse admin_api(GovernanceState& state, std::string_view method, std::string_view path,
                        std::string_view body, std::chrono::system_clock::time_point now);

}  // namespace tg::admin
