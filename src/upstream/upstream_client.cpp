#include "tollgate/upstream/upstream_client.hpp"

#include <sys/socket.h>

#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <fmt/format.h>

#include "tollgate/net/write_now.hpp"

namespace tg::upstream {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

// ---------------------------------------------------------------------------------------------
// TLS contexts

std::optional<std::string> TlsContexts::prepare(const TlsOptions& opts) {
  std::lock_guard lock(mu_);
  auto& slot = contexts_[key(opts)];
  if (slot) return std::nullopt;
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (opts.verify) {
    ctx->set_default_verify_paths(ec);
    if (ec) return fmt::format("cannot load the system CA store: {}", ec.message());
    if (!opts.ca_file.empty()) {
      ctx->load_verify_file(opts.ca_file, ec);
      if (ec) return fmt::format("cannot load ca_file '{}': {}", opts.ca_file, ec.message());
    }
    ctx->set_verify_mode(ssl::verify_peer);
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }
  slot = std::move(ctx);
  return std::nullopt;
}

net::ssl::context* TlsContexts::get(const TlsOptions& opts) {
  std::lock_guard lock(mu_);
  auto it = contexts_.find(key(opts));
  return it == contexts_.end() ? nullptr : it->second.get();
}

// ---------------------------------------------------------------------------------------------
// Connection: a TCP stream, maybe wrapped in TLS, with its read buffer.

class Connection {
 public:
  Connection(net::io_context& ioc, std::string pool_key)
      : plain_(ioc), pool_key_(std::move(pool_key)) {
    // Beast reads at most the buffer's free capacity (512 bytes from empty): start with room for
    // a burst of SSE events, so one read (and one client write) takes them all.
    buffer_.reserve(8 * 1024);
  }

  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : plain_; }
  bool is_tls() const { return tls_.has_value(); }
  void close() {
    boost::system::error_code ec;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp().socket().close(ec);
  }

  beast::tcp_stream plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  std::string pool_key_;
  Clock::time_point idle_since_{};
  Clock::duration keepalive_{};  // its provider's timeouts.keepalive, as of its last use
  uint32_t uses_ = 0;
  bool session_saved_ = false;  // its TLS session is the pool's to resume
};

void AbortSlot::fire() {
  fired = true;
  if (conn) conn->close();
}

// ---------------------------------------------------------------------------------------------
// Pool: idle connections per (origin, TLS options, proxy), owned by one worker.

struct UpstreamClient::Pool {
  static constexpr size_t kMaxIdlePerKey = 256;
  // A connection idle for less than this is taken without the peek below (a system call per
  // request under load): servers' keep-alive timeouts are seconds long, and a close that races
  // the request (a restart, a shorter timeout) fails before any response byte, which send()
  // retries once on a new connection.
  static constexpr auto kFreshIdle = std::chrono::seconds(1);

  struct DnsEntry {
    tcp::resolver::results_type results;
    Clock::time_point expires;
  };

  explicit Pool(net::io_context& ioc) : resolver(ioc) {}

  // The last resumable TLS session per pool key: a new connection to the same origin resumes it
  // (an abbreviated handshake, no certificate chain sent or verified again). Saved when a
  // connection first goes back to the pool, by which time a TLS 1.3 server's tickets have been
  // read. Keys come from the config, so this stays small.
  struct SessionFree {
    void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<SSL_SESSION, SessionFree>> sessions;

