#pragma once
// The one door every client JSON body goes through (chat, completions, embeddings, messages,
// count_tokens, the admin API; the Responses API next): its nesting is bounded on the bytes,
// before parsing, because nlohmann's dump(), copies and comparisons recurse, and so do our own
// walks of a body; a million brackets would overflow the stack. Pure.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "tollgate/core/error.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/providers/json_scan.hpp"

namespace tg::providers {

// Deeper than any real request (tool schemas nest a dozen levels), shallow enough for every
// recursive walk on a worker's stack.
inline constexpr size_t kMaxJsonDepth = 128;
inline constexpr size_t kMaxModelNameBytes = 256;

// nullopt when arrays and objects nest at most kMaxJsonDepth deep; else a 400 naming the limit.
std::optional<Error> check_json_depth(std::string_view body);

// Where the model's value and the closing brace are in a client's object text, when every
// top-level key is written without escapes and none repeats (so the parser's document has exactly
// these members), there is no BOM, and the model is there; else nullopt.
std::optional<ClientRequest::RawSpans> plain_model_spans(std::string_view raw,
                                                         const json_scan::TopMembers& members);
// The text with the model's value replaced by `model` (written as a JSON string), `extra`
// (",\"key\":value" members, or nothing) added before the closing brace, nothing after it.
std::string splice_model(std::string_view raw, const ClientRequest::RawSpans& at,
                         std::string_view model, std::string_view extra = {});

// A client body that must be a JSON object: the syntax and depth check alone (nullopt: it is
// one), for a codec that reads the text and builds a document only when it must; `members`, when
// given, gets the object's top-level members found on the way.
std::optional<Error> check_client_json(std::string_view body,
                                       json_scan::TopMembers* members = nullptr);
// The same check, then the document (no exceptions).
std::variant<nlohmann::json, Error> parse_client_json(std::string_view body,
                                                     json_scan::TopMembers* members = nullptr);

// A model name as a client asked for it: at most kMaxModelNameBytes bytes, no control character
// (it is echoed in a response header and written to logs), no "." or ".." path segment (it may
// become part of an upstream URL path). nullopt = acceptable; else a 400 with param "model".
std::optional<Error> check_model_name(std::string_view model);

}  // namespace tg::providers
