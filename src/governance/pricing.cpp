// The price catalog: prices.json + pricing: overrides, lookup rules, cost and estimate.

#include "tollgate/governance/pricing.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace tg::governance {
namespace {

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr double kMaxUsdPerMillion = 1e6;  // sanity bound for one price

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "-" followed by exactly n digits at the end of s.
bool ends_with_dash_digits(std::string_view s, size_t n) {
  if (s.size() < n + 2) return false;  // keep at least one character before the dash
  std::string_view tail = s.substr(s.size() - n);
  return s[s.size() - n - 1] == '-' && all_digits(tail);
}

// Removes one trailing version suffix (see pricing.hpp), or returns nullopt when there is none.
std::optional<std::string_view> strip_version_suffix(std::string_view m) {
  // Vertex style "@20240620", "@001", "@latest".
  if (size_t at = m.rfind('@'); at != std::string_view::npos && at > 0) {
    std::string_view v = m.substr(at + 1);
    if (all_digits(v) || v == "latest") return m.substr(0, at);
  }
  // Bedrock ":0" and "-v1" / "-v1:0" / "-v2:1".
  if (size_t colon = m.rfind(':'); colon != std::string_view::npos && colon > 0 &&
                                   all_digits(m.substr(colon + 1))) {
    std::string_view head = m.substr(0, colon);
    if (size_t dv = head.rfind("-v"); dv != std::string_view::npos && dv > 0 &&
                                      all_digits(head.substr(dv + 2))) {
      return head.substr(0, dv);
    }
    return head;
  }
  if (size_t dv = m.rfind("-v"); dv != std::string_view::npos && dv > 0 &&
                                 all_digits(m.substr(dv + 2))) {
    return m.substr(0, dv);
  }
  // -YYYY-MM-DD
  if (m.size() > 11 && m[m.size() - 11] == '-' && all_digits(m.substr(m.size() - 10, 4)) &&
      m[m.size() - 6] == '-' && all_digits(m.substr(m.size() - 5, 2)) && m[m.size() - 3] == '-' &&
      all_digits(m.substr(m.size() - 2))) {
    return m.substr(0, m.size() - 11);
  }
  if (ends_with_dash_digits(m, 8)) return m.substr(0, m.size() - 9);  // -YYYYMMDD
  // -MM-DD (Gemini previews)
  if (m.size() > 6 && m[m.size() - 6] == '-' && all_digits(m.substr(m.size() - 5, 2)) &&
      m[m.size() - 3] == '-' && all_digits(m.substr(m.size() - 2))) {
    return m.substr(0, m.size() - 6);
  }
  if (ends_with_dash_digits(m, 4)) return m.substr(0, m.size() - 5);  // -0613, -2411
  if (ends_with_dash_digits(m, 3)) return m.substr(0, m.size() - 4);  // -001
  if (m.size() > 7 && m.ends_with("-latest")) return m.substr(0, m.size() - 7);
  return std::nullopt;
}

// ---- saturating pico arithmetic ----
int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return kI64Max;
  return r;
}
int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return kI64Max;
  return r;
}
Nanos pico_to_nanos_nearest(int64_t pico) {
  if (pico <= 0) return 0;
  if (pico > kI64Max - 500) return pico / 1'000;
  return (pico + 500) / 1'000;
}
Nanos pico_to_nanos_up(int64_t pico) {
  if (pico <= 0) return 0;
  return pico / 1'000 + (pico % 1'000 != 0 ? 1 : 0);
}

// ---- entries ----

using Field = std::optional<double> PriceEntry::*;
using TierField = std::optional<double> PriceEntry::Tier::*;
struct FieldName {
  const char* name;
  Field base;
  TierField tier;
  std::optional<double> config::PriceConfig::*cfg;
};
constexpr std::array<FieldName, 5> kFields = {{
    {"input", &PriceEntry::input, &PriceEntry::Tier::input, &config::PriceConfig::input},
    {"output", &PriceEntry::output, &PriceEntry::Tier::output, &config::PriceConfig::output},
    {"cached_input", &PriceEntry::cached_input, &PriceEntry::Tier::cached_input,
     &config::PriceConfig::cached_input},
    {"cache_write", &PriceEntry::cache_write, &PriceEntry::Tier::cache_write,
     &config::PriceConfig::cache_write},
    {"reasoning", &PriceEntry::reasoning, &PriceEntry::Tier::reasoning,
     &config::PriceConfig::reasoning},
}};

