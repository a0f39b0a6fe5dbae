// Anthropic error answers (provider-formats.md 2.5):
// {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_..."}

#include <cctype>
#include <string>

#include "anthropic_internal.hpp"
#include "tollgate/core/json_access.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers::anthropic {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Error map_anthropic_error(std::string_view provider, int status, std::string_view body,
                          std::string_view retry_after) {
  // The base keeps the provider's message and error.type, names the provider, sets retry_after
  // and retryability (408, 409, 429, 5xx and 529).
  Error e = upstream_status_error(provider, status, body, retry_after);
  std::string anthropic_type = e.type;
  std::string msg = lower(e.message);

  auto j = json_scan::parse(body);
  std::string detail_code;
  if (j.is_object()) {
    auto err = j.find("error");
    if (err != j.end() && err->is_object()) {
      auto details = err->find("details");
      if (details != err->end() && details->is_object()) {
        detail_code = str_member(*details, "error_code");
      }
    }
  }

  // OpenAI-style type and code for OpenAI clients; the status is kept (the router retries on
  // 429/5xx/529 and rotates keys on 401/403).
  if (anthropic_type == "overloaded_error" || status == 529) {
    e.type = "api_error";
    e.code_str = "overloaded";
    e.retryable = true;
  } else if (anthropic_type == "rate_limit_error" || status == 429) {
    e.type = "rate_limit_error";
    e.code_str = "rate_limit_exceeded";
    if (detail_code == "enforced_spend_limit_reached") {
      // A monthly spend limit: retrying cannot help; the client sees the 429.
      e.retryable = false;
      e.code_str = "insufficient_quota";
    }
  } else if (anthropic_type == "authentication_error" || status == 401) {
    e.type = "authentication_error";
    e.code_str = "invalid_api_key";
  } else if (anthropic_type == "permission_error" || status == 403) {
    e.type = "permission_error";
    e.code_str = "permission_denied";
  } else if (anthropic_type == "not_found_error" || status == 404) {
    e.type = "invalid_request_error";
    e.code_str = msg.find("model") != std::string::npos ? "model_not_found" : "not_found";
  } else if (anthropic_type == "request_too_large" || status == 413) {
    e.type = "invalid_request_error";
    e.code_str = "request_too_large";
  } else if (anthropic_type == "billing_error" || status == 402) {
    e.type = "invalid_request_error";
    e.code_str = "billing_error";
  } else if (anthropic_type == "timeout_error") {
    e.type = "api_error";
    e.code_str = "timeout";
    e.retryable = true;
  } else if (anthropic_type == "invalid_request_error" || (status >= 400 && status < 500)) {
    e.type = "invalid_request_error";
    // "prompt is too long: 208000 tokens > 200000 maximum", or "input length and `max_tokens`
    // exceed context limit: ...": eligible for context_window_fallbacks.
    if (msg.find("prompt is too long") != std::string::npos ||
        msg.find("exceed context limit") != std::string::npos ||
        msg.find("context window") != std::string::npos) {
      e.code_str = "context_length_exceeded";
    }
  } else if (status >= 500) {
    e.type = "api_error";
  }
  return e;
}

}  // namespace tg::providers::anthropic
