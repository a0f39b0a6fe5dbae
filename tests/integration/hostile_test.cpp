// Hostile clients against the real daemon (issue 16: crashes, injection, access): each test sends
// what an attacker (or an unlucky client) would, and checks the answer and that the daemon is
// still serving afterwards.

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

using Clock = std::chrono::steady_clock;

bool still_serving(Gateway& gw) { return http(gw.port(), "GET", "/health").status == 200; }

// {"model":...,"stream":true,"messages":[...],"x":[[[[...]]]]}: `depth` brackets, about 2 bytes
// each (a million levels is 2 MB).
std::string deep_body(const std::string& model, size_t depth, bool anthropic = false) {
  std::string body = R"({"model":")" + model + R"(","stream":true,)";
  if (anthropic) body += R"("max_tokens":16,)";
  body += R"("messages":[{"role":"user","content":"hi"}],"x":)";
  body.reserve(body.size() + 2 * depth + 2);
  body.append(depth, '[');
  body.append(depth, ']');
  body += '}';
  return body;
}

std::string anthropic_config(const Mock& mock, const std::string& extra = "") {
  const std::string root = "http://127.0.0.1:" + std::to_string(mock.port());
  return "server:\n  master_key: sk-test-master\n  workers: 1\n  log_level: debug\n"
         "providers:\n"
         "  claude:\n    type: anthropic\n    base_url: " + root + "\n    api_key: up-key\n"
         "  oai:\n    type: openai\n    base_url: " + root + "/v1\n    api_key: up-key\n"
         "  gem:\n    type: gemini\n    base_url: " + root + "\n    api_key: up-key\n"
         "models:\n"
         "  - name: claude\n    targets: [claude/claude-sonnet-4-5]\n"
         "  - name: gpt\n    targets: [oai/gpt-4o-mini]\n"
         "  - name: flash\n    targets: [gem/gemini-2.5-flash]\n" + extra;
}

json messages_body(const std::string& model, const json& messages) {
  return {{"model", model}, {"max_tokens", 32}, {"messages", messages}};
}

json last_request(Mock& mock) {
  json all = mock.requests();
  return all.is_array() && !all.empty() ? all.back() : json();
}

// ---- 1. Nesting ------------------------------------------------------------------------------

