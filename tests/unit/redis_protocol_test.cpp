// The pure parts of the Redis client: RESP encoding, the bounded reply reader, key names, the
// scripts' arguments and the parsing of their replies (hostile replies included).

#include <gtest/gtest.h>

#include <set>

#include "tollgate/redis/protocol.hpp"
#include "tollgate/redis/scripts.hpp"

using namespace tg::redis;

namespace {
std::optional<Value> read_all(Reader& r, std::string_view bytes) {
  EXPECT_TRUE(r.feed(bytes.data(), bytes.size())) << r.error();
  return r.next();
}
}  // namespace

TEST(RedisProtocol, EncodesCommandsAsArraysOfBulkStrings) {
  std::string out;
  std::vector<std::string> args = {"SET", "k", std::string("a\r\nb\0c", 6)};
  encode_command(out, args);
  EXPECT_EQ(out, std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$6\r\na\r\nb\0c\r\n", 32));
}

TEST(RedisProtocol, EncodesMultiDigitCountsAndLengthsAndAppendsToWhatIsThere) {
  std::string out = "prefix";
  std::vector<std::string> args(12, "");
  args[0] = "EVALSHA";
  args[11] = std::string(12345, 'x');
  encode_command(out, args);
  std::string want = "prefix*12\r\n$7\r\nEVALSHA\r\n";
  for (int i = 1; i < 11; ++i) want += "$0\r\n\r\n";
  want += "$12345\r\n" + std::string(12345, 'x') + "\r\n";
  EXPECT_EQ(out, want);
}

TEST(RedisProtocol, ReadsEveryReplyTypeAcrossSplitFeeds) {
  Reader r;
  const std::string bytes = "*5\r\n:42\r\n$5\r\nhello\r\n+OK\r\n-ERR bad\r\n$-1\r\n:7\r\n";
  // One byte at a time: nothing is complete until the array's last element arrives.
  std::optional<Value> v;
  size_t i = 0;
  for (; i < bytes.size() && !v; ++i) {
    ASSERT_TRUE(r.feed(bytes.data() + i, 1));
    v = r.next();
    ASSERT_TRUE(r.error().empty());
  }
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->is_array());
  ASSERT_EQ(v->elements.size(), 5u);
  EXPECT_EQ(v->elements[0].integer, 42);
  EXPECT_EQ(v->elements[1].str, "hello");
  EXPECT_EQ(v->elements[2].type, Value::Type::Status);
  EXPECT_TRUE(v->elements[3].is_error());
  EXPECT_EQ(v->elements[3].str, "ERR bad");
  EXPECT_EQ(v->elements[4].type, Value::Type::Nil);
  // The next reply was already buffered.
  ASSERT_TRUE(r.feed(bytes.data() + i, bytes.size() - i));
  auto w = r.next();
  ASSERT_TRUE(w);
  EXPECT_EQ(w->integer, 7);
}

TEST(RedisProtocol, RefusesAnArrayOverTheElementLimitBeforeAllocatingIt) {
  Reader r(ReaderLimits{16, 1 << 20});
  EXPECT_FALSE(read_all(r, "*2000000000\r\n"));
  EXPECT_FALSE(r.error().empty());
  // A nested one too, and the reader stays failed (the stream cannot be trusted again).
  Reader r2(ReaderLimits{16, 1 << 20});
  EXPECT_FALSE(read_all(r2, "*2\r\n:1\r\n*17\r\n"));
  EXPECT_FALSE(r2.error().empty());
  EXPECT_FALSE(r2.feed(":1\r\n", 4));
  EXPECT_FALSE(r2.next());
}

TEST(RedisProtocol, RefusesNegativeCountsNestingAndGarbage) {
  {
    Reader r;
    EXPECT_FALSE(read_all(r, "*-5\r\n"));
    EXPECT_FALSE(r.error().empty());
  }
  {
    Reader r;
    std::string deep;
    for (int i = 0; i < 12; ++i) deep += "*1\r\n";
    deep += ":1\r\n";
    EXPECT_FALSE(read_all(r, deep));
    EXPECT_FALSE(r.error().empty());
  }
  {
    Reader r;
    EXPECT_FALSE(read_all(r, "?what\r\n"));
    EXPECT_FALSE(r.error().empty());
  }
}

