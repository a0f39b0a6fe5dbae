// Upstream faults and the money they must not lose (issue 16): stale pooled connections, every
// target rate-limited, provider error text, cut streams, n / best_of, unpriced models.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

// Runs `n` requests at once; returns how many were not answered 200 (with one such answer).
int concurrent_failures(Gateway& gw, int n, std::string* sample) {
  std::atomic<int> failed{0};
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&gw, &failed, &mu, sample, i] {
      auto r = gw.post("/v1/chat/completions", chat("gpt-test", "hello " + std::to_string(i)));
      if (r.status != 200) {
        ++failed;
        std::lock_guard lock(mu);
        *sample = std::to_string(r.status) + " " + r.body;
      }
    });
  }
  for (auto& t : threads) t.join();
  return failed.load();
}

// The mock closes keep-alive connections idle for 1 s (as Node's servers do after 5 s). After
// 2 s of quiet every pooled connection is stale: none of them may cost a client an error, even
// with router retries off (the upstream client itself must not reuse a dead connection).
TEST(UpstreamPool, ConnectionsTheServerClosedWhileIdleAreNeverAnError) {
  Mock mock({"--keepalive-timeout-ms", "1000", "--latency-ms", "150"});
  Gateway gw(mock_config(mock, "router:\n  retries: 0\n"));
  std::string sample;
  int failed = concurrent_failures(gw, 8, &sample);
  EXPECT_EQ(failed, 0) << sample;
  const auto connections_before = mock.stats()["connections_total"].get<int>();
  for (int round = 0; round < 2; ++round) {
    std::this_thread::sleep_for(std::chrono::seconds(2));  // longer than the keep-alive timeout
    failed = concurrent_failures(gw, 8, &sample);
    EXPECT_EQ(failed, 0) << "round " << round << ": " << sample;
  }
  // The idle connections really were closed under the gateway: it had to open new ones.
  EXPECT_GE(mock.stats()["connections_total"].get<int>(), connections_before + 8);
}

// A connection back in the pool for under a second is taken without looking whether the server
// closed it (UpstreamClient's kFreshIdle): a server that closes idle connections after 200 ms
// must still never cost a client an error (the write or the head fails, and the request goes
// again on a new connection).
TEST(UpstreamPool, AFreshConnectionTheServerClosedIsReplacedWithoutAnError) {
  Mock mock({"--keepalive-timeout-ms", "200"});
  Gateway gw(mock_config(mock, "router:\n  retries: 0\n"));
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "warm")).status, 200);
  const auto connections_before = mock.stats()["connections_total"].get<int>();
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // closed by now, not peeked
    auto r = gw.post("/v1/chat/completions", chat("gpt-test", "again"));
    EXPECT_EQ(r.status, 200) << i << ": " << r.body;
  }
  EXPECT_GE(mock.stats()["connections_total"].get<int>(), connections_before + 5);
}


// The connections a burst opened are closed once idle for router.timeouts.keepalive, while
// steady traffic goes on over the warmest one, and also on a worker nobody sends to: the pool
// does not keep a burst's sockets and memory for as long as the traffic lasts.
TEST(UpstreamPool, ConnectionsABurstOpenedAreClosedOnceIdlePastTheKeepalive) {
  Mock mock({"--latency-ms", "150"});
  Gateway gw(mock_config(mock, "router:\n  timeouts: {keepalive: 1s}\n"));
  auto open = [&] { return mock.stats()["connections_open"].get<int>(); };
  std::string sample;
  ASSERT_EQ(concurrent_failures(gw, 12, &sample), 0) << sample;
  EXPECT_GE(open(), 6);  // 12 when every request overlapped (150 ms each); a slow start, fewer
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
  while (std::chrono::steady_clock::now() < until) {  // one request at a time
    auto r = gw.post("/v1/chat/completions", chat("gpt-test", "steady"));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // At most the one warm connection per worker is left (two workers).
  EXPECT_TRUE(eventually([&] { return open() <= 2; }, std::chrono::seconds(3))) << open();
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "after")).status, 200);
}

// A gateway with two targets under one name and no retries, so each target is tried once.
std::string pair_config(const Mock& mock) {
  return mock_config(mock, "  - name: pair\n    targets: [mock/gpt-4o-mini, mock/gpt-4o]\n"
                           "router:\n  retries: 0\n");
}

