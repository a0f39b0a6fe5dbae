// Shared rate limits and budgets through Redis: admission, settlement, fail modes.

#include "tollgate/redis/governor.hpp"

#include <algorithm>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "tollgate/store/store.hpp"

namespace tg::redis {

namespace {

constexpr int kFinishAttempts = 4;

// A batch of one command (no braced list inside co_await: GCC 12 miscompiles its backing array).
std::vector<Command> one(Command c) {
  std::vector<Command> v;
  v.push_back(std::move(c));
  return v;
}

// The budgets of a key and its team, as the admit script takes them (holders with a budget only),
// each with this instance's current figure as the seed.
std::vector<BudgetArg> budgets_of(const admin::GovernanceState& gov, const Hold& h,
                                  std::vector<governance::HolderSpend>* views = nullptr) {
  std::vector<BudgetArg> out;
  const auto now = std::chrono::system_clock::now();
  for (const std::string* holder : {&h.key_holder, &h.team_holder}) {
    if (holder->empty()) continue;
    auto s = gov.ledger.spend(*holder);
    if (!s) continue;
    BudgetArg b;
    b.holder = *holder;
    b.limit = s->limit;
    b.period_start = s->period_start.time_since_epoch().count();
    b.seed = s->spent;
    if (s->resets_at) {
      // The counter outlives its period by two days (a late settlement still finds it).
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*s->resets_at - now);
      b.spent_ttl_ms = std::max<int64_t>(left.count(), 0) + 2 * 86'400'000;
    }
    out.push_back(std::move(b));
    if (views) views->push_back(std::move(*s));
  }
  return out;
}

}  // namespace

Governor::Governor(const config::StoreConfig& store, int workers, std::chrono::milliseconds hold_ttl,
                   store::Store* shared_spend)
    : url_(store.redis_url),
      timeout_(store.redis_timeout),
      hold_ttl_(hold_ttl),
      fail_open_limits_(store.redis_fail_open_limits),
      fail_open_budgets_(store.redis_fail_open_budgets),
      clients_(static_cast<size_t>(std::max(workers, 1))),
      shared_spend_(shared_spend) {
  std::random_device rd;
  instance_ = fmt::format("{:08x}{:08x}", rd(), rd());
}

Governor::~Governor() = default;

void Governor::start(int index, net::io_context& io) {
  // The scripts are loaded on every new connection, so EVALSHA finds them even after Redis
  // restarted empty.
  std::vector<Command> hello = {{"SCRIPT", "LOAD", std::string(admit_script())},
                                {"SCRIPT", "LOAD", std::string(finish_script())}};
  auto c = std::make_shared<Client>(io, url_, timeout_, std::move(hello), stats_);
  clients_.at(static_cast<size_t>(index)) = c;
  c->start();
}

void Governor::stop() {
  {
    std::lock_guard lock(gate_->mu);
    gate_->open = false;
  }
  clients_.clear();
}

bool Governor::involves(const admin::GovernanceState& gov, const governance::KeyRecord& key) const {
  if (key.limits.rpm || key.limits.tpm || key.limits.parallel) return true;
  if (gov.ledger.spend(governance::key_holder(key.id))) return true;
  return !key.team.empty() && gov.ledger.spend(governance::team_holder(key.team)).has_value();
}

