// The Anthropic Messages dialect (POST /v1/messages): the Anthropic SDKs and Claude Code. The
// body is translated once to the canonical shape for every target but Anthropic's own, which
// gets the client's body as sent (the adapter speaks it natively). The translators themselves
// are in src/dialects/anthropic/ (anthropic_ingress).

#include "tollgate/dialects/dialect.hpp"
#include "tollgate/providers/client_json.hpp"
#include "tollgate/providers/anthropic_ingress.hpp"

namespace tg::dialects {

namespace {

using json = nlohmann::json;
namespace ai = providers::anthropic_ingress;

// An Anthropic target's events are already the client's: passed through, and they end with
// their own message_stop.
class NativeEgress final : public Egress {
 public:
  void feed(std::string_view canonical, std::string& out) override { out.append(canonical); }
  void finish(std::string&) override {}
  void fail(const Error& e, std::string& out) override {
    out += "event: error\ndata: ";
    out += ai::render_error(e);
    out += "\n\n";
  }
};

// Any other target's OpenAI chunks, converted to Anthropic's events.
class ConvertingEgress final : public Egress {
 public:
  explicit ConvertingEgress(std::string model) : converter_(std::move(model)) {}
  void feed(std::string_view canonical, std::string& out) override {
    converter_.feed(canonical, out);
  }
  void finish(std::string& out) override { converter_.finish(out); }
  void fail(const Error& e, std::string& out) override { converter_.fail(e, out); }

 private:
  ai::StreamConverter converter_;
};

class AnthropicCall final : public Call {
 public:
  AnthropicCall(json&& native, json&& canonical)
      : native_(std::move(native)), canonical_(std::move(canonical)) {
    req_.set_doc(&canonical_);
    req_.native_body = &native_;
    req_.ingress = providers::Ingress::Anthropic;
    req_.endpoint = providers::Endpoint::ChatCompletions;
    req_.client_wants_usage = true;  // Anthropic's events carry usage: the converter needs it
  }
  providers::ClientRequest& req() { return req_; }
  const json& canonical() const { return canonical_; }
  const json& native() const { return native_; }

  std::string render(std::string&& body, bool native) override {
    if (native) return std::move(body);
    return ai::to_anthropic_response(body, req_.model);
  }
  std::unique_ptr<Egress> egress(bool native) override {
    if (native) return std::make_unique<NativeEgress>();
    return std::make_unique<ConvertingEgress>(req_.model);
  }
  // The response cache keeps OpenAI-shaped answers only.
  bool cacheable() const override { return false; }

 private:
  json native_;
  json canonical_;
};

class AnthropicCodec final : public Codec {
 public:
  std::string_view name() const override { return "anthropic"; }

  std::variant<std::unique_ptr<Call>, Error> parse(json&& body,
                                                   const ClientInput& in) const override {
    // "stream": null means not streamed (as absent); an Anthropic target gets it left out.
    bool edited = false;
    if (auto s = body.find("stream"); s != body.end() && s->is_null()) {
      body.erase(s);
      edited = true;
    }
    auto converted = ai::to_openai_request(body);
    if (auto* e = std::get_if<Error>(&converted)) return std::move(*e);
    // "system" entries in messages (Claude Code): an Anthropic target takes them from
    // anthropic-version 2026-10-21 on; for an older version they go into "system".
    if (!ai::takes_system_messages(in.anthropic_version)) edited |= ai::fold_system_messages(body);
    auto call = std::make_unique<AnthropicCall>(std::move(body),
                                                std::move(std::get<json>(converted)));
    auto m = call->canonical().find("model");
    if (m == call->canonical().end() || !m->is_string() ||
        m->get_ref<const std::string&>().empty()) {
      return Error::bad_request("model: Field required", "model");
    }
    auto& req = call->req();
    req.model = m->get<std::string>();
    // The client's own bytes, for a native target, when the document says just what they say.
    if (!edited && in.members) {
      if (auto at = providers::plain_model_spans(in.body, *in.members)) {
        req.native_raw = in.body;
        req.native_raw_spans = *at;
      }
    }
    req.anthropic_beta = in.anthropic_beta;
    req.anthropic_version = in.anthropic_version;
    auto s = call->native().find("stream");
    if (s != call->native().end() && !s->is_null() && !s->is_boolean()) {
      return Error::bad_request("stream: Input should be a valid boolean", "stream");
    }
    req.stream = s != call->native().end() && s->is_boolean() && s->get<bool>();
    return std::unique_ptr<Call>(std::move(call));
  }

  std::string (*error_renderer() const)(const Error&) override { return &ai::render_error; }
};

}  // namespace

const Codec& anthropic_codec() {
  static const AnthropicCodec codec;
  return codec;
}

}  // namespace tg::dialects
