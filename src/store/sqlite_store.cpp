// The embedded store: SQLite in WAL mode. One writer thread owns the write connection and commits
// queued request rows and spend in batches (group commit); a reader thread owns a second
// connection for admin queries, so a long query never delays writes. Nothing here runs on an
// event loop.

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <atomic>
#include <iterator>
#include <condition_variable>
#include <limits>
#include <map>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "tollgate/store/pending_responses.hpp"
#include "tollgate/store/store.hpp"

namespace tg::store {
namespace {

using json = nlohmann::json;

// Numbered migrations, applied in order under PRAGMA user_version. Never edit a shipped one.
const char* const kMigrations[] = {
    // 1: the request log, daily rollups, spend, admin-created keys and teams.
    R"sql(
    CREATE TABLE requests (
      id INTEGER PRIMARY KEY,
      ts_ms INTEGER NOT NULL,
      request_id TEXT NOT NULL,
      key_id TEXT NOT NULL DEFAULT '',
      key_name TEXT NOT NULL DEFAULT '',
      team TEXT NOT NULL DEFAULT '',
      model TEXT NOT NULL DEFAULT '',
      provider TEXT NOT NULL DEFAULT '',
      upstream_model TEXT NOT NULL DEFAULT '',
      attempts INTEGER NOT NULL DEFAULT 0,
      status INTEGER NOT NULL,
      error_code TEXT NOT NULL DEFAULT '',
      stream INTEGER NOT NULL DEFAULT 0,
      latency_ms REAL NOT NULL DEFAULT 0,
      ttft_ms REAL,
      input_tokens INTEGER NOT NULL DEFAULT 0,
      output_tokens INTEGER NOT NULL DEFAULT 0,
      cached_tokens INTEGER NOT NULL DEFAULT 0,
      cache_write_tokens INTEGER NOT NULL DEFAULT 0,
      reasoning_tokens INTEGER NOT NULL DEFAULT 0,
      cost_micro INTEGER,
      request_body TEXT,
      response_body TEXT
    );
    CREATE INDEX requests_ts ON requests (ts_ms);
    CREATE INDEX requests_key_ts ON requests (key_id, ts_ms);
    CREATE TABLE usage_daily (
      day TEXT NOT NULL,
      key_id TEXT NOT NULL,
      team TEXT NOT NULL,
      model TEXT NOT NULL,
      provider TEXT NOT NULL,
      requests INTEGER NOT NULL DEFAULT 0,
      errors INTEGER NOT NULL DEFAULT 0,
      input_tokens INTEGER NOT NULL DEFAULT 0,
      output_tokens INTEGER NOT NULL DEFAULT 0,
      cached_tokens INTEGER NOT NULL DEFAULT 0,
      reasoning_tokens INTEGER NOT NULL DEFAULT 0,
      cost_micro INTEGER NOT NULL DEFAULT 0,
      unknown_cost_requests INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (day, key_id, team, model, provider)
    );
    CREATE TABLE spend (
      holder TEXT NOT NULL,
      period_start INTEGER NOT NULL,
      spent_micro INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (holder, period_start)
    );
    CREATE TABLE spend_total (
      holder TEXT PRIMARY KEY,
      spent_micro INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE keys (
      id TEXT PRIMARY KEY,
      hash TEXT NOT NULL UNIQUE,
      record TEXT NOT NULL,
      revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE teams (
      id TEXT PRIMARY KEY,
      record TEXT NOT NULL
    );
    )sql",
    // 2: /admin/logs?key= pages by id within one key (71 ms -> under 1 ms on 1M rows).
    R"sql(
    CREATE INDEX requests_key_id ON requests (key_id, id);
    )sql",
    // 3: money in nano-USD instead of micro-USD (exact below a micro-dollar). Old figures are
    // scaled by 1000; a figure too large to scale saturates (as the arithmetic does).
    R"sql(
    ALTER TABLE requests RENAME COLUMN cost_micro TO cost_nano;
    UPDATE requests SET cost_nano = cost_nano * 1000 WHERE cost_nano IS NOT NULL;
    ALTER TABLE usage_daily RENAME COLUMN cost_micro TO cost_nano;
    UPDATE usage_daily SET cost_nano = CASE WHEN cost_nano > 9223372036854775 THEN
      9223372036854775807 ELSE cost_nano * 1000 END;
    ALTER TABLE spend RENAME COLUMN spent_micro TO spent_nano;
    UPDATE spend SET spent_nano = CASE WHEN spent_nano > 9223372036854775 THEN
      9223372036854775807 ELSE spent_nano * 1000 END;
    ALTER TABLE spend_total RENAME COLUMN spent_micro TO spent_nano;
    UPDATE spend_total SET spent_nano = CASE WHEN spent_nano > 9223372036854775 THEN
      9223372036854775807 ELSE spent_nano * 1000 END;
    )sql",
    // 4: rows billed on an estimate (a stream cut before the provider's usage came).
    R"sql(
    ALTER TABLE requests ADD COLUMN usage_estimated INTEGER NOT NULL DEFAULT 0;
    )sql",
    // 5: stored Responses (POST /v1/responses with store: true).
    R"sql(
    CREATE TABLE responses (
      id TEXT PRIMARY KEY,
      scope TEXT NOT NULL,
      previous_id TEXT NOT NULL DEFAULT '',
      created_ms INTEGER NOT NULL,
      response TEXT NOT NULL,
      input_items TEXT NOT NULL,
      output_items TEXT NOT NULL
    );
    CREATE INDEX responses_created ON responses (created_ms);
    )sql",
    // 6: usage by minute, hour and day (res in seconds) for /admin/stats, with latency and
    // time-to-first-token histograms (bins: latency_bin). Filled from the log that is still
    // there; histograms start now (the old rows' bins would need log2 in SQL).
    R"sql(
    CREATE TABLE usage_buckets (
      res INTEGER NOT NULL,
      t_ms INTEGER NOT NULL,
      key_id TEXT NOT NULL,
      team TEXT NOT NULL,
      model TEXT NOT NULL,
      provider TEXT NOT NULL,
      upstream_model TEXT NOT NULL,
      requests INTEGER NOT NULL DEFAULT 0,
      errors INTEGER NOT NULL DEFAULT 0,
      input_tokens INTEGER NOT NULL DEFAULT 0,
      output_tokens INTEGER NOT NULL DEFAULT 0,
      cost_nano INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (res, t_ms, key_id, team, model, provider, upstream_model)
    ) WITHOUT ROWID;
    CREATE TABLE usage_latency (
      res INTEGER NOT NULL,
      t_ms INTEGER NOT NULL,
      key_id TEXT NOT NULL,
      team TEXT NOT NULL,
      model TEXT NOT NULL,
      provider TEXT NOT NULL,
      upstream_model TEXT NOT NULL,
      kind INTEGER NOT NULL,
      bin INTEGER NOT NULL,
      n INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (res, t_ms, key_id, team, model, provider, upstream_model, kind, bin)
    ) WITHOUT ROWID;
    INSERT INTO usage_buckets SELECT r.res, (ts_ms / (r.res * 1000)) * (r.res * 1000), key_id,
      team, model, provider, upstream_model, COUNT(*), SUM(status >= 400), SUM(input_tokens),
      SUM(output_tokens), SUM(COALESCE(cost_nano, 0))
      FROM requests, (SELECT 60 AS res UNION ALL SELECT 3600 UNION ALL SELECT 86400) r
      GROUP BY 1, 2, 3, 4, 5, 6, 7;
    )sql",
    // 7: each attempt of a request that had a failed one (the log row's detail).
    R"sql(
    ALTER TABLE requests ADD COLUMN attempt_log TEXT;
    )sql",
    // 8: one index per key is enough: requests_key_id serves the log by key and a key's last use
    // (its newest row). Every row written kept a second string-keyed index up to date.
    R"sql(
    DROP INDEX IF EXISTS requests_key_ts;
    )sql",
};