net::awaitable<Outcome> Governor::admit(int worker, const admin::GovernanceState& gov,
                                        const governance::KeyRecord& key, int64_t token_estimate,
                                        governance::Nanos estimate) {
  auto client = clients_.at(static_cast<size_t>(worker));
  if (!client) co_return Unavailable{std::string("no connection")};
  Hold hold;
  hold.key_id = key.id;
  hold.key_holder = governance::key_holder(key.id);
  if (!key.team.empty()) hold.team_holder = governance::team_holder(key.team);
  hold.id = fmt::format("{}-{}", instance_, next_hold_.fetch_add(1, std::memory_order_relaxed));
  std::vector<governance::HolderSpend> views;
  AdmitArgs a;
  a.key_id = key.id;
  a.limits = key.limits;
  a.token_estimate = std::clamp<int64_t>(token_estimate, 0, kMaxCount);
  a.hold_id = hold.id;
  a.hold_ttl_ms = hold_ttl_.count();
  a.estimate = estimate;
  a.budgets = budgets_of(gov, hold, &views);
  // With a shared store, no seed at first: a missing counter is seeded from the shared figure.
  std::vector<governance::Nanos> own;
  if (shared_spend_) {
    for (auto& b : a.budgets) {
      own.push_back(b.seed.value_or(0));
      b.seed.reset();
    }
  }
  auto first = co_await eval_admit(client, a);
  if (auto* why = std::get_if<std::string>(&first)) co_return Unavailable{*why};
  auto reply = std::get<AdmitReply>(std::move(first));
  if (auto* need = std::get_if<SeedNeeded>(&reply)) {
    const std::vector<size_t> which = need->budgets;
    // Every budget gets a seed this time (one whose counter vanished meanwhile: its own figure);
    // the script still sets one only where the counter is missing, so a seed another instance
    // set meanwhile stands.
    for (size_t i = 0; i < a.budgets.size() && i < own.size(); ++i) a.budgets[i].seed = own[i];
    co_await fetch_seeds(a, which, own);
    auto again = co_await eval_admit(client, a);
    if (auto* why = std::get_if<std::string>(&again)) co_return Unavailable{*why};
    reply = std::get<AdmitReply>(std::move(again));
  }
  if (std::holds_alternative<SeedNeeded>(reply)) reply = BadReply{"a seed was asked for twice"};
  if (auto* bad = std::get_if<BadReply>(&reply)) {
    stats_.errors.fetch_add(1);
    spdlog::warn("redis: admit: {}", bad->message);
    co_return Unavailable{bad->message};
  }
  if (auto* l = std::get_if<LimitedReply>(&reply)) {
    co_return RateLimited{l->limited, headers_of(key.limits, l->requests, l->tokens,
                                                 l->reset_requests_ms, l->reset_tokens_ms)};
  }
  if (auto* r = std::get_if<BudgetRefused>(&reply)) {
    const auto& v = views.at(r->budget);
    co_return governance::Refusal{a.budgets[r->budget].holder, v.name, v.limit, r->spent,
                                  r->reserved, a.estimate < 0 ? 0 : a.estimate, v.period,
                                  v.resets_at};
  }
  const auto& ok = std::get<Admitted>(reply);
  hold.active = true;
  hold.windowed = key.limits.rpm || key.limits.tpm;
  hold.second = ok.second;
  hold.token_estimate = a.token_estimate;
  hold.parallel = key.limits.parallel.has_value();
  for (const auto& b : a.budgets) hold.budget_holders.push_back(b.holder);
  co_return Granted{std::move(hold), headers_of(key.limits, ok.requests, ok.tokens,
                                                ok.reset_requests_ms, ok.reset_tokens_ms)};
}

net::awaitable<std::variant<AdmitReply, std::string>> Governor::eval_admit(
    std::shared_ptr<Client> client, const AdmitArgs& a) {
  auto replies = co_await client->exec(admit_command(keys_, a, true), Clock::now() + timeout_);
  if (auto* why = std::get_if<std::string>(&replies)) co_return *why;
  auto reply = parse_admit_reply(std::get<std::vector<Value>>(replies).at(0), a.budgets.size());
  if (auto* bad = std::get_if<BadReply>(&reply); bad && bad->message.starts_with("NOSCRIPT")) {
    // Flushed since we connected: once more with the script itself.
    replies = co_await client->exec(admit_command(keys_, a, false), Clock::now() + timeout_);
    if (auto* why = std::get_if<std::string>(&replies)) co_return *why;
    reply = parse_admit_reply(std::get<std::vector<Value>>(replies).at(0), a.budgets.size());
  }
  co_return reply;
}

net::awaitable<void> Governor::fetch_seeds(AdmitArgs& a, const std::vector<size_t>& which,
                                           const std::vector<governance::Nanos>& own) {
  // The figures come on a store thread and are posted to this loop; the timer is the signal
  // (cancelled by the last figure, or expiring at the deadline). `timer` is touched on this loop
  // only, and cleared when this coroutine gives up, so a late figure finds nothing to wake.
  struct Figures {
    std::vector<std::optional<governance::Nanos>> got;
    size_t left = 0;
    net::steady_timer* timer = nullptr;
  };
  auto ex = co_await net::this_coro::executor;
  net::steady_timer timer(ex);
  timer.expires_after(timeout_);
  auto f = std::make_shared<Figures>();
  f->got.resize(which.size());
  f->left = which.size();
  f->timer = &timer;
  for (size_t i = 0; i < which.size(); ++i) {
    const BudgetArg& b = a.budgets.at(which[i]);
    shared_spend_->shared_spend(
        b.holder, b.period_start, [f, i, ex, gate = gate_](std::optional<int64_t> v) {
          std::lock_guard lock(gate->mu);
          if (!gate->open) return;
          net::post(ex, [f, i, v] {
            f->got[i] = v;
            if (--f->left == 0 && f->timer) f->timer->cancel();
          });
        });
  }
  if (f->left > 0) co_await timer.async_wait(net::as_tuple(net::use_awaitable));
  f->timer = nullptr;
  for (size_t i = 0; i < which.size(); ++i) {
    BudgetArg& b = a.budgets.at(which[i]);
    if (f->got[i]) {
      b.seed = *f->got[i];
      spdlog::debug("redis: spend counter of {} seeded from the store: {} nUSD", b.holder,
                    *f->got[i]);
    } else {
      b.seed = own.at(which[i]);
      spdlog::warn("redis: no shared spend figure for {} within {} ms; seeding its counter from "
                   "this instance's own ({} nUSD)", b.holder, timeout_.count(), own.at(which[i]));
    }
  }
}

