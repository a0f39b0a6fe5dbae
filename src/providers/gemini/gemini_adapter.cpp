#include "gemini_adapter.hpp"

#include "gemini_internal.hpp"

namespace tg::providers {

UpstreamRequest GeminiAdapter::build_request(const ClientRequest& req,
                                             std::string_view upstream_model,
                                             const BuildContext& ctx) const {
  UpstreamRequest out;
  const auto& provider = ctx.provider;
  gemini::json body;
  if (req.endpoint == Endpoint::Embeddings) {
    out.path = gemini::model_path(ctx.base_path, upstream_model, "batchEmbedContents");
    body = gemini::embeddings_request(req.doc(), upstream_model, out.dropped_params);
  } else {
    out.path = gemini::model_path(ctx.base_path, upstream_model,
                                  req.stream ? "streamGenerateContent?alt=sse" : "generateContent");
    body = gemini::chat_request(req.doc(), upstream_model, out.dropped_params);
  }
  out.headers.reserve(3 + provider.headers.size());
  out.headers.emplace_back("Content-Type", "application/json");
  // The key goes in a header, never in the URL (URLs end up in logs).
  if (!ctx.api_key.empty()) out.headers.emplace_back("x-goog-api-key", std::string(ctx.api_key));
  if (req.stream) out.headers.emplace_back("Accept", "text/event-stream");
  for (const auto& [name, value] : provider.headers) out.headers.emplace_back(name, value);
  out.body = body.dump(-1, ' ', false, gemini::json::error_handler_t::replace);
  return out;
}

Response GeminiAdapter::translate_response(const ClientRequest& req, std::string&& body) const {
  if (req.endpoint == Endpoint::Embeddings) return gemini::embeddings_response(req, std::move(body));
  return gemini::chat_response(req, std::move(body));
}

std::unique_ptr<StreamTranslator> GeminiAdapter::make_stream_translator(
    const ClientRequest& req) const {
  return gemini::make_stream(req);
}

Error GeminiAdapter::map_error(std::string_view provider, int status, std::string_view body,
                               std::string_view retry_after) const {
  return gemini::map_error(provider, status, body, retry_after);
}

}  // namespace tg::providers
