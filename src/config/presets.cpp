// Provider types and the table of well-known providers (default URL, key variable).

#include "internal.hpp"

namespace tg::config {

std::string_view to_string(ProviderType t) {
  switch (t) {
    case ProviderType::OpenAI: return "openai";
    case ProviderType::OpenAICompatible: return "openai-compatible";
    case ProviderType::Anthropic: return "anthropic";
    case ProviderType::Gemini: return "gemini";
    case ProviderType::Azure: return "azure";
    case ProviderType::Bedrock: return "bedrock";
  }
  return "unknown";
}

std::string_view to_string(ResponsesMode m) {
  return m == ResponsesMode::Native ? "native" : "translate";
}

const std::vector<Preset>& presets() {
  using enum ProviderType;
  constexpr ResponsesMode N = ResponsesMode::Native, T = ResponsesMode::Translate;
  static const std::vector<Preset> kPresets = {
      {"openai", OpenAI, "https://api.openai.com/v1", "OPENAI_API_KEY", false, N},
      {"anthropic", Anthropic, "https://api.anthropic.com", "ANTHROPIC_API_KEY", false, T},
      {"gemini", Gemini, "https://generativelanguage.googleapis.com", "GEMINI_API_KEY", false, T},
      {"groq", OpenAICompatible, "https://api.groq.com/openai/v1", "GROQ_API_KEY", false, N},
      {"mistral", OpenAICompatible, "https://api.mistral.ai/v1", "MISTRAL_API_KEY", false, T},
      {"deepseek", OpenAICompatible, "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", false, T},
      {"together", OpenAICompatible, "https://api.together.xyz/v1", "TOGETHER_API_KEY", false, T},
      {"fireworks", OpenAICompatible, "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", false, T},
      {"openrouter", OpenAICompatible, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", false, N},
      {"xai", OpenAICompatible, "https://api.x.ai/v1", "XAI_API_KEY", false, N},
      {"ollama", OpenAICompatible, "http://localhost:11434/v1", "", true, N},
      {"vllm", OpenAICompatible, "http://localhost:8000/v1", "", true, N},
      {"lmstudio", OpenAICompatible, "http://localhost:1234/v1", "", true, T},
  };
  return kPresets;
}

const Preset* find_preset(std::string_view name) {
  for (const Preset& p : presets()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

namespace detail {

bool azure_v1_url(std::string_view base_url) {
  while (base_url.ends_with('/')) base_url.remove_suffix(1);
  return base_url.ends_with("/openai/v1");
}

ResponsesMode default_responses(const ProviderConfig& p) {
  switch (p.type) {
    case ProviderType::OpenAI: return ResponsesMode::Native;
    case ProviderType::Azure:
      return azure_v1_url(p.base_url) ? ResponsesMode::Native : ResponsesMode::Translate;
    case ProviderType::OpenAICompatible: {
      const Preset* preset = p.preset.empty() ? nullptr : find_preset(p.preset);
      return preset ? preset->responses : ResponsesMode::Translate;
    }
    default: return ResponsesMode::Translate;
  }
}

}  // namespace detail

}  // namespace tg::config
