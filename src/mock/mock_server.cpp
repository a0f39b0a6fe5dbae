#include "mock_server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "mock_util.hpp"

namespace tollgate::mock {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
constexpr std::uint64_t kBodyLimit = 32ull * 1024 * 1024;
constexpr std::uint32_t kHeaderLimit = 64 * 1024;
constexpr std::size_t kMaxPipelinedBytes = 1024 * 1024;
constexpr long long kMaxEvents = 100000;
constexpr long long kMaxPauseMs = 3600 * 1000;

constexpr std::string_view kDoneAndEnd = "e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
constexpr std::string_view kMidStreamError =
    R"({"error":{"message":"mock mid-stream error","type":"server_error","param":null,"code":null}})";

struct StdHeader {
  std::string_view name;
  std::string_view value;
};
constexpr StdHeader kRateNormal[] = {
    {"x-ratelimit-limit-requests", "10000"},     {"x-ratelimit-limit-tokens", "1000000"},
    {"x-ratelimit-remaining-requests", "9999"},  {"x-ratelimit-remaining-tokens", "999999"},
    {"x-ratelimit-reset-requests", "6ms"},       {"x-ratelimit-reset-tokens", "0s"},
};
constexpr StdHeader kRateExhausted[] = {
    {"x-ratelimit-limit-requests", "10000"},  {"x-ratelimit-limit-tokens", "1000000"},
    {"x-ratelimit-remaining-requests", "0"},  {"x-ratelimit-remaining-tokens", "0"},
    {"x-ratelimit-reset-requests", "1s"},     {"x-ratelimit-reset-tokens", "1s"},
};

bool is_framing_header(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection");
}

// Serialises the status line and headers. Standard headers named in r.extra_headers are replaced.
std::string build_head(const Reply& r, bool api, std::uint64_t seq, long long processing_ms,
                       bool keep_alive, std::size_t content_length) {
  std::string h;
  h.reserve(512);
  h += "HTTP/1.1 ";
  append_int(h, r.status);
  h += ' ';
  h += reason_phrase(r.status);
  h += "\r\n";
  auto add = [&](std::string_view name, std::string_view value) {
    for (const auto& [n, v] : r.extra_headers) {
      if (iequals(n, name)) return;
    }
    h += name;
    h += ": ";
    h += value;
    h += "\r\n";
  };
  add("content-type", r.content_type);
  if (r.stream) {
    h += "transfer-encoding: chunked\r\n";
    add("cache-control", "no-cache");
  } else {
    h += "content-length: ";
    append_uint(h, content_length);
    h += "\r\n";
  }
  if (api) {
    std::string v = "mock-";
    append_uint(v, seq);
    add("x-request-id", v);
    add("openai-version", "2020-10-01");
    add("openai-organization", "org-mock");
    v.clear();
    append_int(v, processing_ms);
    add("openai-processing-ms", v);
    const auto& rate = r.rate == RateLimitHeaders::Exhausted ? kRateExhausted : kRateNormal;
    for (const auto& s : rate) add(s.name, s.value);
  }
  for (const auto& [n, v] : r.extra_headers) {
    if (is_framing_header(n)) continue;
    h += n;
    h += ": ";
    h += v;
    h += "\r\n";
  }
  h += keep_alive ? "connection: keep-alive\r\n\r\n" : "connection: close\r\n\r\n";
  return h;
}

long long header_number(const http::request<http::string_body>& req, std::string_view name,
                        long long fallback, long long lo, long long hi) {
  auto it = req.find(beast::string_view(name.data(), name.size()));
  if (it == req.end()) return fallback;
  const long long v = parse_non_negative(std::string_view(it->value().data(), it->value().size()));
  if (v < lo) return fallback;
  return v > hi ? hi : v;
}

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

std::array<asio::const_buffer, 2> two(std::string_view a, std::string_view b) {
  return {asio::const_buffer(a.data(), a.size()), asio::const_buffer(b.data(), b.size())};
}

class Session {
 public:
  Session(tcp::socket sock, State& st) : sock_(std::move(sock)), st_(st) {}

