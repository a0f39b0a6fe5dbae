#pragma once
// Money and time helpers shared by the governance core. Pure.
//
// Money is int64 nano-USD (nUSD) everywhere: 1 USD = 1'000'000'000. Never a double in the books.
// Prices are carried as int64 pico-USD per token (1 USD per 1M tokens = 1'000'000 pUSD/token), so
// every price with up to 6 decimals in USD/1M tokens (0.0028, 0.075, ...) is exact; a request's
// cost is summed exactly in pUSD and rounded to the nearest nUSD once, at the end: at most 0.5 nUSD
// off per request, so a million requests stay within $0.0005 of sum(tokens x price). (Whole
// micro-dollars per request overcharged a cheap-model soak by 1.4 %.) int64 nUSD holds $9.2e9:
// arithmetic on it saturates rather than wraps.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace tg::governance {

using Nanos = int64_t;  // nano-USD (1e-9 USD)
inline constexpr Nanos kNanosPerUsd = 1'000'000'000;

// USD (a config value such as budget.usd) -> nUSD, rounded to nearest; negative/NaN -> 0,
// saturates at INT64_MAX.
Nanos usd_to_nanos(double usd);

// "0.000001234": exactly 9 decimals, for the x-tollgate-cost-usd header.
std::string nanos_to_usd_string(Nanos m);

// nUSD as a JSON-friendly double (for display only: 1.234e-06); never for arithmetic.
double nanos_to_usd(Nanos n);

// "$50", "$12.50", "$0.000001234": for human messages (no trailing zeros beyond the cents).
std::string format_usd(Nanos m);

// "2026-09-01T00:00:00Z".
std::string iso8601_utc(std::chrono::system_clock::time_point t);

}  // namespace tg::governance