const FieldName* field_named(std::string_view n) {
  for (const auto& f : kFields) {
    if (n == f.name) return &f;
  }
  return nullptr;
}

std::optional<double> price_value(const nlohmann::json& v, const std::string& where,
                                  std::vector<std::string>& errors) {
  if (!v.is_number()) {
    errors.push_back(fmt::format("{}: expected a number (USD per 1M tokens)", where));
    return std::nullopt;
  }
  double d = v.get<double>();
  if (!std::isfinite(d) || d < 0 || d > kMaxUsdPerMillion) {
    errors.push_back(fmt::format("{}: {} is not a price (0..{} USD per 1M tokens)", where, d,
                                 kMaxUsdPerMillion));
    return std::nullopt;
  }
  return d;
}

std::optional<PriceEntry> parse_entry(const std::string& key, const nlohmann::json& v,
                                      std::vector<std::string>& errors) {
  if (!v.is_object()) {
    errors.push_back(fmt::format("{}: expected an object of prices", key));
    return std::nullopt;
  }
  const size_t before = errors.size();
  PriceEntry e;
  for (const auto& [name, val] : v.items()) {
    std::string where = key + "." + name;
    if (name == "_note" || name == "_source") {
      if (val.is_string()) {
        if (!e.note.empty()) e.note += "; ";
        e.note += val.get<std::string>();
      }
      continue;
    }
    if (name == "above") {
      if (!val.is_object()) {
        errors.push_back(where + ": expected {tokens, input, output, ...}");
        continue;
      }
      PriceEntry::Tier t;
      bool has_tokens = false;
      for (const auto& [tn, tv] : val.items()) {
        if (tn == "tokens") {
          if (!tv.is_number_integer() || tv.get<int64_t>() <= 0) {
            errors.push_back(where + ".tokens: expected a positive integer");
          } else {
            t.above_tokens = tv.get<int64_t>();
            has_tokens = true;
          }
        } else if (const FieldName* f = field_named(tn)) {
          t.*(f->tier) = price_value(tv, where + "." + tn, errors);
        } else {
          errors.push_back(fmt::format("{}.{}: unknown field", where, tn));
        }
      }
      if (!has_tokens) errors.push_back(where + ": missing 'tokens'");
      e.above = t;
      continue;
    }
    if (const FieldName* f = field_named(name)) {
      e.*(f->base) = price_value(val, where, errors);
    } else if (name == "image" && val.is_object()) {
      for (const auto& [variant, usd] : val.items()) {
        auto v = price_value(usd, where + "." + variant, errors);
        if (!v) continue;
        if (variant == "default") e.image = v;
        else e.image_by[lower(variant)] = *v;
      }
    } else if (name == "image") {
      e.image = price_value(val, where, errors);
    } else if (name == "audio_minute") {
      e.audio_minute = price_value(val, where, errors);
    } else if (name == "characters") {
      e.characters = price_value(val, where, errors);
    } else if (name == "search_unit") {
      e.search_unit = price_value(val, where, errors);
    } else {
      errors.push_back(fmt::format(
          "{}: unknown field (expected input, output, cached_input, cache_write, reasoning, "
          "above, image, audio_minute, characters, search_unit, _note)",
          where));
    }
  }
  if (errors.size() > before) return std::nullopt;
  return e;
}

// Media fields set in `over` replace the base's (image variants one by one).
void merge_media(PriceEntry& base, const PriceEntry& over) {
  for (auto f : {&PriceEntry::image, &PriceEntry::audio_minute, &PriceEntry::characters,
                 &PriceEntry::search_unit}) {
    if (over.*f) base.*f = over.*f;
  }
  for (const auto& [variant, usd] : over.image_by) base.image_by[variant] = usd;
}

