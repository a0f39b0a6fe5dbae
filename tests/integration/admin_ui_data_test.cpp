// The admin endpoints the web UI reads, through the real daemon and the mock: stats after
// requests, one log row, log filters, keys' last use and budgets in nano-USD, providers,
// the redacted config and a refused reload's errors.

#include <chrono>
#include <algorithm>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string data_config(const Mock& mock, const std::string& db, const std::string& models = "") {
  return mock_config(mock, models) + "store:\n  sqlite: " + db + "\n" +
         "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n";
}

TEST(AdminUiData, StatsCountRequestsTokensCostAndLatency) {
  Mock mock;
  Gateway gw(data_config(mock, temp_dir() + "/t.db"));
  const int64_t from = now_ms() - 60'000;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "hello")).status, 200);
  }
  mock.add_fault({{"status", 400}, {"match_model", "gpt-4o-mini"}});
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "refused")).status, 400);
  const std::string q = "/admin/stats?from=" + std::to_string(from) +
                        "&to=" + std::to_string(now_ms() + 60'000) + "&step=60";
  json s;
  ASSERT_TRUE(eventually([&] {
    s = gw.get(q).json_body();
    return s.contains("totals") && s["totals"]["requests"] == 4;
  })) << s.dump();
  EXPECT_EQ(s["step"], 60);
  EXPECT_EQ(s["from"].get<int64_t>() % 60'000, 0);
  EXPECT_EQ(s["buckets"].size(), s["series"][0]["requests"].size());
  EXPECT_EQ(s["series"][0]["group"], "all");
  const json& t = s["totals"];
  EXPECT_EQ(t["errors"], 1);
  EXPECT_GT(t["input_tokens"].get<int64_t>(), 0);
  EXPECT_GT(t["output_tokens"].get<int64_t>(), 0);
  EXPECT_GT(t["cost_nano_usd"].get<int64_t>(), 0);
  EXPECT_TRUE(t["cost_nano_usd"].is_number_integer());
  EXPECT_TRUE(t["latency_p50_ms"].is_number()) << t.dump();
  EXPECT_TRUE(t["latency_p95_ms"].is_number());
  // The spend agrees with the log, to the nano-dollar.
  int64_t logged = 0;
  const json logs = gw.get("/admin/logs").json_body();  // (not a temporary's member: it dangles)
  ASSERT_EQ(logs["data"].size(), 4u);
  for (const auto& r : logs["data"]) {
    logged += r["cost_nano_usd"].is_null() ? 0 : r["cost_nano_usd"].get<int64_t>();
  }
  EXPECT_EQ(t["cost_nano_usd"], logged);

  auto by_model = gw.get(q + "&group_by=provider").json_body();
  ASSERT_EQ(by_model["series"].size(), 1u) << by_model.dump();
  EXPECT_EQ(by_model["series"][0]["group"], "mock");
  EXPECT_EQ(by_model["series"][0]["total"]["requests"], 4);
  auto bad = gw.get(q + "&group_by=colour");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json_body()["error"]["type"], "invalid_request_error");
  EXPECT_EQ(gw.get("/admin/stats?step=7").status, 400);
  EXPECT_EQ(gw.get("/admin/stats?from=0&to=" + std::to_string(now_ms()) + "&step=60").status, 400)
      << "too many buckets";
  auto day = gw.get("/admin/stats").json_body();  // defaults: the last day
  EXPECT_EQ(day["totals"]["requests"], 4) << day.dump();
  EXPECT_EQ(gw.get("/admin/stats", "").status, 401);
}

