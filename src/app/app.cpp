#include "tollgate/app/app.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "tollgate/admin/config_view.hpp"
#include "tollgate/app/logging.hpp"
#include "tollgate/core/secure.hpp"
#include "tollgate/redis/governor.hpp"
#include "tollgate/server/worker.hpp"
#include "tollgate/store/postgres_conn.hpp"
#include "tollgate/store/postgres_store.hpp"

namespace tg::app {

namespace net = boost::asio;
using tcp = net::ip::tcp;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
using Clock = std::chrono::steady_clock;

namespace {

std::string join_errors(const std::vector<config::ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += "; ";
    out += e.to_string();
  }
  return out;
}

config::LoadResult load(const Options& o) {
  if (o.config_path.empty()) {
    config::LoadResult r;
    r.config = config::zero_config(config::process_env());
    r.warnings = r.config->warnings;
    return r;
  }
  return config::load_config_file(o.config_path, config::process_env());
}

// Command-line overrides, then the open-mode rule (loopback only without a master key, unless
// server.allow_unauthenticated). Idempotent. Returns the open-mode warning, if any.
std::string apply_overrides(config::Config& c, const Options& o) {
  if (o.workers) c.server.workers = *o.workers;
  if (o.listen) {
    auto pos = o.listen->rfind(':');
    if (pos != std::string::npos) {
      std::string host = o.listen->substr(0, pos);
      if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
      c.server.listen_host = host.empty() ? "0.0.0.0" : host;
      c.server.listen_port = static_cast<uint16_t>(std::stoi(o.listen->substr(pos + 1)));
    }
  }
  return config::restrict_open_listener(c.server);
}

class App {
 public:
  explicit App(Options options) : options_(std::move(options)) {}

  int run(config::Config initial) {
    setup_logging(initial.server.log_format, initial.server.log_level);
    auto snapshot = build(std::move(initial));
    if (!snapshot) return 1;
    const auto& server = snapshot->config.server;
    if (!open_store(snapshot->config)) return 1;
    int n = server.workers > 0 ? server.workers
                               : std::max(1u, std::thread::hardware_concurrency());
    shared_.reload = [this]() { return reload_from_worker(); };

    tcp::endpoint endpoint;
    try {
      endpoint = tcp::endpoint(net::ip::make_address(server.listen_host), server.listen_port);
      for (int i = 0; i < n; ++i) {
        workers_.push_back(std::make_unique<server::Worker>(
            i, shared_, snapshot, proxy_settings_from_process_env()));
        // Port 0: the first worker picks a free port and the others share it.
        endpoint.port(workers_.back()->listen(endpoint));
      }
    } catch (const std::exception& e) {
      spdlog::critical("cannot listen on {}:{}: {}", server.listen_host, server.listen_port,
                       e.what());
      flush_logs();
      return 1;
    }
    uint16_t admin_port = 0;
    try {
      if (!server.admin_listen.empty()) {
        if (server.admin_port == endpoint.port()) {
          throw std::runtime_error("it is the port of server.listen");
        }
        // One worker takes the admin port: scrapes and admin calls are light.
        admin_port = workers_.front()->listen_admin(
            tcp::endpoint(net::ip::make_address(server.admin_host), server.admin_port));
        shared_.admin_split = true;
      }
    } catch (const std::exception& e) {
      spdlog::critical("cannot listen on server.admin_listen {}: {}", server.admin_listen, e.what());
      flush_logs();
      return 1;
    }
    current_ = snapshot;
    note_loaded(snapshot->config);
    start_redis(snapshot->config);
    for (auto& w : workers_) w->start();
    shared_.ready = true;
    // Signals and the config watch are in place before the daemon says it listens (the port
    // file, the log line): a SIGHUP or an edit right after start is not missed.
    net::signal_set signals(main_, SIGINT, SIGTERM, SIGHUP);
    net::co_spawn(main_, handle_signals(signals), net::detached);
    if (!options_.config_path.empty() && open_config_watch()) {
      net::co_spawn(main_, watch_config(), net::detached);
    }
    if (!options_.port_file.empty()) write_port_file(endpoint.port());
    spdlog::info("tollgate {} listening on {}:{} with {} worker(s); config: {}; allocator: {}",
                 TOLLGATE_VERSION, server.listen_host, endpoint.port(), n,
                 options_.config_path.empty() ? "zero-config (environment)" : options_.config_path,
                 options_.allocator);
    if (admin_port) {
      spdlog::info("/metrics and /admin on {}:{} (server.admin_listen)", server.admin_host,
                   admin_port);
    }
    main_.run();

    for (auto& w : workers_) w->join();
    if (redis_) redis_->stop();
    workers_.clear();
    if (store_) {
      store_->flush();  // every request answered is on disk before we exit
      store_.reset();
    }
    spdlog::info("tollgate stopped");
    flush_logs();
    return 0;
  }