  asio::awaitable<void> run() {
    const long long keepalive_ms = st_.options().keepalive_timeout_ms;
    for (bool first = true;; first = false) {
      if (!first && keepalive_ms > 0 && buf_.size() == 0) {
        // Idle between requests for longer than --keepalive-timeout-ms: close, as Node's
        // server.keepAliveTimeout (5 s) and many OpenAI-compatible servers do.
        asio::steady_timer t(sock_.get_executor(), milliseconds(keepalive_ms));
        auto res = co_await (t.async_wait(use_nothrow) ||
                             sock_.async_wait(tcp::socket::wait_read, use_nothrow));
        if (res.index() == 0) break;
      }
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(kBodyLimit);
      auto [ec, n] = co_await http::async_read_header(sock_, buf_, parser, use_nothrow);
      if (ec) {
        co_await reject_bad_request(ec);
        break;
      }
      if (!parser.is_done()) {
        auto expect = parser.get().find(http::field::expect);
        if (expect != parser.get().end() && iequals(sv(expect->value()), "100-continue")) {
          if (!co_await write(asio::buffer("HTTP/1.1 100 Continue\r\n\r\n", 25))) break;
        }
        auto [ec2, n2] = co_await http::async_read(sock_, buf_, parser, use_nothrow);
        if (ec2) {
          co_await reject_bad_request(ec2);
          break;
        }
      }
      http::request<http::string_body> req = parser.release();
      if (!co_await handle(req)) break;
    }
    close(false);
  }

 private:
  static bool is_http_error(const boost::system::error_code& ec) {
    return &ec.category() == &http::make_error_code(http::error::bad_method).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message;
  }

  asio::awaitable<void> reject_bad_request(const boost::system::error_code& ec) {
    if (!is_http_error(ec)) co_return;
    Reply r;
    if (ec == http::error::body_limit) {
      r = error_reply(413, "Request body too large: the mock accepts at most 32 MiB.",
                      "invalid_request_error", std::nullopt, std::nullopt);
    } else if (ec == http::error::header_limit) {
      r = error_reply(431, "Request header fields too large.", "invalid_request_error",
                      std::nullopt, std::nullopt);
    } else {
      r = error_reply(400, "Malformed HTTP request: " + ec.message(), "invalid_request_error",
                      std::nullopt, std::nullopt);
    }
    const std::string head = build_head(r, false, 0, 0, false, r.body.size());
    co_await write(two(head, r.body));
  }

  template <typename Buffers>
  asio::awaitable<bool> write(const Buffers& b) {
    auto [ec, n] = co_await asio::async_write(sock_, b, use_nothrow);
    co_return !ec;
  }

  // Completes only when the peer closes or resets the connection (or on cancellation). Bytes
  // the peer sends meanwhile (a pipelined request) are kept in buf_ for the next request.
  asio::awaitable<void> watch_peer() {
    for (;;) {
      if (buf_.size() >= kMaxPipelinedBytes) {
        asio::steady_timer forever(sock_.get_executor(), steady_clock::time_point::max());
        co_await forever.async_wait(use_nothrow);
        co_return;
      }
      auto [ec, n] = co_await sock_.async_read_some(buf_.prepare(4096), use_nothrow);
      if (ec) co_return;
      buf_.commit(n);
    }
  }

  // Sleeps for `ms`; returns false if the peer went away meanwhile.
  asio::awaitable<bool> pause(long long ms) {
    if (ms <= 0) co_return true;
    asio::steady_timer t(sock_.get_executor(), milliseconds(ms));
    auto res = co_await (t.async_wait(use_nothrow) || watch_peer());
    co_return res.index() == 0;
  }

  void close(bool rst) {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    if (rst) {
      sock_.set_option(asio::socket_base::linger(true, 0), ec);
    } else {
      sock_.shutdown(tcp::socket::shutdown_send, ec);
    }
    sock_.close(ec);
  }