// Every target answered its own 429: the client is told to back off (429, the soonest
// Retry-After), not handed a 502 that SDKs retry at once.
TEST(UpstreamRateLimits, EveryTargetRateLimitedIsA429WithTheSoonestRetryAfter) {
  Mock mock;
  Gateway gw(pair_config(mock));
  mock.add_fault({{"status", 429}, {"retry_after", 7}, {"match_model", "gpt-4o-mini"}});
  mock.add_fault({{"status", 429}, {"retry_after", 3}, {"match_model", "gpt-4o"}});
  auto r = gw.post("/v1/chat/completions", chat("pair", "hi"));
  ASSERT_EQ(r.status, 429) << r.body;
  auto j = r.json_body();
  EXPECT_EQ(j["error"]["type"], "rate_limit_error");
  EXPECT_EQ(j["error"]["code"], "upstream_rate_limited");
  EXPECT_EQ(r.header("retry-after"), "3");
  EXPECT_EQ(r.header("x-tollgate-attempts"), "2");
}

TEST(UpstreamRateLimits, A429AndAnOutageIsStillA502) {
  Mock mock;
  Gateway gw(pair_config(mock));
  mock.add_fault({{"status", 429}, {"retry_after", 7}, {"match_model", "gpt-4o-mini"}});
  mock.add_fault({{"status", 503}, {"match_model", "gpt-4o"}});
  auto r = gw.post("/v1/chat/completions", chat("pair", "hi"));
  ASSERT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.json_body()["error"]["code"], "upstream_error");
}

