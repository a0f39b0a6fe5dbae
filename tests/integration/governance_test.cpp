// Virtual keys, budgets, rate limits and spend, through the real daemon and the mock.

#include <signal.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

json chat(const std::string& model, const std::string& text, bool stream = false,
          int max_tokens = 20) {
  json body = {{"model", model},
               {"messages", {{{"role", "user"}, {"content", text}}}},
               {"max_tokens", max_tokens}};
  if (stream) body["stream"] = true;
  return body;
}

// The mock's model is priced at $1 / $2 per 1M tokens: a small answer costs tens of µUSD.
std::string gov_config(const Mock& mock, const std::string& db, const std::string& keys) {
  return mock_config(mock, "  - name: other\n    targets: [mock/gpt-4o]\n") + "store:\n  sqlite: " +
         db + "\n" +
         "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n  mock/gpt-4o: {input: 1.0, output: 2.0}\n" +
         keys;
}

json find_key(Gateway& gw, const std::string& name) {
  json all = gw.get("/admin/keys").json_body();  // (a range-for over a temporary's member dangles)
  for (const auto& k : all["data"]) {
    if (k["name"] == name) return k;
  }
  return nullptr;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Keys, ConfigKeysRestrictModelsAndAuthErrorsAreExact) {
  Mock mock;
  Gateway gw(gov_config(mock, temp_dir() + "/t.db",
                        "keys:\n  - name: app\n    key: sk-tg-app-key-0123456789abcdef0123456789\n"
                        "    models: [gpt-test]\n"));
  const std::string key = "sk-tg-app-key-0123456789abcdef0123456789";
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "ok"), key).status, 200);
  auto denied = gw.post("/v1/chat/completions", chat("other", "no"), key);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.json_body()["error"]["code"], "model_not_allowed");
  // provider/model cannot go around the restriction.
  auto direct = gw.post("/v1/chat/completions", chat("mock/gpt-4o", "sneaky"), key);
  EXPECT_EQ(direct.status, 403);
  auto models = gw.get("/v1/models", key).json_body()["data"];
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0]["id"], "gpt-test");
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "x"), "sk-tg-nope").status, 401);
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "x"), "").status, 401);
  // A virtual key cannot use the admin API.
  EXPECT_EQ(gw.get("/admin/keys", key).status, 401);
  EXPECT_EQ(gw.get("/admin/logs", key).status, 401);
}

TEST(Keys, AdminLifecycleKeyShownOnceThenDisabledThenRevoked) {
  Mock mock;
  Gateway gw(gov_config(mock, temp_dir() + "/t.db", ""));
  auto created = gw.post("/admin/keys", {{"name", "kid"}, {"limits", {{"rpm", 100}}}});
  ASSERT_EQ(created.status, 200) << created.body;
  std::string key = created.json_body()["key"];
  std::string id = created.json_body()["id"];
  EXPECT_EQ(key.rfind("sk-tg-", 0), 0u);
  EXPECT_GE(key.size(), 6u + 43u);  // >= 32 random bytes, encoded
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "hi"), key).status, 200);
  auto listed = gw.get("/admin/keys");
  EXPECT_EQ(listed.body.find(key), std::string::npos);  // never shown again
  EXPECT_EQ(gw.get("/admin/keys/" + id).json_body()["name"], "kid");
  auto off = http(gw.port(), "PATCH", "/admin/keys/" + id, R"({"enabled": false})",
                  {{"Authorization", "Bearer sk-test-master"}});
  ASSERT_EQ(off.status, 200) << off.body;
  auto disabled = gw.post("/v1/chat/completions", chat("gpt-test", "hi"), key);
  EXPECT_EQ(disabled.status, 403);
  EXPECT_EQ(disabled.json_body()["error"]["code"], "key_disabled");
  auto del = http(gw.port(), "DELETE", "/admin/keys/" + id, "",
                  {{"Authorization", "Bearer sk-test-master"}});
  ASSERT_EQ(del.status, 200);
  auto revoked = gw.post("/v1/chat/completions", chat("gpt-test", "hi"), key);
  EXPECT_EQ(revoked.status, 401);
  EXPECT_EQ(revoked.json_body()["error"]["code"], "invalid_api_key");
}