// The rollup resolutions (seconds), and how long minute rows are kept (stats by minute are for
// the last hours; hours and days are kept forever, like usage_daily).
constexpr int64_t kResolutions[] = {60, 3600, 86400};
constexpr int64_t kMinuteRollupDays = 8;

// RAII over the C API.
struct Db {
  sqlite3* db = nullptr;
  ~Db() {
    if (db) sqlite3_close_v2(db);
  }
};

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(fmt::format("prepare failed: {}: {}", sqlite3_errmsg(db), sql));
    }
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Stmt& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // The writer's hot loop: the text is not copied (v must outlive the step), and run_rebound()
  // leaves the bindings as they are, for statements whose every parameter is bound before each
  // step (clearing them cost more than the insert's own binds).
  Stmt& bind_ref(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  void run_rebound() {
    step();
    sqlite3_reset(stmt_);
  }
  bool step() {  // true while there is a row
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) {
      throw std::runtime_error(fmt::format("step failed: {}", sqlite3_errmsg(sqlite3_db_handle(stmt_))));
    }
    return false;
  }
  void run() {
    step();
    reset();
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double f64(int col) const { return sqlite3_column_double(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(fmt::format("{} (in: {:.80})", msg, sql));
  }
}

void open_db(Db& d, const std::string& path, bool readonly, std::chrono::milliseconds busy) {
  int flags = readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path.c_str(), &d.db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    throw std::runtime_error(fmt::format("cannot open {}: {}", path,
                                         d.db ? sqlite3_errmsg(d.db) : "out of memory"));
  }
  sqlite3_busy_timeout(d.db, static_cast<int>(busy.count()));
  if (!readonly) {
    exec(d.db, "PRAGMA journal_mode=WAL");
    // NORMAL in WAL mode: a committed transaction survives a crash of the process (kill -9);
    // only a power loss may drop the last commits. The file is never corrupted.
    exec(d.db, "PRAGMA synchronous=NORMAL");
  }
  exec(d.db, "PRAGMA foreign_keys=ON");
}

void migrate(sqlite3* db) {
  const int64_t version = [db] {
    // Finalised before the migrations run: DROP fails (SQLITE_LOCKED) while a statement of the
    // connection is still active.
    Stmt v(db, "PRAGMA user_version");
    v.step();
    return v.i64(0);
  }();
  const int64_t latest = static_cast<int64_t>(std::size(kMigrations));
  if (version > latest) {
    throw std::runtime_error(fmt::format(
        "the database schema is version {}, newer than this tollgate knows ({}): upgrade tollgate",
        version, latest));
  }
  for (int64_t i = version; i < latest; ++i) {
    exec(db, "BEGIN IMMEDIATE");
    try {
      exec(db, kMigrations[i]);
      exec(db, fmt::format("PRAGMA user_version={}", i + 1).c_str());
      exec(db, "COMMIT");
    } catch (...) {
      exec(db, "ROLLBACK");
      throw;
    }
    spdlog::info("store: applied schema migration {}", i + 1);
  }
}

// The request log's columns, in the order log_row reads them.
constexpr const char* kLogColumns =
    "SELECT id, ts_ms, request_id, key_id, key_name, team, model, provider, "
    "upstream_model, attempts, status, error_code, stream, latency_ms, ttft_ms, "
    "input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, "
    "cost_nano, request_body, response_body, usage_estimated, attempt_log FROM requests";

