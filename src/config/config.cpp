// Config lookups and error rendering.

#include "tollgate/config/config.hpp"

namespace tg::config {

const ProviderConfig* Config::find_provider(std::string_view name) const {
  for (const ProviderConfig& p : providers) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const ModelConfig* Config::find_model(std::string_view name) const {
  for (const ModelConfig& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::string ConfigError::to_string() const {
  std::string out;
  if (line > 0) out += "line " + std::to_string(line) + ": ";
  if (!path.empty()) out += path + ": ";
  return out + message;
}

std::string_view to_string(BudgetPeriod p) {
  switch (p) {
    case BudgetPeriod::Daily: return "daily";
    case BudgetPeriod::Weekly: return "weekly";
    case BudgetPeriod::Monthly: return "monthly";
    case BudgetPeriod::Total: return "total";
  }
  return "monthly";
}

}  // namespace tg::config