TEST(AdminUiData, OneLogRowFiltersKeysLastUseAndNanoBudgets) {
  Mock mock;
  Gateway gw(data_config(mock, temp_dir() + "/t.db"));
  auto created = gw.post("/admin/keys", {{"name", "kid"}, {"budget", {{"usd", 5}, {"period", "monthly"}}}});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string key = created.json_body()["key"];
  const std::string id = created.json_body()["id"];
  auto fresh = gw.get("/admin/keys/" + id).json_body();
  EXPECT_TRUE(fresh.contains("last_used_at"));
  EXPECT_TRUE(fresh["last_used_at"].is_null());
  EXPECT_EQ(fresh["budget"]["limit_nano_usd"], 5'000'000'000LL);
  EXPECT_EQ(fresh["budget"]["spend_nano_usd"], 0);
  const int64_t before = now_ms();
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "from the kid"), key).status, 200);
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "from master")).status, 200);
  json listed;
  ASSERT_TRUE(eventually([&] {
    listed = gw.get("/admin/keys").json_body();
    return listed["data"].size() == 1 && listed["data"][0]["last_used_at"].is_number();
  })) << listed.dump();
  EXPECT_GE(listed["data"][0]["last_used_at"].get<int64_t>(), before - 1000);
  EXPECT_GT(listed["data"][0]["budget"]["spend_nano_usd"].get<int64_t>(), 0);

  auto mine = gw.get("/admin/logs?key=" + id).json_body()["data"];
  ASSERT_EQ(mine.size(), 1u);
  const int64_t row_id = mine[0]["id"];
  auto one = gw.get("/admin/logs/" + std::to_string(row_id));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.json_body()["id"], row_id);
  EXPECT_EQ(one.json_body()["key_name"], "kid");
  EXPECT_EQ(one.json_body()["provider"], "mock");
  EXPECT_EQ(one.json_body()["request_id"], mine[0]["request_id"]);
  EXPECT_TRUE(one.json_body()["cost_nano_usd"].is_number_integer());
  for (const char* missing : {"/admin/logs/999999", "/admin/logs/abc", "/admin/logs/-1"}) {
    auto r = gw.get(missing);
    EXPECT_EQ(r.status, 404) << missing;
    EXPECT_EQ(r.json_body()["error"]["code"], "not_found");
  }
  EXPECT_EQ(gw.get("/admin/logs?provider=mock").json_body()["data"].size(), 2u);
  EXPECT_EQ(gw.get("/admin/logs?provider=nope").json_body()["data"].size(), 0u);
  auto page = gw.get("/admin/logs?limit=1").json_body();
  ASSERT_EQ(page["data"].size(), 1u);
  auto next = gw.get("/admin/logs?limit=1&before_id=" + page["data"][0]["id"].dump()).json_body();
  ASSERT_EQ(next["data"].size(), 1u);
  EXPECT_LT(next["data"][0]["id"].get<int64_t>(), page["data"][0]["id"].get<int64_t>());
}

// The log row's detail says what each attempt met: a failover's failed target and the one that
// answered; a request nothing answered lists every try; a first-time answer carries no list.
TEST(AdminUiData, LogRowShowsEachAttemptOfAFailover) {
  Mock a, b;
  auto provider = [](const std::string& name, const Mock& m) {
    return "  " + name + ":\n    type: openai-compatible\n    base_url: " + m.base_url() +
           "\n    api_key: key-" + name + "\n";
  };
  Gateway gw("server:\n  master_key: sk-test-master\n  workers: 2\nrouter:\n  retries: 0\n"
             "  allowed_fails: 100\nproviders:\n" + provider("a", a) + provider("b", b) +
             "models:\n  - name: m\n    targets: [a/gpt-4o, b/gpt-4o-mini]\n"
             "  - name: only-a\n    targets: [a/gpt-4o]\n"
             "store:\n  sqlite: " + temp_dir() + "/t.db\n");
  a.add_fault({{"mode", "status"}, {"status", 503}, {"count", 1}});
  auto failover = gw.post("/v1/chat/completions", chat("m", "one"));
  ASSERT_EQ(failover.status, 200) << failover.body;
  ASSERT_EQ(failover.header("x-tollgate-attempts"), "2");
  auto first_time = gw.post("/v1/chat/completions", chat("m", "first time"));
  ASSERT_EQ(first_time.status, 200);
  a.add_fault({{"mode", "status"}, {"status", 500}, {"count", 1}});
  auto nothing = gw.post("/v1/chat/completions", chat("only-a", "fails"));
  ASSERT_EQ(nothing.status, 502);

  json rows;
  ASSERT_TRUE(eventually([&] {
    rows = gw.get("/admin/logs").json_body()["data"];
    return rows.size() == 3;
  })) << rows.dump();
  // By request id: two workers may queue their rows in either order.
  auto detail = [&](const HttpResponse& r) {
    for (const auto& row : rows) {
      if (row["request_id"] == r.header("x-request-id")) {
        return gw.get("/admin/logs/" + row["id"].dump()).json_body();
      }
    }
    return json();
  };
  const json moved = detail(failover), clean = detail(first_time), failed = detail(nothing);

  ASSERT_TRUE(moved.contains("attempt_details")) << moved.dump();
  const json& tries = moved["attempt_details"];
  ASSERT_EQ(tries.size(), 2u) << tries.dump();
  EXPECT_EQ(tries[0]["provider"], "a");
  EXPECT_EQ(tries[0]["model"], "gpt-4o");
  EXPECT_EQ(tries[0]["status"], 503);
  EXPECT_FALSE(tries[0]["message"].get<std::string>().empty());
  EXPECT_TRUE(tries[0]["ms"].is_number());
  EXPECT_EQ(tries[1]["provider"], "b");
  EXPECT_EQ(tries[1]["model"], "gpt-4o-mini");
  EXPECT_EQ(tries[1]["status"], 200);
  EXPECT_FALSE(tries[1].contains("error"));
  EXPECT_EQ(moved["attempts"], 2);

  EXPECT_FALSE(clean.contains("attempt_details")) << clean.dump();

  ASSERT_TRUE(failed.contains("attempt_details")) << failed.dump();
  ASSERT_EQ(failed["attempt_details"].size(), 1u);
  EXPECT_EQ(failed["attempt_details"][0]["status"], 500);
  EXPECT_EQ(failed["status"], 502);
  // Never the provider's key, in any form.
  EXPECT_EQ(failed.dump().find("key-a"), std::string::npos);

  // The providers page counts a's failed attempts, though the log has b answering for one of them.
  const json providers = gw.get("/admin/providers").json_body();
  std::map<std::string, json> by_label;
  for (const auto& d : providers["deployments"]) {
    by_label[d["provider"].get<std::string>() + "/" + d["model"].get<std::string>()] = d;
  }
  ASSERT_TRUE(by_label.count("a/gpt-4o") && by_label.count("b/gpt-4o-mini")) << providers.dump();
  EXPECT_EQ(by_label["a/gpt-4o"]["recent_attempts"], 3);
  EXPECT_EQ(by_label["a/gpt-4o"]["recent_failed_attempts"], 2);
  EXPECT_EQ(by_label["b/gpt-4o-mini"]["recent_attempts"], 1);
  EXPECT_EQ(by_label["b/gpt-4o-mini"]["recent_failed_attempts"], 0);
  EXPECT_EQ(by_label["a/gpt-4o"]["recent_minutes"], 5);
}

