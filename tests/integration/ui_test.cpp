// The admin web UI through the real daemon: the embedded files and their headers, sign-in
// sessions (cookie flags, CSRF, sign-out, throttling) and where the cookie counts.

#include <signal.h>

#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

const Headers kMaster = {{"Authorization", "Bearer sk-test-master"}};

void expect_security_headers(const HttpResponse& r) {
  EXPECT_EQ(r.header("content-security-policy"),
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  EXPECT_EQ(r.header("x-frame-options"), "DENY");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
}

// The first hashed asset index.html refers to.
std::string first_asset(const std::string& html) {
  std::smatch m;
  if (!std::regex_search(html, m, std::regex("/ui/assets/[0-9a-f]+/[^\"'<> ]+"))) return "";
  return m[0].str();
}

struct Signed {
  std::string cookie;  // "tg_session=..."
  std::string csrf;
  std::string set_cookie;
};

Signed sign_in(uint16_t port, Headers extra = {}) {
  extra.emplace_back("Content-Type", "application/json");
  auto r = http(port, "POST", "/ui/api/session", R"({"key":"sk-test-master"})", extra);
  EXPECT_EQ(r.status, 200) << r.body;
  Signed s;
  s.set_cookie = r.header("set-cookie");
  s.cookie = s.set_cookie.substr(0, s.set_cookie.find(';'));
  s.csrf = r.json_body().value("csrf", "");
  return s;
}

TEST(Ui, IndexAndAssetsWithCachingCompressionAndSecurityHeaders) {
  Mock mock;
  Gateway gw(mock_config(mock));
  for (const char* path : {"/ui", "/ui/"}) {
    auto r = http(gw.port(), "GET", path, "", {});
    ASSERT_EQ(r.status, 200) << path << r.body;
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(r.header("cache-control"), "no-cache");
    EXPECT_FALSE(r.header("etag").empty());
    EXPECT_EQ(r.body.find("%ASSETS%"), std::string::npos);
    expect_security_headers(r);
  }
  auto index = http(gw.port(), "GET", "/ui/", "", {});
  const std::string etag = index.header("etag");
  auto again = http(gw.port(), "GET", "/ui/", "", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("content-length"), "") << "a 304 describes no body of its own";
  expect_security_headers(again);
  auto head = http(gw.port(), "HEAD", "/ui/", "", {});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), std::to_string(index.body.size()));

  const std::string asset = first_asset(index.body);
  ASSERT_FALSE(asset.empty()) << index.body;
  auto plain = http(gw.port(), "GET", asset, "", {});
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(plain.header("content-encoding"), "");
  EXPECT_FALSE(plain.header("content-type").empty());
  EXPECT_NE(plain.header("content-type"), "application/octet-stream");
  expect_security_headers(plain);
  // gzip when the client takes it (a file too small to shrink is embedded and sent as it is);
  // the plain bytes otherwise. Checked on index.html too, as the placeholder's asset is tiny.
  for (const std::string& path : {asset, std::string("/ui/")}) {
    SCOPED_TRACE(path);
    auto id = http(gw.port(), "GET", path, "", {});
    auto gz = http(gw.port(), "GET", path, "", {{"Accept-Encoding", "gzip, deflate, br"}});
    ASSERT_EQ(gz.status, 200);
    EXPECT_EQ(gz.header("cache-control"), id.header("cache-control"));
    EXPECT_EQ(gz.header("content-type"), id.header("content-type"));
    if (id.body.size() > 200) {
      EXPECT_EQ(gz.header("content-encoding"), "gzip");
      EXPECT_EQ(gz.header("vary"), "Accept-Encoding");
      EXPECT_EQ(id.header("vary"), "Accept-Encoding");
      ASSERT_GE(gz.body.size(), 2u);
      EXPECT_EQ(gz.body.substr(0, 2), "\x1f\x8b");
      EXPECT_LT(gz.body.size(), id.body.size());
      EXPECT_NE(gz.header("etag"), id.header("etag")) << "one ETag per encoding";
    }
    auto refused = http(gw.port(), "GET", path, "", {{"Accept-Encoding", "gzip;q=0, br"}});
    EXPECT_EQ(refused.header("content-encoding"), "");
    EXPECT_EQ(refused.body, id.body);
    for (const auto& tag : {id.header("etag"), gz.header("etag")}) {
      auto cached = http(gw.port(), "GET", path, "", {{"If-None-Match", tag}});
      EXPECT_EQ(cached.status, 304) << tag;
    }
    EXPECT_EQ(http(gw.port(), "GET", path, "", {{"If-None-Match", "\"other\""}}).status, 200);
  }

  // Another build's hash, an unknown file, a way out: 404, with the headers still on.
  const std::string dir = asset.substr(0, asset.rfind('/') + 1);
  for (const std::string& bad :
       {std::string("/ui/assets/0000000000000000/") + asset.substr(asset.rfind('/') + 1),
        dir + "nope.js", dir + "../../../../etc/passwd", dir + "index.html", std::string("/ui/x")}) {
    auto r = http(gw.port(), "GET", bad, "", {});
    EXPECT_EQ(r.status, 404) << bad;
    expect_security_headers(r);
  }
  EXPECT_EQ(http(gw.port(), "POST", "/ui/", "", {}).status, 405);
}

