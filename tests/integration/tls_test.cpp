// End-to-end over TLS: the real tollgate talks HTTPS to a TLS-terminating forwarder (in this
// process, with a CA and certificates generated at test time) that pumps bytes to the real
// tollgate-mock. Covers verification against a private CA, the system store, tls_verify: false,
// hostname checks, HTTPS_PROXY/NO_PROXY tunnelling and keep-alive pooling of TLS connections.

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"
#include "tls_support.hpp"

namespace tg::it {
namespace {

using tls::ConnectProxy;
using tls::Pki;
using tls::TlsForwarder;

std::string joined_content(const std::string& sse_body) {
  std::string content;
  for (const auto& d : sse_data(sse_body)) {
    if (d == "[DONE]") continue;
    auto j = json::parse(d, nullptr, false);
    if (!j.is_object() || !j.contains("choices")) continue;
    for (const auto& c : j["choices"]) {
      if (c.contains("delta") && c["delta"].contains("content") &&
          c["delta"]["content"].is_string()) {
        content += c["delta"]["content"].get<std::string>();
      }
    }
  }
  return content;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string https_url(const std::string& host, uint16_t port) {
  return "https://" + host + ":" + std::to_string(port) + "/v1";
}

// One provider block (4-space indented keys) for the config below.
std::string provider(const std::string& name, const std::string& base_url,
                     const std::string& extra_lines = "") {
  return "  " + name + ":\n"
         "    type: openai-compatible\n"
         "    base_url: " + base_url + "\n"
         "    api_key: " + name + "-upstream-key\n" + extra_lines;
}

// One worker (so pooling and handshake counts are deterministic), no retries (one attempt per
// request), a plain-HTTP provider "plain" straight to the mock, plus the given providers.
std::string config(const Mock& mock, const std::string& providers) {
  return "server:\n"
         "  master_key: sk-test-master\n"
         "  workers: 1\n"
         "  log_level: debug\n"
         "providers:\n" +
         provider("plain", mock.base_url()) + providers +
         "router:\n"
         "  retries: 0\n";
}

std::string ca_line(const Pki& pki) { return "    ca_file: " + pki.ca_pem + "\n"; }

// Proxy variables are inherited unless set: make the daemon's view explicit.
std::vector<std::pair<std::string, std::string>> proxy_env(const std::string& https_proxy,
                                                          const std::string& no_proxy) {
  return {{"HTTPS_PROXY", https_proxy}, {"https_proxy", https_proxy},
          {"NO_PROXY", no_proxy},       {"no_proxy", no_proxy},
          {"HTTP_PROXY", ""},           {"http_proxy", ""}};
}

const std::vector<std::pair<std::string, std::string>> kNoProxy = proxy_env("", "");

// Expects a 502 upstream_error whose message names the TLS failure, and that the upstream saw
// nothing of it.
void expect_tls_failure(const HttpResponse& r, const std::string& provider_name) {
  EXPECT_EQ(r.status, 502) << r.body;
  auto j = r.json_body();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["error"]["code"], "upstream_error") << r.body;
  std::string msg = lower(j["error"].value("message", ""));
  EXPECT_NE(msg.find("tls"), std::string::npos) << r.body;
  EXPECT_NE(msg.find("certificate"), std::string::npos) << r.body;
  EXPECT_NE(msg.find(provider_name), std::string::npos) << r.body;
}

// A CA, a certificate for localhost + 127.0.0.1 and a forwarder to the mock, shared by the
// fixtures below.
class TlsUpstream : public ::testing::Test {
 protected:
  Mock mock;
  Pki pki = tls::make_pki({"localhost"}, {"127.0.0.1"});
  TlsForwarder fwd{pki.cert_pem, pki.key_pem, mock.port()};
};

// 1. Verification against a private CA given as ca_file: streamed and non-streamed chat work, the
//    content arrives intact, SNI names the host.
TEST_F(TlsUpstream, PrivateCaFileVerifiesAndChatWorksStreamedAndNot) {
  Gateway gw(config(mock, provider("secure", https_url("localhost", fwd.port()), ca_line(pki))),
             kNoProxy);
  const std::string text = "Grüße über TLS, 世界! \"quotes\" and \\backslashes\\ 🔒";
  auto r = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", text));
  ASSERT_EQ(r.status, 200) << r.body << "\n" << gw.process().output();
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], "mock: " + text);
  EXPECT_EQ(r.header("x-tollgate-provider"), "secure");