TEST(Keys, RateLimitRpmIsExactAndHeadersAreSent) {
  Mock mock;
  Gateway gw(gov_config(mock, temp_dir() + "/t.db",
                        "keys:\n  - name: limited\n    key: sk-tg-limited-0123456789abcdef012345678\n"
                        "    limits: {rpm: 5}\n"));
  const std::string key = "sk-tg-limited-0123456789abcdef012345678";
  std::atomic<int> ok{0}, limited{0};
  std::vector<std::thread> threads;
  std::string retry_after, remaining;
  std::mutex mu;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      auto r = gw.post("/v1/chat/completions", chat("gpt-test", "rpm"), key);
      if (r.status == 200) {
        ++ok;
      } else if (r.status == 429 && r.json_body()["error"]["code"] == "rate_limit_exceeded") {
        ++limited;
        std::lock_guard lock(mu);
        retry_after = r.header("retry-after");
        remaining = r.header("x-ratelimit-remaining-requests");
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(limited.load(), 7);
  EXPECT_FALSE(retry_after.empty());
  EXPECT_EQ(remaining, "0");
}

TEST(Budgets, ConcurrentRequestsNeverOvershootAndTheRefusalNamesTheBudget) {
  Mock mock;
  std::string db = temp_dir() + "/t.db";
  Gateway gw(gov_config(mock, db,
                        "keys:\n  - name: tight\n    key: sk-tg-tight-0123456789abcdef0123456789a\n"
                        "    budget: {usd: 0.001, period: monthly}\n"));
  const std::string key = "sk-tg-tight-0123456789abcdef0123456789a";
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  std::string message, should_retry;
  std::mutex mu;
  for (int t = 0; t < 10; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto r = gw.post("/v1/chat/completions",
                         chat("gpt-test", "spend a little " + std::to_string(t * 10 + i), i % 3 == 0),
                         key);
        if (r.status == 200) {
          ++ok;
        } else if (r.status == 429 && r.json_body()["error"]["code"] == "budget_exceeded") {
          ++refused;
          std::lock_guard lock(mu);
          message = r.json_body()["error"]["message"];
          should_retry = r.header("x-should-retry");
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok.load(), 5);
  EXPECT_GT(refused.load(), 0);
  EXPECT_EQ(should_retry, "false");
  EXPECT_NE(message.find("tight"), std::string::npos) << message;
  EXPECT_NE(message.find("monthly"), std::string::npos) << message;
  auto k = find_key(gw, "tight");
  ASSERT_TRUE(k.is_object());
  double spent = k["budget"]["spend_usd"];
  EXPECT_LE(spent, 0.001 + 1e-9);  // never past the budget: actuals stay under the reservations
  EXPECT_GT(spent, 0.0005);
  // /v1/models is never refused for budget.
  EXPECT_EQ(gw.get("/v1/models", key).status, 200);
  // Spend survives a restart.
  gw.process().signal(SIGTERM);
  ASSERT_EQ(gw.process().wait(), 0);
  Gateway again(gov_config(mock, db,
                           "keys:\n  - name: tight\n    key: sk-tg-tight-0123456789abcdef0123456789a\n"
                           "    budget: {usd: 0.001, period: monthly}\n"));
  auto k2 = find_key(again, "tight");
  EXPECT_DOUBLE_EQ(k2["budget"]["spend_usd"].get<double>(), spent);
  EXPECT_EQ(again.post("/v1/chat/completions", chat("gpt-test", "more?"), key).status, 429);
  // The key never reaches the database or the logs in plaintext.
  EXPECT_EQ(slurp(db).find(key), std::string::npos);
  EXPECT_EQ(slurp(db + "-wal").find(key), std::string::npos);
  EXPECT_EQ(gw.process().output().find(key), std::string::npos);
}

TEST(Spend, StreamsAreBilledAndNonStreamedAnswersCarryTheirCost) {
  Mock mock;
  Gateway gw(gov_config(mock, temp_dir() + "/t.db",
                        "keys:\n  - name: meter\n    key: sk-tg-meter-0123456789abcdef0123456789a\n"
                        "    team: family\nteams:\n  - name: family\n    budget: {usd: 10, period: daily}\n"));
  const std::string key = "sk-tg-meter-0123456789abcdef0123456789a";
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "what does it cost"), key);
  ASSERT_EQ(r.status, 200);
  double cost = std::stod(r.header("x-tollgate-cost-usd"));
  auto usage = r.json_body()["usage"];
  EXPECT_NEAR(cost, (usage["prompt_tokens"].get<double>() * 1 + usage["completion_tokens"].get<double>() * 2) / 1e6,
              1e-9);
  auto s = gw.post("/v1/chat/completions", chat("gpt-test", "stream without usage", true), key);
  ASSERT_EQ(s.status, 200);
  EXPECT_TRUE(eventually([&] {
    auto k = find_key(gw, "meter");
    return k.is_object() && k["spend_usd"].get<double>() > cost + 1e-9;
  })) << find_key(gw, "meter").dump();
  auto team = gw.get("/admin/teams/family").json_body();
  EXPECT_GT(team["budget"]["spend_usd"].get<double>(), cost);
  auto metrics = gw.get("/metrics", "").body;
  EXPECT_NE(metrics.find("tollgate_cost_usd_total{model=\"gpt-test\",provider=\"mock\",team=\"family\"}"),
            std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace tg::it
