// The OpenAI dialect: chat completions, legacy completions and embeddings. The canonical shape
// itself, so parsing checks the few fields the gateway reads and everything else passes through:
// they are read from the text, and the whole document is built only if a target needs it (a
// translating adapter, a provider's quirks). A long conversation passed through costs a scan.

#include <fmt/format.h>

#include "tollgate/dialects/dialect.hpp"
#include "tollgate/providers/client_json.hpp"
#include "tollgate/providers/json_build.hpp"
#include "tollgate/providers/json_scan.hpp"
#include "tollgate/sse/sse.hpp"

namespace tg::dialects {

namespace {

using json = nlohmann::json;

// Chunks go to the client as the adapter made them; a successful stream ends with [DONE].
class OpenAIEgress final : public Egress {
 public:
  void feed(std::string_view canonical, std::string& out) override { out.append(canonical); }
  void finish(std::string& out) override { out.append(sse::kDone); }
  void fail(const Error& e, std::string& out) override {
    sse::append_data_event(out, render_error_body(e));
  }
};

// The members the gateway reads for itself, as the document holds them: the numbers, booleans,
// short strings and stream_options, not the messages, tools or a long prompt.
constexpr size_t kLongString = 512;

json short_members(std::string_view raw, const providers::json_scan::TopMembers& members) {
  json fields = json::object();
  for (size_t k = 0; k < members.count; ++k) {
    const auto& m = members.at[k];
    const std::string_view key = raw.substr(m.key_begin, m.key_end - m.key_begin);
    const std::string_view value = raw.substr(m.value_begin, m.value_end - m.value_begin);
    const char first = value.front();
    const bool skipped =
        first == '[' || first == '{' || (first == '"' && value.size() > kLongString);
    if (!skipped || key == "model" || key == "stream_options") {
      fields.emplace(std::string(key), providers::json_scan::build(value));
    }
  }
  return fields;
}

// A top-level member's value as written; "" when there is none.
std::string_view member_text(std::string_view raw, const providers::json_scan::TopMembers& members,
                             std::string_view key) {
  for (size_t k = 0; k < members.count; ++k) {
    const auto& m = members.at[k];
    if (raw.substr(m.key_begin, m.key_end - m.key_begin) == key) {
      return raw.substr(m.value_begin, m.value_end - m.value_begin);
    }
  }
  return {};
}

class OpenAICall final : public Call {
 public:
  // The document when the codec built it (a key it cannot read from the text), else empty: then
  // doc() builds it from the text only if something needs it.
  OpenAICall(json&& body, std::string_view raw) : body_(std::move(body)) {
    if (!body_.empty()) req_.set_doc(&body_);
    req_.raw_body = raw;
  }
  providers::ClientRequest& req() { return req_; }
  // Read from the text: the short members, and where the model is.
  void adopt(json&& fields, const providers::ClientRequest::RawSpans& at) {
    fields_ = std::move(fields);
    req_.set_fields(&fields_);
    req_.raw_spans = at;
  }

  std::string render(std::string&& body, bool) override { return std::move(body); }
  std::unique_ptr<Egress> egress(bool) override { return std::make_unique<OpenAIEgress>(); }

 private:
  json body_;
  json fields_;
};

class OpenAICodec final : public Codec {
 public:
  explicit OpenAICodec(providers::Endpoint e) : endpoint_(e) {}
  std::string_view name() const override { return "openai"; }
  bool wants_document() const override { return false; }

  // The few members the gateway checks, from the text; the rest passes through.
  std::variant<std::unique_ptr<Call>, Error> parse(json&& /*empty*/,
                                                   const ClientInput& in) const override {
    // The members as the proxy's syntax check noted them, else noted here (the text is checked).
    providers::json_scan::TopMembers own;
    const providers::json_scan::TopMembers* members = in.members;
    if (!members) {
      providers::json_scan::valid(in.body, providers::kMaxJsonDepth, own);
      members = &own;
    }
    // Read from the text when its keys are plain and unique; else (an escaped or repeated key,
    // which only the parser resolves, too many members, a BOM, no model) from the document.
    auto at = providers::plain_model_spans(in.body, *members);
    std::unique_ptr<OpenAICall> call;
    if (at) {
      call = std::make_unique<OpenAICall>(json(), in.body);
      call->adopt(short_members(in.body, *members), *at);
    } else {
      call = std::make_unique<OpenAICall>(providers::json_scan::build(in.body), in.body);
    }
    const json& b = call->req().fields();
    auto& req = call->req();
    auto m = b.find("model");
    if (m == b.end() || !m->is_string() || m->get_ref<const std::string&>().empty()) {
      return Error::bad_request("you must provide a model parameter", "model");
    }
    req.endpoint = endpoint_;
    req.anthropic_beta = in.anthropic_beta;
    req.model = m->get<std::string>();
    const char* required = endpoint_ == providers::Endpoint::ChatCompletions ? "messages"
                           : endpoint_ == providers::Endpoint::Completions   ? "prompt"
                                                                             : "input";
    // Present and not null; for chat, a non-empty array.
    bool present = false, non_empty_array = false;
    if (at) {
      std::string_view v = member_text(in.body, *members, required);
      present = !v.empty() && v != "null";
      const size_t first = providers::json_scan::skip_ws(v, 1);
      non_empty_array = !v.empty() && v.front() == '[' && first < v.size() && v[first] != ']';
    } else {
      auto r = b.find(required);
      present = r != b.end() && !r->is_null();
      non_empty_array = present && r->is_array() && !r->empty();
    }
    if (!present) {
      return Error::bad_request(fmt::format("Missing required parameter: '{}'.", required),
                                required);
    }
    if (endpoint_ == providers::Endpoint::ChatCompletions && !non_empty_array) {
      return Error::bad_request("'messages' must be a non-empty array.", "messages");
    }
    if (endpoint_ != providers::Endpoint::Embeddings) {
      auto s = b.find("stream");
      if (s != b.end() && !s->is_null() && !s->is_boolean()) {
        return Error::bad_request("'stream' must be a boolean.", "stream");
      }
      req.stream = s != b.end() && s->is_boolean() && s->get<bool>();
      auto so = b.find("stream_options");
      if (so != b.end() && so->is_object()) {
        auto iu = so->find("include_usage");
        req.client_wants_usage = iu != so->end() && iu->is_boolean() && iu->get<bool>();
      }
    }
    return std::unique_ptr<Call>(std::move(call));
  }

 private:
  providers::Endpoint endpoint_;
};

}  // namespace

const Codec& openai_codec(providers::Endpoint endpoint) {
  static const OpenAICodec chat(providers::Endpoint::ChatCompletions);
  static const OpenAICodec completions(providers::Endpoint::Completions);
  static const OpenAICodec embeddings(providers::Endpoint::Embeddings);
  switch (endpoint) {
    case providers::Endpoint::Completions: return completions;
    case providers::Endpoint::Embeddings: return embeddings;
    default: return chat;
  }
}

}  // namespace tg::dialects