// Provider error text: an address, a refused key's wording and an echoed key never reach the
// client; the server log has the detail, the key redacted. The client's own mistake keeps the
// provider's message, with the provider named.
TEST(UpstreamErrors, ClientsGetACleanMessageNamingTheProviderAndTheLogKeepsTheDetail) {
  Mock mock({"--api-key", "right-key-0123456789"});
  const std::string dead = std::to_string(free_port());
  const std::string wrong_key = "sk-wrong-0123456789abcdefghij";
  Gateway gw("server:\n  master_key: sk-test-master\n  workers: 1\n  log_level: debug\n"
             "providers:\n"
             "  local:\n    type: openai-compatible\n    base_url: http://127.0.0.1:" + dead + "/v1\n"
             "  openai:\n    type: openai-compatible\n    base_url: " + mock.base_url() + "\n"
             "    api_key: " + wrong_key + "\n"
             "  good:\n    type: openai-compatible\n    base_url: " + mock.base_url() + "\n"
             "    api_key: right-key-0123456789\n"
             "models:\n"
             "  - name: lan\n    targets: [local/llama]\n"
             "  - name: badkey\n    targets: [openai/gpt-4o-mini]\n"
             "  - name: good\n    targets: [good/gpt-4o-mini]\n"
             "router:\n  retries: 0\n");

  auto lan = gw.post("/v1/chat/completions", chat("lan", "hi"));
  EXPECT_EQ(lan.status, 502) << lan.body;
  EXPECT_EQ(lan.body.find("127.0.0.1"), std::string::npos) << lan.body;
  EXPECT_EQ(lan.body.find(dead), std::string::npos) << lan.body;
  EXPECT_NE(lan.body.find("provider 'local' could not be reached"), std::string::npos) << lan.body;

  auto refused = gw.post("/v1/chat/completions", chat("badkey", "hi"));
  EXPECT_EQ(refused.status, 502) << refused.body;
  EXPECT_EQ(refused.body.find("Incorrect API key"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("provider 'openai' refused Tollgate's credentials (401)"),
            std::string::npos)
      << refused.body;

  // A provider that echoes the whole key in its refusal.
  mock.add_fault({{"status", 403}, {"message", "key " + wrong_key + " may not use this model"}});
  auto echoed = gw.post("/v1/chat/completions", chat("badkey", "hi"));
  EXPECT_EQ(echoed.status, 502) << echoed.body;
  EXPECT_EQ(echoed.body.find(wrong_key), std::string::npos) << echoed.body;
  EXPECT_EQ(echoed.body.find("may not use"), std::string::npos) << echoed.body;

  // The client's own mistake: the provider's message, the provider named.
  mock.add_fault({{"status", 400},
                  {"message", "Invalid value for 'temperature': must be at most 2."},
                  {"code", "invalid_value"}});
  auto mistake = gw.post("/v1/chat/completions", chat("good", "hi"));
  EXPECT_EQ(mistake.status, 400) << mistake.body;
  auto m = mistake.json_body()["error"];
  EXPECT_NE(m["message"].get<std::string>().find("Invalid value for 'temperature'"),
            std::string::npos)
      << mistake.body;
  EXPECT_NE(m["message"].get<std::string>().find("good"), std::string::npos) << mistake.body;
  EXPECT_EQ(m["provider"], "good");

  // The log has what the clients did not see, never the key.
  EXPECT_TRUE(eventually([&] {
    auto log = gw.process().output();
    return log.find("127.0.0.1:" + dead) != std::string::npos &&
           log.find("may not use this model") != std::string::npos;
  })) << gw.process().output();
  EXPECT_EQ(gw.process().output().find(wrong_key), std::string::npos);
}

// A plain TCP connection to the gateway on loopback; -1 if it failed.
int loopback_connection(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends a request and closes the connection after `wait`, without reading the answer.
void send_and_hang_up(uint16_t port, const std::string& bytes, std::chrono::milliseconds wait) {
  int fd = loopback_connection(port);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  std::this_thread::sleep_for(wait);
  ::close(fd);
}

// Budgets, prices and the request log, for the money tests.
const std::string kKey = "sk-tg-faults-0123456789abcdef0123456789";

// `pricing` is the pricing: section; `more` goes after the key list (more keys, teams:).
std::string money_config(const Mock& mock, const std::string& db, const std::string& pricing,
                         const std::string& more = "") {
  return mock_config(mock, "  - name: mixed\n    targets: [mock/unpriced-x, mock/gpt-4o]\n") +
         "store:\n  sqlite: " + db + "\n" + pricing +
         "keys:\n  - name: payer\n    key: " + kKey + "\n    budget: {usd: 5, period: monthly}\n" +
         more;
}

// A chat request with the payer's key, as raw HTTP/1.1 bytes.
std::string raw_chat_request(const std::string& id, const std::string& prompt) {
  const std::string body = chat("gpt-test", prompt).dump();
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kKey +
         "\r\nContent-Type: application/json\r\nx-request-id: " + id +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

json log_row(Gateway& gw, const std::string& request_id) {
  json found;
  eventually([&] {
    json rows = gw.get("/admin/logs?limit=200").json_body();
    for (const auto& r : rows["data"]) {
      if (r["request_id"] == request_id) {
        found = r;
        return true;
      }
    }
    return false;
  });
  return found;
}

double key_spend(Gateway& gw) {
  json all = gw.get("/admin/keys").json_body();
  for (const auto& k : all["data"]) {
    if (k["name"] == "payer") return k["spend_usd"].get<double>();
  }
  return -1;
}

// OpenAI-style providers report usage last: a client that hangs up mid-stream still pays for
// what was generated (estimated, and marked so), and so does its budget.
TEST(CutStreams, AStreamTheClientCutsIsBilledForWhatWasGenerated) {
  Mock mock({"--events", "200", "--interval-ms", "5"});
  Gateway gw(money_config(mock, temp_dir() + "/t.db",
                          "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n"));
  std::string text(400, 'x');
  for (size_t i = 5; i < text.size(); i += 6) text[i] = ' ';
  size_t got = 0;
  auto r = http_stream(gw.port(), "/v1/chat/completions", chat("gpt-test", text, true).dump(),
                       {{"Authorization", "Bearer " + kKey}, {"x-request-id", "cut-stream-1"}},
                       [&](const std::string& chunk) {
                         got += chunk.size();
                         return got < 12000;  // about a third of the answer, then hang up
                       });
  EXPECT_EQ(r.status, 200);
  json row = log_row(gw, "cut-stream-1");
  ASSERT_TRUE(row.is_object()) << gw.get("/admin/logs").body;
  EXPECT_EQ(row["error_code"], "client_closed");
  EXPECT_EQ(row["usage_estimated"], true) << row.dump();
  const int64_t out = row["tokens"]["output"].get<int64_t>();
  EXPECT_GT(out, 20) << row.dump();
  EXPECT_LE(out, 200) << row.dump();  // never more than the whole answer would have been
  EXPECT_GT(row["tokens"]["input"].get<int64_t>(), 0);
  ASSERT_FALSE(row["cost_usd"].is_null()) << row.dump();
  EXPECT_NEAR(row["cost_usd"].get<double>(),
              (row["tokens"]["input"].get<double>() * 1 + out * 2) / 1e6, 1.01e-6);
  EXPECT_TRUE(eventually([&] { return key_spend(gw) >= row["cost_usd"].get<double>(); }))
      << key_spend(gw);
}

// Soak regression: a hang-up noticed by the client watcher while a write to the client was
// completing cancelled the relay before it billed (36 of 54,363 cut streams were logged at $0).
// With the upstream streaming flat out, the hang-up and the next upstream bytes keep arriving
// in the same poll, which is when the race happens; every cut stream must still be charged and
// its record complete (the attempt count was lost too).
TEST(CutStreams, EveryStreamCutRightAfterItsFirstEventIsCharged) {
  Mock mock({"--events", "400"});
  Gateway gw(money_config(mock, temp_dir() + "/t.db",
                          "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n"));
  const std::string body = chat("gpt-test", "cut me off", true).dump();
  constexpr int kStreams = 60;
  for (int i = 0; i < kStreams; ++i) {
    http_stream(gw.port(), "/v1/chat/completions", body,
                {{"Authorization", "Bearer " + kKey},
                 {"x-request-id", "cut-early-" + std::to_string(i)}},
                [&](const std::string&) { return false; });  // hang up on the first piece
  }
  int uncharged = 0;
  std::string example;
  for (int i = 0; i < kStreams; ++i) {
    json row = log_row(gw, "cut-early-" + std::to_string(i));
    ASSERT_TRUE(row.is_object()) << i;
    if (row["cost_usd"].is_null() || row["cost_usd"].get<double>() <= 0 ||
        row["tokens"]["input"].get<int64_t>() <= 0 || row["attempts"].get<int>() != 1) {
      ++uncharged;
      example = row.dump();
    }
  }
  EXPECT_EQ(uncharged, 0) << example;
}

// A finished stream with its usage is billed exactly as reported, not estimated.
TEST(CutStreams, AFinishedStreamIsBilledFromTheReportedUsage) {
  Mock mock;
  Gateway gw(money_config(mock, temp_dir() + "/t.db",
                          "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n"));
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "one two three", true), kKey,
                   {{"x-request-id", "whole-stream-1"}});
  ASSERT_EQ(r.status, 200);
  json row = log_row(gw, "whole-stream-1");
  ASSERT_TRUE(row.is_object());
  EXPECT_EQ(row["usage_estimated"], false);
  EXPECT_EQ(row["tokens"]["input"], 3);
}

// A non-streamed answer the upstream has started to send is billed even if the client leaves
// before it arrives: the gateway reads it to the end instead of cutting the upstream off.
TEST(CutStreams, ANonStreamedAnswerTheClientAbandonedIsBilled) {
  Mock mock;
  Gateway gw(money_config(mock, temp_dir() + "/t.db",
                          "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n"));
  // The head and half the body now, the rest in 1.5 s; the client gives up after 0.5 s.
  mock.add_fault({{"mode", "fragment"}, {"fragment_delay_ms", 1500}});
  send_and_hang_up(gw.port(), raw_chat_request("abandoned-1", "an answer nobody waits for"),
                   std::chrono::milliseconds(500));
  json row = log_row(gw, "abandoned-1");
  ASSERT_TRUE(row.is_object()) << gw.get("/admin/logs").body;
  EXPECT_EQ(row["error_code"], "client_closed");
  EXPECT_GT(row["tokens"]["output"].get<int64_t>(), 0) << row.dump();
  ASSERT_FALSE(row["cost_usd"].is_null()) << row.dump();
  EXPECT_GT(row["cost_usd"].get<double>(), 0);
  EXPECT_TRUE(eventually([&] { return key_spend(gw) > 0; }));
}

// The client watcher: a client that hangs up before any answer ends the call at once, whether
// the gateway is waiting for the upstream's head or sleeping before a retry (Retry-After).
// hung_up sends a request, hangs up after 300 ms, and gives its log row and how long the row took.
struct HungUp {
  json row;
  std::chrono::steady_clock::duration took;
};
HungUp hung_up(Gateway& gw, const std::string& id) {
  const auto start = std::chrono::steady_clock::now();
  send_and_hang_up(gw.port(), raw_chat_request(id, "nobody waits for this"),
                   std::chrono::milliseconds(300));
  json row = log_row(gw, id);
  return {row, std::chrono::steady_clock::now() - start};
}

TEST(ClientWatch, AClientGoneBeforeTheHeadAbortsTheUpstreamCall) {
  Mock mock;
  Gateway gw(money_config(mock, temp_dir() + "/t.db",
                          "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n"));
  mock.add_fault({{"mode", "delay"}, {"delay_ms", 4000}, {"count", 1}});
  auto [row, took] = hung_up(gw, "gone-before-head");
  ASSERT_TRUE(row.is_object()) << gw.get("/admin/logs").body;
  EXPECT_EQ(row["error_code"], "client_closed") << row.dump();
  EXPECT_EQ(row["attempts"], 1) << row.dump();
  EXPECT_LT(took, std::chrono::milliseconds(3000)) << "the call waited for the upstream's head";
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "still serving")).status, 200);
}

