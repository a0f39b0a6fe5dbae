#include "openai_adapter.hpp"

#include <optional>
#include <string>

#include "compat_quirks.hpp"
#include "openai_wire.hpp"
#include "responses_wire.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers {
namespace {

using json = nlohmann::json;

// A 200 whose body is an error object (some compatible hosts): an Error to fail over on, or to
// pass through when the embedded status says it is the client's mistake.
std::optional<Error> error_payload(std::string_view body, const openai_wire::AnswerScan& scan) {
  const std::string_view err = scan.error;
  if (err.empty() || err == "null" || scan.choices || scan.data) return std::nullopt;
  int status = 502;
  json e = json_scan::parse(err);
  if (e.is_object()) {
    auto code = e.find("code");
    if (code != e.end() && code->is_number_integer()) {
      int c = code->get<int>();
      if (c >= 400 && c <= 599) status = c;  // OpenRouter: code is the HTTP status
    }
  }
  Error out = upstream_status_error("upstream", status, body);
  out.message = "upstream answered 200 with an error: " + out.message;
  return out;
}

}  // namespace

// ---- OpenAI ----

UpstreamRequest OpenAiAdapter::build_request(const ClientRequest& req,
                                             std::string_view upstream_model,
                                             const BuildContext& ctx) const {
  UpstreamRequest out = openai_wire::base_request(req, ctx);
  if (openai_wire::set_upload_body(req, upstream_model, out)) return out;
  out.body = req.endpoint == Endpoint::Responses
                 ? responses_wire::serialize_body(req, upstream_model)
                 : openai_wire::serialize_body(req, upstream_model);
  return out;
}

Response OpenAiAdapter::translate_response(const ClientRequest& req, std::string&& body) const {
  if (req.endpoint == Endpoint::Responses) return responses_wire::pass_through_response(std::move(body));
  return openai_wire::pass_through_response(std::move(body));
}

std::unique_ptr<StreamTranslator> OpenAiAdapter::make_stream_translator(
    const ClientRequest& req) const {
  if (req.endpoint == Endpoint::Responses) return responses_wire::make_event_stream();
  openai_wire::StreamOptions o;
  o.client_wants_usage = req.client_wants_usage;
  o.endpoint = req.endpoint;
  return openai_wire::make_chunk_stream(o);
}

bool OpenAiAdapter::native_responses(const config::ProviderConfig& provider) const {
  return provider.responses == config::ResponsesMode::Native;
}

// ---- OpenAI-compatible hosts ----

UpstreamRequest OpenAiCompatibleAdapter::build_request(const ClientRequest& req,
                                                       std::string_view upstream_model,
                                                       const BuildContext& ctx) const {
  UpstreamRequest out = openai_wire::base_request(req, ctx);
  if (openai_wire::set_upload_body(req, upstream_model, out)) return out;
  if (req.endpoint == Endpoint::Responses) {  // the host's own Responses API: no chat quirks
    out.body = responses_wire::serialize_body(req, upstream_model);
    return out;
  }
  const compat::Preset preset = compat::preset_from_name(ctx.provider.preset);
  if (!compat::edits_request(preset, req.endpoint)) {  // the document is not even built
    out.body = openai_wire::serialize_body(req, upstream_model, compat::asks_stream_usage(preset));
    return out;
  }
  compat::CowJson body(req.doc());  // copied only if a quirk edits it
  compat::apply_request_quirks(preset, req.endpoint, body, upstream_model, out.dropped_params);
  out.body = openai_wire::serialize_body(body.view(), req, upstream_model,
                                         compat::asks_stream_usage(preset));
  return out;
}

// Passed through as it is unless a cheap scan finds a known quirk: an odd finish reason, a
// "reasoning" member, a content array, usage to normalise, or an error object instead of an
// answer. Then the body is repaired (usage alone is spliced in place, the rest re-serialised).
Response OpenAiCompatibleAdapter::translate_response(const ClientRequest& req,
                                                     std::string&& body) const {
  if (req.endpoint == Endpoint::Responses) return responses_wire::pass_through_response(std::move(body));
  Response r;
  openai_wire::AnswerScan scan = openai_wire::scan_answer(body);
  if (!scan.object || scan.escaped_key) {  // rare: read the keys as the parser does, then scan
    json j = json_scan::parse(body);
    if (j.is_object()) {
      body = j.dump(-1, ' ', false, json::error_handler_t::replace);
      scan = openai_wire::scan_answer(body);
    }
  }
  const std::string_view usage_text = scan.usage;
  if (usage_text.empty()) {
    if (auto e = error_payload(body, scan)) {
      r.error = std::move(e);
      return r;
    }
  }
  json usage;
  bool usage_fixed = false;
  if (!usage_text.empty()) {
    if (auto scanned = openai_wire::scan_usage(usage_text, /*compat=*/true, /*known_valid=*/true)) {
      r.usage = *scanned;  // read by scanning: nothing to repair
    } else {
      usage = json_scan::parse(usage_text);
      usage_fixed = compat::fix_usage(usage);
      r.usage = Usage::from_openai(usage);
    }
  }
  // A body the walk could not go through (it was validated, so not expected) is parsed.
  const bool repair = scan.needs_repair || !scan.object;

  if (repair) {
    json j = json_scan::parse(body);
    if (j.is_object()) {
      if (auto cs = j.find("choices"); cs != j.end() && cs->is_array()) {
        for (const auto& c : *cs) {
          if (c.is_object() && c.value("finish_reason", json()) == "insufficient_system_resource") {
            Error e = Error::upstream_protocol(
                "", "upstream stopped generating: insufficient_system_resource");
            e.status = 503;
            e.code_str = "insufficient_system_resource";
            r.error = std::move(e);
            return r;
          }
        }
      }
      if (compat::fix_response(j)) {
        r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
        return r;
      }
    }
  }
  if (usage_fixed) {
    size_t at = static_cast<size_t>(usage_text.data() - body.data());
    size_t len = usage_text.size();
    body.replace(at, len, usage.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  r.body = std::move(body);
  return r;
}

std::unique_ptr<StreamTranslator> OpenAiCompatibleAdapter::make_stream_translator(
    const ClientRequest& req) const {
  if (req.endpoint == Endpoint::Responses) return responses_wire::make_event_stream();
  openai_wire::StreamOptions o;
  o.client_wants_usage = req.client_wants_usage;
  o.endpoint = req.endpoint;
  o.compat = true;
  return openai_wire::make_chunk_stream(o);
}

bool OpenAiCompatibleAdapter::native_responses(const config::ProviderConfig& provider) const {
  return provider.responses == config::ResponsesMode::Native;
}

}  // namespace tg::providers
