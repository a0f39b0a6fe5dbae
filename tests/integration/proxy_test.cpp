// End-to-end: the real tollgate in front of the real tollgate-mock, over loopback HTTP.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

std::string joined_content(const std::string& sse_body) {
  std::string content;
  for (const auto& d : sse_data(sse_body)) {
    if (d == "[DONE]") continue;
    auto j = json::parse(d, nullptr, false);
    if (!j.is_object() || !j.contains("choices")) continue;
    for (const auto& c : j["choices"]) {
      if (c.contains("delta") && c["delta"].contains("content") && c["delta"]["content"].is_string()) {
        content += c["delta"]["content"].get<std::string>();
      }
    }
  }
  return content;
}

class ProxyTest : public ::testing::Test {
 protected:
  Mock mock;
  Gateway gw{mock_config(mock)};
};

TEST_F(ProxyTest, NonStreamedChatCarriesContentAndUsageEndToEnd) {
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "Grüße, 世界! one two"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json_body();
  EXPECT_EQ(j["choices"][0]["message"]["content"], "mock: Grüße, 世界! one two");
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_EQ(r.header("x-tollgate-provider"), "mock");
  EXPECT_EQ(r.header("x-tollgate-model"), "gpt-4o-mini");
  EXPECT_EQ(r.header("x-tollgate-attempts"), "1");
  EXPECT_FALSE(r.header("x-request-id").empty());
  // The upstream saw the upstream model and the provider key, never the client's master key.
  auto reqs = mock.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0]["body"]["model"], "gpt-4o-mini");
  EXPECT_EQ(reqs[0]["headers"]["authorization"], "Bearer mock-upstream-key");
}

TEST_F(ProxyTest, PathsWorkWithAndWithoutV1AndProviderSlashModel) {
  auto a = gw.post("/chat/completions", chat("mock/gpt-4o", "hi"));
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.header("x-tollgate-model"), "gpt-4o");
  auto m = gw.get("/models");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.json_body()["data"][0]["id"], "gpt-test");
  EXPECT_EQ(gw.get("/v1/models").status, 200);
}

TEST_F(ProxyTest, StreamedChatIsForwardedWithDoneAndUsageOnlyWhenAsked) {
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "stream me please", true));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.header("content-type").find("text/event-stream"), std::string::npos);
  EXPECT_EQ(joined_content(r.body), "mock: stream me please");
  auto data = sse_data(r.body);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.back(), "[DONE]");
  for (const auto& d : data) {  // the usage chunk the gateway asked for is stripped
    if (d != "[DONE]") EXPECT_FALSE(json::parse(d)["choices"].empty()) << d;
  }
  // The upstream was asked for usage even though the client was not.
  EXPECT_EQ(mock.requests()[0]["body"]["stream_options"]["include_usage"], true);

  auto body = chat("gpt-test", "with usage", true);
  body["stream_options"] = {{"include_usage", true}};
  auto u = gw.post("/v1/chat/completions", body);
  auto ud = sse_data(u.body);
  ASSERT_GE(ud.size(), 2u);
  auto usage_chunk = json::parse(ud[ud.size() - 2]);
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_GT(usage_chunk["usage"]["completion_tokens"].get<int>(), 0);
}

TEST(ProxyStream, EventsAreForwardedAsTheyArriveNotBuffered) {
  Mock mock({"--interval-ms", "100", "--events", "6"});
  Gateway gw(mock_config(mock));
  auto body = chat("gpt-test", "a b c d e f g h", true);
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  auto r = http_stream(gw.port(), "/v1/chat/completions", body.dump(),
                       {{"Authorization", "Bearer sk-test-master"}}, [&](const std::string&) {
                         arrivals.push_back(std::chrono::steady_clock::now());
                         return true;
                       });
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(joined_content(r.body), "mock: a b c d e f g h");
  // The mock pauses 100 ms between events: a buffering proxy would deliver one lump at the end.
  ASSERT_GE(arrivals.size(), 5u);
  EXPECT_GE(arrivals.back() - arrivals.front(), std::chrono::milliseconds(400));
}

