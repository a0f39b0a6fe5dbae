#pragma once
// The price catalog and the cost of a request. Pure; a built PriceCatalog is immutable and may be
// shared by every thread (hold it in a shared_ptr<const PriceCatalog> in the config snapshot).
//
// Data: config/prices.json (the built-in catalog, USD per 1M tokens, keyed "namespace/model") with
// config.yaml `pricing:` overrides merged over it per field. docs/keys-and-budgets.md has the rules;
// in short:
//   * namespace of a provider = its preset name (groq, mistral, deepseek, ...) or else its type
//     (openai, anthropic, gemini, azure, bedrock); azure falls back to openai prices, bedrock ids
//     fall back to the vendor's prices (+10% for regional inference profiles such as "us.");
//   * lookup order: "<provider name>/<model>" (overrides for that one provider), then
//     "<namespace>/<model>", each first exactly and then with version suffixes stripped one at a time
//     (dates -2024-08-06 / -20250929 / -08-06 / -0613, -001, -latest, @20240620, -v1:0, :0);
//     case-insensitive. Never an arbitrary prefix: gpt-5-pro does NOT get gpt-5's price;
//   * no price for the model: the "<provider>/*" override, then (local presets ollama, vllm,
//     lmstudio) free, then the `default` override; else std::nullopt (cost unknown), never 0.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "tollgate/config/config.hpp"
#include "tollgate/governance/money.hpp"
#include "tollgate/providers/adapter.hpp"

namespace tg::governance {

// Integer pico-USD per token (see money.hpp). Conversion from USD/1M: llround(usd * 1e6).
int64_t usd_per_million_to_pico(double usd_per_million);

struct TokenPrices {  // pico-USD per token
  int64_t input = 0;         // uncached input
  int64_t output = 0;        // output (non-reasoning part)
  int64_t cached_input = 0;  // cache reads (resolved: the input price when the data has none)
  int64_t cache_write = 0;   // cache writes (resolved: the input price when the data has none)
  int64_t reasoning = 0;     // reasoning tokens (resolved: the output price when the data has none)
};

// The media endpoints' unit prices, pico-USD per unit; unset = not priced by that unit.
struct MediaPrices {
  std::optional<int64_t> image;  // per image, any variant without its own price
  std::vector<std::pair<std::string, int64_t>> image_by;  // "<quality>/<size>", "<size>", "<quality>"
  std::optional<int64_t> audio_minute;
  std::optional<int64_t> character;  // per character (data: USD per 1M characters)
  std::optional<int64_t> search_unit;
  bool any() const { return image || !image_by.empty() || audio_minute || character || search_unit; }
  // An image's price: its "<quality>/<size>", its size, its quality, the flat price, else the
  // dearest variant (an unknown size never costs less than the known ones).
  std::optional<int64_t> image_price(std::string_view variant) const;
};

// A resolved price: everything needed to cost a request, independent of the catalog.
struct ModelPrice {
  TokenPrices base;
  // Long-context tier: when the prompt (Usage::input) exceeds `tier_above` tokens, `tier` prices
  // apply to the whole request (provider-formats.md 8.3).
  std::optional<int64_t> tier_above;
  TokenPrices tier;
  std::string key;    // the catalog key that matched, e.g. "openai/gpt-4o" (for logs/debugging)
  bool free = false;  // a local preset with no price: free by default
  bool tokens = true;  // token prices known (false: an entry with unit prices only, e.g. whisper-1)
  MediaPrices media;
};

// Cost of a finished request, rounded once to nUSD (half up). std::nullopt when the upstream
// reported no usage (usage.present == false): cost unknown, never 0.
// Usage convention (providers::Usage, provider-formats.md 8.2): `input` counts every prompt token,
// cache reads and cache writes included; `output` counts reasoning tokens. So:
//   (input - cached_read - cache_write) * input + cached_read * cached_input
//   + cache_write * cache_write + (output - reasoning) * output + reasoning * reasoning
// (negative parts clamp at 0; an adapter whose provider excludes cache tokens from its input count,
// e.g. Anthropic, must add them in).
// Media units (images, audio, characters, search units): tokens where the provider reported them
// and the model has token prices (gpt-image-1, gpt-4o-transcribe), else the units at their unit
// prices; std::nullopt when a unit consumed has no price (cost unknown, never 0).
std::optional<Nanos> cost_of(const ModelPrice& price, const providers::Usage& usage);

// The reservation estimate: every input token at the uncached input price and max_output_tokens at
// max(output, reasoning), with the long-context tier when input_tokens exceeds it; rounded up.
Nanos estimate_cost(const ModelPrice& price, int64_t input_token_estimate, int64_t max_output_tokens);

// Input tokens from the request body size: ceil(bytes / 4) (about 4 bytes per token of English
// JSON; over-estimates for base64 images, which is the safe side for a reservation).
int64_t estimate_input_tokens(size_t body_bytes);

// The client's output cap: max_completion_tokens, else max_tokens, else max_output_tokens (the
// Responses API); std::nullopt when none is a positive integer. Callers use a default otherwise
// (kDefaultMaxOutputTokens for chat/completions, 0 for embeddings).
std::optional<int64_t> requested_max_output(const nlohmann::json& body);
inline constexpr int64_t kDefaultMaxOutputTokens = 4096;

// How many answers the provider generates (and bills): max(n, best_of), 1 when neither is set.
// Each must be an integer in 1..kMaxChoices (else a 400 naming it): the reservation multiplies
// the output cap by this, and an unbounded n would let one request spend far past its reservation.
inline constexpr int64_t kMaxChoices = 128;
std::variant<int64_t, Error> requested_choices(const nlohmann::json& body);

// The pricing: key of the gateway-wide default price (any model the catalog does not know).
inline constexpr std::string_view kDefaultPriceKey = "default";

// The built-in catalog: config/prices.json embedded into the binary at build time (defined in the
// generated prices_data.cpp, from cmake/prices_data.cpp.in). Typical use at config load:
//   PriceCatalog::build(kBuiltinPrices, cfg.pricing, cfg.providers)
extern const char* const kBuiltinPrices;

// One entry of prices.json or of a pricing: override, USD per 1M tokens; unset = not given.
struct PriceEntry {
  std::optional<double> input, output, cached_input, cache_write, reasoning;
  // Media: USD per image (flat and by variant), per audio minute, per 1M characters, per search unit.
  std::optional<double> image, audio_minute, characters, search_unit;
  std::map<std::string, double> image_by;
  struct Tier {
    int64_t above_tokens = 0;
    std::optional<double> input, output, cached_input, cache_write, reasoning;
  };
  std::optional<Tier> above;
  std::string note;  // "_note"/"_source" of the built-in entry, for docs and GET /admin/prices
};

// For string-keyed maps searched with a string_view (no temporary string per lookup); paired with
// std::equal_to<>, which is transparent already.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

class PriceCatalog {
 public:
  struct BuildResult {
    std::shared_ptr<const PriceCatalog> catalog;  // null iff errors is non-empty
    std::vector<std::string> errors;    // malformed catalog data (the built-in file: a bug)
    std::vector<std::string> warnings;  // e.g. an override naming no provider and no catalog entry
  };