MediaPrices media_prices(const PriceEntry& e, int uplift_pct) {
  auto conv = [&](std::optional<double> v) -> std::optional<int64_t> {
    if (!v) return std::nullopt;
    int64_t pico = usd_per_million_to_pico(*v * 1e6);  // USD per unit -> pico per unit
    if (uplift_pct != 100) pico = (sat_mul(pico, uplift_pct) + 50) / 100;
    return pico;
  };
  MediaPrices m;
  m.image = conv(e.image);
  for (const auto& [variant, usd] : e.image_by) m.image_by.emplace_back(variant, *conv(usd));
  m.audio_minute = conv(e.audio_minute);
  if (e.characters) m.character = usd_per_million_to_pico(*e.characters);  // USD per 1M chars
  m.search_unit = conv(e.search_unit);
  return m;
}

// Per-field override: a field set in `over` replaces the base field and the tier's field (an
// override applies at every prompt size).
void merge_into(PriceEntry& base, const PriceEntry& over) {
  for (const auto& f : kFields) {
    if (over.*(f.base)) {
      base.*(f.base) = over.*(f.base);
      if (base.above) (*base.above).*(f.tier) = over.*(f.base);
    }
  }
  merge_media(base, over);
}

void media_from_config(PriceEntry& e, const config::PriceConfig& pc) {
  e.image = pc.image;
  e.audio_minute = pc.audio_minute;
  e.characters = pc.characters;
  e.search_unit = pc.search_unit;
  for (const auto& [variant, usd] : pc.image_by) e.image_by[lower(variant)] = usd;
}

const std::set<std::string, std::less<>>& known_namespaces() {
  static const std::set<std::string, std::less<>> kNs = [] {
    std::set<std::string, std::less<>> s = {"openai", "anthropic", "gemini", "azure", "bedrock"};
    for (const auto& p : config::presets()) s.emplace(p.name);
    return s;
  }();
  return kNs;
}

bool is_local_free(std::string_view kind) {
  return kind == "ollama" || kind == "vllm" || kind == "lmstudio";
}

// Namespaces to search for a provider kind, in order.
std::vector<std::string_view> namespaces_for(std::string_view kind) {
  if (kind == "azure") return {"azure", "openai"};
  if (kind.empty() || kind == "openai-compatible") return {};
  return {kind};
}

// A resolved field set, pico per token, still optional (for merging layers).
struct Picos {
  std::optional<int64_t> input, output, cached_input, cache_write, reasoning;
};

Picos to_picos(const PriceEntry& e, bool tier, int uplift_pct) {
  Picos p;
  auto conv = [&](std::optional<double> v) -> std::optional<int64_t> {
    if (!v) return std::nullopt;
    int64_t pico = usd_per_million_to_pico(*v);
    if (uplift_pct != 100) pico = (sat_mul(pico, uplift_pct) + 50) / 100;
    return pico;
  };
  if (tier && e.above) {
    const auto& t = *e.above;
    p = {conv(t.input), conv(t.output), conv(t.cached_input), conv(t.cache_write), conv(t.reasoning)};
  } else {
    p = {conv(e.input), conv(e.output), conv(e.cached_input), conv(e.cache_write), conv(e.reasoning)};
  }
  return p;
}

Picos merge_picos(const Picos& over, const Picos& base) {
  return {over.input ? over.input : base.input,
          over.output ? over.output : base.output,
          over.cached_input ? over.cached_input : base.cached_input,
          over.cache_write ? over.cache_write : base.cache_write,
          over.reasoning ? over.reasoning : base.reasoning};
}

// Fallbacks: cache read/write -> input, reasoning -> output. Needs input and output.
std::optional<TokenPrices> finish(const Picos& p) {
  if (!p.input || !p.output) return std::nullopt;
  TokenPrices t;
  t.input = *p.input;
  t.output = *p.output;
  t.cached_input = p.cached_input.value_or(*p.input);
  t.cache_write = p.cache_write.value_or(*p.input);
  t.reasoning = p.reasoning.value_or(*p.output);
  return t;
}

