#pragma once
// The quirks of the OpenAI-compatible hosts (provider-formats.md section 6), as pure functions.
//
// Requests: one function per preset edits the outgoing body and names what it had to leave out.
// The body is edited copy-on-write: the client's parsed document is read in place and copied only
// at the first edit, so a request that needs nothing is serialised straight from the original.
//
// Responses: the repairs are triggered by what the answer contains (a finish reason of "" or
// "eos", a "reasoning" member, xAI's unfolded reasoning tokens...), not by the preset, so any
// compatible host that shows a known quirk is repaired and a clean answer costs nothing.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tollgate/providers/adapter.hpp"

namespace tg::providers::compat {

using json = nlohmann::json;

enum class Preset {
  None,  // type openai-compatible with no preset: no request quirks
  Groq,
  Mistral,
  DeepSeek,
  Together,
  Fireworks,
  OpenRouter,
  XAI,
  Ollama,
  VLLM,
  LMStudio,
};

Preset preset_from_name(std::string_view name);  // "" or unknown -> None
std::string_view to_string(Preset p);

// A JSON document edited copy-on-write: reads go to the original until the first write.
class CowJson {
 public:
  explicit CowJson(const json& original) : original_(&original) {}
  const json& view() const { return copy_ ? *copy_ : *original_; }
  json& mut() {
    if (!copy_) copy_.emplace(*original_);
    return *copy_;
  }
  bool copied() const { return copy_.has_value(); }

 private:
  const json* original_;
  std::optional<json> copy_;
};

// Parameters left out, each named once, in the order met.
struct Dropped {
  std::vector<std::string>* out;
  void add(std::string_view name);
};

// Per-preset request quirks (chat completions bodies). `model` is the upstream model id (some
// hosts refuse some parameters on some models only).
void groq_request(CowJson& body, Dropped& dropped);
void mistral_request(CowJson& body, Dropped& dropped);
void deepseek_request(CowJson& body, Dropped& dropped);
void xai_request(CowJson& body, std::string_view model, Dropped& dropped);
// Mistral's embeddings: dimensions -> output_dimension; unknown members left out.
void mistral_embeddings_request(CowJson& body, Dropped& dropped);
// Together, Ollama, LM Studio: max_completion_tokens -> max_tokens; developer -> system.
void max_tokens_only_request(CowJson& body, Dropped& dropped);
// Fireworks, vLLM: developer -> system.
void system_role_request(CowJson& body, Dropped& dropped);

// Whether apply_request_quirks may edit a request of this preset and endpoint (else the client's
// body goes as it is, but for the model).
bool edits_request(Preset p, Endpoint endpoint);
// Applies the preset's request quirks for this endpoint.
void apply_request_quirks(Preset p, Endpoint endpoint, CowJson& body, std::string_view model,
                          std::vector<std::string>& dropped);

// False for hosts that refuse stream_options (Mistral: 422 extra_forbidden); they report usage
// in their last chunk anyway.
bool asks_stream_usage(Preset p);

// Mistral tool-call ids must be exactly 9 characters of [a-zA-Z0-9]: valid ids are kept, others
// are mapped deterministically (so an assistant tool call and its tool result still match).
std::string mistral_tool_call_id(std::string_view id);

// ---- responses ----

// The OpenAI finish reason for a host's value, or nullopt when it is already right.
// has_tool_calls: the choice called tools (xAI sends "" then; some hosts send "stop").
std::optional<std::string_view> normalize_finish_reason(std::string_view value,
                                                        bool has_tool_calls);

// Normalises a usage object in place: xAI reasoning tokens folded into completion_tokens (when
// total = prompt + completion + reasoning), DeepSeek prompt_cache_hit_tokens ->
// prompt_tokens_details.cached_tokens, a missing or short total_tokens. True when changed.
bool fix_usage(json& usage);

// Repairs an OpenAI message or stream delta in place: "reasoning" -> "reasoning_content",
// content arrays with thinking parts (Mistral) -> content text + reasoning_content. True when
// changed.
bool fix_message(json& message);

// Repairs a whole non-streamed answer in place (choices' messages and finish reasons, usage).
// True when changed.
bool fix_response(json& body);

}  // namespace tg::providers::compat
