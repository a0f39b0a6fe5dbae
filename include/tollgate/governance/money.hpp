#pragma once
// Money and time helpers shared by the governance core. Pure.
//
// Money is int64 micro-USD (µUSD) everywhere: 1 USD = 1'000'000. Never a double in the ledger.
// Prices are carried as int64 pico-USD per token (1 USD per 1M tokens = 1'000'000 pUSD/token), so
// every price with up to 6 decimals in USD/1M tokens (0.0028, 0.075, ...) is exact; a cost is
// summed exactly in pUSD and rounded to µUSD once, at the end.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace tg::governance {

using Micros = int64_t;  // micro-USD

// USD (a config value such as budget.usd) -> µUSD, rounded to nearest; negative/NaN -> 0,
// saturates at INT64_MAX.
Micros usd_to_micros(double usd);

// "0.001234": exactly 6 decimals, for the x-tollgate-cost-usd header and JSON.
std::string micros_to_usd_string(Micros m);

// "$50", "$12.50", "$0.001234": for human messages (no trailing zeros beyond the cents).
std::string format_usd(Micros m);

// "2026-09-01T00:00:00Z".
std::string iso8601_utc(std::chrono::system_clock::time_point t);

}  // namespace tg::governance