  auto s = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", text + " streamed", true));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_NE(s.header("content-type").find("text/event-stream"), std::string::npos);
  EXPECT_EQ(joined_content(s.body), "mock: " + text + " streamed");
  auto data = sse_data(s.body);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.back(), "[DONE]");

  // Both requests crossed the TLS forwarder (the mock saw the provider's key) ...
  auto reqs = mock.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0]["headers"]["authorization"], "Bearer secure-upstream-key");
  EXPECT_EQ(reqs[0]["body"]["model"], "gpt-4o-mini");
  // ... over verified handshakes that sent SNI.
  EXPECT_GE(fwd.handshakes(), 1);
  EXPECT_EQ(fwd.failed_handshakes(), 0);
  auto sni = fwd.sni();
  ASSERT_FALSE(sni.empty());
  for (const auto& name : sni) EXPECT_EQ(name, "localhost");
}

// 1b. An IP-literal base URL is verified against the certificate's IP SAN, and sends no SNI
//     (RFC 6066 forbids IP literals in SNI).
TEST_F(TlsUpstream, IpLiteralBaseUrlVerifiesAgainstIpSan) {
  Gateway gw(config(mock, provider("secure", https_url("127.0.0.1", fwd.port()), ca_line(pki))),
             kNoProxy);
  auto r = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", "by address"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], "mock: by address");
  ASSERT_EQ(fwd.sni().size(), 1u);
  EXPECT_EQ(fwd.sni()[0], "");
}

// 2. Without ca_file only the system store is trusted: the private CA is refused with a 502 that
//    says why, nothing reaches the upstream, and the daemon keeps serving.
TEST_F(TlsUpstream, SystemStoreAloneRefusesPrivateCaWith502) {
  Gateway gw(config(mock, provider("secure", https_url("localhost", fwd.port()))), kNoProxy);
  auto r = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", "should not arrive"));
  expect_tls_failure(r, "secure");
  auto s = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", "nor this", true));
  expect_tls_failure(s, "secure");
  EXPECT_TRUE(eventually([&] { return fwd.failed_handshakes() >= 2; })) << fwd.failed_handshakes();
  EXPECT_EQ(fwd.handshakes(), 0);

  // Still serving: health, and a plain provider on the same worker.
  EXPECT_EQ(gw.get("/health", "").status, 200);
  auto ok = gw.post("/v1/chat/completions", chat("plain/gpt-4o-mini", "still here"));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json_body()["choices"][0]["message"]["content"], "mock: still here");
  EXPECT_TRUE(gw.process().running());
  EXPECT_EQ(mock.requests().size(), 1u);  // only the plain request reached the mock
}

// 3. tls_verify: false trusts anything (the self-signed home server case); verification being
//    off also covers the hostname.
TEST(TlsUpstreamNoVerify, TlsVerifyFalseAcceptsAnUntrustedCertificate) {
  Mock mock;
  Pki pki = tls::make_pki({"wrong.example"}, {});  // untrusted CA and the wrong name
  TlsForwarder fwd(pki.cert_pem, pki.key_pem, mock.port());
  Gateway gw(config(mock, provider("home", https_url("localhost", fwd.port()),
                                   "    tls_verify: false\n")),
             kNoProxy);
  auto r = gw.post("/v1/chat/completions", chat("home/llama3", "no verification"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], "mock: no verification");
  auto s = gw.post("/v1/chat/completions", chat("home/llama3", "streamed too", true));
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(joined_content(s.body), "mock: streamed too");
  EXPECT_GE(fwd.handshakes(), 1);
  EXPECT_EQ(fwd.failed_handshakes(), 0);
}