  // Builds from the catalog JSON text (prices.json's format) and config.yaml's pricing: overrides.
  // `providers` (optional) is only used to warn about override keys whose first part is neither a
  // provider name nor a catalog namespace. Takes ~1 ms for the built-in file: do it at config load.
  static BuildResult build(std::string_view catalog_json,
                           const std::map<std::string, config::PriceConfig>& overrides = {},
                           std::span<const config::ProviderConfig> providers = {});
  // Same, reading the catalog from a file; an unreadable file is an error.
  static BuildResult build_from_file(const std::string& path,
                                     const std::map<std::string, config::PriceConfig>& overrides = {},
                                     std::span<const config::ProviderConfig> providers = {});

  // The price of `model` (the upstream model id, as in a target) on a provider. provider_kind is
  // the preset name when the provider has one, else to_string(type); see namespace_of().
  // O(1) average: a handful of hash probes, no allocation beyond the key strings.
  std::optional<ModelPrice> lookup(std::string_view provider_name, std::string_view provider_kind,
                                   std::string_view model) const;
  std::optional<ModelPrice> lookup(const config::ProviderConfig& provider,
                                   std::string_view model) const;

  // The merged entry under an exact key ("openai/gpt-4o"), for admin/debug views.
  const PriceEntry* entry(std::string_view key) const;
  size_t size() const { return table_.size(); }
  const std::string& version() const { return version_; }  // prices.json "_version"
  // Unique in the process (a reloaded catalog has a new one, even at a reused address).
  uint64_t serial() const { return serial_; }

  // "groq" for a groq preset, "openai" for type openai, "" for a plain openai-compatible provider.
  static std::string namespace_of(const config::ProviderConfig& provider);

 private:
  std::unordered_map<std::string, PriceEntry, StringHash, std::equal_to<>> table_;  // lowercased keys
  std::string version_;
  uint64_t serial_ = 0;

  const PriceEntry* find_with_versions(std::string_view ns, std::string_view model,
                                       std::string* matched) const;
};

// One thread's memo of PriceCatalog::lookup: a lookup lower-cases and probes several keys, and
// every request asks again for the same few deployments. Not thread-safe (one per worker thread);
// bounded (emptied when full: a pass-through model name is the client's choice); emptied when
// asked about another catalog (a reload). The shared_ptr keeps a price valid for its holder.
class PriceMemo {
 public:
  std::shared_ptr<const ModelPrice> lookup(const PriceCatalog& catalog,
                                           const config::ProviderConfig& provider,
                                           std::string_view model);
  size_t size() const { return entries_.size(); }
  static constexpr size_t kMaxEntries = 1024;

 private:
  uint64_t catalog_ = 0;  // the serial of the catalog the entries come from
  std::string key_;       // "provider\0model", reused
  std::unordered_map<std::string, std::shared_ptr<const ModelPrice>, StringHash, std::equal_to<>>
      entries_;
};

}  // namespace tg::governance
