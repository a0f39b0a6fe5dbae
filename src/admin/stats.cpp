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

void ms_or_null(JsonWriter& w, std::optional<double> v) {
  if (!v) {
    w.null();
    return;
  }
  w.real(std::round(*v * 10) / 10);  // the bins are ~9% wide: a tenth of a ms is plenty
}

void quantiles(JsonWriter& w, std::string_view key, const std::vector<Histogram>& hs, double p) {
  w.array(key);
  for (const auto& h : hs) ms_or_null(w, histogram_quantile(h, p));
  w.end_array();
}

void numbers(JsonWriter& w, std::string_view key, const std::vector<int64_t>& v) {
  w.array(key);
  for (int64_t n : v) w.num(n);
  w.end_array();
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
// (Members in name order, as nlohmann's objects wrote them.)
void write_totals(JsonWriter& w, std::string_view key, const Series& s) {
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
  w.object(key).num("cost_nano_usd", cost).num("errors", errors).num("input_tokens", in);
  ms_or_null(w.key("latency_p50_ms"), histogram_quantile(lat, 0.5));
  ms_or_null(w.key("latency_p95_ms"), histogram_quantile(lat, 0.95));
  w.num("output_tokens", out).num("requests", requests);
  ms_or_null(w.key("ttft_p50_ms"), histogram_quantile(ttft, 0.5));
  w.end_object();
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

std::string build_stats(const store::StatsQuery& q, const json& rows,
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

  JsonWriter w;
  // name: absent without grouping; else the display name, the id when none is known.
  auto render = [&](const std::string& group, const Series& s, std::optional<std::string> name) {
    w.object();
    numbers(w, "cost_nano_usd", s.cost_nano);
    numbers(w, "errors", s.errors);
    w.str("group", group);
    numbers(w, "input_tokens", s.input_tokens);
    quantiles(w, "latency_p50_ms", s.latency, 0.5);
    quantiles(w, "latency_p95_ms", s.latency, 0.95);
    if (name) w.str("name", *name);
    numbers(w, "output_tokens", s.output_tokens);
    numbers(w, "requests", s.requests);
    write_totals(w, "total", s);
    quantiles(w, "ttft_p50_ms", s.ttft, 0.5);
    w.end_object();
  };
  auto display_name = [&](const std::string& group) {
    std::string name = group.empty() ? "(none)" : group;
    if (name_of && !group.empty()) {
      std::string given = name_of(group);
      if (!given.empty()) name = std::move(given);
    }
    return name;
  };
  w.object().array("buckets");
  for (size_t i = 0; i < n; ++i) w.num(q.from_ms + static_cast<int64_t>(i) * step_ms);
  w.end_array().num("from", q.from_ms).str("group_by", q.group_by).array("series");
  if (q.group_by == "none") {
    render("all", all, std::nullopt);
  } else {
    for (const auto& [g, s] : order) render(g, *s, display_name(g));
    if (has_other) render("(other)", other, "(other)");
  }
  w.end_array().num("step", q.step_s).num("to", q.to_ms);
  write_totals(w, "totals", all);
  w.end_object();
  return w.take();
}

}  // namespace tg::admin
