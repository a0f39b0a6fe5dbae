#include "tls_support.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "harness.hpp"

namespace tg::it::tls {

namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr auto kTuple = net::as_tuple(net::use_awaitable);

// ---------------------------------------------------------------------------------------------
// Certificates

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("tls_support: " + what);
}

KeyPtr new_key() {
  KeyPtr k(EVP_EC_gen("P-256"));
  if (!k) fail("EC key generation failed");
  return k;
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (!ext) fail("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

std::atomic<long> g_serial{1000};

// issuer == nullptr: self-signed.
CertPtr new_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                 bool is_ca, const std::string& san) {
  CertPtr x(X509_new());
  if (!x) fail("X509_new failed");
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), g_serial++);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 2 * 24 * 3600);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Tollgate tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
  add_ext(x.get(), &ctx, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(x.get(), &ctx, NID_key_usage,
          is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  add_ext(x.get(), &ctx, NID_subject_key_identifier, "hash");
  if (!is_ca) {
    add_ext(x.get(), &ctx, NID_ext_key_usage, "serverAuth");
    if (issuer) add_ext(x.get(), &ctx, NID_authority_key_identifier, "keyid:always");
    if (!san.empty()) add_ext(x.get(), &ctx, NID_subject_alt_name, san);
  }
  if (X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256()) <= 0) fail("X509_sign failed");
  return x;
}

void write_cert(const std::string& path, X509* x) {
  BIO* b = BIO_new_file(path.c_str(), "w");
  if (!b) fail("cannot write " + path);
  int ok = PEM_write_bio_X509(b, x);
  BIO_free(b);
  if (!ok) fail("PEM_write_bio_X509 failed for " + path);
}

void write_key(const std::string& path, EVP_PKEY* k) {
  BIO* b = BIO_new_file(path.c_str(), "w");
  if (!b) fail("cannot write " + path);
  int ok = PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  BIO_free(b);
  if (!ok) fail("PEM_write_bio_PrivateKey failed for " + path);
}

std::string san_text(const std::vector<std::string>& dns, const std::vector<std::string>& ips) {
  std::string san;
  for (const auto& d : dns) san += (san.empty() ? "" : ",") + ("DNS:" + d);
  for (const auto& i : ips) san += (san.empty() ? "" : ",") + ("IP:" + i);
  return san;
}

// ---------------------------------------------------------------------------------------------
// A single-threaded io_context on its own thread that knows every live connection, so stop()
// can close them all and let every coroutine end before joining.

struct Closable {
  virtual ~Closable() = default;
  virtual void close() = 0;
};

class Loop {
 public:
  // Call start() once the first coroutine has been spawned (run() returns when out of work).
  void start() {
    thread_ = std::thread([this] {
      ioc.run();
      std::lock_guard lock(mu_);
      finished_ = true;
      cv_.notify_all();
    });
  }

  // `close_listeners` runs on the loop thread before the connections are closed.
  void stop(const std::function<void()>& close_listeners) {
    if (!thread_.joinable()) return;
    net::post(ioc, [this, close_listeners] {
      stopping_ = true;
      close_listeners();
      close_all();
    });
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return finished_; })) {
      ioc.stop();  // a coroutine did not end: stop hard (their frames die with the io_context)
    }
    lock.unlock();
    thread_.join();
  }

  // Runs `f` on the loop thread and waits for it.
  template <class F>
  auto call(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    net::post(ioc, [&task] { task(); });
    return result.get();
  }

  // Loop thread only: closes every tracked connection; returns how many.
  int close_all() {
    auto live = live_;  // close() may end connections, which unregister themselves
    int n = 0;
    for (auto& [id, weak] : live) {
      if (auto c = weak.lock()) {
        c->close();
        ++n;
      }
    }
    return n;
  }

  // Loop thread only. Returns an id for untrack(); closes at once when stopping.
  uint64_t track(const std::shared_ptr<Closable>& c) {
    uint64_t id = next_id_++;
    live_[id] = c;
    if (stopping_) c->close();
    return id;
  }
  void untrack(uint64_t id) { live_.erase(id); }

 private:
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool finished_ = false;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::weak_ptr<Closable>> live_;

 public:
  // Declared last so it is destroyed first: coroutine frames it may still own (after a hard
  // stop) unregister themselves from live_ as they die.
  net::io_context ioc{1};
};

// Copies bytes from `from` to `to` until either side fails or closes, then closes the pair.
template <class From, class To>
net::awaitable<void> pump(std::shared_ptr<Closable> pair, From& from, To& to) {
  std::array<char, 16 * 1024> buf;
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(net::buffer(buf), kTuple);
    if (n > 0) {
      auto [wec, wn] = co_await net::async_write(to, net::buffer(buf.data(), n), kTuple);
      if (wec) break;
    }
    if (ec) break;
  }
  pair->close();
}

