#pragma once
// Google Gemini (Generative Language API v1beta): the pieces of the adapter, shared between its
// files. Pure: no I/O. See docs/providers/gemini.md for what is translated and what is not.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tollgate/core/error.hpp"
#include "tollgate/providers/adapter.hpp"

namespace tg::providers::gemini {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// Non-throwing, non-copying accessors for untrusted JSON (nlohmann's value() throws on a type
// mismatch and copies).
inline const json& member(const json& obj, std::string_view key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}
inline const std::string* string_at(const json& obj, std::string_view key) {
  const json& v = member(obj, key);
  return v.is_string() ? &v.get_ref<const std::string&>() : nullptr;
}
inline std::string_view str_or(const json& obj, std::string_view key, std::string_view def = {}) {
  const std::string* s = string_at(obj, key);
  return s ? std::string_view(*s) : def;
}
inline bool bool_or(const json& obj, std::string_view key, bool def = false) {
  const json& v = member(obj, key);
  return v.is_boolean() ? v.get<bool>() : def;
}

// ---- request (gemini_request.cpp) ----------------------------------------------------------

// The upstream path (after the base path) for a model and method, e.g.
// "/v1beta/models/gemini-2.5-flash:generateContent". `base_path` is the path part of base_url:
// when it already ends in a version ("/v1beta"), no version is added.
std::string model_path(std::string_view base_path, std::string_view model, std::string_view method);

// OpenAI chat request -> GenerateContentRequest. Parameters that have no place are named in
// *dropped (without duplicates).
json chat_request(const json& body, std::string_view upstream_model,
                  std::vector<std::string>& dropped);

// OpenAI embeddings request -> BatchEmbedContentsRequest.
json embeddings_request(const json& body, std::string_view upstream_model,
                        std::vector<std::string>& dropped);

// Gemini function "parameters" must be an OpenAPI-3.0 subset: $ref inlined, type arrays and
// anyOf-with-null turned into nullable, const into enum, unsupported keys removed (the ones
// with meaning are named in *dropped as "tools.parameters.<key>").
// $ref targets are inlined: a recursive one (e.g. "#") unrolls up to 24 levels, and the
// targets inlined over every tool of a request add up to at most `expanded_bytes` of schema;
// past that a $ref becomes {"type":"object"} and "tools.parameters.$ref" is named in *dropped.
// So six {"$ref":"#"} properties (6^24 nodes unrolled) cost milliseconds.
struct SchemaBudget {
  size_t expanded_bytes = 1u << 20;
};
json clean_schema(const json& schema, std::vector<std::string>& dropped, SchemaBudget& budget);

// The thinking budget for an OpenAI reasoning_effort, or nullopt for an unknown value.
std::optional<int> thinking_budget(std::string_view effort, std::string_view model);

// ---- thought signatures in tool-call ids (gemini_response.cpp) ----------------------------

// "call_<n>", plus "__ts_<base64url signature>" when the functionCall part carried one, so the
// signature survives the client's round trip (Gemini 3 requires it back).
std::string tool_call_id(int64_t n, std::string_view signature);
// The signature carried by a tool-call id made by tool_call_id ("" when none).
std::string signature_from_id(std::string_view id);

// ---- response (gemini_response.cpp) -------------------------------------------------------

// OpenAI finish_reason for a Gemini finishReason ("" -> "stop").
std::string_view finish_reason(std::string_view gemini_reason, bool has_tool_calls);

// usageMetadata -> OpenAI usage object, and the normalised Usage.
ojson usage_json(const json& usage_metadata, Usage* out);

Response chat_response(const ClientRequest& req, std::string&& body);
Response embeddings_response(const ClientRequest& req, std::string&& body);

// Token estimate for text that Gemini does not count for us (embeddings): ceil(code points/4).
int64_t estimate_tokens(std::string_view text);

// ---- stream (gemini_stream.cpp) -----------------------------------------------------------

std::unique_ptr<StreamTranslator> make_stream(const ClientRequest& req);

// ---- errors (gemini_errors.cpp) -----------------------------------------------------------

Error map_error(std::string_view provider, int status, std::string_view body,
                std::string_view retry_after);

// "12s" / "0.5s" (google.protobuf.Duration JSON) -> "12" / "0.5"; "" when not a duration.
std::string duration_seconds(std::string_view d);

}  // namespace tg::providers::gemini
