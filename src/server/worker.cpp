#include "tollgate/server/worker.hpp"

#include <algorithm>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "tollgate/api/routes.hpp"
#include "tollgate/core/text.hpp"
#include "tollgate/proxy/handlers.hpp"

namespace tg::server {

namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
using Clock = std::chrono::steady_clock;

Worker::Worker(int index, Shared& shared, SnapshotPtr snapshot, ProxySettings proxy)
    : index_(index),
      shared_(shared),
      upstream_(std::make_unique<upstream::UpstreamClient>(ioc_, shared.tls, std::move(proxy))),
      snapshot_(std::move(snapshot)),
      rng_state_(std::random_device{}() ^ (uint64_t(index) << 32)) {}

Worker::~Worker() { join(); }

namespace {
std::unique_ptr<tcp::acceptor> open_acceptor(net::io_context& ioc, const tcp::endpoint& endpoint) {
  auto acceptor = std::make_unique<tcp::acceptor>(ioc);
  acceptor->open(endpoint.protocol());
  acceptor->set_option(net::socket_base::reuse_address(true));
  int one = 1;
  ::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  acceptor->bind(endpoint);
  acceptor->listen(net::socket_base::max_listen_connections);
  return acceptor;
}
}  // namespace

uint16_t Worker::listen(const tcp::endpoint& endpoint) {
  acceptor_ = open_acceptor(ioc_, endpoint);
  return acceptor_->local_endpoint().port();
}

uint16_t Worker::listen_admin(const tcp::endpoint& endpoint) {
  admin_acceptor_ = open_acceptor(ioc_, endpoint);
  return admin_acceptor_->local_endpoint().port();
}

void Worker::start() {
  net::co_spawn(ioc_, accept_loop(*acceptor_, false), net::detached);
  if (admin_acceptor_) net::co_spawn(ioc_, accept_loop(*admin_acceptor_, true), net::detached);
  net::co_spawn(ioc_, sweep_loop(), net::detached);
  thread_ = std::thread([this] {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("worker {}: internal error escaped a handler: {}", index_, e.what());
      }
    }
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::publish(SnapshotPtr snapshot) {
  net::post(ioc_, [this, s = std::move(snapshot)]() mutable { snapshot_ = std::move(s); });
}

void Worker::begin_drain() {
  net::post(ioc_, [this] {
    draining_ = true;
    boost::system::error_code ec;
    if (acceptor_) acceptor_->close(ec);
    if (admin_acceptor_) admin_acceptor_->close(ec);
    for (Conn* c : conns_) {
      if (!c->busy) c->socket->close(ec);  // idle keep-alive: nothing in flight
    }
  });
}

void Worker::close_all() {
  net::post(ioc_, [this] {
    boost::system::error_code ec;
    for (Conn* c : conns_) c->socket->close(ec);
    upstream_->close_idle();
  });
}

void Worker::stop() { ioc_.stop(); }

uint64_t Worker::next_random() {
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

namespace {

// v in lowercase hex, zero-padded to at least `width` digits (fmt's {:0Nx}, without parsing a
// format string per request).
void append_hex(std::string& out, uint64_t v, size_t width) {
  const NumberText hex(v, 16);
  if (hex.view().size() < width) out.append(width - hex.view().size(), '0');
  out.append(hex);
}

}  // namespace

std::string Worker::next_request_id() {
  // Unique per process run: random prefix per worker + counter. Cheap, no syscalls.
  std::string id = "req_";
  id.reserve(4 + 12 + 2 + 16);
  append_hex(id, rng_state_ & 0xffffffffffffull, 12);
  append_hex(id, static_cast<uint64_t>(index_) & 0xff, 2);
  append_hex(id, ++request_counter_, 8);
  return id;
}

namespace {

constexpr size_t kMaxHeaderFields = 100;  // as Envoy: more is refused with 431

std::string_view header_value(const proxy::Request& req, http::field f) {
  auto it = req.find(f);
  if (it == req.end()) return {};
  return std::string_view(it->value().data(), it->value().size());
}

// Strips the query string and an optional leading /v1.
std::string normalize_path(std::string_view target) {
  if (size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  if (target.rfind("/v1/", 0) == 0) target.remove_prefix(3);
  else if (target == "/v1") target = "/";
  while (target.size() > 1 && target.back() == '/') target.remove_suffix(1);
  return std::string(target);
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == ':')) {
      return false;
    }
  }
  return true;
}

// Parses the body that came in with the head's read (a typical request arrives in one segment).
// True when the request is complete or failed (`ec`): then no read is needed, and no completion
// goes through the event loop (Beast's async_read posts one even when it reads nothing).
bool parse_buffered_body(http::request_parser<http::string_body>& parser,
                         beast::flat_buffer& buffer, boost::system::error_code& ec) {
  parser.eager(true);
  while (!parser.is_done() && buffer.size() > 0) {
    const size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec) return true;
    if (used == 0) return false;
  }
  return parser.is_done();
}

// Writes a gateway error on a connection that has no parsed request (limits, timeouts).
net::awaitable<void> reply_and_close(beast::tcp_stream& stream, const Error& e,
                                     std::string request_id) {
  ResponseWriter out(stream, std::chrono::seconds(5));
  out.set_keep_alive(false);
  out.add_header("x-request-id", std::move(request_id));
  co_await out.send_error(e);
  // Lingering close (as nginx does): keep reading what the client still sends for a moment, so
  // that it sees our answer instead of a reset while it is still writing its body.
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  thread_local char sink[16 * 1024];
  size_t drained = 0;
  auto until = Clock::now() + std::chrono::seconds(2);
  while (drained < (64u << 20) && Clock::now() < until) {
    stream.expires_at(until);
    auto [rec, n] = co_await stream.async_read_some(net::buffer(sink), kTuple);
    if (rec) break;
    drained += n;
  }
}

// A request in flight on this connection, for drain (active_requests) and begin_drain (busy):
// undone however the request ends, an exception included.
struct ActiveRequest {
  ActiveRequest(Worker& w, Worker::Conn& c) : w(w), c(c) {
    c.busy = true;
    w.active_requests.fetch_add(1, std::memory_order_relaxed);
  }
  ~ActiveRequest() {
    w.active_requests.fetch_sub(1, std::memory_order_relaxed);
    c.busy = false;
  }
  ActiveRequest(const ActiveRequest&) = delete;
  ActiveRequest& operator=(const ActiveRequest&) = delete;
  Worker& w;
  Worker::Conn& c;
};

struct ConnRegistration {
  ConnRegistration(Worker& w, Worker::Conn& c) : w(w), c(c) {
    w.add_conn(&c);
    w.shared().connections.fetch_add(1, std::memory_order_relaxed);
    w.shared().metrics.connection_add(1);
  }
  ~ConnRegistration() {
    w.remove_conn(&c);
    w.shared().connections.fetch_sub(1, std::memory_order_relaxed);
    w.shared().metrics.connection_add(-1);
  }
  Worker& w;
  Worker::Conn& c;
};

net::awaitable<void> run_session(Worker& worker, tcp::socket socket, bool admin_port) {
  beast::tcp_stream stream(std::move(socket));
  Worker::Conn conn{&stream.socket(), false};
  ConnRegistration registration(worker, conn);
  beast::flat_buffer buffer;
  buffer.reserve(4 * 1024);  // a typical request in one read (Beast reads 512 bytes from empty)
  boost::system::error_code ec;
  stream.socket().set_option(tcp::no_delay(true), ec);

  {
    const auto& server_cfg = worker.snapshot()->config.server;
    if (worker.shared().connections.load(std::memory_order_relaxed) >
        static_cast<int64_t>(server_cfg.max_connections)) {
      co_await reply_and_close(stream,
                               Error::unavailable("Too many open connections (server.max_connections)"),
                               worker.next_request_id());
      co_return;
    }
  }

  for (bool first = true;; first = false) {
    if (worker.draining()) break;
    http::request_parser<http::string_body> parser;
    boost::system::error_code hec;
    {
      // Limits for reading the head: the config current while this connection waits.
      const auto waiting = worker.snapshot();
      const auto& wcfg = waiting->config.server;
      parser.header_limit(static_cast<std::uint32_t>(wcfg.max_header_bytes));
      // The larger of the two limits until the path is known (checked again below).
      parser.body_limit(std::max(wcfg.max_request_body, wcfg.max_upload_body));
      stream.expires_after(first ? wcfg.header_timeout : wcfg.keepalive_timeout);
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kTuple);
      hec = ec;
    }
    // This request's snapshot, taken once its head arrived: a reload that landed while the
    // connection sat idle applies to it.
    const auto snapshot = worker.snapshot();
    const auto& cfg = snapshot->config.server;
    if (hec) {
      if (hec == http::error::header_limit) {
        co_await reply_and_close(stream, Error::header_too_large(cfg.max_header_bytes),
                                 worker.next_request_id());
      } else if (hec == http::error::body_limit) {  // Content-Length already over the limit
        co_await reply_and_close(stream,
                                 Error::payload_too_large(std::max(cfg.max_request_body,
                                                                   cfg.max_upload_body)),
                                 worker.next_request_id());
      } else if (hec != http::error::end_of_stream && hec != beast::error::timeout &&
                 hec != net::error::operation_aborted && hec != net::error::eof &&
                 hec != net::error::connection_reset && hec != net::error::bad_descriptor) {
        co_await reply_and_close(stream,
                                 Error::bad_request("Malformed HTTP request: " + hec.message()),
                                 worker.next_request_id());
      }
      break;
    }
    const auto& head = parser.get();
    // Envoy's limit: a head of thousands of tiny fields costs far more to index than its bytes
    // suggest, and no client needs more than a few dozen.
    if (std::distance(head.begin(), head.end()) > static_cast<std::ptrdiff_t>(kMaxHeaderFields)) {
      co_await reply_and_close(stream, Error::too_many_header_fields(kMaxHeaderFields),
                               worker.next_request_id());
      break;
    }
    conn.busy = true;
    std::string request_id;
    if (auto it = head.find("x-request-id"); it != head.end()) {
      std::string_view given(it->value().data(), it->value().size());
      if (valid_request_id(given)) request_id = std::string(given);
    }
    if (request_id.empty()) request_id = worker.next_request_id();

    // Refuse an oversized body before reading it (and before a 100-continue). Uploads
    // (multipart audio and images) have their own limit.
    const bool upload = api::takes_upload(
        normalize_path(std::string_view(head.target().data(), head.target().size())));
    const uint64_t body_limit = upload ? cfg.max_upload_body : cfg.max_request_body;
    const std::string_view limit_name = upload ? "max_upload_body" : "max_request_body";
    parser.body_limit(body_limit);
    if (auto len = parser.content_length(); len && *len > body_limit) {
      co_await reply_and_close(stream, Error::payload_too_large(body_limit, limit_name), request_id);
      break;
    }
    if (beast::iequals(header_value(head, http::field::expect), "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream.expires_after(cfg.body_timeout);
      auto [cec, cn] = co_await net::async_write(stream, net::buffer(kContinue), kTuple);
      if (cec) break;
    }
    auto start = Clock::now();
    boost::system::error_code bec;
    if (!parse_buffered_body(parser, buffer, bec)) {
      stream.expires_after(cfg.body_timeout);
      auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kTuple);
      bec = rec;
    }
    stream.expires_never();  // (the head's deadline too: every later operation sets its own)
    if (bec) {
      if (bec == http::error::body_limit) {
        co_await reply_and_close(stream, Error::payload_too_large(body_limit, limit_name),
                                 request_id);
      } else if (bec == beast::error::timeout) {
        co_await reply_and_close(stream, Error::request_timeout(), request_id);
      }
      break;
    }

    proxy::Request request = parser.release();
    ResponseWriter out(stream, snapshot->config.router.timeouts.idle);
    out.set_keep_alive(request.keep_alive() && !worker.draining());
    out.set_head_only(request.method() == http::verb::head);
    out.add_header("x-request-id", request_id);
    proxy::RequestContext ctx{worker,
                              request,
                              stream,
                              out,
                              snapshot,
                              request_id,
                              start,
                              std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count(),
                              normalize_path(std::string_view(request.target().data(),
                                                              request.target().size())),
                              /*record=*/{},
                              /*key=*/{},
                              /*master=*/false,
                              /*api=*/false,
                              admin_port};
    std::exception_ptr failure;
    {
      ActiveRequest active(worker, conn);
      try {
        co_await proxy::handle(ctx);
      } catch (...) {
        failure = std::current_exception();  // (no co_await inside a handler: C++20)
      }
    }
    if (failure) {
      // handle() answers its own handlers' exceptions; this one escaped the bookkeeping around
      // them. The request is over: answer if nothing was sent, then close the connection.
      spdlog::error("{} internal error: {}", log_safe(request_id),
                    log_safe(proxy::describe_exception(failure)));
      out.set_keep_alive(false);
      if (!out.committed()) co_await out.send_error(proxy::internal_error(request_id));
      break;
    }
    if (out.failed() || !out.keep_alive() || worker.draining()) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.socket().close(ec);
}

}  // namespace

// Once a second: the pooled upstream connections idle past their keepalive are closed, also on
// a worker that gets no traffic (no connection goes back to its pool to end them).
net::awaitable<void> Worker::sweep_loop() {
  net::steady_timer timer(ioc_);
  while (!draining_) {
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(kTuple);
    if (ec) co_return;
    upstream_->drop_expired();
  }
}

net::awaitable<void> Worker::accept_loop(tcp::acceptor& acceptor, bool admin) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTuple);
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
      spdlog::warn("accept failed: {}", ec.message());  // e.g. EMFILE: keep serving
      net::steady_timer t(ioc_, std::chrono::milliseconds(50));
      co_await t.async_wait(kTuple);
      continue;
    }
    net::co_spawn(ioc_, run_session(*this, std::move(socket), admin),
                  [this](std::exception_ptr e) {
                    if (!e) return;
                    try {
                      std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                      spdlog::error("worker {}: session ended by an internal error: {}", index_,
                                    ex.what());
                    }
                  });
  }
}

}  // namespace tg::server
