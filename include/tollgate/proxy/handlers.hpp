#pragma once
// Request handlers: auth, parsing, routing, the attempt loop and the stream relay.

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "tollgate/governance/keys.hpp"
#include "tollgate/governance/ledger.hpp"
#include "tollgate/server/response_writer.hpp"
#include "tollgate/server/worker.hpp"

namespace tg::proxy {

using Request = boost::beast::http::request<boost::beast::http::string_body>;

// What one access-log line says about a request.
struct AccessRecord {
  std::string model;          // as asked
  std::string provider;       // that answered (or last tried)
  std::string upstream_model;
  int attempts = 0;
  bool failover = false;      // answered by another target than the first tried
  std::string error_code;
  int64_t input_tokens = 0, output_tokens = 0, cached_tokens = 0, reasoning_tokens = 0;
  int64_t cache_write_tokens = 0;
  double ttft_ms = -1;
  double upstream_ms = 0;     // time waiting on upstreams
  bool stream = false;
  std::string key_id, key_name, team;  // the virtual key, when one was used
  std::optional<int64_t> cost_nano;   // nullopt: unknown (no price)
  bool usage_estimated = false;        // tokens (and cost) estimated: the usage never came
  std::optional<std::string> response_body;  // logs.bodies only
  std::string attempt_log;  // store::RequestRow::attempt_log
  std::vector<governance::SpendDelta> spend;  // settled spend to persist
};

struct RequestContext {
  server::Worker& worker;
  Request& request;
  boost::beast::tcp_stream& stream;  // the client connection (for disconnect detection)
  server::ResponseWriter& out;
  server::SnapshotPtr snapshot;      // the snapshot this request started with
  std::string request_id;
  std::chrono::steady_clock::time_point start;
  int64_t start_unix_ms = 0;           // wall clock, for the request log
  std::string path;                  // without the /v1 prefix and query
  AccessRecord record;
  std::shared_ptr<const governance::KeyRecord> key;  // the virtual key used, if any
  bool master = false;                               // authenticated with the master key
  bool api = false;  // an LLM endpoint: logged, counted and in flight
  bool admin_port = false;  // arrived on server.admin_listen
  bool skip_store = false;  // refused for store back-pressure: counted, not queued
};

// Handles every path; always answers (unless the client is gone). An exception in a handler is
// answered 500 (when nothing was sent yet; else the connection closes), logged and counted.
boost::asio::awaitable<void> handle(RequestContext& ctx);

// What a client sees of a bug: no internals, the request id to report it with.
Error internal_error(std::string_view request_id);
// An exception's what(), for the log.
std::string describe_exception(const std::exception_ptr& e);

}  // namespace tg::proxy