TEST(Ui, NoMasterKeyNoUi) {
  Mock mock;
  std::string config = mock_config(mock);
  config.erase(config.find("  master_key:"), std::string("  master_key: sk-test-master\n").size());
  Gateway gw(config);
  for (const char* path : {"/ui/", "/ui/api/session"}) {
    auto r = http(gw.port(), "GET", path, "", {});
    EXPECT_EQ(r.status, 403) << path;
    EXPECT_EQ(r.json_body()["error"]["code"], "admin_disabled");
  }
  auto r = http(gw.port(), "POST", "/ui/api/session", R"({"key":""})", {});
  EXPECT_EQ(r.status, 403);
}

// server.secure_cookie: Secure even when the TLS proxy in front does not say it is one.
TEST(Ui, SecureCookieSettingMarksEveryCookieSecure) {
  Mock mock;
  std::string config = mock_config(mock);
  const std::string master = "  master_key: sk-test-master\n";
  config.replace(config.find(master), master.size(), master + "  secure_cookie: true\n");
  Gateway gw(config);
  Signed s = sign_in(gw.port());
  EXPECT_NE(s.set_cookie.find("; HttpOnly; SameSite=Strict;"), std::string::npos) << s.set_cookie;
  EXPECT_NE(s.set_cookie.find("; Secure"), std::string::npos) << s.set_cookie;
}

TEST(Ui, SessionCookieFlagsCsrfAndSignOut) {
  Mock mock;
  Gateway gw(mock_config(mock));
  const uint16_t port = gw.port();
  auto wrong = http(port, "POST", "/ui/api/session", R"({"key":"sk-test-mastex"})", {});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.json_body()["error"]["type"], "authentication_error");
  EXPECT_EQ(wrong.header("set-cookie"), "");
  EXPECT_EQ(http(port, "POST", "/ui/api/session", R"({"nokey":1})", {}).status, 400);
  EXPECT_EQ(http(port, "POST", "/ui/api/session", "not json", {}).status, 400);

  Signed s = sign_in(port);
  EXPECT_TRUE(std::regex_match(s.set_cookie,
                               std::regex("tg_session=[0-9a-f]{64}; Path=/; HttpOnly; "
                                          "SameSite=Strict; Max-Age=43200")))
      << s.set_cookie;
  EXPECT_EQ(s.csrf.size(), 64u);
  auto tls = sign_in(port, {{"X-Forwarded-Proto", "https"}});
  EXPECT_NE(tls.set_cookie.find("; Secure"), std::string::npos) << tls.set_cookie;

  const Headers cookie = {{"Cookie", "theme=dark; " + s.cookie}};
  auto state = http(port, "GET", "/ui/api/session", "", cookie);
  ASSERT_EQ(state.status, 200);
  EXPECT_EQ(state.json_body()["csrf"], s.csrf);
  EXPECT_GT(state.json_body()["expires_at"].get<int64_t>(), 0);
  EXPECT_EQ(http(port, "GET", "/ui/api/session", "", {}).status, 401);
  EXPECT_EQ(http(port, "GET", "/ui/api/session", "", {{"Cookie", "tg_session=" + std::string(64, 'a')}}).status, 401);

  // GET needs only the cookie; a state change also the CSRF header.
  EXPECT_EQ(http(port, "GET", "/admin/keys", "", cookie).status, 200);
  EXPECT_EQ(http(port, "GET", "/admin/keys", "", {}).status, 401);
  const std::string key_body = R"({"name":"from-ui"})";
  auto no_csrf = http(port, "POST", "/admin/keys", key_body, cookie);
  EXPECT_EQ(no_csrf.status, 403);
  EXPECT_EQ(no_csrf.json_body()["error"]["code"], "csrf_failed");
  Headers bad = cookie;
  bad.emplace_back("x-tollgate-csrf", std::string(64, '0'));
  EXPECT_EQ(http(port, "POST", "/admin/keys", key_body, bad).json_body()["error"]["code"],
            "csrf_failed");
  Headers good = cookie;
  good.emplace_back("x-tollgate-csrf", s.csrf);
  auto created = http(port, "POST", "/admin/keys", key_body, good);
  EXPECT_EQ(created.status, 200) << created.body;
  // The CSRF token of another session is no good.
  Headers crossed = cookie;
  crossed.emplace_back("x-tollgate-csrf", tls.csrf);
  EXPECT_EQ(http(port, "POST", "/admin/keys", key_body, crossed).status, 403);
  // The playground: a chat with the session.
  auto chat_r = http(port, "POST", "/v1/chat/completions", chat("gpt-test", "hi").dump(), good);
  EXPECT_EQ(chat_r.status, 200) << chat_r.body;
  EXPECT_EQ(http(port, "POST", "/v1/chat/completions", chat("gpt-test", "hi").dump(), cookie).status,
            403);
  // A key header wins over the cookie, as before.
  Headers with_key = cookie;
  with_key.emplace_back("Authorization", "Bearer sk-tg-wrong");
  EXPECT_EQ(http(port, "GET", "/admin/keys", "", with_key).status, 401);

  // Sign-out: CSRF needed; then the session is dead server-side, the cookie cleared.
  EXPECT_EQ(http(port, "DELETE", "/ui/api/session", "", cookie).status, 403);
  auto out = http(port, "DELETE", "/ui/api/session", "", good);
  EXPECT_EQ(out.status, 204);
  EXPECT_EQ(out.body, "");
  EXPECT_NE(out.header("set-cookie").find("tg_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
            std::string::npos)
      << out.header("set-cookie");
  EXPECT_EQ(http(port, "GET", "/admin/keys", "", cookie).status, 401);
  EXPECT_EQ(http(port, "GET", "/ui/api/session", "", cookie).status, 401);
  EXPECT_EQ(http(port, "GET", "/admin/keys", "", {{"Cookie", tls.cookie}}).status, 200)
      << "other sessions live on";
}