  // Writes one SSE event as one HTTP chunk, in one write. With the "fragment" fault the event is
  // cut inside its JSON into two HTTP chunks, written `fragment_delay_ms` apart.
  // Writes one event as one HTTP chunk: "data: <payload>\n\n", or the payload as is when
  // `raw` (other providers' framings). A fragment fault splits it over two chunks.
  asio::awaitable<bool> write_event(std::string_view payload, const Fault* fragment,
                                    bool raw = false) {
    const std::string_view prefix = raw ? "" : "data: ";
    const std::string_view suffix = raw ? "" : "\n\n";
    if (fragment == nullptr) {
      frame_.clear();
      append_chunk(frame_, prefix, payload, suffix);
      co_return co_await write(asio::buffer(frame_));
    }
    const std::size_t cut = payload.size() / 2;
    frame_.clear();
    append_chunk(frame_, prefix, payload.substr(0, cut), "");
    if (!co_await write(asio::buffer(frame_))) co_return false;
    if (!co_await pause(fragment->fragment_delay_ms)) co_return false;
    frame_.clear();
    append_chunk(frame_, "", payload.substr(cut), suffix);
    co_return co_await write(asio::buffer(frame_));
  }

  // The end of a stream: the provider's sentinel (OpenAI's [DONE]) and the last chunk.
  asio::awaitable<bool> write_stream_end(const Reply& r) {
    if (!r.raw_framing) co_return co_await write(asio::buffer(kDoneAndEnd.data(), kDoneAndEnd.size()));
    frame_.clear();
    if (!r.stream_end.empty()) append_chunk(frame_, "", r.stream_end, "");
    frame_ += kLastChunk;
    co_return co_await write(asio::buffer(frame_));
  }

  static void append_chunk(std::string& out, std::string_view a, std::string_view b,
                           std::string_view c) {
    char hex[20];
    const int hl = std::snprintf(hex, sizeof hex, "%zx\r\n", a.size() + b.size() + c.size());
    out.append(hex, static_cast<std::size_t>(hl));
    out += a;
    out += b;
    out += c;
    out += "\r\n";
  }

  // Returns true when the connection may serve another request.
  asio::awaitable<bool> send_stream(const Reply& r, const std::string& head,
                                    const std::optional<Fault>& fault, long long interval_ms,
                                    bool keep_alive) {
    Stats& stats = st_.stats();
    stats.streams_started.fetch_add(1, std::memory_order_relaxed);
    auto aborted = [&] {
      stats.streams_aborted_by_client.fetch_add(1, std::memory_order_relaxed);
      return false;
    };
    if (!co_await write(asio::buffer(head))) co_return aborted();
    const FaultMode mode = fault ? fault->mode : FaultMode::Delay;  // Delay = nothing special here

    if (mode == FaultMode::Malformed) {
      std::string_view src = r.events.size() > 1 ? r.events[1] : r.events.front();
      std::string bad(src.substr(0, src.size() / 2));
      if (r.raw_framing) bad += "\n\n";  // a complete event whose content is broken
      if (!co_await write_event(bad, nullptr, r.raw_framing)) co_return aborted();
      if (!co_await write_stream_end(r)) co_return aborted();
      stats.streams_faulted.fetch_add(1, std::memory_order_relaxed);
      co_return keep_alive;
    }

    const bool cut = mode == FaultMode::DropMidStream || mode == FaultMode::ErrorMidStream ||
                     mode == FaultMode::Stall;
    std::size_t limit = r.events.size();
    if (cut && static_cast<std::size_t>(fault->after_events) < limit) {
      limit = static_cast<std::size_t>(fault->after_events);
    }
    const Fault* fragment = mode == FaultMode::Fragment ? &*fault : nullptr;
    for (std::size_t i = 0; i < limit; ++i) {
      if (i > 0 && !co_await pause(interval_ms)) co_return aborted();
      if (!co_await write_event(r.events[i], fragment, r.raw_framing)) co_return aborted();
    }
    if (cut) {
      switch (mode) {
        case FaultMode::DropMidStream:
          stats.streams_faulted.fetch_add(1, std::memory_order_relaxed);
          close(fault->rst);
          co_return false;
        case FaultMode::ErrorMidStream:
          if (limit > 0 && !co_await pause(interval_ms)) co_return aborted();
          if (r.raw_framing && r.mid_stream_error_at) {
            if (!co_await write_event(r.mid_stream_error_at(limit), nullptr, true)) co_return aborted();
          } else if (r.raw_framing && !r.mid_stream_error.empty()) {
            if (!co_await write_event(r.mid_stream_error, nullptr, true)) co_return aborted();
          } else if (!co_await write_event(kMidStreamError, nullptr)) {
            co_return aborted();
          }
          if (!co_await write(asio::buffer(kLastChunk.data(), kLastChunk.size()))) co_return aborted();
          stats.streams_faulted.fetch_add(1, std::memory_order_relaxed);
          co_return keep_alive;
        default:  // Stall: silence until the client goes away
          co_await watch_peer();
          co_return aborted();
      }
    }
    if (!co_await write_stream_end(r)) co_return aborted();
    stats.streams_completed.fetch_add(1, std::memory_order_relaxed);
    co_return keep_alive;
  }

