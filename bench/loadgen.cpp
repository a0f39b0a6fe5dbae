// loadgen: a small open-loop HTTP/1.1 load generator for Tollgate's macro-benchmark (bench/run.sh).
//
// Requests are *scheduled* at exactly --rate per second, evenly spaced (request i is due at
// t0 + i/rate), and handed to the first free one of --connections keep-alive connections. If no
// connection is free when a request is due it waits in a queue, and its latency still counts from
// its scheduled time, so a stall in the server shows up in the percentiles instead of silently
// slowing the generator down (no "coordinated omission", unlike closed-loop tools such as wrk).
//
// Latency = scheduled send time -> last byte of the response. For --stream it also records the
// time to the first `data:` event (TTFE), measured from the same scheduled time.
//
// --concurrency-hold N: open N connections at once, send one (streaming) request on each as soon
// as it connects, read every response to the end, then exit. Used for the memory-under-load test.
//
// Output: one JSON object on stdout. Single-threaded, epoll + timerfd; Linux only.
//
//   g++ -O2 -std=c++20 bench/loadgen.cpp -o loadgen -lpthread
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using i64 = std::int64_t;

i64 now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<i64>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "loadgen: %s\n", msg.c_str());
  std::exit(2);
}

constexpr const char* kUsage =
    "usage: loadgen --url http://HOST:PORT/PATH (--rate R (--duration S | --requests N)\n"
    "               | --concurrency-hold N) [--connections C] [--body-file F]\n"
    "               [--header 'Name: value']... [--stream] [--timeout S] [--method M]\n"
    "\n"
    "  --rate R              requests per second, evenly spaced (open loop)\n"
    "  --duration S          send for S seconds (rate*S requests)\n"
    "  --requests N          send exactly N requests\n"
    "  --connections C       keep-alive connections to spread the requests over (default 16)\n"
    "  --body-file F         request body (POST); without it, a GET with no body\n"
    "  --header 'N: v'       extra request header (repeatable)\n"
    "  --stream              the responses are SSE streams: also measure time to first event\n"
    "  --timeout S           give up on responses still missing S seconds after the last send\n"
    "                        (default 10); they count as errors\n"
    "  --concurrency-hold N  open N connections, one streaming request each, read all to the end\n";

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "80";
  std::string path = "/";
  double rate = 0;
  double duration = 0;
  long long requests = -1;
  int connections = 16;
  std::string body;
  bool has_body = false;
  std::vector<std::string> headers;
  bool stream = false;
  double timeout_s = 10;
  long long hold = 0;
  std::string method;
};

void parse_url(const std::string& url, Options& o) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) die("only http:// URLs are supported: " + url);
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  o.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = hostport.rfind(':');
  if (colon == std::string::npos) {
    o.host = hostport;
  } else {
    o.host = hostport.substr(0, colon);
    o.port = hostport.substr(colon + 1);
  }
  if (!o.host.empty() && o.host.front() == '[') o.host = o.host.substr(1, o.host.size() - 2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  bool have_url = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--url") {
      parse_url(next(), o);
      have_url = true;
    } else if (a == "--rate") {
      o.rate = std::atof(next().c_str());
    } else if (a == "--duration") {
      o.duration = std::atof(next().c_str());
    } else if (a == "--requests") {
      o.requests = std::atoll(next().c_str());
    } else if (a == "--connections") {
      o.connections = std::atoi(next().c_str());
    } else if (a == "--body-file") {
      std::string f = next();
      std::ifstream in(f, std::ios::binary);
      if (!in) die("cannot read " + f);
      std::ostringstream ss;
      ss << in.rdbuf();
      o.body = ss.str();
      o.has_body = true;
    } else if (a == "--header") {
      o.headers.push_back(next());
    } else if (a == "--stream") {
      o.stream = true;
    } else if (a == "--timeout") {
      o.timeout_s = std::atof(next().c_str());
    } else if (a == "--concurrency-hold") {
      o.hold = std::atoll(next().c_str());
    } else if (a == "--method") {
      o.method = next();
    } else {
      die("unknown argument '" + a + "'\n" + kUsage);
    }
  }
  if (!have_url) die(std::string("--url is required\n") + kUsage);
  if (o.hold > 0) {
    o.requests = o.hold;
    o.connections = static_cast<int>(o.hold);
  } else {
    if (o.rate <= 0) die("--rate must be > 0 (or use --concurrency-hold)");
    if (o.requests < 0) {
      if (o.duration <= 0) die("give --duration or --requests");
      o.requests = std::llround(o.rate * o.duration);
    }
    if (o.connections < 1) die("--connections must be >= 1");
  }
  if (o.method.empty()) o.method = o.has_body ? "POST" : "GET";
  return o;
}

