#pragma once
// Internals of the config loader, shared by the src/config/*.cpp files only.

#include "tollgate/config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tg::config::detail {

// ---- text helpers (units.cpp) ----
std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);
size_t edit_distance(std::string_view a, std::string_view b);
// " (did you mean 'x'?)" for the closest candidate, "" when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);
std::string join(const std::vector<std::string_view>& items, std::string_view sep);
// "X is" / "X and Y are" / "X, Y and Z are"
std::string vars_phrase(const std::vector<std::string>& vars);
std::optional<int64_t> parse_int(std::string_view s);
std::optional<double> parse_number(std::string_view s);
std::optional<bool> parse_bool(std::string_view s);
std::optional<std::chrono::sys_seconds> parse_timestamp(std::string_view s);

struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "host:port", "[::1]:8080", ":8080" (0.0.0.0), "8080". On failure returns nullopt and sets *why.
std::optional<HostPort> parse_listen(std::string_view s, std::string* why);

// ---- environment (env.cpp) ----
// Like expand_env(); a malformed reference ("${", "${1X}") sets *error.
std::string expand_env_checked(std::string_view text, const EnvLookup& env,
                               std::vector<std::string>* unset, std::string* error);
// yaml-cpp cannot parse `[ ${X} ]` (flow indicators inside a plain scalar), so before parsing the
// flow characters inside each ${...} are swapped for private-use code points, and swapped back on
// every scalar read. Line numbers are unchanged.
std::string protect_env_refs(std::string_view yaml_text);
std::string restore_env_refs(std::string_view text);

// ---- the decoder: typed reads from YAML nodes with every error collected (decoder.cpp) ----
using NodeRef = const YAML::Node&;
using PathRef = const std::string&;

struct Scalar {
  std::string text;                 // after env expansion
  std::vector<std::string> unset;   // variables that were unset or empty without a default
};

int line_of(NodeRef node, int fallback);
std::string child_path(std::string_view path, std::string_view key);
std::string item_path(std::string_view path, size_t index);

class Decoder {
 public:
  using Handler = std::function<void(NodeRef value, PathRef path, int line)>;
  struct Field {
    std::string_view name;
    Handler decode;
  };
  using EntryFn = std::function<void(const std::string& key, NodeRef value, PathRef path, int line)>;
  using ItemFn = std::function<void(NodeRef item, PathRef path, int line)>;

  explicit Decoder(const EnvLookup& env) : env_(env) {}

  void error(std::string path, int line, std::string message);
  void warn(int line, std::string message);
  size_t error_count() const { return errors_.size(); }

  // A mapping with fixed keys: unknown and duplicate keys are errors; null counts as empty.
  // Returns false when the node is not a mapping (reported).
  bool walk_map(NodeRef node, PathRef path, int line, const std::vector<Field>& fields);
  // A mapping with free keys (providers, pricing, headers).
  bool each_entry(NodeRef node, PathRef path, int line, const EntryFn& fn);
  // A sequence; null counts as empty.
  bool each_item(NodeRef node, PathRef path, int line, const ItemFn& fn);

  // Reads an env-expanded scalar. nullopt when null (absent) or not a scalar (reported).
  // With keep_unset the caller handles unset variables; otherwise each one is warned about.
  std::optional<Scalar> scalar(NodeRef n, PathRef path, int line, std::string_view expected,
                               bool keep_unset = false);
  std::optional<std::string> string_value(NodeRef n, PathRef path, int line);
  std::optional<int64_t> int_value(NodeRef n, PathRef path, int line, int64_t min, int64_t max);
  std::optional<double> number_value(NodeRef n, PathRef path, int line, double min);
  std::optional<bool> bool_value(NodeRef n, PathRef path, int line);
  std::optional<uint64_t> size_value(NodeRef n, PathRef path, int line);
  std::optional<Millis> duration_value(NodeRef n, PathRef path, int line, bool positive = false);
  std::optional<std::string> enum_value(NodeRef n, PathRef path, int line,
                                        const std::vector<std::string_view>& allowed);
  std::optional<std::vector<std::string>> string_list(NodeRef n, PathRef path, int line);
  std::optional<std::map<std::string, std::string>> string_map(NodeRef n, PathRef path, int line);

