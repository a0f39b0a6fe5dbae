#include "tollgate/routing/router.hpp"

#include <algorithm>
#include <numeric>

namespace tg::routing {
namespace {

uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Weighted sampling without replacement over indices.
std::vector<size_t> weighted_indices(const std::vector<uint32_t>& weights, uint64_t& state) {
  std::vector<size_t> left(weights.size());
  std::iota(left.begin(), left.end(), 0);
  std::vector<size_t> out;
  out.reserve(weights.size());
  while (!left.empty()) {
    uint64_t total = 0;
    for (size_t i : left) total += std::max<uint32_t>(weights[i], 1);
    uint64_t pick = splitmix(state) % total;
    size_t k = 0;
    for (; k + 1 < left.size(); ++k) {
      uint64_t w = std::max<uint32_t>(weights[left[k]], 1);
      if (pick < w) break;
      pick -= w;
    }
    out.push_back(left[k]);
    left.erase(left.begin() + static_cast<long>(k));
  }
  return out;
}

// Moves cooling items to the end, soonest recovery first; keeps the order of the others.
template <class T, class ViewOf>
void cooling_last(std::vector<T>& items, ViewOf view_of) {
  std::stable_partition(items.begin(), items.end(),
                        [&](const T& item) { return !view_of(item).cooling; });
  auto first_cooling = std::find_if(items.begin(), items.end(),
                                    [&](const T& item) { return view_of(item).cooling; });
  std::stable_sort(first_cooling, items.end(), [&](const T& a, const T& b) {
    return view_of(a).cool_until < view_of(b).cool_until;
  });
}

}  // namespace

Strategy parse_strategy(std::string_view s) {
  if (s == "weighted") return Strategy::Weighted;
  if (s == "least-latency") return Strategy::LeastLatency;
  if (s == "least-busy") return Strategy::LeastBusy;
  return Strategy::Failover;
}

Router::Router(const config::Config& config, const std::vector<std::string>& provider_names) {
  for (uint32_t i = 0; i < provider_names.size(); ++i) provider_index_[provider_names[i]] = i;
  auto resolve = [&](const std::vector<config::Target>& targets, bool fallback) {
    std::vector<Candidate> out;
    for (const auto& t : targets) {
      auto it = provider_index_.find(t.provider);
      if (it == provider_index_.end()) continue;  // provider skipped at load (warned there)
      out.push_back(Candidate{it->second, t.model, t.weight, fallback});
    }
    return out;
  };
  for (const auto& m : config.models) {
    RoutePlan plan{parse_strategy(m.strategy), resolve(m.targets, false),
                   resolve(m.fallbacks, true), resolve(m.context_window_fallbacks, true)};
    if (plan.targets.empty() && plan.fallbacks.empty()) continue;
    model_names_.push_back(m.name);
    entries_.emplace(m.name, std::move(plan));
  }
}

std::optional<RoutePlan> Router::plan(std::string_view requested) const {
  if (auto it = entries_.find(std::string(requested)); it != entries_.end()) return it->second;
  size_t slash = requested.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == requested.size()) {
    return std::nullopt;
  }
  auto p = provider_index_.find(std::string(requested.substr(0, slash)));
  if (p == provider_index_.end()) return std::nullopt;
  RoutePlan plan;
  plan.targets.push_back(Candidate{p->second, std::string(requested.substr(slash + 1)), 1, false});
  return plan;
}

std::vector<Candidate> weighted_order(std::vector<Candidate> items, uint64_t random) {
  std::vector<uint32_t> weights;
  for (const auto& c : items) weights.push_back(c.weight);
  uint64_t state = random;
  std::vector<Candidate> out;
  for (size_t i : weighted_indices(weights, state)) out.push_back(std::move(items[i]));
  return out;
}

std::vector<Candidate> order_attempts(const RoutePlan& plan, const TargetHealth& health,
                                      uint64_t random) {
  std::vector<Candidate> targets = plan.targets;
  std::vector<HealthView> views;
  auto view_of = [&](const Candidate& c) { return health(c); };
  switch (plan.strategy) {
    case Strategy::Failover:
      break;
    case Strategy::Weighted:
      targets = weighted_order(std::move(targets), random);
      break;
    case Strategy::LeastLatency: {
      // Unmeasured targets first (so a new or recovered one gets measured), then the fastest.
      // One request in 20 takes a random order, so a slow-looking target is re-measured.
      uint64_t state = random;
      if (splitmix(state) % 20 == 0) {
        targets = weighted_order(std::move(targets), splitmix(state));
      } else {
        std::stable_sort(targets.begin(), targets.end(), [&](const Candidate& a, const Candidate& b) {
          return view_of(a).latency_ms < view_of(b).latency_ms;
        });
      }
      break;
    }
    case Strategy::LeastBusy:
      std::stable_sort(targets.begin(), targets.end(), [&](const Candidate& a, const Candidate& b) {
        return view_of(a).in_flight < view_of(b).in_flight;
      });
      break;
  }
  cooling_last(targets, view_of);
  std::vector<Candidate> fallbacks = plan.fallbacks;
  cooling_last(fallbacks, view_of);
  targets.insert(targets.end(), fallbacks.begin(), fallbacks.end());
  return targets;
}

std::vector<uint32_t> order_keys(const std::vector<uint32_t>& weights,
                                 const std::vector<HealthView>& health, uint64_t random) {
  uint64_t state = random;
  std::vector<uint32_t> order;
  for (size_t i : weighted_indices(weights, state)) order.push_back(static_cast<uint32_t>(i));
  cooling_last(order, [&](uint32_t i) { return health[i]; });
  return order;
}

}  // namespace tg::routing
