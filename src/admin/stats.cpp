#include "tollgate/admin/stats.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

namespace tg::admin {

using json = nlohmann::json;

namespace {

int64_t floor_to(int64_t t, int64_t step) { return t - ((t % step) + step) % step; }

struct Series {
  std::vector<int64_t> requests, errors, input_tokens, output_tokens, cost_nano;
  std::vector<Histogram> latency, ttft;  // per bucket (sparse: most buckets use few bins)
  int64_t total_requests = 0;

  explicit Series(size_t n)
      : requests(n), errors(n), input_tokens(n), output_tokens(n), cost_nano(n), latency(n),
        ttft(n) {}
};

void add_hist(Histogram& h, int bin, int64_t n) {
  if (bin < 0 || bin >= store::kLatencyBins || n <= 0) return;
  h[bin] += n;
}

void merge_hist(Histogram& into, const Histogram& h) {
  for (const auto& [bin, n] : h) into[bin] += n;
}

json ms_or_null(std::optional<double> v) {
  if (!v) return nullptr;
  return std::round(*v * 10) / 10;  // the bins are ~9% wide: a tenth of a ms is plenty
}

json quantiles(const std::vector<Histogram>& hs, double p) {
  json out = json::array();
  for (const auto& h : hs) out.push_back(ms_or_null(histogram_quantile(h, p)));
  return out;
}

int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

void merge_series(Series& into, const Series& s) {
  for (size_t i = 0; i < s.requests.size(); ++i) {
    into.requests[i] += s.requests[i];
    into.errors[i] += s.errors[i];
    into.input_tokens[i] += s.input_tokens[i];
    into.output_tokens[i] += s.output_tokens[i];
    into.cost_nano[i] = saturating_add(into.cost_nano[i], s.cost_nano[i]);
    merge_hist(into.latency[i], s.latency[i]);
    merge_hist(into.ttft[i], s.ttft[i]);
  }
  into.total_requests += s.total_requests;
}

// The whole range of one series: sums, and percentiles of its merged histograms.
json totals_of(const Series& s) {
  Histogram lat, ttft;
  int64_t requests = 0, errors = 0, in = 0, out = 0, cost = 0;
  for (size_t i = 0; i < s.requests.size(); ++i) {
    requests += s.requests[i];
    errors += s.errors[i];
    in += s.input_tokens[i];
    out += s.output_tokens[i];
    cost = saturating_add(cost, s.cost_nano[i]);
    merge_hist(lat, s.latency[i]);
    merge_hist(ttft, s.ttft[i]);
  }
  return {{"requests", requests},
          {"errors", errors},
          {"input_tokens", in},
          {"output_tokens", out},
          {"cost_nano_usd", cost},
          {"latency_p50_ms", ms_or_null(histogram_quantile(lat, 0.5))},
          {"latency_p95_ms", ms_or_null(histogram_quantile(lat, 0.95))},
          {"ttft_p50_ms", ms_or_null(histogram_quantile(ttft, 0.5))}};
}

}  // namespace

std::optional<double> histogram_quantile(const Histogram& bins, double p) {
  int64_t total = 0;
  for (const auto& [bin, n] : bins) total += n;
  if (total <= 0) return std::nullopt;
  // The smallest bin whose cumulative count reaches rank ceil(p * total) (at least 1).
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(p * double(total))));
  int64_t seen = 0;
  for (const auto& [bin, n] : bins) {
    seen += n;
    if (seen >= rank) return store::latency_bin_ms(bin);
  }
  return store::latency_bin_ms(bins.rbegin()->first);
}

std::variant<store::StatsQuery, std::string> plan_stats(std::optional<int64_t> from_ms,
                                                        std::optional<int64_t> to_ms,
                                                        std::optional<int64_t> step_s,
                                                        std::string group_by, int64_t now_ms) {
  store::StatsQuery q;
  if (group_by.empty()) group_by = "none";
  if (group_by != "none" && group_by != "model" && group_by != "provider" && group_by != "key" &&
      group_by != "team" && group_by != "deployment") {
    return std::string("group_by must be one of none, model, provider, key, team, deployment");
  }
  q.group_by = std::move(group_by);
  const int64_t to = to_ms.value_or(now_ms);
  const int64_t from = from_ms.value_or(to - 86'400'000);
  if (from < 0 || to < 0 || to > 253'402'300'799'000) return std::string("from and to must be unix ms");
  if (from >= to) return std::string("from must be before to");
  int64_t step = 0;
  if (step_s) {
    step = *step_s;
    if (step != 60 && step != 3600 && step != 86400) {
      return std::string("step must be 60, 3600 or 86400 (seconds)");
    }
  } else {
    for (int64_t s : {60, 3600, 86400}) {
      step = s;
      if ((to - from) / (s * 1000) <= 200) break;
    }
  }
  q.step_s = step;
  const int64_t step_ms = step * 1000;
  q.from_ms = floor_to(from, step_ms);
  q.to_ms = floor_to(to - 1, step_ms) + step_ms;  // the bucket holding `to` - 1 ms, whole
  if ((q.to_ms - q.from_ms) / step_ms > kMaxStatsBuckets) {
    return fmt::format("{} buckets of {} s: at most {}; use a larger step or a shorter range",
                       (q.to_ms - q.from_ms) / step_ms, step, kMaxStatsBuckets);
  }
  return q;
}