// Bedrock: "[arn...:inference-profile/][region.]anthropic.<model>[-vN[:M]]" -> anthropic/<model>.
// Regional inference profiles (us., eu., apac., ...) cost 10% more; global. does not.
struct BedrockId {
  std::string_view vendor_ns;
  std::string_view model;
  bool regional = false;
};
std::optional<BedrockId> parse_bedrock_id(std::string_view id) {
  if (size_t slash = id.rfind('/'); slash != std::string_view::npos) id = id.substr(slash + 1);
  BedrockId out;
  static constexpr std::array<std::string_view, 8> kRegions = {"us.", "eu.", "apac.", "ap.",
                                                              "jp.", "au.", "ca.", "us-gov."};
  if (id.starts_with("global.")) {
    id.remove_prefix(7);
  } else {
    for (std::string_view r : kRegions) {
      if (id.starts_with(r)) {
        id.remove_prefix(r.size());
        out.regional = true;
        break;
      }
    }
  }
  if (!id.starts_with("anthropic.")) return std::nullopt;  // only Claude's rule is documented
  out.vendor_ns = "anthropic";
  out.model = id.substr(10);
  if (out.model.empty()) return std::nullopt;
  return out;
}

}  // namespace

int64_t usd_per_million_to_pico(double usd_per_million) {
  if (!(usd_per_million > 0)) return 0;
  double p = usd_per_million * 1e6;
  if (p >= 9.2e18) return kI64Max;
  return static_cast<int64_t>(std::llround(p));
}

std::optional<int64_t> MediaPrices::image_price(std::string_view variant) const {
  std::string v = lower(variant);
  size_t slash = v.find('/');
  std::string_view quality = slash == std::string::npos ? std::string_view() : std::string_view(v).substr(0, slash);
  std::string_view size = slash == std::string::npos ? std::string_view(v) : std::string_view(v).substr(slash + 1);
  auto find = [&](std::string_view key) -> std::optional<int64_t> {
    if (key.empty()) return std::nullopt;
    for (const auto& [k, pico] : image_by) {
      if (k == key) return pico;
    }
    return std::nullopt;
  };
  if (!quality.empty()) {
    if (auto p = find(v)) return p;
  }
  if (auto p = find(size)) return p;
  if (auto p = find(quality)) return p;
  if (image) return image;
  std::optional<int64_t> dearest;
  for (const auto& [k, pico] : image_by) dearest = std::max(dearest.value_or(0), pico);
  return dearest;
}

