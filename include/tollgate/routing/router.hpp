#pragma once
// Route planning: the name a client asks for -> the ordered deployments to try. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tollgate/config/config.hpp"

namespace tg::routing {

struct Deployment {
  uint32_t provider = 0;  // index into the snapshot's provider table
  std::string model;      // upstream model id
  uint32_t weight = 1;
  bool fallback = false;  // from the fallbacks list
};

struct RoutePlan {
  std::vector<Deployment> attempts;  // in the order to try
};

class Router {
 public:
  // provider_names[i] is the name of the snapshot's provider i.
  Router(const config::Config& config, const std::vector<std::string>& provider_names);

  // The plan for a requested name: a `models:` entry first, then "provider/model" for a known
  // provider. `random` drives the weighted strategy (tests pass fixed values).
  std::optional<RoutePlan> plan(std::string_view requested, uint64_t random) const;

  // Names a client can list: the model entries.
  const std::vector<std::string>& model_names() const { return model_names_; }

 private:
  struct Entry {
    std::string strategy;
    std::vector<Deployment> targets;
    std::vector<Deployment> fallbacks;
  };
  std::unordered_map<std::string, Entry> entries_;
  std::unordered_map<std::string, uint32_t> provider_index_;
  std::vector<std::string> model_names_;
};

// Orders deployments by weighted random sampling without replacement.
std::vector<Deployment> weighted_order(std::vector<Deployment> items, uint64_t random);

}  // namespace tg::routing
