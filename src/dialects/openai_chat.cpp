// The OpenAI dialect: chat completions, legacy completions and embeddings. The canonical shape
// itself, so parsing checks the few fields the gateway reads and everything else passes through.

#include <fmt/format.h>

#include "tollgate/dialects/dialect.hpp"
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

class OpenAICall final : public Call {
 public:
  OpenAICall(json&& body, std::string_view raw) : body_(std::move(body)) {
    req_.body = &body_;
    req_.raw_body = raw;
  }
  providers::ClientRequest& req() { return req_; }
  const json& body() const { return body_; }

  std::string render(std::string&& body, bool) override { return std::move(body); }
  std::unique_ptr<Egress> egress(bool) override { return std::make_unique<OpenAIEgress>(); }

 private:
  json body_;
};

class OpenAICodec final : public Codec {
 public:
  explicit OpenAICodec(providers::Endpoint e) : endpoint_(e) {}
  std::string_view name() const override { return "openai"; }

  std::variant<std::unique_ptr<Call>, Error> parse(json&& body,
                                                   const ClientInput& in) const override {
    auto call = std::make_unique<OpenAICall>(std::move(body), in.body);
    const json& b = call->body();
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
    auto r = b.find(required);
    if (r == b.end() || r->is_null()) {
      return Error::bad_request(fmt::format("Missing required parameter: '{}'.", required),
                                required);
    }
    if (endpoint_ == providers::Endpoint::ChatCompletions && (!r->is_array() || r->empty())) {
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
