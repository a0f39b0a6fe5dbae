#pragma once
// Persistence of everything that must survive a restart: the request log, usage rollups, spend
// per budget holder, and keys and teams created through the admin API. Behind an interface so a
// PostgreSQL backend (several gateway instances) can follow; SqliteStore is the embedded one.
// No Asio here: asynchronous calls complete through callbacks, on the store's own threads.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tg::store {

// One row of the request log.
struct RequestRow {
  int64_t ts_ms = 0;  // unix ms, when the request arrived
  std::string request_id;
  std::string key_id, key_name, team;
  std::string model, provider, upstream_model;
  int attempts = 0;
  int status = 0;
  std::string error_code;
  bool stream = false;
  double latency_ms = 0;
  double ttft_ms = -1;  // < 0: none
  int64_t input_tokens = 0, output_tokens = 0, cached_tokens = 0, cache_write_tokens = 0,
          reasoning_tokens = 0;
  std::optional<int64_t> cost_nano;  // nullopt: cost unknown (no price), never silently 0
  bool usage_estimated = false;  // the provider's usage never came: tokens and cost estimated
  std::optional<std::string> request_body, response_body;  // logs.bodies only
  // Each attempt when one failed (JSON array: provider, model, status, error, message, ms); ""
  // when the first attempt answered, the common case, which costs nothing.
  std::string attempt_log;
};

// Spend to add to a budget holder ("key:<id>" or "team:<id>") for the period starting at
// period_start (unix seconds; 0 for "total").
struct SpendDelta {
  std::string holder;
  int64_t period_start = 0;
  int64_t nano_usd = 0;
};

// Adds a row's attempt log to its admin-API JSON as "attempt_details" (one that does not parse
// is left out: the row itself still shows).
inline void add_attempt_details(nlohmann::json& row, std::string_view attempt_log) {
  auto a = nlohmann::json::parse(attempt_log, nullptr, false);
  if (a.is_array()) row["attempt_details"] = std::move(a);
}

// An admin-created key or team: the JSON record as the admin API shows it (never a plaintext
// key), plus the key hash for keys.
struct KeyRow {
  std::string id;
  std::string hash;  // SHA-256 hex of the key
  nlohmann::json record;
  bool revoked = false;
};
struct TeamRow {
  std::string id;
  nlohmann::json record;
};

// A stored Responses turn (a POST /v1/responses with store: true): the Response as the client got
// it, and the items it adds to its conversation, so that a later request can continue it
// (previous_response_id) whichever provider answers. Kept as long as the request log.
struct ResponseRow {
  std::string id;            // resp_...
  std::string scope;         // who may read it: "key:<id>", "team:<id>" or "master"
  std::string previous_id;   // the turn it continued, "" for none
  int64_t created_ms = 0;
  std::string response;      // the Response object (JSON)
  std::string input_items;   // this turn's input items (JSON array)
  std::string output_items;  // this turn's output items (JSON array)
};

// How far back a conversation is followed through previous_response_id.
inline constexpr int kMaxConversationTurns = 1000;

struct LoadedState {
  std::vector<KeyRow> keys;    // not revoked
  std::vector<TeamRow> teams;
  // Spend per holder and period start, for the periods that may still be current, and all-time.
  std::vector<SpendDelta> spend;
  std::vector<std::pair<std::string, int64_t>> spend_total;
};

struct LogQuery {
  std::string key_id, model, team, provider;
  std::optional<int> status;
  std::optional<int64_t> since_ms, until_ms;
  std::optional<int64_t> before_id;  // pagination: rows with a smaller id
  int limit = 100;
};

struct SpendQuery {
  std::string group_by = "key";  // key | team | model | provider | day
  std::optional<int64_t> from_ms, to_ms;
};

// GET /admin/stats: usage per time bucket (from the minute and hour rollups, never the log).
struct StatsQuery {
  int64_t from_ms = 0, to_ms = 0;  // [from, to), aligned to step by the caller
  int64_t step_s = 3600;           // 60 (minute rollups), 3600 or 86400 (hour rollups)
  std::string group_by = "none";   // none | model | provider | key | team | deployment
                                   // (deployment: "provider/upstream model")
};
// The rows are sums per (group, bucket start):
//   {"counts": [[group, t_ms, requests, errors, input_tokens, output_tokens, cost_nano], ...],
//    "latency": [[group, t_ms, kind, bin, count], ...]}   kind 0: latency, 1: time to first token
// where bin is latency_bin(ms) below; group is "" for group_by none. src/admin/stats.cpp turns
// these into the series the UI draws.
inline constexpr int kLatencyBins = 256;
// Log-spaced bins, 8 per doubling (each within 9% of its value): 0 for under 1 ms.
int latency_bin(double ms);
// A bin's representative value (its geometric middle), ms.
double latency_bin_ms(int bin);