tcp::acceptor listen_loopback(net::io_context& ioc) {
  tcp::acceptor a(ioc);
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  a.open(ep.protocol());
  a.set_option(tcp::acceptor::reuse_address(true));
  a.bind(ep);
  a.listen();
  return a;
}

}  // namespace

Pki make_pki(const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_sans) {
  Pki pki;
  pki.dir = temp_dir();
  pki.ca_pem = pki.dir + "/ca.pem";
  pki.cert_pem = pki.dir + "/server.pem";
  pki.key_pem = pki.dir + "/server.key";

  KeyPtr ca_key = new_key();
  CertPtr ca = new_cert(ca_key.get(), "Tollgate Test CA", nullptr, nullptr, true, "");
  KeyPtr key = new_key();
  std::string cn = !dns_names.empty() ? dns_names.front()
                                      : (!ip_sans.empty() ? ip_sans.front() : "server");
  CertPtr cert = new_cert(key.get(), cn, ca.get(), ca_key.get(), false, san_text(dns_names, ip_sans));
  write_cert(pki.ca_pem, ca.get());
  write_cert(pki.cert_pem, cert.get());
  write_key(pki.key_pem, key.get());
  return pki;
}

// ---------------------------------------------------------------------------------------------
// TlsForwarder

struct TlsForwarder::Impl {
  // Destroyed last: connection frames (which may die with the io_context) point at these.
  std::atomic<int> accepted{0}, handshakes{0}, resumed{0}, failed{0}, open{0};
  mutable std::mutex mu;
  std::vector<std::string> sni;
  ssl::context ctx{ssl::context::tls_server};
  Loop loop;
  tcp::acceptor acceptor{loop.ioc};
  tcp::endpoint target;
  uint16_t port = 0;

  struct Conn : Closable {
    Conn(Impl& impl, tcp::socket s)
        : impl(impl), tls(std::move(s), impl.ctx), up(impl.loop.ioc) {
      ++impl.open;
    }
    ~Conn() override {
      impl.loop.untrack(id);
      --impl.open;
    }
    void close() override {
      boost::system::error_code ec;
      tls.next_layer().close(ec);
      up.close(ec);
    }
    Impl& impl;
    ssl::stream<tcp::socket> tls;
    tcp::socket up;
    uint64_t id = 0;
  };

  net::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(kTuple);
      if (ec) co_return;
      ++accepted;
      net::co_spawn(loop.ioc, serve(std::move(sock)), net::detached);
    }
  }

  net::awaitable<void> serve(tcp::socket sock) {
    auto c = std::make_shared<Conn>(*this, std::move(sock));
    c->id = loop.track(c);
    auto [hec] = co_await c->tls.async_handshake(ssl::stream_base::server, kTuple);
    if (hec) {
      ++failed;
      c->close();
      co_return;
    }
    {
      const char* name = SSL_get_servername(c->tls.native_handle(), TLSEXT_NAMETYPE_host_name);
      std::lock_guard lock(mu);
      sni.emplace_back(name ? name : "");
    }
    ++handshakes;
    if (SSL_session_reused(c->tls.native_handle())) ++resumed;
    auto [cec] = co_await c->up.async_connect(target, kTuple);
    if (cec) {
      c->close();
      co_return;
    }
    net::co_spawn(loop.ioc, pump(c, c->tls, c->up), net::detached);
    net::co_spawn(loop.ioc, pump(c, c->up, c->tls), net::detached);
  }
};

TlsForwarder::TlsForwarder(const std::string& cert_pem, const std::string& key_pem,
                           uint16_t target_port)
    : impl_(std::make_shared<Impl>()) {
  impl_->ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3);
  impl_->ctx.use_certificate_chain_file(cert_pem);
  impl_->ctx.use_private_key_file(key_pem, ssl::context::pem);
  impl_->target = tcp::endpoint(net::ip::make_address("127.0.0.1"), target_port);
  impl_->acceptor = listen_loopback(impl_->loop.ioc);
  impl_->port = impl_->acceptor.local_endpoint().port();
  net::co_spawn(impl_->loop.ioc, impl_->accept_loop(), net::detached);
  impl_->loop.start();
}

TlsForwarder::~TlsForwarder() {
  auto* impl = impl_.get();
  impl->loop.stop([impl] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
  });
}