TEST_F(ProxyTest, ClientDisconnectMidStreamClosesTheUpstream) {
  mock.add_fault({{"mode", "stall"}, {"after_events", 2}});
  auto body = chat("gpt-test", "hang on", true);
  int chunks = 0;
  auto r = http_stream(gw.port(), "/v1/chat/completions", body.dump(),
                       {{"Authorization", "Bearer sk-test-master"}}, [&](const std::string&) {
                         return ++chunks < 1;  // disconnect after the first piece
                       });
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(eventually([&] {
    return mock.stats()["streams_aborted_by_client"].get<int>() == 1;
  })) << mock.stats().dump();
  // And the gateway keeps serving.
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "still there?")).status, 200);
}

TEST_F(ProxyTest, UpstreamDeathMidStreamEndsWithAnErrorEventNotDone) {
  mock.add_fault({{"mode", "drop_mid_stream"}, {"after_events", 3}});
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "one two three four five six", true));
  ASSERT_EQ(r.status, 200);
  auto data = sse_data(r.body);
  ASSERT_FALSE(data.empty());
  EXPECT_NE(data.back(), "[DONE]");
  auto last = json::parse(data.back());
  ASSERT_TRUE(last.contains("error")) << data.back();
  EXPECT_NE(last["error"]["message"].get<std::string>().find("interrupted"), std::string::npos);
  for (const auto& d : data) EXPECT_NE(d, "[DONE]");
}

TEST_F(ProxyTest, UpstreamErrorEventMidStreamIsForwardedWithoutDone) {
  mock.add_fault({{"mode", "error_mid_stream"}, {"after_events", 2}});
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "x y z", true));
  ASSERT_EQ(r.status, 200);
  auto data = sse_data(r.body);
  ASSERT_FALSE(data.empty());
  EXPECT_TRUE(json::parse(data.back()).contains("error"));
}

TEST_F(ProxyTest, ClientErrorsAreOpenAiShaped) {
  auto bad_json = http(gw.port(), "POST", "/v1/chat/completions", "{not json",
                       {{"Authorization", "Bearer sk-test-master"}});
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(bad_json.json_body()["error"]["type"], "invalid_request_error");

  auto no_model = gw.post("/v1/chat/completions", json{{"messages", json::array()}});
  EXPECT_EQ(no_model.status, 400);
  EXPECT_EQ(no_model.json_body()["error"]["param"], "model");

  auto unknown = gw.post("/v1/chat/completions", chat("nope-model", "hi"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.json_body()["error"]["code"], "model_not_found");

  auto bad_key = gw.post("/v1/chat/completions", chat("gpt-test", "hi"), "sk-wrong");
  EXPECT_EQ(bad_key.status, 401);
  EXPECT_EQ(bad_key.json_body()["error"]["code"], "invalid_api_key");
  EXPECT_EQ(bad_key.body.find("sk-wrong"), std::string::npos);  // never echo a key

  auto no_key = gw.post("/v1/chat/completions", chat("gpt-test", "hi"), "");
  EXPECT_EQ(no_key.status, 401);

  auto x_api_key = gw.post("/v1/chat/completions", chat("gpt-test", "hi"), "",
                           {{"x-api-key", "sk-test-master"}});
  EXPECT_EQ(x_api_key.status, 200);

  auto path = gw.get("/v1/nothing-here");
  EXPECT_EQ(path.status, 404);
  EXPECT_TRUE(path.json_body().contains("error"));
  EXPECT_EQ(mock.requests().size(), 1u);  // only the valid request reached the upstream
}

TEST_F(ProxyTest, OversizedBodyGets413) {
  std::string big(17 << 20, 'a');
  auto r = http(gw.port(), "POST", "/v1/chat/completions",
                R"({"model":"gpt-test","messages":[{"role":"user","content":")" + big + "\"}]}",
                {{"Authorization", "Bearer sk-test-master"}});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.json_body()["error"]["code"], "request_too_large");
  EXPECT_EQ(gw.get("/health").status, 200);
}