// A pipelined request (sent before the first answer) makes the client's socket readable while
// the first call runs: that is not a client gone. Both are answered, in order.
TEST(ClientWatch, APipelinedRequestIsNotAClientGone) {
  Mock mock({"--latency-ms", "200"});
  Gateway gw(money_config(mock, temp_dir() + "/t.db",
                          "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n"));
  int fd = loopback_connection(gw.port());
  ASSERT_GE(fd, 0);
  const std::string first = raw_chat_request("pipelined-1", "nobody waits for this");
  ASSERT_EQ(::send(fd, first.data(), first.size(), MSG_NOSIGNAL), ssize_t(first.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the first call is upstream now
  const std::string second = raw_chat_request("pipelined-2", "nobody waits for this");
  ASSERT_EQ(::send(fd, second.data(), second.size(), MSG_NOSIGNAL), ssize_t(second.size()));
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  auto answers = [&] {
    size_t n = 0;
    for (size_t at = got.find("\"chat.completion\""); at != std::string::npos;
         at = got.find("\"chat.completion\"", at + 1)) {
      ++n;
    }
    return n;
  };
  char buf[4096];
  while (answers() < 2) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, size_t(n));
  }
  ::close(fd);
  EXPECT_EQ(answers(), 2u) << got;
  EXPECT_LT(got.find("pipelined-1"), got.find("pipelined-2")) << got;
  for (const char* id : {"pipelined-1", "pipelined-2"}) {
    json row = log_row(gw, id);
    ASSERT_TRUE(row.is_object()) << id;
    EXPECT_EQ(row["status"], 200) << row.dump();
    EXPECT_TRUE(row["error_code"].is_null() || row["error_code"] == "") << row.dump();
  }
}

