#pragma once
// The one HTTP(S) client every provider adapter's requests go through: DNS (async, cached),
// TCP, TLS with SNI and hostname verification, HTTPS_PROXY/NO_PROXY, keep-alive pools per worker
// and origin, and a deadline on every step. One instance per worker; not thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "tollgate/core/error.hpp"
#include "tollgate/core/url.hpp"
#include "tollgate/providers/adapter.hpp"

namespace tg::upstream {

using Clock = std::chrono::steady_clock;
namespace net = boost::asio;

struct TlsOptions {
  bool verify = true;
  std::string ca_file;
};

// TLS contexts shared by every worker (SSL_CTX is thread-safe once set up). Contexts are built on
// the control thread when a snapshot is published (loading the CA store is file I/O), so workers
// only look them up.
class TlsContexts {
 public:
  // Builds the context for these options if missing; returns an error message on failure.
  std::optional<std::string> prepare(const TlsOptions& opts);
  // nullptr when prepare() was not called for these options.
  net::ssl::context* get(const TlsOptions& opts);

 private:
  static std::string key(const TlsOptions& o) { return (o.verify ? "1|" : "0|") + o.ca_file; }
  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<net::ssl::context>> contexts_;
};

class Connection;

// Lets the request handler abort whatever upstream I/O is in progress (client went away).
struct AbortSlot {
  Connection* conn = nullptr;  // the connection in use, if any
  bool fired = false;
  void fire();
};

struct Target {
  const Url* base = nullptr;        // provider base URL
  TlsOptions tls;
  std::string_view provider;        // for error messages
  Clock::duration keepalive = std::chrono::seconds(30);  // idle this long, a pooled one is closed
};

// One request/response on a connection taken from the pool. Destroying it returns the connection
// to the pool when the response was read to its end and the connection may be kept alive.
class Exchange {
 public:
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  int status() const;
  std::string_view header(std::string_view name) const;
  bool done() const;  // the whole body has been read

  // Reads the next piece of the body into *out (appended). Returns false at the end of the body
  // (out untouched) or on error (*err set). `deadline` bounds this read. With `drain`, every
  // complete chunk already received comes too (one client write per burst); without, one chunk
  // at a time (a stream's commit point then does not depend on how TCP split the bytes).
  net::awaitable<bool> read_some(std::string& out, Clock::time_point deadline,
                                 std::optional<Error>& err, bool drain = true);
  // Reads the rest of the body, up to `limit` bytes.
  net::awaitable<std::optional<Error>> read_all(std::string& out, size_t limit,
                                                Clock::time_point deadline);
  // Closes the connection now (the client went away, or a deadline passed): pending reads end.
  void abort();

 private:
  friend class UpstreamClient;
  struct State;
  explicit Exchange(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

struct SendResult {
  std::unique_ptr<Exchange> exchange;  // set on success: the response head has been read
  std::optional<Error> error;          // set on failure
};

struct PoolStats {
  uint64_t connects = 0;
  uint64_t reuses = 0;
  uint64_t idle = 0;
  uint64_t tls_resumed = 0;  // connects whose TLS handshake resumed a saved session
};

class UpstreamClient {
 public:
  UpstreamClient(net::io_context& ioc, TlsContexts& tls, ProxySettings proxy);
  ~UpstreamClient();

  // Sends the request and reads the response head. connect_by bounds DNS+TCP+TLS;
  // head_by bounds the time until the response head arrives (the first-token deadline).
  // `slot` (optional) points at the connection in use while the exchange lives.
  net::awaitable<SendResult> send(const Target& target, const providers::UpstreamRequest& req,
                                  Clock::time_point connect_by, Clock::time_point head_by,
                                  AbortSlot* slot = nullptr);

  PoolStats stats() const { return stats_; }
  void close_idle();  // on shutdown
  // Closes the pooled connections idle past their keepalive (the worker's one-second sweep; a
  // connection going back to the pool also ends its origin's expired ones).
  void drop_expired();

 private:
  friend class Exchange;
  struct Pool;
  net::awaitable<std::unique_ptr<Connection>> connect(const Target& target,
                                                      Clock::time_point connect_by,
                                                      std::optional<Error>& err);
  void release(std::unique_ptr<Connection> conn);

  net::io_context& ioc_;
  TlsContexts& tls_;
  ProxySettings proxy_;
  std::unique_ptr<Pool> pool_;
  PoolStats stats_;
};

}  // namespace tg::upstream
