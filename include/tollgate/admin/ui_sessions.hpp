#pragma once
// The admin web UI's sign-in sessions: a random 256-bit cookie token per browser, each with its
// own CSRF token and a fixed expiry, kept in memory only (a restart signs everyone out). Also the
// per-IP limit on failed sign-ins. Thread-safe (one mutex; every call is short). Pure: no Asio.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tg::admin {

class UiSessions {
 public:
  struct Options {
    std::chrono::milliseconds ttl{std::chrono::hours(12)};
    size_t max_sessions = 1000;  // beyond: the session expiring soonest is dropped
    int max_failures = 5;        // failed sign-ins per IP per window, then refused until it ends
    std::chrono::milliseconds failure_window{std::chrono::minutes(1)};
    size_t max_tracked_ips = 10'000;
    std::function<int64_t()> now_ms;  // injectable clock (unix ms); default system clock
  };

  struct Session {
    std::string token;  // the cookie value: only ever in Set-Cookie, never stored here
    std::string csrf;
    int64_t expires_at_ms = 0;
  };
  struct View {
    std::string csrf;
    int64_t expires_at_ms = 0;
    std::string bound_to;  // what create() was given: a hash of the master key signed in with
  };

  UiSessions();
  explicit UiSessions(Options opts);

  // A new session (256 bits from RAND_bytes each for the token and the CSRF token), bound to
  // `bound_to` (the caller checks it on use: a new master key signs every session out).
  Session create(std::string bound_to = "");
  // The live session of a cookie token, if any (expired ones are forgotten here).
  std::optional<View> find(std::string_view token);
  // Signs out; false when there was no such live session.
  bool remove(std::string_view token);
  size_t size();

  // Sign-in throttling per client address: seconds until it may try again, or nullopt.
  std::optional<int64_t> blocked(const std::string& ip);
  void failed(const std::string& ip);
  void succeeded(const std::string& ip);

 private:
  int64_t now() const;

  struct Entry {
    std::string csrf;
    int64_t expires_at_ms;
    std::string bound_to;
  };
  struct Failures {
    int64_t window_start_ms = 0;
    int count = 0;
  };

  Options opts_;
  std::mutex mu_;
  // Keyed by SHA-256 of the token: a lookup's timing says nothing about a live token.
  std::unordered_map<std::string, Entry> sessions_;
  std::unordered_map<std::string, Failures> failures_;
};

// The value of cookie `name` in a Cookie header ("a=1; tg_session=xyz"), or "".
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace tg::admin
