// Bedrock Converse: request build (SigV4 signed), Converse answers, binary event streams, errors.
#include "provider_harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const tg::config::ProviderConfig provider = [] {
    tg::config::ProviderConfig p;
    p.name = "bedrock";
    p.type = tg::config::ProviderType::Bedrock;
    p.base_url = "https://bedrock-runtime.us-east-1.amazonaws.com";
    p.region = "us-east-1";
    p.aws_access_key_id = "AKIDEXAMPLE";
    p.aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    return p;
  }();
  return tg::fuzz::run_provider(provider, "bedrock-runtime.us-east-1.amazonaws.com", "",
                                tg::fuzz::bytes(data, size));
}
