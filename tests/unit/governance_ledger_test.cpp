#include "tollgate/governance/ledger.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace tg::governance {
namespace {

using namespace std::chrono;
using config::BudgetPeriod;

struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> secs = std::make_shared<std::atomic<int64_t>>(0);
  void set(sys_seconds t) { secs->store(t.time_since_epoch().count()); }
  void advance(seconds d) { secs->fetch_add(d.count()); }
  BudgetLedger::Clock fn() const {
    auto s = secs;
    return [s] { return SysClock::time_point{seconds{s->load()}}; };
  }
};

sys_seconds at(year_month_day d, hours h = 0h, minutes m = 0min, seconds s = 0s) {
  return sys_seconds{sys_days{d}} + h + m + s;
}

Reservation take(std::variant<Reservation, Refusal>&& v) {
  EXPECT_TRUE(std::holds_alternative<Reservation>(v))
      << (std::holds_alternative<Refusal>(v) ? budget_exceeded_error(std::get<Refusal>(v)).message
                                             : "");
  return std::holds_alternative<Reservation>(v) ? std::move(std::get<Reservation>(v)) : Reservation{};
}

const std::string kKey = key_holder("k1");
const std::string kTeam = team_holder("t1");

TEST(GovLedger, HolderNames) {
  EXPECT_EQ(key_holder("key_abc"), "key:key_abc");
  EXPECT_EQ(team_holder("research"), "team:research");
}

