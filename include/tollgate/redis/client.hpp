#pragma once
// A Redis connection on one worker's io_context (the I/O shell; the protocol is redis/protocol).
// Worker-thread only. Commands are pipelined: exec() sends a batch in one write and gets the
// replies of that batch in order, one round trip. Every exec() ends by its deadline: a slow or
// gone Redis gives an error, never a hung request. The connection reconnects in the background
// with exponential backoff (100 ms doubling to 5 s); while it is down exec() fails at once.

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "tollgate/config/config.hpp"
#include "tollgate/redis/protocol.hpp"

namespace tg::redis {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;
using Command = std::vector<std::string>;
// The replies of a batch (a reply may itself be a Redis error), or why there are none.
using Replies = std::variant<std::vector<Value>, std::string>;

// Counters shared by every worker's client (for /metrics and /ready).
struct ClientStats {
  std::atomic<uint64_t> errors{0};        // timeouts, connection failures, protocol errors
  std::atomic<int> connected{0};          // clients connected now
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  // `hello`: commands sent first on every new connection (AUTH, SELECT, SCRIPT LOAD); an error
  // reply to any of them fails the connection.
  Client(net::io_context& io, config::RedisUrl url, std::chrono::milliseconds timeout,
         std::vector<Command> hello, ClientStats& stats);
  ~Client();

  void start();  // begins connecting (call once, on any thread before the loop runs or on it)
  void stop();   // worker thread: closes the connection, fails what is pending

  // `lazy`: nobody waits on it soon (a settlement), so it is not written at once but with the
  // next batch, or within 2 ms: one write and one wake-up fewer under load.
  net::awaitable<Replies> exec(std::vector<Command> batch, Clock::time_point deadline,
                               bool lazy = false);
  // One command already written in RESP (the governor's scripts).
  net::awaitable<Replies> exec(CommandWriter command, Clock::time_point deadline,
                               bool lazy = false);
  bool connected() const { return connected_; }

 private:
  struct Pending;
  // Appends `count` encoded commands (written by `encode` into out_) and waits for their replies.
  template <class Encode>
  net::awaitable<Replies> send(size_t count, Encode encode, Clock::time_point deadline, bool lazy);
  net::awaitable<void> run();
  net::awaitable<bool> connect_once();
  net::awaitable<void> read_loop();
  net::awaitable<void> write_loop();
  void write_now();  // writes out_ now if the writer is idle; what does not go is left to it
  void fail_all(const std::string& why);

  net::io_context& io_;
  config::RedisUrl url_;
  std::chrono::milliseconds timeout_;
  ClientStats& stats_;
  net::ip::tcp::socket socket_;
  std::vector<Command> hello_;
  net::steady_timer write_wake_;  // wakes the writer when there is data
  net::steady_timer flush_;       // writes lazy commands that found no batch to ride with
  // Cancelled when the first connection attempt ends: a request arriving while the worker is
  // still making its first connection (just after start) waits for it, within its deadline,
  // instead of being told "not connected" (a 503 when failing closed).
  net::steady_timer first_attempt_;
  bool first_attempt_done_ = false;
  bool flush_armed_ = false;
  bool writing_ = false;  // the writer has a write under way (write_now must not interleave)
  std::unique_ptr<Reader> reader_;
  std::deque<std::shared_ptr<Pending>> pending_;  // in send order, each waiting for its replies
  std::string out_;        // encoded commands not yet written
  bool connected_ = false;
  bool stopped_ = false;
  int timeouts_in_a_row_ = 0;  // many: the connection is stuck, so it is dropped and remade
};

}  // namespace tg::redis
