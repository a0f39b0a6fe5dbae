// The OpenAI dialect: chat completions, legacy completions and embeddings. The canonical shape
// itself, so parsing checks the few fields the gateway reads and everything else passes through:
// they are read from the text, and the whole document is built only if a target needs it (a
// translating adapter, a provider's quirks). A long conversation passed through costs a scan.

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "tollgate/dialects/dialect.hpp"
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

// The body's top-level members read from its text, when its keys are unique and written without
// escapes (else only the document says which of two members the parser keeps): the document of
// the members the gateway reads (`fields`: the numbers, booleans, short strings and
// stream_options; not the messages, tools or a long prompt), and where the model and the closing
// brace are. A body of more members than kMaxMembers is read as a document (the repeated-key
// check is quadratic).
constexpr size_t kLongString = 512;
constexpr size_t kMaxMembers = 64;

struct TopLevel {
  json fields = json::object();
  std::vector<std::pair<std::string_view, std::string_view>> members;  // key, value as written
  providers::ClientRequest::RawSpans spans;

  std::string_view find(std::string_view key) const {
    for (const auto& [k, v] : members) {
      if (k == key) return v;
    }
    return {};
  }
};

// `seen`: the members as the proxy's syntax check passed them (one pass over the text for both),
// else null: then the text is walked here.
std::optional<TopLevel> read_top_level(std::string_view raw,
                                       const providers::json_scan::TopMembers* seen) {
  namespace js = providers::json_scan;
  TopLevel top;
  // False when the key is escaped or repeated, or there are too many: the document decides.
  auto add = [&](std::string_view key, size_t begin, size_t value_end) {
    if (key.find('\\') != std::string_view::npos || top.members.size() == kMaxMembers) return false;
    for (const auto& [k, v] : top.members) {
      if (k == key) return false;
    }
    const std::string_view value = raw.substr(begin, value_end - begin);
    top.members.emplace_back(key, value);
    if (key == "model") top.spans = {begin, value_end, 0};
    const char first = value.empty() ? ' ' : value.front();
    const bool skipped =
        first == '[' || first == '{' || (first == '"' && value.size() > kLongString);
    if (!skipped || key == "model" || key == "stream_options") {
      top.fields.emplace(std::string(key), js::build(value));
    }
    return true;
  };
  if (seen) {
    if (!seen->object || seen->more) return std::nullopt;
    for (size_t k = 0; k < seen->count; ++k) {
      const auto& m = seen->at[k];
      if (!add(raw.substr(m.key_begin, m.key_end - m.key_begin), m.value_begin, m.value_end)) {
        return std::nullopt;
      }
    }
    top.spans.close = seen->close;
    return top;
  }
  bool plain = true;
  auto member = [&](std::string_view key, size_t begin) {
    const size_t value_end = js::skip_value(raw, begin);
    if (!add(key, begin, value_end)) {
      plain = false;
      return std::string_view::npos;
    }
    return value_end;
  };
  const size_t end = js::walk_object(raw, js::skip_ws(raw, js::bom_size(raw)), member);
  if (!plain || end == std::string_view::npos) return std::nullopt;
  top.spans.close = end - 1;
  return top;
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
  void adopt(TopLevel&& top) {
    top_ = std::move(top);
    req_.fields_ = &top_.fields;
    if (top_.spans.model_end > top_.spans.model_begin) req_.raw_spans = top_.spans;
  }
  const TopLevel& top() const { return top_; }

  std::string render(std::string&& body, bool) override { return std::move(body); }
  std::unique_ptr<Egress> egress(bool) override { return std::make_unique<OpenAIEgress>(); }

 private:
  json body_;
  TopLevel top_;
};

class OpenAICodec final : public Codec {
 public:
  explicit OpenAICodec(providers::Endpoint e) : endpoint_(e) {}
  std::string_view name() const override { return "openai"; }
  bool wants_document() const override { return false; }

  // The few members the gateway checks, from the text; the rest passes through.
  std::variant<std::unique_ptr<Call>, Error> parse(json&& /*empty*/,
                                                   const ClientInput& in) const override {
    auto top = read_top_level(in.body, in.members);
    std::unique_ptr<OpenAICall> call;
    if (top) {
      call = std::make_unique<OpenAICall>(json(), in.body);
      call->adopt(std::move(*top));
    } else {  // an escaped or repeated key: the document decides, as the parser builds it
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
    if (top) {
      std::string_view v = call->top().find(required);
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
