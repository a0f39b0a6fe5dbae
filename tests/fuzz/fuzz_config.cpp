// The config loader (YAML text -> Config, with ${VAR} expansion): an operator's file, but also
// whatever a reload picks up. Invariants: no throw or crash; a config exactly when no errors.

#include "fuzz_support.hpp"
#include "tollgate/config/config.hpp"

using namespace tg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::bytes(data, size);
  const config::EnvLookup env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "OPENAI_API_KEY") return "sk-env";
    if (name == "TOLLGATE_MASTER_KEY") return "sk-master";
    return std::nullopt;
  };
  config::LoadResult r = config::load_config_string(in, env, "fuzz.yaml");
  TG_FUZZ_CHECK(r.config.has_value() == r.errors.empty());
  for (const auto& e : r.errors) (void)e.to_string();
  return 0;
}
