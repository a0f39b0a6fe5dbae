#pragma once
// AWS Bedrock Runtime, Converse and ConverseStream (provider-formats.md section 4): OpenAI chat
// requests become Converse bodies signed with SigV4 (or a Bedrock API key as a Bearer token);
// Converse answers, binary event-stream frames and AWS errors become OpenAI's shapes.

#include <string>
#include <string_view>

#include "tollgate/providers/adapter.hpp"

namespace tg::providers {

class BedrockAdapter final : public ProviderAdapter {
 public:
  UpstreamRequest build_request(const ClientRequest& req, std::string_view upstream_model,
                                const BuildContext& ctx) const override;
  Response translate_response(const ClientRequest& req, std::string&& body) const override;
  std::unique_ptr<StreamTranslator> make_stream_translator(const ClientRequest& req) const override;
  Error map_error(std::string_view provider, int status, std::string_view body,
                  std::string_view retry_after) const override;
  // Converse has no embeddings (Titan/Cohere embeddings use /invoke with their own bodies).
  bool supports(Endpoint e) const override { return e == Endpoint::ChatCompletions; }
};

namespace bedrock {

// The tool Tollgate adds to emulate response_format (json_object / json_schema) by forcing a
// tool call; its input comes back to the client as the message content.
inline constexpr std::string_view kJsonTool = "json_response";

// The Converse request body for an OpenAI chat request (pure; exposed for tests).
struct Translated {
  nlohmann::json body;
  std::vector<std::string> dropped;
  bool json_mode = false;  // response_format is emulated with kJsonTool
};
Translated to_converse(const nlohmann::json& openai_body, std::string_view upstream_model);

// True when a call of kJsonTool in the answer is the emulated JSON answer for this request.
bool json_mode_requested(const nlohmann::json& openai_body);

// "end_turn" -> "stop", ... (provider-formats.md section 9).
std::string_view finish_reason(std::string_view stop_reason);

// Converse usage -> OpenAI usage object and providers::Usage.
nlohmann::ordered_json openai_usage(const nlohmann::json& converse_usage, Usage* out);

// "chatcmpl-bedrock-<hex>": Converse answers carry no id.
std::string new_completion_id();

}  // namespace bedrock
}  // namespace tg::providers
