#include "tollgate/governance/rate_limit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace tg::governance {
namespace {

using namespace std::chrono;

struct FakeSteady {
  std::shared_ptr<std::atomic<int64_t>> ms = std::make_shared<std::atomic<int64_t>>(1'000'000'000);
  void advance(milliseconds d) { ms->fetch_add(d.count()); }
  RateLimiter::Clock fn() const {
    auto m = ms;
    return [m] { return steady_clock::time_point{milliseconds{m->load()}}; };
  }
};

config::LimitsConfig limits(std::optional<uint64_t> rpm, std::optional<uint64_t> tpm = {},
                            std::optional<uint32_t> parallel = {}) {
  config::LimitsConfig l;
  l.rpm = rpm;
  l.tpm = tpm;
  l.parallel = parallel;
  return l;
}

bool ok(const std::variant<Permit, Limited>& v) { return std::holds_alternative<Permit>(v); }

TEST(GovRateLimit, ExactRpmUnderConcurrency) {
  FakeSteady clock;  // frozen: all 100 requests fall in the same minute
  RateLimiter rl(clock.fn());
  auto lim = limits(10);
  std::atomic<int> passed{0}, limited{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 100; ++i) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      auto v = rl.acquire("k", lim, 1);
      if (ok(v)) {
        passed++;
      } else {
        EXPECT_EQ(std::get<Limited>(v).which, LimitKind::Rpm);
        limited++;
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(passed.load(), 10);
  EXPECT_EQ(limited.load(), 90);
}

TEST(GovRateLimit, WindowSlidesWithTheClock) {
  FakeSteady clock;
  RateLimiter rl(clock.fn());
  auto lim = limits(3);
  ASSERT_TRUE(ok(rl.acquire("k", lim, 0)));  // t = 0
  clock.advance(20s);
  ASSERT_TRUE(ok(rl.acquire("k", lim, 0)));  // t = 20
  ASSERT_TRUE(ok(rl.acquire("k", lim, 0)));  // t = 20
  clock.advance(10s);                        // t = 30
  auto v = rl.acquire("k", lim, 0);
  ASSERT_FALSE(ok(v));
  const Limited& l = std::get<Limited>(v);
  EXPECT_EQ(l.which, LimitKind::Rpm);
  EXPECT_EQ(l.limit, 3u);
  EXPECT_EQ(l.remaining, 0u);
  EXPECT_EQ(l.retry_after_seconds, 31);  // the t=0 request leaves the window at t=61
  clock.advance(30s);                       // t = 60: still inside (no 60 s interval holds 4)
  EXPECT_FALSE(ok(rl.acquire("k", lim, 0)));
  clock.advance(1s);                        // t = 61: the first request has left
  EXPECT_TRUE(ok(rl.acquire("k", lim, 0)));
  EXPECT_FALSE(ok(rl.acquire("k", lim, 0)));
  clock.advance(20s);                       // t = 81: the two of t=20 have left
  EXPECT_TRUE(ok(rl.acquire("k", lim, 0)));
  EXPECT_TRUE(ok(rl.acquire("k", lim, 0)));
  EXPECT_FALSE(ok(rl.acquire("k", lim, 0)));
}

TEST(GovRateLimit, NeverMoreThanRpmInAnySixtySeconds) {
  FakeSteady clock;
  RateLimiter rl(clock.fn());
  auto lim = limits(5);
  std::vector<int64_t> admitted;  // ms
  for (int step = 0; step < 3000; ++step) {  // 300 s, one attempt every 100 ms
    if (ok(rl.acquire("k", lim, 0))) admitted.push_back(clock.ms->load());
    clock.advance(100ms);
  }
  for (size_t i = 0; i < admitted.size(); ++i) {
    size_t n = 0;
    for (size_t j = i; j < admitted.size() && admitted[j] < admitted[i] + 60'000; ++j) ++n;
    EXPECT_LE(n, 5u) << "window starting at " << admitted[i];
  }
  // And the limiter is not overly strict: about 5 per 61 s over 300 s.
  EXPECT_GE(admitted.size(), 24u);
}

TEST(GovRateLimit, TpmCountsEstimatesAndSettleCorrectsThem) {
  FakeSteady clock;
  RateLimiter rl(clock.fn());
  auto lim = limits(std::nullopt, 10'000);
  auto a = rl.acquire("k", lim, 6'000);
  ASSERT_TRUE(ok(a));
  auto b = rl.acquire("k", lim, 6'000);  // 12'000 > 10'000
  ASSERT_FALSE(ok(b));
  EXPECT_EQ(std::get<Limited>(b).which, LimitKind::Tpm);
  EXPECT_EQ(std::get<Limited>(b).remaining, 4'000u);
  // The first request used far fewer tokens than estimated: the correction frees room.
  std::get<Permit>(a).settle_tokens(1'500);
  EXPECT_EQ(rl.headers("k", lim).remaining_tokens, 8'500u);
  auto c = rl.acquire("k", lim, 6'000);
  ASSERT_TRUE(ok(c));
  // And one that used more than estimated counts its actual.
  std::get<Permit>(c).settle_tokens(8'000);
  EXPECT_EQ(rl.headers("k", lim).remaining_tokens, 500u);
  std::get<Permit>(c).settle_tokens(1);  // only the first settlement counts
  EXPECT_EQ(rl.headers("k", lim).remaining_tokens, 500u);
  EXPECT_FALSE(ok(rl.acquire("k", lim, 1'000)));
  clock.advance(61s);
  EXPECT_TRUE(ok(rl.acquire("k", lim, 1'000)));
}

TEST(GovRateLimit, OversizedRequestPassesOnlyAnEmptyWindow) {
  FakeSteady clock;
  RateLimiter rl(clock.fn());
  auto lim = limits(std::nullopt, 1'000);
  ASSERT_TRUE(ok(rl.acquire("k", lim, 5'000)));  // empty window: admitted, not refused forever
  auto v = rl.acquire("k", lim, 5'000);
  ASSERT_FALSE(ok(v));
  EXPECT_EQ(std::get<Limited>(v).retry_after_seconds, 61);
}

TEST(GovRateLimit, ParallelSlotsReleasedByRaii) {
  RateLimiter rl;
  auto lim = limits(std::nullopt, std::nullopt, 2);
  {
    auto a = rl.acquire("k", lim, 0);
    auto b = rl.acquire("k", lim, 0);
    ASSERT_TRUE(ok(a) && ok(b));
    auto c = rl.acquire("k", lim, 0);
    ASSERT_FALSE(ok(c));
    EXPECT_EQ(std::get<Limited>(c).which, LimitKind::Parallel);
    EXPECT_EQ(std::get<Limited>(c).retry_after_seconds, 1);
    Permit moved = std::move(std::get<Permit>(a));  // a move keeps the slot
    EXPECT_FALSE(ok(rl.acquire("k", lim, 0)));
    moved.release();
    auto d = rl.acquire("k", lim, 0);
    EXPECT_TRUE(ok(d));
  }
  // Every permit destroyed: both slots free again.
  auto e = rl.acquire("k", lim, 0);
  auto f = rl.acquire("k", lim, 0);
  EXPECT_TRUE(ok(e) && ok(f));
}

TEST(GovRateLimit, ParallelUnderConcurrencyNeverExceedsTheLimit) {
  RateLimiter rl;
  auto lim = limits(std::nullopt, std::nullopt, 4);
  std::atomic<int> inside{0}, peak{0}, admitted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      for (int n = 0; n < 200; ++n) {
        auto v = rl.acquire("k", lim, 0);
        if (!ok(v)) continue;
        int now = ++inside;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        admitted++;
        --inside;
      }  // permit destroyed at the end of each iteration
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), 4);
  EXPECT_GT(admitted.load(), 0);
  std::vector<std::variant<Permit, Limited>> all;
  for (int i = 0; i < 4; ++i) all.push_back(rl.acquire("k", lim, 0));
  for (auto& v : all) EXPECT_TRUE(ok(v));  // nothing leaked
  EXPECT_FALSE(ok(rl.acquire("k", lim, 0)));
}

TEST(GovRateLimit, RefundUncountsTheRequest) {
  FakeSteady clock;
  RateLimiter rl(clock.fn());
  auto lim = limits(1, 100, 1);
  auto a = rl.acquire("k", lim, 50);
  ASSERT_TRUE(ok(a));
  EXPECT_FALSE(ok(rl.acquire("k", lim, 50)));
  std::get<Permit>(a).refund();  // e.g. the budget refused it
  EXPECT_FALSE(std::get<Permit>(a).active());
  auto h = rl.headers("k", lim);
  EXPECT_EQ(h.remaining_requests, 1u);
  EXPECT_EQ(h.remaining_tokens, 100u);
  EXPECT_TRUE(ok(rl.acquire("k", lim, 50)));
}

TEST(GovRateLimit, FirstLimitHitIsReportedWithTheLongestRetry) {
  FakeSteady clock;
  RateLimiter rl(clock.fn());
  auto lim = limits(2, 1'000);
  ASSERT_TRUE(ok(rl.acquire("k", lim, 100)));  // t = 0
  clock.advance(30s);
  ASSERT_TRUE(ok(rl.acquire("k", lim, 850)));  // t = 30
  clock.advance(10s);
  // t = 40: rpm is full until the t=0 request leaves (t=61, 21 s); tpm needs 500 free tokens,
  // so both buckets must leave (t=91, 51 s). Retry-After must be the later of the two.
  auto v = rl.acquire("k", lim, 500);
  ASSERT_FALSE(ok(v));
  EXPECT_EQ(std::get<Limited>(v).which, LimitKind::Rpm);
  EXPECT_EQ(std::get<Limited>(v).retry_after_seconds, 51);
  EXPECT_EQ(std::get<Limited>(v).reset, 51'000ms);  // rpm back to full when t=30 leaves
  clock.advance(51s);
  EXPECT_TRUE(ok(rl.acquire("k", lim, 500)));
}

TEST(GovRateLimit, HeadersAfterThisRequest) {
  FakeSteady clock;
  RateLimiter rl(clock.fn());
  auto lim = limits(10, 1'000);
  auto none = rl.headers("k", lim);  // untouched key
  EXPECT_EQ(none.remaining_requests, 10u);
  EXPECT_EQ(none.reset_requests, 0ms);
  ASSERT_TRUE(ok(rl.acquire("k", lim, 100)));
  clock.advance(1500ms);
  auto h = rl.headers("k", lim);
  EXPECT_EQ(h.limit_requests, 10u);
  EXPECT_EQ(h.remaining_requests, 9u);  // counts the request just admitted
  EXPECT_EQ(h.limit_tokens, 1'000u);
  EXPECT_EQ(h.remaining_tokens, 900u);
  // The request was admitted in second 0 and leaves at 61 s; now is 1.5 s.
  EXPECT_EQ(h.reset_requests, 59'500ms);
  auto hv = h.to_headers();
  ASSERT_EQ(hv.size(), 6u);
  EXPECT_EQ(hv[0], (std::pair<std::string, std::string>{"x-ratelimit-limit-requests", "10"}));
  EXPECT_EQ(hv[1], (std::pair<std::string, std::string>{"x-ratelimit-remaining-requests", "9"}));
  EXPECT_EQ(hv[2], (std::pair<std::string, std::string>{"x-ratelimit-reset-requests", "59.5s"}));
  EXPECT_EQ(hv[4].second, "900");
  // Only the limits that are set produce headers.
  EXPECT_TRUE(rl.headers("k", limits(std::nullopt, std::nullopt, 5)).to_headers().empty());
  EXPECT_EQ(rl.headers("k", limits(10)).to_headers().size(), 3u);
}

// acquire() hands out its headers from the same lock and window pass: they must be exactly what
// headers() says right after, admitted or refused, over a long walk through the window.
TEST(GovRateLimit, AcquireHeadersAreWhatHeadersSaysRightAfter) {
  FakeSteady clock;
  RateLimiter rl(clock.fn());
  std::mt19937 rng(7);
  const config::LimitsConfig cases[] = {limits(7, 900), limits(7), limits(std::nullopt, 500),
                                        limits(5, 400, 3), limits(std::nullopt, std::nullopt, 2)};
  std::vector<Permit> held;
  int admitted = 0, refused = 0;
  for (int step = 0; step < 4000; ++step) {
    const auto& lim = cases[(step / 800) % std::size(cases)];
    const std::string key = "k" + std::to_string(step / 800);
    RateLimitHeaders got;
    auto v = rl.acquire(key, lim, std::uniform_int_distribution<int>(0, 150)(rng), &got);
    const auto want = rl.headers(key, lim);
    EXPECT_EQ(got.to_headers(), want.to_headers()) << "step " << step;
    if (ok(v)) {
      ++admitted;
      auto& p = held.emplace_back(std::move(std::get<Permit>(v)));
      if (rng() % 3 == 0) p.settle_tokens(std::uniform_int_distribution<int>(0, 200)(rng));
      if (rng() % 5 == 0) p.refund();
    } else {
      ++refused;
    }
    if (held.size() > 2 && rng() % 2) held.erase(held.begin());
    clock.advance(milliseconds(std::uniform_int_distribution<int>(0, 3000)(rng)));
  }
  EXPECT_GT(admitted, 500);  // the walk exercised both outcomes
  EXPECT_GT(refused, 500);
}

TEST(GovRateLimit, NoLimitsTouchNoState) {
  RateLimiter rl;
  auto v = rl.acquire("k", config::LimitsConfig{}, 1'000'000);
  ASSERT_TRUE(ok(v));
  EXPECT_FALSE(std::get<Permit>(v).active());
  EXPECT_EQ(rl.tracked_keys(), 0u);
}

TEST(GovRateLimit, KeysAreIndependentAndForgettable) {
  FakeSteady clock;
  RateLimiter rl(clock.fn());
  auto lim = limits(1);
  EXPECT_TRUE(ok(rl.acquire("a", lim, 0)));
  EXPECT_TRUE(ok(rl.acquire("b", lim, 0)));
  EXPECT_FALSE(ok(rl.acquire("a", lim, 0)));
  rl.forget("a");
  EXPECT_EQ(rl.tracked_keys(), 1u);
  EXPECT_TRUE(ok(rl.acquire("a", lim, 0)));
}

TEST(GovRateLimit, GoDurations) {
  EXPECT_EQ(go_duration(0ms), "0s");
  EXPECT_EQ(go_duration(12ms), "12ms");
  EXPECT_EQ(go_duration(1000ms), "1s");
  EXPECT_EQ(go_duration(1500ms), "1.5s");
  EXPECT_EQ(go_duration(1250ms), "1.25s");
  EXPECT_EQ(go_duration(360'000ms), "6m0s");
  EXPECT_EQ(go_duration(90'000ms), "1m30s");
  EXPECT_EQ(go_duration(3'600'000ms), "1h0m0s");
  EXPECT_EQ(go_duration(3'723'000ms), "1h2m3s");
  // Fractions: three digits with the trailing zeros dropped, inner zeros kept.
  EXPECT_EQ(go_duration(1005ms), "1.005s");
  EXPECT_EQ(go_duration(1050ms), "1.05s");
  EXPECT_EQ(go_duration(1205ms), "1.205s");
  EXPECT_EQ(go_duration(61'001ms), "1m1.001s");
  EXPECT_EQ(go_duration(-5ms), "0s");
  // The largest duration fits the buffer: Go's own text for math.MaxInt64 milliseconds.
  EXPECT_EQ(go_duration(std::chrono::milliseconds{INT64_MAX}), "2562047788015h12m55.807s");
}

TEST(GovRateLimit, EachHandsOutWhatToHeadersReturns) {
  RateLimitHeaders h;
  h.limit_requests = 600;
  h.remaining_requests = UINT64_MAX;
  h.reset_requests = 90'250ms;
  h.limit_tokens = 1'000'000;
  h.remaining_tokens = 0;
  h.reset_tokens = 7ms;
  std::vector<std::pair<std::string, std::string>> seen;
  h.each([&](HeaderName n, std::string_view v) { seen.emplace_back(n.text(), v); });
  EXPECT_EQ(seen, h.to_headers());
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen[1].second, "18446744073709551615");
  EXPECT_EQ(seen[2].second, "1m30.25s");
  EXPECT_EQ(seen[5], (std::pair<std::string, std::string>{"x-ratelimit-reset-tokens", "7ms"}));
}

TEST(GovRateLimit, ErrorShape) {
  Limited l{LimitKind::Tpm, 7, 200'000, 0, 60'000ms};
  Error e = rate_limit_error(l, "flux");
  EXPECT_EQ(e.status, 429);
  EXPECT_EQ(e.code, ErrorCode::RateLimited);
  EXPECT_EQ(e.type, "rate_limit_error");
  EXPECT_EQ(e.code_str, "rate_limit_exceeded");
  EXPECT_EQ(e.retry_after, "7");
  EXPECT_NE(e.message.find("flux"), std::string::npos);
  EXPECT_NE(e.message.find("200000 tokens per minute"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace tg::governance
