// Several instances on both shared servers (issue 14): ONE real PostgreSQL 15 (store.postgres:
// keys, teams, the request log, spend) and ONE real redis-server (store.redis: limits and budget
// reservations at request speed), two tollgate instances on them, tollgate-mock upstream.
// The books must balance in PostgreSQL, to the nano-USD: Σ cost of the request rows = the key's
// spend = the team's spend, under concurrency and after a `kill -9` of one instance.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../support/postgres_server.hpp"
#include "../support/redis_server.hpp"
#include "../support/shared_store.hpp"
#include "harness.hpp"
#include "tollgate/governance/pricing.hpp"
#include "tollgate/redis/scripts.hpp"

namespace tg::it {
namespace {

using Ms = std::chrono::milliseconds;
using test::PostgresServer;
using testing::RedisServer;

constexpr double kInputUsdPerM = 1.0, kOutputUsdPerM = 2.0;  // mock/gpt-4o-mini below

// Both servers in one config; every instance reads the same text. router total is short: it is
// what a dead instance's Redis holds outlive a request by (hold TTL = total + 2 s). gpt-held is
// gpt-test under another upstream name, so that the mock can stall just those calls.
std::string scale_config(const Mock& mock, const std::string& pg_url, const RedisServer& redis,
                         const std::string& total = "2s") {
  return mock_config(mock, "  - name: gpt-held\n    targets: [mock/gpt-held]\n") +
         "store:\n  postgres: " + pg_url + "\n  redis: " + redis.url() +
         "\n  redis_timeout: 500ms\n  flush_interval: 20ms\n"
         "router:\n  retries: 0\n  timeouts: {connect: 1s, first_token: " + total + ", idle: " +
         total + ", total: " + total + "}\n" +
         fmt::format("pricing:\n  mock/gpt-4o-mini: {{input: {0}, output: {1}}}\n"
                     "  mock/gpt-held: {{input: {0}, output: {1}}}\n",
                     kInputUsdPerM, kOutputUsdPerM);
}

HttpResponse admin(Gateway& gw, const std::string& method, const std::string& path,
                   const json& body = nullptr) {
  return http(gw.port(), method, path, body.is_null() ? "" : body.dump(),
              {{"Authorization", "Bearer sk-test-master"}}, std::chrono::seconds(10));
}

struct CreatedKey {
  std::string id, key;
};

// A virtual key created through the admin API (stored in PostgreSQL).
CreatedKey create_key(Gateway& gw, const json& spec) {
  auto r = admin(gw, "POST", "/admin/keys", spec);
  if (r.status != 200) throw std::runtime_error("POST /admin/keys: " + r.body);
  return {r.json_body()["id"], r.json_body()["key"]};
}

// The worst case one request of `body` reserves: every input byte/4 as a token at the input
// price plus max_tokens at the output price (the gateway's own estimate, pricing.hpp).
governance::Nanos reservation_of(const json& body) {
  governance::ModelPrice price;
  price.base.input = governance::usd_per_million_to_pico(kInputUsdPerM);
  price.base.output = governance::usd_per_million_to_pico(kOutputUsdPerM);
  return governance::estimate_cost(price, governance::estimate_input_tokens(body.dump().size()),
                                   body["max_tokens"].get<int64_t>());
}

// What PostgreSQL's books say for one holder ("key:<id>" / "team:<id>").
struct Books {
  int64_t total = 0;    // spend_total (all-time)
  int64_t periods = 0;  // Σ spend over its budget periods
};
Books books(const std::string& url, const std::string& holder) {
  return {pg_scalar(url, fmt::format("SELECT spent_nano FROM spend_total WHERE holder = '{}'", holder)),
          pg_scalar(url, fmt::format("SELECT COALESCE(SUM(spent_nano), 0) FROM spend WHERE holder = '{}'",
                                     holder))};
}
int64_t rows_cost(const std::string& url, const std::string& where) {
  return pg_scalar(url, "SELECT COALESCE(SUM(cost_nano), 0) FROM requests WHERE " + where);
}
int64_t rows_count(const std::string& url, const std::string& where) {
  return pg_scalar(url, "SELECT count(*) FROM requests WHERE " + where);
}

// Redis's shared spend counter of a holder in its current period (-1: none).
int64_t redis_spent(const std::string& url, const RedisServer& redis, const std::string& holder) {
  const int64_t period = pg_scalar(
      url, fmt::format("SELECT COALESCE(MAX(period_start), -1) FROM spend WHERE holder = '{}'", holder));
  auto v = redis.command({"GET", redis::Keys{}.spent(holder, period)});
  if (!v || v->type != redis::Value::Type::String) return -1;
  return std::stoll(v->str);
}

int64_t redis_int(const RedisServer& redis, const std::vector<std::string>& cmd) {
  auto v = redis.command(cmd);
  return v ? v->integer : -1;
}

// Stops and joins a test's client threads however the test ends (a failed ASSERT included).
struct JoinAll {
  std::atomic<bool>& stop;
  std::vector<std::thread>& threads;
  ~JoinAll() {
    stop = true;
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }
};

// Waits until instance `gw` knows the key (created on the other one: LISTEN/NOTIFY).
bool knows_key(Gateway& gw, const std::string& name) {
  return eventually([&] { return !find_key(gw, name).is_null(); }, Ms(5000));
}

// a. 100 requests at once, split across both instances, against a key budget inside a team
// budget: neither is overspent by more than one reservation, and after the flush PostgreSQL's
// books balance exactly: Σ rows = key spend = team spend (= Redis's shared counters).
TEST(Scale, ConcurrentRequestsOnTwoInstancesKeepTheBooksExactInPostgres) {
  REQUIRE_POSTGRES();
  PostgresServer pg;
  const std::string url = pg.create_database();
  RedisServer redis;
  Mock mock({"--latency-ms", "50"});  // so that the requests overlap in flight
  const std::string cfg = scale_config(mock, url, redis);
  Gateway a(cfg), b(cfg);
  ASSERT_TRUE(redis_up(a));
  ASSERT_TRUE(redis_up(b));

  // The team's budget binds first; the key's is larger (both are checked). The first 25
  // requests fit (25 reservations of 62 µUSD), so both instances answer some; the later ones
  // contend for what is left.
  const double team_usd = 0.0016, key_usd = 0.002;
  ASSERT_EQ(admin(a, "POST", "/admin/teams", {{"name", "eng"}, {"budget", {{"usd", team_usd}}}}).status, 200);
  const auto key = create_key(
      a, {{"name", "spender"}, {"team", "eng"}, {"budget", {{"usd", key_usd}, {"period", "monthly"}}}});
  ASSERT_TRUE(knows_key(b, "spender"));
  ASSERT_TRUE(eventually([&] {
    return admin(b, "GET", "/admin/teams/eng").json_body().value("budget", json()).is_object();
  }, Ms(5000)));

  // 100 requests from 25 clients at once (4 each, alternating instances): by the second round
  // more are in flight than the budget has room to reserve for, across the two instances.
  constexpr int kClients = 25, kEach = 4, kRequests = kClients * kEach;
  std::atomic<int> ok{0}, refused{0}, ok_a{0}, ok_b{0};
  std::mutex mu;
  std::vector<std::string> other;
  governance::Nanos reservation = 0;
  for (int i = 0; i < kRequests; ++i) {
    reservation = std::max(reservation, reservation_of(small_chat("spend " + std::to_string(i))));
  }
  std::latch go(kClients);
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      go.arrive_and_wait();
      for (int i = 0; i < kEach; ++i) {
        const bool on_a = (t + i) % 2 == 0;
        auto r = (on_a ? a : b).post("/v1/chat/completions",
                                     small_chat("spend " + std::to_string(t * kEach + i)), key.key);
        if (r.status == 200) {
          ++ok;
          ++(on_a ? ok_a : ok_b);
        } else if (r.status == 429 && r.json_body()["error"]["code"] == "budget_exceeded") {
          ++refused;
        } else {
          std::lock_guard lock(mu);
          other.push_back(std::to_string(r.status) + " " + r.body + r.error);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(other.empty()) << other.size() << " unexpected answers, first: " << other.front();
  EXPECT_GT(ok_a.load(), 0);  // the load was really split
  EXPECT_GT(ok_b.load(), 0);
  EXPECT_GT(refused.load(), 0);

  // Every answered request has its row (the refused ones too), flushed by both instances.
  const std::string of_key = fmt::format("key_id = '{}'", key.id);
  ASSERT_TRUE(eventually([&] {
    return rows_count(url, of_key + " AND status = 200") == ok && rows_count(url, of_key) == kRequests;
  })) << rows_count(url, of_key + " AND status = 200") << " rows of " << ok.load() << " answered, "
      << rows_count(url, of_key) << " of " << kRequests;
  EXPECT_EQ(rows_count(url, of_key + " AND status = 200 AND COALESCE(cost_nano, 0) <= 0"), 0);
  // Every upstream call is in the books (none answered without a row, none billed twice).
  EXPECT_EQ(static_cast<int>(mock.requests().size()), ok.load());

  const int64_t rows = rows_cost(url, of_key);
  const Books k = books(url, "key:" + key.id), t = books(url, "team:eng");
  std::printf("[ figures  ] %d requests on 2 instances (%d + %d answered, %d refused): rows %lld "
              "= key %lld = team %lld nUSD; budgets key %lld, team %lld, one reservation %lld\n",
              kRequests, ok_a.load(), ok_b.load(), refused.load(), static_cast<long long>(rows),
              static_cast<long long>(k.total), static_cast<long long>(t.total),
              static_cast<long long>(governance::usd_to_nanos(key_usd)),
              static_cast<long long>(governance::usd_to_nanos(team_usd)),
              static_cast<long long>(reservation));
  EXPECT_GT(rows, 0);
  EXPECT_EQ(k.total, rows);
  EXPECT_EQ(k.periods, rows);
  EXPECT_EQ(t.total, rows);
  EXPECT_EQ(t.periods, rows);
  EXPECT_LE(k.total, governance::usd_to_nanos(key_usd) + reservation);
  EXPECT_LE(t.total, governance::usd_to_nanos(team_usd) + reservation);
  // The budget, not something else, stopped the requests: most of it was used.
  EXPECT_GT(t.total, governance::usd_to_nanos(team_usd) / 2);

  // What Redis settled is what reached PostgreSQL, and no reservation is left behind.
  EXPECT_TRUE(eventually([&] {
    return redis_spent(url, redis, "key:" + key.id) == rows && redis_spent(url, redis, "team:eng") == rows;
  })) << redis_spent(url, redis, "key:" + key.id) << " / " << redis_spent(url, redis, "team:eng")
      << " in Redis, " << rows << " in PostgreSQL";
  const redis::Keys rk;
  EXPECT_EQ(redis_int(redis, {"HLEN", rk.amounts("key:" + key.id)}), 0);
  EXPECT_EQ(redis_int(redis, {"HLEN", rk.amounts("team:eng")}), 0);
}

// b. `kill -9` of instance A while requests are in flight on both: B answers every request, A's
// parallel slots and reservations in Redis expire after router.timeouts.total + 2 s, and after a
// restart of both the spend figures are PostgreSQL's, which balance for every row written.
TEST(Scale, KilledInstanceUnderLoadHoldsExpireAndSpendSurvivesARestart) {
  REQUIRE_POSTGRES();
  PostgresServer pg;
  const std::string url = pg.create_database();
  RedisServer redis;
  Mock mock({"--latency-ms", "200"});
  const std::string cfg = scale_config(mock, url, redis, "2s");
  auto a = std::make_unique<Gateway>(cfg);
  auto b = std::make_unique<Gateway>(cfg);
  ASSERT_TRUE(redis_up(*a));
  ASSERT_TRUE(redis_up(*b));
  ASSERT_EQ(admin(*a, "POST", "/admin/teams", {{"name", "eng"}, {"budget", {{"usd", 10}}}}).status, 200);
  // One loaded key per instance (so each instance's rows can be counted), and one with two
  // parallel slots that A's requests hold when it dies; all in the budgeted team.
  const auto load_a = create_key(*a, {{"name", "load-a"}, {"team", "eng"}, {"budget", {{"usd", 5}}}});
  const auto load_b = create_key(*a, {{"name", "load-b"}, {"team", "eng"}, {"budget", {{"usd", 5}}}});
  const auto par = create_key(*a, {{"name", "par"}, {"team", "eng"}, {"limits", {{"parallel", 2}}}});
  for (const char* name : {"load-a", "load-b", "par"}) ASSERT_TRUE(knows_key(*b, name)) << name;
  ASSERT_TRUE(eventually([&] {
    return admin(*b, "GET", "/admin/teams/eng").json_body().value("budget", json()).is_object();
  }, Ms(5000)));

  std::atomic<bool> stop{false};
  std::atomic<int> a_ok{0}, b_ok{0};
  std::mutex mu;
  std::vector<std::string> b_failures;
  std::vector<std::thread> load, held;
  JoinAll join_load{stop, load}, join_held{stop, held};
  const uint16_t a_port = a->port(), b_port = b->port();
  auto post = [](uint16_t port, const std::string& key, const std::string& text) {
    return http(port, "POST", "/v1/chat/completions", small_chat(text).dump(),
                {{"Authorization", "Bearer " + key}}, Ms(10000));
  };
  for (int t = 0; t < 3; ++t) {
    load.emplace_back([&, t] {  // on A until it dies
      for (int i = 0; !stop; ++i) {
        if (post(a_port, load_a.key, fmt::format("a {} {}", t, i)).status != 200) return;
        ++a_ok;
      }
    });
    load.emplace_back([&, t] {  // on B throughout: every one must be answered
      for (int i = 0; !stop; ++i) {
        auto r = post(b_port, load_b.key, fmt::format("b {} {}", t, i));
        if (r.status == 200) {
          ++b_ok;
        } else {
          std::lock_guard lock(mu);
          b_failures.push_back(std::to_string(r.status) + " " + r.body + r.error);
        }
      }
    });
  }
  const redis::Keys rk;
  // A has written some of its rows when it dies (more are in flight or queued).
  const std::string of_a = fmt::format("key_id = '{}'", load_a.id);
  ASSERT_TRUE(eventually([&] { return rows_count(url, of_a) >= 2; }, Ms(5000)));
  // Two requests on A that the mock never answers take both of `par`'s slots (and team
  // reservations); A dies well within router total (2 s), so they are still in flight.
  mock.add_fault({{"mode", "stall"}, {"match_model", "gpt-held"}, {"count", 2}});
  for (int i = 0; i < 2; ++i) {
    held.emplace_back([&, i] {
      json body = small_chat("held " + std::to_string(i));
      body["model"] = "gpt-held";
      http(a_port, "POST", "/v1/chat/completions", body.dump(), {{"Authorization", "Bearer " + par.key}},
           Ms(10000));
    });
  }
  ASSERT_TRUE(eventually([&] { return redis_int(redis, {"ZCARD", rk.parallel(par.id)}) == 2; }, Ms(2000)));

  a->process().signal(SIGKILL);
  a->process().wait();
  const auto killed = std::chrono::steady_clock::now();
  for (auto& t : held) t.join();
  // A's holds outlive it...
  auto blocked = post(b_port, par.key, "blocked");
  EXPECT_EQ(blocked.status, 429) << blocked.body;
  EXPECT_EQ(blocked.json_body()["error"]["code"], "rate_limit_exceeded") << blocked.body;
  // ...until their TTL (router total 2 s + 2 s from their admission) passes; B serves meanwhile.
  EXPECT_TRUE(eventually([&] { return post(b_port, par.key, "free again").status == 200; }, Ms(10000)));
  const auto waited = std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - killed);
  std::printf("[ figures  ] A killed: its 2 parallel slots free again on B after %lld ms "
              "(hold TTL 4000 ms from admission)\n", static_cast<long long>(waited.count()));
  EXPECT_LT(waited.count(), 4000 + 2000);
  stop = true;
  for (auto& t : load) t.join();
  EXPECT_TRUE(b_failures.empty()) << b_failures.size() << " of B's requests failed, first: "
                                  << b_failures.front();
  EXPECT_GT(b_ok.load(), 3);
  // A's budget reservations (for requests that will never settle) expired too.
  for (const std::string holder : {"key:" + load_a.id, std::string("team:eng")}) {
    EXPECT_TRUE(eventually([&] { return redis_int(redis, {"HLEN", rk.amounts(holder)}) == 0; }, Ms(6000)))
        << holder << " still holds " << redis_int(redis, {"HLEN", rk.amounts(holder)});
  }

  // B stops cleanly (its rows flushed); then PostgreSQL's books balance for every row written.
  b->process().signal(SIGTERM);
  ASSERT_EQ(b->process().wait(), 0);
  b.reset();
  a.reset();
  const std::string of_b = fmt::format("key_id = '{}'", load_b.id);
  const std::string of_par = fmt::format("key_id = '{}'", par.id);
  EXPECT_EQ(rows_count(url, of_b + " AND status = 200"), b_ok.load());  // every answer of B's
  const int64_t a_rows = rows_count(url, of_a + " AND status = 200");
  EXPECT_GE(a_rows, 2);
  EXPECT_LE(a_rows, a_ok.load());  // answered but still queued at the kill: neither row nor spend
  std::map<std::string, int64_t> spent;  // holder -> nUSD, as PostgreSQL has it
  for (const auto& [k, where] : {std::pair{load_a, of_a}, std::pair{load_b, of_b}, std::pair{par, of_par}}) {
    const Books bk = books(url, "key:" + k.id);
    EXPECT_EQ(bk.total, rows_cost(url, where)) << k.id;
    EXPECT_EQ(bk.periods, bk.total) << k.id;
    spent["key:" + k.id] = bk.total;
  }
  const Books team = books(url, "team:eng");
  EXPECT_EQ(team.total, rows_cost(url, "team = 'eng'"));
  EXPECT_EQ(team.total, spent["key:" + load_a.id] + spent["key:" + load_b.id] + spent["key:" + par.id]);
  std::printf("[ figures  ] after the kill: A %d answered, %lld rows written; B %d answered; team "
              "spend %lld nUSD = Σ rows\n", a_ok.load(), static_cast<long long>(a_rows), b_ok.load(),
              static_cast<long long>(team.total));

  // Both restarted: each shows PostgreSQL's figures (the spend survived), and serves again.
  Gateway a2(cfg), b2(cfg);
  for (Gateway* gw : {&a2, &b2}) {
    for (const auto& [name, id] : {std::pair{"load-a", load_a.id}, std::pair{"load-b", load_b.id},
                                   std::pair{"par", par.id}}) {
      const json k = find_key(*gw, name);
      ASSERT_FALSE(k.is_null()) << name;
      EXPECT_EQ(k["spend_nano_usd"].get<int64_t>(), spent["key:" + id]) << name << " " << k.dump();
      if (k["budget"].is_object()) {
        EXPECT_EQ(k["budget"]["spend_nano_usd"].get<int64_t>(), spent["key:" + id]) << name;
      }
    }
    const json t = admin(*gw, "GET", "/admin/teams/eng").json_body();
    EXPECT_EQ(t["spend_nano_usd"].get<int64_t>(), team.total) << t.dump();
    EXPECT_EQ(t["budget"]["spend_nano_usd"].get<int64_t>(), team.total) << t.dump();
  }
  const int64_t served = rows_count(url, "team = 'eng' AND status = 200");
  EXPECT_EQ(a2.post("/v1/chat/completions", small_chat("again"), load_a.key).status, 200);
  EXPECT_EQ(b2.post("/v1/chat/completions", small_chat("again"), load_b.key).status, 200);
  EXPECT_TRUE(eventually([&] {
    return rows_count(url, "team = 'eng' AND status = 200") == served + 2 &&
           books(url, "team:eng").total == rows_cost(url, "team = 'eng'");
  }));
}

// Redis losing its data (a restart without persistence) while both instances run, budgets fail
// closed: the shared spend counter is seeded again from PostgreSQL's figure (plus what the seeding
// instance has not committed yet), not from the first admitting instance's own view. B spends
// about half the budget before the loss, A has spent nothing: A may spend only the rest. (Seeded
// from A's own view, A spent the whole budget again: 1.37 to 1.41 M nUSD of a 1 M budget.)
TEST(Scale, RedisLosingItsDataKeepsTheBudgetExact) {
  REQUIRE_POSTGRES();
  PostgresServer pg;
  const std::string url = pg.create_database();
  RedisServer redis;
  Mock mock;
  // Budgets fail closed: no request is admitted on an instance's own view while Redis is away.
  std::string cfg = scale_config(mock, url, redis);
  cfg.replace(cfg.find("  redis_timeout:"), 0, "  redis_fail: {limits: open, budgets: closed}\n");
  Gateway a(cfg), b(cfg);
  ASSERT_TRUE(redis_up(a));
  ASSERT_TRUE(redis_up(b));
  const double usd = 0.001;
  const auto key = create_key(a, {{"name", "k"}, {"budget", {{"usd", usd}}}});
  ASSERT_TRUE(knows_key(b, "k"));
  // B spends about half of the budget; A none.
  for (int i = 0; i < 22; ++i) {
    ASSERT_EQ(b.post("/v1/chat/completions", small_chat("b " + std::to_string(i)), key.key).status, 200);
  }
  // Every settlement of B's has reached Redis (and PostgreSQL) before Redis loses it all.
  int64_t b_spent = 0;
  ASSERT_TRUE(eventually([&] {
    b_spent = rows_cost(url, fmt::format("key_id = '{}'", key.id));
    return b_spent > 0 && books(url, "key:" + key.id).total == b_spent &&
           redis_spent(url, redis, "key:" + key.id) == b_spent;
  }));
  redis.restart();  // back empty
  ASSERT_TRUE(redis_up(a));
  ASSERT_TRUE(redis_up(b));
  // A spends until its budget check refuses (503 limits_unavailable until it has reconnected).
  int unavailable = 0, a_ok = 0;
  for (int i = 0; i < 60;) {
    auto r = a.post("/v1/chat/completions", small_chat("a " + std::to_string(i)), key.key);
    if (r.status == 429) break;
    if (r.status == 503 && ++unavailable < 1000) {
      std::this_thread::sleep_for(Ms(10));
      continue;
    }
    a_ok += r.status == 200;
    ++i;
  }
  const std::string of_key = fmt::format("key_id = '{}'", key.id);
  ASSERT_TRUE(eventually([&] {
    return rows_count(url, of_key + " AND status = 200") == 22 + a_ok &&
           books(url, "key:" + key.id).total == rows_cost(url, of_key);
  }));
  const int64_t spent = books(url, "key:" + key.id).total;
  const int64_t budget = governance::usd_to_nanos(usd);
  const int64_t reservation = reservation_of(small_chat("a 00"));
  std::printf("[ figures  ] budget %lld nUSD, B spent %lld before Redis lost its data, %lld in all "
              "after (A: %d answered, %d answered 503 while A reconnected; one reservation %lld)\n",
              static_cast<long long>(budget), static_cast<long long>(b_spent),
              static_cast<long long>(spent), a_ok, unavailable,
              static_cast<long long>(reservation));
  EXPECT_GT(a_ok, 0);
  EXPECT_LE(spent, budget + reservation);
  // The shared counter is the books' figure again: B's spend, then A's.
  EXPECT_TRUE(eventually([&] { return redis_spent(url, redis, "key:" + key.id) == spent; }))
      << redis_spent(url, redis, "key:" + key.id) << " in Redis, " << spent << " in the books";
  // Nor seeded high (B's spend counted twice): A stopped only when its next reservation no longer
  // fitted (beside, at most, its previous one whose release was still on its way).
  EXPECT_GT(spent, budget - 2 * reservation);
}

// PostgreSQL not answering during a reseed (a transaction holds the spend table, so the writer's
// read of it waits): the admission waits no longer than store.redis_timeout (500 ms here), then
// seeds the counter from the instance's own figure, the SQLite rule (B's spend is missing from
// it). Nothing hangs, and the store's late answer changes nothing.
TEST(Scale, AReseedPostgresDoesNotAnswerFallsBackToTheOwnFigureWithinTheRedisTimeout) {
  REQUIRE_POSTGRES();
  PostgresServer pg;
  const std::string url = pg.create_database();
  RedisServer redis;
  Mock mock;
  std::string cfg = scale_config(mock, url, redis);
  cfg.replace(cfg.find("  redis_timeout:"), 0, "  redis_fail: {limits: open, budgets: closed}\n");
  Gateway a(cfg), b(cfg);
  ASSERT_TRUE(redis_up(a));
  ASSERT_TRUE(redis_up(b));
  const auto key = create_key(a, {{"name", "k"}, {"budget", {{"usd", 0.001}}}});
  ASSERT_TRUE(knows_key(b, "k"));
  const std::string holder = "key:" + key.id, of_key = fmt::format("key_id = '{}'", key.id);
  ASSERT_EQ(b.post("/v1/chat/completions", small_chat("b"), key.key).status, 200);
  int64_t b_spent = 0;
  ASSERT_TRUE(eventually([&] {
    b_spent = rows_cost(url, of_key);
    return b_spent > 0 && books(url, holder).total == b_spent &&
           redis_spent(url, redis, holder) == b_spent;
  }));
  store::pg::Conn locker;
  std::string err;
  ASSERT_TRUE(locker.connect(url, 5, &err)) << err;
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE spend IN ACCESS EXCLUSIVE MODE");
  redis.restart();  // back empty
  ASSERT_TRUE(redis_up(a));
  HttpResponse r;
  int64_t ms = 0;
  for (int unavailable = 0; unavailable < 100; ++unavailable) {  // 503 until A has reconnected
    const auto t0 = std::chrono::steady_clock::now();
    r = a.post("/v1/chat/completions", small_chat("a"), key.key);
    ms = std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t0).count();
    if (r.status != 503) break;
    std::this_thread::sleep_for(Ms(10));
  }
  locker.exec("ROLLBACK");
  EXPECT_EQ(r.status, 200) << r.body;
  std::printf("[ figures  ] admission with PostgreSQL not answering the reseed: %lld ms\n",
              static_cast<long long>(ms));
  EXPECT_GE(ms, 450);   // it did wait for the store's figure...
  EXPECT_LT(ms, 1500);  // ...no longer than the timeout (plus the two admit round trips)
  // Seeded from A's own figure (it had spent nothing), then A's cost added: B's is missing.
  EXPECT_TRUE(eventually([&] {
    const int64_t all = rows_cost(url, of_key);
    return all > b_spent && books(url, holder).total == all &&
           redis_spent(url, redis, holder) == all - b_spent;
  })) << redis_spent(url, redis, holder) << " in Redis, " << b_spent << " spent by B";
  EXPECT_EQ(a.post("/v1/chat/completions", small_chat("again"), key.key).status, 200);
}

}  // namespace
}  // namespace tg::it
