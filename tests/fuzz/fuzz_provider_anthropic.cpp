// Anthropic: Messages request build (translated and native), message answers, event streams
// (translated to OpenAI chunks, or passed through to an Anthropic client), errors.
#include "provider_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tg::config::ProviderConfig provider = [] {
    tg::config::ProviderConfig p;
    p.name = "anthropic";
    p.type = tg::config::ProviderType::Anthropic;
    p.base_url = "https://api.anthropic.com";
    return p;
  }();
  return tg::fuzz::run_provider(provider, "api.anthropic.com", "", tg::fuzz::bytes(data, size));
}