TEST(RedisProtocol, BoundsWhatWaitsForAnIncompleteReply) {
  Reader r(ReaderLimits{16, 1024});
  ASSERT_TRUE(r.feed("$1000000000\r\n", 13));
  EXPECT_FALSE(r.next());
  EXPECT_TRUE(r.error().empty());  // not over the limit yet
  std::string chunk(2048, 'x');
  r.feed(chunk.data(), chunk.size());
  EXPECT_FALSE(r.next());
  EXPECT_FALSE(r.error().empty());
}

TEST(RedisKeys, NoIdCanProduceAnotherIdsKey) {
  Keys k;
  EXPECT_EQ(k.requests("abc"), "tg:rl:3:abc:req");
  EXPECT_EQ(k.spent("key:abc", 1764547200), "tg:b:7:key:abc:spent:1764547200");
  std::set<std::string> names;
  for (std::string id : {"a", "a:req", "a:1:a", "1:a", "a:tok", ""}) {
    for (auto n : {k.requests(id), k.tokens(id), k.parallel(id), k.totals(id), k.reservations(id),
                   k.amounts(id), k.reserved(id), k.spent(id, 0), k.spent(id, 1)}) {
      EXPECT_TRUE(names.insert(n).second) << n;
    }
  }
}

// A written command read back as its arguments (RESP is the reply format too).
std::vector<std::string> args_of(const CommandWriter& c) {
  std::string wire;
  c.append_to(wire);
  Reader r;
  EXPECT_TRUE(r.feed(wire.data(), wire.size()));
  auto v = r.next();
  std::vector<std::string> out;
  if (!v || !v->is_array()) {
    ADD_FAILURE() << "not an array: " << wire;
    return out;
  }
  for (const auto& e : v->elements) out.push_back(e.str);
  EXPECT_FALSE(r.next()) << "one command, nothing after it";
  return out;
}

TEST(RedisScripts, CommandWriterWritesWhatEncodeCommandWrites) {
  const std::vector<std::string> args = {"EVALSHA", "", std::string("a\0b\r\n", 5), "-42",
                                         std::string(300, 'x'), "9223372036854775807"};
  std::string want;
  encode_command(want, args);
  CommandWriter c;
  c.arg("EVALSHA").arg(std::string_view()).arg(args[2]).arg(int64_t{-42});
  const std::string_view split[] = {std::string_view(args[4]).substr(0, 100),
                                    std::string_view(args[4]).substr(100)};
  c.pieces(split).arg(INT64_MAX);
  std::string got = "prefix";
  c.append_to(got);
  EXPECT_EQ(got, "prefix" + want);
  EXPECT_EQ(c.size(), args.size());
  EXPECT_EQ(args_of(c), args);
}

TEST(RedisScripts, AdmitArgumentsAreLaidOutAndClamped) {
  Keys k;
  AdmitArgs a;
  a.key_id = "kid";
  a.limits.rpm = 10;
  a.limits.parallel = 2;
  a.token_estimate = INT64_MAX;  // a client's max_tokens of 2^63: clamped, never an overflow
  a.hold_id = "inst-1";
  a.hold_ttl_ms = 5000;
  a.estimate = -5;
  a.budgets.push_back({"key:kid", 1'000'000, 1764547200, 86'400'000, 250});
  a.budgets.push_back({"team:t", INT64_MAX, 0, 0, 0});
  auto c = args_of(admit_command(k, a, true));
  ASSERT_EQ(c.size(), 3u + 12 + 8 + 6);
  EXPECT_EQ(c[0], "EVALSHA");
  EXPECT_EQ(c[1], sha1_hex(admit_script()));
  EXPECT_EQ(c[1].size(), 40u);
  EXPECT_EQ(c[2], "12");
  EXPECT_EQ(c[3], k.requests("kid"));
  EXPECT_EQ(c[6], k.reservations("key:kid"));
  EXPECT_EQ(c[8], k.spent("key:kid", 1764547200));
  EXPECT_EQ(c[11], k.spent("team:t", 0));
  EXPECT_EQ(c[12], k.totals("kid"));  // after the budgets' keys
  EXPECT_EQ(c[13], k.reserved("key:kid"));
  EXPECT_EQ(c[14], k.reserved("team:t"));
  EXPECT_EQ(c[15], "10");  // rpm
  EXPECT_EQ(c[16], "0");   // tpm unset
  EXPECT_EQ(c[17], "2");
  EXPECT_EQ(c[18], std::to_string(kMaxCount));
  EXPECT_EQ(c[19], "inst-1");
  EXPECT_EQ(c[20], "5000");
  EXPECT_EQ(c[21], "0");  // negative estimate
  EXPECT_EQ(c[22], "2");
  EXPECT_EQ(c[23], "1000000");
  EXPECT_EQ(c[24], "250");
  EXPECT_EQ(c[26], std::to_string(kMaxNanos));
  auto e = args_of(admit_command(k, a, false));
  EXPECT_EQ(e[0], "EVAL");
  EXPECT_EQ(e[1], admit_script());
  // No seed (store.postgres: the script asks for one when the counter is missing).
  a.budgets[0].seed.reset();
  EXPECT_EQ(args_of(admit_command(k, a, true))[24], "-1");
}