// A million levels used to overflow the worker's stack (recursive serialisation) and kill the
// daemon; now every JSON entry refuses a body nested deeper than 128 levels, at once.
TEST(Hostile, DeeplyNestedBodiesAreRefusedAtEveryEntry) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(anthropic_config(mock));
  const std::string bomb = deep_body("gpt", 1'000'000);
  ASSERT_GT(bomb.size(), 2'000'000u);
  const Headers master = {{"Authorization", "Bearer sk-test-master"},
                          {"anthropic-version", "2023-06-01"}};
  for (const char* path : {"/v1/chat/completions", "/v1/completions", "/v1/embeddings",
                           "/v1/messages", "/v1/messages/count_tokens", "/admin/keys"}) {
    auto started = Clock::now();
    auto r = http(gw.port(), "POST", path, deep_body("gpt", 1'000'000, true), master);
    EXPECT_EQ(r.status, 400) << path << ": " << r.error << r.body.substr(0, 300);
    EXPECT_NE(r.body.find("128"), std::string::npos) << path << ": " << r.body.substr(0, 300);
    EXPECT_LT(Clock::now() - started, std::chrono::seconds(5)) << path;
    ASSERT_TRUE(still_serving(gw)) << path << "\n" << gw.process().output().substr(0, 2000);
  }
  // 128 levels in all is fine (the request goes on to the upstream), 129 is not.
  auto ok = http(gw.port(), "POST", "/v1/chat/completions", deep_body("gpt", 127), master);
  EXPECT_EQ(ok.status, 200) << ok.body;
  auto over = http(gw.port(), "POST", "/v1/chat/completions", deep_body("gpt", 128), master);
  EXPECT_EQ(over.status, 400) << over.body;
  EXPECT_EQ(over.json_body()["error"]["type"], "invalid_request_error");
  // Brackets inside strings are text, not nesting.
  json text = chat("gpt", std::string(10'000, '['));
  EXPECT_EQ(gw.post("/v1/chat/completions", text).status, 200);
}

// ---- 2. Gemini $ref --------------------------------------------------------------------------

// Six {"$ref":"#"} properties unroll as 6^24 nodes: the worker froze. Now the inlining has a
// budget per request: the answer comes at once, with the unrolling cut short (and said so).
TEST(Hostile, RecursiveRefToolSchemaToGeminiAnswersAtOnce) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(anthropic_config(mock));
  json props = json::object();
  for (const char* p : {"a", "b", "c", "d", "e", "f"}) props[p] = {{"$ref", "#"}};
  json tool = {{"type", "function"},
               {"function",
                {{"name", "bomb"}, {"parameters", {{"type", "object"}, {"properties", props}}}}}};
  json body = chat("flash", "hi");
  body["tools"] = json::array({tool});
  ASSERT_LT(body.dump().size(), 500u);
  auto started = Clock::now();
  auto r = gw.post("/v1/chat/completions", body);
  const auto took = Clock::now() - started;
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_TRUE(still_serving(gw));
  EXPECT_NE(gw.process().output().find("cannot take 'tools.parameters.$ref'"), std::string::npos);
}

// ---- 3. "stream": null -----------------------------------------------------------------------

// It threw inside the handler: the client saw a dropped connection, active_requests leaked and
// SIGTERM then waited the whole drain deadline. null now means false; another type is a 400.
TEST(Hostile, MessagesStreamNullIsFalseAndShutdownStaysPrompt) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(anthropic_config(mock));
  const Headers h = {{"x-api-key", "sk-test-master"}, {"anthropic-version", "2023-06-01"}};
  json body = messages_body("claude", json::array({{{"role", "user"}, {"content", "hi"}}}));
  body["stream"] = nullptr;
  auto r = http(gw.port(), "POST", "/v1/messages", body.dump(), h);
  ASSERT_EQ(r.status, 200) << r.error << r.body;
  EXPECT_EQ(r.json_body()["type"], "message");
  body["stream"] = "yes";
  auto bad = http(gw.port(), "POST", "/v1/messages", body.dump(), h);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.json_body()["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(still_serving(gw));
  // Nothing is left in flight: SIGTERM exits well before server.drain_timeout (30 s).
  auto started = Clock::now();
  gw.process().signal(SIGTERM);
  EXPECT_EQ(gw.process().wait(std::chrono::seconds(25)), 0);
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
}

// ---- 4. Header and path injection ------------------------------------------------------------

TEST(Hostile, ModelNamesCannotInjectHeadersOrEscapeUpstreamPaths) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(anthropic_config(mock));
  const std::string raw = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                          "Authorization: Bearer sk-test-master\r\nConnection: close\r\n"
                          "Content-Type: application/json\r\n";
  const std::string body =
      R"({"model":"oai/x\r\nX-Injected: 1","messages":[{"role":"user","content":"hi"}]})";
  std::string answer =
      raw_exchange(gw.port(), raw + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_EQ(answer.find("\r\nX-Injected"), std::string::npos) << answer;
  EXPECT_NE(answer.find(R"("param":"model")"), std::string::npos) << answer;

  const size_t before = mock.requests().size();
  for (const std::string& model : std::vector<std::string>{"gem/../../v1beta/models/x", "gem/./x", "oai/..",
                                  "gem/" + std::string(300, 'm'), std::string("oai/a\x01")}) {
    auto r = gw.post("/v1/chat/completions", chat(model, "hi"));
    EXPECT_EQ(r.status, 400) << model << ": " << r.body;
    EXPECT_EQ(r.json_body()["error"]["param"], "model") << model;
  }
  const Headers h = {{"x-api-key", "sk-test-master"}, {"anthropic-version", "2023-06-01"}};
  auto m = http(gw.port(), "POST", "/v1/messages",
                messages_body("gem/../x", json::array({{{"role", "user"}, {"content", "hi"}}})).dump(),
                h);
  EXPECT_EQ(m.status, 400) << m.body;
  EXPECT_EQ(mock.requests().size(), before) << "nothing reached the upstream";
  // Dots inside a name are fine, and a '/' inside a Gemini model id stays in its segment.
  auto dotted = gw.post("/v1/chat/completions", chat("gem/gemini-2.5-flash", "hi"));
  EXPECT_EQ(dotted.status, 200) << dotted.body;
  gw.post("/v1/chat/completions", chat("gem/x/y", "hi"));
  EXPECT_EQ(last_request(mock)["path"], "/v1beta/models/x%2Fy:generateContent");
}

// ---- 5. Log injection ------------------------------------------------------------------------

// A JSON key chosen by the client reaches a warning ("provider cannot take ..."): its newline
// must not start a log line of its own.
TEST(Hostile, ClientStringsCannotForgeLogLines) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(anthropic_config(mock));
  json body = chat("flash", "hi");
  body["tools"] = json::array(
      {{{"type", "function"},
        {"function",
         {{"name", "t"},
          {"parameters",
           {{"type", "object"},
            {"properties", {{"p", {{"type", "string"}}}}},
            {"evil\n2026-01-01T00:00:00.000Z error FORGED", true}}}}}}});
  auto r = gw.post("/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200) << r.body;
  std::string out;
  ASSERT_TRUE(eventually([&] {
    out = gw.process().output();
    return out.find("FORGED") != std::string::npos;
  })) << out;
  EXPECT_EQ(out.find("\n2026-01-01T00:00:00.000Z error FORGED"), std::string::npos) << out;
  EXPECT_NE(out.find("evil\\n2026-01-01"), std::string::npos) << out;
}

// ---- 6. Access -------------------------------------------------------------------------------

std::string open_config(const Mock& mock, const std::string& server_extra = "") {
  return "server:\n  workers: 1\n" + server_extra +
         "providers:\n  oai:\n    type: openai\n    base_url: " + mock.base_url() +
         "\n    api_key: up-key\n"
         "models:\n  - name: gpt\n    targets: [oai/gpt-4o-mini]\n";
}

TEST(Hostile, WithoutAMasterKeyTheAdminApiIsRefused) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(open_config(mock));
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/admin/keys"}, {"GET", "/admin/keys"}, {"GET", "/admin/logs"},
           {"GET", "/admin/spend"}, {"POST", "/admin/reload"}, {"POST", "/admin/teams"}}) {
    for (const std::string key : {"", "sk-anything"}) {
      Headers h;
      if (!key.empty()) h.emplace_back("Authorization", "Bearer " + key);
      auto r = http(gw.port(), method, path, method == "POST" ? R"({"name":"x"})" : "", h);
      EXPECT_EQ(r.status, 403) << method << " " << path << ": " << r.body;
      EXPECT_NE(r.body.find("TOLLGATE_MASTER_KEY"), std::string::npos) << r.body;
      EXPECT_EQ(r.json_body()["error"]["type"], "permission_error");
    }
  }
  // The API itself stays open on loopback (the README's quick start).
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt", "hi"), "").status, 200);
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt", "hi"), "sk-any-placeholder").status, 200);
  // A virtual key presented in open mode is still checked: an unknown one is refused, never
  // let through as the master.
  auto unknown = gw.post("/v1/chat/completions", chat("gpt", "hi"), "sk-tg-revoked-or-mistyped");
  EXPECT_EQ(unknown.status, 401) << unknown.body;
  EXPECT_EQ(unknown.json_body()["error"]["code"], "invalid_api_key");
}

