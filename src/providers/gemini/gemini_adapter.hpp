#pragma once
// Google Gemini, Generative Language API v1beta (Google AI Studio keys): OpenAI chat requests are
// translated to generateContent / streamGenerateContent?alt=sse, embeddings to
// batchEmbedContents; answers, streams and errors are translated back to OpenAI's shapes.
// docs/providers/gemini.md says what is translated and what is not.

#include "tollgate/providers/adapter.hpp"

namespace tg::providers {

class GeminiAdapter final : public ProviderAdapter {
 public:
  UpstreamRequest build_request(const ClientRequest& req, std::string_view upstream_model,
                                const BuildContext& ctx) const override;
  Response translate_response(const ClientRequest& req, std::string&& body) const override;
  std::unique_ptr<StreamTranslator> make_stream_translator(const ClientRequest& req) const override;
  Error map_error(std::string_view provider, int status, std::string_view body,
                  std::string_view retry_after) const override;
  bool supports(Endpoint e) const override {
    return e == Endpoint::ChatCompletions || e == Endpoint::Embeddings;
  }
};

}  // namespace tg::providers