TEST(RedisScripts, FinishArgumentsNameTheSlotOnlyWhenOneWasTaken) {
  Keys k;
  FinishArgs f;
  f.key_id = "kid";
  f.windowed = true;
  f.second = 1700000000;
  f.token_estimate = 100;
  f.actual_tokens = 40;
  f.hold_id = "h1";
  f.parallel = false;
  f.cost = std::nullopt;
  f.budgets.push_back({"key:kid", 0, 5, 0, 7});
  auto c = args_of(finish_command(k, f, true));
  ASSERT_EQ(c.size(), 3u + 8 + 7 + 2);
  EXPECT_EQ(c[9], k.totals("kid"));
  EXPECT_EQ(c[10], k.reserved("key:kid"));
  EXPECT_EQ(c[11], "1700000000");
  EXPECT_EQ(c[12], "100");
  EXPECT_EQ(c[13], "40");
  EXPECT_EQ(c[14], "");    // no parallel slot
  EXPECT_EQ(c[15], "h1");  // the reservation
  EXPECT_EQ(c[16], "-1");  // released, not charged
  EXPECT_EQ(c[18], "7");
  f.parallel = true;
  f.cost = 12;
  f.actual_tokens.reset();
  c = args_of(finish_command(k, f, true));
  EXPECT_EQ(c[13], "-1");
  EXPECT_EQ(c[14], "h1");
  EXPECT_EQ(c[16], "12");
  f.budgets[0].seed.reset();  // store.postgres: a missing counter is left to the next admission
  EXPECT_EQ(args_of(finish_command(k, f, true))[18], "-1");
}

namespace {
Value ints(std::initializer_list<int64_t> xs) {
  Value v;
  v.type = Value::Type::Array;
  for (auto x : xs) {
    Value e;
    e.type = Value::Type::Integer;
    e.integer = x;
    v.elements.push_back(e);
  }
  return v;
}
}  // namespace

TEST(RedisScripts, ParsesEveryAdmitOutcome) {
  auto ok = parse_admit_reply(ints({0, 1700000000, 3, 500, 60500, 60500}), 1);
  ASSERT_TRUE(std::holds_alternative<Admitted>(ok));
  EXPECT_EQ(std::get<Admitted>(ok).second, 1700000000);
  EXPECT_EQ(std::get<Admitted>(ok).requests, 3u);

  auto lim = parse_admit_reply(ints({1, 1, 10, 0, 1200, 59000, 10, 0, 59000, 0}), 0);
  ASSERT_TRUE(std::holds_alternative<LimitedReply>(lim));
  const auto& l = std::get<LimitedReply>(lim);
  EXPECT_EQ(l.limited.which, tg::governance::LimitKind::Rpm);
  EXPECT_EQ(l.limited.retry_after_seconds, 2);  // 1200 ms, rounded up
  EXPECT_EQ(l.limited.limit, 10u);

  auto par = parse_admit_reply(ints({1, 3, 2, 0, 0, 0, 0, 0, 0, 0}), 0);
  ASSERT_TRUE(std::holds_alternative<LimitedReply>(par));
  EXPECT_EQ(std::get<LimitedReply>(par).limited.which, tg::governance::LimitKind::Parallel);
  EXPECT_EQ(std::get<LimitedReply>(par).limited.retry_after_seconds, 1);

  auto ref = parse_admit_reply(ints({2, 2, 900, 100}), 2);
  ASSERT_TRUE(std::holds_alternative<BudgetRefused>(ref));
  EXPECT_EQ(std::get<BudgetRefused>(ref).budget, 1u);
  EXPECT_EQ(std::get<BudgetRefused>(ref).spent, 900);

  auto need = parse_admit_reply(ints({3, 1, 2}), 2);
  ASSERT_TRUE(std::holds_alternative<SeedNeeded>(need));
  EXPECT_EQ(std::get<SeedNeeded>(need).budgets, (std::vector<size_t>{0, 1}));
}

