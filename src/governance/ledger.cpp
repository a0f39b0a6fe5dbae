// The budget ledger: sharded map of budget entries, reserve/settle/release, calendar periods.

#include "tollgate/governance/ledger.hpp"

#include <array>
#include <limits>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

namespace tg::governance {

namespace {

constexpr Nanos kMax = std::numeric_limits<Nanos>::max();

Nanos sat_add(Nanos a, Nanos b) {
  Nanos r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kMax : std::numeric_limits<Nanos>::min();
  return r;
}

struct Entry {
  BudgetSpec spec;
  Nanos spent = 0;
  Nanos reserved = 0;
  SysSeconds period_start{};
  uint64_t generation = 0;
};

struct Hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct Eq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

struct Shard {
  mutable std::mutex mu;
  std::unordered_map<std::string, Entry, Hash, Eq> entries;
};

// Rolls the entry into the period containing `now` (never backwards, if the clock steps back).
void roll(Entry& e, SysClock::time_point now) {
  Period p = current_period(e.spec.period, now);
  if (p.start > e.period_start) {
    e.spent = 0;
    e.period_start = p.start;
  }
}

bool fits(const Entry& e, Nanos estimate) {
  Nanos used = sat_add(e.spent, e.reserved);
  return used < e.spec.limit && sat_add(used, estimate) <= e.spec.limit;
}

std::string_view period_word(config::BudgetPeriod p) {
  switch (p) {
    case config::BudgetPeriod::Daily: return "daily";
    case config::BudgetPeriod::Weekly: return "weekly";
    case config::BudgetPeriod::Monthly: return "monthly";
    case config::BudgetPeriod::Total: return "total";
  }
  return "?";
}

}  // namespace

constexpr size_t kShards = 32;

struct LedgerState {
  BudgetLedger::Clock clock;
  std::array<Shard, kShards> shards;
  std::atomic<uint64_t> next_generation{1};
  std::atomic<uint64_t> granted{0}, refused{0}, settled{0}, unknown_cost{0}, auto_released{0};

  Shard& shard_for(std::string_view holder) { return shards[Hash{}(holder) % kShards]; }
  SysClock::time_point now() const { return clock(); }

  // Locks the shards of a and b (b may be empty) in a deadlock-free way.
  struct Locks {
    std::unique_lock<std::mutex> first, second;
  };
  Locks lock(std::string_view a, std::string_view b) {
    Shard* sa = &shard_for(a);
    Shard* sb = b.empty() ? nullptr : &shard_for(b);
    Locks l;
    if (!sb || sa == sb) {
      l.first = std::unique_lock(sa->mu);
    } else {
      // Always in address order: two reservations locking the same pair cannot deadlock.
      if (sb < sa) std::swap(sa, sb);
      l.first = std::unique_lock(sa->mu);
      l.second = std::unique_lock(sb->mu);
    }
    return l;
  }
  Entry* find(std::string_view holder) {
    if (holder.empty()) return nullptr;
    Shard& s = shard_for(holder);
    auto it = s.entries.find(holder);
    return it == s.entries.end() ? nullptr : &it->second;
  }