// ---------------------------------------------------------------------------------------------
// Response parsing: status line + headers, then a Content-Length, chunked or close-delimited body.
// The decoded body is scanned for "data:" so streams can report time to first event.

enum class Phase { Head, BodyLength, ChunkSize, ChunkData, ChunkDataEnd, Trailer, BodyClose, Done };

struct Response {
  Phase phase = Phase::Head;
  std::string head;     // accumulates the head, then chunk-size / trailer lines
  int status = 0;
  bool close_after = false;
  unsigned long long remaining = 0;
  // "data:" scanner over the decoded body, with a carry-over across reads.
  char carry[5] = {};
  int carry_len = 0;
  long long events = 0;
  i64 first_event_ns = 0;

  void reset() { *this = Response{}; }
};

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char a = line[i], b = name[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Parses the head in r.head (which ends with \r\n\r\n). Returns false on a malformed head.
bool parse_head(Response& r, bool head_request) {
  std::string_view h = r.head;
  auto eol = h.find("\r\n");
  std::string_view status_line = h.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return false;
  r.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  bool http10 = status_line.substr(5, 3) == "1.0";
  bool have_length = false, chunked = false;
  bool conn_close = http10, conn_keep = false;
  size_t pos = eol + 2;
  while (pos < h.size()) {
    auto e = h.find("\r\n", pos);
    if (e == std::string_view::npos || e == pos) break;
    std::string_view line = h.substr(pos, e - pos);
    pos = e + 2;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = trim(line.substr(colon + 1));
    if (iequals_prefix(line, "content-length:")) {
      r.remaining = std::strtoull(std::string(value).c_str(), nullptr, 10);
      have_length = true;
    } else if (iequals_prefix(line, "transfer-encoding:")) {
      chunked = value.find("chunked") != std::string_view::npos;
    } else if (iequals_prefix(line, "connection:")) {
      std::string v(value);
      for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (v.find("close") != std::string::npos) conn_close = true;
      if (v.find("keep-alive") != std::string::npos) conn_keep = true;
    }
  }
  if (http10 && conn_keep) conn_close = false;
  r.close_after = conn_close;
  r.head.clear();
  if (head_request || r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200)) {
    r.phase = Phase::Done;
  } else if (chunked) {
    r.phase = Phase::ChunkSize;
  } else if (have_length) {
    r.phase = r.remaining == 0 ? Phase::Done : Phase::BodyLength;
  } else {
    r.phase = Phase::BodyClose;
    r.close_after = true;
  }
  return true;
}

void scan_body(Response& r, const char* p, size_t n, i64 t) {
  static constexpr std::string_view kData = "data:";
  if (n == 0) return;
  // Look at carry + the new bytes; the carry is the last up-to-4 bytes seen before.
  std::string_view view;
  std::string joined;
  if (r.carry_len > 0) {
    joined.reserve(r.carry_len + n);
    joined.append(r.carry, r.carry_len);
    joined.append(p, n);
    view = joined;
  } else {
    view = std::string_view(p, n);
  }
  size_t from = 0;
  for (;;) {
    auto f = view.find(kData, from);
    if (f == std::string_view::npos) break;
    if (r.events == 0) r.first_event_ns = t;
    ++r.events;
    from = f + kData.size();
  }
  // keep the last 4 bytes (not part of a match already counted) for the next read
  size_t keep = std::min<size_t>(4, view.size() - std::min(view.size(), from));
  keep = std::min(keep, view.size());
  std::memcpy(r.carry, view.data() + view.size() - keep, keep);
  r.carry_len = static_cast<int>(keep);
}