TEST(RedisScripts, HostileAdmitRepliesAreBadRepliesNeverACrashOrAGrant) {
  auto bad = [](const Value& v, size_t budgets = 1) {
    return std::holds_alternative<BadReply>(parse_admit_reply(v, budgets));
  };
  Value err;
  err.type = Value::Type::Error;
  err.str = "NOSCRIPT No matching script. " + std::string(10000, 'x');
  auto r = parse_admit_reply(err, 0);
  ASSERT_TRUE(std::holds_alternative<BadReply>(r));
  EXPECT_LE(std::get<BadReply>(r).message.size(), 200u);  // bounded in logs
  EXPECT_TRUE(std::get<BadReply>(r).message.starts_with("NOSCRIPT"));
  EXPECT_TRUE(bad(Value{}));                                     // nil
  EXPECT_TRUE(bad(ints({})));                                    // empty
  EXPECT_TRUE(bad(ints({0, 1, 2})));                             // short grant
  EXPECT_TRUE(bad(ints({0, 1, 2, 3, 4, 5, 6})));                 // long grant
  EXPECT_TRUE(bad(ints({1, 4, 0, 0, 0, 0, 0, 0, 0, 0})));        // unknown limit kind
  EXPECT_TRUE(bad(ints({2, 2, 0, 0}), 1));                       // budget index out of range
  EXPECT_TRUE(bad(ints({2, 0, 0, 0}), 1));
  EXPECT_TRUE(bad(ints({9, 0, 0, 0})));
  EXPECT_TRUE(bad(ints({3})));                                   // a seed for nothing
  EXPECT_TRUE(bad(ints({3, 2}), 1));                             // for a budget not sent
  EXPECT_TRUE(bad(ints({3, 0}), 1));
  EXPECT_TRUE(bad(ints({3, 1, 1}), 1));                          // more than were sent
  Value mixed = ints({0, 1, 2, 3, 4, 5});
  mixed.elements[3].type = Value::Type::String;
  EXPECT_TRUE(bad(mixed));
  // Out-of-range numbers are clamped, not trusted.
  auto l = parse_admit_reply(ints({1, 2, -5, -5, INT64_MAX, INT64_MIN, -1, -1, -1, -1}), 0);
  ASSERT_TRUE(std::holds_alternative<LimitedReply>(l));
  EXPECT_EQ(std::get<LimitedReply>(l).limited.retry_after_seconds, 3600);
  EXPECT_EQ(std::get<LimitedReply>(l).limited.reset.count(), 0);
  EXPECT_EQ(std::get<LimitedReply>(l).limited.limit, 0u);
}

TEST(RedisScripts, HeadersFollowTheInMemoryRules) {
  tg::config::LimitsConfig lim;
  lim.rpm = 10;
  lim.tpm = 1000;
  auto h = headers_of(lim, 3, 1500, 60500, 30000);
  EXPECT_EQ(*h.remaining_requests, 7u);
  EXPECT_EQ(*h.remaining_tokens, 0u);
  auto hs = h.to_headers();
  ASSERT_EQ(hs.size(), 6u);
  EXPECT_EQ(hs[2].second, "1m0.5s");
}

TEST(LedgerCharge, ChargesLikeASettlementWithoutAReservation) {
  tg::governance::BudgetLedger ledger;
  ledger.set_budget("key:k", {1000, tg::config::BudgetPeriod::Monthly, "k"});
  ledger.set_budget("team:t", {5000, tg::config::BudgetPeriod::Total, "t"});
  auto s = ledger.charge("key:k", "team:t", 300);
  ASSERT_EQ(s.deltas.size(), 2u);
  EXPECT_EQ(s.deltas[0].holder, "key:k");
  EXPECT_EQ(s.deltas[0].nano_usd, 300);
  EXPECT_GT(s.deltas[0].period_start, 0);
  EXPECT_EQ(s.deltas[1].period_start, 0);  // total
  EXPECT_EQ(ledger.spend("key:k")->spent, 300);
  EXPECT_EQ(ledger.spend("key:k")->reserved, 0);
  EXPECT_EQ(ledger.spend("team:t")->spent, 300);
  // Unknown cost: nothing charged; a holder without a budget still gets its delta.
  EXPECT_TRUE(ledger.charge("key:k", "", std::nullopt).deltas.empty());
  auto n = ledger.charge("key:nobudget", "", 5);
  ASSERT_EQ(n.deltas.size(), 1u);
  EXPECT_EQ(n.deltas[0].period_start, 0);
  EXPECT_EQ(ledger.stats().auto_released, 0u);
}

