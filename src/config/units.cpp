// Sizes, durations, numbers, timestamps, listen addresses and "did you mean" suggestions.

#include "internal.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace tg::config {
namespace detail {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  const std::string w = to_lower(word);
  // Short words get a tighter bound, else "ab" would "mean" any two-letter key.
  const size_t max_dist = w.size() <= 3 ? 1 : 2;
  std::string_view best;
  size_t best_score = max_dist + 2;
  for (std::string_view cand : candidates) {
    const std::string c = to_lower(cand);
    if (c == w) continue;
    size_t score = edit_distance(w, c);
    if (score > max_dist) {
      bool prefix = (w.size() >= 3 && c.starts_with(w)) || (c.size() >= 3 && w.starts_with(c));
      score = prefix ? max_dist + 1 : max_dist + 2;
    }
    if (score < best_score) {
      best_score = score;
      best = cand;
    }
  }
  if (best_score > max_dist + 1) return "";
  return " (did you mean '" + std::string(best) + "'?)";
}

std::string join(const std::vector<std::string_view>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

std::string vars_phrase(const std::vector<std::string>& vars) {
  if (vars.empty()) return "";
  std::string out = vars[0];
  for (size_t i = 1; i < vars.size(); ++i) out += (i + 1 == vars.size() ? " and " : ", ") + vars[i];
  return out + (vars.size() == 1 ? " is" : " are");
}

std::optional<int64_t> parse_int(std::string_view s) {
  s = trim(s);
  if (s.starts_with('+')) s.remove_prefix(1);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_number(std::string_view s) {
  s = trim(s);
  if (s.starts_with('+')) s.remove_prefix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<bool> parse_bool(std::string_view s) {
  const std::string v = to_lower(trim(s));
  if (v == "true" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "no" || v == "off") return false;
  return std::nullopt;
}

namespace {

// Reads exactly n digits at s[pos].
std::optional<int> digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// "", "Z", "+02:00", "-0530" -> offset in minutes.
std::optional<int> parse_utc_offset(std::string_view s) {
  if (s.empty() || s == "Z" || s == "z") return 0;
  if (s[0] != '+' && s[0] != '-') return std::nullopt;
  auto h = digits(s, 1, 2);
  std::optional<int> m;
  if (s.size() == 6 && s[3] == ':') m = digits(s, 4, 2);
  else if (s.size() == 5) m = digits(s, 3, 2);
  else if (s.size() == 3) m = 0;
  if (!h || !m || *h > 23 || *m > 59) return std::nullopt;
  int off = *h * 60 + *m;
  return s[0] == '-' ? -off : off;
}

}  // namespace

std::optional<std::chrono::sys_seconds> parse_timestamp(std::string_view s) {
  using namespace std::chrono;
  s = trim(s);
  auto y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  if (!y || !mo || !d || s[4] != '-' || s[7] != '-') return std::nullopt;
  year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  sys_seconds t = sys_days{ymd};
  if (s.size() == 10) return t;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  auto hh = digits(s, 11, 2), mm = digits(s, 14, 2);
  if (!hh || !mm || s.size() < 16 || s[13] != ':' || *hh > 23 || *mm > 59) return std::nullopt;
  size_t pos = 16;
  int ss = 0;
  if (pos < s.size() && s[pos] == ':') {
    auto sec = digits(s, pos + 1, 2);
    if (!sec || *sec > 60) return std::nullopt;
    ss = *sec;
    pos += 3;
    if (pos < s.size() && s[pos] == '.') {  // fractional seconds: ignored
      ++pos;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    }
  }
  auto off = parse_utc_offset(s.substr(pos));
  if (!off) return std::nullopt;
  return t + hours{*hh} + minutes{*mm} + seconds{ss} - minutes{*off};
}

std::optional<HostPort> parse_listen(std::string_view s, std::string* why) {
  s = trim(s);
  HostPort hp{"0.0.0.0", 0};
  std::string_view port;
  if (s.starts_with('[')) {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      *why = "expected [host]:port, got '" + std::string(s) + "'";
      return std::nullopt;
    }
    hp.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else if (size_t colon = s.rfind(':'); colon != std::string_view::npos) {
    std::string_view host = s.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      *why = "an IPv6 address needs brackets, e.g. [::1]:8080";
      return std::nullopt;
    }
    if (!host.empty()) hp.host = std::string(host);
    port = s.substr(colon + 1);
  } else {
    port = s;  // a bare port
  }
  auto p = parse_int(port);
  if (!p) {
    *why = "expected host:port, got '" + std::string(s) + "'";
    return std::nullopt;
  }
  if (*p < 1 || *p > 65535) {
    *why = "port must be between 1 and 65535, got " + std::to_string(*p);
    return std::nullopt;
  }
  if (hp.host.empty()) hp.host = "0.0.0.0";
  hp.port = static_cast<uint16_t>(*p);
  return hp;
}

}  // namespace detail

namespace {

// Splits "16MiB" into a number and a unit.
std::pair<std::string_view, std::string_view> split_number(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  return {s.substr(0, i), detail::trim(s.substr(i))};
}

}  // namespace

std::optional<uint64_t> parse_size(std::string_view s) {
  s = detail::trim(s);
  auto [num, unit] = split_number(s);
  if (num.empty()) return std::nullopt;
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},          {"b", 1},         {"kb", 1000},       {"kib", 1ull << 10},
      {"mb", 1000'000}, {"mib", 1ull << 20}, {"gb", 1000'000'000}, {"gib", 1ull << 30},
  };
  const std::string u = detail::to_lower(unit);
  auto it = std::find_if(std::begin(kUnits), std::end(kUnits), [&](auto& e) { return e.first == u; });
  if (it == std::end(kUnits)) return std::nullopt;
  if (num.find('.') == std::string_view::npos) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (ec != std::errc() || p != num.data() + num.size()) return std::nullopt;
    if (v > std::numeric_limits<uint64_t>::max() / it->second) return std::nullopt;
    return v * it->second;
  }
  if (it->second == 1) return std::nullopt;  // no fractional bytes
  auto v = detail::parse_number(num);
  if (!v) return std::nullopt;
  long double bytes = static_cast<long double>(*v) * it->second;
  if (bytes > static_cast<long double>(std::numeric_limits<uint64_t>::max() / 2)) return std::nullopt;
  return static_cast<uint64_t>(std::llroundl(bytes));
}