// Feeds bytes; returns -1 on a protocol error, else the number of bytes consumed (stops at Done).
long feed(Response& r, const char* p, size_t n, i64 t, bool head_request) {
  size_t i = 0;
  while (i < n && r.phase != Phase::Done) {
    switch (r.phase) {
      case Phase::Head: {
        // Append until the blank line.
        size_t before = r.head.size();
        r.head.append(p + i, n - i);
        auto end = r.head.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
        if (end == std::string::npos) {
          if (r.head.size() > 64 * 1024) return -1;
          i = n;
          break;
        }
        size_t used = end + 4 - before;
        r.head.resize(end + 4);
        i += used;
        if (!parse_head(r, head_request)) return -1;
        if (r.status >= 100 && r.status < 200) r.reset();  // skip interim responses
        break;
      }
      case Phase::BodyLength: {
        size_t take = static_cast<size_t>(std::min<unsigned long long>(r.remaining, n - i));
        scan_body(r, p + i, take, t);
        r.remaining -= take;
        i += take;
        if (r.remaining == 0) r.phase = Phase::Done;
        break;
      }
      case Phase::ChunkSize: {
        // r.head accumulates the size line
        const char* nl = static_cast<const char*>(std::memchr(p + i, '\n', n - i));
        if (!nl) {
          r.head.append(p + i, n - i);
          if (r.head.size() > 1024) return -1;
          i = n;
          break;
        }
        r.head.append(p + i, nl - (p + i));
        i = static_cast<size_t>(nl - p) + 1;
        unsigned long long size = std::strtoull(r.head.c_str(), nullptr, 16);
        r.head.clear();
        if (size == 0) {
          r.phase = Phase::Trailer;
        } else {
          r.remaining = size;
          r.phase = Phase::ChunkData;
        }
        break;
      }
      case Phase::ChunkData: {
        size_t take = static_cast<size_t>(std::min<unsigned long long>(r.remaining, n - i));
        scan_body(r, p + i, take, t);
        r.remaining -= take;
        i += take;
        if (r.remaining == 0) {
          r.phase = Phase::ChunkDataEnd;
          r.head.clear();
        }
        break;
      }
      case Phase::ChunkDataEnd: {
        // skip the CRLF after the chunk data
        char c = p[i++];
        if (c == '\n') r.phase = Phase::ChunkSize;
        break;
      }
      case Phase::Trailer: {
        const char* nl = static_cast<const char*>(std::memchr(p + i, '\n', n - i));
        if (!nl) {
          r.head.append(p + i, n - i);
          i = n;
          break;
        }
        r.head.append(p + i, nl - (p + i));
        i = static_cast<size_t>(nl - p) + 1;
        bool blank = r.head.empty() || r.head == "\r";
        r.head.clear();
        if (blank) r.phase = Phase::Done;
        break;
      }
      case Phase::BodyClose: {
        scan_body(r, p + i, n - i, t);
        i = n;
        break;
      }
      case Phase::Done:
        break;
    }
  }
  return static_cast<long>(i);
}

// ---------------------------------------------------------------------------------------------

enum class ConnState { Connecting, Idle, Busy, Closed };

struct Conn {
  int fd = -1;
  int index = 0;
  ConnState state = ConnState::Closed;
  bool want_out = false;
  size_t out_off = 0;
  i64 sched_ns = 0;  // scheduled time of the request in flight
  Response resp;
  bool got_head = false;
  bool in_free_list = false;
};

struct Stats {
  long long sent = 0;
  long long ok = 0;
  long long non_2xx = 0;
  long long errors = 0;          // connection errors, protocol errors, timeouts
  long long timeouts = 0;
  long long connect_errors = 0;
  long long events = 0;
  long long streams_without_events = 0;
  std::vector<double> lat_ms;
  std::vector<double> ttfe_ms;
  i64 max_queue_ns = 0;          // worst scheduled -> actually written delay
  long long max_inflight = 0;
  long long max_open_streams = 0;
  i64 last_done_ns = 0;
};

