#include "anthropic_adapter.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "anthropic_internal.hpp"
#include "tollgate/core/json_writer.hpp"
#include "tollgate/core/text.hpp"
#include "tollgate/providers/client_json.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The Anthropic client's own body with only "model" replaced, without copying the document.
std::string serialize_native(const json& body, std::string_view upstream_model) {
  std::string out;
  out.reserve(256);
  out += '{';
  bool first = true;
  bool wrote_model = false;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, it.key());
    out += ':';
    if (it.key() == "model") {
      append_json_string(out, upstream_model);
      wrote_model = true;
    } else {
      append_json(out, *it);
    }
  }
  if (!wrote_model) {
    if (!first) out += ',';
    out += "\"model\":";
    append_json_string(out, upstream_model);
  }
  out += '}';
  return out;
}

// "2023-06-01": the only shape of anthropic-version forwarded from a client.
bool is_version_date(std::string_view v) {
  if (v.size() != 10) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    bool dash = i == 4 || i == 7;
    if (dash ? v[i] != '-' : (v[i] < '0' || v[i] > '9')) return false;
  }
  return true;
}

bool native(const ClientRequest& req) {
  return req.ingress == Ingress::Anthropic && req.native_body != nullptr;
}

}  // namespace

UpstreamRequest AnthropicAdapter::build_request(const ClientRequest& req,
                                                std::string_view upstream_model,
                                                const BuildContext& ctx) const {
  const auto& provider = ctx.provider;
  UpstreamRequest out;
  // base_url is https://api.anthropic.com by default; a base_url that already ends in /v1 works.
  std::string_view base = ctx.base_path;
  out.path =
      base.size() >= 3 && base.substr(base.size() - 3) == "/v1" ? "/messages" : "/v1/messages";

  bool own_version = false;
  std::vector<std::string> betas;  // the configured flags, then the client's, each once
  auto add_betas = [&betas](std::string_view list) {
    for (std::string_view flag : split_list(list)) {
      if (std::find(betas.begin(), betas.end(), flag) == betas.end()) betas.emplace_back(flag);
    }
  };
  for (const auto& [name, value] : provider.headers) {
    if (iequals(name, "anthropic-version")) own_version = true;
    if (iequals(name, "anthropic-beta")) add_betas(value);
  }
  add_betas(req.anthropic_beta);
  out.headers.reserve(5 + provider.headers.size());
  out.headers.emplace_back("content-type", "application/json");
  if (!ctx.api_key.empty()) out.headers.emplace_back("x-api-key", std::string(ctx.api_key));
  if (!own_version) {
    const bool client_version = native(req) && is_version_date(req.anthropic_version);
    out.headers.emplace_back("anthropic-version", client_version
                                                      ? std::string(req.anthropic_version)
                                                      : std::string(anthropic::kApiVersion));
  }
  if (req.stream) out.headers.emplace_back("accept", "text/event-stream");
  for (const auto& [name, value] : provider.headers) {
    if (!iequals(name, "anthropic-beta")) out.headers.emplace_back(name, value);
  }
  if (!betas.empty()) out.headers.emplace_back("anthropic-beta", fmt::format("{}", fmt::join(betas, ",")));

  if (native(req)) {
    out.body = req.native_raw.empty()
                   ? serialize_native(*req.native_body, upstream_model)
                   : splice_model(req.native_raw, req.native_raw_spans, upstream_model);
    return out;
  }
  auto translated = anthropic::to_messages_request(req.doc(), upstream_model, req.stream);
  out.body = translated.body.dump(-1, ' ', false, json::error_handler_t::replace);
  out.dropped_params = std::move(translated.dropped);
  return out;
}

Response AnthropicAdapter::translate_response(const ClientRequest& req, std::string&& body) const {
  if (!native(req)) return anthropic::translate_message(body, anthropic::uses_json_tool(req.doc()));
  // An Anthropic client gets Anthropic's body untouched; only usage is read from it.
  Response r;
  if (find_top_level_member(body, "type") != "\"message\"") {
    r.error = Error::upstream_protocol("anthropic", "upstream answered 200 without a Message");
    return r;
  }
  std::string_view usage_text = find_top_level_member(body, "usage");
  if (!usage_text.empty()) {
    anthropic::AnthropicUsage au;
    au.overlay(json_scan::parse(usage_text));
    r.usage = au.normalised();
  }
  r.body = std::move(body);
  return r;
}

std::unique_ptr<StreamTranslator> AnthropicAdapter::make_stream_translator(
    const ClientRequest& req) const {
  if (native(req)) return anthropic::make_native_translator();
  return anthropic::make_chunk_translator(req.client_wants_usage,
                                          anthropic::uses_json_tool(req.doc()));
}

Error AnthropicAdapter::map_error(std::string_view provider, int status, std::string_view body,
                                  std::string_view retry_after) const {
  return anthropic::map_anthropic_error(provider, status, body, retry_after);
}

}  // namespace tg::providers