namespace {

// The units of a media call at their unit prices; nullopt when one consumed has no price.
std::optional<Nanos> unit_cost(const MediaPrices& m, const providers::Usage& u) {
  int64_t pico = 0;
  if (u.images > 0) {
    auto p = m.image_price(u.image_variant);
    if (!p) return std::nullopt;
    pico = sat_add(pico, sat_mul(u.images, *p));
  }
  if (u.audio_ms > 0) {
    if (!m.audio_minute) return std::nullopt;
    int64_t per_ms_x60000 = sat_mul(u.audio_ms, *m.audio_minute);
    pico = sat_add(pico, per_ms_x60000 == kI64Max ? kI64Max : (per_ms_x60000 + 30'000) / 60'000);
  }
  if (u.characters > 0) {
    if (!m.character) return std::nullopt;
    pico = sat_add(pico, sat_mul(u.characters, *m.character));
  }
  if (u.search_units > 0) {
    if (!m.search_unit) return std::nullopt;
    pico = sat_add(pico, sat_mul(u.search_units, *m.search_unit));
  }
  return pico_to_nanos_nearest(pico);
}

}  // namespace

std::optional<Nanos> cost_of(const ModelPrice& price, const providers::Usage& u) {
  if (!u.present) return std::nullopt;
  const bool has_tokens = u.input > 0 || u.output > 0;
  if (price.free) return 0;
  if (!(has_tokens && price.tokens) && u.has_units()) return unit_cost(price.media, u);
  if (!price.tokens) return has_tokens ? std::nullopt : std::optional<Nanos>(0);
  const TokenPrices& p = (price.tier_above && u.input > *price.tier_above) ? price.tier : price.base;
  auto nn = [](int64_t v) { return v < 0 ? int64_t{0} : v; };
  int64_t cached = nn(u.cached_read), writes = nn(u.cache_write);
  int64_t uncached = nn(nn(u.input) - cached - writes);
  int64_t output = nn(u.output);
  int64_t reasoning = std::min(nn(u.reasoning), output);
  int64_t plain_out = output - reasoning;
  int64_t pico = 0;
  pico = sat_add(pico, sat_mul(uncached, p.input));
  pico = sat_add(pico, sat_mul(cached, p.cached_input));
  pico = sat_add(pico, sat_mul(writes, p.cache_write));
  pico = sat_add(pico, sat_mul(plain_out, p.output));
  pico = sat_add(pico, sat_mul(reasoning, p.reasoning));
  return pico_to_nanos_nearest(pico);
}

Nanos estimate_cost(const ModelPrice& price, int64_t input_tokens, int64_t max_output_tokens) {
  if (input_tokens < 0) input_tokens = 0;
  if (max_output_tokens < 0) max_output_tokens = 0;
  const TokenPrices& p =
      (price.tier_above && input_tokens > *price.tier_above) ? price.tier : price.base;
  int64_t pico = sat_mul(input_tokens, p.input);
  pico = sat_add(pico, sat_mul(max_output_tokens, std::max(p.output, p.reasoning)));
  return pico_to_nanos_up(pico);
}

int64_t estimate_input_tokens(size_t body_bytes) {
  uint64_t t = (static_cast<uint64_t>(body_bytes) + 3) / 4;
  return t > static_cast<uint64_t>(kI64Max) ? kI64Max : static_cast<int64_t>(t);
}

std::variant<int64_t, Error> requested_choices(const nlohmann::json& body) {
  if (!body.is_object()) return int64_t{1};
  int64_t most = 1;
  for (const char* k : {"n", "best_of"}) {
    auto it = body.find(k);
    if (it == body.end() || it->is_null()) continue;
    if (!(it->is_number_integer() || it->is_number_unsigned())) {
      return Error::bad_request(fmt::format("'{}' must be an integer between 1 and {}.", k,
                                            kMaxChoices),
                                k);
    }
    const bool too_big = it->is_number_unsigned() ? it->get<uint64_t>() > uint64_t(kMaxChoices)
                                                  : it->get<int64_t>() > kMaxChoices;
    if (too_big || (!it->is_number_unsigned() && it->get<int64_t>() < 1)) {
      return Error::bad_request(fmt::format("'{}' must be an integer between 1 and {}.", k,
                                            kMaxChoices),
                                k);
    }
    most = std::max(most, it->get<int64_t>());
  }
  return most;
}

std::optional<int64_t> requested_max_output(const nlohmann::json& body) {
  if (!body.is_object()) return std::nullopt;
  for (const char* k : {"max_completion_tokens", "max_tokens", "max_output_tokens"}) {
    auto it = body.find(k);
    if (it == body.end()) continue;
    if (it->is_number_unsigned()) {
      uint64_t v = it->get<uint64_t>();
      if (v > 0) return static_cast<int64_t>(std::min<uint64_t>(v, static_cast<uint64_t>(kI64Max)));
    } else if (it->is_number_integer() && it->get<int64_t>() > 0) {
      return it->get<int64_t>();
    }
  }
  return std::nullopt;
}

std::string PriceCatalog::namespace_of(const config::ProviderConfig& provider) {
  if (!provider.preset.empty()) return provider.preset;
  if (provider.type == config::ProviderType::OpenAICompatible) return "";
  return std::string(config::to_string(provider.type));
}

PriceCatalog::BuildResult PriceCatalog::build(
    std::string_view catalog_json, const std::map<std::string, config::PriceConfig>& overrides,
    std::span<const config::ProviderConfig> providers) {
  BuildResult res;
  auto cat = std::shared_ptr<PriceCatalog>(new PriceCatalog());
  static std::atomic<uint64_t> serials{0};
  cat->serial_ = ++serials;
  auto j = nlohmann::json::parse(catalog_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    res.errors.push_back("price catalog: not a JSON object");
    return res;
  }
  cat->table_.reserve(j.size() + overrides.size());
  std::set<std::string, std::less<>> namespaces = known_namespaces();
  for (const auto& [key, val] : j.items()) {
    if (key.starts_with("_")) {
      if (key == "_version" && val.is_string()) cat->version_ = val.get<std::string>();
      continue;
    }
    size_t slash = key.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == key.size()) {
      res.errors.push_back(fmt::format("{}: keys are 'namespace/model'", key));
      continue;
    }
    auto e = parse_entry(key, val, res.errors);
    if (!e) continue;
    std::string lk = lower(key);
    namespaces.insert(lk.substr(0, slash));
    if (!cat->table_.emplace(lk, std::move(*e)).second) {
      res.errors.push_back(fmt::format("{}: duplicate key (keys are case-insensitive)", key));
    }
  }
  std::set<std::string, std::less<>> provider_names;
  for (const auto& p : providers) provider_names.insert(lower(p.name));
  for (const auto& [key, pc] : overrides) {
    if (lower(key) == kDefaultPriceKey) {  // the price of any model the catalog does not know
      PriceEntry def;
      def.note = "config.yaml pricing.default";
      for (const auto& f : kFields) def.*(f.base) = pc.*(f.cfg);
      media_from_config(def, pc);
      if (!def.input || !def.output) {
        res.warnings.push_back("pricing.default: needs both input and output; ignored");
        continue;
      }
      cat->table_.insert_or_assign(std::string(kDefaultPriceKey), std::move(def));
      continue;
    }
    size_t slash = key.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == key.size()) {
      res.warnings.push_back(fmt::format("pricing.{}: keys are 'provider/model'; ignored", key));
      continue;
    }
    PriceEntry over;
    over.note = "config.yaml pricing";
    for (const auto& f : kFields) over.*(f.base) = pc.*(f.cfg);
    media_from_config(over, pc);
    std::string lk = lower(key);
    std::string prefix = lk.substr(0, slash);
    if (!providers.empty() && !provider_names.contains(prefix) && !namespaces.contains(prefix)) {
      res.warnings.push_back(fmt::format(
          "pricing.{}: '{}' is neither a provider nor a catalog namespace; this price is never used",
          key, key.substr(0, slash)));
    }
    auto it = cat->table_.find(lk);
    if (it != cat->table_.end()) {
      merge_into(it->second, over);
      it->second.note = it->second.note.empty() ? over.note : it->second.note + "; " + over.note;
    } else {
      cat->table_.emplace(std::move(lk), std::move(over));
    }
  }
  if (res.errors.empty()) res.catalog = std::move(cat);
  return res;
}

