// Pure (no Asio) OpenAI-compatible request handling for tollgate-mock: validation, deterministic
// answers, streamed event lists, OpenAI-shaped errors. The Beast layer (mock_server.cpp) only moves
// bytes and applies faults to the Reply built here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tollgate::mock {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

enum class RateLimitHeaders { Normal, Exhausted };

// A response, before framing. Non-streamed replies carry `body`; streamed replies carry `events`,
// the JSON payloads of the `data:` events in order (the `[DONE]` sentinel is not included).
struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  HeaderList extra_headers;  // replace standard headers of the same name, else appended
  RateLimitHeaders rate = RateLimitHeaders::Normal;
  std::string body;
  bool stream = false;
  std::vector<std::string> events;
  // Other providers' stream framings: when `raw_framing` is set, each entry of `events` is
  // written as is (already framed: "event: x\ndata: {...}\n\n", CRLF events, or binary
  // event-stream frames), then `stream_end` (e.g. "" when the provider has no sentinel);
  // error_mid_stream writes `mid_stream_error` (already framed).
  bool raw_framing = false;
  std::string stream_end;
  std::string mid_stream_error;
  // Streams whose events are numbered (the Responses API's sequence_number): builds the
  // error_mid_stream event(s), already framed, for a stream cut after `sent` events. Used
  // instead of mid_stream_error when set.
  std::function<std::string(std::size_t sent)> mid_stream_error_at;
  // The pause between events when >= 0 (else --interval-ms / x-mock-interval-ms): audio is
  // sent in paced chunks so that a client can see it arrive as a stream.
  long long interval_ms = -1;
};

struct ParsedBody {
  nlohmann::json json;  // valid only when ok
  bool ok = false;
  bool empty = true;
  std::string error;  // parser message when !ok && !empty
};

ParsedBody parse_body(std::string_view body);

// The "model" member when the body is an object with a string model, else "".
std::string_view model_of(const ParsedBody& body);

// "/v1/chat/completions?x=1" -> "/chat/completions"; "/chat/completions" unchanged.
std::string_view normalize_route(std::string_view target);

// Path part of a request target (no query string).
std::string_view path_of(std::string_view target);

struct ApiRequest {
  std::string_view method;
  std::string_view path;   // as received, without the query string
  std::string_view route;  // normalize_route(path)
  const ParsedBody* body = nullptr;
  std::uint64_t seq = 0;
  std::int64_t created = 0;
  std::size_t events = 20;  // maximum number of content pieces in an answer
  bool usage_on_last_chunk = false;  // Options::usage_on_last_chunk
};

Reply handle_api(const ApiRequest& req);

// {"error":{"message","type","param","code"}}. A null param/code is passed as std::nullopt.
Reply error_reply(int status, std::string_view message, std::string_view type,
                  std::optional<std::string_view> param, std::optional<std::string_view> code);

// Validation errors in OpenAI's wording, shared by the OpenAI-shaped endpoints.
// "Invalid type for 'param': expected <expected>, but got <a string|an object|...> instead."
Reply invalid_type(std::string_view param, std::string_view expected, const nlohmann::json& got);
// "Missing required parameter: 'param'." (code missing_required_parameter)
Reply missing_param(std::string_view param);
// Common checks of a POST body: parsed, an object, with a string `model` (names starting with
// "missing": 404 model_not_found). The error reply, or nullopt when the body passes.
std::optional<Reply> check_object_with_model(const ParsedBody& b);

// Text of a message `content`: a string, or the `text` of the parts of an array joined with
// nothing in between; and its number of words (the mock's token count).
std::string content_text(const nlohmann::json& content);
std::size_t content_words(const nlohmann::json& content);

// 401 reply when `api_key` is non-empty and `authorization` is not "Bearer <api_key>".
std::optional<Reply> check_auth(std::string_view authorization, std::string_view api_key);

// "sk-ab...wxyz"-style masked key; never the full key.
std::string mask_key(std::string_view key);

std::string_view reason_phrase(int status);

// ---------------------------------------------------------------------------------------------
// Other providers' wire formats (Anthropic, Gemini, Azure, Bedrock...) live in their own files
// (mock_<provider>.cpp) and register themselves at start-up with a static initializer:
//   static const bool registered = register_provider_mock({...});
// The server asks the registry first; unclaimed paths get the OpenAI handling above.

struct Fault;

struct ProviderRequest {
  std::string_view method;
  std::string_view path;   // without the query string
  std::string_view query;  // after '?', "" when none
  const ParsedBody* body = nullptr;
  std::string_view raw_body;
  // Looks up a request header by lowercased name ("" when absent).
  std::function<std::string_view(std::string_view)> header;
  std::uint64_t seq = 0;
  std::int64_t created = 0;
  std::size_t events = 20;
  std::string_view api_key;  // --api-key ("" = accept any credentials)
};

struct ProviderMock {
  std::string name;  // "anthropic", ...
  // True when this provider serves that path (e.g. path starts with "/v1/messages").
  std::function<bool(std::string_view path)> claims;
  // The model a request names (for fault matching): from the body or the path.
  std::function<std::string(const ProviderRequest&)> model_of;
  // Handles a request: its own auth (any credentials when api_key is empty), validation, answer.
  std::function<Reply(const ProviderRequest&)> handle;
  // A `status` fault in this provider's error format (status, retry headers, body).
  std::function<Reply(const Fault&, std::string_view model)> fault_reply;
};

bool register_provider_mock(ProviderMock mock);
const ProviderMock* find_provider_mock(std::string_view path);

}  // namespace tollgate::mock