  // An idle keep-alive connection the server has closed (its keep-alive timeout, a restart)
  // shows as readable: EOF, a reset, or bytes nobody asked for (a TLS close_notify). One
  // non-blocking peek tells, without waiting on the network.
  static bool closed_by_peer(Connection& conn) {
    char c;
    ssize_t n = ::recv(conn.tcp().socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    return true;  // 0: EOF; > 0: unsolicited bytes, the connection cannot carry a new exchange
  }

  std::unique_ptr<Connection> take(const std::string& key, Clock::duration keepalive) {
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    auto& list = it->second;
    auto now = Clock::now();
    while (!list.empty()) {
      auto conn = std::move(list.back());
      list.pop_back();
      const auto idle_for = now - conn->idle_since_;
      if (idle_for < keepalive && conn->tcp().socket().is_open() &&
          (idle_for < kFreshIdle || !closed_by_peer(*conn))) {
        return conn;
      }
      conn->close();
    }
    return nullptr;
  }

  // Closes what has been idle for its keepalive. A list is in the order connections came back
  // (take pops the newest), so the expired ones are a prefix (with one keepalive per origin;
  // two providers on one origin with different ones: the longer bounds the shorter). Without
  // this, connections opened for a burst would wait below the warm ones until taken, which under
  // steady traffic is never: each holding its socket (in CLOSE_WAIT once the server gives up on
  // it) and its memory, which pinned the allocator's pages the burst had used.
  static void drop_expired(std::vector<std::unique_ptr<Connection>>& list, Clock::time_point now) {
    auto live = std::find_if(list.begin(), list.end(),
                             [&](const auto& c) { return now - c->idle_since_ < c->keepalive_; });
    if (live == list.begin()) return;
    for (auto it = list.begin(); it != live; ++it) (*it)->close();
    list.erase(list.begin(), live);
  }

  tcp::resolver resolver;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
  std::unordered_map<std::string, DnsEntry> dns;
};

// ---------------------------------------------------------------------------------------------
// ResponseParser: an upstream response's head and body, keeping only the headers the gateway
// reads (Beast's response_parser stores every field, an allocation and a tree insert each: about
// 13 per answer from an OpenAI-style host). The body is appended straight to the reader's string,
// up to the room it allows (need_buffer when that is used up): no buffer of its own is held while
// the read waits, which for a stream is most of its life (a 16 KB buffer in the reading
// coroutine's frame was a third of each open stream's memory).

namespace {

class ResponseParser final : public http::basic_parser<false> {
 public:
  // The headers Exchange::header can return; any other name reads as absent.
  static constexpr std::string_view kKept[] = {"content-type", "retry-after", "retry-after-ms"};

  int status() const { return status_; }
  std::string_view header(std::string_view name) const {
    for (size_t i = 0; i < std::size(kKept); ++i) {
      if (beast::iequals(name, kKept[i])) return kept_[i] ? std::string_view(values_[i]) : "";
    }
    return {};
  }
  void set_sink(std::string* out, size_t room) {
    sink_ = out;
    room_ = room;
  }
  size_t room() const { return room_; }

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       boost::system::error_code& ec) override {
    ec = http::error::bad_method;  // never called: this is a response parser
  }
  void on_response_impl(int code, beast::string_view, int, boost::system::error_code& ec) override {
    status_ = code;
    ec = {};
  }
  void on_field_impl(http::field f, beast::string_view name, beast::string_view value,
                     boost::system::error_code& ec) override {
    ec = {};
    // Beast has already matched known names: only an unknown one is compared as text.
    size_t i = f == http::field::content_type  ? 0
               : f == http::field::retry_after ? 1
               : f == http::field::unknown && beast::iequals(name, kKept[2]) ? 2
                                                                            : std::size(kKept);
    if (i < std::size(kKept) && !kept_[i]) {  // the first one, as a field lookup finds it
      values_[i].assign(value.data(), value.size());
      kept_[i] = true;
    }
  }
  void on_header_impl(boost::system::error_code& ec) override { ec = {}; }
  void on_body_init_impl(const boost::optional<std::uint64_t>&,
                         boost::system::error_code& ec) override {
    ec = {};
  }
  size_t on_body_impl(beast::string_view body, boost::system::error_code& ec) override {
    const size_t n = std::min(body.size(), room_);
    if (n > 0) sink_->append(body.data(), n);
    room_ -= n;
    ec = n == body.size() ? boost::system::error_code{} : http::error::need_buffer;
    return n;
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view,
                            boost::system::error_code& ec) override {
    ec = {};
  }
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                            boost::system::error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(boost::system::error_code& ec) override { ec = {}; }

