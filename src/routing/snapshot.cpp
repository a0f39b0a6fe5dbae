#include "tollgate/routing/snapshot.hpp"

#include <fmt/format.h>

namespace tg::routing {
namespace {

struct Parts {
  std::vector<ProviderRuntime> providers;
  std::vector<std::string> names;
  std::vector<std::string> warnings;
};

Parts resolve_providers(const config::Config& config) {
  Parts parts;
  for (const auto& p : config.providers) {
    const auto* adapter = providers::adapter_for(p.type);
    if (!adapter) {
      parts.warnings.push_back(fmt::format(
          "providers.{}: type '{}' has no adapter in this build yet; provider skipped", p.name,
          config::to_string(p.type)));
      continue;
    }
    auto url = parse_url(p.base_url);
    if (!url) {
      parts.warnings.push_back(
          fmt::format("providers.{}: base_url '{}' is not a valid URL; provider skipped", p.name,
                      p.base_url));
      continue;
    }
    ProviderRuntime rt;
    rt.config = p;
    rt.adapter = adapter;
    rt.base = *url;
    rt.timeouts = p.timeouts.value_or(config.router.timeouts);
    for (const auto& k : p.api_keys) rt.key_weight_total += k.weight;
    parts.names.push_back(p.name);
    parts.providers.push_back(std::move(rt));
  }
  return parts;
}

}  // namespace

const std::string& ProviderRuntime::pick_key(uint64_t random) const {
  static const std::string kNone;
  const auto& keys = config.api_keys;
  if (keys.empty()) return kNone;
  if (keys.size() == 1 || key_weight_total == 0) return keys.front().key;
  uint64_t pick = random % key_weight_total;
  for (const auto& k : keys) {
    if (pick < k.weight) return k.key;
    pick -= k.weight;
  }
  return keys.back().key;
}

std::shared_ptr<const Snapshot> Snapshot::build(config::Config config, uint64_t generation) {
  Parts parts = resolve_providers(config);
  Router router(config, parts.names);
  auto snap = std::shared_ptr<Snapshot>(new Snapshot{std::move(config), std::move(parts.providers),
                                                     std::move(router), generation, {}});
  snap->warnings = snap->config.warnings;
  snap->warnings.insert(snap->warnings.end(), parts.warnings.begin(), parts.warnings.end());
  return snap;
}

}  // namespace tg::routing
