#include "mock_azure.hpp"
#include "mock_media.hpp"

#include <cctype>
#include <string>

#include <nlohmann/json.hpp>

#include "mock_faults.hpp"
#include "mock_responses.hpp"
#include "mock_util.hpp"

namespace tollgate::mock {
namespace {

using ojson = nlohmann::ordered_json;

constexpr std::string_view kClassicPrefix = "/openai/deployments/";
constexpr std::string_view kV1Prefix = "/openai/v1/";

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The value of `name` in a query string ("" when absent); found tells whether it was there.
std::string query_param(std::string_view query, std::string_view name, bool* found) {
  *found = false;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      *found = true;
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

// YYYY-MM-DD or YYYY-MM-DD-preview
bool valid_api_version(std::string_view v) {
  if (v.size() < 10) return false;
  if (std::string_view rest = v.substr(10); !rest.empty() && rest != "-preview") return false;
  for (size_t i = 0; i < 10; ++i) {
    bool dash = i == 4 || i == 7;
    if (dash ? v[i] != '-' : !std::isdigit(static_cast<unsigned char>(v[i]))) return false;
  }
  return true;
}

struct Target {
  bool v1 = false;
  bool ok = false;          // a known operation
  std::string deployment;   // classic: from the path
  std::string route;        // "/chat/completions", "/completions", "/embeddings", "/models",
                            // "/responses" (v1 only)
};

Target parse_target(std::string_view path) {
  Target t;
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (starts_with(path, kV1Prefix)) {
    t.v1 = true;
    std::string_view op = path.substr(kV1Prefix.size() - 1);
    if (op == "/chat/completions" || op == "/completions" || op == "/embeddings" ||
        op == "/models" || op == "/responses" || is_media_route(op)) {
      t.ok = true;
      t.route = std::string(op);
    }
    return t;
  }
  if (!starts_with(path, kClassicPrefix)) return t;
  std::string_view rest = path.substr(kClassicPrefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return t;
  t.deployment = percent_decode(rest.substr(0, slash));
  std::string_view op = rest.substr(slash);
  if (op == "/chat/completions" || op == "/completions" || op == "/embeddings" ||
      is_media_route(op)) {
    t.ok = true;
    t.route = std::string(op);
  }
  return t;
}

ojson safe_filter_results(bool with_jailbreak) {
  ojson r = ojson::object();
  for (const char* k : {"hate", "self_harm", "sexual", "violence"}) {
    r[k] = {{"filtered", false}, {"severity", "safe"}};
  }
  if (with_jailbreak) r["jailbreak"] = {{"filtered", false}, {"detected", false}};
  return r;
}

ojson prompt_filter_results() {
  return ojson::array({{{"prompt_index", 0}, {"content_filter_results", safe_filter_results(true)}}});
}

// Azure's error body: {"error":{"code":..,"message":..}} (+ members given in `extra`).
Reply azure_error(int status, std::string_view code, std::string_view message,
                  const ojson& extra = ojson::object()) {
  ojson err = {{"code", code}, {"message", message}};
  for (auto it = extra.begin(); it != extra.end(); ++it) err[it.key()] = it.value();
  Reply r;
  r.status = status;
  r.body = ojson{{"error", std::move(err)}}.dump();
  return r;
}

Reply resource_not_found() { return azure_error(404, "404", "Resource not found"); }

Reply deployment_not_found() {
  return azure_error(404, "DeploymentNotFound",
                     "The API deployment for this resource does not exist. If you created the "
                     "deployment within the last 5 minutes, please wait a moment and try again.");
}

Reply content_filter_error() {
  ojson result = safe_filter_results(true);
  result["violence"] = {{"filtered", true}, {"severity", "high"}};
  ojson extra = {{"param", "prompt"},
                 {"type", nullptr},
                 {"status", 400},
                 {"innererror",
                  {{"code", "ResponsibleAIPolicyViolation"}, {"content_filter_result", result}}}};
  return azure_error(
      400, "content_filter",
      "The response was filtered due to the prompt triggering Azure OpenAI's content management "
      "policy. Please modify your prompt and retry. To learn more about our content filtering "
      "policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
      extra);
}

std::optional<Reply> check_azure_auth(const ProviderRequest& req, bool v1) {
  if (req.api_key.empty()) return std::nullopt;
  std::string_view key = req.header("api-key");
  std::string_view auth = req.header("authorization");
  if (!key.empty()) {
    if (key == req.api_key) return std::nullopt;
  } else if (v1 && auth.substr(0, 7) == "Bearer ") {
    if (auth.substr(7) == req.api_key) return std::nullopt;
  } else if (auth.empty()) {
    return azure_error(401, "401",
                       "Access denied due to missing subscription key. Make sure to include "
                       "subscription key when making requests to an API.");
  }
  return azure_error(401, "401",
                     "Access denied due to invalid subscription key or wrong API endpoint. Make "
                     "sure to provide a valid key for an active subscription and use a correct "
                     "regional API endpoint for your resource.");
}

void add_azure_headers(Reply& r, const ProviderRequest& req) {
  std::string id = "mock-apim-";
  append_uint(id, req.seq);
  r.extra_headers.emplace_back("apim-request-id", std::move(id));
  r.extra_headers.emplace_back("x-ms-region", "Mock Region");
}

// Adds Azure's content-filter annotations to an OpenAI-shaped answer of the shared mock.
void annotate(Reply& r, std::string_view route) {
  if (r.status != 200 || route == "/embeddings" || route == "/models") return;
  if (!r.stream) {
    ojson j = ojson::parse(r.body, nullptr, false);
    if (!j.is_object()) return;
    ojson out = ojson::object();
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "choices") out["prompt_filter_results"] = prompt_filter_results();
      out[it.key()] = it.value();
    }
    if (auto cs = out.find("choices"); cs != out.end() && cs->is_array()) {
      for (auto& c : *cs) c["content_filter_results"] = safe_filter_results(false);
    }
    r.body = out.dump();
    return;
  }
  std::vector<std::string> events;
  events.reserve(r.events.size() + 1);
  ojson first = {{"choices", ojson::array()},
                 {"created", 0},
                 {"id", ""},
                 {"model", ""},
                 {"object", ""},
                 {"prompt_filter_results", prompt_filter_results()}};
  events.push_back(first.dump());
  for (auto& e : r.events) {
    ojson j = ojson::parse(e, nullptr, false);
    auto cs = j.is_object() ? j.find("choices") : j.end();
    if (!j.is_object() || cs == j.end() || !cs->is_array() || cs->empty()) {
      events.push_back(std::move(e));
      continue;
    }
    for (auto& c : *cs) {
      bool text = false;
      if (auto d = c.find("delta"); d != c.end() && d->is_object()) {
        auto content = d->find("content");
        text = content != d->end() && content->is_string() && !content->get_ref<const std::string&>().empty();
      } else if (auto t = c.find("text"); t != c.end() && t->is_string()) {
        text = !t->get_ref<const std::string&>().empty();
      }
      c["content_filter_results"] = text ? safe_filter_results(false) : ojson::object();
    }
    events.push_back(j.dump());
  }
  r.events = std::move(events);
}

Reply handle(const ProviderRequest& req) {
  Target t = parse_target(req.path);
  bool has_version = false;
  const std::string api_version = query_param(req.query, "api-version", &has_version);
  Reply r;
  if (!t.ok) {
    r = resource_not_found();
  } else if (!t.v1 && !valid_api_version(api_version)) {
    r = resource_not_found();  // api-version missing or not a version: Azure's 404
  } else if (auto denied = check_azure_auth(req, t.v1)) {
    r = std::move(*denied);
  } else if ((t.route == "/models") != (req.method == "GET")) {
    r = azure_error(405, "405", "Method not allowed");
  } else {
    ParsedBody body_copy;
    const ParsedBody* body = req.body;
    std::string deployment = t.deployment;
    if (t.v1) {
      deployment = std::string(model_of(*req.body));
    } else if (req.body && req.body->ok && req.body->json.is_object() &&
               req.body->json.value("model", "") != deployment) {
      // The deployment selects the model; the body's model (if any) is ignored: answer as it.
      body_copy = *req.body;
      body_copy.json["model"] = deployment;
      body = &body_copy;
    }
    if (t.route != "/models" && deployment.substr(0, 7) == "missing") {
      r = deployment_not_found();
    } else if (is_media_route(t.route)) {  // audio, images, moderations: OpenAI's shapes
      r = handle_media(req, t.route);
    } else if (t.route == "/responses") {  // OpenAI's Responses API, as the v1 API serves it
      r = handle_responses(responses_request(req));
    } else {
      ApiRequest ar;
      ar.method = req.method;
      ar.path = req.path;
      ar.route = t.route;
      ar.body = body;
      ar.seq = req.seq;
      ar.created = req.created;
      ar.events = req.events;
      r = handle_api(ar);
      annotate(r, t.route);
    }
  }
  add_azure_headers(r, req);
  return r;
}

std::string azure_model_of(const ProviderRequest& req) {
  Target t = parse_target(req.path);
  if (!t.v1 && !t.deployment.empty()) return t.deployment;
  return req.body ? std::string(model_of(*req.body)) : std::string();
}

Reply fault_reply(const Fault& f, std::string_view model) {
  const int st = f.status;
  const bool filter = f.code && f.code->is_string() && *f.code == "content_filter";
  Reply r;
  if (filter && st == 400) {
    r = content_filter_error();
  } else {
    std::string code, message;
    ojson extra = ojson::object();
    switch (st) {
      case 400:
        // Azure relays OpenAI's own validation errors.
        message = "Mock fault: invalid request.";
        extra = {{"type", "invalid_request_error"}, {"param", nullptr}};
        break;
      case 401:
        code = "401";
        message = "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
                  "to provide a valid key for an active subscription and use a correct regional "
                  "API endpoint for your resource.";
        break;
      case 403:
        code = "403";
        message = "Access denied due to Virtual Network/Firewall rules.";
        break;
      case 404:
        code = "DeploymentNotFound";
        message = "The API deployment for this resource does not exist. If you created the "
                  "deployment within the last 5 minutes, please wait a moment and try again.";
        break;
      case 429: {
        const long long ra = f.retry_after >= 0 ? f.retry_after : 1;
        code = "429";
        message = "Requests to the ChatCompletions_Create Operation under Azure OpenAI API "
                  "version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 "
                  "pricing tier. Please retry after " +
                  std::to_string(ra) + (ra == 1 ? " second" : " seconds") +
                  ". Please go here: https://aka.ms/oai/quotaincrease if you would like to "
                  "further increase the default rate limit.";
        break;
      }
      case 500:
        code = "InternalServerError";
        message = "Backend returned unexpected response. Please contact Microsoft for help.";
        break;
      case 503:
        code = "ServiceUnavailable";
        message = "The service is temporarily unable to process your request. Please try again "
                  "later.";
        break;
      default:
        code = std::to_string(st);
        message = "Mock fault: HTTP " + std::to_string(st) + ".";
        break;
    }
    if (f.message) message = *f.message;
    if (f.type) extra["type"] = *f.type;
    ojson err = ojson::object();
    if (f.code) {
      err["code"] = *f.code;
    } else if (code.empty()) {
      err["code"] = nullptr;
    } else {
      err["code"] = code;
    }
    err["message"] = message;
    for (auto it = extra.begin(); it != extra.end(); ++it) err[it.key()] = it.value();
    r.status = st;
    r.body = ojson{{"error", std::move(err)}}.dump();
  }
  r.status = st;
  if (st == 429) r.rate = RateLimitHeaders::Exhausted;
  if (st == 429 || f.retry_after >= 0) {
    r.extra_headers.emplace_back("retry-after",
                                 std::to_string(f.retry_after >= 0 ? f.retry_after : 1));
  }
  if (f.retry_after_ms >= 0) {
    r.extra_headers.emplace_back("retry-after-ms",
                                 std::to_string(static_cast<long long>(f.retry_after_ms)));
  }
  r.extra_headers.emplace_back("apim-request-id", "mock-apim-fault");
  r.extra_headers.emplace_back("x-ms-region", "Mock Region");
  if (f.body) r.body = *f.body;
  for (const auto& h : f.headers) r.extra_headers.push_back(h);
  return r;
}

const ProviderMock& build() {
  static const ProviderMock mock{
      "azure",
      [](std::string_view path) { return starts_with(path, "/openai/"); },
      azure_model_of,
      handle,
      fault_reply,
  };
  return mock;
}

const bool kRegistered = register_provider_mock(build());

}  // namespace

const ProviderMock& azure_provider_mock() {
  (void)kRegistered;
  return build();
}

}  // namespace tollgate::mock