TEST_F(ProxyTest, UpstreamClientErrorIsPassedThroughNamingTheProvider) {
  auto r = gw.post("/v1/chat/completions", chat("mock/missing-model", "hi"));
  EXPECT_EQ(r.status, 404);
  auto j = r.json_body();
  EXPECT_EQ(j["error"]["code"], "model_not_found");
  EXPECT_EQ(j["error"]["provider"], "mock");
  EXPECT_EQ(mock.requests().size(), 1u);  // a client mistake is not retried
}

TEST_F(ProxyTest, RequestIdIsEchoed) {
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "hi"), "sk-test-master",
                   {{"x-request-id", "my-trace-123"}});
  EXPECT_EQ(r.header("x-request-id"), "my-trace-123");
}

TEST_F(ProxyTest, EmbeddingsAndLegacyCompletions) {
  auto e = gw.post("/v1/embeddings", {{"model", "mock/text-embedding-3-small"},
                                      {"input", {"alpha", "beta"}}});
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.json_body()["data"].size(), 2u);
  auto c = gw.post("/v1/completions", {{"model", "mock/gpt-3.5-turbo-instruct"}, {"prompt", "Say"}});
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.json_body()["choices"][0]["text"], "mock: Say");
  auto cs = gw.post("/v1/completions", {{"model", "mock/gpt-3.5-turbo-instruct"},
                                        {"prompt", "Say"},
                                        {"stream", true}});
  ASSERT_EQ(cs.status, 200);
  EXPECT_EQ(sse_data(cs.body).back(), "[DONE]");
}

TEST_F(ProxyTest, MetricsCountRequests) {
  gw.post("/v1/chat/completions", chat("gpt-test", "count me"));
  // Metrics are recorded just after the answer is written (possibly on the other worker).
  HttpResponse m;
  EXPECT_TRUE(eventually([&] {
    m = gw.get("/metrics", "");
    return m.body.find(R"(tollgate_requests_total{model="gpt-test",provider="mock",status="200"} 1)") !=
           std::string::npos;
  })) << m.body;
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("tollgate_overhead_duration_seconds_bucket"), std::string::npos);
}

std::string chain_config(const Mock& mock, uint16_t dead_port) {
  return "server:\n  master_key: sk-test-master\n  workers: 1\n"
         "providers:\n"
         "  mock:\n    type: openai-compatible\n    base_url: " + mock.base_url() + "\n"
         "    api_key: k1\n"
         "  dead:\n    type: openai-compatible\n    base_url: http://127.0.0.1:" +
         std::to_string(dead_port) + "/v1\n    api_key: k2\n"
         "models:\n"
         "  - name: chain\n    targets: [dead/gpt-4o-mini, mock/gpt-4o-mini]\n"
         "  - name: all-dead\n    targets: [dead/gpt-4o-mini]\n"
         "router:\n  retries: 0\n";
}

TEST(ProxyFailover, DeadTargetFailsOverAndAllDeadGives502) {
  Mock mock;
  Gateway gw(chain_config(mock, free_port()));
  auto ok = gw.post("/v1/chat/completions", chat("chain", "fail over"));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.header("x-tollgate-provider"), "mock");
  EXPECT_EQ(ok.header("x-tollgate-attempts"), "2");
  auto bad = gw.post("/v1/chat/completions", chat("all-dead", "nobody home"));
  EXPECT_EQ(bad.status, 502);
  auto j = bad.json_body();
  EXPECT_EQ(j["error"]["code"], "upstream_error");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("dead/gpt-4o-mini"), std::string::npos);
}

TEST(ProxyFailover, StreamFailsOverBeforeTheFirstEventInvisibly) {
  Mock mock;
  Gateway gw(mock_config(mock, "  - name: flaky-chain\n"
                               "    targets: [mock/flaky-a, mock/flaky-b, mock/gpt-4o-mini]\n") +
             "router:\n  retries: 0\n");
  // First target: 200 then the connection drops before any event; second: a 503.
  mock.add_fault({{"mode", "drop_mid_stream"}, {"after_events", 0}, {"match_model", "flaky-a"}});
  mock.add_fault({{"mode", "status"}, {"status", 503}, {"match_model", "flaky-b"}});
  auto r = gw.post("/v1/chat/completions", chat("flaky-chain", "first event", true));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tollgate-attempts"), "3");
  EXPECT_EQ(r.header("x-tollgate-model"), "gpt-4o-mini");
  EXPECT_EQ(joined_content(r.body), "mock: first event");
  EXPECT_EQ(sse_data(r.body).back(), "[DONE]");
  auto reqs = mock.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0]["body"]["model"], "flaky-a");
  EXPECT_EQ(reqs[1]["body"]["model"], "flaky-b");
  EXPECT_EQ(reqs[2]["body"]["model"], "gpt-4o-mini");
}