struct StoreOptions {
  // Usage reaches the disk within this (plus the commit itself): what a kill -9 can lose.
  std::chrono::milliseconds flush_interval{100};
  size_t batch_rows = 512;
  // Rows queued or retried beyond this: accepting() turns false (the gateway answers new API
  // requests 503 store_unavailable) until the backlog is down to half. Rows are never dropped.
  size_t max_queued_rows = 100'000;
  std::chrono::milliseconds busy_timeout{5000};  // SQLITE_BUSY after this: the batch is retried
  int retention_days = 30;  // 0: keep the request log forever (rollups are always kept)
  std::function<int64_t()> now_ms;  // injectable clock (unix ms); default system clock
};

// A key or team changed in the database by another instance (store.postgres: LISTEN/NOTIFY), to
// apply to the in-memory index. `key`/`team` hold the row as it is now; nullopt when it is gone.
struct StoreChange {
  enum class Kind { Key, Team } kind = Kind::Key;
  std::string id;
  std::optional<KeyRow> key;    // Kind::Key (revoked = true once deleted)
  std::optional<TeamRow> team;  // Kind::Team
};

// The write path's health, for /ready, /metrics and admission.
struct StoreHealth {
  size_t backlog_rows = 0;        // queued plus being (re)tried
  uint64_t commit_failures = 0;   // batch commits that failed and were retried (all time)
  bool accepting = true;          // false while the backlog is over max_queued_rows
};

class Store {
 public:
  virtual ~Store() = default;

  // Queues a finished request and its spend; never blocks on the disk and never drops: a batch
  // whose commit fails (SQLITE_BUSY, disk full) is kept and retried with backoff. Thread-safe.
  virtual void record(RequestRow row, std::vector<SpendDelta> spend) = 0;
  // False while the backlog is over max_queued_rows: callers stop taking new work (back-pressure)
  // rather than grow memory without limit. Thread-safe, lock-free.
  virtual bool accepting() const = 0;
  virtual StoreHealth health() const = 0;
  // False while the database server cannot be reached (/ready answers 503). An embedded store
  // is always reachable. Thread-safe, lock-free.
  virtual bool reachable() const { return true; }
  // Changes made by other instances sharing the database, delivered on a store thread (the
  // callback must be thread-safe and quick). Set once, before serving; a no-op for SQLite.
  virtual void on_change(std::function<void(StoreChange)> callback) { (void)callback; }

  // Admin writes and queries: `done` is called on a store thread (post back to your executor).
  virtual void save_key(KeyRow row, std::function<void(bool ok)> done) = 0;
  virtual void save_team(TeamRow row, std::function<void(bool ok)> done) = 0;
  virtual void delete_team(std::string id, std::function<void(bool ok)> done) = 0;
  virtual void query_logs(LogQuery q, std::function<void(nlohmann::json rows)> done) = 0;
  virtual void query_spend(SpendQuery q, std::function<void(nlohmann::json rows)> done) = 0;
  virtual void query_stats(StatsQuery q, std::function<void(nlohmann::json rows)> done) = 0;
  // One request log row by its id, with everything the log keeps; null when there is none.
  virtual void get_log(int64_t id, std::function<void(nlohmann::json row)> done) = 0;
  // When each of these keys was last used, by the log: the start time (unix ms) of its newest
  // row still there, {"<id>": ms, ...}. One index probe per key.
  virtual void keys_last_used(std::vector<std::string> key_ids,
                              std::function<void(nlohmann::json by_id)> done) = 0;

  // Stored Responses. A saved turn is visible to the reads below at once (a client continues a
  // conversation as soon as it has the answer), and written by the writer thread.
  virtual void save_response(ResponseRow row) = 0;
  // nullopt when there is no such id in that scope.
  virtual void get_response(std::string id, std::string scope,
                            std::function<void(std::optional<ResponseRow>)> done) = 0;
  virtual void delete_response(std::string id, std::string scope,
                               std::function<void(bool deleted)> done) = 0;
  // The items of the conversation ending with turn `id`: each turn's input then output items,
  // oldest turn first, at most kMaxConversationTurns turns. nullopt when id is not in scope.
  virtual void conversation(std::string id, std::string scope,
                            std::function<void(std::optional<nlohmann::json>)> done) = 0;

  // A budget holder's spend in the period starting at `period_start` (0: total) across every
  // instance sharing the database: its committed figure plus this instance's spend not committed
  // yet (the shared Redis counter's seed). nullopt when the database did not answer, or when there
  // is no shared figure (SQLite: one instance's own). `done` is called on a store thread.
  virtual void shared_spend(std::string holder, int64_t period_start,
                            std::function<void(std::optional<int64_t>)> done) {
    (void)holder;
    (void)period_start;
    done(std::nullopt);
  }

  // Start-up (synchronous, before serving).
  virtual LoadedState load() = 0;
  // Writes everything queued and waits for it (graceful shutdown). Thread-safe.
  virtual void flush() = 0;
  // Runs the request-log retention now (also runs hourly on its own); returns rows deleted.
  virtual int64_t enforce_retention() = 0;
  virtual void set_retention_days(int days) = 0;
};

// Opens (creating it and its directory if needed) the SQLite store: WAL mode, numbered schema
// migrations, one writer thread committing in batches, one reader thread for queries.
// Returns nullptr and sets *error on failure.
std::unique_ptr<Store> open_sqlite_store(const std::string& path, StoreOptions options,
                                         std::string* error);

}  // namespace tg::store
