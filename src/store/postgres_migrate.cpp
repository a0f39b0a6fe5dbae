// `tollgate store migrate --from ./data/tollgate.db --to postgresql://...`: a one-instance setup
// moved to PostgreSQL. Reads one consistent snapshot of the SQLite file (a running gateway may
// keep writing to it) and writes everything in one PostgreSQL transaction: all or nothing.

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <ostream>

#include <fmt/format.h>

#include "tollgate/store/postgres_conn.hpp"
#include "tollgate/store/postgres_store.hpp"

namespace tg::store {
namespace {

using pg::Param;

// How a column is read from SQLite and handed to PostgreSQL.
enum class Col { Int, Real, Text, Bool };

struct Table {
  const char* name;
  std::vector<std::pair<const char*, Col>> columns;
  const char* label;  // for the printed counts
};

const std::vector<Table>& tables() {
  static const std::vector<Table> t = {
      {"keys", {{"id", Col::Text}, {"hash", Col::Text}, {"record", Col::Text}, {"revoked", Col::Bool}},
       "keys"},
      {"teams", {{"id", Col::Text}, {"record", Col::Text}}, "teams"},
      {"spend", {{"holder", Col::Text}, {"period_start", Col::Int}, {"spent_nano", Col::Int}},
       "spend rows (holder, period)"},
      {"spend_total", {{"holder", Col::Text}, {"spent_nano", Col::Int}}, "all-time spend rows"},
      {"usage_daily",
       {{"day", Col::Text}, {"key_id", Col::Text}, {"team", Col::Text}, {"model", Col::Text},
        {"provider", Col::Text}, {"requests", Col::Int}, {"errors", Col::Int},
        {"input_tokens", Col::Int}, {"output_tokens", Col::Int}, {"cached_tokens", Col::Int},
        {"reasoning_tokens", Col::Int}, {"cost_nano", Col::Int},
        {"unknown_cost_requests", Col::Int}},
       "daily rollups"},
      {"requests",
       {{"id", Col::Int}, {"ts_ms", Col::Int}, {"request_id", Col::Text}, {"key_id", Col::Text},
        {"key_name", Col::Text}, {"team", Col::Text}, {"model", Col::Text},
        {"provider", Col::Text}, {"upstream_model", Col::Text}, {"attempts", Col::Int},
        {"status", Col::Int}, {"error_code", Col::Text}, {"stream", Col::Bool},
        {"latency_ms", Col::Real}, {"ttft_ms", Col::Real}, {"input_tokens", Col::Int},
        {"output_tokens", Col::Int}, {"cached_tokens", Col::Int},
        {"cache_write_tokens", Col::Int}, {"reasoning_tokens", Col::Int},
        {"cost_nano", Col::Int}, {"request_body", Col::Text}, {"response_body", Col::Text},
        {"usage_estimated", Col::Bool}, {"attempt_log", Col::Text}},
       "request log rows"},
      {"usage_buckets",
       {{"res", Col::Int}, {"t_ms", Col::Int}, {"key_id", Col::Text}, {"team", Col::Text},
        {"model", Col::Text}, {"provider", Col::Text}, {"upstream_model", Col::Text},
        {"requests", Col::Int}, {"errors", Col::Int}, {"input_tokens", Col::Int},
        {"output_tokens", Col::Int}, {"cost_nano", Col::Int}},
       "stats rollups (minute, hour, day)"},
      {"usage_latency",
       {{"res", Col::Int}, {"t_ms", Col::Int}, {"key_id", Col::Text}, {"team", Col::Text},
        {"model", Col::Text}, {"provider", Col::Text}, {"upstream_model", Col::Text},
        {"kind", Col::Int}, {"bin", Col::Int}, {"n", Col::Int}},
       "latency histogram rows"},
      {"responses",
       {{"id", Col::Text}, {"scope", Col::Text}, {"previous_id", Col::Text},
        {"created_ms", Col::Int}, {"response", Col::Text}, {"input_items", Col::Text},
        {"output_items", Col::Text}},
       "stored responses"},
  };
  return t;
}

Param read_col(sqlite3_stmt* s, int i, Col kind) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  switch (kind) {
    case Col::Int: return pg::p(int64_t(sqlite3_column_int64(s, i)));
    case Col::Real: return pg::p(sqlite3_column_double(s, i));
    case Col::Bool: return pg::p(sqlite3_column_int64(s, i) != 0);
    case Col::Text: break;
  }
  auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return pg::clean_text(std::string_view(t ? t : "", size_t(sqlite3_column_bytes(s, i))));
}

// Copies one table; returns its row count.
int64_t copy_table(sqlite3* db, pg::Conn& c, const Table& t) {
  std::string cols;
  for (const auto& [name, kind] : t.columns) cols += (cols.empty() ? "" : ", ") + std::string(name);
  std::string select = fmt::format("SELECT {} FROM {}", cols, t.name);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, select.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    throw std::runtime_error(fmt::format("reading {}: {}", t.name, sqlite3_errmsg(db)));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(s, sqlite3_finalize);
  const size_t width = t.columns.size();
  const size_t per_insert = 60'000 / width;  // libpq allows 65535 parameters
  int64_t count = 0;
  std::vector<Param> params;
  auto send = [&] {
    if (params.empty()) return;
    std::string sql = fmt::format("INSERT INTO {} ({}) VALUES ", t.name, cols);
    for (size_t row = 0; row < params.size() / width; ++row) {
      sql += row ? ",(" : "(";
      for (size_t c2 = 0; c2 < width; ++c2) sql += fmt::format("{}${}", c2 ? "," : "", row * width + c2 + 1);
      sql += ')';
    }
    c.exec(sql, params);
    params.clear();
  };
  for (;;) {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) throw std::runtime_error(fmt::format("reading {}: {}", t.name, sqlite3_errmsg(db)));
    for (size_t i = 0; i < width; ++i) params.push_back(read_col(s, int(i), t.columns[i].second));
    ++count;
    if (params.size() / width >= per_insert) send();
  }
  send();
  return count;
}

}  // namespace

