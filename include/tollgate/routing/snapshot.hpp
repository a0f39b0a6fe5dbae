#pragma once
// One immutable, fully resolved load of the configuration. Requests hold a shared_ptr to the
// snapshot they started with, so a reload never disturbs them. Pure: no Asio.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tollgate/config/config.hpp"
#include "tollgate/core/url.hpp"
#include "tollgate/governance/pricing.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/routing/router.hpp"

namespace tg::routing {

struct ProviderRuntime {
  config::ProviderConfig config;
  const providers::ProviderAdapter* adapter = nullptr;
  Url base;                     // parsed base_url
  config::Timeouts timeouts;    // provider override or router default
  // One entry per key (a single "none" entry when the provider has no key): a short hash that
  // names the key in health tables and logs without revealing it, and its weight.
  std::vector<std::string> key_ids;
  std::vector<uint32_t> key_weights;

  const std::string& key(uint32_t index) const;  // "" for a provider without keys
};

struct Snapshot {
  config::Config config;
  std::vector<ProviderRuntime> providers;
  Router router;
  uint64_t generation = 0;
  std::vector<std::string> warnings;  // config warnings plus providers skipped here
  std::vector<std::string> deployment_labels;  // "provider/model" of every configured target
  std::shared_ptr<const governance::PriceCatalog> prices;  // built-in catalog + pricing: overrides

  // Builds the runtime tables; providers whose type has no adapter yet are skipped with a warning.
  static std::shared_ptr<const Snapshot> build(config::Config config, uint64_t generation);
};

}  // namespace tg::routing
