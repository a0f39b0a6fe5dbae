#include "tollgate/core/error.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace tg {
namespace {

Error make(ErrorCode code, int status, std::string type, std::string code_str, std::string message) {
  Error e;
  e.code = code;
  e.status = status;
  e.type = std::move(type);
  e.code_str = std::move(code_str);
  e.message = std::move(message);
  return e;
}

Error upstream(ErrorCode code, int status, std::string code_str, std::string provider,
               std::string detail) {
  Error e = make(code, status, "api_error", std::move(code_str), std::move(detail));
  e.provider = std::move(provider);
  e.retryable = true;
  return e;
}

std::string_view type_for_status(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "invalid_request_error";
    case 429: return "rate_limit_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

std::string json_string_or(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();  // OpenRouter sends numeric codes
}

}  // namespace

Error Error::bad_request(std::string message, std::optional<std::string> param) {
  Error e = make(ErrorCode::BadRequest, 400, "invalid_request_error", "", std::move(message));
  e.param = std::move(param);
  return e;
}
Error Error::unauthorized(std::string message) {
  return make(ErrorCode::Unauthorized, 401, "authentication_error", "invalid_api_key",
              std::move(message));
}
Error Error::not_found(std::string path) {
  return make(ErrorCode::NotFound, 404, "invalid_request_error", "not_found",
              fmt::format("Unknown path: {}", path));
}
Error Error::method_not_allowed(std::string_view method, std::string_view path) {
  return make(ErrorCode::MethodNotAllowed, 405, "invalid_request_error", "method_not_allowed",
              fmt::format("Method {} is not allowed on {}", method, path));
}
Error Error::model_not_found(std::string_view model) {
  Error e = make(ErrorCode::ModelNotFound, 404, "invalid_request_error", "model_not_found",
                 fmt::format("The model `{}` does not exist or is not configured on this gateway. "
                             "Ask for a name under `models:` or for provider/model.",
                             model));
  e.param = "model";
  return e;
}
Error Error::request_timeout() {
  return make(ErrorCode::RequestTimeout, 408, "invalid_request_error", "request_timeout",
              "The request was not received in time");
}
Error Error::payload_too_large(unsigned long long limit, std::string_view setting) {
  return make(ErrorCode::PayloadTooLarge, 413, "invalid_request_error", "request_too_large",
              fmt::format("Request body is larger than the limit of {} bytes (server.{})", limit,
                          setting));
}
Error Error::header_too_large(unsigned long long limit) {
  return make(ErrorCode::HeaderTooLarge, 431, "invalid_request_error", "headers_too_large",
              fmt::format("Request headers are larger than the limit of {} bytes", limit));
}
Error Error::too_many_header_fields(unsigned long long limit) {
  return make(ErrorCode::HeaderTooLarge, 431, "invalid_request_error", "headers_too_large",
              fmt::format("The request has more than {} header fields", limit));
}
Error Error::unavailable(std::string message) {
  return make(ErrorCode::Unavailable, 503, "api_error", "service_unavailable", std::move(message));
}
Error Error::internal(std::string message) {
  return make(ErrorCode::Internal, 500, "api_error", "internal_error", std::move(message));
}
Error Error::upstream_connect(std::string provider, std::string detail) {
  // The detail names hosts and addresses (a LAN server's "10.1.2.3:8000"): server log only.
  Error e = upstream(ErrorCode::UpstreamConnect, 502, "upstream_error", provider,
                     fmt::format("provider '{}' could not be reached", provider));
  e.detail = std::move(detail);
  return e;
}
Error Error::upstream_timeout(std::string provider, std::string detail) {
  return upstream(ErrorCode::UpstreamTimeout, 504, "upstream_timeout", std::move(provider),
                  std::move(detail));
}
Error Error::upstream_protocol(std::string provider, std::string detail) {
  return upstream(ErrorCode::UpstreamProtocol, 502, "upstream_error", std::move(provider),
                  std::move(detail));
}

Error Error::upstream_rate_limited(std::string message,
                                   std::optional<long long> retry_after_seconds) {
  Error e = make(ErrorCode::AllFailed, 429, "rate_limit_error", "upstream_rate_limited",
                 std::move(message));
  if (retry_after_seconds) e.retry_after = std::to_string(std::max(*retry_after_seconds, 1LL));
  return e;
}

std::string render_error_body(const Error& e) {
  nlohmann::json err = {
      {"message", e.message},
      {"type", e.type.empty() ? std::string(type_for_status(e.status)) : e.type},
      {"param", e.param ? nlohmann::json(*e.param) : nlohmann::json(nullptr)},
      {"code", e.code_str.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.code_str)},
  };
  if (!e.provider.empty()) err["provider"] = e.provider;
  return nlohmann::json{{"error", std::move(err)}}.dump(-1, ' ', false,
                                                        nlohmann::json::error_handler_t::replace);
}