TEST(ProxyRetry, RetryableStatusIsRetriedOnTheSameTarget) {
  Mock mock;
  Gateway gw(mock_config(mock, "router:\n  retries: 2\n"));
  mock.add_fault({{"mode", "status"}, {"status", 500}, {"count", 2}});
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "third time lucky"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-tollgate-attempts"), "3");
  EXPECT_EQ(mock.requests().size(), 3u);
}

TEST(ProxyUpstream, UpstreamDownGives502AndTimeoutGives504) {
  uint16_t dead = free_port();
  Mock mock;
  Gateway gw("server:\n  master_key: sk-test-master\n"
             "providers:\n  down:\n    type: openai-compatible\n    base_url: http://127.0.0.1:" +
             std::to_string(dead) + "/v1\n    api_key: x\n"
             "  slow:\n    type: openai-compatible\n    base_url: " + mock.base_url() +
             "\n    api_key: x\n    timeouts: {connect: 1s, first_token: 300ms, idle: 300ms, total: 2s}\n"
             "router:\n  retries: 0\n");
  auto down = gw.post("/v1/chat/completions", chat("down/m", "hi"));
  EXPECT_EQ(down.status, 502);
  EXPECT_EQ(down.json_body()["error"]["code"], "upstream_error");
  mock.add_fault({{"mode", "stall"}, {"after_events", 0}});
  auto slow = gw.post("/v1/chat/completions", chat("slow/m", "hi", true));
  EXPECT_EQ(slow.status, 504) << slow.body;
  EXPECT_EQ(slow.json_body()["error"]["code"], "upstream_timeout");
}

TEST(ProxyLifecycle, GracefulShutdownLetsAStreamInFlightFinish) {
  Mock mock({"--interval-ms", "100"});
  Gateway gw(mock_config(mock));
  std::atomic<bool> started{false};
  HttpResponse result;
  std::thread client([&] {
    result = http_stream(gw.port(), "/v1/chat/completions",
                         chat("gpt-test", "one two three four five six seven eight", true).dump(),
                         {{"Authorization", "Bearer sk-test-master"}}, [&](const std::string&) {
                           started = true;
                           return true;
                         });
  });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  gw.process().signal(SIGTERM);
  // New connections are refused while the stream drains.
  EXPECT_TRUE(eventually([&] { return http(gw.port(), "GET", "/health").status == 0; }));
  client.join();
  EXPECT_EQ(gw.process().wait(), 0) << gw.process().output();
  EXPECT_EQ(sse_data(result.body).back(), "[DONE]");
  EXPECT_EQ(joined_content(result.body), "mock: one two three four five six seven eight");
}

TEST(ProxyLifecycle, ReloadUnderLoadDisturbsNothingAndBadConfigIsRefused) {
  Mock mock;
  Gateway gw(mock_config(mock));
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {  // t by value: the loop moves on while the thread runs
      while (!stop) {
        auto r = gw.post("/v1/chat/completions", chat("gpt-test", "under load", t % 2 == 0));
        (r.status == 200 ? ok : bad)++;
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return ok.load() > 0; }));
  // A good change through the file watcher: a new model appears.
  {
    std::ofstream out(gw.config_path());
    out << mock_config(mock, "  - name: added-later\n    targets: [mock/gpt-4o]\n");
  }
  EXPECT_TRUE(eventually([&] {
    return gw.post("/v1/chat/completions", chat("added-later", "hi")).status == 200;
  }));
  // A broken file is refused and the last good config keeps serving.
  {
    std::ofstream out(gw.config_path());
    out << "server:\n  workrs: 2\n";
  }
  auto reload = gw.post("/admin/reload", json::object());
  EXPECT_EQ(reload.status, 400) << reload.body;
  EXPECT_NE(reload.body.find("workrs"), std::string::npos);
  gw.process().signal(SIGHUP);
  EXPECT_TRUE(eventually([&] {
    return gw.process().output().find("reload (SIGHUP) refused") != std::string::npos;
  })) << gw.process().output();
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_GT(ok.load(), 20);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("added-later", "still")).status, 200);
}