  asio::awaitable<bool> send_body(Reply& r, bool api, std::uint64_t seq, long long processing_ms,
                                  const std::optional<Fault>& fault, bool keep_alive) {
    const FaultMode mode = fault ? fault->mode : FaultMode::Delay;
    if (mode == FaultMode::Stall) {
      co_await watch_peer();
      if (api) st_.stats().requests_aborted_by_client.fetch_add(1, std::memory_order_relaxed);
      co_return false;
    }
    if (mode == FaultMode::Malformed) {
      r.status = 200;
      r.content_type = "application/json";
      if (r.body.size() < 2) r.body = "{\"id\":";
      r.body.resize(r.body.size() / 2);
    }
    const std::string head = build_head(r, api, seq, processing_ms, keep_alive, r.body.size());
    if (mode == FaultMode::DropMidStream) {
      co_await write(two(head, std::string_view(r.body).substr(0, r.body.size() / 2)));
      close(fault->rst);
      co_return false;
    }
    if (mode == FaultMode::Fragment) {
      const std::size_t half = r.body.size() / 2;
      if (!co_await write(two(head, std::string_view(r.body).substr(0, half)))) {
        co_return false;
      }
      if (!co_await pause(fault->fragment_delay_ms)) co_return false;
      co_return co_await write(asio::buffer(r.body.data() + half, r.body.size() - half)) && keep_alive;
    }
    co_return co_await write(two(head, r.body)) && keep_alive;
  }

