// One pipelined Redis connection per worker, with deadlines and reconnection.

#include "tollgate/redis/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

namespace tg::redis {

using namespace net::experimental::awaitable_operators;
namespace {
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
constexpr std::chrono::milliseconds kBackoffMin{100}, kBackoffMax{5'000};
constexpr int kStuckAfter = 16;  // timeouts in a row without any reply
}  // namespace

struct Client::Pending {
  explicit Pending(net::io_context& io) : timer(io) {}
  net::steady_timer timer;  // the deadline; cancelled when the replies are in
  size_t expect = 0;
  std::vector<Value> replies;
  std::string error;
  bool done = false;
};

Client::Client(net::io_context& io, config::RedisUrl url, std::chrono::milliseconds timeout,
               std::vector<Command> hello, ClientStats& stats)
    : io_(io),
      url_(std::move(url)),
      timeout_(timeout),
      stats_(stats),
      socket_(io),
      hello_(std::move(hello)),
      write_wake_(io),
      flush_(io),
      first_attempt_(io, Clock::time_point::max()) {}

Client::~Client() = default;

void Client::start() {
  net::co_spawn(io_, [self = shared_from_this()]() { return self->run(); }, net::detached);
}

void Client::stop() {
  stopped_ = true;
  boost::system::error_code ec;
  socket_.close(ec);
  write_wake_.cancel();
  first_attempt_done_ = true;
  first_attempt_.cancel();
}

void Client::fail_all(const std::string& why) {
  for (auto& p : pending_) {
    if (p->done) continue;
    p->done = true;
    p->error = why;
    p->timer.cancel();
  }
  pending_.clear();
  out_.clear();
}

net::awaitable<bool> Client::connect_once() {
  reader_ = std::make_unique<Reader>();
  boost::system::error_code ec;
  socket_.close(ec);
  socket_ = net::ip::tcp::socket(io_);
  net::steady_timer timer(io_);
  timer.expires_after(std::max(timeout_, std::chrono::milliseconds(1000)));
  net::ip::tcp::resolver resolver(io_);
  auto connect = [&]() -> net::awaitable<boost::system::error_code> {
    auto [rec, results] = co_await resolver.async_resolve(url_.host, std::to_string(url_.port), kTuple);
    if (rec) co_return rec;
    auto [cec, ep] = co_await net::async_connect(socket_, results, kTuple);
    co_return cec;
  };
  auto r = co_await (connect() || timer.async_wait(kTuple));
  if (r.index() == 1) {
    spdlog::debug("redis: connecting to {}:{} timed out", url_.host, url_.port);
    co_return false;
  }
  if (auto cec = std::get<0>(r)) {
    spdlog::debug("redis: cannot connect to {}:{}: {}", url_.host, url_.port, cec.message());
    co_return false;
  }
  socket_.set_option(net::ip::tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);  // read_loop and write_now use synchronous calls that must not block
  std::vector<Command> hello;
  if (!url_.password.empty()) {
    hello.push_back(url_.username.empty() ? Command{"AUTH", url_.password}
                                          : Command{"AUTH", url_.username, url_.password});
  }
  if (url_.db != 0) hello.push_back({"SELECT", std::to_string(url_.db)});
  hello.insert(hello.end(), hello_.begin(), hello_.end());
  if (hello.empty()) co_return true;
  std::string out;
  for (const auto& c : hello) encode_command(out, c);
  auto handshake = [&]() -> net::awaitable<std::string> {
    auto [wec, n] = co_await net::async_write(socket_, net::buffer(out), kTuple);
    if (wec) co_return wec.message();
    size_t got = 0;
    char buf[4096];
    while (got < hello.size()) {
      while (auto v = reader_->next()) {
        if (v->is_error()) co_return "refused: " + v->str.substr(0, 200);
        ++got;
        if (got == hello.size()) co_return "";
      }
      if (!reader_->error().empty()) co_return reader_->error();
      auto [rec, m] = co_await socket_.async_read_some(net::buffer(buf), kTuple);
      if (rec) co_return rec.message();
      reader_->feed(buf, m);
    }
    co_return "";
  };
  timer.expires_after(std::max(timeout_, std::chrono::milliseconds(1000)));
  auto h = co_await (handshake() || timer.async_wait(kTuple));
  std::string err = h.index() == 1 ? std::string("handshake timed out") : std::get<0>(h);
  if (!err.empty()) {
    // The password is in `hello`, never in this message.
    spdlog::warn("redis: {}:{}: {}", url_.host, url_.port, err);
    co_return false;
  }
  co_return true;
}

net::awaitable<void> Client::read_loop() {
  char buf[16384];
  for (;;) {
    // Waits for readiness, then reads what is there: no read is tried before the reply can have
    // come (async_read_some would try one first, one syscall more per reply).
    auto [wec] = co_await socket_.async_wait(net::socket_base::wait_read, kTuple);
    if (wec) co_return;
    for (;;) {
      boost::system::error_code ec;
      const size_t n = socket_.read_some(net::buffer(buf), ec);  // the socket is non-blocking
      if (ec == net::error::would_block || ec == net::error::try_again) break;
      if (ec) co_return;
      if (!reader_->feed(buf, n)) co_return;
      while (auto v = reader_->next()) {
        if (pending_.empty()) {
          spdlog::warn("redis: a reply nobody asked for; reconnecting");
          co_return;
        }
        timeouts_in_a_row_ = 0;
        auto& p = pending_.front();
        p->replies.push_back(std::move(*v));
        if (p->replies.size() == p->expect) {
          p->done = true;
          p->timer.cancel();
          pending_.pop_front();
        }
      }
      if (!reader_->error().empty()) {
        spdlog::warn("redis: bad reply ({}); reconnecting", reader_->error());
        co_return;
      }
      // A short read emptied the socket: more data comes with a new readiness event, which the
      // wait above sees (the socket is edge-triggered, and nothing runs between here and it).
      if (n < sizeof buf) break;
    }
  }
}

net::awaitable<void> Client::write_loop() {
  for (;;) {
    if (out_.empty()) {
      write_wake_.expires_at(Clock::time_point::max());
      co_await write_wake_.async_wait(kTuple);
      if (stopped_) co_return;
      continue;
    }
    std::string buf;
    buf.swap(out_);
    writing_ = true;
    auto [ec, n] = co_await net::async_write(socket_, net::buffer(buf), kTuple);
    writing_ = false;
    if (ec) co_return;
  }
}

void Client::write_now() {
  if (writing_ || out_.empty()) return;  // the writer takes out_ when its write is done
  boost::system::error_code ec;
  const size_t n = socket_.write_some(net::buffer(out_), ec);  // non-blocking
  if (!ec && n == out_.size()) {
    out_.clear();
    return;
  }
  if (!ec) out_.erase(0, n);
  write_wake_.cancel();  // the rest, or the error, is the writer's
}

net::awaitable<void> Client::run() {
  auto backoff = kBackoffMin;
  net::steady_timer sleep(io_);
  bool was_up = false;
  while (!stopped_) {
    const bool up = co_await connect_once();
    if (!first_attempt_done_) {
      first_attempt_done_ = true;
      first_attempt_.cancel();
    }
    if (up) {
      if (was_up || backoff > kBackoffMin) spdlog::info("redis: connected to {}:{}", url_.host, url_.port);
      backoff = kBackoffMin;
      connected_ = was_up = true;
      timeouts_in_a_row_ = 0;
      stats_.connected.fetch_add(1);
      co_await (read_loop() || write_loop());
      connected_ = false;
      writing_ = false;
      stats_.connected.fetch_sub(1);
      stats_.errors.fetch_add(1);
      boost::system::error_code ec;
      socket_.close(ec);
      fail_all("connection lost");
      if (stopped_) break;
      spdlog::warn("redis: connection to {}:{} lost; reconnecting", url_.host, url_.port);
    } else {
      stats_.errors.fetch_add(1);
      if (stopped_) break;
    }
    sleep.expires_after(backoff);
    co_await sleep.async_wait(kTuple);
    backoff = std::min(backoff * 2, kBackoffMax);
  }
}

net::awaitable<Replies> Client::exec(std::vector<Command> batch, Clock::time_point deadline,
                                     bool lazy) {
  co_return co_await send(
      batch.size(), [&](std::string& out) { for (const auto& c : batch) encode_command(out, c); },
      deadline, lazy);
}

net::awaitable<Replies> Client::exec(CommandWriter command, Clock::time_point deadline, bool lazy) {
  co_return co_await send(
      command.size() > 0 ? 1 : 0, [&](std::string& out) { command.append_to(out); }, deadline,
      lazy);
}

template <class Encode>
net::awaitable<Replies> Client::send(size_t count, Encode encode, Clock::time_point deadline,
                                     bool lazy) {
  if (!connected_ && !first_attempt_done_ && count > 0) {
    net::steady_timer by(io_, deadline);
    co_await (first_attempt_.async_wait(kTuple) || by.async_wait(kTuple));
  }
  if (!connected_ || count == 0) {
    stats_.errors.fetch_add(1);
    co_return std::string(count == 0 ? "empty batch" : "not connected");
  }
  auto p = std::make_shared<Pending>(io_);
  p->expect = count;
  encode(out_);
  pending_.push_back(p);
  if (!lazy) {
    // Written here, at once: no hop through the writer coroutine (two handlers fewer).
    write_now();
    // The lazy commands go with this write. Cancelled before this command's deadline is armed:
    // that timer then resets the loop's timerfd, which would otherwise still wake it at the
    // flush time for nothing (Asio does not disarm it when a timer is cancelled).
    if (flush_armed_) flush_.cancel();
  } else if (!flush_armed_) {
    flush_armed_ = true;
    flush_.expires_after(std::chrono::milliseconds(2));
    flush_.async_wait([self = shared_from_this()](boost::system::error_code) {
      self->flush_armed_ = false;
      self->write_now();
    });
  }
  p->timer.expires_at(deadline);
  co_await p->timer.async_wait(kTuple);
  if (p->done) {
    if (!p->error.empty()) co_return p->error;
    co_return std::move(p->replies);
  }
  // Past the deadline: the replies, when they come, are read and dropped (the entry stays in
  // the queue so later replies still match their requests).
  stats_.errors.fetch_add(1);
  if (++timeouts_in_a_row_ >= kStuckAfter && connected_) {
    spdlog::warn("redis: {} requests in a row timed out; reconnecting", timeouts_in_a_row_);
    boost::system::error_code ec;
    socket_.close(ec);  // the read loop ends, run() reconnects
  }
  co_return std::string("timeout");
}

}  // namespace tg::redis