class Loadgen {
 public:
  explicit Loadgen(Options o) : o_(std::move(o)) {}

  int run() {
    resolve();
    build_request();
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ep_ < 0 || tfd_ < 0) die("epoll/timerfd: " + std::string(std::strerror(errno)));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTimerTag;
    epoll_ctl(ep_, EPOLL_CTL_ADD, tfd_, &ev);

    conns_.resize(static_cast<size_t>(o_.connections));
    for (int i = 0; i < o_.connections; ++i) conns_[i].index = i;

    if (o_.hold > 0) return run_hold();
    return run_rate();
  }

 private:
  static constexpr std::uint64_t kTimerTag = ~0ULL;

  int run_rate() {
    // Connect everything first, so connection setup is not part of the measurement.
    for (auto& c : conns_) open_conn(c);
    i64 deadline = now_ns() + 5'000'000'000LL;
    while (connecting_ > 0 && now_ns() < deadline) poll_once(100);
    if (free_.empty()) die("could not connect to " + o_.host + ":" + o_.port);

    const i64 interval = static_cast<i64>(1e9 / o_.rate);
    t0_ = now_ns() + 1'000'000;  // first request 1 ms from now
    long long next = 0;
    const long long total = o_.requests;
    arm_timer(t0_);
    i64 give_up = 0;
    for (;;) {
      i64 t = now_ns();
      // Schedule everything that is due.
      while (next < total && t0_ + next * interval <= t) {
        queue_.push_back(t0_ + next * interval);
        ++next;
      }
      dispatch();
      if (next < total) {
        arm_timer(t0_ + next * interval);
      } else {
        if (give_up == 0) give_up = t + static_cast<i64>(o_.timeout_s * 1e9);
        if (inflight_ == 0 && queue_.empty()) break;
        if (t >= give_up) break;
        arm_timer(std::min(give_up, t + 50'000'000));
      }
      poll_once(-1);
    }
    // Whatever is still queued or in flight timed out.
    long long left = static_cast<long long>(queue_.size()) + inflight_;
    st_.timeouts += left;
    st_.errors += left;
    return report();
  }

  int run_hold() {
    t0_ = now_ns();
    for (auto& c : conns_) open_conn(c);
    i64 give_up = 0;
    long long total = o_.hold;
    long long opened_before = 0;
    for (;;) {
      i64 t = now_ns();
      dispatch_hold();
      long long finished = st_.ok + st_.non_2xx + st_.errors;
      if (finished >= total) break;
      (void)opened_before;
      if (give_up == 0) give_up = t + static_cast<i64>((o_.timeout_s + 30) * 1e9);
      if (t >= give_up) {
        long long left = total - finished;
        st_.timeouts += left;
        st_.errors += left;
        break;
      }
      arm_timer(t + 50'000'000);
      poll_once(-1);
    }
    return report();
  }

  void resolve() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    int rc = getaddrinfo(o_.host.c_str(), o_.port.c_str(), &hints, &res);
    if (rc != 0 || !res) die("cannot resolve " + o_.host + ": " + gai_strerror(rc));
    std::memcpy(&addr_, res->ai_addr, res->ai_addrlen);
    addrlen_ = res->ai_addrlen;
    family_ = res->ai_family;
    freeaddrinfo(res);
  }

  void build_request() {
    std::string r = o_.method + " " + o_.path + " HTTP/1.1\r\n";
    r += "Host: " + o_.host + ":" + o_.port + "\r\n";
    bool have_ct = false, have_accept = false;
    for (const auto& h : o_.headers) {
      if (iequals_prefix(h, "content-type:")) have_ct = true;
      if (iequals_prefix(h, "accept:")) have_accept = true;
      r += h + "\r\n";
    }
    if (o_.has_body) {
      if (!have_ct) r += "Content-Type: application/json\r\n";
      r += "Content-Length: " + std::to_string(o_.body.size()) + "\r\n";
    }
    if (!have_accept) r += o_.stream ? "Accept: text/event-stream\r\n" : "Accept: */*\r\n";
    r += "\r\n";
    r += o_.body;
    request_ = std::move(r);
    head_request_ = o_.method == "HEAD";
  }

  void arm_timer(i64 at_ns) {
    itimerspec its{};
    if (at_ns <= 0) at_ns = 1;
    its.it_value.tv_sec = at_ns / 1'000'000'000;
    its.it_value.tv_nsec = at_ns % 1'000'000'000;
    timerfd_settime(tfd_, TFD_TIMER_ABSTIME, &its, nullptr);
  }

  void set_events(Conn& c, bool out) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (out ? static_cast<std::uint32_t>(EPOLLOUT) : 0u);
    ev.data.u64 = static_cast<std::uint64_t>(c.index);
    epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = out;
  }

  void open_conn(Conn& c) {
    c.fd = socket(family_, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) die("socket: " + std::string(std::strerror(errno)));
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.state = ConnState::Connecting;
    c.resp.reset();
    c.got_head = false;
    ++connecting_;
    int rc = connect(c.fd, reinterpret_cast<sockaddr*>(&addr_), addrlen_);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
    ev.data.u64 = static_cast<std::uint64_t>(c.index);
    epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    c.want_out = true;
    if (rc < 0 && errno != EINPROGRESS) {
      on_connect_failed(c);
    }
  }

  void on_connect_failed(Conn& c) {
    --connecting_;
    ++st_.connect_errors;
    close_fd(c);
    if (o_.hold > 0) {
      ++st_.errors;  // this stream never started
    }
  }

  void close_fd(Conn& c) {
    if (c.fd >= 0) {
      epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
    }
    c.fd = -1;
    c.state = ConnState::Closed;
  }

  void on_connected(Conn& c) {
    --connecting_;
    c.state = ConnState::Idle;
    set_events(c, false);
    if (o_.hold > 0) {
      hold_ready_.push_back(c.index);
    } else {
      free_.push_back(c.index);
      c.in_free_list = true;
    }
  }

  // Rate mode: hand queued requests to free connections.
  void dispatch() {
    while (!queue_.empty() && !free_.empty()) {
      int idx = free_.front();
      free_.pop_front();
      Conn& c = conns_[idx];
      c.in_free_list = false;
      if (c.state != ConnState::Idle) continue;  // stale entry (closed meanwhile)
      i64 sched = queue_.front();
      queue_.pop_front();
      start_request(c, sched);
    }
  }

  void dispatch_hold() {
    while (!hold_ready_.empty()) {
      int idx = hold_ready_.front();
      hold_ready_.pop_front();
      Conn& c = conns_[idx];
      if (c.state != ConnState::Idle) continue;
      start_request(c, now_ns());
    }
  }

  void start_request(Conn& c, i64 sched) {
    c.state = ConnState::Busy;
    c.sched_ns = sched;
    c.out_off = 0;
    c.resp.reset();
    c.got_head = false;
    ++st_.sent;
    ++inflight_;
    st_.max_inflight = std::max(st_.max_inflight, inflight_);
    i64 t = now_ns();
    st_.max_queue_ns = std::max(st_.max_queue_ns, t - sched);
    write_some(c);
  }

  void write_some(Conn& c) {
    while (c.out_off < request_.size()) {
      ssize_t n = ::send(c.fd, request_.data() + c.out_off, request_.size() - c.out_off,
                         MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!c.want_out) set_events(c, true);
        return;
      }
      fail_request(c);
      return;
    }
    if (c.want_out) set_events(c, false);
  }

  void fail_request(Conn& c) {
    if (c.state == ConnState::Busy) {
      --inflight_;
      ++st_.errors;
      if (c.got_head) --open_streams_;
      st_.last_done_ns = now_ns();
    }
    close_fd(c);
    reopen(c);
  }

  void reopen(Conn& c) {
    if (o_.hold > 0) return;  // each hold connection carries exactly one request
    if (finished_sending() && queue_.empty()) return;
    open_conn(c);
  }

  bool finished_sending() const { return st_.sent >= o_.requests; }

  void complete(Conn& c, i64 t) {
    --inflight_;
    if (c.got_head) --open_streams_;
    st_.last_done_ns = t;
    const Response& r = c.resp;
    if (r.status >= 200 && r.status < 300) {
      ++st_.ok;
      st_.lat_ms.push_back(static_cast<double>(t - c.sched_ns) / 1e6);
      if (o_.stream) {
        st_.events += r.events;
        if (r.events > 0) {
          st_.ttfe_ms.push_back(static_cast<double>(r.first_event_ns - c.sched_ns) / 1e6);
        } else {
          ++st_.streams_without_events;
        }
      }
    } else {
      ++st_.non_2xx;
    }
    bool close_after = r.close_after;
    c.resp.reset();
    c.got_head = false;
    if (close_after || o_.hold > 0) {
      close_fd(c);
      reopen(c);
    } else {
      c.state = ConnState::Idle;
      free_.push_back(c.index);
      c.in_free_list = true;
    }
  }

  void on_readable(Conn& c) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        i64 t = now_ns();
        if (c.state != ConnState::Busy) {
          // Unsolicited bytes on an idle connection: drop the connection.
          close_fd(c);
          reopen(c);
          return;
        }
        size_t off = 0;
        while (off < static_cast<size_t>(n)) {
          long used = feed(c.resp, buf + off, static_cast<size_t>(n) - off, t, head_request_);
          if (used < 0) {
            fail_request(c);
            return;
          }
          if (!c.got_head && c.resp.phase != Phase::Head) {
            c.got_head = true;
            ++open_streams_;
            st_.max_open_streams = std::max(st_.max_open_streams, open_streams_);
          }
          off += static_cast<size_t>(used);
          if (c.resp.phase == Phase::Done) {
            complete(c, t);
            if (c.state != ConnState::Busy) {
              // anything after a complete response on an idle connection is unexpected
              if (off < static_cast<size_t>(n) && c.fd >= 0) {
                close_fd(c);
                reopen(c);
              }
              return;
            }
          } else {
            off = static_cast<size_t>(n);
          }
        }
        continue;
      }
      if (n == 0) {  // EOF
        if (c.state == ConnState::Busy && c.resp.phase == Phase::BodyClose) {
          c.resp.phase = Phase::Done;
          c.resp.close_after = true;
          complete(c, now_ns());  // closes (and in rate mode reopens) the connection
          return;
        }
        if (c.state == ConnState::Busy) {
          fail_request(c);
        } else {
          close_fd(c);  // idle keep-alive connection closed by the server
          reopen(c);
        }
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      if (c.state == ConnState::Busy) {
        fail_request(c);
      } else {
        close_fd(c);
        reopen(c);
      }
      return;
    }
  }

  void poll_once(int timeout_ms) {
    epoll_event evs[256];
    int n = epoll_wait(ep_, evs, 256, timeout_ms);
    for (int i = 0; i < n; ++i) {
      if (evs[i].data.u64 == kTimerTag) {
        std::uint64_t exp;
        while (::read(tfd_, &exp, sizeof exp) > 0) {
        }
        continue;
      }
      Conn& c = conns_[static_cast<size_t>(evs[i].data.u64)];
      if (c.fd < 0) continue;
      std::uint32_t e = evs[i].events;
      if (c.state == ConnState::Connecting) {
        if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0 || (e & (EPOLLERR | EPOLLHUP))) {
            on_connect_failed(c);
            if (o_.hold == 0 && !finished_sending()) {
              // retry later rather than spinning
              retry_later_.push_back(c.index);
            }
          } else {
            on_connected(c);
          }
        }
        continue;
      }
      if ((e & EPOLLOUT) && c.state == ConnState::Busy && c.out_off < request_.size()) {
        write_some(c);
        if (c.fd < 0) continue;
      }
      if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
    }
    if (!retry_later_.empty() && now_ns() - last_retry_ns_ > 100'000'000) {
      last_retry_ns_ = now_ns();
      auto r = std::move(retry_later_);
      retry_later_.clear();
      for (int idx : r) {
        if (conns_[idx].fd < 0) open_conn(conns_[idx]);
      }
    }
  }

  static double pct(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    size_t k = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    if (k > 0) --k;
    if (k >= v.size()) k = v.size() - 1;
    return v[k];
  }

  int report() {
    std::sort(st_.lat_ms.begin(), st_.lat_ms.end());
    std::sort(st_.ttfe_ms.begin(), st_.ttfe_ms.end());
    double elapsed_s = st_.last_done_ns > t0_ ? static_cast<double>(st_.last_done_ns - t0_) / 1e9 : 0;
    double achieved = elapsed_s > 0 ? static_cast<double>(st_.ok) / elapsed_s : 0;
    double mean = 0;
    for (double x : st_.lat_ms) mean += x;
    if (!st_.lat_ms.empty()) mean /= static_cast<double>(st_.lat_ms.size());
    auto f = [](double x) {
      char b[64];
      std::snprintf(b, sizeof b, "%.4f", x);
      return std::string(b);
    };
    std::string j = "{";
    j += "\"sent\":" + std::to_string(st_.sent);
    j += ",\"ok\":" + std::to_string(st_.ok);
    j += ",\"errors\":" + std::to_string(st_.errors + st_.non_2xx);
    j += ",\"non_2xx\":" + std::to_string(st_.non_2xx);
    j += ",\"io_errors\":" + std::to_string(st_.errors);
    j += ",\"timeouts\":" + std::to_string(st_.timeouts);
    j += ",\"connect_errors\":" + std::to_string(st_.connect_errors);
    j += ",\"p50_ms\":" + f(pct(st_.lat_ms, 50));
    j += ",\"p90_ms\":" + f(pct(st_.lat_ms, 90));
    j += ",\"p99_ms\":" + f(pct(st_.lat_ms, 99));
    j += ",\"max_ms\":" + f(st_.lat_ms.empty() ? 0 : st_.lat_ms.back());
    j += ",\"mean_ms\":" + f(mean);
    j += ",\"ttfe_p50_ms\":" + f(pct(st_.ttfe_ms, 50));
    j += ",\"ttfe_p99_ms\":" + f(pct(st_.ttfe_ms, 99));
    j += ",\"achieved_rps\":" + f(achieved);
    j += ",\"target_rps\":" + f(o_.rate);
    j += ",\"elapsed_s\":" + f(elapsed_s);
    j += ",\"connections\":" + std::to_string(o_.connections);
    j += ",\"max_inflight\":" + std::to_string(st_.max_inflight);
    j += ",\"max_open_streams\":" + std::to_string(st_.max_open_streams);
    j += ",\"max_queue_ms\":" + f(static_cast<double>(st_.max_queue_ns) / 1e6);
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double self_cpu_ms = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
    j += ",\"self_cpu_ms\":" + f(self_cpu_ms);
    if (o_.stream) {
      double per = st_.ok > 0 ? static_cast<double>(st_.events) / static_cast<double>(st_.ok) : 0;
      j += ",\"events_per_stream\":" + f(per);
      j += ",\"streams_without_events\":" + std::to_string(st_.streams_without_events);
    }
    j += "}";
    std::puts(j.c_str());
    return st_.ok > 0 ? 0 : 1;
  }

  Options o_;
  sockaddr_storage addr_{};
  socklen_t addrlen_ = 0;
  int family_ = AF_INET;
  std::string request_;
  bool head_request_ = false;
  int ep_ = -1;
  int tfd_ = -1;
  std::vector<Conn> conns_;
  std::deque<int> free_;
  std::deque<int> hold_ready_;
  std::vector<int> retry_later_;
  i64 last_retry_ns_ = 0;
  std::deque<i64> queue_;
  long long inflight_ = 0;
  long long open_streams_ = 0;
  int connecting_ = 0;
  i64 t0_ = 0;
  Stats st_;
};

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // wake at the scheduled instant, not up to 50 us late
  Options o = parse_args(argc, argv);
  Loadgen lg(std::move(o));
  return lg.run();
}