  // Errors and warnings in file (line) order.
  std::vector<ConfigError> take_errors();
  std::vector<std::string> take_warnings();
  const EnvLookup& env() const { return env_; }

 private:
  const EnvLookup& env_;
  std::vector<ConfigError> errors_;
  std::vector<std::pair<int, std::string>> warnings_;
};

// ---- loader state shared by the section decoders ----
struct Where {
  std::string path;
  int line = 0;
};

struct RawKey {
  std::string key;
  std::vector<std::string> unset;
  uint32_t weight = 1;
  Where where;
};

struct PartialTimeouts {
  std::optional<Millis> connect, first_token, idle, total, keepalive;
  Where where;
};

struct RawProvider {
  ProviderConfig out;  // simple fields are decoded straight into it
  Where where;         // providers.NAME, line of the name
  std::optional<std::string> type;
  int type_line = 0;
  std::optional<Scalar> base_url;
  int base_url_line = 0;
  bool keys_declared = false;
  std::vector<RawKey> keys;
  std::optional<Scalar> aws_key_id, aws_secret, aws_token;
  std::optional<PartialTimeouts> timeouts;
  std::vector<std::pair<std::string, Where>> azure_only, bedrock_only;  // fields seen
  std::optional<ResponsesMode> responses;  // as written; defaulted in phase 2
  Where responses_where;
  bool broken = false;  // had decode errors: not resolved, but its name still counts as declared
};

struct RawTarget {
  Target target;
  Where where;
};

struct RawModel {
  ModelConfig out;
  Where where;  // models[i]
  std::vector<RawTarget> targets, fallbacks, cw_fallbacks;
  bool broken = false;
};

struct RawKeyConfig {
  KeyConfig out;
  Where where;
  Where key_where;
  bool has_key = false;
  std::vector<std::string> key_unset;
  bool broken = false;
};

struct LoadState {
  explicit LoadState(const EnvLookup& env) : dec(env) {}
  Decoder dec;
  Config cfg;
  Where router_timeouts{"router.timeouts", 0};
  std::vector<RawProvider> providers;
  std::vector<RawModel> models;
  std::vector<RawKeyConfig> keys;
  std::set<std::string> declared_providers;
  std::set<std::string> skipped_providers;
};

// The responses: mode a provider gets when its config does not say: native for openai, for
// Azure's v1 API and for the presets whose hosts serve /responses; translate otherwise (presets.cpp).
ResponsesMode default_responses(const ProviderConfig& p);
// Azure's v1 API: a base_url ending in /openai/v1 (the only Azure surface with /responses here).
bool azure_v1_url(std::string_view base_url);

// Section decoders (phase 1) and resolvers (phase 2).
void decode_server(LoadState& st, NodeRef node, PathRef path, int line);
void decode_store(LoadState& st, NodeRef node, PathRef path, int line);
void decode_router(LoadState& st, NodeRef node, PathRef path, int line);
void decode_logs(LoadState& st, NodeRef node, PathRef path, int line);
void decode_cache(LoadState& st, NodeRef node, PathRef path, int line);
void decode_providers(LoadState& st, NodeRef node, PathRef path, int line);
void decode_models(LoadState& st, NodeRef node, PathRef path, int line);
void decode_keys(LoadState& st, NodeRef node, PathRef path, int line);
void decode_teams(LoadState& st, NodeRef node, PathRef path, int line);
void decode_pricing(LoadState& st, NodeRef node, PathRef path, int line);
PartialTimeouts decode_timeouts(Decoder& dec, NodeRef node, PathRef path, int line);

void validate_router(LoadState& st);
void resolve_providers(LoadState& st);
void resolve_models(LoadState& st);
void resolve_keys(LoadState& st);
// connect <= total and first_token <= total.
void check_timeouts(Decoder& dec, const Timeouts& t, const Where& where);

inline constexpr std::string_view kAzureApiVersion = "2024-10-21";
inline constexpr std::string_view kBedrockRegion = "us-east-1";

}  // namespace tg::config::detail
