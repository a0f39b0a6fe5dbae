// Gemini's {"error":{"code","message","status","details"}} -> the gateway's Error.

#include <cctype>
#include <cstdlib>

#include "gemini_internal.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers::gemini {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

}  // namespace

std::string duration_seconds(std::string_view d) {
  while (!d.empty() && d.back() == ' ') d.remove_suffix(1);
  if (d.size() < 2 || d.back() != 's') return {};
  d.remove_suffix(1);
  bool dot = false, digit = false;
  for (char c : d) {
    if (c == '.' && !dot) dot = true;
    else if (std::isdigit(static_cast<unsigned char>(c))) digit = true;
    else return {};
  }
  return digit ? std::string(d) : std::string();
}

Error map_error(std::string_view provider, int status, std::string_view body,
                std::string_view retry_after) {
  Error e = upstream_status_error(provider, status, body, retry_after);
  json j = json_scan::parse(body);
  if (!j.is_object()) return e;  // an HTML page from a front end: the generic mapping
  auto eit = j.find("error");
  if (eit == j.end() || !eit->is_object()) return e;
  const json& err = *eit;
  const std::string gstatus(str_or(err, "status"));
  const std::string message(str_or(err, "message"));
  std::string reason, retry_delay;
  if (auto details = err.find("details"); details != err.end() && details->is_array()) {
    for (const auto& d : *details) {
      if (!d.is_object()) continue;
      std::string_view type = str_or(d, "@type");
      if (ends_with(type, "google.rpc.ErrorInfo") && reason.empty()) {
        reason = str_or(d, "reason");
      } else if (ends_with(type, "google.rpc.RetryInfo")) {
        retry_delay = str_or(d, "retryDelay");
      }
    }
  }
  // upstream_status_error read the numeric "code" as the OpenAI code: use Google's status name.
  e.code_str = lower(gstatus);
  e.type.clear();
  const std::string lmsg = lower(message);

  if (reason == "API_KEY_INVALID" || reason == "API_KEY_EXPIRED" || gstatus == "UNAUTHENTICATED" ||
      (status == 400 && lmsg.find("api key not valid") != std::string::npos)) {
    // Gemini says 400 for a bad key: make it a 401 so that the router rests this key and tries
    // the next one.
    e.status = 401;
    e.type = "authentication_error";
    e.code_str = "invalid_api_key";
    e.retryable = false;
  } else if (gstatus == "PERMISSION_DENIED" || status == 403) {
    e.status = 403;
    e.type = "permission_error";
    e.code_str = "permission_denied";
    e.retryable = false;
  } else if (gstatus == "FAILED_PRECONDITION") {
    // "User location is not supported", "free tier is not available in your country": a matter
    // of this key/account, not of the request; another key or target may work.
    e.status = 403;
    e.type = "permission_error";
    e.code_str = "failed_precondition";
    e.retryable = false;
  } else if (status == 404 || gstatus == "NOT_FOUND") {
    e.status = 404;
    e.type = "invalid_request_error";
    e.code_str = "model_not_found";
    e.param = "model";
    e.retryable = false;
  } else if (status == 429 || gstatus == "RESOURCE_EXHAUSTED") {
    e.status = 429;
    e.type = "rate_limit_error";
    e.code_str = "rate_limit_exceeded";
    e.retryable = true;
    if (e.retry_after.empty()) e.retry_after = duration_seconds(retry_delay);
  } else if (status == 400 &&
             (lmsg.find("exceeds the maximum number of tokens") != std::string::npos ||
              lmsg.find("input token count") != std::string::npos)) {
    // "The input token count (1234567) exceeds the maximum number of tokens allowed (1048576)."
    e.type = "invalid_request_error";
    e.code_str = "context_length_exceeded";
    e.param = "messages";
    e.retryable = false;
  }
  if (e.type.empty()) {
    e.type = e.status >= 500 ? "api_error" : e.status == 429 ? "rate_limit_error"
                                                              : "invalid_request_error";
  }
  return e;
}

}  // namespace tg::providers::gemini
