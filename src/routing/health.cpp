#include "tollgate/routing/health.hpp"

#include <algorithm>

namespace tg::routing {
namespace {
constexpr size_t kMaxEntries = 4096;  // direct provider/model requests must not grow it forever
constexpr double kLatencyAlpha = 0.2;

int64_t minute_of(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::minutes>(t.time_since_epoch()).count();
}
}  // namespace

std::string deployment_id(std::string_view provider, std::string_view key_id,
                          std::string_view model) {
  std::string id;
  id.reserve(provider.size() + key_id.size() + model.size() + 2);
  id.append(provider).push_back('\x1f');
  id.append(key_id).push_back('\x1f');
  id.append(model);
  return id;
}

HealthTable::HealthTable(NowFn now) : now_(std::move(now)) {}

HealthTable::Entry& HealthTable::entry(std::string_view id) {
  auto it = entries_.find(id);
  if (it != entries_.end()) return it->second;
  if (entries_.size() >= kMaxEntries) trim();
  return entries_.emplace(std::string(id), Entry{}).first->second;
}

void HealthTable::trim() {
  auto now = now_();
  for (auto it = entries_.begin(); it != entries_.end();) {
    const Entry& e = it->second;
    bool idle = e.in_flight == 0 && e.cool_until <= now && e.consecutive_fails == 0;
    it = idle ? entries_.erase(it) : std::next(it);
  }
}

HealthView HealthTable::view(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return {};
  const Entry& e = it->second;
  HealthView v;
  v.cooling = e.cool_until > now_();
  v.cool_until = e.cool_until;
  v.latency_ms = e.latency_ms;
  v.in_flight = e.in_flight;
  return v;
}

RecentAttempts HealthTable::recent(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return {};
  const int64_t current = minute_of(now_());
  RecentAttempts r;
  for (const Minute& m : it->second.minutes) {
    if (m.minute > current - kRecentMinutes && m.minute <= current) {
      r.attempts += m.attempts;
      r.failures += m.failures;
    }
  }
  return r;
}

void HealthTable::count_end(Entry& e, bool failed) {
  const int64_t current = minute_of(now_());
  const int64_t slot = (current % kRecentMinutes + kRecentMinutes) % kRecentMinutes;
  Minute& m = e.minutes[static_cast<size_t>(slot)];
  if (m.minute != current) m = Minute{current, 0, 0};
  ++m.attempts;
  m.failures += failed ? 1 : 0;
}

void HealthTable::on_start(std::string_view id) {
  std::lock_guard lock(mu_);
  ++entry(id).in_flight;
}

void HealthTable::on_success(std::string_view id, double latency_ms) {
  std::lock_guard lock(mu_);
  Entry& e = entry(id);
  e.in_flight = std::max(0, e.in_flight - 1);
  count_end(e, false);
  e.consecutive_fails = 0;
  e.cool_until = {};
  e.latency_ms = e.latency_ms < 0 ? latency_ms
                                  : e.latency_ms + kLatencyAlpha * (latency_ms - e.latency_ms);
}

void HealthTable::on_failure(std::string_view id, const HealthPolicy& policy,
                             std::optional<std::chrono::milliseconds> retry_after) {
  std::lock_guard lock(mu_);
  Entry& e = entry(id);
  e.in_flight = std::max(0, e.in_flight - 1);
  count_end(e, true);
  ++e.consecutive_fails;
  auto now = now_();
  if (retry_after && retry_after->count() > 0) {
    e.cool_until = std::max(e.cool_until, now + std::min(*retry_after, policy.retry_after_cap));
  }
  if (e.consecutive_fails >= std::max(1, policy.allowed_fails)) {
    e.cool_until = std::max(e.cool_until, now + policy.cooldown);
    e.consecutive_fails = 0;  // after the rest, it gets allowed_fails fresh chances
  }
}

void HealthTable::on_neutral(std::string_view id) {
  std::lock_guard lock(mu_);
  Entry& e = entry(id);
  e.in_flight = std::max(0, e.in_flight - 1);
  count_end(e, false);
}

std::vector<HealthTable::Row> HealthTable::rows() const {
  std::lock_guard lock(mu_);
  auto now = now_();
  std::vector<Row> out;
  out.reserve(entries_.size());
  for (const auto& [id, e] : entries_) out.push_back(Row{id, e.cool_until <= now});
  return out;
}

}  // namespace tg::routing