// A client that hangs up half way through reading a large answer: the part the kernel did not
// take at once is being written when the peer goes. The write fails at once (no waiting out the
// write timeout), the answer is still billed as generated and logged as a hang-up, and the
// gateway keeps serving. The answer (the mock echoes the prompt) is larger than the most a
// socket's send buffer takes here (tcp_wmem's 4 MB), so the write cannot end before the hang-up.
TEST(ClientWatch, AClientGoneHalfWayThroughALargeAnswerIsBilledAndNothingHangs) {
  Mock mock;
  Gateway gw(money_config(mock, temp_dir() + "/t.db",
                          "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n"));
  std::string text;
  for (int i = 0; text.size() < (8u << 20); ++i) text += "w" + std::to_string(i) + " ";
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const int rcvbuf = 16 * 1024;  // a small window: the 8 MB answer cannot go out in one write
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(gw.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const auto start = std::chrono::steady_clock::now();
  const std::string req = raw_chat_request("gone-half-way", text);
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string got;
  char buf[4096];
  while (got.size() < 64 * 1024) {  // the head and the start of the body, then gone
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got.substr(0, 200);
  json row = log_row(gw, "gone-half-way");
  ASSERT_TRUE(row.is_object()) << gw.get("/admin/logs").body;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10))
      << "the write waited out its timeout";
  EXPECT_GT(row["tokens"]["output"].get<int64_t>(), 0) << row.dump();
  ASSERT_FALSE(row["cost_usd"].is_null()) << row.dump();
  EXPECT_GT(row["cost_usd"].get<double>(), 0);
  EXPECT_EQ(row["status"], 200) << row.dump();  // what was sent, as for a stream cut short
  EXPECT_EQ(row["error_code"], "client_closed") << row.dump();
  EXPECT_TRUE(eventually([&] { return key_spend(gw) > 0; }));
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "still serving")).status, 200);
}

TEST(ClientWatch, AClientGoneDuringABackoffEndsItAtOnce) {
  Mock mock;
  Gateway gw(money_config(mock, temp_dir() + "/t.db",
                          "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n"));
  // The first attempt answers 503 with Retry-After: 5; the retry would come 5 s later.
  mock.add_fault({{"mode", "status"}, {"status", 503}, {"retry_after", 5}, {"count", 1}});
  auto [row, took] = hung_up(gw, "gone-in-backoff");
  ASSERT_TRUE(row.is_object()) << gw.get("/admin/logs").body;
  EXPECT_EQ(row["error_code"], "client_closed") << row.dump();
  EXPECT_EQ(row["attempts"], 1) << row.dump();  // no retry for nobody
  EXPECT_LT(took, std::chrono::milliseconds(3500)) << "the backoff ran its course";
}