// One request log row as the admin API shows it.
json log_row(const Stmt& s) {
  json r = {{"id", s.i64(0)},
            {"ts_ms", s.i64(1)},
            {"request_id", s.text(2)},
            {"key_id", s.text(3)},
            {"key_name", s.text(4)},
            {"team", s.text(5)},
            {"model", s.text(6)},
            {"provider", s.text(7)},
            {"upstream_model", s.text(8)},
            {"attempts", s.i64(9)},
            {"status", s.i64(10)},
            {"error_code", s.text(11)},
            {"stream", s.i64(12) != 0},
            {"latency_ms", s.f64(13)},
            {"ttft_ms", s.is_null(14) ? json() : json(s.f64(14))},
            {"tokens",
             {{"input", s.i64(15)},
              {"output", s.i64(16)},
              {"cached", s.i64(17)},
              {"cache_write", s.i64(18)},
              {"reasoning", s.i64(19)}}},
            {"cost_usd", s.is_null(20) ? json() : json(double(s.i64(20)) / 1e9)},
            // The exact figure: integer nano-USD (cost_usd is a double, for display).
            {"cost_nano_usd", s.is_null(20) ? json() : json(s.i64(20))}};
  r["usage_estimated"] = s.i64(23) != 0;
  if (!s.is_null(21)) r["request_body"] = s.text(21);
  if (!s.is_null(22)) r["response_body"] = s.text(22);
  if (!s.is_null(24)) add_attempt_details(r, s.text(24));
  return r;
}

std::string utc_day(int64_t ts_ms) {
  std::time_t t = static_cast<std::time_t>(ts_ms / 1000);
  // A batch's rows are nearly all of one day: the last day's text is kept per thread (the writer
  // asked gmtime and fmt for it once per row).
  thread_local int64_t last_day = std::numeric_limits<int64_t>::min();
  thread_local std::string last_text;
  const int64_t day = t >= 0 ? t / 86400 : -((-static_cast<int64_t>(t) + 86399) / 86400);
  if (day != last_day) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    last_text = fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    last_day = day;
  }
  return last_text;
}