json build_stats(const store::StatsQuery& q, const json& rows,
                 const std::function<std::string(const std::string&)>& name_of) {
  const int64_t step_ms = q.step_s * 1000;
  const size_t n = static_cast<size_t>((q.to_ms - q.from_ms) / step_ms);
  std::map<std::string, Series> groups;
  auto index_of = [&](int64_t t) -> std::optional<size_t> {
    if (t < q.from_ms || t >= q.to_ms) return std::nullopt;
    return static_cast<size_t>((t - q.from_ms) / step_ms);
  };
  auto series = [&](const std::string& g) -> Series& {
    return groups.try_emplace(g, n).first->second;
  };
  if (rows.contains("counts")) {
    for (const auto& r : rows["counts"]) {
      if (!r.is_array() || r.size() < 7) continue;
      auto i = index_of(r[1].get<int64_t>());
      if (!i) continue;
      Series& s = series(r[0].get<std::string>());
      s.requests[*i] += r[2].get<int64_t>();
      s.errors[*i] += r[3].get<int64_t>();
      s.input_tokens[*i] += r[4].get<int64_t>();
      s.output_tokens[*i] += r[5].get<int64_t>();
      s.cost_nano[*i] = saturating_add(s.cost_nano[*i], r[6].get<int64_t>());
      s.total_requests += r[2].get<int64_t>();
    }
  }
  if (rows.contains("latency")) {
    for (const auto& r : rows["latency"]) {
      if (!r.is_array() || r.size() < 5) continue;
      auto i = index_of(r[1].get<int64_t>());
      if (!i) continue;
      Series& s = series(r[0].get<std::string>());
      auto& h = r[2].get<int64_t>() == 0 ? s.latency[*i] : s.ttft[*i];
      add_hist(h, static_cast<int>(r[3].get<int64_t>()), r[4].get<int64_t>());
    }
  }
  // The busiest groups by name; the rest as one.
  std::vector<std::pair<std::string, const Series*>> order;
  for (const auto& [g, s] : groups) order.emplace_back(g, &s);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second->total_requests > b.second->total_requests;
  });
  Series all(n), other(n);
  bool has_other = false;
  for (size_t k = 0; k < order.size(); ++k) {
    merge_series(all, *order[k].second);
    if (k >= kMaxStatsGroups) {
      merge_series(other, *order[k].second);
      has_other = true;
    }
  }
  if (order.size() > kMaxStatsGroups) order.resize(kMaxStatsGroups);

  json buckets = json::array();
  for (size_t i = 0; i < n; ++i) buckets.push_back(q.from_ms + static_cast<int64_t>(i) * step_ms);
  auto render = [&](const std::string& group, const Series& s) {
    json j = {{"group", group},
              {"requests", s.requests},
              {"errors", s.errors},
              {"input_tokens", s.input_tokens},
              {"output_tokens", s.output_tokens},
              {"cost_nano_usd", s.cost_nano},
              {"latency_p50_ms", quantiles(s.latency, 0.5)},
              {"latency_p95_ms", quantiles(s.latency, 0.95)},
              {"ttft_p50_ms", quantiles(s.ttft, 0.5)},
              {"total", totals_of(s)}};
    if (q.group_by != "none") {
      std::string name = group.empty() ? "(none)" : group;
      if (name_of && !group.empty()) {
        std::string given = name_of(group);
        if (!given.empty()) name = std::move(given);
      }
      j["name"] = std::move(name);
    }
    return j;
  };
  json out_series = json::array();
  if (q.group_by == "none") {
    out_series.push_back(render("all", all));
  } else {
    for (const auto& [g, s] : order) out_series.push_back(render(g, *s));
    if (has_other) {
      json j = render("(other)", other);
      j["name"] = "(other)";
      out_series.push_back(std::move(j));
    }
  }
  return json{{"from", q.from_ms},
              {"to", q.to_ms},
              {"step", q.step_s},
              {"group_by", q.group_by},
              {"buckets", std::move(buckets)},
              {"series", std::move(out_series)},
              {"totals", totals_of(all)}};
}

}  // namespace tg::admin