TEST(GovLedger, ConcurrentReservationsNeverExceedTheBudget) {
  FakeClock clock;
  clock.set(at(2026y / 3 / 10, 12h));
  BudgetLedger ledger(clock.fn());
  ledger.set_budget(kKey, {1'000'000, BudgetPeriod::Monthly, "k1"});  // $1
  ASSERT_TRUE(ledger.load(kKey, 900'000, at(2026y / 3 / 1)));       // $0.90 already spent
  constexpr int kThreads = 100;
  constexpr Nanos kEstimate = 7'000;
  std::vector<Reservation> granted;
  std::mutex mu;
  std::atomic<int> refused{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      auto r = ledger.reserve(kKey, "", kEstimate);
      if (auto* res = std::get_if<Reservation>(&r)) {
        std::lock_guard lk(mu);
        granted.push_back(std::move(*res));
      } else {
        refused.fetch_add(1);
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  // 100'000 left / 7'000 each = 14 fit, exactly.
  EXPECT_EQ(granted.size(), 14u);
  EXPECT_EQ(refused.load(), kThreads - 14);
  EXPECT_LE(static_cast<Nanos>(granted.size()) * kEstimate, 1'000'000 - 900'000);
  auto s = ledger.spend(kKey);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reserved, 14 * kEstimate);
  // Settling all at their estimate lands at or under the limit.
  for (auto& r : granted) ledger.settle(std::move(r), kEstimate);
  s = ledger.spend(kKey);
  EXPECT_EQ(s->reserved, 0);
  EXPECT_EQ(s->spent, 900'000 + 14 * kEstimate);
  EXPECT_LE(s->spent, s->limit);
}

TEST(GovLedger, ConcurrentKeyAndTeamStayConsistent) {
  BudgetLedger ledger;
  ledger.set_budget(kTeam, {50'000, BudgetPeriod::Total, "t1"});
  std::vector<std::string> keys;
  for (int i = 0; i < 8; ++i) {
    keys.push_back(key_holder("k" + std::to_string(i)));
    ledger.set_budget(keys.back(), {20'000, BudgetPeriod::Total, keys.back()});
  }
  std::atomic<Nanos> charged{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < 20; ++n) {
        auto r = ledger.reserve(keys[i % 8], kTeam, 1'000);
        if (auto* res = std::get_if<Reservation>(&r)) {
          charged += 1'000;
          ledger.settle(std::move(*res), 1'000);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(charged.load(), 50'000);  // the team's limit, never more
  EXPECT_EQ(ledger.spend(kTeam)->spent, 50'000);
  Nanos sum = 0;
  for (auto& k : keys) {
    EXPECT_LE(ledger.spend(k)->spent, 20'000);
    EXPECT_EQ(ledger.spend(k)->reserved, 0);
    sum += ledger.spend(k)->spent;
  }
  EXPECT_EQ(sum, 50'000);
}

TEST(GovLedger, SettleChargesActualEvenPastTheLimit) {
  BudgetLedger ledger;
  ledger.set_budget(kKey, {10'000, BudgetPeriod::Total, "k1"});
  Reservation r = take(ledger.reserve(kKey, "", 8'000));
  EXPECT_EQ(ledger.spend(kKey)->reserved, 8'000);
  Settlement s = ledger.settle(std::move(r), 12'000);  // the request cost more than estimated
  EXPECT_EQ(s.cost, 12'000);
  ASSERT_EQ(s.deltas.size(), 1u);
  EXPECT_EQ(s.deltas[0].holder, kKey);
  EXPECT_EQ(s.deltas[0].period_start, 0);  // total
  EXPECT_EQ(s.deltas[0].nano_usd, 12'000);
  EXPECT_EQ(ledger.spend(kKey)->spent, 12'000);
  EXPECT_EQ(ledger.spend(kKey)->reserved, 0);
  EXPECT_FALSE(r.active());
  // Used up: everything is refused, even a request estimated at 0.
  auto v = ledger.reserve(kKey, "", 0);
  ASSERT_TRUE(std::holds_alternative<Refusal>(v));
  EXPECT_EQ(std::get<Refusal>(v).spent, 12'000);
}

TEST(GovLedger, ExactlyUsedUpRefusesEvenFreeRequests) {
  BudgetLedger ledger;
  ledger.set_budget(kKey, {10'000, BudgetPeriod::Total, "k1"});
  ledger.settle(take(ledger.reserve(kKey, "", 10'000)), 10'000);  // spent == limit
  auto v = ledger.reserve(kKey, "", 0);  // e.g. a local model, or an unpriced one
  ASSERT_TRUE(std::holds_alternative<Refusal>(v));
  // A $0 budget blocks the key outright.
  ledger.set_budget(kTeam, {0, BudgetPeriod::Monthly, "t1"});
  EXPECT_TRUE(std::holds_alternative<Refusal>(ledger.reserve(key_holder("k2"), kTeam, 0)));
}

TEST(GovLedger, ReleaseAndUnknownCostChargeNothing) {
  BudgetLedger ledger;
  ledger.set_budget(kKey, {10'000, BudgetPeriod::Total, "k1"});
  Reservation a = take(ledger.reserve(kKey, "", 4'000));
  Reservation b = take(ledger.reserve(kKey, "", 4'000));
  ledger.release(std::move(a));
  Settlement s = ledger.settle(std::move(b), std::nullopt);
  EXPECT_FALSE(s.cost);
  EXPECT_TRUE(s.deltas.empty());
  EXPECT_EQ(ledger.spend(kKey)->spent, 0);
  EXPECT_EQ(ledger.spend(kKey)->reserved, 0);
  EXPECT_EQ(ledger.stats().unknown_cost, 1u);
  // Settling a spent reservation again is a no-op.
  Settlement again = ledger.settle(std::move(b), 5'000);
  EXPECT_TRUE(again.deltas.empty());
  EXPECT_EQ(ledger.spend(kKey)->spent, 0);
}

TEST(GovLedger, DestructorReleasesAForgottenReservation) {
  BudgetLedger ledger;
  ledger.set_budget(kKey, {10'000, BudgetPeriod::Total, "k1"});
  ledger.set_budget(kTeam, {10'000, BudgetPeriod::Total, "t1"});
  {
    Reservation r = take(ledger.reserve(kKey, kTeam, 9'000));
    EXPECT_EQ(ledger.spend(kKey)->reserved, 9'000);
    EXPECT_EQ(ledger.spend(kTeam)->reserved, 9'000);
    Reservation moved = std::move(r);  // moving does not release
    EXPECT_EQ(ledger.spend(kKey)->reserved, 9'000);
    EXPECT_FALSE(r.active());
  }
  EXPECT_EQ(ledger.spend(kKey)->reserved, 0);
  EXPECT_EQ(ledger.spend(kTeam)->reserved, 0);
  EXPECT_EQ(ledger.stats().auto_released, 1u);
  // Move-assigning over a live reservation releases the old one.
  Reservation x = take(ledger.reserve(kKey, "", 3'000));
  x = take(ledger.reserve(kKey, "", 2'000));
  EXPECT_EQ(ledger.spend(kKey)->reserved, 2'000);
}

TEST(GovLedger, ReservationOutlivingTheLedgerIsSafe) {
  Reservation r;
  {
    BudgetLedger ledger;
    ledger.set_budget(kKey, {10'000, BudgetPeriod::Total, "k1"});
    r = take(ledger.reserve(kKey, "", 1'000));
  }
  EXPECT_TRUE(r.active());
}  // destructor releases into the still-alive shared state; ASan would flag a use-after-free

TEST(GovLedger, TeamRefusalLeavesTheKeyUntouched) {
  BudgetLedger ledger;
  ledger.set_budget(kKey, {100'000, BudgetPeriod::Monthly, "alice"});
  ledger.set_budget(kTeam, {5'000, BudgetPeriod::Monthly, "research"});
  auto v = ledger.reserve(kKey, kTeam, 6'000);
  ASSERT_TRUE(std::holds_alternative<Refusal>(v));
  const Refusal& ref = std::get<Refusal>(v);
  EXPECT_EQ(ref.holder, kTeam);
  EXPECT_EQ(ref.name, "research");
  EXPECT_EQ(ref.limit, 5'000);
  EXPECT_EQ(ledger.spend(kKey)->reserved, 0);  // both or neither
  EXPECT_EQ(ledger.spend(kTeam)->reserved, 0);
  // And the key's own refusal leaves the team untouched.
  ledger.set_budget(kTeam, {1'000'000, BudgetPeriod::Monthly, "research"});
  auto w = ledger.reserve(kKey, kTeam, 200'000);
  ASSERT_TRUE(std::holds_alternative<Refusal>(w));
  EXPECT_EQ(std::get<Refusal>(w).holder, kKey);
  EXPECT_EQ(ledger.spend(kTeam)->reserved, 0);
  // Granted: both reserved, both charged, two deltas to persist.
  Reservation r = take(ledger.reserve(kKey, kTeam, 1'000));
  EXPECT_EQ(ledger.spend(kKey)->reserved, 1'000);
  EXPECT_EQ(ledger.spend(kTeam)->reserved, 1'000);
  Settlement s = ledger.settle(std::move(r), 700);
  ASSERT_EQ(s.deltas.size(), 2u);
  EXPECT_EQ(s.deltas[0].holder, kKey);
  EXPECT_EQ(s.deltas[1].holder, kTeam);
  EXPECT_EQ(ledger.spend(kTeam)->spent, 700);
}

TEST(GovLedger, HoldersWithoutBudgetPassAndStillReportSpend) {
  BudgetLedger ledger;
  Reservation r = take(ledger.reserve(kKey, kTeam, 1'000'000'000));
  Settlement s = ledger.settle(std::move(r), 1'234);
  ASSERT_EQ(s.deltas.size(), 2u);
  EXPECT_EQ(s.deltas[0].period_start, 0);
  EXPECT_EQ(s.deltas[1].nano_usd, 1'234);
  EXPECT_FALSE(ledger.spend(kKey));
}

TEST(GovLedger, CalendarPeriods) {
  auto p = current_period(BudgetPeriod::Daily, at(2026y / 3 / 10, 23h, 59min, 59s));
  EXPECT_EQ(p.start, at(2026y / 3 / 10));
  EXPECT_EQ(p.end, at(2026y / 3 / 11));
  // 2026-03-12 is a Thursday: the week started on Monday 2026-03-09.
  p = current_period(BudgetPeriod::Weekly, at(2026y / 3 / 12, 8h));
  EXPECT_EQ(p.start, at(2026y / 3 / 9));
  EXPECT_EQ(p.end, at(2026y / 3 / 16));
  // Sunday belongs to the week that started the Monday before; Monday 00:00 starts a new one.
  p = current_period(BudgetPeriod::Weekly, at(2026y / 3 / 15, 23h, 59min, 59s));
  EXPECT_EQ(p.start, at(2026y / 3 / 9));
  p = current_period(BudgetPeriod::Weekly, at(2026y / 3 / 16));
  EXPECT_EQ(p.start, at(2026y / 3 / 16));
  // A week across a year end.
  p = current_period(BudgetPeriod::Weekly, at(2027y / 1 / 1));  // a Friday
  EXPECT_EQ(p.start, at(2026y / 12 / 28));
  // Months of 28, 29, 30 and 31 days.
  p = current_period(BudgetPeriod::Monthly, at(2028y / 2 / 29, 12h));  // leap day
  EXPECT_EQ(p.start, at(2028y / 2 / 1));
  EXPECT_EQ(p.end, at(2028y / 3 / 1));
  p = current_period(BudgetPeriod::Monthly, at(2027y / 2 / 28, 23h));
  EXPECT_EQ(p.end, at(2027y / 3 / 1));
  p = current_period(BudgetPeriod::Monthly, at(2026y / 12 / 31, 23h, 59min, 59s));
  EXPECT_EQ(p.start, at(2026y / 12 / 1));
  EXPECT_EQ(p.end, at(2027y / 1 / 1));
  p = current_period(BudgetPeriod::Total, at(2026y / 5 / 5));
  EXPECT_EQ(p.start, sys_seconds{});
  EXPECT_FALSE(p.end);
}

TEST(GovLedger, DailyRolloverAtUtcMidnight) {
  FakeClock clock;
  clock.set(at(2026y / 3 / 10, 23h, 59min, 58s));
  BudgetLedger ledger(clock.fn());
  ledger.set_budget(kKey, {10'000, BudgetPeriod::Daily, "k1"});
  Reservation inflight = take(ledger.reserve(kKey, "", 2'000));
  ledger.settle(take(ledger.reserve(kKey, "", 8'000)), 8'000);
  EXPECT_TRUE(std::holds_alternative<Refusal>(ledger.reserve(kKey, "", 1)));
  clock.advance(1s);  // 23:59:59, still the same day
  auto v = ledger.reserve(kKey, "", 1);
  ASSERT_TRUE(std::holds_alternative<Refusal>(v));
  EXPECT_EQ(std::get<Refusal>(v).resets_at, at(2026y / 3 / 11));
  clock.advance(1s);  // 00:00:00
  auto s = ledger.spend(kKey);
  EXPECT_EQ(s->spent, 0);
  EXPECT_EQ(s->reserved, 2'000);  // in flight across the boundary: still held
  EXPECT_EQ(s->period_start, at(2026y / 3 / 11));
  Settlement st = ledger.settle(std::move(inflight), 1'500);  // charged to the new day
  EXPECT_EQ(st.deltas[0].period_start, at(2026y / 3 / 11).time_since_epoch().count());
  EXPECT_EQ(ledger.spend(kKey)->spent, 1'500);
  EXPECT_EQ(ledger.spend(kKey)->reserved, 0);
}

TEST(GovLedger, WeeklyAndMonthlyRollover) {
  FakeClock clock;
  clock.set(at(2026y / 3 / 15, 23h));  // Sunday
  BudgetLedger ledger(clock.fn());
  ledger.set_budget(kKey, {10'000, BudgetPeriod::Weekly, "k1"});
  ledger.set_budget(kTeam, {10'000, BudgetPeriod::Monthly, "t1"});
  ledger.settle(take(ledger.reserve(kKey, kTeam, 5'000)), 5'000);
  clock.set(at(2026y / 3 / 16, 0h, 0min, 1s));  // Monday: new week, same month
  EXPECT_EQ(ledger.spend(kKey)->spent, 0);
  EXPECT_EQ(ledger.spend(kTeam)->spent, 5'000);
  clock.set(at(2026y / 3 / 31, 23h, 59min, 59s));
  EXPECT_EQ(ledger.spend(kTeam)->spent, 5'000);
  EXPECT_EQ(ledger.spend(kTeam)->resets_at, at(2026y / 4 / 1));
  clock.set(at(2026y / 4 / 1));
  EXPECT_EQ(ledger.spend(kTeam)->spent, 0);
  EXPECT_EQ(ledger.spend(kTeam)->period_start, at(2026y / 4 / 1));
}

TEST(GovLedger, TotalNeverResets) {
  FakeClock clock;
  clock.set(at(2026y / 1 / 1));
  BudgetLedger ledger(clock.fn());
  ledger.set_budget(kKey, {10'000, BudgetPeriod::Total, "k1"});
  ledger.settle(take(ledger.reserve(kKey, "", 10'000)), 10'000);
  clock.set(at(2030y / 1 / 1));
  auto v = ledger.reserve(kKey, "", 1);
  ASSERT_TRUE(std::holds_alternative<Refusal>(v));
  EXPECT_FALSE(std::get<Refusal>(v).resets_at);
}

TEST(GovLedger, LoadRestoresOnlyTheCurrentPeriod) {
  FakeClock clock;
  clock.set(at(2026y / 3 / 10, 12h));
  BudgetLedger ledger(clock.fn());
  EXPECT_FALSE(ledger.load(kKey, 5'000, at(2026y / 3 / 1)));  // no budget yet
  ledger.set_budget(kKey, {10'000, BudgetPeriod::Monthly, "k1"});
  EXPECT_FALSE(ledger.load(kKey, 5'000, at(2026y / 2 / 1)));  // last month's row: stale
  EXPECT_EQ(ledger.spend(kKey)->spent, 0);
  EXPECT_TRUE(ledger.load(kKey, 5'000, at(2026y / 3 / 1)));
  EXPECT_EQ(ledger.spend(kKey)->spent, 5'000);
  EXPECT_TRUE(std::holds_alternative<Refusal>(ledger.reserve(kKey, "", 5'001)));
  EXPECT_TRUE(std::holds_alternative<Reservation>(ledger.reserve(kKey, "", 5'000)));
}

TEST(GovLedger, ChangingTheLimitKeepsSpend) {
  BudgetLedger ledger;
  ledger.set_budget(kKey, {10'000, BudgetPeriod::Monthly, "k1"});
  ledger.settle(take(ledger.reserve(kKey, "", 9'000)), 9'000);
  Reservation r = take(ledger.reserve(kKey, "", 500));
  ledger.set_budget(kKey, {20'000, BudgetPeriod::Monthly, "k1"});
  EXPECT_EQ(ledger.spend(kKey)->spent, 9'000);
  EXPECT_EQ(ledger.spend(kKey)->reserved, 500);
  EXPECT_EQ(ledger.spend(kKey)->limit, 20'000);
  ledger.release(std::move(r));
  EXPECT_EQ(ledger.spend(kKey)->reserved, 0);
  // Remove then add again: a fresh entry, and a reservation of the old one does not corrupt it.
  Reservation old = take(ledger.reserve(kKey, "", 1'000));
  EXPECT_TRUE(ledger.remove_budget(kKey));
  ledger.set_budget(kKey, {20'000, BudgetPeriod::Monthly, "k1"});
  ledger.release(std::move(old));
  EXPECT_EQ(ledger.spend(kKey)->reserved, 0);
  EXPECT_EQ(ledger.spend(kKey)->spent, 0);
}

TEST(GovLedger, BudgetExceededErrorNamesBudgetAndReset) {
  Refusal r;
  r.holder = kTeam;
  r.name = "research";
  r.limit = 50'000'000'000;
  r.spent = 50'100'000'000;
  r.period = BudgetPeriod::Monthly;
  r.resets_at = at(2026y / 9 / 1);
  Error e = budget_exceeded_error(r);
  EXPECT_EQ(e.status, 429);
  EXPECT_EQ(e.code, ErrorCode::BudgetExceeded);
  EXPECT_EQ(e.type, "insufficient_quota");
  EXPECT_EQ(e.code_str, "budget_exceeded");
  EXPECT_FALSE(e.retryable);
  EXPECT_NE(e.message.find("team 'research'"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("monthly budget of $50"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("2026-09-01T00:00:00Z"), std::string::npos) << e.message;
  EXPECT_EQ(render_error_body(e).find("insufficient_quota") != std::string::npos, true);
  // Something left, but not enough for this request.
  r.holder = kKey;
  r.name = "flux";
  r.spent = 49'990'000'000;
  r.estimate = 310'000'000;
  e = budget_exceeded_error(r);
  EXPECT_NE(e.message.find("key 'flux'"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("$0.31"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("$0.01"), std::string::npos) << e.message;
  r.name = "key 'flux'";  // a phrase that already names the holder is used verbatim
  EXPECT_EQ(budget_exceeded_error(r).message, e.message);
  r.period = BudgetPeriod::Total;
  r.resets_at.reset();
  e = budget_exceeded_error(r);
  EXPECT_NE(e.message.find("does not reset"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace tg::governance