  int status_ = 0;
  bool kept_[std::size(kKept)] = {};
  std::string values_[std::size(kKept)];
  std::string* sink_ = nullptr;
  size_t room_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Exchange

struct Exchange::State {
  UpstreamClient* client = nullptr;
  std::unique_ptr<Connection> conn;
  ResponseParser parser;
  std::string provider;
  AbortSlot* slot = nullptr;
  bool failed = false;
};

Exchange::Exchange(std::unique_ptr<State> state) : state_(std::move(state)) {}

Exchange::~Exchange() {
  if (state_->slot) state_->slot->conn = nullptr;
  auto& p = state_->parser;
  if (state_->conn && !state_->failed && p.is_done() && p.keep_alive() &&
      state_->conn->buffer_.size() == 0) {
    state_->client->release(std::move(state_->conn));
  } else if (state_->conn) {
    state_->conn->close();
  }
}

int Exchange::status() const { return state_->parser.status(); }

std::string_view Exchange::header(std::string_view name) const {
  return state_->parser.header(name);
}

bool Exchange::done() const { return state_->parser.is_done(); }

void Exchange::abort() {
  state_->failed = true;
  if (state_->conn) state_->conn->close();
}

namespace {

// Parses what is already buffered (a burst of SSE events arrives in one recv, but async_read_some
// returns one chunk at a time) into the body, without reading the socket: a partial element stays
// buffered for the next read. So a burst costs one read and one client write, not one per event.
// With `all` false, it stops at the first body bytes (one chunk: what async_read_some parses).
void parse_buffered(beast::flat_buffer& buffer, ResponseParser& parser,
                    boost::system::error_code& ec, bool all = true) {
  const size_t room = parser.room();
  while (buffer.size() > 0 && !parser.is_done() && parser.room() > 0) {
    size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more || ec == http::error::need_buffer) {
      ec = {};
      return;
    }
    if (ec || used == 0) return;
    if (!all && parser.room() < room) return;
  }
}

template <class Stream>
net::awaitable<std::pair<boost::system::error_code, size_t>> read_body_some(
    Stream& stream, beast::flat_buffer& buffer, ResponseParser& parser, std::string& out,
    size_t cap, bool drain) {
  parser.set_sink(&out, cap);
  boost::system::error_code ec;
  // What an earlier read brought along (often the whole body, with the head) is parsed here:
  // Beast's async_read_some would parse it too, but complete through the event loop.
  if (buffer.size() > 0) parse_buffered(buffer, parser, ec, drain);
  if (!ec && cap == parser.room() && !parser.is_done()) {
    size_t n = 0;
    std::tie(ec, n) = co_await http::async_read_some(stream, buffer, parser, kTuple);
    if (ec == http::error::need_buffer) ec = {};
    if (!ec && drain) parse_buffered(buffer, parser, ec);
  }
  const size_t got = cap - parser.room();
  parser.set_sink(nullptr, 0);  // `out` may be gone before the next read
  co_return std::pair{ec, got};
}

Error read_error(std::string_view provider, const boost::system::error_code& ec, bool first) {
  if (ec == beast::error::timeout) {
    return Error::upstream_timeout(
        std::string(provider),
        first ? "no response before the first-token timeout" : "upstream stalled (idle timeout)");
  }
  return Error::upstream_protocol(std::string(provider),
                                  fmt::format("connection to upstream failed while reading the "
                                              "response: {}",
                                              ec.message()));
}

}  // namespace

net::awaitable<bool> Exchange::read_some(std::string& out, Clock::time_point deadline,
                                         std::optional<Error>& err, bool drain) {
  auto& st = *state_;
  if (st.parser.is_done()) co_return false;
  constexpr size_t kMaxRead = 16 * 1024;  // appended to `out` per call at most
  const size_t before = out.size();
  for (;;) {
    st.conn->tcp().expires_at(deadline);
    boost::system::error_code ec;
    size_t n = 0;
    if (st.conn->is_tls()) {
      std::tie(ec, n) = co_await read_body_some(*st.conn->tls_, st.conn->buffer_, st.parser, out,
                                                kMaxRead, drain);
    } else {
      std::tie(ec, n) = co_await read_body_some(st.conn->plain_, st.conn->buffer_, st.parser, out,
                                                kMaxRead, drain);
    }
    if (ec) {
      out.resize(before);  // what a failed read parsed is not handed on
      st.failed = true;
      err = read_error(st.provider, ec, false);
      co_return false;
    }
    if (n > 0) co_return true;
    if (st.parser.is_done()) co_return false;
  }
}

net::awaitable<std::optional<Error>> Exchange::read_all(std::string& out, size_t limit,
                                                        Clock::time_point deadline) {
  if (auto len = state_->parser.content_length(); len && *len <= limit) out.reserve(*len);
  std::optional<Error> err;
  for (;;) {
    bool more = co_await read_some(out, deadline, err);
    if (err) co_return err;
    if (!more) co_return std::nullopt;
    if (out.size() > limit) {
      abort();
      co_return Error::upstream_protocol(state_->provider,
                                         fmt::format("response larger than {} bytes", limit));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// UpstreamClient

UpstreamClient::UpstreamClient(net::io_context& ioc, TlsContexts& tls, ProxySettings proxy)
    : ioc_(ioc), tls_(tls), proxy_(std::move(proxy)), pool_(std::make_unique<Pool>(ioc)) {}

UpstreamClient::~UpstreamClient() { close_idle(); }

void UpstreamClient::close_idle() {
  for (auto& [key, list] : pool_->idle) {
    for (auto& c : list) c->close();
  }
  pool_->idle.clear();
}

void UpstreamClient::drop_expired() {
  const auto now = Clock::now();
  for (auto it = pool_->idle.begin(); it != pool_->idle.end();) {
    Pool::drop_expired(it->second, now);
    it = it->second.empty() ? pool_->idle.erase(it) : std::next(it);
  }
}

void UpstreamClient::release(std::unique_ptr<Connection> conn) {
  if (conn->tls_ && !conn->session_saved_) {
    conn->session_saved_ = true;
    // A copy: OpenSSL marks a connection's own session not resumable when that connection is
    // freed without a TLS shutdown (how pooled connections end), which would spoil a shared one.
    if (SSL_SESSION* live = SSL_get1_session(conn->tls_->native_handle())) {
      if (SSL_SESSION_is_resumable(live)) {
        if (SSL_SESSION* copy = SSL_SESSION_dup(live)) pool_->sessions[conn->pool_key_].reset(copy);
      }
      SSL_SESSION_free(live);
    }
  }
  auto& list = pool_->idle[conn->pool_key_];
  const auto now = Clock::now();
  Pool::drop_expired(list, now);
  if (list.size() >= Pool::kMaxIdlePerKey) {
    conn->close();
    return;
  }
  conn->idle_since_ = now;
  conn->tcp().expires_never();
  list.push_back(std::move(conn));
  ++stats_.idle;
}

namespace {

std::string pool_key_for(const Url& base, const TlsOptions& tls, const Url* proxy) {
  std::string key = base.origin_key();
  if (base.tls) key += tls.verify ? "|v|" : "|nv|", key += tls.ca_file;
  if (proxy) key += "|via|" + proxy->origin_key();
  return key;
}

// A connect failure: `reason` is shown to the client and names no host or address; `detail`
// (with them) goes to the server log.
Error connect_error(const std::string& provider, std::string detail, std::string_view reason) {
  Error e = Error::upstream_connect(provider, std::move(detail));
  e.message += fmt::format(" ({})", reason);
  return e;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

net::awaitable<std::unique_ptr<Connection>> UpstreamClient::connect(const Target& target,
                                                                    Clock::time_point connect_by,
                                                                    std::optional<Error>& err) {
  const Url& base = *target.base;
  const Url* proxy = proxy_.proxy_for(base);
  const Url& dial = proxy ? *proxy : base;
  std::string provider(target.provider);
  auto conn = std::make_unique<Connection>(ioc_, pool_key_for(base, target.tls, proxy));

  // DNS, cached per worker for a minute (async: getaddrinfo runs on Asio's resolver thread).
  // No reference into the cache is held across a co_await: another request may erase the entry
  // meanwhile (a failed connect does), which would leave it dangling.
  std::string dns_key = dial.authority();
  tcp::resolver::results_type results;
  boost::system::error_code literal_ec;
  auto literal = net::ip::make_address(dial.host, literal_ec);
  if (!literal_ec) {  // an IP address (a LAN server, say): nothing to resolve
    results = tcp::resolver::results_type::create(tcp::endpoint(literal, dial.port), dial.host,
                                                  std::to_string(dial.port));
  } else if (auto it = pool_->dns.find(dns_key);
      it != pool_->dns.end() && !it->second.results.empty() && Clock::now() < it->second.expires) {
    results = it->second.results;
  } else {
    auto [ec, resolved] =
        co_await pool_->resolver.async_resolve(dial.host, std::to_string(dial.port), kTuple);
    if (ec) {
      pool_->dns.erase(dns_key);
      err = connect_error(provider, fmt::format("cannot resolve {}: {}", dial.host, ec.message()),
                          "its host name could not be resolved");
      co_return nullptr;
    }
    auto& entry = pool_->dns[dns_key];
    entry.results = resolved;
    entry.expires = Clock::now() + std::chrono::seconds(60);
    results = std::move(resolved);
  }

  conn->plain_.expires_at(connect_by);
  auto [cec, ep] = co_await conn->plain_.async_connect(results, kTuple);
  if (cec) {
    pool_->dns.erase(dns_key);
    if (cec == beast::error::timeout) {
      err = Error::upstream_timeout(provider, "connect timed out");
      err->detail = fmt::format("connect to {} timed out", dial.authority());  // server log only
    } else {
      err = connect_error(
          provider, fmt::format("cannot connect to {}: {}", dial.authority(), cec.message()),
          cec.message());
    }
    co_return nullptr;
  }
  conn->plain_.socket().set_option(tcp::no_delay(true));

  if (proxy && base.tls) {  // tunnel through the proxy
    std::string connect_req = fmt::format("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n",
                                          base.authority());
    auto [wec, wn] = co_await net::async_write(conn->plain_, net::buffer(connect_req), kTuple);
    http::response_parser<http::empty_body> p;
    p.skip(true);  // a CONNECT answer has no body
    boost::system::error_code rec = wec;
    if (!rec) std::tie(rec, wn) = co_await http::async_read_header(conn->plain_, conn->buffer_, p, kTuple);
    if (rec || p.get().result_int() != 200) {
      err = connect_error(
          provider,
          rec ? fmt::format("proxy CONNECT to {} failed: {}", base.authority(), rec.message())
              : fmt::format("proxy refused CONNECT to {} with HTTP {}", base.authority(),
                            p.get().result_int()),
          "the HTTPS proxy refused or failed the tunnel");
      co_return nullptr;
    }
  }

  if (base.tls) {
    ssl::context* ctx = tls_.get(target.tls);
    if (!ctx) {
      err = Error::upstream_connect(provider, "TLS context not prepared");
      co_return nullptr;
    }
    beast::tcp_stream tcp = std::move(conn->plain_);
    conn->tls_.emplace(std::move(tcp), *ctx);
    auto& s = *conn->tls_;
    if (!is_ip_literal(base.host)) {
      SSL_set_tlsext_host_name(s.native_handle(), base.host.c_str());
    }
    if (target.tls.verify) s.set_verify_callback(ssl::host_name_verification(base.host));
    if (auto it = pool_->sessions.find(conn->pool_key_); it != pool_->sessions.end()) {
      // A copy again (see release); a session the server refuses costs a full handshake.
      if (SSL_SESSION* copy = SSL_SESSION_dup(it->second.get())) {
        SSL_set_session(s.native_handle(), copy);
        SSL_SESSION_free(copy);
      }
    }
    s.next_layer().expires_at(connect_by);
    auto [hec] = co_await s.async_handshake(ssl::stream_base::client, kTuple);
    if (hec) {
      err = hec == beast::error::timeout
                ? Error::upstream_timeout(provider, "TLS handshake timed out")
                : connect_error(provider,
                                fmt::format("TLS handshake with {} failed: {}", base.host,
                                            hec.message()),
                                fmt::format("TLS handshake failed: {}", hec.message()));
      co_return nullptr;
    }
  }
  ++stats_.connects;
  if (conn->tls_ && SSL_session_reused(conn->tls_->native_handle())) ++stats_.tls_resumed;
  co_return conn;
}

namespace {

std::string serialize_request(const Url& base, const Url* http_proxy,
                              const providers::UpstreamRequest& req) {
  std::string target = base.path + req.path;
  if (http_proxy) target = base.origin_key() + target;  // absolute-form through an HTTP proxy
  std::string head;
  head.reserve(256 + req.headers.size() * 48);
  head += req.method;
  head += ' ';
  head += target;
  head += " HTTP/1.1\r\nHost: ";
  head += (base.port == (base.tls ? 443 : 80)) ? base.host : base.authority();
  head += "\r\nUser-Agent: tollgate/" TOLLGATE_VERSION "\r\nConnection: keep-alive\r\n";
  for (const auto& [name, value] : req.headers) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  if (req.method != "GET" || req.body_size() > 0) {
    head += "Content-Length: ";
    head += std::to_string(req.body_size());
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

template <class Stream>
net::awaitable<boost::system::error_code> write_and_read_head(
    Stream& stream, beast::flat_buffer& buffer, ResponseParser& parser, const std::string& head,
    const providers::UpstreamRequest& req) {
  // One gather write: the head, the body, and an upload's borrowed file bytes (never copied).
  std::vector<net::const_buffer> bufs;
  bufs.reserve(2 + 2 * req.body_pieces.size());
  bufs.push_back(net::buffer(head));
  bufs.push_back(net::buffer(req.body));
  for (const auto& [borrowed, text] : req.body_pieces) {
    bufs.push_back(net::buffer(borrowed.data(), borrowed.size()));
    bufs.push_back(net::buffer(text));
  }
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    // Plain TCP: the kernel takes a request whole, almost always (net/write_now.hpp).
    boost::system::error_code wec;
    const size_t now = io::write_now(stream.socket(), bufs, wec);
    if (wec) co_return wec;
    if (now < net::buffer_size(bufs)) {
      beast::buffers_suffix<std::vector<net::const_buffer>> rest(bufs);
      rest.consume(now);
      auto [aec, an] = co_await net::async_write(stream, rest, kTuple);
      if (aec) co_return aec;
    }
  } else {
    auto [wec, wn] = co_await net::async_write(stream, bufs, kTuple);
    if (wec) co_return wec;
  }
  auto [rec, rn] = co_await http::async_read_header(stream, buffer, parser, kTuple);
  co_return rec;
}

}  // namespace

net::awaitable<SendResult> UpstreamClient::send(const Target& target,
                                                const providers::UpstreamRequest& req,
                                                Clock::time_point connect_by,
                                                Clock::time_point head_by, AbortSlot* slot) {
  const Url& base = *target.base;
  const Url* proxy = proxy_.proxy_for(base);
  std::string key = pool_key_for(base, target.tls, proxy);
  std::string head = serialize_request(base, base.tls ? nullptr : proxy, req);

  // A pooled connection may have been closed by the server meanwhile (take() drops those it
  // can see are closed, but a close can race the write): if it fails before any response byte,
  // the request is sent again once on a new connection, never on another pooled one, which
  // would likely be just as stale after the same idle spell.
  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<Connection> conn = round == 0 ? pool_->take(key, target.keepalive) : nullptr;
    bool reused = conn != nullptr;
    if (!conn) {
      std::optional<Error> err;
      conn = co_await connect(target, connect_by, err);
      if (!conn) co_return SendResult{nullptr, std::move(err)};
    } else {
      ++stats_.reuses;
    }
    conn->keepalive_ = target.keepalive;
    if (slot) {
      if (slot->fired) co_return SendResult{nullptr, Error::upstream_protocol(
                                                         std::string(target.provider),
                                                         "client went away")};
      slot->conn = conn.get();
    }
    auto state = std::make_unique<Exchange::State>();
    state->client = this;
    state->provider = std::string(target.provider);
    state->slot = slot;
    state->parser.body_limit(boost::none);  // limits are enforced by the reader
    state->parser.header_limit(64 * 1024);
    conn->tcp().expires_at(head_by);
    boost::system::error_code ec;
    if (conn->is_tls()) {
      ec = co_await write_and_read_head(*conn->tls_, conn->buffer_, state->parser, head, req);
    } else {
      ec = co_await write_and_read_head(conn->plain_, conn->buffer_, state->parser, head, req);
    }
    if (slot) slot->conn = nullptr;
    if (!ec) {
      ++conn->uses_;
      state->conn = std::move(conn);
      if (slot) slot->conn = state->conn.get();
      co_return SendResult{std::unique_ptr<Exchange>(new Exchange(std::move(state))), std::nullopt};
    }
    conn->close();
    // (Over TLS, a server that dropped the idle connection without close_notify shows as
    // stream_truncated.)
    bool stale = reused && (ec == http::error::end_of_stream || ec == net::error::eof ||
                            ec == net::error::connection_reset || ec == net::error::broken_pipe ||
                            ec == ssl::error::stream_truncated);
    if (stale && !(slot && slot->fired)) continue;
    if (ec == beast::error::timeout) {
      co_return SendResult{nullptr, Error::upstream_timeout(std::string(target.provider),
                                                            "no response before the first-token "
                                                            "timeout")};
    }
    co_return SendResult{nullptr, Error::upstream_protocol(
                                      std::string(target.provider),
                                      fmt::format("upstream closed or failed before answering: {}",
                                                  ec.message()))};
  }
  co_return SendResult{nullptr, Error::upstream_protocol(std::string(target.provider),
                                                         "upstream connection failed")};
}

}  // namespace tg::upstream
