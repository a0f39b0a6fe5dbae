// Config lookups and error rendering.

#include "tollgate/config/config.hpp"

#include <fmt/format.h>

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

bool is_loopback_host(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" ||
         host.substr(0, 4) == "127.";
}

std::string restrict_open_listener(ServerConfig& server) {
  if (!server.master_key.empty() || server.allow_unauthenticated ||
      is_loopback_host(server.listen_host)) {
    return "";
  }
  std::string was = server.listen_host;
  server.listen_host = "127.0.0.1";
  return fmt::format(
      "no master key is set, so the API would be open to anyone who reaches {}:{}: listening on "
      "127.0.0.1:{} only. Set TOLLGATE_MASTER_KEY (server.master_key) to serve the network with "
      "keys, or set server.allow_unauthenticated: true to serve it without any",
      was, server.listen_port, server.listen_port);
}

}  // namespace tg::config
