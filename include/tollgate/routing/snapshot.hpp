#pragma once
// One immutable, fully resolved load of the configuration. Requests hold a shared_ptr to the
// snapshot they started with, so a reload never disturbs them. Pure: no Asio.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tollgate/config/config.hpp"
#include "tollgate/core/url.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/routing/router.hpp"

namespace tg::routing {

struct ProviderRuntime {
  config::ProviderConfig config;
  const providers::ProviderAdapter* adapter = nullptr;
  Url base;                     // parsed base_url
  config::Timeouts timeouts;    // provider override or router default
  uint64_t key_weight_total = 0;

  // Picks one of the provider's keys by weight ("" when it has none).
  const std::string& pick_key(uint64_t random) const;
};

struct Snapshot {
  config::Config config;
  std::vector<ProviderRuntime> providers;
  Router router;
  uint64_t generation = 0;
  std::vector<std::string> warnings;  // config warnings plus providers skipped here

  // Builds the runtime tables; providers whose type has no adapter yet are skipped with a warning.
  static std::shared_ptr<const Snapshot> build(config::Config config, uint64_t generation);
};

}  // namespace tg::routing
