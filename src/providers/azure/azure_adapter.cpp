#include "azure_adapter.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "../openai/compat_quirks.hpp"
#include "../openai/openai_wire.hpp"
#include "../openai/responses_wire.hpp"
#include "tollgate/core/json_access.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;

constexpr std::string_view kDefaultApiVersion = "2024-10-21";
// The first GA-line version with stream_options and max_completion_tokens (2024-09-01-preview;
// GA 2024-10-21). Dated versions compare as strings.
constexpr std::string_view kStreamUsageSince = "2024-09-01";

// Percent-encodes everything but RFC 3986 unreserved characters.
void append_encoded(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

// The path part of an absolute URL ("" for the root).
std::string_view url_path(std::string_view url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t slash = url.find('/', start);
  if (scheme == std::string_view::npos) return url;  // already a path
  return slash == std::string_view::npos ? std::string_view() : url.substr(slash);
}

std::string_view trim_slashes(std::string_view p) {
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  return p;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "Please retry after 6 seconds." -> "6"
std::string retry_after_from_message(std::string_view m) {
  static constexpr std::string_view kNeedle = "retry after ";
  std::string lower(m);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t at = lower.find(kNeedle);
  if (at == std::string::npos) return {};
  size_t i = at + kNeedle.size(), j = i;
  while (j < lower.size() && std::isdigit(static_cast<unsigned char>(lower[j]))) ++j;
  return j > i ? lower.substr(i, j - i) : std::string();
}

}  // namespace

bool azure_is_v1(std::string_view base_url_or_path) {
  return ends_with(trim_slashes(url_path(base_url_or_path)), "/openai/v1");
}

UpstreamRequest AzureAdapter::build_request(const ClientRequest& req,
                                            std::string_view upstream_model,
                                            const BuildContext& ctx) const {
  const config::ProviderConfig& p = ctx.provider;
  std::string_view deployment = upstream_model;
  if (auto it = p.deployments.find(std::string(upstream_model)); it != p.deployments.end()) {
    deployment = it->second;
  }
  std::string_view base_path =
      trim_slashes(ctx.base_path.empty() ? url_path(p.base_url) : ctx.base_path);
  const bool v1 = ends_with(base_path, "/openai/v1");
  const std::string_view api_version =
      p.api_version.empty() ? kDefaultApiVersion : std::string_view(p.api_version);
  const bool modern = v1 || api_version.substr(0, kStreamUsageSince.size()) >= kStreamUsageSince;

  UpstreamRequest out;
  if (v1) {
    out.path = openai_wire::endpoint_path(req.endpoint);
  } else {
    out.path.reserve(64 + deployment.size());
    if (!ends_with(base_path, "/openai")) out.path += "/openai";
    out.path += "/deployments/";
    append_encoded(out.path, deployment);
    out.path += openai_wire::endpoint_path(req.endpoint);
    out.path += "?api-version=";
    append_encoded(out.path, api_version);
  }
  out.headers.reserve(3 + p.headers.size());
  out.headers.emplace_back("Content-Type", openai_wire::content_type(req));
  if (!ctx.api_key.empty()) out.headers.emplace_back("api-key", std::string(ctx.api_key));
  if (req.stream) out.headers.emplace_back("Accept", "text/event-stream");
  for (const auto& [name, value] : p.headers) out.headers.emplace_back(name, value);
  if (openai_wire::set_upload_body(req, deployment, out)) return out;

  if (req.endpoint == Endpoint::Responses) {  // reaches here on the v1 API only (native_responses)
    out.body = responses_wire::serialize_body(req, deployment);
    return out;
  }
  if (modern) {  // the hot path: serialised straight from the client's document
    out.body = openai_wire::serialize_body(req, deployment, true);
    return out;
  }
  // Older api-versions know neither stream_options nor max_completion_tokens.
  compat::CowJson body(req.doc());
  const json& v = body.view();
  if (v.is_object()) {
    if (auto so = v.find("stream_options"); so != v.end()) {
      if (so->is_object() && member_or(*so, "include_usage", false)) {
        out.dropped_params.emplace_back("stream_options");
      }
      body.mut().erase("stream_options");
    }
    if (auto mct = body.view().find("max_completion_tokens"); mct != body.view().end()) {
      json value = *mct;
      auto mt = body.view().find("max_tokens");
      if (mt == body.view().end() || mt->is_null()) {
        body.mut()["max_tokens"] = std::move(value);
      } else if (*mt != value && !value.is_null()) {
        out.dropped_params.emplace_back("max_completion_tokens");
      }
      body.mut().erase("max_completion_tokens");
    }
  }
  out.body = openai_wire::serialize_body(body.view(), req, deployment, false);
  return out;
}

Response AzureAdapter::translate_response(const ClientRequest& req, std::string&& body) const {
  if (req.endpoint == Endpoint::Responses) return responses_wire::pass_through_response(std::move(body));
  return openai_wire::pass_through_response(std::move(body));
}

std::unique_ptr<StreamTranslator> AzureAdapter::make_stream_translator(
    const ClientRequest& req) const {
  if (req.endpoint == Endpoint::Responses) return responses_wire::make_event_stream();
  openai_wire::StreamOptions o;
  o.client_wants_usage = req.client_wants_usage;
  o.endpoint = req.endpoint;
  o.azure = true;
  return openai_wire::make_chunk_stream(o);
}

bool AzureAdapter::native_responses(const config::ProviderConfig& provider) const {
  return provider.responses == config::ResponsesMode::Native && azure_is_v1(provider.base_url);
}

Error AzureAdapter::map_error(std::string_view provider, int status, std::string_view body,
                              std::string_view retry_after) const {
  Error e = upstream_status_error(provider, status, body, retry_after);
  std::string code = e.code_str, inner, message;
  json j = json_scan::parse(body);
  if (j.is_object()) {
    const json* err = &j;
    if (auto it = j.find("error"); it != j.end() && it->is_object()) err = &*it;
    if (auto ie = err->find("innererror"); ie != err->end() && ie->is_object()) {
      inner = str_member(*ie, "code");
    }
    if (auto m = err->find("message"); m != err->end() && m->is_string()) message = *m;
  }
  const bool numeric_code =
      !code.empty() && std::all_of(code.begin(), code.end(),
                                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  switch (status) {
    case 401:
      e.type = "authentication_error";
      if (numeric_code || code.empty()) e.code_str = "invalid_api_key";
      break;
    case 403:
      e.type = "permission_error";
      if (numeric_code) e.code_str.clear();
      break;
    case 404:
      // The URL is built from this target's config (resource, deployment, api-version): another
      // target may serve the request.
      e.retryable = true;
      if (code == "DeploymentNotFound") {
        e.code_str = "model_not_found";
        e.type = "invalid_request_error";
      } else if (numeric_code) {
        e.code_str = "not_found";
      }
      break;
    case 429:
      e.retryable = true;
      e.type = "rate_limit_error";
      if (numeric_code || code.empty()) e.code_str = "rate_limit_exceeded";
      if (e.retry_after.empty()) e.retry_after = retry_after_from_message(message);
      break;
    case 400:
      if (code == "content_filter" || inner == "ResponsibleAIPolicyViolation") {
        e.code_str = "content_filter";
        e.type = "invalid_request_error";
        e.retryable = false;
      } else if (code == "OperationNotSupported") {
        e.retryable = true;  // this deployment's model cannot do it; another target may
      } else if (numeric_code) {
        e.code_str.clear();
      }
      break;
    default:
      if (numeric_code) e.code_str.clear();
      break;
  }
  return e;
}

}  // namespace tg::providers
