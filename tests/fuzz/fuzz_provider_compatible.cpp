// The OpenAI-compatible family: every preset's request quirks (the preset chosen by the input's
// hash), and the answer and stream repairs (triggered by content, whatever the preset).
#include "provider_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<tg::config::ProviderConfig> providers = [] {
    std::vector<tg::config::ProviderConfig> v;
    for (const char* preset : {"", "groq", "mistral", "deepseek", "together", "fireworks",
                               "openrouter", "xai", "ollama", "vllm", "lmstudio"}) {
      tg::config::ProviderConfig p;
      p.name = *preset ? preset : "local";
      p.type = tg::config::ProviderType::OpenAICompatible;
      p.preset = preset;
      p.base_url = "https://example.test/v1";
      v.push_back(p);
    }
    return v;
  }();
  std::string_view in = tg::fuzz::bytes(data, size);
  return tg::fuzz::run_provider(providers[tg::fuzz::hash(in) % providers.size()], "example.test",
                                "/v1", in);
}
