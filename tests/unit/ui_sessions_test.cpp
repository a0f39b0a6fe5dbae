// The web UI's sessions (expiry, sign-out, bounds) and the sign-in throttle.

#include <set>

#include <gtest/gtest.h>

#include "tollgate/admin/ui_sessions.hpp"

namespace tg::admin {
namespace {

struct Clock {
  int64_t now = 1'700'000'000'000;
};

UiSessions::Options with_clock(Clock& c) {
  UiSessions::Options o;
  o.now_ms = [&c] { return c.now; };
  return o;
}

TEST(UiSessions, CreateFindExpireAfterTwelveHours) {
  Clock c;
  UiSessions s(with_clock(c));
  auto a = s.create();
  EXPECT_EQ(a.token.size(), 64u) << "256 bits, hex";
  EXPECT_EQ(a.csrf.size(), 64u);
  EXPECT_NE(a.token, a.csrf);
  EXPECT_EQ(a.expires_at_ms, c.now + 12 * 3600 * 1000);
  auto found = s.find(a.token);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->csrf, a.csrf);
  EXPECT_FALSE(s.find(a.csrf)) << "the CSRF token is not a session";
  EXPECT_FALSE(s.find(""));
  EXPECT_FALSE(s.find(a.token.substr(1)));
  c.now = a.expires_at_ms - 1;
  EXPECT_TRUE(s.find(a.token));
  c.now = a.expires_at_ms;
  EXPECT_FALSE(s.find(a.token)) << "expired";
  EXPECT_EQ(s.size(), 0u) << "and forgotten";
}

TEST(UiSessions, RemembersWhatTheSessionIsBoundTo) {
  Clock c;
  UiSessions s(with_clock(c));
  auto a = s.create("master-hash-1");
  ASSERT_TRUE(s.find(a.token));
  EXPECT_EQ(s.find(a.token)->bound_to, "master-hash-1");
}

TEST(UiSessions, TokensAreRandomAndSignOutKillsOnlyThatSession) {
  Clock c;
  UiSessions s(with_clock(c));
  std::set<std::string> seen;
  std::vector<UiSessions::Session> all;
  for (int i = 0; i < 50; ++i) {
    all.push_back(s.create());
    EXPECT_TRUE(seen.insert(all.back().token).second);
    EXPECT_TRUE(seen.insert(all.back().csrf).second);
  }
  EXPECT_TRUE(s.remove(all[3].token));
  EXPECT_FALSE(s.find(all[3].token));
  EXPECT_FALSE(s.remove(all[3].token)) << "already gone";
  EXPECT_TRUE(s.find(all[4].token));
}

TEST(UiSessions, BoundedDropsTheSessionExpiringSoonest) {
  Clock c;
  auto o = with_clock(c);
  o.max_sessions = 3;
  UiSessions s(o);
  auto first = s.create();
  c.now += 1000;
  auto second = s.create();
  auto third = s.create();
  auto fourth = s.create();
  EXPECT_EQ(s.size(), 3u);
  EXPECT_FALSE(s.find(first.token));
  EXPECT_TRUE(s.find(second.token));
  EXPECT_TRUE(s.find(third.token));
  EXPECT_TRUE(s.find(fourth.token));
}

TEST(UiSessions, FailedSignInsAreThrottledPerAddressForAWindow) {
  Clock c;
  UiSessions s(with_clock(c));  // 5 per minute
  for (int i = 0; i < 4; ++i) {
    s.failed("10.0.0.1");
    EXPECT_FALSE(s.blocked("10.0.0.1")) << i;
  }
  s.failed("10.0.0.1");
  auto wait = s.blocked("10.0.0.1");
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 60);
  EXPECT_FALSE(s.blocked("10.0.0.2")) << "per address";
  c.now += 59'500;
  ASSERT_TRUE(s.blocked("10.0.0.1"));
  EXPECT_EQ(*s.blocked("10.0.0.1"), 1);
  c.now += 500;
  EXPECT_FALSE(s.blocked("10.0.0.1")) << "the window ended";
  s.failed("10.0.0.1");
  EXPECT_FALSE(s.blocked("10.0.0.1")) << "a fresh window counts from one";
  s.succeeded("10.0.0.1");
  for (int i = 0; i < 4; ++i) s.failed("10.0.0.1");
  EXPECT_FALSE(s.blocked("10.0.0.1"));
}

TEST(UiSessions, ThrottleMemoryIsBounded) {
  Clock c;
  auto o = with_clock(c);
  o.max_tracked_ips = 100;
  o.max_failures = 1;
  UiSessions s(o);
  for (int i = 0; i < 1000; ++i) s.failed("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  int blocked = 0;
  for (int i = 0; i < 1000; ++i) {
    blocked += s.blocked("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256)) ? 1 : 0;
  }
  EXPECT_LE(blocked, 100);
  EXPECT_TRUE(s.blocked("10.1.3.231")) << "the latest are kept";
}

TEST(UiSessions, CookieValue) {
  EXPECT_EQ(cookie_value("tg_session=abc", "tg_session"), "abc");
  EXPECT_EQ(cookie_value("a=1; tg_session=abc; b=2", "tg_session"), "abc");
  EXPECT_EQ(cookie_value("a=1;tg_session=\"abc\"", "tg_session"), "abc");
  EXPECT_EQ(cookie_value("xtg_session=abc", "tg_session"), "");
  EXPECT_EQ(cookie_value("tg_session", "tg_session"), "");
  EXPECT_EQ(cookie_value("", "tg_session"), "");
}

}  // namespace
}  // namespace tg::admin
