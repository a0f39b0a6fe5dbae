#pragma once
// The gateway's error vocabulary and the one renderer that turns an error into an OpenAI-shaped body.
// Pure: no Asio. Every error a client sees goes through render_error_body().

#include <optional>
#include <string>
#include <string_view>

namespace tg {

enum class ErrorCode {
  BadRequest,        // 400 invalid_request_error
  Unauthorized,      // 401 authentication_error / invalid_api_key
  Forbidden,         // 403 permission_error
  NotFound,          // 404 unknown path
  MethodNotAllowed,  // 405
  ModelNotFound,     // 404 model_not_found
  RequestTimeout,    // 408 client too slow sending the request
  PayloadTooLarge,   // 413 request_too_large
  HeaderTooLarge,    // 431
  RateLimited,       // 429 rate_limit_exceeded
  BudgetExceeded,    // 429 insufficient_quota / budget_exceeded
  UpstreamStatus,    // provider's own status, passed through (4xx) or failed over (5xx, 429)
  UpstreamConnect,   // connect, DNS, TLS failure
  UpstreamTimeout,   // connect / first token / idle / total timeout
  UpstreamProtocol,  // malformed response, connection dropped
  AllFailed,         // 502 every target failed
  AllFailedTimeout,  // 504 every target failed, last by timeout
  Unavailable,       // 503 shutting down, connection cap
  Internal,          // 500 a bug
};

struct Error {
  ErrorCode code = ErrorCode::Internal;
  int status = 500;
  std::string type;          // OpenAI "type"
  std::string code_str;      // OpenAI "code"; empty renders as null
  std::string message;
  std::optional<std::string> param;
  std::string provider;      // set for upstream errors (named in the body)
  bool retryable = false;    // may the router try another attempt?
  std::string retry_after;   // seconds, for a Retry-After header when set
  // What happened in full (the provider's own wording, addresses): for the server log only,
  // never rendered to a client. Empty when the message says it all.
  std::string detail;

  // Gateway-made errors with the status/type/code of interface.md.
  static Error bad_request(std::string message, std::optional<std::string> param = std::nullopt);
  static Error unauthorized(std::string message);
  static Error not_found(std::string path);
  static Error method_not_allowed(std::string_view method, std::string_view path);
  static Error model_not_found(std::string_view model);
  static Error request_timeout();
  // `setting`: the config key of the limit (uploads have their own).
  static Error payload_too_large(unsigned long long limit,
                                 std::string_view setting = "max_request_body");
  static Error header_too_large(unsigned long long limit);
  static Error too_many_header_fields(unsigned long long limit);  // 431 too
  static Error unavailable(std::string message);
  static Error internal(std::string message);
  static Error upstream_connect(std::string provider, std::string detail);
  static Error upstream_timeout(std::string provider, std::string detail);
  static Error upstream_protocol(std::string provider, std::string detail);
  // Every target failed, each with the provider's own 429: 429 upstream_rate_limited, with
  // Retry-After = retry_after_seconds (the soonest the providers gave) when there was one.
  static Error upstream_rate_limited(std::string message, std::optional<long long> retry_after_seconds);
};

// {"error":{"message":...,"type":...,"param":...,"code":...}} (plus "provider" for upstream errors).
std::string render_error_body(const Error& e);

// Maps a provider's non-2xx answer (status + body as received) to an Error. The provider's own
// message/type/code/param are kept when the body is OpenAI-shaped; the provider is named.
// retryable: 408, 409, 429, 5xx (and 529); a 4xx client mistake is not.
Error upstream_status_error(std::string_view provider, int status, std::string_view body,
                            std::string_view retry_after_header = {});

// What a client may see of a provider's error: a provider's 4xx about the client's own request
// keeps its message (the provider named); a refusal of Tollgate's own credentials (401/403) and
// the provider's own trouble (429, 5xx) get a clean message naming the provider, because their
// wording can echo part of a provider key, an organisation id or an internal address. The
// provider's text moves to `detail` (secrets redacted, see redact_secrets) for the server log.
Error client_safe_upstream_error(Error e, std::string_view api_key = {});

// `text` for a log line: anything that looks like a credential (the given key, "sk-..."/"AIza..."
// style keys, long opaque tokens) replaced by "[redacted]", control characters escaped, and at
// most `limit` bytes.
std::string redact_secrets(std::string_view text, std::string_view known_secret = {},
                           size_t limit = 512);

// A provider's "your prompt is too long for this model" (OpenAI's context_length_exceeded and
// the wordings of other providers): eligible for context_window_fallbacks.
bool is_context_window_error(const Error& e);

}  // namespace tg
