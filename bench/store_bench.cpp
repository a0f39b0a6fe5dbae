// The SQLite store under a realistic request log: fills it with N request rows spread over D days
// (K keys, M models), through the same Store::record path the gateway uses, then times the admin
// queries (/admin/spend over 30 days by key, model and day; /admin/logs with a key filter and
// limit 100) and a retention run. Prints the figures (bench/store_bench.sh builds and runs it).
//
//   store_bench [--rows 1000000] [--days 90] [--keys 50] [--models 10] [--retention-days 30]
//               [--db PATH] [--keep]

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <random>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "tollgate/store/store.hpp"

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

int64_t file_size(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

json logs(tg::store::Store& s, tg::store::LogQuery q) {
  std::promise<json> p;
  auto f = p.get_future();
  s.query_logs(std::move(q), [&p](json rows) { p.set_value(std::move(rows)); });
  return f.get();
}

json spend(tg::store::Store& s, tg::store::SpendQuery q) {
  std::promise<json> p;
  auto f = p.get_future();
  s.query_spend(std::move(q), [&p](json rows) { p.set_value(std::move(rows)); });
  return f.get();
}

// Runs `fn` `runs` times; returns the median and the first (cold) time in ms.
template <class F>
std::pair<double, double> timed(int runs, F fn) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto start = Clock::now();
    fn();
    t.push_back(ms_since(start));
  }
  double first = t.front();
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], first};
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 1'000'000;
  int days = 90, keys = 50, models = 10, retention_days = 30;
  std::string db;
  bool keep = false, own_dir = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--rows") rows = std::stoll(next());
    else if (a == "--days") days = std::stoi(next());
    else if (a == "--keys") keys = std::stoi(next());
    else if (a == "--models") models = std::stoi(next());
    else if (a == "--retention-days") retention_days = std::stoi(next());
    else if (a == "--db") db = next();
    else if (a == "--keep") keep = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  if (db.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tollgate-store-bench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return 1;
    db = tmpl + "/tollgate.db";
    own_dir = true;
  }

  const int64_t day_ms = 86'400'000;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t first_ms = now_ms - days * day_ms;

  tg::store::StoreOptions opts;
  opts.retention_days = 0;  // nothing deleted while filling; the retention run sets it
  opts.now_ms = [now_ms] { return now_ms; };
  std::string error;
  auto store = tg::store::open_sqlite_store(db, opts, &error);
  if (!store) {
    std::fprintf(stderr, "cannot open the store: %s\n", error.c_str());
    return 1;
  }

  std::vector<std::string> model_names, providers = {"openai", "anthropic", "local"};
  for (int m = 0; m < models; ++m) model_names.push_back("model-" + std::to_string(m));
  std::mt19937_64 rng(42);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };

  std::printf("store bench: %lld rows over %d days, %d keys, %d models -> %s\n",
              static_cast<long long>(rows), days, keys, models, db.c_str());
  std::fflush(stdout);

  // Fill: rows in time order (as the gateway writes them), through record() and the writer
  // thread's batched commits. flush() every chunk keeps the queue (memory) bounded, as a steady
  // request rate would.
  const int64_t chunk = 20'000;
  auto fill_start = Clock::now();
  for (int64_t i = 0; i < rows; ++i) {
    tg::store::RequestRow r;
    r.ts_ms = first_ms + (i * days * day_ms) / rows;
    r.request_id = "req-" + std::to_string(i);
    int k = static_cast<int>(uniform(0, keys - 1));
    int m = static_cast<int>(uniform(0, models - 1));
    r.key_id = "key-" + std::to_string(k);
    r.key_name = "app-" + std::to_string(k);
    r.team = "team-" + std::to_string(k % 5);
    r.model = model_names[m];
    r.provider = providers[m % providers.size()];
    r.upstream_model = r.model + "-2025";
    r.attempts = uniform(0, 99) < 3 ? 2 : 1;
    int roll = static_cast<int>(uniform(0, 999));
    r.status = roll < 970 ? 200 : roll < 985 ? 429 : roll < 995 ? 502 : 400;
    r.error_code = r.status == 200 ? "" : "upstream_" + std::to_string(r.status);
    r.stream = uniform(0, 1) == 1;
    r.latency_ms = static_cast<double>(uniform(50, 8000));
    r.ttft_ms = r.stream ? static_cast<double>(uniform(30, 900)) : -1;
    if (r.status == 200) {
      r.input_tokens = uniform(10, 4000);
      r.output_tokens = uniform(1, 1000);
      r.cached_tokens = uniform(0, 3) == 0 ? r.input_tokens / 2 : 0;
      r.cost_nano = r.input_tokens * 2 + r.output_tokens * 8;
    } else {
      r.cost_nano = 0;
    }
    store->record(std::move(r), {});
    if ((i + 1) % chunk == 0) store->flush();
  }
  store->flush();
  double fill_ms = ms_since(fill_start);
  int64_t db_bytes = file_size(db), wal_bytes = file_size(db + "-wal");
  std::printf("insert: %lld rows in %.1f s = %.0f rows/s (batched commits through record())\n",
              static_cast<long long>(rows), fill_ms / 1000, rows / (fill_ms / 1000));
  std::printf("database: %.1f MiB (+ WAL %.1f MiB), %.0f bytes/row\n", db_bytes / 1048576.0,
              wal_bytes / 1048576.0, static_cast<double>(db_bytes) / rows);

  // Spend over the last 30 days, from the daily rollups.
  const int kRuns = 5;
  for (const char* group : {"key", "model", "day"}) {
    tg::store::SpendQuery q;
    q.group_by = group;
    q.from_ms = now_ms - 30 * day_ms;
    q.to_ms = now_ms;
    size_t n = 0;
    auto [median, first] = timed(kRuns, [&] { n = spend(*store, q).size(); });
    std::printf("query_spend group_by=%-5s 30 days: %7.2f ms median (first %.2f ms), %zu groups\n",
                group, median, first, n);
  }
  // The request log: newest 100 rows of one key, and a page further back.
  {
    tg::store::LogQuery q;
    q.key_id = "key-7";
    q.limit = 100;
    json page;
    auto [median, first] = timed(kRuns, [&] { page = logs(*store, q); });
    std::printf("query_logs key=key-7 limit=100:          %7.2f ms median (first %.2f ms), %zu rows\n",
                median, first, page.size());
    if (!page.empty()) {
      tg::store::LogQuery deep = q;
      deep.before_id = page.back()["id"].get<int64_t>() - rows / 2;  // half-way back in time
      auto [m2, f2] = timed(kRuns, [&] { page = logs(*store, deep); });
      std::printf("query_logs key=key-7 limit=100 before=mid: %5.2f ms median (first %.2f ms), %zu rows\n",
                  m2, f2, page.size());
    }
    tg::store::LogQuery km = q;
    km.model = "model-3";
    auto [m3, f3] = timed(kRuns, [&] { page = logs(*store, km); });
    std::printf("query_logs key=key-7 model=model-3:      %7.2f ms median (first %.2f ms), %zu rows\n",
                m3, f3, page.size());
    tg::store::LogQuery ks = q;
    ks.status = 502;
    auto [m5, f5] = timed(kRuns, [&] { page = logs(*store, ks); });
    std::printf("query_logs key=key-7 status=502:         %7.2f ms median (first %.2f ms), %zu rows\n",
                m5, f5, page.size());
    tg::store::LogQuery none;
    none.limit = 100;
    auto [m4, f4] = timed(kRuns, [&] { page = logs(*store, none); });
    std::printf("query_logs (no filter) limit=100:        %7.2f ms median (first %.2f ms), %zu rows\n",
                m4, f4, page.size());
    tg::store::LogQuery mo;
    mo.model = "model-3";
    mo.status = 502;
    auto [m6, f6] = timed(3, [&] { page = logs(*store, mo); });
    std::printf("query_logs model=model-3 status=502:     %7.2f ms median (first %.2f ms), %zu rows\n",
                m6, f6, page.size());
    tg::store::LogQuery miss;  // matches nothing: every row is read (worst case, no index)
    miss.status = 418;
    auto [m7, f7] = timed(3, [&] { page = logs(*store, miss); });
    std::printf("query_logs status=418 (no match, full scan): %5.2f ms median (first %.2f ms), %zu rows\n",
                m7, f7, page.size());
  }

  // Retention: rows older than retention_days go, in chunks of 5,000 (short write locks).
  store->set_retention_days(retention_days);
  auto ret_start = Clock::now();
  int64_t deleted = store->enforce_retention();
  double ret_ms = ms_since(ret_start);
  std::printf("retention %d days: deleted %lld rows in %.1f s = %.0f rows/s\n", retention_days,
              static_cast<long long>(deleted), ret_ms / 1000, deleted / (ret_ms / 1000));
  auto ret2 = Clock::now();
  int64_t again = store->enforce_retention();
  std::printf("retention again (nothing to delete): %lld rows in %.2f ms\n",
              static_cast<long long>(again), ms_since(ret2));
  std::printf("database after retention: %.1f MiB (+ WAL %.1f MiB): SQLite reuses the free pages, "
              "the file does not shrink\n",
              file_size(db) / 1048576.0, file_size(db + "-wal") / 1048576.0);
  {
    tg::store::SpendQuery q;
    q.group_by = "day";
    auto all = spend(*store, q);
    std::printf("rollups kept: query_spend group_by=day (all time) still has %zu days\n", all.size());
  }
  store.reset();
  if (own_dir && !keep) std::filesystem::remove_all(std::filesystem::path(db).parent_path());
  else std::printf("kept %s\n", db.c_str());
  return 0;
}
