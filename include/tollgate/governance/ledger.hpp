#pragma once
// The budget ledger: the in-memory authority for spend per budget holder (virtual keys and teams),
// with reserve -> settle/release so that concurrent requests cannot overshoot a budget. Pure,
// thread-safe (a mutex per shard, short critical sections, no I/O and no allocation-heavy work
// under a lock), injectable clock.
//
// Holders are strings: "key:<key id>" and "team:<team id>" (key_holder()/team_holder()), the same
// names the store uses for its spend rows.
//
// The rule that prevents overshoot: a reservation is granted only if, for every budget involved
// (the key's and its team's), spent + reserved + estimate <= limit and spent + reserved < limit.
// So a used-up budget refuses everything (even a request estimated at $0), and under N concurrent
// requests the overshoot is bounded by the sum of (actual - estimate) of the requests that exceeded
// their estimate, never by a multiple of the budget. Settlement adds the actual cost to `spent`
// even past the limit (the money was spent).
//
// Periods are calendar-aligned in UTC: daily at 00:00, weekly on Monday 00:00, monthly on the 1st
// 00:00, total never. A holder's period rolls over lazily (spent -> 0) the first time it is touched
// at or after the boundary; in-flight reservations carry over to the new period.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tollgate/config/config.hpp"
#include "tollgate/core/error.hpp"
#include "tollgate/governance/money.hpp"

namespace tg::governance {

using SysClock = std::chrono::system_clock;
using SysSeconds = std::chrono::sys_seconds;

std::string key_holder(std::string_view key_id);    // "key:<id>"
std::string team_holder(std::string_view team_id);  // "team:<id>"

struct Period {
  SysSeconds start;                // sys_seconds{0} for total
  std::optional<SysSeconds> end;   // the next boundary = resets_at; nullopt for total
};
// The calendar period containing `now` (UTC). The store uses it too, to sum spend for load().
Period current_period(config::BudgetPeriod period, SysClock::time_point now);

struct BudgetSpec {
  Nanos limit = 0;
  config::BudgetPeriod period = config::BudgetPeriod::Monthly;
  // How the 429 message names the holder: the bare name ("flux" -> "key 'flux'" / "team 'flux'"
  // from the holder's prefix), or a phrase starting with "key " or "team ", used verbatim.
  std::string name;
};
// budget: {usd, period} -> spec (usd rounded to nUSD).
BudgetSpec budget_spec(const config::BudgetConfig& budget, std::string name);

// Same fields as store::SpendDelta: spend to add for `holder` in the period starting at
// period_start (unix seconds; 0 for a total budget and for a holder without a budget).
struct SpendDelta {
  std::string holder;
  int64_t period_start = 0;
  Nanos nano_usd = 0;
};

struct Settlement {
  std::optional<Nanos> cost;       // charged; nullopt = cost unknown (nothing charged)
  std::vector<SpendDelta> deltas;   // to persist: one per holder (key, then team) when cost > 0,
                                    // budget or not
};

// Why a reservation was refused: the first budget (key, then team) that could not fit it.
struct Refusal {
  std::string holder;   // "key:..." or "team:..."
  std::string name;     // display name from the BudgetSpec
  Nanos limit = 0;
  Nanos spent = 0;     // settled in the current period
  Nanos reserved = 0;  // in flight
  Nanos estimate = 0;  // this request's
  config::BudgetPeriod period = config::BudgetPeriod::Monthly;
  std::optional<SysSeconds> resets_at;  // nullopt for total
};

// The 429 insufficient_quota / budget_exceeded error of interface.md, naming the budget (key or
// team name, limit, period) and when it resets (ISO-8601 UTC). The caller adds the header
// `x-should-retry: false`. retryable = false, no Retry-After.
Error budget_exceeded_error(const Refusal& r);

struct HolderSpend {
  Nanos limit = 0;
  config::BudgetPeriod period = config::BudgetPeriod::Monthly;
  Nanos spent = 0;
  Nanos reserved = 0;
  SysSeconds period_start;
  std::optional<SysSeconds> resets_at;
  std::string name;
};

class BudgetLedger;
struct LedgerState;  // internal

// A granted reservation. Move-only; if it is destroyed while neither settled nor released (a
// coroutine that threw, a dropped connection), it releases itself: no leak. Holds the ledger's
// state alive, so it may outlive the BudgetLedger object.
class Reservation {
 public:
  Reservation() = default;
  Reservation(Reservation&& o) noexcept;
  Reservation& operator=(Reservation&& o) noexcept;
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;
  ~Reservation();

