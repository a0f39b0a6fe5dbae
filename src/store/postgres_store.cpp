// The PostgreSQL store. Threads, as SqliteStore's: one writer (request rows and spend committed in
// batches, admin writes in order), a pool of readers (queries), and a listener (other instances'
// key and team changes). Each owns its connection; a broken one is reopened with backoff while
// rows wait in memory (back-pressure as SQLite's). Nothing here runs on an event loop.

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "tollgate/store/postgres_conn.hpp"
#include "tollgate/store/postgres_store.hpp"
#include "tollgate/store/pending_responses.hpp"

namespace tg::store {
namespace {

using json = nlohmann::json;
using pg::Conn;
using pg::Param;
using pg::clean_text;
using pg::p;
using Ms = std::chrono::milliseconds;

constexpr const char* kChannel = "tollgate_changes";
constexpr size_t kRowsPerInsert = 500;  // 24 parameters a row: well under libpq's 65535

std::string utc_day(int64_t ts_ms) {
  std::time_t t = static_cast<std::time_t>(ts_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int64_t system_now_ms() {
  return std::chrono::duration_cast<Ms>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

std::string random_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

// "$1, $2, ..." for row `row` of `width` columns: "($k+1, ..., $k+width)".
void placeholders(std::string& sql, size_t row, size_t width) {
  sql += row ? ",(" : "(";
  for (size_t c = 0; c < width; ++c) {
    if (c) sql += ',';
    sql += '$';
    sql += std::to_string(row * width + c + 1);
  }
  sql += ')';
}

// Additive upsert of an int64 sum that saturates instead of failing the batch for ever.
std::string sat_sum(std::string_view table, std::string_view col) {
  return fmt::format("LEAST(GREATEST({0}.{1}::numeric + excluded.{1}, -9223372036854775808), "
                     "9223372036854775807)::bigint",
                     table, col);
}

// The request log's columns, in the order log_row reads them.
constexpr const char* kLogColumns =
    "SELECT id, ts_ms, request_id, key_id, key_name, team, model, provider, "
    "upstream_model, attempts, status, error_code, stream, latency_ms, ttft_ms, "
    "input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, "
    "cost_nano, request_body, response_body, usage_estimated, attempt_log FROM requests";

// One request log row as the admin API shows it (as SqliteStore's log_row).
json log_row(const pg::Result& s, int i) {
  json r = {{"id", s.i64(i, 0)},
            {"ts_ms", s.i64(i, 1)},
            {"request_id", s.text(i, 2)},
            {"key_id", s.text(i, 3)},
            {"key_name", s.text(i, 4)},
            {"team", s.text(i, 5)},
            {"model", s.text(i, 6)},
            {"provider", s.text(i, 7)},
            {"upstream_model", s.text(i, 8)},
            {"attempts", s.i64(i, 9)},
            {"status", s.i64(i, 10)},
            {"error_code", s.text(i, 11)},
            {"stream", s.boolean(i, 12)},
            {"latency_ms", s.f64(i, 13)},
            {"ttft_ms", s.is_null(i, 14) ? json() : json(s.f64(i, 14))},
            {"tokens",
             {{"input", s.i64(i, 15)},
              {"output", s.i64(i, 16)},
              {"cached", s.i64(i, 17)},
              {"cache_write", s.i64(i, 18)},
              {"reasoning", s.i64(i, 19)}}},
            {"cost_usd", s.is_null(i, 20) ? json() : json(double(s.i64(i, 20)) / 1e9)},
            {"cost_nano_usd", s.is_null(i, 20) ? json() : json(s.i64(i, 20))}};
  r["usage_estimated"] = s.boolean(i, 23);
  if (!s.is_null(i, 21)) r["request_body"] = s.text(i, 21);
  if (!s.is_null(i, 22)) r["response_body"] = s.text(i, 22);
  if (!s.is_null(i, 24)) add_attempt_details(r, s.text(i, 24));
  return r;
}

// The rollup resolutions (seconds) for /admin/stats, and how long minute rows are kept.
constexpr int64_t kResolutions[] = {60, 3600, 86400};
constexpr int64_t kMinuteRollupDays = 8;

ResponseRow response_of(const pg::Result& r, int i) {
  return ResponseRow{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.i64(i, 3),
                     r.text(i, 4), r.text(i, 5), r.text(i, 6)};
}

class PostgresStore final : public Store {
 public:
  PostgresStore(std::string url, StoreOptions opts, PostgresOptions pgo)
      : url_(std::move(url)), opts_(std::move(opts)), pgo_(pgo) {
    if (!opts_.now_ms) opts_.now_ms = system_now_ms;
    std::string err;
    if (!writer_conn_.connect(url_, pgo_.connect_timeout_s, &err)) {
      throw pg::PgError(fmt::format("cannot connect to {}: {}", pg::redact_url(url_), err));
    }
    pg::migrate(writer_conn_);
    writer_pid_ = writer_conn_.backend_pid();
    // Listening before load() reads keys and teams: no change falls between the two.
    if (!listener_conn_.connect(url_, pgo_.connect_timeout_s, &err)) {
      throw pg::PgError(fmt::format("cannot connect to {}: {}", pg::redact_url(url_), err));
    }
    listener_conn_.exec(fmt::format("LISTEN {}", kChannel));
    writer_ = std::thread([this] { writer_loop(); });
    for (int i = 0; i < std::max(1, pgo_.readers); ++i) {
      readers_.emplace_back([this] { reader_loop(); });
    }
    listener_ = std::thread([this] { listener_loop(); });
  }

  ~PostgresStore() override {
    flush();
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    listener_cv_.notify_all();
    {
      std::lock_guard lock(reader_mu_);
      readers_stopping_ = true;
    }
    reader_cv_.notify_all();
    writer_.join();
    for (auto& t : readers_) t.join();
    listener_.join();
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
  bool reachable() const override {
    return writer_ok_.load(std::memory_order_relaxed) &&
           listener_ok_.load(std::memory_order_relaxed);
  }

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

  void on_change(std::function<void(StoreChange)> callback) override {
    std::lock_guard lock(change_mu_);
    on_change_ = std::move(callback);
  }

  void save_key(KeyRow row, std::function<void(bool)> done) override {
    write_job([row = std::move(row), done = std::move(done)](Conn& c) {
      bool ok = run_logged("save_key", [&] {
        c.transaction([&] {
          c.exec("INSERT INTO keys (id, hash, record, revoked) VALUES ($1, $2, $3, $4) "
                 "ON CONFLICT (id) DO UPDATE SET record = excluded.record, "
                 "revoked = excluded.revoked",
                 {p(row.id), p(row.hash), p(clean_text(row.record.dump())), p(row.revoked)});
          notify(c, "key:" + row.id);
        });
      });
      if (done) done(ok);
    });
  }

  void save_team(TeamRow row, std::function<void(bool)> done) override {
    write_job([row = std::move(row), done = std::move(done)](Conn& c) {
      bool ok = run_logged("save_team", [&] {
        c.transaction([&] {
          c.exec("INSERT INTO teams (id, record) VALUES ($1, $2) "
                 "ON CONFLICT (id) DO UPDATE SET record = excluded.record",
                 {p(row.id), p(clean_text(row.record.dump()))});
          notify(c, "team:" + row.id);
        });
      });
      if (done) done(ok);
    });
  }

  void delete_team(std::string id, std::function<void(bool)> done) override {
    write_job([id = std::move(id), done = std::move(done)](Conn& c) {
      bool ok = run_logged("delete_team", [&] {
        c.transaction([&] {
          c.exec("DELETE FROM teams WHERE id = $1", {p(id)});
          notify(c, "team:" + id);
        });
      });
      if (done) done(ok);
    });
  }

  // Written with the request rows, in the same transaction (group commit), and retried with
  // them; until then reads find it in the pending map. Shared, not copied, by the map and batch.
  void save_response(ResponseRow row) override {
    auto shared = pending_responses_.add(std::move(row));
    std::lock_guard lock(mu_);
    responses_.push_back(std::move(shared));
  }

  void get_response(std::string id, std::string scope,
                    std::function<void(std::optional<ResponseRow>)> done) override {
    read_job([this, id = std::move(id), scope = std::move(scope),
              done = std::move(done)](Conn& c) {
      std::optional<ResponseRow> row;
      run_logged("get_response", [&] { row = find_response(c, id, scope); });
      done(std::move(row));
    });
  }

  void delete_response(std::string id, std::string scope,
                       std::function<void(bool)> done) override {
    // On the writer, in order behind any pending save of the same id.
    write_job([this, id = std::move(id), scope = std::move(scope),
               done = std::move(done)](Conn& c) {
      // A save still waiting (its batch failed to commit) is dropped too.
      bool deleted = pending_responses_.drop(id, scope);
      std::erase_if(batch_.responses,
                    [&](const auto& r) { return r->id == id && r->scope == scope; });
      run_logged("delete_response", [&] {
        deleted = c.exec("DELETE FROM responses WHERE id = $1 AND scope = $2",
                         {p(clean_text(id)), p(clean_text(scope))})
                      .affected() > 0 || deleted;
      });
      done(deleted);
    });
  }

  void conversation(std::string id, std::string scope,
                    std::function<void(std::optional<json>)> done) override {
    read_job([this, id = std::move(id), scope = std::move(scope),
              done = std::move(done)](Conn& c) {
      std::optional<json> items;
      bool ok = run_logged("conversation", [&] {
        std::vector<ResponseRow> turns;
        std::string at = id;
        while (!at.empty() && static_cast<int>(turns.size()) < kMaxConversationTurns) {
          auto row = find_response(c, at, scope);
          if (!row) break;
          at = row->previous_id;
          turns.push_back(std::move(*row));
        }
        if (turns.empty()) return;
        items = json::array();
        for (auto t = turns.rbegin(); t != turns.rend(); ++t) {
          for (const std::string* part : {&t->input_items, &t->output_items}) {
            json list = json::parse(*part, nullptr, false);
            if (!list.is_array()) continue;
            for (auto& item : list) items->push_back(std::move(item));
          }
        }
      });
      if (!ok) items.reset();
      done(std::move(items));
    });
  }

  // On the writer thread, between commits: what this instance has not committed then is exactly
  // the batch being retried plus what was queued since, so its own spend counts once (twice only
  // if the last commit's answer was lost: on the safe side).
  void shared_spend(std::string holder, int64_t period_start,
                    std::function<void(std::optional<int64_t>)> done) override {
    write_job([this, holder = std::move(holder), period_start, done = std::move(done)](Conn& c) {
      std::optional<int64_t> spent;
      run_logged("shared_spend", [&] {
        auto r = c.exec("SELECT spent_nano FROM spend WHERE holder = $1 AND period_start = $2",
                        {p(clean_text(holder)), p(period_start)});
        int64_t v = r.rows() > 0 ? r.i64(0, 0) : 0;
        auto add = [&](const std::vector<SpendDelta>& deltas) {
          for (const auto& d : deltas) {
            if (d.period_start == period_start && d.holder == holder) v = sat_add(v, d.nano_usd);
          }
        };
        add(batch_.deltas);
        std::lock_guard lock(mu_);
        add(spend_);
        spent = v;
      });
      done(spent);
    });
  }

  void query_logs(LogQuery q, std::function<void(json)> done) override {
    read_job([q = std::move(q), done = std::move(done)](Conn& c) {
      json rows = json::array();
      run_logged("query_logs", [&] {
        std::string sql = std::string(kLogColumns) + " WHERE true";
        std::vector<Param> params;
        auto where = [&](const char* cond, Param v) {
          params.push_back(std::move(v));
          sql += fmt::format(" AND {} ${}", cond, params.size());
        };
        if (!q.key_id.empty()) where("key_id =", p(clean_text(q.key_id)));
        if (!q.model.empty()) where("model =", p(clean_text(q.model)));
        if (!q.team.empty()) where("team =", p(clean_text(q.team)));
        if (!q.provider.empty()) where("provider =", p(clean_text(q.provider)));
        if (q.status) where("status =", p(int64_t(*q.status)));
        if (q.since_ms) where("ts_ms >=", p(*q.since_ms));
        if (q.until_ms) where("ts_ms <", p(*q.until_ms));
        if (q.before_id) where("id <", p(*q.before_id));
        params.push_back(p(int64_t(std::clamp(q.limit, 1, 1000))));
        sql += fmt::format(" ORDER BY id DESC LIMIT ${}", params.size());
        auto s = c.exec(sql, params);
        for (int i = 0; i < s.rows(); ++i) rows.push_back(log_row(s, i));
      });
      done(std::move(rows));
    });
  }

  void get_log(int64_t id, std::function<void(json)> done) override {
    read_job([id, done = std::move(done)](Conn& c) {
      json row;
      run_logged("get_log", [&] {
        auto s = c.exec(std::string(kLogColumns) + " WHERE id = $1", {p(id)});
        if (s.rows() > 0) row = log_row(s, 0);
      });
      done(std::move(row));
    });
  }

  void keys_last_used(std::vector<std::string> ids, std::function<void(json)> done) override {
    read_job([ids = std::move(ids), done = std::move(done)](Conn& c) {
      json by_id = json::object();
      run_logged("keys_last_used", [&] {
        // One index probe per key (requests_key_id), whatever the size of the log: the start
        // time of the key's newest logged request (MAX(ts_ms) would read every row of the key).
        for (const auto& id : ids) {
          auto s = c.exec("SELECT ts_ms FROM requests WHERE key_id = $1 ORDER BY id DESC LIMIT 1",
                          {p(clean_text(id))});
          if (s.rows() > 0 && !s.is_null(0, 0)) by_id[id] = s.i64(0, 0);
        }
      });
      done(std::move(by_id));
    });
  }

  void query_stats(StatsQuery q, std::function<void(json)> done) override {
    read_job([q = std::move(q), done = std::move(done)](Conn& c) {
      json out = {{"counts", json::array()}, {"latency", json::array()}};
      run_logged("query_stats", [&] {
        static const std::map<std::string, std::string> kColumns = {
            {"none", "''"}, {"model", "model"}, {"provider", "provider"}, {"key", "key_id"},
            {"team", "team"}, {"deployment", "provider || '/' || upstream_model"}};
        auto it = kColumns.find(q.group_by);
        const std::string col = it == kColumns.end() ? "''" : it->second;
        int64_t res = 60;  // the coarsest rollup that the step is a multiple of
        for (int64_t r : kResolutions) {
          if (q.step_s % r == 0) res = r;
        }
        const std::vector<Param> ps = {p(res), p(q.from_ms), p(q.step_s * 1000), p(q.to_ms)};
        auto sum = [](const char* x) {
          return fmt::format("LEAST(SUM({}), 9223372036854775807)::bigint", x);
        };
        auto counts = c.exec(
            fmt::format("SELECT {0}, (t_ms / $3) * $3, {1}, {2}, {3}, {4}, {5} FROM usage_buckets "
                        "WHERE res = $1 AND t_ms >= $2 AND t_ms < $4 GROUP BY 1, 2",
                        col, sum("requests"), sum("errors"), sum("input_tokens"),
                        sum("output_tokens"), sum("cost_nano")),
            ps);
        for (int i = 0; i < counts.rows(); ++i) {
          out["counts"].push_back(json::array({counts.text(i, 0), counts.i64(i, 1),
                                               counts.i64(i, 2), counts.i64(i, 3),
                                               counts.i64(i, 4), counts.i64(i, 5),
                                               counts.i64(i, 6)}));
        }
        auto lat = c.exec(
            fmt::format("SELECT {0}, (t_ms / $3) * $3, kind, bin, {1} FROM usage_latency "
                        "WHERE res = $1 AND t_ms >= $2 AND t_ms < $4 GROUP BY 1, 2, 3, 4",
                        col, sum("n")),
            ps);
        for (int i = 0; i < lat.rows(); ++i) {
          out["latency"].push_back(json::array({lat.text(i, 0), lat.i64(i, 1), lat.i64(i, 2),
                                                lat.i64(i, 3), lat.i64(i, 4)}));
        }
      });
      done(std::move(out));
    });
  }

  void query_spend(SpendQuery q, std::function<void(json)> done) override {
    read_job([q = std::move(q), done = std::move(done)](Conn& c) {
      json rows = json::array();
      run_logged("query_spend", [&] {
        static const std::map<std::string, std::string> kColumns = {
            {"key", "key_id"}, {"team", "team"}, {"model", "model"}, {"provider", "provider"},
            {"day", "day"}};
        auto col = kColumns.count(q.group_by) ? kColumns.at(q.group_by) : "key_id";
        auto sum = [](const char* c) {
          return fmt::format("LEAST(SUM({}), 9223372036854775807)::bigint", c);
        };
        std::string sql = fmt::format(
            "SELECT {0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8} FROM usage_daily "
            "WHERE day >= $1 AND day <= $2 GROUP BY {0} ORDER BY SUM(cost_nano) DESC, {0}",
            col, sum("requests"), sum("errors"), sum("input_tokens"), sum("output_tokens"),
            sum("cached_tokens"), sum("reasoning_tokens"), sum("cost_nano"),
            sum("unknown_cost_requests"));
        auto s = c.exec(sql, {p(q.from_ms ? utc_day(*q.from_ms) : std::string("0000-00-00")),
                              p(q.to_ms ? utc_day(*q.to_ms) : std::string("9999-99-99"))});
        for (int i = 0; i < s.rows(); ++i) {
          rows.push_back({{q.group_by, s.text(i, 0)},
                          {"requests", s.i64(i, 1)},
                          {"errors", s.i64(i, 2)},
                          {"input_tokens", s.i64(i, 3)},
                          {"output_tokens", s.i64(i, 4)},
                          {"cached_tokens", s.i64(i, 5)},
                          {"reasoning_tokens", s.i64(i, 6)},
                          {"spend_usd", double(s.i64(i, 7)) / 1e9},
                          {"spend_nano_usd", s.i64(i, 7)},
                          {"unknown_cost_requests", s.i64(i, 8)}});
        }
      });
      done(std::move(rows));
    });
  }

  LoadedState load() override {
    LoadedState st;
    std::string error;
    run_sync([&](Conn& c) {
      try {
        auto k = c.exec("SELECT id, hash, record FROM keys WHERE NOT revoked ORDER BY id");
        for (int i = 0; i < k.rows(); ++i) {
          st.keys.push_back(KeyRow{k.text(i, 0), k.text(i, 1),
                                   json::parse(k.text(i, 2), nullptr, false), false});
        }
        auto t = c.exec("SELECT id, record FROM teams ORDER BY id");
        for (int i = 0; i < t.rows(); ++i) {
          st.teams.push_back(TeamRow{t.text(i, 0), json::parse(t.text(i, 1), nullptr, false)});
        }
        // The latest period row per holder is the only one that can still be current.
        auto s = c.exec("SELECT DISTINCT ON (holder) holder, period_start, spent_nano FROM spend "
                        "ORDER BY holder, period_start DESC");
        for (int i = 0; i < s.rows(); ++i) {
          st.spend.push_back(SpendDelta{s.text(i, 0), s.i64(i, 1), s.i64(i, 2)});
        }
        auto tot = c.exec("SELECT holder, spent_nano FROM spend_total");
        for (int i = 0; i < tot.rows(); ++i) st.spend_total.emplace_back(tot.text(i, 0), tot.i64(i, 1));
      } catch (const std::exception& e) {
        error = e.what();
      }
    });
    if (!error.empty()) throw pg::PgError("loading keys, teams and spend: " + error);
    return st;
  }

  void flush() override {
    run_sync([](Conn&) {});
  }

  int64_t enforce_retention() override {
    int64_t deleted = 0;
    run_sync([&](Conn& c) {
      run_logged("retention", [&] { deleted = delete_expired(c); });
    });
    return deleted;
  }

  void set_retention_days(int days) override {
    std::lock_guard lock(mu_);
    opts_.retention_days = days;
  }

 private:
  using Job = std::function<void(Conn&)>;

  template <typename F>
  static bool run_logged(const char* what, F&& f) {
    try {
      f();
      return true;
    } catch (const std::exception& e) {
      spdlog::error("store: {} failed: {}", what, e.what());
      return false;
    }
  }

  static void notify(Conn& c, const std::string& payload) {
    c.exec("SELECT pg_notify($1, $2)", {p(kChannel), p(clean_text(payload))});
  }

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

  // Runs f on the writer thread (after what is queued) and waits for it.
  void run_sync(const Job& f) {
    std::mutex m;
    std::condition_variable cv;
    bool finished = false;
    write_job([&](Conn& c) {
      f(c);
      std::lock_guard lock(m);
      finished = true;
      cv.notify_one();
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return finished; });
  }

  std::optional<ResponseRow> find_response(Conn& c, const std::string& id,
                                           const std::string& scope) {
    if (auto pending = pending_responses_.find(id, scope); pending.pending) return pending.row;
    auto r = c.exec("SELECT id, scope, previous_id, created_ms, response, input_items, "
                    "output_items FROM responses WHERE id = $1 AND scope = $2",
                    {p(clean_text(id)), p(clean_text(scope))});
    if (r.rows() == 0) return std::nullopt;
    return response_of(r, 0);
  }

  int64_t delete_expired(Conn& c) {
    int days;
    {
      std::lock_guard lock(mu_);
      days = opts_.retention_days;
    }
    const int64_t now = opts_.now_ms();
    // The batch ledger only has to outlive a retried commit; minute rollups serve recent stats.
    c.exec("DELETE FROM store_batches WHERE created_ms < $1", {p(now - 86'400'000)});
    const int64_t minute_cutoff = now - kMinuteRollupDays * 86'400'000;
    c.exec("DELETE FROM usage_buckets WHERE res = 60 AND t_ms < $1", {p(minute_cutoff)});
    c.exec("DELETE FROM usage_latency WHERE res = 60 AND t_ms < $1", {p(minute_cutoff)});
    if (days <= 0) return 0;
    int64_t cutoff = now - int64_t(days) * 86'400'000;
    int64_t total = 0;
    for (;;) {  // small chunks: short transactions
      int64_t n = c.exec("DELETE FROM requests WHERE id IN (SELECT id FROM requests WHERE "
                         "ts_ms < $1 LIMIT 5000)",
                         {p(cutoff)})
                      .affected();
      total += n;
      if (n < 5000) break;
    }
    int64_t responses =
        c.exec("DELETE FROM responses WHERE created_ms < $1", {p(cutoff)}).affected();
    if (responses > 0) spdlog::info("store: retention deleted {} stored response(s)", responses);
    if (total > 0) spdlog::info("store: retention deleted {} request log row(s)", total);
    return total;
  }

  // Reopens a broken connection, at most once per backoff step. True when connected.
  // `down` remembers a logged outage, so that a long one logs twice, not every retry.
  static bool ensure(Conn& c, const std::string& url, int timeout_s, const char* who, bool& down) {
    if (c.ok()) return true;
    std::string err;
    if (c.connect(url, timeout_s, &err)) {
      spdlog::info("store: {} reconnected to PostgreSQL", who);
      down = false;
      return true;
    }
    if (!down) spdlog::warn("store: {} cannot reach PostgreSQL: {}", who, err);
    down = true;
    return false;
  }

  void set_writer_ok(bool ok) {
    if (writer_ok_.exchange(ok) != ok && !ok) {
      spdlog::error("store: PostgreSQL unreachable; rows wait in memory (bound {}) and /ready "
                    "answers 503 until it is back",
                    opts_.max_queued_rows);
    }
  }

  void writer_loop() {
    Conn& c = writer_conn_;
    auto retention = [&] {
      if (c.ok()) run_logged("retention", [&] { delete_expired(c); });
    };
    retention();
    auto next_retention = std::chrono::steady_clock::now() + std::chrono::hours(1);
    Batch& batch = batch_;
    Ms backoff{0};
    bool writer_down = false;
    std::unique_lock lock(mu_);
    for (;;) {
      if (backoff.count() > 0) {
        cv_.wait_for(lock, backoff, [&] { return false; });
      } else {
        cv_.wait_for(lock, opts_.flush_interval, [&] {
          return stopping_ || !jobs_.empty() || rows_.size() >= opts_.batch_rows;
        });
      }
      std::deque<Job> jobs;
      std::move(rows_.begin(), rows_.end(), std::back_inserter(batch.rows));
      std::move(spend_.begin(), spend_.end(), std::back_inserter(batch.deltas));
      std::move(responses_.begin(), responses_.end(), std::back_inserter(batch.responses));
      rows_.clear();
      spend_.clear();
      responses_.clear();
      jobs.swap(jobs_);
      retrying_rows_ = batch.rows.size();
      bool stop = stopping_;
      lock.unlock();
      bool connected = ensure(c, url_, pgo_.connect_timeout_s, "writer", writer_down);
      if (connected) writer_pid_ = c.backend_pid();
      bool failed = !connected;
      if (connected && !batch.empty()) {
        if (commit_batch(c, batch)) {
          if (backoff.count() > 0) {
            spdlog::info("store: writes recovered; {} row(s) committed", batch.rows.size());
          }
          written(batch);
        } else {
          failed = true;
        }
      }
      for (auto& job : jobs) {
        try {
          job(c);
        } catch (const std::exception& e) {
          spdlog::error("store: {}", e.what());
        }
      }
      // Idle: a cheap probe, so /ready notices an outage without waiting for traffic.
      if (!failed && batch.rows.empty() && jobs.empty() && c.ok() && probe_due()) {
        failed = !run_logged("probe", [&] { c.exec("SELECT 1"); });
      }
      set_writer_ok(!failed && c.ok());
      if (failed) {
        commit_failures_.fetch_add(batch.empty() ? 0 : 1, std::memory_order_relaxed);
        backoff = std::clamp(backoff * 2, Ms{50}, Ms{2000});
        if (stop && ++stop_retries_ > kStopRetries && !batch.empty()) {
          int64_t lost = 0;
          for (const auto& d : batch.deltas) lost = sat_add(lost, d.nano_usd);
          spdlog::critical("store: giving up at shutdown after {} retries: {} request row(s), {} "
                           "stored response(s) and {} nUSD of spend were not written to "
                           "PostgreSQL",
                           kStopRetries, batch.rows.size(), batch.responses.size(), lost);
          written(batch);
        }
        if (stop && batch.empty()) backoff = Ms{0};
      } else {
        backoff = Ms{0};
      }
      if (c.ok() && std::chrono::steady_clock::now() >= next_retention) {
        next_retention = std::chrono::steady_clock::now() + std::chrono::hours(1);
        retention();
      }
      lock.lock();
      retrying_rows_ = batch.rows.size();
      note_backlog(rows_.size() + retrying_rows_);
      if (stop && jobs_.empty() && rows_.empty() && spend_.empty() && responses_.empty() &&
          batch.empty()) {
        return;
      }
    }
  }

  bool probe_due() {
    auto now = std::chrono::steady_clock::now();
    if (now < next_probe_) return false;
    next_probe_ = now + std::chrono::seconds(1);
    return true;
  }

  void note_backlog(size_t backlog) {
    if (backlog >= opts_.max_queued_rows) {
      if (accepting_.exchange(false, std::memory_order_relaxed)) {
        spdlog::error("store: {} row(s) waiting for PostgreSQL (bound {}): refusing new API "
                      "requests with 503 store_unavailable until the backlog drains",
                      backlog, opts_.max_queued_rows);
      }
    } else if (backlog <= opts_.max_queued_rows / 2) {
      if (!accepting_.exchange(true, std::memory_order_relaxed)) {
        spdlog::info("store: backlog down to {} row(s): accepting requests again", backlog);
      }
    }
  }

  // Rows and spend waiting for a commit. `id` names the last attempt: a commit whose answer was
  // lost (the connection broke during COMMIT) may have been applied, and the ledger row says so.
  struct Batch {
    std::vector<RequestRow> rows;
    std::vector<SpendDelta> deltas;
    std::vector<std::shared_ptr<const ResponseRow>> responses;  // upserts: safe to repeat
    std::string attempt_id;  // "" until a commit was attempted
    size_t attempt_rows = 0, attempt_deltas = 0;
    bool empty() const { return rows.empty() && deltas.empty() && responses.empty(); }
  };

  // The batch is committed (or given up): its responses leave the pending map (reads go to the
  // database again; a newer save of the same id stays), and it starts empty.
  void written(Batch& b) {
    pending_responses_.committed(b.responses);
    b = Batch{};
  }

  // One transaction for the batch; false (kept for a retry) when it failed.
  bool commit_batch(Conn& c, Batch& b) {
    try {
      if (!b.attempt_id.empty()) {
        auto seen = c.exec("SELECT 1 FROM store_batches WHERE id = $1", {p(b.attempt_id)});
        if (seen.rows() > 0) {  // the last attempt did commit: only what joined since is left
          spdlog::info("store: the last batch had committed ({} row(s)); not applying it twice",
                       b.attempt_rows);
          b.rows.erase(b.rows.begin(), b.rows.begin() + long(b.attempt_rows));
          b.deltas.erase(b.deltas.begin(), b.deltas.begin() + long(b.attempt_deltas));
          b.attempt_rows = b.attempt_deltas = 0;
          if (b.rows.empty() && b.deltas.empty() && b.responses.empty()) return true;
        }
      }
      b.attempt_id = random_id();
      b.attempt_rows = b.rows.size();
      b.attempt_deltas = b.deltas.size();
      c.transaction([&] {
        c.exec("INSERT INTO store_batches (id, created_ms) VALUES ($1, $2)",
               {p(b.attempt_id), p(opts_.now_ms())});
        insert_rows(c, b.rows);
        upsert_rollups(c, b.rows);
        upsert_buckets(c, b.rows);
        for (const auto& r : b.responses) {
          c.exec("INSERT INTO responses (id, scope, previous_id, created_ms, response, "
                 "input_items, output_items) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                 "ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, previous_id = "
                 "excluded.previous_id, created_ms = excluded.created_ms, response = "
                 "excluded.response, input_items = excluded.input_items, output_items = "
                 "excluded.output_items",
                 {p(clean_text(r->id)), p(clean_text(r->scope)), p(clean_text(r->previous_id)),
                  p(r->created_ms), p(clean_text(r->response)), p(clean_text(r->input_items)),
                  p(clean_text(r->output_items))});
        }
        upsert_spend(c, b.deltas);
      });
      return true;
    } catch (const std::exception& e) {
      spdlog::error("store: batch of {} row(s) failed, kept for a retry: {}", b.rows.size(),
                    e.what());
      return false;
    }
  }

  static void insert_rows(Conn& c, const std::vector<RequestRow>& rows) {
    static constexpr size_t kWidth = 24;
    for (size_t start = 0; start < rows.size(); start += kRowsPerInsert) {
      const size_t end = std::min(rows.size(), start + kRowsPerInsert);
      std::string sql =
          "INSERT INTO requests (ts_ms, request_id, key_id, key_name, team, model, provider, "
          "upstream_model, attempts, status, error_code, stream, latency_ms, ttft_ms, "
          "input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, "
          "cost_nano, request_body, response_body, usage_estimated, attempt_log) VALUES ";
      std::vector<Param> ps;
      ps.reserve((end - start) * kWidth);
      for (size_t i = start; i < end; ++i) {
        const auto& r = rows[i];
        placeholders(sql, i - start, kWidth);
        ps.push_back(p(r.ts_ms));
        ps.push_back(p(clean_text(r.request_id)));
        ps.push_back(p(clean_text(r.key_id)));
        ps.push_back(p(clean_text(r.key_name)));
        ps.push_back(p(clean_text(r.team)));
        ps.push_back(p(clean_text(r.model)));
        ps.push_back(p(clean_text(r.provider)));
        ps.push_back(p(clean_text(r.upstream_model)));
        ps.push_back(p(int64_t(r.attempts)));
        ps.push_back(p(int64_t(r.status)));
        ps.push_back(p(clean_text(r.error_code)));
        ps.push_back(p(r.stream));
        ps.push_back(p(r.latency_ms));
        ps.push_back(r.ttft_ms >= 0 ? p(r.ttft_ms) : pg::null());
        ps.push_back(p(r.input_tokens));
        ps.push_back(p(r.output_tokens));
        ps.push_back(p(r.cached_tokens));
        ps.push_back(p(r.cache_write_tokens));
        ps.push_back(p(r.reasoning_tokens));
        ps.push_back(r.cost_nano ? p(*r.cost_nano) : pg::null());
        ps.push_back(r.request_body ? p(clean_text(*r.request_body)) : pg::null());
        ps.push_back(r.response_body ? p(clean_text(*r.response_body)) : pg::null());
        ps.push_back(p(r.usage_estimated));
        ps.push_back(r.attempt_log.empty() ? pg::null() : p(clean_text(r.attempt_log)));
      }
      c.exec(sql, ps);
    }
  }

  // Rollups summed in memory first (one upsert per group; an INSERT may not touch a row twice),
  // in key order, so that two instances' batches lock rows in the same order (no deadlock).
  static void upsert_rollups(Conn& c, const std::vector<RequestRow>& rows) {
    using Key = std::tuple<std::string, std::string, std::string, std::string, std::string>;
    struct Sum {
      int64_t requests = 0, errors = 0, in = 0, out = 0, cached = 0, reasoning = 0, cost = 0,
              unknown = 0;
    };
    std::map<Key, Sum> sums;
    for (const auto& r : rows) {
      auto& s = sums[Key{utc_day(r.ts_ms), clean_text(r.key_id), clean_text(r.team),
                         clean_text(r.model), clean_text(r.provider)}];
      s.requests += 1;
      s.errors += r.status >= 400;
      s.in = sat_add(s.in, r.input_tokens);
      s.out = sat_add(s.out, r.output_tokens);
      s.cached = sat_add(s.cached, r.cached_tokens);
      s.reasoning = sat_add(s.reasoning, r.reasoning_tokens);
      s.cost = sat_add(s.cost, r.cost_nano.value_or(0));
      // Unknown cost: tokens were used but had no price (not a request that used none).
      s.unknown += !r.cost_nano.has_value() && (r.input_tokens > 0 || r.output_tokens > 0);
    }
    static constexpr size_t kWidth = 13;
    auto it = sums.begin();
    while (it != sums.end()) {
      std::string sql =
          "INSERT INTO usage_daily AS u (day, key_id, team, model, provider, requests, errors, "
          "input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_nano, "
          "unknown_cost_requests) VALUES ";
      std::vector<Param> ps;
      for (size_t n = 0; it != sums.end() && n < kRowsPerInsert; ++it, ++n) {
        placeholders(sql, n, kWidth);
        const auto& [k, s] = *it;
        ps.insert(ps.end(), {p(std::get<0>(k)), p(std::get<1>(k)), p(std::get<2>(k)),
                             p(std::get<3>(k)), p(std::get<4>(k)), p(s.requests), p(s.errors),
                             p(s.in), p(s.out), p(s.cached), p(s.reasoning), p(s.cost),
                             p(s.unknown)});
      }
      sql += " ON CONFLICT (day, key_id, team, model, provider) DO UPDATE SET ";
      bool first = true;
      for (const char* col : {"requests", "errors", "input_tokens", "output_tokens",
                              "cached_tokens", "reasoning_tokens", "cost_nano",
                              "unknown_cost_requests"}) {
        sql += fmt::format("{}{} = {}", first ? "" : ", ", col, sat_sum("u", col));
        first = false;
      }
      c.exec(sql, ps);
    }
  }

  // The minute, hour and day rollups of /admin/stats (counts and latency histograms), summed in
  // memory per bucket first, upserted in key order.
  static void upsert_buckets(Conn& c, const std::vector<RequestRow>& rows) {
    using Key = std::tuple<int64_t, int64_t, std::string, std::string, std::string, std::string,
                           std::string>;
    struct Sums {
      int64_t requests = 0, errors = 0, in = 0, out = 0, cost = 0;
    };
    std::map<Key, Sums> buckets;
    std::map<std::tuple<Key, int, int>, int64_t> latency;  // (bucket, kind, bin) -> count
    for (const auto& r : rows) {
      for (int64_t res : kResolutions) {
        const int64_t w = res * 1000;
        const int64_t t = r.ts_ms - ((r.ts_ms % w) + w) % w;
        Key k{res, t, clean_text(r.key_id), clean_text(r.team), clean_text(r.model),
              clean_text(r.provider), clean_text(r.upstream_model)};
        Sums& x = buckets[k];
        x.requests += 1;
        x.errors += r.status >= 400;
        x.in = sat_add(x.in, r.input_tokens);
        x.out = sat_add(x.out, r.output_tokens);
        x.cost = sat_add(x.cost, r.cost_nano.value_or(0));
        latency[{k, 0, latency_bin(r.latency_ms)}] += 1;
        if (r.ttft_ms >= 0) latency[{k, 1, latency_bin(r.ttft_ms)}] += 1;
      }
    }
    const char* kCols = "res, t_ms, key_id, team, model, provider, upstream_model";
    for (auto it = buckets.begin(); it != buckets.end();) {
      std::string sql = fmt::format("INSERT INTO usage_buckets AS u ({}, requests, errors, "
                                    "input_tokens, output_tokens, cost_nano) VALUES ",
                                    kCols);
      std::vector<Param> ps;
      for (size_t n = 0; it != buckets.end() && n < kRowsPerInsert; ++it, ++n) {
        placeholders(sql, n, 12);
        const auto& [k, x] = *it;
        ps.insert(ps.end(), {p(std::get<0>(k)), p(std::get<1>(k)), p(std::get<2>(k)),
                             p(std::get<3>(k)), p(std::get<4>(k)), p(std::get<5>(k)),
                             p(std::get<6>(k)), p(x.requests), p(x.errors), p(x.in), p(x.out),
                             p(x.cost)});
      }
      sql += fmt::format(" ON CONFLICT ({}) DO UPDATE SET requests = {}, errors = {}, "
                         "input_tokens = {}, output_tokens = {}, cost_nano = {}",
                         kCols, sat_sum("u", "requests"), sat_sum("u", "errors"),
                         sat_sum("u", "input_tokens"), sat_sum("u", "output_tokens"),
                         sat_sum("u", "cost_nano"));
      c.exec(sql, ps);
    }
    for (auto it = latency.begin(); it != latency.end();) {
      std::string sql =
          fmt::format("INSERT INTO usage_latency AS u ({}, kind, bin, n) VALUES ", kCols);
      std::vector<Param> ps;
      for (size_t n = 0; it != latency.end() && n < kRowsPerInsert; ++it, ++n) {
        placeholders(sql, n, 10);
        const auto& [kb, count] = *it;
        const auto& k = std::get<0>(kb);
        ps.insert(ps.end(), {p(std::get<0>(k)), p(std::get<1>(k)), p(std::get<2>(k)),
                             p(std::get<3>(k)), p(std::get<4>(k)), p(std::get<5>(k)),
                             p(std::get<6>(k)), p(int64_t(std::get<1>(kb))),
                             p(int64_t(std::get<2>(kb))), p(count)});
      }
      sql += fmt::format(" ON CONFLICT ({}, kind, bin) DO UPDATE SET n = {}", kCols,
                         sat_sum("u", "n"));
      c.exec(sql, ps);
    }
  }

  // Spend per holder and period as additive upserts: several instances add up exactly.
  static void upsert_spend(Conn& c, const std::vector<SpendDelta>& deltas) {
    std::map<std::pair<std::string, int64_t>, int64_t> periods;
    std::map<std::string, int64_t> totals;
    for (const auto& d : deltas) {
      auto holder = clean_text(d.holder);
      auto& v = periods[{holder, d.period_start}];
      v = sat_add(v, d.nano_usd);
      auto& t = totals[holder];
      t = sat_add(t, d.nano_usd);
    }
    if (!periods.empty()) {
      std::string sql = "INSERT INTO spend AS s (holder, period_start, spent_nano) VALUES ";
      std::vector<Param> ps;
      size_t n = 0;
      for (const auto& [k, v] : periods) {
        placeholders(sql, n++, 3);
        ps.insert(ps.end(), {p(k.first), p(k.second), p(v)});
      }
      sql += " ON CONFLICT (holder, period_start) DO UPDATE SET spent_nano = " +
             sat_sum("s", "spent_nano");
      c.exec(sql, ps);
    }
    if (!totals.empty()) {
      std::string sql = "INSERT INTO spend_total AS s (holder, spent_nano) VALUES ";
      std::vector<Param> ps;
      size_t n = 0;
      for (const auto& [k, v] : totals) {
        placeholders(sql, n++, 2);
        ps.insert(ps.end(), {p(k), p(v)});
      }
      sql += " ON CONFLICT (holder) DO UPDATE SET spent_nano = " + sat_sum("s", "spent_nano");
      c.exec(sql, ps);
    }
  }

  void reader_loop() {
    Conn c;
    std::string err;
    c.connect(url_, pgo_.connect_timeout_s, &err);
    bool down = false;
    std::unique_lock lock(reader_mu_);
    for (;;) {
      reader_cv_.wait(lock, [&] { return readers_stopping_ || !reader_jobs_.empty(); });
      if (reader_jobs_.empty() && readers_stopping_) return;
      Job job = std::move(reader_jobs_.front());
      reader_jobs_.pop_front();
      lock.unlock();
      ensure(c, url_, pgo_.connect_timeout_s, "reader", down);
      try {
        job(c);
      } catch (const std::exception& e) {
        spdlog::error("store: {}", e.what());
      }
      lock.lock();
    }
  }

  bool stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // LISTEN on the changes channel; each notification names a key or team whose row is read
  // again and handed to on_change. Notifications from this instance's own writer are skipped
  // (its admin API already applied them). After a reconnect, every key and team is re-read:
  // notifications sent while disconnected are lost.
  void listener_loop() {
    Conn& c = listener_conn_;
    Ms backoff{0};
    while (!stopping()) {
      if (!c.ok()) {
        if (backoff.count() > 0) {
          sleep_unless_stopping(backoff);
          if (stopping()) return;
        }
        std::string err;
        bool ok = c.connect(url_, pgo_.connect_timeout_s, &err) &&
                  run_logged("listen", [&] { c.exec(fmt::format("LISTEN {}", kChannel)); });
        if (!ok) {
          listener_ok_ = false;
          backoff = std::clamp(backoff * 2, Ms{100}, Ms{2000});
          c.close();
          continue;
        }
        backoff = Ms{0};
        listener_ok_ = true;
        spdlog::info("store: change listener reconnected; re-reading keys and teams");
        run_logged("resync", [&] { resync(c); });
      }
      pollfd pfd{c.socket(), POLLIN, 0};
      int n = ::poll(&pfd, 1, 200);
      if (n < 0) continue;
      if (std::string lost; n > 0 && !c.consume_input(&lost)) {
        spdlog::warn("store: change listener lost PostgreSQL: {}", lost);
        c.close();
        listener_ok_ = false;
        backoff = Ms{100};
        continue;
      }
      std::vector<std::string> payloads;
      for (auto& note : c.notifications()) {
        if (note.backend_pid != writer_pid_.load()) payloads.push_back(std::move(note.payload));
      }
      for (const auto& payload : payloads) {
        run_logged("change", [&] { apply_change(c, payload); });
      }
    }
  }

  void sleep_unless_stopping(Ms d) {
    std::unique_lock lock(mu_);
    listener_cv_.wait_for(lock, d, [&] { return stopping_; });
  }

  void deliver(StoreChange ch) {
    std::function<void(StoreChange)> cb;
    {
      std::lock_guard lock(change_mu_);
      cb = on_change_;
    }
    if (cb) cb(std::move(ch));
  }

  void apply_change(Conn& c, const std::string& payload) {
    auto colon = payload.find(':');
    if (colon == std::string::npos) return;
    std::string kind = payload.substr(0, colon), id = payload.substr(colon + 1);
    StoreChange ch;
    ch.id = id;
    if (kind == "key") {
      ch.kind = StoreChange::Kind::Key;
      auto r = c.exec("SELECT hash, record, revoked FROM keys WHERE id = $1", {p(id)});
      if (r.rows() > 0) {
        ch.key = KeyRow{id, r.text(0, 0), json::parse(r.text(0, 1), nullptr, false),
                        r.boolean(0, 2)};
      }
    } else if (kind == "team") {
      ch.kind = StoreChange::Kind::Team;
      auto r = c.exec("SELECT record FROM teams WHERE id = $1", {p(id)});
      if (r.rows() > 0) ch.team = TeamRow{id, json::parse(r.text(0, 0), nullptr, false)};
    } else {
      return;
    }
    deliver(std::move(ch));
  }

  void resync(Conn& c) {
    auto k = c.exec("SELECT id, hash, record, revoked FROM keys");
    for (int i = 0; i < k.rows(); ++i) {
      StoreChange ch;
      ch.kind = StoreChange::Kind::Key;
      ch.id = k.text(i, 0);
      ch.key = KeyRow{ch.id, k.text(i, 1), json::parse(k.text(i, 2), nullptr, false),
                      k.boolean(i, 3)};
      deliver(std::move(ch));
    }
    auto t = c.exec("SELECT id, record FROM teams");
    for (int i = 0; i < t.rows(); ++i) {
      StoreChange ch;
      ch.kind = StoreChange::Kind::Team;
      ch.id = t.text(i, 0);
      ch.team = TeamRow{ch.id, json::parse(t.text(i, 1), nullptr, false)};
      deliver(std::move(ch));
    }
  }

  static constexpr int kStopRetries = 5;

  std::string url_;
  StoreOptions opts_;
  PostgresOptions pgo_;
  Conn writer_conn_;    // the writer thread's (and the constructor's, before it starts)
  Conn listener_conn_;  // the listener thread's, LISTENing from the constructor on
  Batch batch_;         // the writer thread's (its jobs too): what waits for a commit
  std::atomic<int> writer_pid_{0};
  std::atomic<bool> writer_ok_{true}, listener_ok_{true};
  std::chrono::steady_clock::time_point next_probe_{};
  mutable std::mutex mu_;
  size_t retrying_rows_ = 0;
  int stop_retries_ = 0;
  std::atomic<bool> accepting_{true};
  std::atomic<uint64_t> commit_failures_{0};
  std::condition_variable cv_;           // the writer's
  std::condition_variable listener_cv_;  // the listener's backoff sleep
  std::vector<RequestRow> rows_;
  std::vector<SpendDelta> spend_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::mutex reader_mu_;
  std::condition_variable reader_cv_;
  std::deque<Job> reader_jobs_;
  bool readers_stopping_ = false;
  std::mutex change_mu_;
  std::function<void(StoreChange)> on_change_;
  PendingResponses pending_responses_;
  std::vector<std::shared_ptr<const ResponseRow>> responses_;  // saved, not yet batched (mu_)
  std::thread writer_;
  std::vector<std::thread> readers_;
  std::thread listener_;
};

}  // namespace

std::unique_ptr<Store> open_postgres_store(const std::string& url, StoreOptions options,
                                           std::string* error, PostgresOptions pg) {
  try {
    return std::make_unique<PostgresStore>(url, std::move(options), pg);
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    return nullptr;
  }
}

}  // namespace tg::store
