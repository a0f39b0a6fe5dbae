#pragma once
// GET /admin/stats: the pure part. Plans the query (range, step, grouping, bucket alignment) and
// turns the store's rollup sums (store::Store::query_stats) into the series the UI draws:
// arrays aligned with the buckets, latency percentiles from the rollups' histograms, money in
// integer nano-USD. No Asio, no store.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "tollgate/core/json_writer.hpp"
#include "tollgate/store/store.hpp"

namespace tg::admin {

inline constexpr int64_t kMaxStatsBuckets = 1500;
inline constexpr size_t kMaxStatsGroups = 20;  // the rest are summed as "(other)"

// from/to in unix ms (either may be missing), step in seconds (60, 3600 or 86400; missing: the
// finest that keeps the range under ~200 buckets), group_by (missing: none). The range is
// widened to whole steps (UTC). A bad value: the message for a 400.
std::variant<store::StatsQuery, std::string> plan_stats(std::optional<int64_t> from_ms,
                                                        std::optional<int64_t> to_ms,
                                                        std::optional<int64_t> step_s,
                                                        std::string group_by, int64_t now_ms);

// The body of the answer (JSON text). `name_of` (may be empty) gives a group's display name (a
// key's name).
std::string build_stats(const store::StatsQuery& q, const nlohmann::json& rows,
                           const std::function<std::string(const std::string&)>& name_of = {});

// Counts per latency_bin.
using Histogram = std::map<int, int64_t>;
// The value at quantile p (0..1) of a histogram: the representative value of the bin holding
// rank ceil(p * n); nullopt when empty.
std::optional<double> histogram_quantile(const Histogram& bins, double p);

}  // namespace tg::admin