  // Ends a reservation; charges `actual` when set. Fills deltas when `out` is given.
  void finish(Reservation& r, std::optional<Nanos> actual, Settlement* out) {
    const SysClock::time_point t = now();
    {
      auto locks = lock(r.key_, r.team_);
      auto one = [&](const std::string& holder, const Reservation::Held& held) {
        if (holder.empty()) return;
        int64_t period_start = 0;
        if (Entry* e = find(holder)) {
          roll(*e, t);
          if (held.held && held.generation == e->generation) {
            e->reserved -= r.estimate_;
            if (e->reserved < 0) e->reserved = 0;
          }
          if (actual) e->spent = sat_add(e->spent, *actual);
          period_start = e->period_start.time_since_epoch().count();
        }
        if (out && actual && *actual > 0) out->deltas.push_back({holder, period_start, *actual});
      };
      one(r.key_, r.key_held_);
      one(r.team_, r.team_held_);
    }
    r.state_.reset();
  }
};

std::string key_holder(std::string_view key_id) { return "key:" + std::string(key_id); }
std::string team_holder(std::string_view team_id) { return "team:" + std::string(team_id); }

Period current_period(config::BudgetPeriod period, SysClock::time_point now) {
  using namespace std::chrono;
  const sys_days day = floor<days>(now);
  switch (period) {
    case config::BudgetPeriod::Daily:
      return {SysSeconds{day}, SysSeconds{day + days{1}}};
    case config::BudgetPeriod::Weekly: {
      // c_encoding: Sunday = 0 ... Saturday = 6; weeks start on Monday.
      unsigned since_monday = (weekday{day}.c_encoding() + 6) % 7;
      sys_days monday = day - days{since_monday};
      return {SysSeconds{monday}, SysSeconds{monday + days{7}}};
    }
    case config::BudgetPeriod::Monthly: {
      year_month ym = year_month_day{day}.year() / year_month_day{day}.month();
      sys_days first = sys_days{ym / 1};
      sys_days next = sys_days{(ym + months{1}) / 1};
      return {SysSeconds{first}, SysSeconds{next}};
    }
    case config::BudgetPeriod::Total:
      return {SysSeconds{}, std::nullopt};
  }
  return {SysSeconds{}, std::nullopt};
}

BudgetSpec budget_spec(const config::BudgetConfig& budget, std::string name) {
  return BudgetSpec{usd_to_nanos(budget.usd), budget.period, std::move(name)};
}

Error budget_exceeded_error(const Refusal& r) {
  Error e;
  e.code = ErrorCode::BudgetExceeded;
  e.status = 429;
  e.type = "insufficient_quota";
  e.code_str = "budget_exceeded";
  e.retryable = false;
  // The holder as the message names it: "key 'flux'" / "team 'research'" (a name that already
  // reads so is used verbatim).
  std::string who = r.name.starts_with("key ") || r.name.starts_with("team ")
                        ? r.name
                        : fmt::format("{} '{}'", r.holder.starts_with("team:") ? "team" : "key", r.name);
  std::string budget = r.period == config::BudgetPeriod::Total
                           ? fmt::format("total budget of {}", format_usd(r.limit))
                           : fmt::format("{} budget of {}", period_word(r.period), format_usd(r.limit));
  std::string when = r.resets_at
                         ? fmt::format("it resets at {}", iso8601_utc(*r.resets_at))
                         : std::string("a total budget does not reset; ask an admin to raise it");
  Nanos used = sat_add(r.spent, r.reserved);
  if (used < r.limit) {
    // Something is left, but not enough for this request's worst case.
    e.message = fmt::format(
        "Budget exceeded for {}: the estimated cost of this request ({}) is more than what is "
        "left of its {} ({}); ask for fewer max_tokens, or retry later ({}).",
        who, format_usd(r.estimate), budget, format_usd(r.limit - used), when);
  } else {
    e.message = fmt::format("Budget exceeded for {}: its {} is used up; {}.", who, budget, when);
  }
  return e;
}

// ---- Reservation ----

Reservation::Reservation(Reservation&& o) noexcept
    : state_(std::move(o.state_)),
      key_(std::move(o.key_)),
      team_(std::move(o.team_)),
      estimate_(o.estimate_),
      key_held_(o.key_held_),
      team_held_(o.team_held_) {
  o.state_.reset();
}

Reservation& Reservation::operator=(Reservation&& o) noexcept {
  if (this != &o) {
    if (state_) {
      state_->auto_released.fetch_add(1, std::memory_order_relaxed);
      state_->finish(*this, std::nullopt, nullptr);
    }
    state_ = std::move(o.state_);
    o.state_.reset();
    key_ = std::move(o.key_);
    team_ = std::move(o.team_);
    estimate_ = o.estimate_;
    key_held_ = o.key_held_;
    team_held_ = o.team_held_;
  }
  return *this;
}

Reservation::~Reservation() {
  if (state_) {
    state_->auto_released.fetch_add(1, std::memory_order_relaxed);
    state_->finish(*this, std::nullopt, nullptr);
  }
}

// ---- BudgetLedger ----

BudgetLedger::BudgetLedger(Clock clock) : state_(std::make_shared<LedgerState>()) {
  state_->clock = clock ? std::move(clock) : Clock([] { return SysClock::now(); });
}

BudgetLedger::~BudgetLedger() = default;

std::variant<Reservation, Refusal> BudgetLedger::reserve(std::string_view key_holder,
                                                         std::string_view team_holder,
                                                         Nanos estimate) {
  if (estimate < 0) estimate = 0;
  LedgerState& st = *state_;
  const SysClock::time_point t = st.now();
  Reservation r;
  r.key_ = std::string(key_holder);
  if (team_holder != key_holder) r.team_ = std::string(team_holder);
  r.estimate_ = estimate;
  std::optional<Refusal> refusal;
  {
    auto locks = st.lock(key_holder, team_holder);
    Entry* ke = st.find(key_holder);
    Entry* te = team_holder == key_holder ? nullptr : st.find(team_holder);
    for (auto [holder, e] : {std::pair{key_holder, ke}, std::pair{team_holder, te}}) {
      if (!e) continue;
      roll(*e, t);
      if (!fits(*e, estimate)) {
        refusal = Refusal{std::string(holder), e->spec.name, e->spec.limit, e->spent, e->reserved,
                          estimate, e->spec.period, current_period(e->spec.period, t).end};
        break;
      }
    }
    if (!refusal) {
      if (ke) {
        ke->reserved = sat_add(ke->reserved, estimate);
        r.key_held_ = {true, ke->generation};
      }
      if (te) {
        te->reserved = sat_add(te->reserved, estimate);
        r.team_held_ = {true, te->generation};
      }
    }
  }
  if (refusal) {
    st.refused.fetch_add(1, std::memory_order_relaxed);
    return std::move(*refusal);
  }
  st.granted.fetch_add(1, std::memory_order_relaxed);
  r.state_ = state_;
  return r;
}

Settlement BudgetLedger::settle(Reservation&& r, std::optional<Nanos> actual) {
  Settlement out;
  if (!r.state_) return out;
  if (actual && *actual < 0) actual = 0;
  out.cost = actual;
  auto& st = *r.state_;
  st.settled.fetch_add(1, std::memory_order_relaxed);
  if (!actual) st.unknown_cost.fetch_add(1, std::memory_order_relaxed);
  st.finish(r, actual, &out);
  return out;
}

Settlement BudgetLedger::charge(std::string_view key_holder, std::string_view team_holder,
                                std::optional<Nanos> actual) {
  Reservation r;  // holds nothing (no Held flag set): finish() only charges
  r.state_ = state_;
  r.key_ = std::string(key_holder);
  if (team_holder != key_holder) r.team_ = std::string(team_holder);
  return settle(std::move(r), actual);
}

void BudgetLedger::release(Reservation&& r) {
  if (!r.state_) return;
  r.state_->finish(r, std::nullopt, nullptr);
}

std::optional<HolderSpend> BudgetLedger::spend(std::string_view holder) const {
  LedgerState& st = *state_;
  const SysClock::time_point t = st.now();
  auto locks = st.lock(holder, {});
  Entry* e = st.find(holder);
  if (!e) return std::nullopt;
  roll(*e, t);
  return HolderSpend{e->spec.limit, e->spec.period, e->spent, e->reserved, e->period_start,
                     current_period(e->spec.period, t).end, e->spec.name};
}

bool BudgetLedger::load(std::string_view holder, Nanos spent, SysSeconds period_start) {
  LedgerState& st = *state_;
  const SysClock::time_point t = st.now();
  auto locks = st.lock(holder, {});
  Entry* e = st.find(holder);
  if (!e) return false;
  roll(*e, t);
  if (period_start != e->period_start) return false;
  e->spent = spent < 0 ? 0 : spent;
  return true;
}

void BudgetLedger::set_budget(std::string_view holder, BudgetSpec spec) {
  LedgerState& st = *state_;
  const SysClock::time_point t = st.now();
  if (spec.limit < 0) spec.limit = 0;
  auto locks = st.lock(holder, {});
  Shard& s = st.shard_for(holder);
  auto it = s.entries.find(holder);
  if (it != s.entries.end()) {
    Entry& e = it->second;
    bool period_changed = e.spec.period != spec.period;
    e.spec = std::move(spec);
    if (period_changed) {
      e.period_start = current_period(e.spec.period, t).start;
    } else {
      roll(e, t);
    }
    return;
  }
  Entry e;
  e.period_start = current_period(spec.period, t).start;
  e.spec = std::move(spec);
  e.generation = st.next_generation.fetch_add(1, std::memory_order_relaxed);
  s.entries.emplace(std::string(holder), std::move(e));
}

bool BudgetLedger::remove_budget(std::string_view holder) {
  LedgerState& st = *state_;
  auto locks = st.lock(holder, {});
  Shard& s = st.shard_for(holder);
  auto it = s.entries.find(holder);
  if (it == s.entries.end()) return false;
  s.entries.erase(it);
  return true;
}

std::vector<std::string> BudgetLedger::holders() const {
  std::vector<std::string> out;
  for (Shard& s : state_->shards) {
    std::lock_guard lk(s.mu);
    for (const auto& [h, e] : s.entries) out.push_back(h);
  }
  return out;
}

BudgetLedger::Stats BudgetLedger::stats() const {
  const LedgerState& st = *state_;
  return Stats{st.granted.load(), st.refused.load(), st.settled.load(), st.unknown_cost.load(),
               st.auto_released.load()};
}

}  // namespace tg::governance