// A provider's own words are hostile bytes: CR, LF and NUL in its message reach the attempt log
// as JSON escapes and come back as the client saw them; a long message is kept to 500 bytes.
TEST(AdminUiData, AttemptLogKeepsHostileProviderMessagesIntactAndBounded) {
  Mock mock;
  Gateway gw(data_config(mock, temp_dir() + "/t.db"));
  const std::string nasty = std::string("bad\r\nX-Injected: 1\0tail", 24);
  mock.add_fault({{"mode", "status"}, {"status", 400}, {"message", nasty}, {"count", 1}});
  auto refused = gw.post("/v1/chat/completions", chat("gpt-test", "a"));
  ASSERT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(refused.header("x-injected"), "");
  mock.add_fault({{"mode", "status"}, {"status", 400}, {"message", std::string(5000, 'm')},
                  {"count", 1}});
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "b")).status, 400);
  json rows;
  ASSERT_TRUE(eventually([&] {
    rows = gw.get("/admin/logs").json_body()["data"];
    return rows.size() == 2;
  })) << rows.dump();
  size_t seen = 0;
  for (const auto& row : rows) {
    auto one = gw.get("/admin/logs/" + row["id"].dump());
    ASSERT_EQ(one.status, 200);
    const json detail = one.json_body();  // the whole answer parses
    ASSERT_EQ(detail["attempt_details"].size(), 1u) << detail.dump();
    const std::string message = detail["attempt_details"][0]["message"];
    if (row["request_id"] == refused.header("x-request-id")) {
      EXPECT_EQ(message, refused.json_body()["error"]["message"].get<std::string>());
      EXPECT_NE(message.find('\n'), std::string::npos) << "kept, as a JSON escape";
      ++seen;
    } else {
      EXPECT_EQ(message.size(), 500u);
      ++seen;
    }
  }
  EXPECT_EQ(seen, 2u);
}

