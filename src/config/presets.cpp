// Provider types and the table of well-known providers (default URL, key variable).

#include "tollgate/config/config.hpp"

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

const std::vector<Preset>& presets() {
  using enum ProviderType;
  static const std::vector<Preset> kPresets = {
      {"openai", OpenAI, "https://api.openai.com/v1", "OPENAI_API_KEY", false},
      {"anthropic", Anthropic, "https://api.anthropic.com", "ANTHROPIC_API_KEY", false},
      {"gemini", Gemini, "https://generativelanguage.googleapis.com", "GEMINI_API_KEY", false},
      {"groq", OpenAICompatible, "https://api.groq.com/openai/v1", "GROQ_API_KEY", false},
      {"mistral", OpenAICompatible, "https://api.mistral.ai/v1", "MISTRAL_API_KEY", false},
      {"deepseek", OpenAICompatible, "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", false},
      {"together", OpenAICompatible, "https://api.together.xyz/v1", "TOGETHER_API_KEY", false},
      {"fireworks", OpenAICompatible, "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY", false},
      {"openrouter", OpenAICompatible, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", false},
      {"xai", OpenAICompatible, "https://api.x.ai/v1", "XAI_API_KEY", false},
      {"ollama", OpenAICompatible, "http://localhost:11434/v1", "", true},
      {"vllm", OpenAICompatible, "http://localhost:8000/v1", "", true},
      {"lmstudio", OpenAICompatible, "http://localhost:1234/v1", "", true},
  };
  return kPresets;
}

const Preset* find_preset(std::string_view name) {
  for (const Preset& p : presets()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace tg::config
