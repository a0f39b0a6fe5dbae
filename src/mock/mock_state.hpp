// Shared, thread-safe state of tollgate-mock: request counter, bounded request log, stream and
// connection statistics, the fault queue, and the /__mock/* control endpoints. No Asio here.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "mock_api.hpp"
#include "mock_faults.hpp"

namespace tollgate::mock {

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 9001;
  std::string port_file;
  int threads = 1;
  std::string api_key;
  long long events = 20;
  long long interval_ms = 0;
  long long latency_ms = 0;
  int fail_status = 0;
  long long fail_count = 1;
  // Streams report usage on their last choice chunk, always (Mistral, vLLM), instead of in a
  // separate chunk only when stream_options.include_usage asks for it (OpenAI).
  bool usage_on_last_chunk = false;
  // Close a keep-alive connection idle this long between requests (0 = never).
  long long keepalive_timeout_ms = 0;
};

struct LoggedRequest {
  std::uint64_t seq = 0;
  std::string method;
  std::string target;
  HeaderList headers;  // lowercased names, in arrival order
  std::string body;
  std::optional<FaultMode> fault;
};

struct Stats {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> streams_started{0};
  std::atomic<std::uint64_t> streams_completed{0};
  std::atomic<std::uint64_t> streams_aborted_by_client{0};
  std::atomic<std::uint64_t> streams_faulted{0};  // ended early on purpose by an injected fault
  // API requests whose client went away before the response head (latency/delay, non-stream stall)
  std::atomic<std::uint64_t> requests_aborted_by_client{0};
  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_total{0};
};

class State {
 public:
  static constexpr std::size_t kMaxLoggedRequests = 10000;

  explicit State(Options opts) : opts_(std::move(opts)) {}

  const Options& options() const { return opts_; }
  Stats& stats() { return stats_; }
  FaultQueue& faults() { return faults_; }

  // Next API request sequence number (1-based; restarts after reset).
  std::uint64_t next_seq() { return seq_.fetch_add(1, std::memory_order_relaxed) + 1; }

  void log(LoggedRequest&& r);
  void clear_log();
  void reset();  // log, faults, counters (connections_open is a live gauge and is kept)

  // Handles GET/POST/DELETE on /__mock/... (`path` without the query string).
  Reply handle_control(std::string_view method, std::string_view path, std::string_view body);

 private:
  std::string requests_json();
  std::string stats_json();

  Options opts_;
  Stats stats_;
  FaultQueue faults_;
  std::atomic<std::uint64_t> seq_{0};
  std::mutex log_mu_;
  std::deque<LoggedRequest> log_;
};

}  // namespace tollgate::mock
