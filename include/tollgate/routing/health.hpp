#pragma once
// Per-deployment health shared by every worker: consecutive failures, cooldowns, requests in
// flight and a moving average of latency. A deployment is one (provider key, upstream model).
// Thread-safe (one short mutex section per call); the clock is injectable for tests. Pure.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tg::routing {

using SteadyClock = std::chrono::steady_clock;
using NowFn = std::function<SteadyClock::time_point()>;

struct HealthView {
  bool cooling = false;
  SteadyClock::time_point cool_until{};  // meaningful when cooling
  double latency_ms = -1;                // moving average; < 0 = never measured
  int in_flight = 0;
};

// Attempts that ended in the last kRecentMinutes (the current minute and the ones before), and
// how many of them failed: a deployment's error rate even when a failover answered for it.
inline constexpr int kRecentMinutes = 5;
struct RecentAttempts {
  int attempts = 0;
  int failures = 0;
};

struct HealthPolicy {
  int allowed_fails = 3;                         // failures in a row before a cooldown
  std::chrono::milliseconds cooldown{30'000};
  std::chrono::milliseconds retry_after_cap{60'000};
};

class HealthTable {
 public:
  explicit HealthTable(NowFn now = [] { return SteadyClock::now(); });

  HealthView view(std::string_view id) const;  // the router's, per request
  RecentAttempts recent(std::string_view id) const;  // for the admin view only
  void on_start(std::string_view id);
  void on_success(std::string_view id, double latency_ms);
  // A failure that says something about the deployment (connect error, 5xx, 429, timeout).
  // `retry_after` (from a 429/503) puts it in cooldown at once for that long (capped).
  void on_failure(std::string_view id, const HealthPolicy& policy,
                  std::optional<std::chrono::milliseconds> retry_after = std::nullopt);
  // The attempt ended without telling anything (client went away, client's own mistake).
  void on_neutral(std::string_view id);

  SteadyClock::time_point now() const { return now_(); }

  // For /metrics: every known deployment and whether it is up (not cooling).
  struct Row {
    std::string id;
    bool up;
  };
  std::vector<Row> rows() const;

 private:
  struct Minute {
    int64_t minute = -1;  // since the clock's epoch
    int attempts = 0, failures = 0;
  };
  struct Entry {
    int consecutive_fails = 0;
    SteadyClock::time_point cool_until{};
    double latency_ms = -1;
    int in_flight = 0;
    std::array<Minute, kRecentMinutes> minutes{};  // a ring, by minute
  };
  Entry& entry(std::string_view id);  // mu_ held
  void count_end(Entry& e, bool failed);  // mu_ held: one attempt ended
  void trim();                        // mu_ held: bounds the table

  struct IdHash {  // lookups by string_view: no std::string built per call
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  NowFn now_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry, IdHash, std::equal_to<>> entries_;
};

// "provider\x1fkey-id\x1fmodel": the id of one deployment.
std::string deployment_id(std::string_view provider, std::string_view key_id,
                          std::string_view model);

}  // namespace tg::routing