 private:
  bool open_store(const config::Config& c) {
    store::StoreOptions opts;
    opts.retention_days = c.logs.retention_days;
    opts.flush_interval = c.store.flush_interval;
    opts.max_queued_rows = static_cast<size_t>(c.store.max_queued_rows);
    opts.busy_timeout = c.store.busy_timeout;
    std::string err;
    const bool pg = !c.store.postgres.empty();
    const std::string where = pg ? store::pg::redact_url(c.store.postgres) : c.store.sqlite;
    store_ = pg ? store::open_postgres_store(c.store.postgres, opts, &err)
                : store::open_sqlite_store(c.store.sqlite, opts, &err);
    if (!store_) {
      spdlog::critical("cannot open the store {}: {}", where, err);
      flush_logs();
      return false;
    }
    shared_.store = store_.get();
    spdlog::info("store: {} (request log retention {} day(s))", where, c.logs.retention_days);
    // Keys, teams and spend: in memory from here on; the request path never reads the disk.
    store::LoadedState stored;
    try {
      stored = store_->load();
    } catch (const std::exception& e) {
      spdlog::critical("cannot load keys and teams from the store {}: {}", where, e.what());
      flush_logs();
      return false;
    }
    for (const auto& w : shared_.governance.load(stored, c)) spdlog::warn("keys: {}", w);
    spdlog::info("keys: {} virtual key(s), {} team(s)",
                 shared_.governance.keys.snapshot()->size(), shared_.governance.teams().size());
    // Other instances' key and team changes (store.postgres), on the store's listener thread.
    store_->on_change([this](store::StoreChange change) {
      shared_.governance.apply_change(change);
    });
    return true;
  }

  // store.redis: one connection per worker, made in the background (requests before it is up get
  // the fail mode).
  void start_redis(const config::Config& c) {
    if (c.store.redis.empty()) return;
    // A hold outlives no request: the longest one can take (router.timeouts.total) plus a margin.
    auto ttl = c.router.timeouts.total + std::chrono::seconds(2);
    // With PostgreSQL, a missing spend counter is seeded from every instance's spend, not ours.
    store::Store* shared_spend = c.store.postgres.empty() ? nullptr : store_.get();
    redis_ = std::make_unique<redis::Governor>(c.store, static_cast<int>(workers_.size()), ttl,
                                               shared_spend);
    for (size_t i = 0; i < workers_.size(); ++i) redis_->start(static_cast<int>(i), workers_[i]->io());
    shared_.redis = redis_.get();
    spdlog::info("store.redis: {}:{} db {} (limits fail {}, budgets fail {}; timeout {} ms)",
                 c.store.redis_url.host, c.store.redis_url.port, c.store.redis_url.db,
                 c.store.redis_fail_open_limits ? "open" : "closed",
                 c.store.redis_fail_open_budgets ? "open" : "closed", c.store.redis_timeout.count());
  }

  // Builds and checks a snapshot; logs its warnings. Runs on the control thread.
  std::shared_ptr<const routing::Snapshot> build(config::Config c) {
    const std::string open_warning = apply_overrides(c, options_);
    auto snap = routing::Snapshot::build(std::move(c), ++generation_);
    for (const auto& w : snap->warnings) spdlog::warn("config: {}", w);
    for (const auto& p : snap->providers) {
      if (!p.base.tls) continue;
      if (auto err = shared_.tls.prepare({p.config.tls_verify, p.config.ca_file})) {
        spdlog::error("config: providers.{}: {}", p.config.name, *err);
        return nullptr;
      }
    }
    if (!open_warning.empty()) {
      spdlog::warn("{}", open_warning);
    } else if (snap->config.server.master_key.empty()) {
      spdlog::warn("no server.master_key (TOLLGATE_MASTER_KEY) is set: anyone who can reach {}:{} "
                   "can use the gateway without a key{}; the admin API is disabled",
                   snap->config.server.listen_host, snap->config.server.listen_port,
                   snap->config.server.allow_unauthenticated
                       ? " (server.allow_unauthenticated: true)"
                       : "");
    }
    if (snap->providers.empty()) {
      spdlog::warn("no usable provider: set a provider key variable (e.g. OPENAI_API_KEY) or "
                   "edit the config file");
    }
    std::unordered_set<std::string> names(snap->router.model_names().begin(),
                                          snap->router.model_names().end());
    std::unordered_set<std::string> providers;
    for (const auto& p : snap->providers) {
      for (const auto& m : p.config.models) names.insert(p.config.name + "/" + m);
      providers.insert(p.config.name);
    }
    shared_.metrics.set_known(std::move(names), std::move(providers));
    const auto& cc = snap->config.cache;
    shared_.cache.set_limits({cc.ttl, cc.max_entries, cc.max_bytes});
    return snap;
  }

