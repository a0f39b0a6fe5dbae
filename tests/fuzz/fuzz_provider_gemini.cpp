// Gemini: GenerateContent request build (schemas cleaned), answers, SSE streams, errors.
#include "provider_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tg::config::ProviderConfig provider = [] {
    tg::config::ProviderConfig p;
    p.name = "gemini";
    p.type = tg::config::ProviderType::Gemini;
    p.base_url = "https://generativelanguage.googleapis.com";
    return p;
  }();
  return tg::fuzz::run_provider(provider, "generativelanguage.googleapis.com", "",
                                tg::fuzz::bytes(data, size));
}