// One keep-alive connection to the gateway, speaking HTTP/1.1 by hand: the harness's clients
// open a connection per request, and this bug lived only on a reused connection.
class KeepAliveConn {
 public:
  // rcvbuf > 0: a small receive window, so that the gateway's writes fill it (a slow reader).
  explicit KeepAliveConn(uint16_t port, int rcvbuf = 0) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~KeepAliveConn() { ::close(fd_); }
  bool connected() const { return connected_; }
  // POSTs body and returns the status (0 on a transport failure); the connection stays open.
  // With `answer`, the response's body goes there; `pause` is waited before reading any of it.
  int post(const std::string& target, const std::string& body, std::string* answer = nullptr,
           std::chrono::milliseconds pause = {}) {
    std::string req = "POST " + target + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer sk-test-master\r\n"
                      "Content-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return 0;
    std::this_thread::sleep_for(pause);
    std::string in;
    size_t head_end;
    while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more(in)) return 0;
    }
    auto cl = in.find("Content-Length: ");
    if (cl == std::string::npos || cl > head_end) cl = in.find("content-length: ");
    if (cl == std::string::npos || cl > head_end) return 0;
    const size_t length = std::stoul(in.substr(cl + 16));
    while (in.size() < head_end + 4 + length) {
      if (!read_more(in)) return 0;
    }
    if (answer) *answer = in.substr(head_end + 4, length);
    return std::stoi(in.substr(9, 3));
  }

 private:
  bool read_more(std::string& in) {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  bool connected_ = false;
};

TEST(ProxyLifecycle, AReloadAppliesToTheNextRequestOnAnIdleKeepAliveConnection) {
  Mock mock;
  Gateway gw(mock_config(mock));
  KeepAliveConn conn(gw.port());
  ASSERT_TRUE(conn.connected());
  ASSERT_EQ(conn.post("/v1/chat/completions", chat("gpt-test", "before").dump()), 200);
  // While the connection waits for its next request, a new model arrives by reload.
  {
    std::ofstream out(gw.config_path());
    out << mock_config(mock, "  - name: added-later\n    targets: [mock/gpt-4o]\n");
  }
  ASSERT_EQ(gw.post("/admin/reload", json::object()).status, 200);
  // Regression: the connection's first request after the reload was served with the old config
  // (the snapshot was taken before its head was read), so the new model was a 404.
  EXPECT_EQ(conn.post("/v1/chat/completions", chat("added-later", "after").dump()), 200);
}