  // For GET /admin/config: the running config's source and text (secrets redacted), read here
  // on the control thread so no worker ever reads the disk.
  void note_loaded([[maybe_unused]] const config::Config& c) {
#ifndef TG_NO_UI
    std::string text = c.source_path.empty() ? std::string() : read_file(c.source_path);
    shared_.config_status.loaded(c.source_path, admin::redact_yaml(text, admin::secrets_of(c)),
                                 unix_ms_now());
#endif
  }

  static int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // Empty on success, else why it was refused (the old snapshot keeps serving); recorded for
  // GET /admin/config either way.
  std::vector<config::ConfigError> reload_now(std::string_view why) {
    auto errors = try_reload(why);
#ifndef TG_NO_UI
    shared_.config_status.reloaded(
        admin::ReloadOutcome{errors.empty(), unix_ms_now(), std::string(why), errors});
#endif
    return errors;
  }

  std::vector<config::ConfigError> try_reload(std::string_view why) {
    auto result = load(options_);
    if (!result.errors.empty()) {
      std::string errors = join_errors(result.errors);
      spdlog::error("reload ({}) refused, the previous configuration keeps serving: {}", why,
                    errors);
      return result.errors;
    }
    const auto& old_server = current_->config.server;
    apply_overrides(*result.config, options_);  // compared as it would be served
    const auto& next = result.config->server;
    if (next.master_key.empty() && !next.allow_unauthenticated &&
        !config::is_loopback_host(old_server.listen_host)) {
      // The listener stays where it is until a restart: it must not become an open one.
      std::string error = fmt::format(
          "server.master_key would be empty while listening on {}:{}: set a master key, or "
          "server.allow_unauthenticated: true, or restart to listen on loopback only",
          old_server.listen_host, old_server.listen_port);
      spdlog::error("reload ({}) refused, the previous configuration keeps serving: {}", why,
                    error);
      return {config::ConfigError{"server.master_key", 0, error}};
    }
    if (result.config->server.listen_host != old_server.listen_host ||
        result.config->server.listen_port != old_server.listen_port ||
        result.config->server.workers != old_server.workers ||
        result.config->server.admin_listen != old_server.admin_listen) {
      spdlog::warn("reload: server.listen, server.admin_listen and server.workers take effect "
                   "only after a restart");
    }
    setup_logging(result.config->server.log_format, result.config->server.log_level);
    if (result.config->store.sqlite != current_->config.store.sqlite ||
        result.config->store.postgres != current_->config.store.postgres) {
      spdlog::warn("reload: store.sqlite and store.postgres take effect only after a restart");
    }
    if (result.config->store.redis != current_->config.store.redis) {
      spdlog::warn("reload: store.redis takes effect only after a restart");
    }
    store_->set_retention_days(result.config->logs.retention_days);
    for (const auto& w : shared_.governance.apply_config(*result.config)) spdlog::warn("keys: {}", w);
    auto snap = build(std::move(*result.config));
    if (!snap) return {config::ConfigError{"", 0, "TLS setup failed (see the log)"}};
    current_ = snap;
    note_loaded(snap->config);
    for (auto& w : workers_) w->publish(snap);
    spdlog::info("configuration reloaded ({}), generation {}", why, snap->generation);
    return {};
  }

  net::awaitable<std::vector<config::ConfigError>> reload_from_worker() {
    co_return co_await net::co_spawn(
        main_,
        [this]() -> net::awaitable<std::vector<config::ConfigError>> {
          co_return reload_now("admin API");
        },
        net::use_awaitable);
  }