// 4. The right CA is not enough: the certificate must name the host of base_url.
TEST(TlsHostname, CertificateForAnotherNameIsRefusedEvenWithTheRightCa) {
  Mock mock;
  // Valid for localhost only (no IP SAN), reached as 127.0.0.1.
  Pki name_only = tls::make_pki({"localhost"}, {});
  TlsForwarder fwd_name_only(name_only.cert_pem, name_only.key_pem, mock.port());
  // Valid for wrong.example only, reached as localhost.
  Pki wrong = tls::make_pki({"wrong.example"}, {});
  TlsForwarder fwd_wrong(wrong.cert_pem, wrong.key_pem, mock.port());

  Gateway gw(config(mock,
                    provider("byip", https_url("127.0.0.1", fwd_name_only.port()),
                             ca_line(name_only)) +
                        provider("wrongname", https_url("localhost", fwd_wrong.port()),
                                 ca_line(wrong)) +
                        // Control: the same CA and certificate, reached by the name they carry.
                        provider("good", https_url("localhost", fwd_name_only.port()),
                                 ca_line(name_only))),
             kNoProxy);

  expect_tls_failure(gw.post("/v1/chat/completions", chat("byip/gpt-4o-mini", "x")), "byip");
  expect_tls_failure(gw.post("/v1/chat/completions", chat("wrongname/gpt-4o-mini", "y")),
                     "wrongname");
  EXPECT_TRUE(eventually([&] {
    return fwd_name_only.failed_handshakes() == 1 && fwd_wrong.failed_handshakes() == 1;
  }));
  EXPECT_EQ(fwd_wrong.handshakes(), 0);
  EXPECT_EQ(fwd_name_only.handshakes(), 0);

  auto ok = gw.post("/v1/chat/completions", chat("good/gpt-4o-mini", "right name"));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json_body()["choices"][0]["message"]["content"], "mock: right name");
  EXPECT_EQ(fwd_name_only.handshakes(), 1);
  EXPECT_EQ(mock.requests().size(), 1u);
}

// 5. HTTPS_PROXY: the TLS connection is tunnelled with CONNECT to the origin's host:port (TLS and
//    verification end to end through the tunnel); NO_PROXY bypasses it.
TEST_F(TlsUpstream, HttpsProxyTunnelsWithConnect) {
  ConnectProxy proxy;
  Gateway gw(config(mock, provider("secure", https_url("localhost", fwd.port()), ca_line(pki))),
             proxy_env(proxy.url(), ""));
  auto r = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", "via the proxy"));
  ASSERT_EQ(r.status, 200) << r.body << "\n" << gw.process().output();
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], "mock: via the proxy");
  EXPECT_EQ(proxy.connects(), 1);
  EXPECT_EQ(proxy.targets(), std::vector<std::string>{"localhost:" + std::to_string(fwd.port())});
  EXPECT_EQ(fwd.handshakes(), 1);
  ASSERT_EQ(fwd.sni().size(), 1u);
  EXPECT_EQ(fwd.sni()[0], "localhost");  // SNI is the origin's, not the proxy's

  // The tunnelled connection is pooled like any other: the next request needs no new CONNECT.
  auto again = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", "again"));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(proxy.connects(), 1);
  EXPECT_EQ(proxy.accepted(), 1);

  // HTTPS_PROXY does not apply to plain http:// providers.
  auto plain = gw.post("/v1/chat/completions", chat("plain/gpt-4o-mini", "direct"));
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(proxy.accepted(), 1);
}

TEST_F(TlsUpstream, NoProxyBypassesTheProxy) {
  ConnectProxy proxy;
  Gateway gw(config(mock, provider("secure", https_url("localhost", fwd.port()), ca_line(pki))),
             proxy_env(proxy.url(), "example.com, localhost"));
  auto r = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", "direct"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], "mock: direct");
  EXPECT_EQ(fwd.handshakes(), 1);
  EXPECT_EQ(proxy.accepted(), 0);
  EXPECT_EQ(proxy.connects(), 0);
}

// A proxy that cannot be reached is a clean 502 naming the proxy, not a hang or a crash.
TEST_F(TlsUpstream, UnreachableProxyIsA502) {
  std::string dead_proxy = "http://127.0.0.1:" + std::to_string(free_port());
  Gateway gw(config(mock, provider("secure", https_url("localhost", fwd.port()), ca_line(pki))),
             proxy_env(dead_proxy, ""));
  auto r = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", "nowhere"));
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(r.json_body()["error"]["code"], "upstream_error") << r.body;
  EXPECT_EQ(fwd.accepted(), 0);
  EXPECT_EQ(gw.get("/health", "").status, 200);
}

