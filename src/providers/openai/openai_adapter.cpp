#include "openai_adapter.hpp"

#include <string>

namespace tg::providers {
namespace {

using json = nlohmann::json;

void dump_into(std::string& out, const json& value) {
  out += value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Serialises the client's body with "model" replaced and, for streams, usage requested, without
// copying the parsed document.
std::string serialize_for_upstream(const ClientRequest& req, std::string_view upstream_model) {
  const json& body = *req.body;
  std::string out;
  out.reserve(256);
  out += '{';
  bool first = true;
  auto key = [&](std::string_view k) {
    if (!first) out += ',';
    first = false;
    dump_into(out, json(k));
    out += ':';
  };
  bool wrote_stream_options = false;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() == "model") {
      key("model");
      dump_into(out, json(upstream_model));
    } else if (it.key() == "stream_options" && req.stream) {
      key("stream_options");
      json opts = it->is_object() ? *it : json::object();
      opts["include_usage"] = true;
      dump_into(out, opts);
      wrote_stream_options = true;
    } else {
      key(it.key());
      dump_into(out, *it);
    }
  }
  if (req.stream && !wrote_stream_options && req.endpoint != Endpoint::Embeddings) {
    key("stream_options");
    out += R"({"include_usage":true})";
  }
  out += '}';
  return out;
}

// Pass-through of OpenAI chunks, reading usage and dropping the usage-only chunk when the client
// did not ask for it. Most chunks are forwarded without being parsed.
class OpenAiStreamTranslator final : public StreamTranslator {
 public:
  explicit OpenAiStreamTranslator(bool client_wants_usage)
      : client_wants_usage_(client_wants_usage) {}

  StreamStatus on_event(const sse::Event& event, std::string& out) override {
    std::string_view data = event.data;
    if (data == "[DONE]") return StreamStatus::Done;
    if (events_out_ == 0 && !json::accept(data)) return StreamStatus::Malformed;
    bool maybe_error = data.size() > 8 && data.find("\"error\"") != std::string_view::npos;
    bool maybe_usage = data.find("\"usage\"") != std::string_view::npos &&
                       data.find("\"usage\":null") == std::string_view::npos;
    if (maybe_error || maybe_usage) {
      json j = json::parse(data, nullptr, false);
      if (j.is_object()) {
        if (auto e = j.find("error"); e != j.end() && !e->is_null() && !j.contains("choices")) {
          sse::append_data_event(out, data);
          ++events_out_;
          return StreamStatus::UpstreamError;
        }
        if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
          usage_ = Usage::from_openai(*u);
          auto c = j.find("choices");
          bool usage_only = c == j.end() || (c->is_array() && c->empty());
          if (usage_only && !client_wants_usage_) return StreamStatus::Continue;
        }
      }
    }
    sse::append_data_event(out, data);
    ++events_out_;
    return StreamStatus::Continue;
  }

 private:
  bool client_wants_usage_;
};

}  // namespace

UpstreamRequest OpenAiAdapter::build_request(const ClientRequest& req,
                                             std::string_view upstream_model,
                                             const BuildContext& ctx) const {
  const auto& provider = ctx.provider;
  std::string_view api_key = ctx.api_key;
  UpstreamRequest out;
  switch (req.endpoint) {
    case Endpoint::ChatCompletions: out.path = "/chat/completions"; break;
    case Endpoint::Completions: out.path = "/completions"; break;
    case Endpoint::Embeddings: out.path = "/embeddings"; break;
  }
  out.headers.reserve(3 + provider.headers.size());
  out.headers.emplace_back("Content-Type", "application/json");
  if (!api_key.empty()) out.headers.emplace_back("Authorization", "Bearer " + std::string(api_key));
  if (req.stream) out.headers.emplace_back("Accept", "text/event-stream");
  for (const auto& [name, value] : provider.headers) out.headers.emplace_back(name, value);
  out.body = serialize_for_upstream(req, upstream_model);
  return out;
}

Response OpenAiAdapter::translate_response(const ClientRequest& req, std::string&& body) const {
  Response r;
  std::string_view usage_text = find_top_level_member(body, "usage");
  if (!usage_text.empty()) {
    r.usage = Usage::from_openai(json::parse(usage_text, nullptr, false));
  }
  r.body = std::move(body);
  return r;
}

std::unique_ptr<StreamTranslator> OpenAiAdapter::make_stream_translator(
    const ClientRequest& req) const {
  return std::make_unique<OpenAiStreamTranslator>(req.client_wants_usage);
}

}  // namespace tg::providers