// A non-loopback IPv4 address of this machine, if it has one.
std::optional<std::string> lan_address() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (ifaddrs* a = list; a && !found; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    if (std::string(buf).rfind("127.", 0) != 0) found = buf;
  }
  freeifaddrs(list);
  return found;
}

bool can_connect(const std::string& ip, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

// Starts tollgate with --listen 0.0.0.0:0; returns the port it reports.
uint16_t start_on_wildcard(Process& gw, const std::string& config) {
  std::string dir = temp_dir();
  {
    std::ofstream out(dir + "/config.yaml");
    out << config;
  }
  gw.start({TG_TOLLGATE_BIN, "--config", dir + "/config.yaml", "--listen", "0.0.0.0:0",
            "--port-file", dir + "/port"});
  uint16_t port = 0;
  eventually([&] {
    std::ifstream in(dir + "/port");
    int p = 0;
    if (in >> p) port = static_cast<uint16_t>(p);
    return port != 0;
  });
  return port;
}

// An open API is a deliberate choice: without a master key and without
// server.allow_unauthenticated, a wildcard listen address becomes loopback, loudly.
TEST(Hostile, OpenModeListensOnLoopbackUnlessAllowed) {
  Mock mock({"--api-key", "up-key"});
  const auto lan = lan_address();
  {
    Process gw;
    uint16_t port = start_on_wildcard(gw, open_config(mock));
    ASSERT_NE(port, 0) << gw.output();
    EXPECT_TRUE(eventually([&] { return http(port, "GET", "/health").status == 200; }));
    EXPECT_TRUE(eventually([&] {
      return gw.output().find("listening on 127.0.0.1:" + std::to_string(port)) != std::string::npos;
    })) << gw.output();
    std::string out = gw.output();
    EXPECT_NE(out.find("TOLLGATE_MASTER_KEY"), std::string::npos) << out;
    EXPECT_NE(out.find("allow_unauthenticated"), std::string::npos) << out;
    if (lan) EXPECT_FALSE(can_connect(*lan, port)) << *lan;
  }
  {
    Process gw;
    uint16_t port =
        start_on_wildcard(gw, open_config(mock, "  allow_unauthenticated: true\n"));
    ASSERT_NE(port, 0) << gw.output();
    EXPECT_TRUE(eventually([&] { return http(port, "GET", "/health").status == 200; }));
    // The line comes through the async logger: it can land after the port is open.
    EXPECT_TRUE(eventually([&] {
      return gw.output().find("listening on 0.0.0.0:" + std::to_string(port)) != std::string::npos;
    })) << gw.output();
    if (lan) EXPECT_TRUE(can_connect(*lan, port)) << *lan;
    // Still no admin API without a master key.
    EXPECT_EQ(http(port, "GET", "/admin/keys").status, 403);
  }
  {
    // With a master key, the address is kept; a reload that would drop the key is refused.
    Process gw;
    std::string with_key = open_config(mock, "  master_key: sk-test-master\n");
    uint16_t port = start_on_wildcard(gw, with_key);
    ASSERT_NE(port, 0) << gw.output();
    EXPECT_TRUE(eventually([&] { return http(port, "GET", "/health").status == 200; }));
    ASSERT_TRUE(eventually([&] {
      return gw.output().find("listening on 0.0.0.0:" + std::to_string(port)) != std::string::npos;
    })) << gw.output();
    std::string path;
    {
      // start_on_wildcard wrote the config next to the port file: find it from the output.
      std::smatch m;
      std::string out = gw.output();
      ASSERT_TRUE(std::regex_search(out, m, std::regex("config: (\\S+config\\.yaml)"))) << out;
      path = m[1];
    }
    {
      std::ofstream out(path);
      out << open_config(mock);
    }
    auto r = http(port, "POST", "/admin/reload", "", {{"Authorization", "Bearer sk-test-master"}});
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("allow_unauthenticated"), std::string::npos) << r.body;
    // The master key still rules.
    EXPECT_EQ(http(port, "GET", "/admin/keys", "", {{"Authorization", "Bearer sk-test-master"}})
                  .status,
              200);
    EXPECT_EQ(http(port, "POST", "/v1/chat/completions", chat("gpt", "hi").dump()).status, 401);
  }
}

