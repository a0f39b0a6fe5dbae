#include "tollgate/routing/router.hpp"

namespace tg::routing {
namespace {

uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

Router::Router(const config::Config& config, const std::vector<std::string>& provider_names) {
  for (uint32_t i = 0; i < provider_names.size(); ++i) provider_index_[provider_names[i]] = i;
  auto resolve = [&](const std::vector<config::Target>& targets, bool fallback) {
    std::vector<Deployment> out;
    for (const auto& t : targets) {
      auto it = provider_index_.find(t.provider);
      if (it == provider_index_.end()) continue;  // provider skipped at load (warned there)
      out.push_back(Deployment{it->second, t.model, t.weight, fallback});
    }
    return out;
  };
  for (const auto& m : config.models) {
    Entry e{m.strategy, resolve(m.targets, false), resolve(m.fallbacks, true)};
    if (e.targets.empty() && e.fallbacks.empty()) continue;
    model_names_.push_back(m.name);
    entries_.emplace(m.name, std::move(e));
  }
}

std::optional<RoutePlan> Router::plan(std::string_view requested, uint64_t random) const {
  RoutePlan plan;
  if (auto it = entries_.find(std::string(requested)); it != entries_.end()) {
    const Entry& e = it->second;
    plan.attempts = e.strategy == "weighted" ? weighted_order(e.targets, random) : e.targets;
    plan.attempts.insert(plan.attempts.end(), e.fallbacks.begin(), e.fallbacks.end());
    return plan;
  }
  size_t slash = requested.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == requested.size()) {
    return std::nullopt;
  }
  auto p = provider_index_.find(std::string(requested.substr(0, slash)));
  if (p == provider_index_.end()) return std::nullopt;
  plan.attempts.push_back(Deployment{p->second, std::string(requested.substr(slash + 1)), 1, false});
  return plan;
}

std::vector<Deployment> weighted_order(std::vector<Deployment> items, uint64_t random) {
  std::vector<Deployment> out;
  out.reserve(items.size());
  uint64_t state = random;
  while (!items.empty()) {
    uint64_t total = 0;
    for (const auto& d : items) total += d.weight;
    uint64_t pick = total == 0 ? 0 : splitmix(state) % total;
    size_t i = 0;
    for (; i + 1 < items.size(); ++i) {
      if (pick < items[i].weight) break;
      pick -= items[i].weight;
    }
    out.push_back(std::move(items[i]));
    items.erase(items.begin() + static_cast<long>(i));
  }
  return out;
}

}  // namespace tg::routing
