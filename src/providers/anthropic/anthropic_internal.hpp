#pragma once
// Internals of the Anthropic adapter, shared by its translation units and its unit tests.
// Pure: no I/O. See docs/providers/anthropic.md for what is translated and what is not.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/core/error.hpp"
#include "tollgate/providers/adapter.hpp"

namespace tg::providers::anthropic {

using json = nlohmann::json;

inline constexpr std::string_view kApiVersion = "2023-06-01";
// response_format json_object is emulated with a forced tool of this name (see
// to_messages_request).
inline constexpr std::string_view kJsonToolName = "json_tool_call";
inline constexpr int64_t kDefaultMaxTokens = 4096;

// An OpenAI chat-completions request translated to an Anthropic Messages body.
struct MessagesRequest {
  json body;
  std::vector<std::string> dropped;  // parameters left out (UpstreamRequest::dropped_params)
  bool json_tool = false;            // json_object emulated with the kJsonToolName tool
};

MessagesRequest to_messages_request(const json& openai, std::string_view upstream_model,
                                    bool stream);

// True when to_messages_request emulates response_format json_object with a forced tool.
bool uses_json_tool(const json& openai);

// The thinking budget for an OpenAI reasoning_effort value; 0 for "none"; -1 when unknown.
int64_t thinking_budget(std::string_view effort);

// Tool ids must match ^[a-zA-Z0-9_-]+$ at Anthropic: every other byte becomes '_' (applied
// identically to tool_use ids and tool_result tool_use_ids, so pairs still match).
std::string sanitize_tool_id(std::string_view id);

// provider-formats.md section 9.
std::string_view finish_reason_for(std::string_view stop_reason);

// Anthropic usage as reported: input_tokens excludes cache reads and writes; output_tokens
// includes thinking.
struct AnthropicUsage {
  int64_t input = 0;
  int64_t cache_read = 0;
  int64_t cache_creation = 0;
  int64_t output = 0;
  int64_t thinking = 0;
  bool present = false;
  // Overlays the members present in `usage` (message_delta usage is cumulative, and may or may
  // not repeat the input side).
  void overlay(const json& usage);
  Usage normalised() const;
};

// OpenAI-shaped usage object text for a normalised Usage.
std::string openai_usage_json(const Usage& u);

// A whole Messages response -> an OpenAI chat.completion.
Response translate_message(std::string_view body, bool json_tool);

// Anthropic SSE -> OpenAI chunks.
std::unique_ptr<StreamTranslator> make_chunk_translator(bool client_wants_usage, bool json_tool);
// Anthropic SSE passed through to an Anthropic-speaking client (re-framed, usage read).
std::unique_ptr<StreamTranslator> make_native_translator();

// Maps an Anthropic non-2xx answer.
Error map_anthropic_error(std::string_view provider, int status, std::string_view body,
                          std::string_view retry_after);

}  // namespace tg::providers::anthropic