TEST(Ui, ANewMasterKeySignsEverySessionOut) {
  Mock mock;
  Gateway gw(mock_config(mock));
  Signed s = sign_in(gw.port());
  const Headers cookie = {{"Cookie", s.cookie}};
  ASSERT_EQ(http(gw.port(), "GET", "/admin/keys", "", cookie).status, 200);
  {
    std::string config = mock_config(mock);
    config.replace(config.find("sk-test-master"), 14, "sk-test-other1");
    std::ofstream out(gw.config_path());
    out << config;
  }
  gw.process().signal(SIGHUP);  // (the file watcher may get there first: either reloads it)
  ASSERT_TRUE(eventually([&] {
    return http(gw.port(), "GET", "/admin/keys", "", {{"Authorization", "Bearer sk-test-other1"}})
               .status == 200;
  }));
  // Each worker takes the new snapshot on its own loop: soon, not at the same instant.
  EXPECT_TRUE(eventually([&] {
    return http(gw.port(), "GET", "/admin/keys", "", cookie).status == 401 &&
           http(gw.port(), "GET", "/ui/api/session", "", cookie).status == 401;
  }));
  for (int i = 0; i < 4; ++i) {  // on every worker
    EXPECT_EQ(http(gw.port(), "GET", "/admin/keys", "", cookie).status, 401);
  }
}

TEST(Ui, FailedSignInsAreThrottled) {
  Mock mock;
  Gateway gw(mock_config(mock));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(http(gw.port(), "POST", "/ui/api/session", R"({"key":"guess"})", {}).status, 401);
  }
  auto r = http(gw.port(), "POST", "/ui/api/session", R"({"key":"sk-test-master"})", {});
  EXPECT_EQ(r.status, 429) << "even the right key, until the window ends";
  EXPECT_EQ(r.json_body()["error"]["code"], "rate_limit_exceeded");
  EXPECT_FALSE(r.header("retry-after").empty());
  EXPECT_EQ(r.header("set-cookie"), "");
  EXPECT_EQ(gw.get("/admin/keys").status, 200) << "the master key itself still works";
}

TEST(Ui, WithAdminListenTheUiAndItsCookieLiveOnTheAdminPortOnly) {
  Mock mock;
  uint16_t admin = free_port();
  std::string config = mock_config(mock);
  config.insert(config.find("  master_key:"),
                "  admin_listen: 127.0.0.1:" + std::to_string(admin) + "\n");
  Gateway gw(config);
  EXPECT_EQ(http(gw.port(), "GET", "/ui/", "", {}).status, 404);
  EXPECT_EQ(http(gw.port(), "POST", "/ui/api/session", R"({"key":"sk-test-master"})", {}).status, 404);
  ASSERT_EQ(http(admin, "GET", "/ui/", "", {}).status, 200);
  Signed s = sign_in(admin);
  Headers good = {{"Cookie", s.cookie}, {"x-tollgate-csrf", s.csrf}};
  // Browsers send a cookie to every port of the host: the main port ignores it.
  auto main_chat = http(gw.port(), "POST", "/v1/chat/completions", chat("gpt-test", "x").dump(), good);
  EXPECT_EQ(main_chat.status, 401) << main_chat.body;
  auto alias = http(admin, "POST", "/ui/api/chat/completions", chat("gpt-test", "x").dump(), good);
  EXPECT_EQ(alias.status, 200) << alias.body;
  EXPECT_FALSE(alias.header("x-tollgate-provider").empty());
  std::string streamed;
  auto st = http_stream(admin, "/ui/api/chat/completions", chat("gpt-test", "y", true).dump(), good,
                        [&](const std::string& c) {
                          streamed += c;
                          return true;
                        });
  EXPECT_EQ(st.status, 200);
  EXPECT_NE(streamed.find("[DONE]"), std::string::npos);
  EXPECT_EQ(http(admin, "GET", "/admin/keys", "", {{"Cookie", s.cookie}}).status, 200);
}

}  // namespace
}  // namespace tg::it
