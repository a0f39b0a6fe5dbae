#include "tollgate/routing/snapshot.hpp"

#include <fmt/format.h>

#include <set>

#include "tollgate/core/secure.hpp"

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
    for (const auto& k : p.api_keys) {
      rt.key_ids.push_back(sha256_hex(k.key).substr(0, 12));
      rt.key_weights.push_back(k.weight);
    }
    if (rt.key_ids.empty()) {
      rt.key_ids.push_back("none");
      rt.key_weights.push_back(1);
    }
    parts.names.push_back(p.name);
    parts.providers.push_back(std::move(rt));
  }
  return parts;
}

}  // namespace

const std::string& ProviderRuntime::key(uint32_t index) const {
  static const std::string kNone;
  return index < config.api_keys.size() ? config.api_keys[index].key : kNone;
}

}  // namespace tg::routing

namespace tg::governance {
extern const char* const kBuiltinPrices;
}

namespace tg::routing {

std::shared_ptr<const Snapshot> Snapshot::build(config::Config config, uint64_t generation) {
  Parts parts = resolve_providers(config);
  Router router(config, parts.names);
  auto snap = std::shared_ptr<Snapshot>(new Snapshot{std::move(config), std::move(parts.providers),
                                                     std::move(router), generation, {}, {},
                                                     nullptr});
  snap->warnings = snap->config.warnings;
  snap->warnings.insert(snap->warnings.end(), parts.warnings.begin(), parts.warnings.end());
  std::set<std::string> labels;
  for (const auto& m : snap->config.models) {
    for (const auto* list : {&m.targets, &m.fallbacks, &m.context_window_fallbacks}) {
      for (const auto& t : *list) labels.insert(t.provider + "/" + t.model);
    }
  }
  snap->deployment_labels.assign(labels.begin(), labels.end());
  auto prices = governance::PriceCatalog::build(governance::kBuiltinPrices, snap->config.pricing,
                                                snap->config.providers);
  for (const auto& e : prices.errors) snap->warnings.push_back("pricing: " + e);
  for (const auto& w : prices.warnings) snap->warnings.push_back("pricing: " + w);
  snap->prices = prices.catalog;
  return snap;
}

}  // namespace tg::routing