int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Money summed in a batch saturates, as every other sum of it does (money.hpp).
void add_money(int64_t& into, int64_t v) {
  if (__builtin_add_overflow(into, v, &into)) {
    into = v > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
}

// A batch's rows summed per rollup bucket, per day and per budget holder, so a burst of requests
// costs one upsert per bucket, not several per row.
struct Rollups {
  struct Sums {
    int64_t requests = 0, errors = 0, input_tokens = 0, output_tokens = 0, cost_nano = 0;
    std::map<std::pair<int, int>, int64_t> latency;  // (kind, bin) -> count
  };
  // (res, t_ms, key_id, team, model, provider, upstream_model)
  using Key = std::tuple<int64_t, int64_t, std::string, std::string, std::string, std::string,
                         std::string>;
  std::map<Key, Sums> buckets;
  struct Daily {
    int64_t requests = 0, errors = 0, input_tokens = 0, output_tokens = 0, cached_tokens = 0,
            reasoning_tokens = 0, cost_nano = 0, unknown_cost_requests = 0;
  };
  // (day, key_id, team, model, provider)
  using DayKey = std::tuple<std::string, std::string, std::string, std::string, std::string>;
  std::map<DayKey, Daily> days;
  std::map<std::pair<std::string, int64_t>, int64_t> spend;  // (holder, period start) -> nano-USD
  std::map<std::string, int64_t> spend_total;                // holder -> nano-USD

  void add(const RequestRow& r) {
    for (int64_t res : kResolutions) {
      const int64_t t = r.ts_ms - ((r.ts_ms % (res * 1000)) + res * 1000) % (res * 1000);
      Sums& x = buckets[Key{res, t, r.key_id, r.team, r.model, r.provider, r.upstream_model}];
      x.requests += 1;
      x.errors += r.status >= 400;
      x.input_tokens += r.input_tokens;
      x.output_tokens += r.output_tokens;
      add_money(x.cost_nano, r.cost_nano.value_or(0));
      x.latency[{0, latency_bin(r.latency_ms)}] += 1;
      if (r.ttft_ms >= 0) x.latency[{1, latency_bin(r.ttft_ms)}] += 1;
    }
    Daily& d = days[DayKey{utc_day(r.ts_ms), r.key_id, r.team, r.model, r.provider}];
    d.requests += 1;
    d.errors += r.status >= 400;
    d.input_tokens += r.input_tokens;
    d.output_tokens += r.output_tokens;
    d.cached_tokens += r.cached_tokens;
    d.reasoning_tokens += r.reasoning_tokens;
    add_money(d.cost_nano, r.cost_nano.value_or(0));
    // Unknown cost: tokens were used but had no price (not a request that used none).
    const bool used = r.input_tokens > 0 || r.output_tokens > 0;
    d.unknown_cost_requests += !r.cost_nano.has_value() && used;
  }

  void add(const SpendDelta& d) {
    add_money(spend[{d.holder, d.period_start}], d.nano_usd);
    add_money(spend_total[d.holder], d.nano_usd);
  }
};

// A queue served by one thread: jobs in order; request rows gathered into batches.
class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, StoreOptions opts) : path_(path), opts_(std::move(opts)) {
    if (!opts_.now_ms) opts_.now_ms = system_now_ms;
    auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir);
    open_db(writer_db_, path, false, opts_.busy_timeout);
    migrate(writer_db_.db);
    open_db(reader_db_, path, false, opts_.busy_timeout);
    writer_ = std::thread([this] { writer_loop(); });
    reader_ = std::thread([this] { reader_loop(); });
  }

  ~SqliteStore() override {
    flush();
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    { std::lock_guard lock(reader_mu_); }  // the reader is waiting or will see stopping_
    reader_cv_.notify_all();
    writer_.join();
    reader_.join();
  }

  void record(RequestRow row, std::vector<SpendDelta> spend) override {
    bool wake;
    {
      std::lock_guard lock(mu_);
      rows_.push_back(std::move(row));
      for (auto& d : spend) spend_.push_back(std::move(d));
      wake = rows_.size() >= opts_.batch_rows;
      note_backlog(rows_.size() + retrying_rows_);
    }
    if (wake) cv_.notify_one();
  }

  bool accepting() const override { return accepting_.load(std::memory_order_relaxed); }

  StoreHealth health() const override {
    StoreHealth h;
    {
      std::lock_guard lock(mu_);
      h.backlog_rows = rows_.size() + retrying_rows_;
    }
    h.commit_failures = commit_failures_.load(std::memory_order_relaxed);
    h.accepting = accepting();
    return h;
  }

  void save_key(KeyRow row, std::function<void(bool)> done) override {
    write_job([row = std::move(row), done = std::move(done)](sqlite3* db) {
      bool ok = true;
      try {
        Stmt s(db, "INSERT INTO keys (id, hash, record, revoked) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT(id) DO UPDATE SET record = ?3, revoked = ?4");
        s.bind(1, row.id).bind(2, row.hash).bind(3, row.record.dump()).bind(4, int64_t(row.revoked));
        s.run();
      } catch (const std::exception& e) {
        spdlog::error("store: save_key failed: {}", e.what());
        ok = false;
      }
      if (done) done(ok);
    });
  }

  void save_team(TeamRow row, std::function<void(bool)> done) override {
    write_job([row = std::move(row), done = std::move(done)](sqlite3* db) {
      bool ok = true;
      try {
        Stmt s(db, "INSERT INTO teams (id, record) VALUES (?1, ?2) "
                   "ON CONFLICT(id) DO UPDATE SET record = ?2");
        s.bind(1, row.id).bind(2, row.record.dump());
        s.run();
      } catch (const std::exception& e) {
        spdlog::error("store: save_team failed: {}", e.what());
        ok = false;
      }
      if (done) done(ok);
    });
  }

  void delete_team(std::string id, std::function<void(bool)> done) override {
    write_job([id = std::move(id), done = std::move(done)](sqlite3* db) {
      bool ok = true;
      try {
        Stmt s(db, "DELETE FROM teams WHERE id = ?1");
        s.bind(1, id);
        s.run();
      } catch (const std::exception& e) {
        ok = false;
      }
      if (done) done(ok);
    });
  }

  // Written with the request rows, in the same transaction (group commit); until then reads
  // find it in the pending map (read-your-writes). Shared, not copied, by the map and the batch.
  void save_response(ResponseRow row) override {
    auto shared = pending_responses_.add(std::move(row));
    std::lock_guard lock(mu_);
    responses_.push_back(std::move(shared));
  }

  void get_response(std::string id, std::string scope,
                    std::function<void(std::optional<ResponseRow>)> done) override {
    read_job([this, id = std::move(id), scope = std::move(scope),
              done = std::move(done)](sqlite3* db) {
      std::optional<ResponseRow> row;
      try {
        row = find_response(db, id, scope);
      } catch (const std::exception& e) {
        spdlog::error("store: get_response failed: {}", e.what());
      }
      done(std::move(row));
    });
  }

  void delete_response(std::string id, std::string scope,
                       std::function<void(bool)> done) override {
    // In order behind any pending save of the same id (one writer thread).
    write_job([this, id = std::move(id), scope = std::move(scope),
               done = std::move(done)](sqlite3* db) {
      // A save of it that is still waiting (its batch's commit failed) is dropped too.
      bool deleted = pending_responses_.drop(id, scope);
      std::erase_if(batch_responses_, [&](const auto& r) { return r->id == id && r->scope == scope; });
      try {
        Stmt s(db, "DELETE FROM responses WHERE id = ?1 AND scope = ?2");
        s.bind(1, id).bind(2, scope);
        s.run();
        deleted = sqlite3_changes(db) > 0 || deleted;
      } catch (const std::exception& e) {
        spdlog::error("store: delete_response failed: {}", e.what());
      }
      done(deleted);
    });
  }

  void conversation(std::string id, std::string scope,
                    std::function<void(std::optional<json>)> done) override {
    read_job([this, id = std::move(id), scope = std::move(scope),
              done = std::move(done)](sqlite3* db) {
      std::optional<json> items;
      try {
        std::vector<ResponseRow> turns;
        std::string at = id;
        while (!at.empty() && static_cast<int>(turns.size()) < kMaxConversationTurns) {
          auto row = find_response(db, at, scope);
          if (!row) break;
          at = row->previous_id;
          turns.push_back(std::move(*row));
        }
        if (!turns.empty()) {
          items = json::array();
          for (auto t = turns.rbegin(); t != turns.rend(); ++t) {
            for (const char* part : {"input", "output"}) {
              json list = json::parse(part[0] == 'i' ? t->input_items : t->output_items,
                                      nullptr, false);
              if (!list.is_array()) continue;
              for (auto& item : list) items->push_back(std::move(item));
            }
          }
        }
      } catch (const std::exception& e) {
        spdlog::error("store: conversation failed: {}", e.what());
        items.reset();
      }
      done(std::move(items));
    });
  }

  void query_logs(LogQuery q, std::function<void(json)> done) override {
    read_job([q = std::move(q), done = std::move(done)](sqlite3* db) {
      json rows = json::array();
      try {
        std::string sql = std::string(kLogColumns) + " WHERE 1=1";
        if (!q.key_id.empty()) sql += " AND key_id = ?1";
        if (!q.model.empty()) sql += " AND model = ?2";
        if (!q.team.empty()) sql += " AND team = ?8";
        if (!q.provider.empty()) sql += " AND provider = ?9";
        if (q.status) sql += " AND status = ?3";
        if (q.since_ms) sql += " AND ts_ms >= ?4";
        if (q.until_ms) sql += " AND ts_ms < ?5";
        if (q.before_id) sql += " AND id < ?6";
        sql += " ORDER BY id DESC LIMIT ?7";
        Stmt s(db, sql.c_str());
        if (!q.key_id.empty()) s.bind(1, q.key_id);
        if (!q.model.empty()) s.bind(2, q.model);
        if (q.status) s.bind(3, int64_t(*q.status));
        if (q.since_ms) s.bind(4, *q.since_ms);
        if (q.until_ms) s.bind(5, *q.until_ms);
        if (q.before_id) s.bind(6, *q.before_id);
        s.bind(7, int64_t(std::clamp(q.limit, 1, 1000)));
        if (!q.team.empty()) s.bind(8, q.team);
        if (!q.provider.empty()) s.bind(9, q.provider);
        while (s.step()) rows.push_back(log_row(s));
      } catch (const std::exception& e) {
        spdlog::error("store: query_logs failed: {}", e.what());
      }
      done(std::move(rows));
    });
  }

  void get_log(int64_t id, std::function<void(json)> done) override {
    read_job([id, done = std::move(done)](sqlite3* db) {
      json row;
      try {
        Stmt s(db, (std::string(kLogColumns) + " WHERE id = ?1").c_str());
        s.bind(1, id);
        if (s.step()) row = log_row(s);
      } catch (const std::exception& e) {
        spdlog::error("store: get_log failed: {}", e.what());
      }
      done(std::move(row));
    });
  }

  void keys_last_used(std::vector<std::string> ids, std::function<void(json)> done) override {
    read_job([ids = std::move(ids), done = std::move(done)](sqlite3* db) {
      json by_id = json::object();
      try {
        // One index probe per key (requests_key_id), whatever the size of the log: the start
        // time of the key's newest logged request.
        Stmt s(db, "SELECT ts_ms FROM requests WHERE key_id = ?1 ORDER BY id DESC LIMIT 1");
        for (const auto& id : ids) {
          s.bind(1, id);
          if (s.step() && !s.is_null(0)) by_id[id] = s.i64(0);
          s.reset();
        }
      } catch (const std::exception& e) {
        spdlog::error("store: keys_last_used failed: {}", e.what());
      }
      done(std::move(by_id));
    });
  }

  void query_stats(StatsQuery q, std::function<void(json)> done) override {
    read_job([q = std::move(q), done = std::move(done)](sqlite3* db) {
      json out = {{"counts", json::array()}, {"latency", json::array()}};
      try {
        static const std::map<std::string, std::string> kColumns = {
            {"none", "''"}, {"model", "model"}, {"provider", "provider"}, {"key", "key_id"},
            {"team", "team"}, {"deployment", "provider || '/' || upstream_model"}};
        auto it = kColumns.find(q.group_by);
        const std::string col = it == kColumns.end() ? "''" : it->second;
        // The coarsest rollup that the step is a multiple of.
        int64_t res = 60;
        for (int64_t r : kResolutions) {
          if (q.step_s % r == 0) res = r;
        }
        const int64_t step_ms = q.step_s * 1000;
        Stmt c(db, fmt::format("SELECT {0}, (t_ms / ?3) * ?3, SUM(requests), SUM(errors), "
                               "SUM(input_tokens), SUM(output_tokens), SUM(cost_nano) FROM "
                               "usage_buckets WHERE res = ?1 AND t_ms >= ?2 AND t_ms < ?4 "
                               "GROUP BY 1, 2",
                               col)
                       .c_str());
        c.bind(1, res).bind(2, q.from_ms).bind(3, step_ms).bind(4, q.to_ms);
        while (c.step()) {
          out["counts"].push_back(
              json::array({c.text(0), c.i64(1), c.i64(2), c.i64(3), c.i64(4), c.i64(5), c.i64(6)}));
        }
        Stmt l(db, fmt::format("SELECT {0}, (t_ms / ?3) * ?3, kind, bin, SUM(n) FROM "
                               "usage_latency WHERE res = ?1 AND t_ms >= ?2 AND t_ms < ?4 "
                               "GROUP BY 1, 2, 3, 4",
                               col)
                       .c_str());
        l.bind(1, res).bind(2, q.from_ms).bind(3, step_ms).bind(4, q.to_ms);
        while (l.step()) {
          out["latency"].push_back(json::array({l.text(0), l.i64(1), l.i64(2), l.i64(3), l.i64(4)}));
        }
      } catch (const std::exception& e) {
        spdlog::error("store: query_stats failed: {}", e.what());
      }
      done(std::move(out));
    });
  }

  void query_spend(SpendQuery q, std::function<void(json)> done) override {
    read_job([q = std::move(q), done = std::move(done)](sqlite3* db) {
      json rows = json::array();
      try {
        static const std::map<std::string, std::string> kColumns = {
            {"key", "key_id"}, {"team", "team"}, {"model", "model"}, {"provider", "provider"},
            {"day", "day"}};
        auto col = kColumns.count(q.group_by) ? kColumns.at(q.group_by) : "key_id";
        std::string sql = fmt::format(
            "SELECT {0}, SUM(requests), SUM(errors), SUM(input_tokens), SUM(output_tokens), "
            "SUM(cached_tokens), SUM(reasoning_tokens), SUM(cost_nano), "
            "SUM(unknown_cost_requests) FROM usage_daily WHERE day >= ?1 AND day <= ?2 "
            "GROUP BY {0} ORDER BY SUM(cost_nano) DESC",
            col);
        Stmt s(db, sql.c_str());
        s.bind(1, q.from_ms ? utc_day(*q.from_ms) : std::string("0000-00-00"));
        s.bind(2, q.to_ms ? utc_day(*q.to_ms) : std::string("9999-99-99"));
        while (s.step()) {
          rows.push_back({{q.group_by, s.text(0)},
                          {"requests", s.i64(1)},
                          {"errors", s.i64(2)},
                          {"input_tokens", s.i64(3)},
                          {"output_tokens", s.i64(4)},
                          {"cached_tokens", s.i64(5)},
                          {"reasoning_tokens", s.i64(6)},
                          {"spend_usd", double(s.i64(7)) / 1e9},
                          {"spend_nano_usd", s.i64(7)},
                          {"unknown_cost_requests", s.i64(8)}});
        }
      } catch (const std::exception& e) {
        spdlog::error("store: query_spend failed: {}", e.what());
      }
      done(std::move(rows));
    });
  }

  LoadedState load() override {
    LoadedState st;
    std::mutex m;
    std::condition_variable cv;
    bool finished = false;
    write_job([&](sqlite3* db) {
      {
        Stmt s(db, "SELECT id, hash, record FROM keys WHERE revoked = 0");
        while (s.step()) {
          st.keys.push_back(KeyRow{s.text(0), s.text(1), json::parse(s.text(2), nullptr, false), false});
        }
      }
      {
        Stmt s(db, "SELECT id, record FROM teams");
        while (s.step()) st.teams.push_back(TeamRow{s.text(0), json::parse(s.text(1), nullptr, false)});
      }
      {
        // The latest period row per holder is the only one that can still be current.
        Stmt s(db, "SELECT holder, period_start, spent_nano FROM spend s WHERE period_start = "
                   "(SELECT MAX(period_start) FROM spend t WHERE t.holder = s.holder)");
        while (s.step()) st.spend.push_back(SpendDelta{s.text(0), s.i64(1), s.i64(2)});
      }
      {
        Stmt s(db, "SELECT holder, spent_nano FROM spend_total");
        while (s.step()) st.spend_total.emplace_back(s.text(0), s.i64(1));
      }
      std::lock_guard lock(m);
      finished = true;
      cv.notify_one();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return finished; });
    return st;
  }

  void flush() override {
    std::mutex m;
    std::condition_variable cv;
    bool finished = false;
    write_job([&](sqlite3*) {
      std::lock_guard lock(m);
      finished = true;
      cv.notify_one();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return finished; });
  }

  int64_t enforce_retention() override {
    std::mutex m;
    std::condition_variable cv;
    bool finished = false;
    int64_t deleted = 0;
    write_job([&](sqlite3* db) {
      deleted = delete_expired(db);
      std::lock_guard lock(m);
      finished = true;
      cv.notify_one();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return finished; });
    return deleted;
  }

  void set_retention_days(int days) override {
    std::lock_guard lock(mu_);
    opts_.retention_days = days;
  }

 private:
  using Job = std::function<void(sqlite3*)>;

  void write_job(Job job) {
    {
      std::lock_guard lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  void read_job(Job job) {
    {
      std::lock_guard lock(reader_mu_);
      reader_jobs_.push_back(std::move(job));
    }
    reader_cv_.notify_one();
  }

  // A stored turn: one saved but not yet written, or from the database.
  std::optional<ResponseRow> find_response(sqlite3* db, const std::string& id,
                                           const std::string& scope) {
    if (auto pending = pending_responses_.find(id, scope); pending.pending) return pending.row;
    Stmt s(db, "SELECT id, scope, previous_id, created_ms, response, input_items, output_items "
               "FROM responses WHERE id = ?1 AND scope = ?2");
    s.bind(1, id).bind(2, scope);
    if (!s.step()) return std::nullopt;
    return ResponseRow{s.text(0), s.text(1), s.text(2), s.i64(3), s.text(4), s.text(5), s.text(6)};
  }

  // Deletes request rows older than the retention, in small chunks (short write locks).
  int64_t delete_expired(sqlite3* db) {
    int days;
    {
      std::lock_guard lock(mu_);
      days = opts_.retention_days;
    }
    {
      const int64_t minute_cutoff = opts_.now_ms() - kMinuteRollupDays * 86'400'000;
      Stmt m(db, "DELETE FROM usage_buckets WHERE res = 60 AND t_ms < ?1");
      m.bind(1, minute_cutoff);
      m.run();
      Stmt h(db, "DELETE FROM usage_latency WHERE res = 60 AND t_ms < ?1");
      h.bind(1, minute_cutoff);
      h.run();
    }
    if (days <= 0) return 0;
    int64_t cutoff = opts_.now_ms() - int64_t(days) * 86'400'000;
    int64_t total = 0;
    Stmt s(db, "DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE ts_ms < ?1 "
               "LIMIT 5000)");
    for (;;) {
      s.bind(1, cutoff);
      s.run();
      int n = sqlite3_changes(db);
      total += n;
      if (n < 5000) break;
    }
    Stmt r(db, "DELETE FROM responses WHERE created_ms < ?1");
    r.bind(1, cutoff);
    r.run();
    if (int n = sqlite3_changes(db); n > 0) {
      spdlog::info("store: retention deleted {} stored response(s)", n);
    }
    if (total > 0) spdlog::info("store: retention deleted {} request log row(s)", total);
    return total;
  }

  void writer_loop() {
    sqlite3* db = writer_db_.db;
    Stmt insert(db,
                "INSERT INTO requests (ts_ms, request_id, key_id, key_name, team, model, "
                "provider, upstream_model, attempts, status, error_code, stream, latency_ms, "
                "ttft_ms, input_tokens, output_tokens, cached_tokens, cache_write_tokens, "
                "reasoning_tokens, cost_nano, request_body, response_body, usage_estimated, "
                "attempt_log) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)");
    Stmt rollup(db,
                "INSERT INTO usage_daily (day, key_id, team, model, provider, requests, errors, "
                "input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_nano, "
                "unknown_cost_requests) VALUES (?1, ?2, ?3, ?4, ?5, ?13, ?6, ?7, ?8, ?9, ?10, "
                "?11, ?12) ON CONFLICT (day, key_id, team, model, provider) DO UPDATE SET "
                "requests = requests + ?13, errors = errors + ?6, input_tokens = input_tokens + ?7, "
                "output_tokens = output_tokens + ?8, cached_tokens = cached_tokens + ?9, "
                "reasoning_tokens = reasoning_tokens + ?10, cost_nano = cost_nano + ?11, "
                "unknown_cost_requests = unknown_cost_requests + ?12");
    Stmt spend(db,
               "INSERT INTO spend (holder, period_start, spent_nano) VALUES (?1, ?2, ?3) "
               "ON CONFLICT (holder, period_start) DO UPDATE SET spent_nano = spent_nano + ?3");
    Stmt total(db,
               "INSERT INTO spend_total (holder, spent_nano) VALUES (?1, ?2) "
               "ON CONFLICT (holder) DO UPDATE SET spent_nano = spent_nano + ?2");
    Stmt bucket(db,
                "INSERT INTO usage_buckets (res, t_ms, key_id, team, model, provider, requests, "
                "errors, input_tokens, output_tokens, cost_nano, upstream_model) VALUES (?1, ?2, "
                "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (res, t_ms, key_id, team, "
                "model, provider, upstream_model) DO UPDATE SET requests = requests + ?7, "
                "errors = errors + ?8, input_tokens = input_tokens + ?9, output_tokens = "
                "output_tokens + ?10, cost_nano = cost_nano + ?11");
    Stmt hist(db,
              "INSERT INTO usage_latency (res, t_ms, key_id, team, model, provider, kind, bin, n, "
              "upstream_model) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (res, "
              "t_ms, key_id, team, model, provider, upstream_model, kind, bin) DO UPDATE SET "
              "n = n + ?9");
    RollupStmts rollup_stmts{bucket, hist};
    Stmt response(db,
                  "INSERT OR REPLACE INTO responses (id, scope, previous_id, created_ms, response, "
                  "input_items, output_items) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    // A retention pass at start, before this run's rows (a gateway restarted more often than
    // hourly still enforces logs.retention_days), then hourly.
    auto retention = [&] {
      try {
        delete_expired(db);
      } catch (const std::exception& e) {
        spdlog::error("store: retention failed: {}", e.what());
      }
    };
    retention();
    auto next_retention = std::chrono::steady_clock::now() + std::chrono::hours(1);
    // A batch whose commit failed stays here and is retried (new rows join it): never dropped.
    std::vector<RequestRow> rows;
    std::vector<SpendDelta> deltas;
    std::chrono::milliseconds backoff{0};  // > 0 while the last commit failed
    std::unique_lock lock(mu_);
    for (;;) {
      if (backoff.count() > 0) {
        // Wait out the backoff; a stop or an admin job does not cut it short (a job would fail
        // on the same lock), but the retry loop stays responsive to a stop.
        cv_.wait_for(lock, backoff, [] { return false; });
      } else {
        cv_.wait_for(lock, opts_.flush_interval, [&] {
          return stopping_ || !jobs_.empty() || rows_.size() >= opts_.batch_rows;
        });
      }
      std::deque<Job> jobs;
      std::move(rows_.begin(), rows_.end(), std::back_inserter(rows));
      std::move(spend_.begin(), spend_.end(), std::back_inserter(deltas));
      std::move(responses_.begin(), responses_.end(), std::back_inserter(batch_responses_));
      rows_.clear();
      spend_.clear();
      responses_.clear();
      jobs.swap(jobs_);
      retrying_rows_ = rows.size();
      bool stop = stopping_;
      lock.unlock();
      if (!rows.empty() || !deltas.empty() || !batch_responses_.empty()) {
        if (commit_batch(db, rows, deltas, insert, rollup, spend, total, rollup_stmts, response)) {
          if (backoff.count() > 0) {
            spdlog::info("store: writes recovered; {} row(s) committed", rows.size());
          }
          rows.clear();
          deltas.clear();
          written_responses();
          backoff = std::chrono::milliseconds{0};
        } else {
          commit_failures_.fetch_add(1, std::memory_order_relaxed);
          backoff = std::clamp(backoff * 2, std::chrono::milliseconds{50}, std::chrono::milliseconds{2000});
          if (stop && ++stop_retries_ > kStopRetries) {
            // Shutting down on a disk that keeps failing: say exactly what is lost, loudly.
            int64_t lost = 0;
            for (const auto& d : deltas) lost += d.nano_usd;
            spdlog::critical("store: giving up at shutdown after {} retries: {} request row(s) and "
                             "{} nUSD of spend were not written", kStopRetries, rows.size(), lost);
            rows.clear();
            deltas.clear();
            written_responses();
            backoff = std::chrono::milliseconds{0};
          }
        }
      }
      for (auto& job : jobs) {
        try {
          job(db);
        } catch (const std::exception& e) {
          spdlog::error("store: {}", e.what());
        }
      }
      if (std::chrono::steady_clock::now() >= next_retention) {
        next_retention = std::chrono::steady_clock::now() + std::chrono::hours(1);
        retention();
      }
      lock.lock();
      retrying_rows_ = rows.size();
      note_backlog(rows_.size() + retrying_rows_);
      if (stop && jobs_.empty() && rows_.empty() && spend_.empty() && responses_.empty() &&
          rows.empty() && deltas.empty() && batch_responses_.empty()) {
        return;
      }
    }
  }

  // Back-pressure with hysteresis: off above the bound, on again at half of it. Under mu_.
  void note_backlog(size_t backlog) {
    if (backlog >= opts_.max_queued_rows) {
      if (accepting_.exchange(false, std::memory_order_relaxed)) {
        spdlog::error("store: {} row(s) waiting for the disk (bound {}): refusing new API requests "
                      "with 503 store_unavailable until the backlog drains",
                      backlog, opts_.max_queued_rows);
      }
    } else if (backlog <= opts_.max_queued_rows / 2) {
      if (!accepting_.exchange(true, std::memory_order_relaxed)) {
        spdlog::info("store: backlog down to {} row(s): accepting requests again", backlog);
      }
    }
  }

  // One transaction for the batch; false (rolled back, nothing written) when it failed.
  struct RollupStmts {
    Stmt& bucket;
    Stmt& hist;
  };

  // The batch's responses left the pending map once committed (or given up): reads go to the
  // database again. A newer save of the same id stays.
  void written_responses() {
    pending_responses_.committed(batch_responses_);
    batch_responses_.clear();
  }

  bool commit_batch(sqlite3* db, const std::vector<RequestRow>& rows,
                    const std::vector<SpendDelta>& deltas, Stmt& insert, Stmt& rollup,
                    Stmt& spend, Stmt& total, RollupStmts& rs, Stmt& response) {
    try {
      exec(db, "BEGIN IMMEDIATE");
      for (const auto& r : batch_responses_) {
        response.bind_ref(1, r->id).bind_ref(2, r->scope).bind_ref(3, r->previous_id);
        response.bind(4, r->created_ms);
        response.bind_ref(5, r->response).bind_ref(6, r->input_items).bind_ref(7, r->output_items);
        response.run_rebound();
      }
      Rollups sums;
      for (const auto& r : rows) {
        insert.bind(1, r.ts_ms).bind_ref(2, r.request_id).bind_ref(3, r.key_id);
        insert.bind_ref(4, r.key_name).bind_ref(5, r.team).bind_ref(6, r.model);
        insert.bind_ref(7, r.provider).bind_ref(8, r.upstream_model);
        insert.bind(9, int64_t(r.attempts)).bind(10, int64_t(r.status)).bind_ref(11, r.error_code);
        insert.bind(12, int64_t(r.stream)).bind(13, r.latency_ms);
        if (r.ttft_ms >= 0) insert.bind(14, r.ttft_ms); else insert.bind_null(14);
        insert.bind(15, r.input_tokens).bind(16, r.output_tokens).bind(17, r.cached_tokens);
        insert.bind(18, r.cache_write_tokens).bind(19, r.reasoning_tokens);
        if (r.cost_nano) insert.bind(20, *r.cost_nano); else insert.bind_null(20);
        if (r.request_body) insert.bind_ref(21, *r.request_body); else insert.bind_null(21);
        if (r.response_body) insert.bind_ref(22, *r.response_body); else insert.bind_null(22);
        insert.bind(23, int64_t(r.usage_estimated));
        if (!r.attempt_log.empty()) insert.bind_ref(24, r.attempt_log); else insert.bind_null(24);
        insert.run_rebound();
        sums.add(r);
      }
      for (const auto& [k, d] : sums.days) {
        const auto& [day, key_id, team, model, provider] = k;
        rollup.bind_ref(1, day).bind_ref(2, key_id).bind_ref(3, team).bind_ref(4, model);
        rollup.bind_ref(5, provider);
        rollup.bind(13, d.requests).bind(6, d.errors).bind(7, d.input_tokens);
        rollup.bind(8, d.output_tokens).bind(9, d.cached_tokens).bind(10, d.reasoning_tokens);
        rollup.bind(11, d.cost_nano).bind(12, d.unknown_cost_requests);
        rollup.run_rebound();
      }
      for (const auto& [k, x] : sums.buckets) {
        const auto& [res, t, key_id, team, model, provider, upstream] = k;
        rs.bucket.bind(1, res).bind(2, t).bind_ref(3, key_id).bind_ref(4, team).bind_ref(5, model);
        rs.bucket.bind_ref(6, provider).bind(7, x.requests).bind(8, x.errors);
        rs.bucket.bind_ref(12, upstream);
        rs.bucket.bind(9, x.input_tokens).bind(10, x.output_tokens).bind(11, x.cost_nano);
        rs.bucket.run_rebound();
        for (const auto& [kind_bin, n] : x.latency) {
          rs.hist.bind(1, res).bind(2, t).bind_ref(3, key_id).bind_ref(4, team).bind_ref(5, model);
          rs.hist.bind_ref(6, provider).bind_ref(10, upstream).bind(7, int64_t(kind_bin.first));
          rs.hist.bind(8, int64_t(kind_bin.second)).bind(9, n);
          rs.hist.run_rebound();
        }
      }
      for (const auto& d : deltas) sums.add(d);
      for (const auto& [holder_period, nano] : sums.spend) {
        spend.bind_ref(1, holder_period.first).bind(2, holder_period.second).bind(3, nano);
        spend.run_rebound();
      }
      for (const auto& [holder, nano] : sums.spend_total) {
        total.bind_ref(1, holder).bind(2, nano);
        total.run_rebound();
      }
      exec(db, "COMMIT");
      return true;
    } catch (const std::exception& e) {
      spdlog::error("store: batch of {} row(s) failed, kept for a retry: {}", rows.size(), e.what());
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      insert.reset();
      rollup.reset();
      rs.bucket.reset();
      rs.hist.reset();
      spend.reset();
      total.reset();
      response.reset();
      return false;
    }
  }

  void reader_loop() {
    std::unique_lock lock(reader_mu_);
    for (;;) {
      reader_cv_.wait(lock, [&] { return reader_stopping() || !reader_jobs_.empty(); });
      if (reader_jobs_.empty() && reader_stopping()) return;
      Job job = std::move(reader_jobs_.front());
      reader_jobs_.pop_front();
      lock.unlock();
      try {
        job(reader_db_.db);
      } catch (const std::exception& e) {
        spdlog::error("store: {}", e.what());
      }
      lock.lock();
    }
  }

  bool reader_stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  static constexpr int kStopRetries = 5;  // ~3 s of backoff (plus busy timeouts) at shutdown, then give up loudly

  std::string path_;
  StoreOptions opts_;
  Db writer_db_, reader_db_;
  mutable std::mutex mu_;
  size_t retrying_rows_ = 0;  // the writer's batch in flight or waiting for a retry (under mu_)
  int stop_retries_ = 0;      // writer thread only
  std::atomic<bool> accepting_{true};
  std::atomic<uint64_t> commit_failures_{0};
  std::condition_variable cv_;
  std::vector<RequestRow> rows_;
  std::vector<SpendDelta> spend_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::mutex reader_mu_;
  std::condition_variable reader_cv_;
  std::deque<Job> reader_jobs_;
  std::thread writer_, reader_;
  // Responses saved but not yet written: reads see them at once.
  PendingResponses pending_responses_;
  std::vector<std::shared_ptr<const ResponseRow>> responses_;  // saved, for the writer (under mu_)
  // The writer's responses in flight or waiting for a retry (writer thread only).
  std::vector<std::shared_ptr<const ResponseRow>> batch_responses_;
};

}  // namespace

int latency_bin(double ms) {
  if (!(ms >= 1)) return 0;  // (NaN too)
  const double b = 1 + std::floor(8 * std::log2(ms));
  return b >= kLatencyBins - 1 ? kLatencyBins - 1 : static_cast<int>(b);
}

double latency_bin_ms(int bin) {
  if (bin <= 0) return 0.5;
  return std::exp2((bin - 0.5) / 8);
}

std::unique_ptr<Store> open_sqlite_store(const std::string& path, StoreOptions options,
                                         std::string* error) {
  // SQLite's memory statistics take a global mutex on every allocation (about 80 lock/unlock
  // pairs per logged request); nothing here reads them. Only possible before SQLite starts.
  static std::once_flag memstatus;
  std::call_once(memstatus, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  try {
    return std::make_unique<SqliteStore>(path, std::move(options));
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return nullptr;
  }
}

}  // namespace tg::store