TEST(AdminUiData, ProvidersShowHealthTrafficAndPrices) {
  Mock mock;
  Gateway gw(data_config(mock, temp_dir() + "/t.db",
                         "  - name: other\n    targets: [mock/gpt-unpriced-x]\n"));
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "hi")).status, 200);
  json p;
  ASSERT_TRUE(eventually([&] {
    p = gw.get("/admin/providers").json_body();
    for (const auto& d : p["deployments"]) {
      if (d["model"] == "gpt-4o-mini" && d["requests"] == 1) return true;
    }
    return false;
  })) << p.dump();
  for (const auto& d : p["deployments"]) {
    EXPECT_EQ(d["provider"], "mock");
    EXPECT_TRUE(d["up"].get<bool>());
    EXPECT_TRUE(d["cooldown_until"].is_null());
    if (d["model"] == "gpt-4o-mini") {
      EXPECT_EQ(d["error_rate"], 0.0);
      EXPECT_TRUE(d["latency_p50_ms"].is_number());
    }
  }
  bool model_listed = false;
  for (const auto& m : p["models"]) {
    if (m["name"] == "gpt-test") {
      model_listed = true;
      EXPECT_EQ(m["targets"], json({"mock/gpt-4o-mini"}));
      EXPECT_EQ(m["strategy"], "failover");
    }
  }
  EXPECT_TRUE(model_listed);
  bool priced = false;
  for (const auto& pr : p["prices"]) {
    if (pr["model"] == "mock/gpt-4o-mini") {
      priced = true;
      EXPECT_EQ(pr["input_per_1m_nano_usd"], 1'000'000'000);
      EXPECT_EQ(pr["output_per_1m_nano_usd"], 2'000'000'000);
    }
  }
  EXPECT_TRUE(priced) << p["prices"].dump();
  EXPECT_NE(std::find(p["unpriced"].begin(), p["unpriced"].end(), json("mock/gpt-unpriced-x")),
            p["unpriced"].end())
      << p["unpriced"].dump();
}

TEST(AdminUiData, ConfigIsRedactedAndARefusedReloadReturnsItsErrors) {
  Mock mock;
  Gateway gw(data_config(mock, temp_dir() + "/t.db"));
  auto c = gw.get("/admin/config");
  ASSERT_EQ(c.status, 200) << c.body;
  auto j = c.json_body();
  EXPECT_EQ(c.body.find("sk-test-master"), std::string::npos) << "the master key never shows";
  EXPECT_EQ(c.body.find("mock-upstream-key"), std::string::npos);
  EXPECT_EQ(j["source"], gw.config_path());
  EXPECT_GT(j["loaded_at"].get<int64_t>(), now_ms() - 120'000);
  EXPECT_NE(j["yaml"].get<std::string>().find("master_key: [redacted]"), std::string::npos);
  EXPECT_NE(j["yaml"].get<std::string>().find("- name: gpt-test"), std::string::npos);
  EXPECT_EQ(j["config"]["server"]["master_key"], "[redacted]");
  EXPECT_TRUE(j["config"]["providers"].contains("mock"));
  EXPECT_TRUE(j["last_reload"].is_null());

  {
    std::ofstream out(gw.config_path());
    out << "server:\n  master_key: sk-test-master\n  workrs: 2\nmodels:\n  - name: x\n    targts: []\n";
  }
  auto r = gw.post("/admin/reload", json::object());
  ASSERT_EQ(r.status, 400) << r.body;
  auto body = r.json_body();
  EXPECT_EQ(body["error"]["code"], "invalid_config");
  ASSERT_GE(body["errors"].size(), 2u) << r.body;
  EXPECT_EQ(body["errors"][0]["path"], "server.workrs");
  EXPECT_EQ(body["errors"][0]["line"], 3);
  EXPECT_NE(body["errors"][0]["message"].get<std::string>().find("workers"), std::string::npos);
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "still serving")).status, 200);
  auto after = gw.get("/admin/config").json_body();
  EXPECT_FALSE(after["last_reload"]["ok"].get<bool>());
  EXPECT_GE(after["last_reload"]["errors"].size(), 2u);
  EXPECT_EQ(after["loaded_at"], j["loaded_at"]) << "the running config is still the old one";

  {
    std::ofstream out(gw.config_path());
    out << data_config(mock, temp_dir() + "/t.db");
  }
  auto ok = gw.post("/admin/reload", json::object());
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json_body()["ok"], true);
  auto reloaded = gw.get("/admin/config").json_body();
  EXPECT_TRUE(reloaded["last_reload"]["ok"].get<bool>());
  EXPECT_EQ(reloaded["last_reload"]["errors"].size(), 0u);
}

}  // namespace
}  // namespace tg::it
