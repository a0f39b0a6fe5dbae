#pragma once
// Route planning: the name a client asks for -> the targets to try, in order. Pure.
//   Router::plan       which targets a name has (a models: entry, or provider/model)
//   order_attempts     their order for one request: strategy, then cooldowns
//   order_keys         the order of one provider's keys for one target

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tollgate/config/config.hpp"
#include "tollgate/routing/health.hpp"

namespace tg::routing {

struct Candidate {
  uint32_t provider = 0;  // index into the snapshot's provider table
  std::string model;      // upstream model id
  uint32_t weight = 1;
  bool fallback = false;  // from fallbacks / context_window_fallbacks
};

enum class Strategy { Failover, Weighted, LeastLatency, LeastBusy };
Strategy parse_strategy(std::string_view s);  // unknown -> Failover (config validation refuses it)

struct RoutePlan {
  Strategy strategy = Strategy::Failover;
  std::vector<Candidate> targets;
  std::vector<Candidate> fallbacks;
  std::vector<Candidate> context_fallbacks;
};

class Router {
 public:
  // provider_names[i] is the name of the snapshot's provider i.
  Router(const config::Config& config, const std::vector<std::string>& provider_names);

  // A `models:` entry first, then "provider/model" for a known provider; nullopt otherwise.
  std::optional<RoutePlan> plan(std::string_view requested) const;

  // Names a client can list: the model entries.
  const std::vector<std::string>& model_names() const { return model_names_; }

 private:
  std::unordered_map<std::string, RoutePlan> entries_;
  std::unordered_map<std::string, uint32_t> provider_index_;
  std::vector<std::string> model_names_;
};

// Health of a target as a whole (all its keys).
using TargetHealth = std::function<HealthView(const Candidate&)>;

// The order to try a plan's targets in for one request: the targets by strategy, then the
// fallbacks in their order. Within each group, cooling targets go last, the one that recovers
// soonest first, so a request is still tried when everything rests.
std::vector<Candidate> order_attempts(const RoutePlan& plan, const TargetHealth& health,
                                      uint64_t random);

// Orders a provider's keys: those not cooling in weighted random order, then cooling ones by
// recovery time. `weights[i]` and `health[i]` describe key i.
std::vector<uint32_t> order_keys(const std::vector<uint32_t>& weights,
                                 const std::vector<HealthView>& health, uint64_t random);

// Orders items by weighted random sampling without replacement.
std::vector<Candidate> weighted_order(std::vector<Candidate> items, uint64_t random);

}  // namespace tg::routing