// 6. Keep-alive over TLS: sequential requests on one worker reuse one TLS connection.
TEST_F(TlsUpstream, SequentialRequestsReuseOneTlsConnection) {
  Gateway gw(config(mock, provider("secure", https_url("localhost", fwd.port()), ca_line(pki))),
             kNoProxy);
  for (int i = 0; i < 20; ++i) {
    std::string text = "request " + std::to_string(i);
    auto r = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", text));
    ASSERT_EQ(r.status, 200) << i << ": " << r.body;
    ASSERT_EQ(r.json_body()["choices"][0]["message"]["content"], "mock: " + text) << i;
  }
  EXPECT_EQ(mock.requests().size(), 20u);
  EXPECT_EQ(fwd.handshakes(), 1);
  EXPECT_EQ(fwd.accepted(), 1);
}

// A pooled TLS connection that the server dropped while idle (TCP close, no close_notify) is
// detected on reuse and the request is sent again on a fresh connection, with no router retry.
// (Over TLS a peer that closes without close_notify surfaces as ssl::error::stream_truncated,
// which UpstreamClient::send treats as a stale pooled connection.)
TEST_F(TlsUpstream, PooledConnectionDroppedByTheServerIsReplacedTransparently) {
  Gateway gw(config(mock, provider("secure", https_url("localhost", fwd.port()), ca_line(pki))),
             kNoProxy);
  auto first = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", "first"));
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(fwd.handshakes(), 1);
  ASSERT_EQ(fwd.drop_connections(), 1);
  ASSERT_TRUE(eventually([&] { return fwd.open_connections() == 0; }));

  auto second = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", "second"));
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.json_body()["choices"][0]["message"]["content"], "mock: second");
  EXPECT_EQ(second.header("x-tollgate-attempts"), "1");
  EXPECT_EQ(fwd.handshakes(), 2);
}

// A new connection to an origin resumes the TLS session of the last one (an abbreviated
// handshake: what a reconnect to a cloud provider costs after its keep-alive timeout).
TEST_F(TlsUpstream, ReconnectResumesTheTlsSession) {
  Gateway gw(config(mock, provider("secure", https_url("localhost", fwd.port()), ca_line(pki))),
             kNoProxy);
  for (int i = 0; i < 3; ++i) {
    auto r = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", "hello"));
    ASSERT_EQ(r.status, 200) << i << ": " << r.body;
    ASSERT_EQ(r.json_body()["choices"][0]["message"]["content"], "mock: hello") << i;
    ASSERT_EQ(fwd.drop_connections(), 1) << i;
    ASSERT_TRUE(eventually([&] { return fwd.open_connections() == 0; })) << i;
  }
  EXPECT_EQ(fwd.handshakes(), 3);
  EXPECT_EQ(fwd.resumed_handshakes(), 2);
}

// A streamed response's connection goes back to the pool: after [DONE] the relay reads the
// chunked terminator, so 20 streams need one TLS handshake.
TEST_F(TlsUpstream, SequentialStreamedRequestsReuseOneTlsConnection) {
  Gateway gw(config(mock, provider("secure", https_url("localhost", fwd.port()), ca_line(pki))),
             kNoProxy);
  for (int i = 0; i < 20; ++i) {
    std::string text = "stream " + std::to_string(i);
    auto r = gw.post("/v1/chat/completions", chat("secure/gpt-4o-mini", text, true));
    ASSERT_EQ(r.status, 200) << i << ": " << r.body;
    ASSERT_EQ(joined_content(r.body), "mock: " + text) << i;
    ASSERT_EQ(sse_data(r.body).back(), "[DONE]") << i;
  }
  EXPECT_EQ(mock.requests().size(), 20u);
  EXPECT_EQ(fwd.handshakes(), 1);
  EXPECT_EQ(fwd.accepted(), 1);
}

}  // namespace
}  // namespace tg::it
