#include "bedrock_errors.hpp"

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include <fmt/format.h>

#include "bedrock_adapter.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers {
namespace bedrock {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool has(const std::string& haystack, std::initializer_list<std::string_view> needles) {
  return std::any_of(needles.begin(), needles.end(), [&](std::string_view n) {
    return haystack.find(n) != std::string::npos;
  });
}

bool context_window_wording(const std::string& m) {
  return has(m, {"input is too long", "too many input tokens", "prompt is too long", "context length",
                 "context window", "maximum context", "too many tokens"});
}

}  // namespace

std::string exception_name(int status, std::string_view type_field, std::string_view message) {
  if (!type_field.empty()) {
    if (size_t hash = type_field.rfind('#'); hash != std::string_view::npos) {
      type_field.remove_prefix(hash + 1);
    }
    if (size_t colon = type_field.find(':'); colon != std::string_view::npos) {
      type_field = type_field.substr(0, colon);
    }
    if (!type_field.empty()) return std::string(type_field);
  }
  const std::string m = lower(message);
  // The AWS front door's authentication failures [U wording].
  if (has(m, {"security token included in the request is invalid"})) return "UnrecognizedClientException";
  if (has(m, {"signature we calculated does not match", "signature expired"})) return "InvalidSignatureException";
  if (has(m, {"missing authentication token"})) return "MissingAuthenticationTokenException";
  if (has(m, {"security token included in the request is expired"})) return "ExpiredTokenException";
  if (has(m, {"invalid api key", "api key is invalid", "bearer token"})) return "UnrecognizedClientException";
  switch (status) {
    case 400: return has(m, {"quota"}) ? "ServiceQuotaExceededException" : "ValidationException";
    case 403: return "AccessDeniedException";
    case 404: return "ResourceNotFoundException";
    case 408: return "ModelTimeoutException";
    case 409: return "ConflictException";
    case 424: return has(m, {"stream"}) ? "ModelStreamErrorException" : "ModelErrorException";
    case 429: return has(m, {"not ready"}) ? "ModelNotReadyException" : "ThrottlingException";
    case 500: return "InternalServerException";
    case 503: return "ServiceUnavailableException";
    default: return {};
  }
}

StreamError stream_error(std::string_view exception_type, std::string_view message) {
  StreamError e;
  std::string t = lower(exception_type);
  if (t.size() > 9 && t.substr(t.size() - 9) == "exception") t.resize(t.size() - 9);
  e.type = "api_error";
  if (t == "throttling") {
    e.type = "rate_limit_error";
    e.code = "rate_limit_exceeded";
  } else if (t == "validation") {
    e.type = "invalid_request_error";
    if (context_window_wording(lower(message))) e.code = "context_length_exceeded";
  } else if (t == "modelstreamerror") {
    e.code = "model_stream_error";
  } else if (t == "serviceunavailable") {
    e.code = "service_unavailable";
  } else if (t == "internalserver") {
    e.code = "internal_server_error";
  } else if (t == "modeltimeout") {
    e.code = "model_timeout";
  }
  e.message = fmt::format("Bedrock stream error ({}): {}",
                          exception_type.empty() ? std::string_view("unknown") : exception_type,
                          message.empty() ? std::string_view("no message") : message);
  return e;
}

}  // namespace bedrock

Error BedrockAdapter::map_error(std::string_view provider, int status, std::string_view body,
                                std::string_view retry_after) const {
  using json = nlohmann::json;
  Error e = upstream_status_error(provider, status, body, retry_after);
  std::string message, type_field;
  json j = json_scan::parse(body);
  if (j.is_object()) {
    for (const char* key : {"message", "Message"}) {
      if (auto it = j.find(key); it != j.end() && it->is_string()) {
        message = it->get<std::string>();
        break;
      }
    }
    if (auto it = j.find("__type"); it != j.end() && it->is_string()) type_field = it->get<std::string>();
  }
  const std::string name = bedrock::exception_name(status, type_field, message);
  if (!message.empty()) {
    e.message = name.empty() ? fmt::format("{} returned HTTP {}: {}", provider, status, message)
                             : fmt::format("{} returned HTTP {} ({}): {}", provider, status, name, message);
  }
  e.code_str.clear();
  const std::string m = bedrock::lower(message);
  if (name == "ValidationException") {
    e.type = "invalid_request_error";
    e.retryable = false;
    if (bedrock::context_window_wording(m)) e.code_str = "context_length_exceeded";
  } else if (name == "ConflictException") {
    e.type = "invalid_request_error";
    e.code_str = "conflict";
    e.retryable = false;
  } else if (name == "ServiceQuotaExceededException") {
    // A quota of this account: another deployment may still have room.
    e.status = 429;
    e.type = "rate_limit_error";
    e.code_str = "insufficient_quota";
    e.retryable = true;
  } else if (name == "AccessDeniedException") {
    e.type = "permission_error";
    e.code_str = "access_denied";
    e.retryable = false;
  } else if (name == "UnrecognizedClientException" || name == "InvalidSignatureException" ||
             name == "MissingAuthenticationTokenException" || name == "ExpiredTokenException" ||
             name == "IncompleteSignatureException") {
    // The provider's credentials were refused: the router rests this key and tries the next.
    e.status = 401;
    e.type = "authentication_error";
    e.code_str = "invalid_api_key";
    e.retryable = false;
  } else if (name == "ResourceNotFoundException") {
    e.type = "invalid_request_error";
    e.code_str = "model_not_found";
    e.retryable = false;
  } else if (name == "ModelTimeoutException") {
    e.type = "api_error";
    e.code_str = "model_timeout";
    e.retryable = true;
  } else if (name == "ModelErrorException" || name == "ModelStreamErrorException") {
    e.type = "api_error";
    e.code_str = "model_error";
    e.retryable = true;  // 424: the model failed, not the request
  } else if (name == "ThrottlingException") {
    e.type = "rate_limit_error";
    e.code_str = "rate_limit_exceeded";
    e.retryable = true;
  } else if (name == "ModelNotReadyException") {
    e.type = "api_error";
    e.code_str = "model_not_ready";
    e.retryable = true;
  } else if (name == "InternalServerException") {
    e.type = "api_error";
    e.retryable = true;
  } else if (name == "ServiceUnavailableException") {
    e.type = "api_error";
    e.code_str = "service_unavailable";
    e.retryable = true;
  }
  return e;
}

}  // namespace tg::providers
