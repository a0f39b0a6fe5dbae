// Azure OpenAI: deployment request build, answers and streams with content-filter annotations.
#include "provider_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tg::config::ProviderConfig provider = [] {
    tg::config::ProviderConfig p;
    p.name = "azure";
    p.type = tg::config::ProviderType::Azure;
    p.base_url = "https://contoso.openai.azure.com";
    p.api_version = "2024-10-21";
    p.deployments = {{"upstream-model", "gpt-4o-prod"}};
    return p;
  }();
  return tg::fuzz::run_provider(provider, "contoso.openai.azure.com", "", tg::fuzz::bytes(data, size));
}
