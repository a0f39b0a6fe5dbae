#pragma once
// Anthropic Messages API (POST {base_url}/v1/messages): OpenAI chat completions translated both
// ways, streaming included; Anthropic-speaking clients (the /v1/messages ingress) passed through.

#include "tollgate/providers/adapter.hpp"

namespace tg::providers {

class AnthropicAdapter final : public ProviderAdapter {
 public:
  UpstreamRequest build_request(const ClientRequest& req, std::string_view upstream_model,
                                const BuildContext& ctx) const override;
  Response translate_response(const ClientRequest& req, std::string&& body) const override;
  std::unique_ptr<StreamTranslator> make_stream_translator(const ClientRequest& req) const override;
  Error map_error(std::string_view provider, int status, std::string_view body,
                  std::string_view retry_after) const override;
  bool supports(Endpoint e) const override { return e == Endpoint::ChatCompletions; }
  bool speaks_natively(Ingress ingress) const override { return ingress == Ingress::Anthropic; }
};

}  // namespace tg::providers
