#pragma once
// Rate limits and budgets shared by several instances (store.redis): the I/O side of
// redis/scripts.hpp. One Redis connection per worker; a virtual key's admission is one round trip
// (the admit script), its settlement one more, sent after the answer and off the request's path.
//
// The in-process BudgetLedger keeps this instance's view of spend (the seed of the shared counters,
// the admin API's figures, the SpendDelta rows for the store), and the in-process RateLimiter and
// BudgetLedger take over when Redis cannot answer and the fail mode is open.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "tollgate/admin/governance_state.hpp"
#include "tollgate/config/config.hpp"
#include "tollgate/redis/client.hpp"
#include "tollgate/redis/scripts.hpp"

namespace tg::store {
class Store;
}

namespace tg::redis {

// A granted shared admission, to finish once. Inactive when default-constructed.
struct Hold {
  bool active = false;
  std::string key_id;
  bool windowed = false;
  int64_t second = 0;
  int64_t token_estimate = 0;
  std::string id;
  bool parallel = false;
  std::string key_holder, team_holder;  // for the local charge ("" = none)
  std::vector<std::string> budget_holders;  // holders whose budget holds a reservation
};

struct Granted {
  Hold hold;
  governance::RateLimitHeaders headers;
};
struct RateLimited {
  governance::Limited limited;
  governance::RateLimitHeaders headers;
};
struct Unavailable {
  std::string why;
};
using Outcome = std::variant<Granted, RateLimited, governance::Refusal, Unavailable>;

class Governor {
 public:
  // hold_ttl: how long a parallel slot or a reservation outlives a request that never finished
  // (a crashed instance): the longest a request can take, plus a margin.
  // shared_spend: the store whose figure seeds a missing spend counter (store.postgres: every
  // instance's spend); nullptr seeds it from this instance's own view (SQLite).
  Governor(const config::StoreConfig& store, int workers, std::chrono::milliseconds hold_ttl,
           store::Store* shared_spend = nullptr);
  ~Governor();

  // Creates and starts worker `index`'s connection on its io_context (before the loop runs).
  void start(int index, net::io_context& io);
  void stop();  // after the workers stopped, before their io_contexts go

  // Whether a key needs Redis at all (limits or a budget on the key or its team).
  bool involves(const admin::GovernanceState& gov, const governance::KeyRecord& key) const;

  // Checks and counts the key's limits and reserves `estimate` on its budgets, atomically across
  // every instance. Unavailable when Redis does not answer by the deadline.
  net::awaitable<Outcome> admit(int worker, const admin::GovernanceState& gov,
                                const governance::KeyRecord& key, int64_t token_estimate,
                                governance::Nanos estimate);

  // Ends the hold: charges `cost` to this instance's ledger (returned: the rows to persist) and
  // sends the finish script in the background (retried a few times, never awaited by the
  // request); unknown cost releases the reservation without charging.
  governance::Settlement settle(int worker, net::io_context& io, admin::GovernanceState& gov,
                                Hold&& hold, std::optional<int64_t> actual_tokens,
                                std::optional<governance::Nanos> cost);

  // The shared response cache: an answer another instance stored (nullptr: none, or Redis did
  // not answer in time, which counts as a miss), and storing one (in the background, SET with
  // the cache's TTL; answers over kMaxSharedAnswer stay local).
  net::awaitable<std::shared_ptr<const cache::CachedAnswer>> cache_get(int worker,
                                                                       const std::string& key);
  void cache_put(int worker, net::io_context& io, const std::string& key,
                 const cache::CachedAnswer& answer, std::chrono::milliseconds ttl);

  bool fail_open_limits() const { return fail_open_limits_; }
  bool fail_open_budgets() const { return fail_open_budgets_; }
  bool up() const { return stats_.connected.load() > 0; }
  uint64_t errors() const { return stats_.errors.load(); }

 private:
  // One admit round trip (once more with the script's text after NOSCRIPT); the string when Redis
  // did not answer by the deadline.
  net::awaitable<std::variant<AdmitReply, std::string>> eval_admit(std::shared_ptr<Client> client,
                                                                   const AdmitArgs& a);
  // Sets the seeds of `which` budgets from the shared store, waited for off this loop up to the
  // timeout; a figure that does not come in time falls back to this instance's (`own`).
  net::awaitable<void> fetch_seeds(AdmitArgs& a, const std::vector<size_t>& which,
                                   const std::vector<governance::Nanos>& own);
  net::awaitable<void> send_finish(std::shared_ptr<Client> client, net::io_context& io,
                                   FinishArgs args);

  config::RedisUrl url_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds hold_ttl_;
  bool fail_open_limits_, fail_open_budgets_;
  Keys keys_;
  ClientStats stats_;
  std::string instance_;  // random, names this instance's holds
  std::atomic<uint64_t> next_hold_{0};
  std::vector<std::shared_ptr<Client>> clients_;  // one per worker, used on that worker only
  store::Store* shared_spend_ = nullptr;
  // Closed by stop(): a store callback arriving later posts to no worker (its loop may be gone).
  struct Gate {
    std::mutex mu;
    bool open = true;
  };
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
};

}  // namespace tg::redis