// Requests and answers larger than a socket takes at once: the gateway writes what the kernel
// takes without the event loop, and the rest when the peer reads. Both directions must arrive
// whole, in order, and leave the keep-alive connection's framing right.
TEST(ProxyLifecycle, BodiesLargerThanTheSocketBuffersArriveWholeBothWays) {
  Mock mock;
  Gateway gw(mock_config(mock));
  std::string text;
  for (int i = 0; text.size() < (4u << 20); ++i) text += "w" + std::to_string(i) + " ";
  const size_t words = static_cast<size_t>(std::count(text.begin(), text.end(), ' '));
  // A 64 KB receive window and a pause before reading: the gateway's answer (4 MB) cannot go
  // out in one write, nor its 4 MB request to the upstream.
  KeepAliveConn conn(gw.port(), 64 * 1024);
  ASSERT_TRUE(conn.connected());
  std::string answer;
  ASSERT_EQ(conn.post("/v1/chat/completions", chat("gpt-test", text).dump(), &answer,
                      std::chrono::milliseconds(300)),
            200);
  const json j = json::parse(answer, nullptr, false);
  ASSERT_TRUE(j.is_object()) << answer.substr(0, 200);
  // The mock counted every word of the request and echoed the text back.
  EXPECT_EQ(j["usage"]["prompt_tokens"], words);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "mock: " + text);
  // The same connection serves the next request.
  std::string small;
  ASSERT_EQ(conn.post("/v1/chat/completions", chat("gpt-test", "after").dump(), &small), 200);
  EXPECT_EQ(json::parse(small)["choices"][0]["message"]["content"], "mock: after");

  // Streamed: each event is about 200 KB (the mock splits the answer into 20), and the client
  // reads nothing for a moment after the first piece.
  json streamed = chat("gpt-test", text, true);
  std::string content;
  bool done = false;
  bool paused = false;
  auto r = http_stream(gw.port(), "/v1/chat/completions", streamed.dump(),
                       {{"Authorization", "Bearer sk-test-master"}},
                       [&](const std::string&) {
                         if (!paused) std::this_thread::sleep_for(std::chrono::milliseconds(300));
                         paused = true;
                         return true;
                       });
  ASSERT_EQ(r.status, 200) << r.error;
  for (const auto& data : sse_data(r.body)) {
    if (data == "[DONE]") {
      done = true;
      continue;
    }
    const json e = json::parse(data, nullptr, false);
    ASSERT_TRUE(e.is_object()) << data.substr(0, 200);
    if (!e["choices"].empty() && e["choices"][0]["delta"].contains("content") &&
        e["choices"][0]["delta"]["content"].is_string()) {
      content += e["choices"][0]["delta"]["content"].get<std::string>();
    }
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(content, "mock: " + text);
}

// An upstream that hangs up half way through a request it will not take (the mock refuses a
// body over 32 MiB with a 413 and closes while the gateway is still writing): the write fails,
// the client gets a JSON error naming the target (after the one retry on a new connection), and
// the gateway keeps serving.
TEST(ProxyLifecycle, AnUpstreamGoneHalfWayThroughTheRequestIsAClearError) {
  Mock mock;
  std::string config = mock_config(mock);
  config.replace(config.find("server:\n"), 8, "server:\n  max_request_body: 48MB\n");
  Gateway gw(config);
  const std::string text(33u << 20, 'a');
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", text));
  EXPECT_EQ(r.status, 502) << r.body.substr(0, 300);
  const json e = r.json_body();
  ASSERT_TRUE(e.contains("error")) << r.body.substr(0, 300);
  EXPECT_EQ(e["error"]["code"], "upstream_error") << r.body;
  EXPECT_NE(e["error"]["message"].get<std::string>().find("mock/gpt-4o-mini"), std::string::npos)
      << r.body;
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "still serving")).status, 200);
}

TEST(ProxyLifecycle, SighupReloadsAChangeTheFileWatcherCannotSee) {
  Mock mock;
  Gateway gw(mock_config(mock));
  // The config path becomes a symlink to a file in another directory. The watcher sees the swap
  // itself (its directory changed) and loads "via-watcher"; later writes to the target happen in
  // a directory it does not watch, so only SIGHUP can pick them up.
  const std::string target = temp_dir() + "/real.yaml";
  {
    std::ofstream out(target);
    out << mock_config(mock, "  - name: via-watcher\n    targets: [mock/gpt-4o]\n");
  }
  const std::string link = gw.config_path() + ".link";
  std::filesystem::create_symlink(target, link);
  std::filesystem::rename(link, gw.config_path());
  ASSERT_TRUE(eventually([&] {
    return gw.post("/v1/chat/completions", chat("via-watcher", "hi")).status == 200;
  }));

  {
    std::ofstream out(target);
    out << mock_config(mock, "  - name: after-sighup\n    targets: [mock/gpt-4o]\n");
  }
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("after-sighup", "hi")).status, 404);
  gw.process().signal(SIGHUP);
  EXPECT_TRUE(eventually([&] {
    return gw.post("/v1/chat/completions", chat("after-sighup", "hi")).status == 200;
  })) << gw.process().output();
  // The log line is written by the async logger: it may land after the reload took effect.
  EXPECT_TRUE(eventually([&] {
    return gw.process().output().find("configuration reloaded (SIGHUP)") != std::string::npos;
  })) << gw.process().output();
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("via-watcher", "gone")).status, 404);
}

}  // namespace
}  // namespace tg::it