std::optional<Millis> parse_duration(std::string_view s) {
  s = detail::trim(s);
  if (s.empty()) return std::nullopt;
  // The same bound for every spelling (about 31,700 years): a deadline of now + an unbounded
  // int64 of milliseconds would overflow the clock.
  constexpr int64_t kMaxMs = 1'000'000'000'000'000;
  if (auto bare = detail::parse_int(s)) {  // a bare integer is milliseconds
    if (*bare < 0 || *bare > kMaxMs) return std::nullopt;
    return Millis{*bare};
  }
  long double total_ms = 0;
  while (!s.empty()) {  // one or more <number><unit> parts: "1m30s"
    auto [num, rest] = split_number(s);
    auto v = detail::parse_number(num);
    if (num.empty() || !v) return std::nullopt;
    size_t unit_len = 0;
    long double scale = 0;
    if (rest.starts_with("ms")) unit_len = 2, scale = 1;
    else if (rest.starts_with("s")) unit_len = 1, scale = 1000;
    else if (rest.starts_with("m")) unit_len = 1, scale = 60'000;
    else if (rest.starts_with("h")) unit_len = 1, scale = 3'600'000;
    else return std::nullopt;
    total_ms += static_cast<long double>(*v) * scale;
    s = rest.substr(unit_len);
  }
  if (total_ms > static_cast<long double>(kMaxMs)) return std::nullopt;
  return Millis{static_cast<int64_t>(std::llroundl(total_ms))};
}

}  // namespace tg::config