// ---- 7. Disabled and expired keys on every endpoint --------------------------------------------

TEST(Hostile, DisabledExpiredAndRestrictedKeysOnModelsAndCountTokens) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(anthropic_config(mock, "store:\n  sqlite: " + temp_dir() + "/t.db\n"));
  auto mint = [&](json spec) {
    auto r = gw.post("/admin/keys", spec);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json_body();
  };
  json disabled = mint({{"name", "off"}});
  ASSERT_EQ(http(gw.port(), "PATCH", "/admin/keys/" + disabled["id"].get<std::string>(),
                 R"({"enabled":false})", {{"Authorization", "Bearer sk-test-master"}})
                .status,
            200);
  json expired = mint({{"name", "old"}, {"expires_at", "2020-01-01T00:00:00Z"}});
  json limited = mint({{"name", "lim"}, {"models", {"claude"}}, {"limits", {{"rpm", 1}}}});

  json count = {{"model", "claude"},
                {"messages", json::array({{{"role", "user"}, {"content", "one two"}}})}};
  auto count_with = [&](const std::string& key, const json& body) {
    return http(gw.port(), "POST", "/v1/messages/count_tokens", body.dump(),
                {{"x-api-key", key}, {"anthropic-version", "2023-06-01"}});
  };
  const size_t upstream_before = mock.requests().size();
  for (auto [k, code] : std::vector<std::pair<json, std::string>>{{disabled, "key_disabled"},
                                                                   {expired, "key_expired"}}) {
    const std::string key = k["key"];
    auto models = gw.get("/v1/models", key);
    EXPECT_EQ(models.status, 403) << models.body;
    EXPECT_EQ(models.json_body()["error"]["code"], code);
    auto counted = count_with(key, count);
    EXPECT_EQ(counted.status, 403) << counted.body;
    EXPECT_NE(counted.body.find("permission_error"), std::string::npos) << counted.body;
  }
  EXPECT_EQ(mock.requests().size(), upstream_before) << "no provider call for a refused key";

  const std::string lim = limited["key"];
  json other = count;
  other["model"] = "gpt";
  auto denied = count_with(lim, other);
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_NE(denied.body.find("may not use"), std::string::npos) << denied.body;
  EXPECT_EQ(count_with(lim, count).status, 200);
  auto third = count_with(lim, count);  // rpm 1
  EXPECT_EQ(third.status, 429) << third.body;
  EXPECT_FALSE(third.header("retry-after").empty());
  // count_tokens is logged like any API request, with the key.
  json rows;
  ASSERT_TRUE(eventually([&] {
    rows = gw.get("/admin/logs?key=" + limited["id"].get<std::string>()).json_body()["data"];
    return rows.is_array() && rows.size() >= 3;
  })) << rows.dump();
  EXPECT_EQ(rows[0]["model"], "claude");
}