  bool active() const { return state_ != nullptr; }
  Nanos estimate() const { return estimate_; }
  const std::string& key_holder() const { return key_; }
  const std::string& team_holder() const { return team_; }

 private:
  friend class BudgetLedger;
  friend struct LedgerState;
  struct Held {  // a budget entry this reservation added `estimate_` to
    bool held = false;
    uint64_t generation = 0;
  };
  std::shared_ptr<LedgerState> state_;
  std::string key_, team_;
  Nanos estimate_ = 0;
  Held key_held_, team_held_;
};

class BudgetLedger {
 public:
  using Clock = std::function<SysClock::time_point()>;
  explicit BudgetLedger(Clock clock = {});  // default: system_clock::now
  ~BudgetLedger();
  BudgetLedger(const BudgetLedger&) = delete;
  BudgetLedger& operator=(const BudgetLedger&) = delete;

  // Reserves `estimate` against the key's budget and its team's (team_holder empty = no team),
  // atomically: both or neither. A holder without a budget is not limited (nothing is reserved on
  // it, but the Reservation still names it so settle() reports its spend). When no price is known
  // pass 0: the request then passes unless a budget is already used up.
  std::variant<Reservation, Refusal> reserve(std::string_view key_holder,
                                             std::string_view team_holder, Nanos estimate);

  // Ends the reservation and charges `actual` to every holder's current period (even past the
  // limit). actual == nullopt (no price, no usage): the reservation is released, nothing is
  // charged, and stats().unknown_cost counts it; never blocks. Returns what to persist.
  // An inactive (moved-from, already settled) reservation returns an empty Settlement.
  Settlement settle(Reservation&& r, std::optional<Nanos> actual);

  // Ends the reservation without charging (the request failed before any upstream spend).
  void release(Reservation&& r);

  // Charges `actual` to the holders' current periods with no reservation here (it was held in
  // the shared ledger, store.redis), exactly as settle() charges. Returns what to persist.
  Settlement charge(std::string_view key_holder, std::string_view team_holder,
                    std::optional<Nanos> actual);

  // Current-period view of a holder with a budget (rolls the period over if due); nullopt when the
  // holder has no budget.
  std::optional<HolderSpend> spend(std::string_view holder) const;

  // Restores spend from the store at start (call after set_budget()). Replaces `spent` when
  // period_start is the holder's current period start (0 for total); returns false (and changes
  // nothing) when the holder has no budget or the period is not the current one (stale row).
  bool load(std::string_view holder, Nanos spent, SysSeconds period_start);

  // Adds or changes a budget (admin API, config reload). Changing the limit keeps spent and
  // reserved. Changing the period re-anchors the period start to the new calendar period and keeps
  // `spent` (conservative); call load() with the store's exact figure for the new period if you
  // have it. Removing then adding again starts from zero.
  void set_budget(std::string_view holder, BudgetSpec spec);
  bool remove_budget(std::string_view holder);

  // Holders that currently have a budget (for metrics such as key_budget_remaining_usd).
  std::vector<std::string> holders() const;

  struct Stats {
    uint64_t granted = 0;
    uint64_t refused = 0;
    uint64_t settled = 0;
    uint64_t unknown_cost = 0;   // settled with an unknown cost: spend not counted
    uint64_t auto_released = 0;  // released by a Reservation's destructor
  };
  Stats stats() const;

 private:
  friend class Reservation;
  std::shared_ptr<LedgerState> state_;
};

}  // namespace tg::governance
