// OpenAI: request build (model splice), pass-through answers, chunk streams, errors.
#include "provider_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tg::config::ProviderConfig provider = [] {
    tg::config::ProviderConfig p;
    p.name = "openai";
    p.type = tg::config::ProviderType::OpenAI;
    p.base_url = "https://api.openai.com/v1";
    return p;
  }();
  return tg::fuzz::run_provider(provider, "api.openai.com", "/v1", tg::fuzz::bytes(data, size));
}