Error upstream_status_error(std::string_view provider, int status, std::string_view body,
                            std::string_view retry_after_header) {
  Error e;
  e.code = ErrorCode::UpstreamStatus;
  e.status = status;
  e.provider = std::string(provider);
  e.retryable = status == 408 || status == 409 || status == 429 || status >= 500;
  e.retry_after = std::string(retry_after_header);
  std::string message;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    const nlohmann::json* err = &j;
    if (auto it = j.find("error"); it != j.end() && it->is_object()) err = &*it;
    message = json_string_or(*err, "message");
    if (message.empty()) message = json_string_or(*err, "detail");  // FastAPI-style servers
    e.type = json_string_or(*err, "type");
    e.code_str = json_string_or(*err, "code");
    if (auto p = json_string_or(*err, "param"); !p.empty()) e.param = p;
    if (auto it = j.find("error"); message.empty() && it != j.end() && it->is_string()) {
      message = it->get<std::string>();
    }
  }
  if (message.empty()) {
    // Not JSON (an HTML error page from a proxy, say): keep a bounded, printable prefix.
    std::string_view raw = body.substr(0, 200);
    message = raw.empty() ? fmt::format("HTTP {}", status) : std::string(raw);
  }
  if (e.type.empty()) e.type = std::string(type_for_status(status));
  e.message = fmt::format("{} returned HTTP {}: {}", provider, status, message);
  return e;
}

namespace {

bool token_char(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '+' || c == '/' || c == '=';
}

// A run of token characters that is probably a credential: a well-known key prefix, or long
// and mixing letters and digits (hex or base64 secrets, bearer tokens).
bool looks_secret(std::string_view t) {
  for (std::string_view prefix : {"sk-", "sk_", "AIza", "gsk_", "xai-", "AKIA", "ASIA", "pk-",
                                  "rk-", "hf_", "ghp_", "eyJ"}) {
    if (t.size() >= prefix.size() + 6 && t.substr(0, prefix.size()) == prefix) return true;
  }
  if (t.size() < 24) return false;
  bool alpha = false, digit = false;
  for (unsigned char c : t) {
    alpha = alpha || std::isalpha(c);
    digit = digit || std::isdigit(c);
  }
  return alpha && digit;
}

}  // namespace

std::string redact_secrets(std::string_view text, std::string_view known_secret, size_t limit) {
  std::string out;
  out.reserve(std::min(text.size(), limit) + 16);
  size_t i = 0;
  while (i < text.size() && out.size() < limit) {
    if (known_secret.size() >= 8 && text.substr(i, known_secret.size()) == known_secret) {
      out += "[redacted]";
      i += known_secret.size();
      continue;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (token_char(c)) {
      size_t j = i;
      while (j < text.size() && token_char(static_cast<unsigned char>(text[j]))) ++j;
      while (j > i + 1 && (text[j - 1] == '.' || text[j - 1] == '/')) --j;  // sentence ends
      std::string_view t = text.substr(i, j - i);
      if (looks_secret(t)) {
        out += "[redacted]";
      } else if (known_secret.size() >= 8 && t.find(known_secret) != std::string_view::npos) {
        out += "[redacted]";
      } else {
        out += t;
      }
      i = j;
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);  // a provider's newline cannot forge a log line
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  const bool cut = i < text.size() || out.size() > limit;
  if (out.size() > limit) out.resize(limit);
  if (cut) out += "...";
  return out;
}

namespace {

// A provider's error code is shown when it is an identifier ("overloaded", "server_error"),
// never free text.
bool plain_code(std::string_view code) {
  if (code.empty() || code.size() > 48) return false;
  for (unsigned char c : code) {
    if (!std::isalnum(c) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace

Error client_safe_upstream_error(Error e, std::string_view api_key) {
  if (e.code != ErrorCode::UpstreamStatus || e.provider.empty()) return e;
  const bool credentials = e.status == 401 || e.status == 403 || e.status == 407;
  const bool providers_trouble = e.status == 429 || e.status >= 500;
  // The client's own mistake (and a retryable 4xx such as Azure's DeploymentNotFound, about
  // the gateway's own routing): the provider's message stays, the provider named.
  if (!credentials && !providers_trouble) return e;
  e.detail = redact_secrets(e.message, api_key);
  if (credentials) {
    e.message = fmt::format("provider '{}' refused Tollgate's credentials ({})", e.provider,
                            e.status);
  } else if (plain_code(e.code_str)) {
    e.message = fmt::format("provider '{}' answered HTTP {} ({})", e.provider, e.status,
                            e.code_str);
  } else {
    e.message = fmt::format("provider '{}' answered HTTP {}", e.provider, e.status);
  }
  e.param.reset();
  return e;
}

bool is_context_window_error(const Error& e) {
  if (e.code != ErrorCode::UpstreamStatus || (e.status != 400 && e.status != 413)) return false;
  if (e.code_str == "context_length_exceeded") return true;
  std::string m = e.message;
  for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* needle : {"context length", "context window", "maximum context",
                             "prompt is too long", "too many tokens", "input is too long"}) {
    if (m.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace tg