  net::awaitable<void> handle_signals(net::signal_set& signals) {
    for (;;) {
      auto [ec, sig] = co_await signals.async_wait(kTuple);
      if (ec) co_return;
      if (sig == SIGHUP) {
        reload_now("SIGHUP");
        continue;
      }
      spdlog::info("received {}, draining (up to {} ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                   current_->config.server.drain_timeout.count());
      co_await drain();
      co_return;
    }
  }

  // Graceful shutdown: stop accepting, let in-flight requests finish until the drain deadline.
  net::awaitable<void> drain() {
    shared_.ready = false;
    watching_ = false;
    for (auto& w : workers_) w->begin_drain();
    auto deadline = Clock::now() + current_->config.server.drain_timeout;
    net::steady_timer timer(main_);
    for (;;) {
      int64_t active = 0;
      for (auto& w : workers_) active += w->active_requests.load();
      if (active == 0) break;
      if (Clock::now() >= deadline) {
        spdlog::warn("drain deadline passed with {} request(s) in flight; closing them", active);
        for (auto& w : workers_) w->close_all();
        timer.expires_after(std::chrono::milliseconds(200));
        co_await timer.async_wait(kTuple);
        break;
      }
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(kTuple);
    }
    for (auto& w : workers_) w->close_all();
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(kTuple);
    for (auto& w : workers_) w->stop();
    if (inotify_) inotify_->close();
    main_.stop();
  }

  // Watches the config file's directory (editors replace files, so the inode changes). Opened
  // before the event loop runs; false when it cannot be (SIGHUP and /admin/reload still work).
  bool open_config_watch() {
    namespace fs = std::filesystem;
    fs::path path = fs::absolute(options_.config_path);
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0 ||
        inotify_add_watch(fd, path.parent_path().c_str(),
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB) < 0) {
      spdlog::warn("cannot watch {} for changes; use SIGHUP or POST /admin/reload",
                   path.parent_path().string());
      if (fd >= 0) ::close(fd);
      return false;
    }
    inotify_ = std::make_unique<net::posix::stream_descriptor>(main_, fd);
    watched_path_ = path;
    watched_content_ = read_file(path);  // what is loaded: a change is compared with it
    return true;
  }

  net::awaitable<void> watch_config() {
    const auto path = watched_path_;
    const std::string name = path.filename().string();
    std::string last_content = std::move(watched_content_);
    alignas(inotify_event) char buf[4096];
    net::steady_timer debounce(main_);
    while (watching_) {
      auto [ec, n] = co_await inotify_->async_read_some(net::buffer(buf), kTuple);
      if (ec) co_return;
      bool ours = false;
      for (size_t off = 0; off < n;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + off);
        if (ev->len && name == ev->name) ours = true;
        off += sizeof(inotify_event) + ev->len;
      }
      if (!ours) continue;
      // Let a burst of writes settle, then reload only if the content really changed.
      debounce.expires_after(std::chrono::milliseconds(150));
      co_await debounce.async_wait(kTuple);
      std::string content = read_file(path);
      if (content.empty() || content == last_content) continue;
      last_content = content;
      reload_now("file changed");
    }
  }

  void write_port_file(uint16_t port) {
    std::string tmp = options_.port_file + ".tmp";
    {
      std::ofstream out(tmp);
      out << port << "\n";
    }
    std::filesystem::rename(tmp, options_.port_file);  // readers never see a partial file
  }

  static std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  Options options_;
  net::io_context main_{1};
  server::Shared shared_;
  std::unique_ptr<redis::Governor> redis_;  // outlives the workers (their loops hold its clients)
  std::vector<std::unique_ptr<server::Worker>> workers_;
  std::shared_ptr<const routing::Snapshot> current_;
  std::unique_ptr<net::posix::stream_descriptor> inotify_;
  std::filesystem::path watched_path_;  // the config file watch_config watches
  std::string watched_content_;         // its content when the watch was opened
  std::unique_ptr<store::Store> store_;
  uint64_t generation_ = 0;
  bool watching_ = true;
};

}  // namespace

std::optional<config::Config> load_initial(const Options& options) {
  auto result = load(options);
  for (const auto& w : result.warnings) std::cerr << "warning: " << w << "\n";
  if (!result.errors.empty()) {
    std::cerr << "error: " << (options.config_path.empty() ? "environment" : options.config_path)
              << " has " << result.errors.size() << " error(s):\n";
    for (const auto& e : result.errors) std::cerr << "  " << e.to_string() << "\n";
    return std::nullopt;
  }
  return std::move(result.config);
}

int run(const Options& options) {
  auto cfg = load(options);
  if (!cfg.errors.empty()) {
    std::cerr << "error: " << options.config_path << " has " << cfg.errors.size()
              << " error(s):\n";
    for (const auto& e : cfg.errors) std::cerr << "  " << e.to_string() << "\n";
    return 2;
  }
  App app(options);
  return app.run(std::move(*cfg.config));
}

}  // namespace tg::app