uint16_t TlsForwarder::port() const { return impl_->port; }
int TlsForwarder::accepted() const { return impl_->accepted; }
int TlsForwarder::handshakes() const { return impl_->handshakes; }
int TlsForwarder::resumed_handshakes() const { return impl_->resumed; }
int TlsForwarder::failed_handshakes() const { return impl_->failed; }
std::vector<std::string> TlsForwarder::sni() const {
  std::lock_guard lock(impl_->mu);
  return impl_->sni;
}
int TlsForwarder::open_connections() const { return impl_->open; }
int TlsForwarder::drop_connections() {
  return impl_->loop.call([impl = impl_.get()] { return impl->loop.close_all(); });
}

// ---------------------------------------------------------------------------------------------
// ConnectProxy

struct ConnectProxy::Impl {
  std::atomic<int> accepted{0}, connects{0};
  mutable std::mutex mu;
  std::vector<std::string> targets;
  Loop loop;
  tcp::acceptor acceptor{loop.ioc};
  uint16_t port = 0;

  struct Conn : Closable {
    Conn(Impl& impl, tcp::socket s) : impl(impl), client(std::move(s)), up(impl.loop.ioc) {}
    ~Conn() override { impl.loop.untrack(id); }
    void close() override {
      boost::system::error_code ec;
      client.close(ec);
      up.close(ec);
    }
    Impl& impl;
    tcp::socket client;
    tcp::socket up;
    uint64_t id = 0;
  };

  net::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(kTuple);
      if (ec) co_return;
      ++accepted;
      net::co_spawn(loop.ioc, serve(std::move(sock)), net::detached);
    }
  }

  static net::awaitable<void> answer(Conn& c, std::string text) {
    co_await net::async_write(c.client, net::buffer(text), kTuple);
    c.close();
  }

  net::awaitable<void> serve(tcp::socket sock) {
    auto c = std::make_shared<Conn>(*this, std::move(sock));
    c->id = loop.track(c);
    std::string head;
    auto [ec, n] = co_await net::async_read_until(c->client, net::dynamic_buffer(head, 16 * 1024),
                                                  "\r\n\r\n", kTuple);
    if (ec) {
      c->close();
      co_return;
    }
    std::string early = head.substr(n);  // bytes the client sent after the head
    head.resize(n);
    // "CONNECT host:port HTTP/1.1"
    size_t sp1 = head.find(' ');
    size_t sp2 = sp1 == std::string::npos ? sp1 : head.find(' ', sp1 + 1);
    if (sp2 == std::string::npos || head.compare(0, sp1, "CONNECT") != 0) {
      co_await answer(*c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n");
      co_return;
    }
    std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    {
      std::lock_guard lock(mu);
      targets.push_back(target);
    }
    size_t colon = target.rfind(':');
    std::string host = target.substr(0, colon);
    std::string port_text = colon == std::string::npos ? "443" : target.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    tcp::resolver resolver(loop.ioc);
    auto [rec, results] = co_await resolver.async_resolve(host, port_text, kTuple);
    boost::system::error_code cec = rec;
    if (!cec) std::tie(cec, std::ignore) = co_await net::async_connect(c->up, results, kTuple);
    if (cec) {
      co_await answer(*c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                          "Connection: close\r\n\r\n");
      co_return;
    }
    ++connects;
    std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    auto [wec, wn] = co_await net::async_write(c->client, net::buffer(ok), kTuple);
    if (!wec && !early.empty()) {
      std::tie(wec, wn) = co_await net::async_write(c->up, net::buffer(early), kTuple);
    }
    if (wec) {
      c->close();
      co_return;
    }
    net::co_spawn(loop.ioc, pump(c, c->client, c->up), net::detached);
    net::co_spawn(loop.ioc, pump(c, c->up, c->client), net::detached);
  }
};

ConnectProxy::ConnectProxy() : impl_(std::make_shared<Impl>()) {
  impl_->acceptor = listen_loopback(impl_->loop.ioc);
  impl_->port = impl_->acceptor.local_endpoint().port();
  net::co_spawn(impl_->loop.ioc, impl_->accept_loop(), net::detached);
  impl_->loop.start();
}

ConnectProxy::~ConnectProxy() {
  auto* impl = impl_.get();
  impl->loop.stop([impl] {
    boost::system::error_code ec;
    impl->acceptor.close(ec);
  });
}

uint16_t ConnectProxy::port() const { return impl_->port; }
std::string ConnectProxy::url() const { return "http://127.0.0.1:" + std::to_string(port()); }
int ConnectProxy::accepted() const { return impl_->accepted; }
int ConnectProxy::connects() const { return impl_->connects; }
std::vector<std::string> ConnectProxy::targets() const {
  std::lock_guard lock(impl_->mu);
  return impl_->targets;
}

}  // namespace tg::it::tls