// n and best_of: bounded, and the reservation covers every answer asked for.
TEST(Choices, NIsBoundedAndTheReservationCoversEveryAnswer) {
  Mock mock;
  Gateway gw(money_config(mock, temp_dir() + "/t.db",
                          "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n",
                          "  - name: small\n    key: sk-tg-small-0123456789abcdef0123456789\n"
             "    budget: {usd: 0.01, period: monthly}\n"));
  const std::string small = "sk-tg-small-0123456789abcdef0123456789";
  for (const json& bad : {json(129), json(0), json("2"), json(1.5)}) {
    json body = chat("gpt-test", "hi");
    body["n"] = bad;
    auto r = gw.post("/v1/chat/completions", body);
    EXPECT_EQ(r.status, 400) << bad.dump() << " " << r.body;
    EXPECT_EQ(r.json_body()["error"]["param"], "n") << r.body;
  }
  json big_best = chat("gpt-test", "hi");
  big_best["best_of"] = 1000;
  EXPECT_EQ(gw.post("/v1/chat/completions", big_best).status, 400);
  // One answer of 4000 tokens fits $0.01 at $2/1M ($0.008); 128 of them ($1.02) do not.
  json one = chat("gpt-test", "hi");
  one["max_tokens"] = 4000;
  EXPECT_EQ(gw.post("/v1/chat/completions", one, small).status, 200);
  json many = one;
  many["n"] = 128;
  auto r = gw.post("/v1/chat/completions", many, small);
  EXPECT_EQ(r.status, 429) << r.body;
  EXPECT_EQ(r.json_body()["error"]["code"], "budget_exceeded");
  json best = one;
  best["best_of"] = 5;
  EXPECT_EQ(gw.post("/v1/chat/completions", best, small).status, 429);
}

// A budgeted key never gets free, unmetered calls to a model with no price.
TEST(Unpriced, ABudgetedKeyIsRefusedAModelWithNoPrice) {
  Mock mock;
  Gateway gw(money_config(mock, temp_dir() + "/t.db",
                          "pricing:\n  mock/gpt-4o: {input: 1.0, output: 2.0}\n",
                          "  - name: unbudgeted\n    key: sk-tg-nobudget-0123456789abcdef012345\n"
             "  - name: teammate\n    key: sk-tg-teammate-0123456789abcdef012345\n"
             "    team: family\nteams:\n  - name: family\n    budget: {usd: 10, period: daily}\n"));
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "hi"), kKey);
  ASSERT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.json_body()["error"]["code"], "model_not_priced");
  EXPECT_NE(r.json_body()["error"]["message"].get<std::string>().find("pricing:"),
            std::string::npos);
  // The team's budget counts too.
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "hi"),
                    "sk-tg-teammate-0123456789abcdef012345")
                .status,
            403);
  // Without a budget (or with the master key) nothing is metered against: allowed.
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "hi"),
                    "sk-tg-nobudget-0123456789abcdef012345")
                .status,
            200);
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "hi")).status, 200);
  // A model with a priced target: the unpriced one is skipped, the priced one answers.
  auto mixed = gw.post("/v1/chat/completions", chat("mixed", "hi"), kKey);
  ASSERT_EQ(mixed.status, 200) << mixed.body;
  EXPECT_EQ(mixed.header("x-tollgate-model"), "gpt-4o");
  EXPECT_GT(std::stod(mixed.header("x-tollgate-cost-usd")), 0);
}

TEST(Unpriced, ADefaultPriceMetersModelsTheCatalogDoesNotKnow) {
  Mock mock;
  Gateway gw(money_config(mock, temp_dir() + "/t.db",
                          "pricing:\n  default: {input: 3.0, output: 6.0}\n"));
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "one two three"), kKey);
  ASSERT_EQ(r.status, 200) << r.body;
  auto usage = r.json_body()["usage"];
  EXPECT_NEAR(std::stod(r.header("x-tollgate-cost-usd")),
              (usage["prompt_tokens"].get<double>() * 3 + usage["completion_tokens"].get<double>() * 6) / 1e6,
              1e-9);
}

}  // namespace
}  // namespace tg::it