  // Serves one request. Returns true when the connection may serve another request.
  asio::awaitable<bool> handle(http::request<http::string_body>& req) {
    const auto t0 = steady_clock::now();
    const bool keep_alive = req.keep_alive();
    const std::string_view method = sv(req.method_string());
    const std::string_view target = sv(req.target());
    const std::string_view path = path_of(target);

    if (path.substr(0, 8) == "/__mock/" || path == "/__mock") {
      Reply r = st_.handle_control(method, path, req.body());
      co_return co_await send_body(r, false, 0, 0, std::nullopt, keep_alive);
    }

    const Options& opts = st_.options();
    Stats& stats = st_.stats();
    stats.requests.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t seq = st_.next_seq();
    const ParsedBody pb = parse_body(req.body());
    const std::string_view route = normalize_route(path);
    const ProviderMock* provider = find_provider_mock(path);
    ProviderRequest preq;
    std::string provider_model;
    if (provider) {
      preq.method = method;
      preq.path = path;
      preq.query = target.size() > path.size() ? target.substr(path.size() + 1) : "";
      preq.body = &pb;
      preq.raw_body = req.body();
      preq.header = [&req](std::string_view name) -> std::string_view {
        auto it = req.find(beast::string_view(name.data(), name.size()));
        return it == req.end() ? std::string_view() : sv(it->value());
      };
      preq.seq = seq;
      preq.created = static_cast<std::int64_t>(std::time(nullptr));
      preq.api_key = opts.api_key;
      provider_model = provider->model_of(preq);
    }
    const std::string_view model = provider ? std::string_view(provider_model) : model_of(pb);

    std::optional<Fault> fault;
    std::optional<Reply> early;  // a reply decided before normal handling
    if (auto h = req.find("x-mock-fault"); h != req.end()) {
      auto j = nlohmann::json::parse(sv(h->value()), nullptr, false);
      Fault f;
      std::optional<std::string> err;
      if (j.is_discarded()) {
        err = "not valid JSON";
      } else {
        err = parse_fault(j, f);
      }
      if (err) {
        early = error_reply(400, "Invalid x-mock-fault header: " + *err, "invalid_request_error",
                            std::nullopt, std::nullopt);
      } else {
        fault = std::move(f);
      }
    } else {
      fault = st_.faults().take(model, route);
    }

    {
      LoggedRequest lr;
      lr.seq = seq;
      lr.method.assign(method);
      lr.target.assign(target);
      lr.headers.reserve(8);
      for (const auto& f : req) {
        std::string name(sv(f.name_string()));
        for (auto& c : name) {
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
        lr.headers.emplace_back(std::move(name), std::string(sv(f.value())));
      }
      lr.body = req.body();
      if (fault) lr.fault = fault->mode;
      st_.log(std::move(lr));
    }

    if (fault && fault->mode == FaultMode::Drop) {
      close(fault->rst);
      co_return false;
    }

    const long long events = header_number(req, "x-mock-events", opts.events, 1, kMaxEvents);
    const long long interval =
        header_number(req, "x-mock-interval-ms", opts.interval_ms, 0, kMaxPauseMs);
    const long long latency = header_number(req, "x-mock-latency-ms", opts.latency_ms, 0, kMaxPauseMs);
    const long long delay = latency + (fault ? fault->delay_ms : 0);
    if (delay > 0 && !co_await pause(delay)) {
      stats.requests_aborted_by_client.fetch_add(1, std::memory_order_relaxed);
      co_return false;  // the client went away before the head
    }

    Reply r;
    if (early) {
      r = std::move(*early);
    } else if (provider && fault && fault->mode == FaultMode::Status) {
      r = provider->fault_reply(*fault, model);
    } else if (provider) {
      preq.events = static_cast<std::size_t>(events);
      r = provider->handle(preq);
    } else if (fault && fault->mode == FaultMode::Status) {
      r = fault_status_reply(*fault, model);
    } else if (auto denied = check_auth(sv(req[http::field::authorization]), opts.api_key)) {
      r = std::move(*denied);
    } else {
      ApiRequest ar;
      ar.method = method;
      ar.path = path;
      ar.route = route;
      ar.body = &pb;
      ar.seq = seq;
      ar.created = static_cast<std::int64_t>(std::time(nullptr));
      ar.events = static_cast<std::size_t>(events);
      ar.usage_on_last_chunk = opts.usage_on_last_chunk;
      r = handle_api(ar);
    }
    if (fault && fault->mode == FaultMode::ErrorMidStream && !r.stream) {
      Fault f = *fault;
      if (!f.message) f.message = "mock mid-stream error";
      r = provider ? provider->fault_reply(f, model) : fault_status_reply(f, model);
    }

    const long long processing_ms =
        std::chrono::duration_cast<milliseconds>(steady_clock::now() - t0).count();
    if (r.stream && !r.events.empty()) {
      const std::string head = build_head(r, true, seq, processing_ms, keep_alive, 0);
      co_return co_await send_stream(r, head, fault, r.interval_ms >= 0 ? r.interval_ms : interval,
                                     keep_alive);
    }
    r.stream = false;
    co_return co_await send_body(r, true, seq, processing_ms, fault, keep_alive);
  }

  tcp::socket sock_;
  State& st_;
  beast::flat_buffer buf_;
  std::string frame_;
  bool closed_ = false;
};

asio::awaitable<void> session(tcp::socket sock, State& st) {
  Stats& stats = st.stats();
  stats.connections_open.fetch_add(1, std::memory_order_relaxed);
  stats.connections_total.fetch_add(1, std::memory_order_relaxed);
  struct Guard {
    Stats& s;
    ~Guard() { s.connections_open.fetch_sub(1, std::memory_order_relaxed); }
  } guard{stats};
  boost::system::error_code ec;
  sock.set_option(tcp::no_delay(true), ec);
  Session s(std::move(sock), st);
  try {
    co_await s.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tollgate-mock: session error: %s\n", e.what());
  }
}

asio::awaitable<void> accept_loop(tcp::acceptor acc, State& st) {
  for (;;) {
    auto [ec, sock] = co_await acc.async_accept(use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // e.g. EMFILE: back off briefly instead of spinning.
      asio::steady_timer t(acc.get_executor(), milliseconds(10));
      co_await t.async_wait(use_nothrow);
      continue;
    }
    asio::co_spawn(acc.get_executor(), session(std::move(sock), st), asio::detached);
  }
}

bool write_port_file(const std::string& path, unsigned short port) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return false;
    f << port << '\n';
    f.flush();
    if (!f) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int run_server(const Options& opts) {
  std::signal(SIGPIPE, SIG_IGN);
  State st(opts);
  if (opts.fail_status != 0) {
    Fault f;
    f.mode = FaultMode::Status;
    f.status = opts.fail_status;
    f.count = opts.fail_count;
    st.faults().push({f});
  }

  const int n = opts.threads < 1 ? 1 : opts.threads;
  std::vector<std::unique_ptr<asio::io_context>> ctxs;
  for (int i = 0; i < n; ++i) ctxs.push_back(std::make_unique<asio::io_context>(1));

  tcp::endpoint ep;
  try {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(opts.host, ec);
    if (ec) {
      tcp::resolver resolver(*ctxs[0]);
      auto results = resolver.resolve(opts.host, std::to_string(opts.port));
      if (results.empty()) throw std::runtime_error("cannot resolve " + opts.host);
      addr = results.begin()->endpoint().address();
    }
    ep = tcp::endpoint(addr, opts.port);
    for (int i = 0; i < n; ++i) {
      tcp::acceptor acc(*ctxs[i]);
      acc.open(ep.protocol());
      acc.set_option(asio::socket_base::reuse_address(true));
      if (n > 1) {
        acc.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
      }
      acc.bind(ep);
      acc.listen(asio::socket_base::max_listen_connections);
      if (i == 0) ep.port(acc.local_endpoint().port());
      asio::co_spawn(*ctxs[i], accept_loop(std::move(acc), st), asio::detached);
    }
  } catch (const boost::system::system_error& e) {
    std::fprintf(stderr, "tollgate-mock: cannot listen on %s:%u: %s\n", opts.host.c_str(),
                 static_cast<unsigned>(opts.port), e.code().message().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tollgate-mock: cannot listen on %s:%u: %s\n", opts.host.c_str(),
                 static_cast<unsigned>(opts.port), e.what());
    return 1;
  }

  if (!opts.port_file.empty() && !write_port_file(opts.port_file, ep.port())) {
    std::fprintf(stderr, "tollgate-mock: cannot write port file %s\n", opts.port_file.c_str());
    return 1;
  }
  const std::string host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]"
                                                : ep.address().to_string();
  std::printf("tollgate-mock listening on %s:%u\n", host.c_str(), static_cast<unsigned>(ep.port()));
  std::fflush(stdout);

  asio::signal_set signals(*ctxs[0], SIGINT, SIGTERM);
  signals.async_wait([&ctxs](const boost::system::error_code& ec, int) {
    if (ec) return;
    for (auto& c : ctxs) c->stop();
  });

  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) {
    threads.emplace_back([&ctxs, i] { ctxs[i]->run(); });
  }
  ctxs[0]->run();
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace tollgate::mock