// ---- 8. HEAD ---------------------------------------------------------------------------------

TEST(Hostile, HeadGetsTheHeadersOfGetAndNoBody) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(anthropic_config(mock));
  // Two requests on one keep-alive connection: a body after HEAD's head would be read as the
  // start of the second answer.
  std::string answer = raw_exchange(
      gw.port(),
      "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-test-master\r\n\r\n"
      "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  size_t first_end = answer.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos) << answer;
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.substr(0, first_end).find("Content-Length: 15"), std::string::npos) << answer;
  EXPECT_EQ(answer.compare(first_end + 4, 12, "HTTP/1.1 200"), 0) << answer;
  size_t second_end = answer.find("\r\n\r\n", first_end + 4);
  ASSERT_NE(second_end, std::string::npos) << answer;
  EXPECT_NE(answer.substr(first_end, second_end - first_end).find("Content-Length: "),
            std::string::npos);
  EXPECT_EQ(answer.compare(second_end + 4, 12, "HTTP/1.1 200"), 0) << answer;
  EXPECT_EQ(answer.substr(answer.size() - 15), R"({"status":"ok"})") << answer;
}

// ---- 9. Header count -------------------------------------------------------------------------

TEST(Hostile, MoreThanAHundredHeaderFieldsGet431AndAClose) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(anthropic_config(mock));
  auto head_with = [](int n) {
    std::string head = "GET /health HTTP/1.1\r\nHost: x\r\n";
    for (int i = 1; i < n; ++i) head += "X-F" + std::to_string(i) + ": v\r\n";
    return head + "\r\n";
  };
  std::string many = raw_exchange(gw.port(), head_with(2000) + head_with(1));
  EXPECT_EQ(many.rfind("HTTP/1.1 431", 0), 0u) << many.substr(0, 300);
  EXPECT_NE(many.find("Connection: close"), std::string::npos);
  EXPECT_EQ(many.find("HTTP/1.1 200"), std::string::npos) << "the connection was closed";
  std::string hundred = raw_exchange(gw.port(), head_with(100) + "GET /health HTTP/1.1\r\nHost: "
                                                                 "x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(hundred.rfind("HTTP/1.1 200", 0), 0u) << hundred.substr(0, 300);
  std::string hundred_one = raw_exchange(gw.port(), head_with(101));
  EXPECT_EQ(hundred_one.rfind("HTTP/1.1 431", 0), 0u) << hundred_one.substr(0, 300);
  EXPECT_TRUE(still_serving(gw));
}

