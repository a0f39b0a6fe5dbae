#pragma once
// Pure translators for the Anthropic-style ingress (POST /v1/messages, /v1/messages/count_tokens):
// Anthropic-speaking clients (the Anthropic SDKs, Claude Code) routed to any provider. The
// request goes to the OpenAI shape every adapter takes; the OpenAI-shaped answer (whole or
// streamed) comes back as an Anthropic Message. When the target is Anthropic itself, the adapter
// speaks natively and none of this is used. No I/O. See docs/providers/anthropic.md.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tollgate/core/error.hpp"
#include "tollgate/dialects/chunk_feed.hpp"
#include "tollgate/sse/sse.hpp"

namespace tg::providers::anthropic_ingress {

// Messages request -> OpenAI chat-completions request (model kept as asked; stream and
// stream_options.include_usage=true set when the client streams, so usage always arrives).
// Invalid shape -> Error (400, Anthropic wording, param = the field path). When `dropped` is
// given, it receives the Anthropic parameters that have no OpenAI equivalent and were left out
// (e.g. "top_k", "container", "tools.web_search_20250305").
std::variant<nlohmann::json, Error> to_openai_request(const nlohmann::json& messages_body,
                                                      std::vector<std::string>* dropped = nullptr);

// OpenAI chat.completion body -> Anthropic Message body (id msg_..., type, role, model,
// content blocks: thinking (from reasoning_content), text, tool_use (input parsed from the
// arguments string), stop_reason, stop_sequence, usage{input_tokens, output_tokens,
// cache_read_input_tokens, cache_creation_input_tokens}). A body that is not a chat.completion
// gives an Anthropic api_error body.
std::string to_anthropic_response(std::string_view openai_body, std::string_view model);

// OpenAI SSE bytes (as an OpenAI adapter's translator emits them: "data: {chunk}\n\n", any
// split, possibly a final data: {"error":...}) -> Anthropic SSE events (message_start,
// content_block_start/delta/stop for thinking, text and tool_use (input_json_delta),
// message_delta with stop_reason and cumulative usage, message_stop).
class StreamConverter {
 public:
  explicit StreamConverter(std::string model);
  void feed(std::string_view openai_sse_bytes, std::string& out);
  void finish(std::string& out);                // upstream finished normally
  void fail(const Error& e, std::string& out);  // event: error {"type":"error","error":{...}}
  // True once message_stop or an error event has been written; later input is ignored.
  bool done() const { return done_; }

 private:
  enum class Block { None, Thinking, Text, Tool };
  void on_chunk(const nlohmann::json& chunk, std::string& out);
  void start(std::string& out);
  void open(Block kind, const nlohmann::json& content_block, std::string& out);
  void close(std::string& out);
  void delta(int index, const nlohmann::json& delta, std::string& out);
  void event(std::string& out, std::string_view name, const nlohmann::json& data);

  std::string model_;
  std::string id_;
  dialects::ChunkFeed chunks_;
  bool started_ = false;
  bool done_ = false;
  Block open_ = Block::None;
  int index_ = -1;                      // index of the open (or last) content block
  std::map<int64_t, int> tool_blocks_;  // OpenAI tool_calls index -> content block index
  std::string signature_;               // for the open thinking block
  std::string stop_reason_;
  int64_t prompt_tokens_ = 0, completion_tokens_ = 0, cached_tokens_ = 0, cache_write_tokens_ = 0;
};

// Claude Code puts {"role":"system"} entries inside "messages". Anthropic takes them from this
// anthropic-version on; to_openai_request keeps them in place as OpenAI system messages.
inline constexpr std::string_view kSystemMessagesVersion = "2026-10-21";
bool takes_system_messages(std::string_view anthropic_version);
// For an older anthropic-version: moves the system entries of "messages" (their text blocks, in
// order) to the end of "system" (made a list of text blocks). Nothing changes without them.
bool fold_system_messages(nlohmann::json& messages_body);  // true when it changed it

// POST /v1/messages/count_tokens for non-Anthropic targets: an estimate, not a tokenizer.
// ceil(characters / 4) over the text the model reads (system, text blocks, thinking, tool_use
// names and inputs, tool_result text, tool names, descriptions and schemas), plus 4 per message,
// plus 1600 per image or document block; at least 1.
int64_t estimate_input_tokens(const nlohmann::json& messages_body);

// Anthropic-shaped error body: {"type":"error","error":{"type":...,"message":...}} with the type
// chosen from e.status (kept when e.type is already one of Anthropic's types).
std::string render_error(const Error& e);

// 400 invalid_request_error, 401 authentication_error, 403 permission_error, 404
// not_found_error, 413 request_too_large, 429 rate_limit_error, 503/529 overloaded_error,
// other 5xx api_error, other 4xx invalid_request_error.
std::string_view error_type_for_status(int status);

// OpenAI finish_reason -> Anthropic stop_reason (stop end_turn, length max_tokens, tool_calls
// tool_use, content_filter refusal).
std::string_view stop_reason_for(std::string_view finish_reason);

}  // namespace tg::providers::anthropic_ingress
