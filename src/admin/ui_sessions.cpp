#include "tollgate/admin/ui_sessions.hpp"

#include <algorithm>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "tollgate/core/secure.hpp"
#include "tollgate/core/text.hpp"

namespace tg::admin {

namespace {

std::string random_hex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  unsigned char buf[32];
  if (bytes > sizeof buf || RAND_bytes(buf, static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("RAND_bytes failed: cannot create a session");
  }
  std::string out;
  out.reserve(bytes * 2);
  for (size_t i = 0; i < bytes; ++i) {
    out += kHex[buf[i] >> 4];
    out += kHex[buf[i] & 15];
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return out;
}

int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

UiSessions::UiSessions() : UiSessions(Options{}) {}
UiSessions::UiSessions(Options opts) : opts_(std::move(opts)) {}

int64_t UiSessions::now() const { return opts_.now_ms ? opts_.now_ms() : system_now_ms(); }

UiSessions::Session UiSessions::create(std::string bound_to) {
  Session s{random_hex(32), random_hex(32), now() + opts_.ttl.count()};
  std::lock_guard lock(mu_);
  if (sessions_.size() >= opts_.max_sessions) {
    const int64_t t = now();
    std::erase_if(sessions_, [t](const auto& kv) { return kv.second.expires_at_ms <= t; });
    if (sessions_.size() >= opts_.max_sessions) {
      auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
        return a.second.expires_at_ms < b.second.expires_at_ms;
      });
      sessions_.erase(oldest);
    }
  }
  sessions_[sha256_hex(s.token)] = Entry{s.csrf, s.expires_at_ms, std::move(bound_to)};
  return s;
}

std::optional<UiSessions::View> UiSessions::find(std::string_view token) {
  if (token.empty()) return std::nullopt;
  const std::string id = sha256_hex(token);
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires_at_ms <= now()) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return View{it->second.csrf, it->second.expires_at_ms, it->second.bound_to};
}

bool UiSessions::remove(std::string_view token) {
  if (token.empty()) return false;
  const std::string id = sha256_hex(token);
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  const bool live = it->second.expires_at_ms > now();
  sessions_.erase(it);
  return live;
}

size_t UiSessions::size() {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

std::optional<int64_t> UiSessions::blocked(const std::string& ip) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(ip);
  if (it == failures_.end()) return std::nullopt;
  const int64_t end = it->second.window_start_ms + opts_.failure_window.count();
  const int64_t t = now();
  if (end <= t) {
    failures_.erase(it);
    return std::nullopt;
  }
  if (it->second.count < opts_.max_failures) return std::nullopt;
  return std::max<int64_t>(1, (end - t + 999) / 1000);
}

void UiSessions::failed(const std::string& ip) {
  std::lock_guard lock(mu_);
  const int64_t t = now();
  const int64_t window = opts_.failure_window.count();
  auto it = failures_.find(ip);
  if (it != failures_.end() && it->second.window_start_ms + window <= t) {
    it->second = Failures{t, 0};  // the window ended: a fresh one
  }
  if (it == failures_.end()) {
    if (failures_.size() >= opts_.max_tracked_ips) {
      std::erase_if(failures_, [&](const auto& kv) { return kv.second.window_start_ms + window <= t; });
      if (failures_.size() >= opts_.max_tracked_ips) {
        // Many addresses failing at once: forget the oldest window (bounded memory first).
        auto oldest = std::min_element(failures_.begin(), failures_.end(), [](auto& a, auto& b) {
          return a.second.window_start_ms < b.second.window_start_ms;
        });
        failures_.erase(oldest);
      }
    }
    it = failures_.emplace(ip, Failures{t, 0}).first;
  }
  ++it->second.count;
}

void UiSessions::succeeded(const std::string& ip) {
  std::lock_guard lock(mu_);
  failures_.erase(ip);
}

std::string_view cookie_value(std::string_view cookie_header, std::string_view name) {
  for (std::string_view pair : split_list(cookie_header, ';')) {
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(pair.substr(0, eq)) != name) continue;
    std::string_view v = trim(pair.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  return {};
}

}  // namespace tg::admin
