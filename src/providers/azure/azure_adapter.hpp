#pragma once
// Azure OpenAI (provider-formats.md section 5): OpenAI's body and stream, on Azure's URLs and auth.
//
// Classic:  {base_url}/openai/deployments/{deployment}/{chat/completions|completions|embeddings}
//           ?api-version={api_version}, deployment = deployments[model] or the model itself.
// v1 API:   base_url ending in /openai/v1: {base_url}/{chat/completions|...}, no api-version,
//           "model" in the body is the deployment name.
// Responses (v1 only): {base_url}/responses, the client's Responses body with model = deployment,
//           the answer and its events passed through (responses_wire.hpp).
// Both:     the key goes in the `api-key` header (Azure's key header on both surfaces; an Entra ID
//           token can be given as an Authorization header in the provider's `headers:`).
//
// The body is OpenAI's, serialised without re-parsing (model set to the deployment; streams ask
// for usage on api-versions that know stream_options). Non-streamed answers pass through as they
// are (prompt_filter_results / content_filter_results included). Streams are OpenAI's translator
// plus one rule: the chunks that carry only content-filter annotations (the first chunk with
// "choices": [] and prompt_filter_results; asynchronous-filter chunks without a delta) are dropped.

#include "tollgate/providers/adapter.hpp"

namespace tg::providers {

class AzureAdapter final : public ProviderAdapter {
 public:
  UpstreamRequest build_request(const ClientRequest& req, std::string_view upstream_model,
                                const BuildContext& ctx) const override;
  Response translate_response(const ClientRequest& req, std::string&& body) const override;
  std::unique_ptr<StreamTranslator> make_stream_translator(const ClientRequest& req) const override;
  // Azure's errors are OpenAI-shaped with a string code (even "401") and an innererror:
  // DeploymentNotFound and every other 404 -> retryable (the URL comes from this target's config,
  // so another target may serve), code model_not_found for a missing deployment; 429 retryable
  // with its retry-after (read from the message when the header is missing); a content-filter
  // 400 (code content_filter) passed through; OperationNotSupported (this deployment's model
  // cannot do that) retryable.
  Error map_error(std::string_view provider, int status, std::string_view body,
                  std::string_view retry_after) const override;
  bool supports(Endpoint) const override { return true; }
  // The v1 API's /openai/v1/responses (api-key header, model = the deployment), unless the
  // provider says `responses: translate`. The classic API is always translated through chat.
  bool native_responses(const config::ProviderConfig& provider) const override;
};

// True when the base URL (or its path) addresses Azure's v1 API (".../openai/v1").
bool azure_is_v1(std::string_view base_url_or_path);

}  // namespace tg::providers