#include "config_test_util.hpp"

TEST(RedisConfig, UrlsParseAndBadOnesAreConfigErrors) {
  std::string err;
  auto u = tg::config::parse_redis_url("redis://:s3cret@cache.lan:6380/2", &err);
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->host, "cache.lan");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 2);
  EXPECT_EQ(u->password, "s3cret");
  EXPECT_TRUE(u->username.empty());
  auto v = tg::config::parse_redis_url("redis://[::1]", &err);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->host, "::1");
  EXPECT_EQ(v->port, 6379);
  auto w = tg::config::parse_redis_url("redis://app:pw@h/0", &err);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->username, "app");
  for (const char* bad : {"http://h:6379", "redis://", "redis://h:0", "redis://h:70000", "redis://h:x",
                          "redis://h/abc", "rediss://h", "redis://[::1"}) {
    EXPECT_FALSE(tg::config::parse_redis_url(bad, &err)) << bad;
  }
}

TEST(RedisConfig, StoreRedisSettingsAndFailModes) {
  using tg::config::testing::load;
  auto r = load("store:\n  redis: redis://127.0.0.1:7000/1\n  redis_timeout: 50ms\n"
                "  redis_fail: {limits: open, budgets: closed}\n");
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].to_string());
  EXPECT_EQ(r.config->store.redis_url.port, 7000);
  EXPECT_EQ(r.config->store.redis_timeout.count(), 50);
  EXPECT_TRUE(r.config->store.redis_fail_open_limits);
  EXPECT_FALSE(r.config->store.redis_fail_open_budgets);
  auto closed = load("store:\n  redis: redis://h\n  redis_fail: closed\n");
  ASSERT_TRUE(closed.config);
  EXPECT_FALSE(closed.config->store.redis_fail_open_limits);
  EXPECT_FALSE(closed.config->store.redis_fail_open_budgets);
  auto none = load("store:\n  sqlite: x.db\n");
  ASSERT_TRUE(none.config);
  EXPECT_TRUE(none.config->store.redis.empty());
  EXPECT_TRUE(none.config->store.redis_fail_open_limits);
  // Mistakes are errors with their line, and the password never appears in them.
  auto bad = load("store:\n  redis: http://:hunter2@h\n  redis_fail: maybe\n  redis_timeout: 0ms\n");
  EXPECT_FALSE(bad.config);
  ASSERT_EQ(bad.errors.size(), 3u);
  for (const auto& e : bad.errors) EXPECT_EQ(e.to_string().find("hunter2"), std::string::npos) << e.to_string();
  EXPECT_EQ(bad.errors[0].line, 2);
}

TEST(RedisCache, AnswersRoundTripAndForeignValuesAreRefused) {
  tg::cache::CachedAnswer a{std::string("{\"id\":\"x\"}\n\0tail", 16), "mock", "gpt-4o-mini"};
  auto v = encode_answer(a);
  auto back = decode_answer(v);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->body, a.body);
  EXPECT_EQ(back->provider, "mock");
  EXPECT_EQ(back->upstream_model, "gpt-4o-mini");
  for (std::string bad : {std::string(), std::string("tg1"), std::string("tg1 4 11\nmock"),
                          std::string("tg1 99999999 1\nx"), std::string("tg1 -1 2\nabc"),
                          std::string("tg2 1 1\nabc"), std::string("tg1 4 11\nmockgpt-4o-mini"),
                          "tg1 1 1" + std::string(100, ' ') + "\nabc"}) {
    EXPECT_FALSE(decode_answer(bad)) << bad;
  }
  EXPECT_EQ(Keys{}.cached("ab12"), "tg:c:4:ab12");
}
