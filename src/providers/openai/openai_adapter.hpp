#pragma once
// OpenAI and every OpenAI-compatible server: the body passes through with the upstream model set,
// and streams ask for usage (stream_options.include_usage) so every request can be billed.
//
// OpenAiAdapter (type openai) is the pure pass-through. OpenAiCompatibleAdapter (type
// openai-compatible and its presets: groq, mistral, deepseek, ...) adds the hosts' quirks
// (compat_quirks.hpp): per-preset request edits, and response repairs that cost nothing unless
// the answer shows a known quirk.
//
// Both also serve Endpoint::Responses natively when the provider's `responses:` is native
// (responses_wire.hpp): the client's Responses body with the model set, the answer as it is.

#include "tollgate/providers/adapter.hpp"

namespace tg::providers {

class OpenAiAdapter final : public ProviderAdapter {
 public:
  UpstreamRequest build_request(const ClientRequest& req, std::string_view upstream_model,
                                const BuildContext& ctx) const override;
  Response translate_response(const ClientRequest& req, std::string&& body) const override;
  std::unique_ptr<StreamTranslator> make_stream_translator(const ClientRequest& req) const override;
  bool supports(Endpoint) const override { return true; }
  bool native_responses(const config::ProviderConfig& provider) const override;
};

class OpenAiCompatibleAdapter final : public ProviderAdapter {
 public:
  UpstreamRequest build_request(const ClientRequest& req, std::string_view upstream_model,
                                const BuildContext& ctx) const override;
  Response translate_response(const ClientRequest& req, std::string&& body) const override;
  std::unique_ptr<StreamTranslator> make_stream_translator(const ClientRequest& req) const override;
  bool supports(Endpoint) const override { return true; }
  bool native_responses(const config::ProviderConfig& provider) const override;
};

}  // namespace tg::providers
