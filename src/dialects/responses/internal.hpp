#pragma once
// Helpers shared by the Responses translators (request, response, stream). Internal.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tollgate/core/json_access.hpp"
#include "tollgate/dialects/responses.hpp"

namespace tg::dialects::responses::detail {

using json = nlohmann::json;

inline std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Signed Claude thinking has no Responses field of its own: it rides in a reasoning item's
// encrypted_content (opaque to clients, sent back as is) so a tool round trip through an
// Anthropic target keeps the signature Claude requires. Real OpenAI content never starts so.
inline constexpr std::string_view kSignaturePrefix = "tg.sig:";
inline constexpr std::string_view kRedactedPrefix = "tg.redacted:";

// A Response object is written as JSON text in two parts. The skeleton: "{" and the members that
// do not change while it is answered (id, model, ..., the request's echo over OpenAI's
// defaults), without the closing brace. Then the tail: status, output (the items' JSON text,
// comma-separated), incomplete_details, error ({code, message} from the Error's code_str, else
// rate_limit_exceeded for a 429, else server_error), usage (null when not given) and "}".
void write_skeleton(std::string& out, const ResponseInfo& info);
void write_response_tail(std::string& out, std::string_view status, std::string_view output,
                         const char* incomplete, const Error* error,
                         const providers::Usage* usage);
// Responses usage as JSON text (see responses_usage).
void write_usage(std::string& out, const providers::Usage& u);

// info.tools, or when the caller left it empty the names of echo.tools (top-level tools only),
// named as parse_request names them.
ToolNames tool_names(const ResponseInfo& info);

// The Responses tool behind a chat call's function name: a custom tool's call becomes a
// custom_tool_call item whose input is the `input` argument of the translated function; a
// namespaced tool's call carries `namespace` and its own name. An unknown name is a plain
// function of that name.
ToolRef tool_of(const ToolNames& tools, std::string_view chat_name);

// The `input` argument of a translated custom tool call (the raw arguments when they are not
// the expected object).
std::string custom_input(std::string_view arguments);

}  // namespace tg::dialects::responses::detail