int migrate_sqlite_to_postgres(const std::string& sqlite_path, const std::string& url,
                               std::ostream& out, std::ostream& err) {
  const std::string where = pg::redact_url(url);
  if (!std::filesystem::exists(sqlite_path)) {
    err << "error: " << sqlite_path << " does not exist\n";
    return 1;
  }
  // Brings an older file's schema up to date (money in nano-USD etc.); keeps every row.
  {
    StoreOptions keep;
    keep.retention_days = 0;
    std::string e;
    auto s = open_sqlite_store(sqlite_path, keep, &e);
    if (!s) {
      err << "error: cannot open " << sqlite_path << ": " << e << "\n";
      return 1;
    }
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(sqlite_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    err << "error: cannot open " << sqlite_path << ": " << (db ? sqlite3_errmsg(db) : "?") << "\n";
    sqlite3_close_v2(db);
    return 1;
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db_guard(db, sqlite3_close_v2);
  sqlite3_busy_timeout(db, 5000);
  pg::Conn c;
  std::string e;
  if (!c.connect(url, 10, &e)) {
    err << "error: cannot connect to " << where << ": " << e << "\n";
    return 1;
  }
  try {
    pg::migrate(c);
    // Only into an empty database: copying twice would count spend twice.
    std::string held;
    for (const auto& t : tables()) {
      auto r = c.exec(fmt::format("SELECT count(*) FROM {}", t.name));
      if (int64_t n = r.i64(0, 0); n > 0) held += fmt::format("{}{} {}", held.empty() ? "" : ", ", n, t.label);
    }
    if (!held.empty()) {
      err << "error: " << where << " already holds data (" << held
          << "): store migrate copies into an empty database only, so that nothing is counted "
             "twice. Point --to at a new database, or empty this one first.\n";
      return 1;
    }
    std::vector<std::pair<const char*, int64_t>> counts;
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);  // one snapshot of every table
    c.transaction([&] {
      for (const auto& t : tables()) counts.emplace_back(t.label, copy_table(db, c, t));
      // Rows logged from now on get ids after the copied ones.
      c.exec("SELECT setval(pg_get_serial_sequence('requests', 'id'), "
             "(SELECT COALESCE(MAX(id), 0) + 1 FROM requests), false)");
    });
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    out << "copied " << sqlite_path << " to " << where << ":\n";
    for (const auto& [label, n] : counts) out << fmt::format("  {:>10} {}\n", n, label);
    return 0;
  } catch (const std::exception& ex) {
    err << "error: migrating to " << where << " failed, nothing was copied: " << ex.what() << "\n";
    return 1;
  }
}

}  // namespace tg::store
