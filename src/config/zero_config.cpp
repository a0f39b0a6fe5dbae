// zero_config(): no file, one provider per well-known key variable that is set.

#include "internal.hpp"

#include <fmt/format.h>

namespace tg::config {
namespace {

class ZeroConfig {
 public:
  explicit ZeroConfig(const EnvLookup& env) : env_(env) {}

  // Set and non-empty, else "".
  std::string get(std::string_view var) const {
    auto v = env_(var);
    return v ? *v : "";
  }

  ProviderConfig& add(std::string_view name, ProviderType type, std::string_view preset, std::string base_url) {
    ProviderConfig p;
    p.name = std::string(name);
    p.type = type;
    p.preset = std::string(preset);
    while (base_url.ends_with('/')) base_url.pop_back();
    p.base_url = std::move(base_url);
    p.responses = detail::default_responses(p);
    cfg_.providers.push_back(std::move(p));
    return cfg_.providers.back();
  }

  // A provider from the preset table whose key variable is set.
  void keyed(std::string_view name, std::string key, std::string base_url = "") {
    const Preset* preset = find_preset(name);
    if (key.empty()) key = get(preset->key_env);
    if (key.empty()) return;
    if (base_url.empty()) base_url = std::string(preset->base_url);
    std::string_view preset_name = preset->type == ProviderType::OpenAICompatible ? preset->name : "";
    add(name, preset->type, preset_name, std::move(base_url)).api_keys.push_back(ApiKey{std::move(key), 1});
  }

  void openai() {
    std::string url = get("OPENAI_BASE_URL");
    if (!url.empty() && !url.starts_with("http://") && !url.starts_with("https://")) {
      warn("OPENAI_BASE_URL is not an http(s) URL; using the default");
      url.clear();
    }
    keyed("openai", "", url);
  }

  void azure() {
    std::string key = get("AZURE_OPENAI_API_KEY");
    if (key.empty()) return;
    std::string endpoint = get("AZURE_OPENAI_ENDPOINT");
    if (endpoint.empty()) return warn("providers.azure: AZURE_OPENAI_ENDPOINT is not set; provider skipped");
    ProviderConfig& p = add("azure", ProviderType::Azure, "", endpoint);
    p.api_keys.push_back(ApiKey{std::move(key), 1});
    std::string version = get("AZURE_OPENAI_API_VERSION");
    p.api_version = version.empty() ? std::string(detail::kAzureApiVersion) : version;
  }

  void bedrock() {
    std::string id = get("AWS_ACCESS_KEY_ID"), secret = get("AWS_SECRET_ACCESS_KEY");
    if (id.empty() || secret.empty()) return;
    std::string region = get("AWS_REGION");
    if (region.empty()) region = std::string(detail::kBedrockRegion);
    ProviderConfig& p = add("bedrock", ProviderType::Bedrock, "",
                            fmt::format("https://bedrock-runtime.{}.amazonaws.com", region));
    p.region = region;
    p.aws_access_key_id = std::move(id);
    p.aws_secret_access_key = std::move(secret);
    p.aws_session_token = get("AWS_SESSION_TOKEN");
  }

  void ollama() {
    std::string url = get("OLLAMA_BASE_URL");
    if (url.empty()) return;
    while (url.ends_with('/')) url.pop_back();
    if (!url.ends_with("/v1")) url += "/v1";  // OLLAMA_BASE_URL is usually the server root
    add("ollama", ProviderType::OpenAICompatible, "ollama", url);
  }

  void warn(std::string message) { cfg_.warnings.push_back(std::move(message)); }

  Config build() {
    cfg_.server.master_key = get("TOLLGATE_MASTER_KEY");
    openai();
    keyed("anthropic", "");
    keyed("gemini", get("GEMINI_API_KEY").empty() ? get("GOOGLE_API_KEY") : "");
    for (std::string_view name : {"groq", "mistral", "deepseek", "openrouter", "xai", "together", "fireworks"}) {
      keyed(name, "");
    }
    azure();
    bedrock();
    ollama();
    if (cfg_.providers.empty()) {
      warn("no provider key variables are set (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...); no providers configured");
    }
    return std::move(cfg_);
  }

 private:
  const EnvLookup& env_;
  Config cfg_;
};

}  // namespace

Config zero_config(const EnvLookup& env) {
  try {
    return ZeroConfig(env).build();
  } catch (const std::exception& e) {  // must not throw; only reachable on allocation failure
    Config c;
    c.warnings.push_back(std::string("zero-config failed: ") + e.what());
    return c;
  }
}

}  // namespace tg::config
