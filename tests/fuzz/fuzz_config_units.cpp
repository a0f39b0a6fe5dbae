// The config's unit parsers ("16MiB", "250ms") and ${VAR:-default} expansion.
// Invariants: no throw, crash or overflow (UBSan); a parsed size or duration round-trips through
// its plain-number spelling.

#include <string>

#include "fuzz_support.hpp"
#include "tollgate/config/config.hpp"

using namespace tg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::bytes(data, size);
  if (auto bytes = config::parse_size(in)) {
    TG_FUZZ_CHECK(config::parse_size(std::to_string(*bytes)) == bytes);
  }
  if (auto ms = config::parse_duration(in)) {
    TG_FUZZ_CHECK(ms->count() >= 0);
    TG_FUZZ_CHECK(config::parse_duration(std::to_string(ms->count()) + "ms") == ms);
  }
  std::vector<std::string> unset;
  const config::EnvLookup env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "SET") return "value";
    return std::nullopt;
  };
  (void)config::expand_env(in, env, &unset);
  return 0;
}