PriceCatalog::BuildResult PriceCatalog::build_from_file(
    const std::string& path, const std::map<std::string, config::PriceConfig>& overrides,
    std::span<const config::ProviderConfig> providers) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    BuildResult r;
    r.errors.push_back(fmt::format("price catalog {}: cannot be read", path));
    return r;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return build(ss.str(), overrides, providers);
}

const PriceEntry* PriceCatalog::entry(std::string_view key) const {
  auto it = table_.find(lower(key));
  return it == table_.end() ? nullptr : &it->second;
}

const PriceEntry* PriceCatalog::find_with_versions(std::string_view ns, std::string_view model,
                                                   std::string* matched) const {
  std::string lm = lower(model);
  std::string_view cur = lm;
  std::string key;
  for (int i = 0; i < 8; ++i) {
    key.assign(ns).append("/").append(cur);
    if (auto it = table_.find(key); it != table_.end()) {
      if (matched) *matched = key;
      return &it->second;
    }
    auto next = strip_version_suffix(cur);
    if (!next) break;
    cur = *next;
  }
  return nullptr;
}

std::optional<ModelPrice> PriceCatalog::lookup(std::string_view provider_name,
                                               std::string_view provider_kind,
                                               std::string_view model) const {
  std::string lname = lower(provider_name);
  std::string lkind = lower(provider_kind);
  std::string_view m = model;
  if (lkind == "gemini" && m.starts_with("models/")) m.remove_prefix(7);

  // The catalog layer: the provider's namespaces, then the Bedrock vendor rule.
  const PriceEntry* ns_entry = nullptr;
  std::string ns_key;
  int uplift = 100;
  for (std::string_view ns : namespaces_for(lkind)) {
    if ((ns_entry = find_with_versions(ns, m, &ns_key))) break;
  }
  if (!ns_entry && lkind == "bedrock") {
    std::string lm = lower(m);
    if (auto b = parse_bedrock_id(lm)) {
      if ((ns_entry = find_with_versions(b->vendor_ns, b->model, &ns_key)) && b->regional) {
        uplift = 110;
      }
    }
  }
  // The per-provider layer (pricing: overrides keyed by provider name, or a catalog namespace
  // that happens to be this provider's name).
  const PriceEntry* name_entry = nullptr;
  std::string name_key;
  if (!lname.empty()) {
    name_entry = find_with_versions(lname, m, &name_key);
    if (name_entry == ns_entry) name_entry = nullptr;
  }
  if (!ns_entry && !name_entry) {
    // No price for this model: the provider's own "<provider>/*" override, then the local
    // presets' free default, then the gateway-wide `default` override; else unpriced.
    const PriceEntry* fallback = nullptr;
    std::string fallback_key;
    if (!lname.empty()) {
      fallback_key = lname + "/*";
      if (auto it = table_.find(fallback_key); it != table_.end()) fallback = &it->second;
    }
    if (!fallback && is_local_free(lkind)) {
      ModelPrice free;
      free.free = true;
      free.key = lkind + "/*";
      return free;
    }
    if (!fallback) {
      fallback_key = std::string(kDefaultPriceKey);
      if (auto it = table_.find(fallback_key); it != table_.end()) fallback = &it->second;
    }
    if (!fallback) return std::nullopt;
    auto b = finish(to_picos(*fallback, false, 100));
    MediaPrices media = media_prices(*fallback, 100);
    if (!b && !media.any()) return std::nullopt;
    ModelPrice out;
    out.base = b.value_or(TokenPrices{});
    out.tokens = b.has_value();
    out.media = std::move(media);
    out.key = std::move(fallback_key);
    return out;
  }

  Picos base, tier;
  std::optional<int64_t> tier_above;
  if (ns_entry) {
    base = to_picos(*ns_entry, false, uplift);
    if (ns_entry->above) {
      tier_above = ns_entry->above->above_tokens;
      tier = to_picos(*ns_entry, true, uplift);
    }
  } else if (is_local_free(lkind)) {
    base.input = 0;
    base.output = 0;
  }
  if (name_entry) {
    Picos over = to_picos(*name_entry, false, 100);
    if (name_entry->above) {  // an override entry that is itself a tiered catalog entry
      tier_above = name_entry->above->above_tokens;
      tier = to_picos(*name_entry, true, 100);
    } else if (tier_above) {
      tier = merge_picos(over, tier);
    }
    base = merge_picos(over, base);
  }
  // Media unit prices: the catalog's, then the provider's override field by field.
  PriceEntry media_entry;
  if (ns_entry) merge_media(media_entry, *ns_entry);
  if (name_entry) merge_media(media_entry, *name_entry);
  MediaPrices media = media_prices(media_entry, name_entry ? 100 : uplift);
  auto b = finish(base);
  if (!b && !media.any()) return std::nullopt;
  ModelPrice out;
  out.base = b.value_or(TokenPrices{});
  out.tokens = b.has_value();
  out.media = std::move(media);
  out.key = name_entry ? name_key : ns_key;
  if (tier_above) {
    // Tier fields the data leaves out fall back within the tier, then to the base.
    Picos t = tier;
    if (!t.input) t.input = base.input;
    if (!t.output) t.output = base.output;
    if (auto tp = finish(t)) {
      out.tier_above = tier_above;
      out.tier = *tp;
    }
  }
  return out;
}

std::optional<ModelPrice> PriceCatalog::lookup(const config::ProviderConfig& provider,
                                               std::string_view model) const {
  return lookup(provider.name, namespace_of(provider), model);
}

std::shared_ptr<const ModelPrice> PriceMemo::lookup(const PriceCatalog& catalog,
                                                    const config::ProviderConfig& provider,
                                                    std::string_view model) {
  if (catalog_ != catalog.serial() || entries_.size() >= kMaxEntries) {
    entries_.clear();
    catalog_ = catalog.serial();
  }
  key_.assign(provider.name).push_back('\0');
  key_.append(model);
  if (auto it = entries_.find(std::string_view(key_)); it != entries_.end()) return it->second;
  std::shared_ptr<const ModelPrice> price;
  if (auto p = catalog.lookup(provider, model)) price = std::make_shared<const ModelPrice>(std::move(*p));
  entries_.emplace(key_, price);
  return price;
}

}  // namespace tg::governance
