#pragma once
// The validated, immutable configuration of one load of config.yaml (or of a zero-config start).
// Pure: no Asio here. Built by load_config_*(), consumed by the Snapshot builder.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::config {

using Millis = std::chrono::milliseconds;

struct Timeouts {
  Millis connect{5'000};
  Millis first_token{60'000};  // upstream must answer and produce its first byte/event within this
  Millis idle{60'000};         // max silence between stream events (or body reads)
  Millis total{600'000};       // whole request, every attempt included
  Millis keepalive{30'000};    // an upstream connection idle this long leaves the pool (closed)
};

struct ServerConfig {
  std::string listen_host = "0.0.0.0";
  uint16_t listen_port = 8080;
  int workers = 0;                        // 0 = one per core
  std::string master_key;                 // empty = open mode: see allow_unauthenticated
  // With no master_key, the API needs no key (open mode) and the admin API is refused. Unless
  // this is true, an open daemon listens on loopback only (see restrict_open_listener).
  bool allow_unauthenticated = false;
  // The web UI's session cookie is Secure when this is true, or when the request says it came
  // through TLS (X-Forwarded-Proto: https). For a TLS proxy that does not send that header.
  bool secure_cookie = false;
  std::string metrics_key;                // empty = /metrics is public
  uint64_t max_request_body = 16ull << 20;  // bytes
  // Uploads (audio transcriptions and translations, image edits and variations): OpenAI takes
  // 25 MB files, and the form around them needs a little more.
  uint64_t max_upload_body = 32ull << 20;  // bytes
  uint64_t max_header_bytes = 64ull << 10;  // bytes
  Millis header_timeout{10'000};          // whole request head must arrive within this
  Millis body_timeout{60'000};            // whole request body must arrive within this
  Millis keepalive_timeout{75'000};       // idle keep-alive connection is closed after this
  uint32_t max_connections = 10'000;      // per process; beyond it new connections get 503
  Millis drain_timeout{30'000};           // graceful shutdown: in-flight work gets this long
  std::string log_format = "text";        // text | json
  std::string log_level = "info";         // trace | debug | info | warn | error
  bool access_log = true;
  std::string admin_listen;               // "host:port" for admin + /metrics; empty = same as listen
  std::string admin_host;                 // admin_listen, parsed
  uint16_t admin_port = 0;
};

struct RedisUrl {
  std::string host;
  uint16_t port = 6379;
  int db = 0;
  std::string username, password;  // AUTH, when given
};
// redis://[[user]:password@]host[:port][/db] -> parts; nullopt (and *error) when malformed.
std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string* error);

struct StoreConfig {
  std::string sqlite = "./data/tollgate.db";
  // postgresql://user:password@host:5432/db: several instances share keys, teams, spend and the
  // request log through this server instead of `sqlite` (docs/scaling.md). Empty: SQLite.
  std::string postgres;
  // Settled usage reaches the disk within this (what a kill -9 can lose; docs/durability).
  Millis flush_interval{100};
  // Rows waiting for the disk beyond this: new API requests get 503 store_unavailable until the
  // backlog is down to half (back-pressure; no row is dropped).
  int64_t max_queued_rows = 100'000;
  Millis busy_timeout{5'000};  // a commit waiting longer on a lock fails and is retried
  // Several instances: rate limits and budget reservations shared through Redis (docs/scaling.md).
  // redis://[:password@]host[:port][/db]; empty = in-process only.
  std::string redis;
  RedisUrl redis_url;             // parsed from `redis`
  Millis redis_timeout{250};      // one round trip; past it the fail mode applies
  // When Redis cannot answer in time: open = this instance's own in-memory limits and budgets
  // apply; closed = 503 (refused). Per feature.
  bool redis_fail_open_limits = true;
  bool redis_fail_open_budgets = true;
};

enum class ProviderType { OpenAI, OpenAICompatible, Anthropic, Gemini, Azure, Bedrock };

std::string_view to_string(ProviderType t);

// How a provider serves the client's POST /v1/responses: its body passed through to the
// provider's own /responses (native), or translated through chat completions (translate).
enum class ResponsesMode { Native, Translate };
std::string_view to_string(ResponsesMode m);

struct ApiKey {
  std::string key;
  uint32_t weight = 1;
};

struct ProviderConfig {
  std::string name;                       // the map key under providers:
  ProviderType type = ProviderType::OpenAI;
  std::string preset;                     // "groq", "ollama", ... when type was a preset name; else empty
  std::string base_url;                   // always set after load (preset/default filled in), no trailing '/'
  std::vector<ApiKey> api_keys;           // may be empty for local servers (ollama, vllm, lmstudio)
  std::map<std::string, std::string> headers;  // extra headers sent upstream
  bool tls_verify = true;
  std::string ca_file;                    // extra CA bundle for this provider; empty = system store
  std::optional<Timeouts> timeouts;       // overrides router.timeouts for this provider
  std::vector<std::string> models;        // optional: upstream model ids advertised by GET /v1/models
  // openai, azure (v1 API only) and openai-compatible; defaulted per type/preset (Preset::responses).
  ResponsesMode responses = ResponsesMode::Translate;
  // azure only
  std::string api_version;                // e.g. "2024-10-21" (defaulted for azure)
  std::map<std::string, std::string> deployments;  // model id -> deployment name
  // bedrock only
  std::string region;                     // e.g. "us-east-1" (defaulted for bedrock)
  std::string aws_access_key_id;
  std::string aws_secret_access_key;
  std::string aws_session_token;          // temporary credentials (STS, SSO): X-Amz-Security-Token
  int line = 0;                           // 1-based line in the file, 0 when synthesised
};

struct Target {
  std::string provider;  // provider name
  std::string model;     // upstream model id (may itself contain '/', e.g. openrouter ids)
  uint32_t weight = 1;
};

struct ModelConfig {
  std::string name;                       // what clients ask for
  std::string strategy = "failover";      // failover | weighted | least-latency | least-busy
  std::vector<Target> targets;
  std::vector<Target> fallbacks;
  std::vector<Target> context_window_fallbacks;  // tried when the prompt is too long for a target
  bool strict = false;                    // stored as given; its routing effect is the router's to define
  int line = 0;
};

struct RouterConfig {
  int retries = 1;            // extra attempts per target
  Millis cooldown{30'000};
  Timeouts timeouts;
  int allowed_fails = 3;      // failures in a row before a deployment goes into cooldown
  Millis retry_after_cap{60'000};  // a provider's Retry-After longer than this is not waited for
};

enum class BudgetPeriod { Daily, Weekly, Monthly, Total };
std::string_view to_string(BudgetPeriod p);

struct BudgetConfig {
  double usd = 0;
  BudgetPeriod period = BudgetPeriod::Monthly;
};

struct LimitsConfig {  // unset = unlimited
  std::optional<uint64_t> rpm;       // requests per minute
  std::optional<uint64_t> tpm;       // tokens per minute
  std::optional<uint32_t> parallel;  // concurrent requests
};

// A virtual key declared in the file (keys: section).
struct KeyConfig {
  std::string name;
  std::string key;                        // the secret, "sk-..."
  std::vector<std::string> models;        // empty = every model
  std::optional<BudgetConfig> budget;
  LimitsConfig limits;
  std::string team;                       // empty = none
  std::optional<std::chrono::sys_seconds> expires_at;
  std::map<std::string, std::string> metadata;
  bool enabled = true;
  int line = 0;
};

struct TeamConfig {
  std::string name;
  std::optional<BudgetConfig> budget;
  int line = 0;
};

// USD per 1M tokens; unset fields fall back to the built-in catalog.
struct PriceConfig {
  std::optional<double> input;
  std::optional<double> output;
  std::optional<double> cached_input;
  std::optional<double> cache_write;
  std::optional<double> reasoning;
  // The media endpoints (docs/config.md): USD per image (one price, or by "<quality>/<size>",
  // "<size>" or "<quality>"), per audio minute, per 1M characters, per search unit.
  std::optional<double> image;
  std::map<std::string, double> image_by;
  std::optional<double> audio_minute;
  std::optional<double> characters;
  std::optional<double> search_unit;
};

struct LogsConfig {
  int retention_days = 30;                // 0 = keep forever
  bool bodies = false;                    // store request/response bodies in the request log
  uint64_t max_body_bytes = 64ull << 10;  // bodies are truncated to this
};

struct CacheConfig {
  bool enabled = false;
  Millis ttl{3'600'000};
  uint64_t max_entries = 10'000;
  uint64_t max_bytes = 64ull << 20;  // memory for cached answers (bodies and keys)
};

struct Config {
  ServerConfig server;
  StoreConfig store;
  std::vector<ProviderConfig> providers;  // only usable providers (skipped ones are in warnings)
  std::vector<ModelConfig> models;
  RouterConfig router;
  std::vector<KeyConfig> keys;            // usable keys only (skipped ones are in warnings)
  std::vector<TeamConfig> teams;
  std::map<std::string, PriceConfig> pricing;  // "provider/model" -> price overrides
  LogsConfig logs;
  CacheConfig cache;
  std::string source_path;                // empty for zero-config
  std::vector<std::string> warnings;      // e.g. "providers.anthropic: ANTHROPIC_API_KEY is not set; provider skipped"

  const ProviderConfig* find_provider(std::string_view name) const;
  const ModelConfig* find_model(std::string_view name) const;
};

struct ConfigError {
  std::string path;     // YAML path, e.g. "providers.openai.api_keys[0]" or "models[1].targets[0]"
  int line = 0;         // 1-based; 0 when unknown
  std::string message;  // e.g. "unknown key 'workrs' (did you mean 'workers'?)"
  std::string to_string() const;  // "line 12: providers.openai.typ: unknown key 'typ' (did you mean 'type'?)"
};

struct LoadResult {
  std::optional<Config> config;       // set iff errors is empty
  std::vector<ConfigError> errors;    // every error found, in file order
  std::vector<std::string> warnings;  // same as config->warnings, also set when loading failed
};

// Reads an environment variable; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup process_env();

LoadResult load_config_string(std::string_view yaml_text, const EnvLookup& env,
                              std::string source_path = "");
LoadResult load_config_file(const std::string& path, const EnvLookup& env);

// No config file: one provider per well-known key variable that is set (OPENAI_API_KEY -> "openai",
// ANTHROPIC_API_KEY -> "anthropic", GROQ_API_KEY -> "groq", ..., OLLAMA_BASE_URL -> "ollama"),
// TOLLGATE_MASTER_KEY as master key, no models (clients ask for provider/model).
Config zero_config(const EnvLookup& env);

// Expands ${VAR} and ${VAR:-default}; "$$" is a literal '$'. Unset VAR without default expands to ""
// and its name is appended to *unset (when given).
std::string expand_env(std::string_view text, const EnvLookup& env,
                       std::vector<std::string>* unset = nullptr);

// 127.0.0.0/8, ::1 and "localhost": only this machine can connect.
bool is_loopback_host(std::string_view host);

// Open mode must be a deliberate choice: with no master_key and allow_unauthenticated false, a
// listen address that is not loopback (0.0.0.0, ::, a LAN address) becomes 127.0.0.1. Returns
// the warning to log when it changed the address, else "". admin_listen needs no such rule:
// without a master key the admin API is refused everywhere.
std::string restrict_open_listener(ServerConfig& server);

// Parses "16MiB", "512KB", "1048576" -> bytes; "30s", "250ms", "5m", "1h", "1500" (ms) -> Millis.
std::optional<uint64_t> parse_size(std::string_view s);
std::optional<Millis> parse_duration(std::string_view s);

// Well-known OpenAI-compatible presets: name -> default base_url and key variable.
struct Preset {
  std::string_view name;
  ProviderType type;
  std::string_view base_url;
  std::string_view key_env;      // "" when no key is needed
  bool key_optional;             // local servers: a missing key is fine
  ResponsesMode responses;       // whether the host serves /responses itself (the default)
};
const std::vector<Preset>& presets();
const Preset* find_preset(std::string_view name);

}  // namespace tg::config