net::awaitable<std::shared_ptr<const cache::CachedAnswer>> Governor::cache_get(
    int worker, const std::string& key) {
  auto client = clients_.at(static_cast<size_t>(worker));
  if (!client || !client->connected()) co_return nullptr;
  Command get;
  get.push_back("GET");
  get.push_back(keys_.cached(key));
  auto replies = co_await client->exec(one(std::move(get)), Clock::now() + timeout_);
  auto* v = std::get_if<std::vector<Value>>(&replies);
  if (!v || v->at(0).type != Value::Type::String) co_return nullptr;
  auto a = decode_answer(v->at(0).str);
  if (!a) co_return nullptr;
  co_return std::make_shared<const cache::CachedAnswer>(std::move(*a));
}

void Governor::cache_put(int worker, net::io_context& io, const std::string& key,
                         const cache::CachedAnswer& answer, std::chrono::milliseconds ttl) {
  auto client = clients_.at(static_cast<size_t>(worker));
  if (!client || !client->connected()) return;
  std::string value = encode_answer(answer);
  if (value.size() > kMaxSharedAnswer) return;
  Command set = {"SET", keys_.cached(key), std::move(value), "PX",
                 std::to_string(std::max<int64_t>(ttl.count(), 1))};
  net::co_spawn(
      io,
      [client, set = std::move(set), timeout = timeout_]() mutable -> net::awaitable<void> {
        co_await client->exec(one(std::move(set)), Clock::now() + timeout);
      },
      net::detached);
}

governance::Settlement Governor::settle(int worker, net::io_context& io,
                                        admin::GovernanceState& gov, Hold&& hold,
                                        std::optional<int64_t> actual_tokens,
                                        std::optional<governance::Nanos> cost) {
  if (!hold.active) return {};
  hold.active = false;
  if (cost && *cost < 0) cost = 0;
  FinishArgs f;
  f.key_id = hold.key_id;
  f.windowed = hold.windowed;
  f.second = hold.second;
  f.token_estimate = hold.token_estimate;
  f.actual_tokens = actual_tokens;
  f.hold_id = hold.id;
  f.parallel = hold.parallel;
  f.cost = cost;
  // Seeds before the local charge: the script adds `cost` itself. With a shared store, none: a
  // missing counter is left to the next admission, whose seed (the store's figure plus what this
  // instance has not committed yet) includes this cost.
  for (auto& b : budgets_of(gov, hold)) {
    if (shared_spend_) b.seed.reset();
    // Only the budgets that hold this request's reservation (a budget added since is not).
    if (std::find(hold.budget_holders.begin(), hold.budget_holders.end(), b.holder) !=
        hold.budget_holders.end()) {
      f.budgets.push_back(std::move(b));
    }
  }
  auto s = gov.ledger.charge(hold.key_holder, hold.team_holder, cost);
  auto client = clients_.at(static_cast<size_t>(worker));
  if (client) net::co_spawn(io, send_finish(client, io, std::move(f)), net::detached);
  return s;
}

net::awaitable<void> Governor::send_finish(std::shared_ptr<Client> client, net::io_context& io,
                                           FinishArgs args) {
  net::steady_timer wait(io);
  auto backoff = std::chrono::milliseconds(200);
  for (int attempt = 1; attempt <= kFinishAttempts; ++attempt) {
    auto replies = co_await client->exec(finish_command(keys_, args, true),
                                         Clock::now() + timeout_, /*lazy=*/attempt == 1);
    if (auto* v = std::get_if<std::vector<Value>>(&replies)) {
      const Value& r = v->at(0);
      if (!r.is_error()) co_return;
      if (r.str.starts_with("NOSCRIPT")) {
        replies = co_await client->exec(finish_command(keys_, args, false), Clock::now() + timeout_);
        if (auto* w = std::get_if<std::vector<Value>>(&replies); w && !w->at(0).is_error()) co_return;
      }
      stats_.errors.fetch_add(1);
      spdlog::warn("redis: finish: {}", r.str.substr(0, 200));
      co_return;  // the script refused it: retrying cannot help
    }
    wait.expires_after(backoff);
    co_await wait.async_wait(net::as_tuple(net::use_awaitable));
    backoff *= 2;
  }
  // The hold expires by itself (hold_ttl); the cost is in this instance's ledger and the store,
  // and seeds the shared counter again if Redis lost it.
  spdlog::warn("redis: could not finish hold {} after {} attempts", args.hold_id, kFinishAttempts);
}

}  // namespace tg::redis
