#pragma once
// Helpers shared by the config_*_test.cpp files.

#include "tollgate/config/config.hpp"

#include <map>
#include <string>
#include <vector>

namespace tg::config::testing {

using Vars = std::map<std::string, std::string, std::less<>>;

inline EnvLookup fake_env(Vars vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

inline LoadResult load(std::string_view yaml, Vars vars = {}) {
  return load_config_string(yaml, fake_env(std::move(vars)));
}

// Every error rendered as "line N: path: message".
inline std::vector<std::string> rendered(const LoadResult& r) {
  std::vector<std::string> out;
  for (const ConfigError& e : r.errors) out.push_back(e.to_string());
  return out;
}

}  // namespace tg::config::testing
