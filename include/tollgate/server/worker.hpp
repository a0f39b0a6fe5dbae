#pragma once
// A worker: one io_context on one thread, its own SO_REUSEPORT acceptor, its own upstream pools
// and its own pointer to the current config snapshot. A connection never leaves its worker, so
// everything here is single-threaded except the marked members.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "tollgate/admin/config_view.hpp"
#include "tollgate/admin/governance_state.hpp"
#ifndef TG_NO_UI
#include "tollgate/admin/ui_sessions.hpp"
#endif
#include "tollgate/cache/response_cache.hpp"
#include "tollgate/metrics/metrics.hpp"
#include "tollgate/routing/health.hpp"
#include "tollgate/routing/snapshot.hpp"
#include "tollgate/store/store.hpp"
#include "tollgate/upstream/upstream_client.hpp"

namespace tg::redis {
class Governor;
}

namespace tg::server {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using SnapshotPtr = std::shared_ptr<const routing::Snapshot>;

// Result of an admin-triggered reload: empty on success, else the errors.
using ReloadFn = std::function<std::string()>;

// What all workers share. Every member is thread-safe.
struct Shared {
  metrics::Metrics metrics;
  upstream::TlsContexts tls;
  routing::HealthTable health;  // cooldowns, in-flight counts and latency per deployment
  store::Store* store = nullptr;  // request log, spend, admin keys (thread-safe, never blocks)
  admin::GovernanceState governance;  // virtual keys, teams, budgets, rate limits
  redis::Governor* redis = nullptr;   // store.redis: limits and budgets shared across instances
  cache::ResponseCache cache;         // cache: (answers to repeated non-streamed requests)
#ifndef TG_NO_UI
  admin::UiSessions ui_sessions;      // the web UI's sign-in sessions (in memory)
#endif
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<bool> ready{false};
  // server.admin_listen is in use: /metrics, /admin/* and /ui answer only there, the API only on
  // the main port. Set once at start.
  std::atomic<bool> admin_split{false};
  // Runs a reload on the control thread and returns why it was refused (empty: reloaded).
  std::function<net::awaitable<std::vector<config::ConfigError>>()> reload;
#ifndef TG_NO_UI
  admin::ConfigStatus config_status;  // GET /admin/config: the source, its text, the last reload
#endif
};

class Worker {
 public:
  Worker(int index, Shared& shared, SnapshotPtr snapshot, ProxySettings proxy);
  ~Worker();

  // Binds the listener (SO_REUSEPORT so every worker can listen on the same port).
  // Returns the bound port.
  uint16_t listen(const tcp::endpoint& endpoint);
  // The admin listener (server.admin_listen): /metrics and /admin/*. Returns the bound port.
  uint16_t listen_admin(const tcp::endpoint& endpoint);
  void start();  // runs the loop on a new thread
  void join();

  // Thread-safe: posted to the worker.
  void publish(SnapshotPtr snapshot);
  void begin_drain();   // stop accepting; close idle keep-alive connections
  void close_all();     // drain deadline passed: close every connection
  void stop();          // stop the loop

  // Worker-thread only.
  const SnapshotPtr& snapshot() const { return snapshot_; }
  upstream::UpstreamClient& upstream() { return *upstream_; }
  Shared& shared() { return shared_; }
  net::io_context& io() { return ioc_; }
  bool draining() const { return draining_; }
  int index() const { return index_; }
  uint64_t next_random();
  std::string next_request_id();

  // Open client connections of this worker, for draining.
  struct Conn {
    tcp::socket* socket = nullptr;
    bool busy = false;  // a request is being handled
  };
  void add_conn(Conn* c) { conns_.insert(c); }
  void remove_conn(Conn* c) { conns_.erase(c); }
  std::atomic<int64_t> active_requests{0};  // read by the control thread while draining

 private:
  net::awaitable<void> accept_loop(tcp::acceptor& acceptor, bool admin);
  net::awaitable<void> sweep_loop();

  int index_;
  Shared& shared_;
  net::io_context ioc_{1};
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<tcp::acceptor> admin_acceptor_;
  std::unique_ptr<upstream::UpstreamClient> upstream_;
  SnapshotPtr snapshot_;
  std::unordered_set<Conn*> conns_;
  bool draining_ = false;
  std::thread thread_;
  uint64_t rng_state_;
  uint64_t request_counter_ = 0;
};

}  // namespace tg::server
