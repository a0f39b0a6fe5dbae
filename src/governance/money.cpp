#include "tollgate/governance/money.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace tg::governance {

Nanos usd_to_nanos(double usd) {
  if (!(usd > 0)) return 0;  // also NaN
  double m = std::round(usd * 1e9);
  if (m >= 9.2e18) return std::numeric_limits<Nanos>::max();
  return static_cast<Nanos>(m);
}

std::string nanos_to_usd_string(Nanos m) {
  bool neg = m < 0;
  // |INT64_MIN| does not fit: go through unsigned.
  uint64_t u = neg ? 0 - static_cast<uint64_t>(m) : static_cast<uint64_t>(m);
  // "{}{}.{:09}" by hand: this is every answer's x-tollgate-cost-usd header.
  char buf[40];
  char* p = buf;
  if (neg) *p++ = '-';
  p = std::to_chars(p, buf + sizeof buf, u / kNanosPerUsd).ptr;
  *p++ = '.';
  uint64_t frac = u % kNanosPerUsd;
  for (int i = 8; i >= 0; --i, frac /= 10) p[i] = static_cast<char>('0' + frac % 10);
  return std::string(buf, static_cast<size_t>(p + 9 - buf));
}

double nanos_to_usd(Nanos n) { return static_cast<double>(n) / 1e9; }

std::string format_usd(Nanos m) {
  bool neg = m < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(m) : static_cast<uint64_t>(m);
  uint64_t whole = u / kNanosPerUsd, frac = u % kNanosPerUsd;
  std::string out = neg ? "-$" : "$";
  out += std::to_string(whole);
  if (frac == 0) return out;
  std::string f = fmt::format("{:09}", frac);
  while (f.size() > 2 && f.back() == '0') f.pop_back();
  return out + "." + f;
}

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto secs = floor<seconds>(t);
  auto day = floor<days>(secs);
  year_month_day ymd{day};
  hh_mm_ss hms{secs - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

}  // namespace tg::governance