// ---- 10. Claude Code's system messages -------------------------------------------------------

TEST(Hostile, SystemEntriesInMessagesAreNeverRefused) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(anthropic_config(mock));
  json msgs = json::array({{{"role", "user"}, {"content", "first"}},
                           {{"role", "system"}, {"content", "be brief"}},
                           {{"role", "user"}, {"content", "second"}}});
  json body = messages_body("claude", msgs);
  body["system"] = "you are a test";
  auto send = [&](const std::string& model, const std::string& version) {
    json b = body;
    b["model"] = model;
    return http(gw.port(), "POST", "/v1/messages", b.dump(),
                {{"x-api-key", "sk-test-master"}, {"anthropic-version", version}});
  };
  // An older anthropic-version: folded into "system" for an Anthropic target.
  auto old = send("claude", "2023-06-01");
  ASSERT_EQ(old.status, 200) << old.body;
  json up = last_request(mock);
  EXPECT_EQ(up["headers"]["anthropic-version"], "2023-06-01");
  ASSERT_EQ(up["body"]["messages"].size(), 2u) << up.dump();
  EXPECT_EQ(up["body"]["system"], json::parse(R"([{"type":"text","text":"you are a test"},
                                                 {"type":"text","text":"be brief"}])"));
  // 2026-10-21 and later: as sent, with the client's version.
  auto fresh = send("claude", "2026-10-21");
  ASSERT_EQ(fresh.status, 200) << fresh.body;
  up = last_request(mock);
  EXPECT_EQ(up["headers"]["anthropic-version"], "2026-10-21");
  ASSERT_EQ(up["body"]["messages"].size(), 3u) << up.dump();
  EXPECT_EQ(up["body"]["messages"][1], msgs[1]);
  EXPECT_EQ(up["body"]["system"], "you are a test");
  // Another target: an OpenAI system message in place.
  auto other = send("gpt", "2023-06-01");
  ASSERT_EQ(other.status, 200) << other.body;
  up = last_request(mock);
  json sent = up["body"]["messages"];
  ASSERT_EQ(sent.size(), 4u) << up.dump();
  EXPECT_EQ(sent[0], json({{"role", "system"}, {"content", "you are a test"}}));
  EXPECT_EQ(sent[2], json({{"role", "system"}, {"content", "be brief"}}));
  // Streamed too, and count_tokens.
  json streamed = body;
  streamed["stream"] = true;
  auto s = http(gw.port(), "POST", "/v1/messages", streamed.dump(),
                {{"x-api-key", "sk-test-master"}, {"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(s.status, 200) << s.body;
  auto c = http(gw.port(), "POST", "/v1/messages/count_tokens", body.dump(),
                {{"x-api-key", "sk-test-master"}, {"anthropic-version", "2023-06-01"}});
  EXPECT_EQ(c.status, 200) << c.body;
}

// ---- 11. Unknown paths -----------------------------------------------------------------------

TEST(Hostile, UnknownPathIsNamedAsSent) {
  Mock mock({"--api-key", "up-key"});
  Gateway gw(anthropic_config(mock));
  auto r = gw.get("/v1/responsez?secret=1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json_body()["error"]["message"], "Unknown path: /v1/responsez") << r.body;
  auto bare = gw.get("/nothing/here");
  EXPECT_EQ(bare.json_body()["error"]["message"], "Unknown path: /nothing/here") << bare.body;
  auto method = http(gw.port(), "GET", "/v1/chat/completions?x=1", "",
                     {{"Authorization", "Bearer sk-test-master"}});
  EXPECT_EQ(method.status, 405);
  EXPECT_NE(method.body.find("/v1/chat/completions"), std::string::npos) << method.body;
  EXPECT_EQ(method.body.find("x=1"), std::string::npos) << method.body;
}

}  // namespace
}  // namespace tg::it
