// The OpenAI Responses dialect (POST /v1/responses): Codex CLI, the Vercel AI SDK, the OpenAI
// Agents SDK. A target that speaks Responses natively gets the client's body (with the stored
// conversation of previous_response_id expanded into `input`, so the conversation survives a
// failover to any provider); every other target gets the canonical chat translation
// (src/dialects/responses/). Either way the answer is kept for GET /v1/responses/{id} and the
// next turn when the client asked to store it.

#include <chrono>

#include "tollgate/core/json_access.hpp"
#include "tollgate/dialects/dialect.hpp"
#include "tollgate/dialects/responses.hpp"
#include "tollgate/providers/json_scan.hpp"
#include "tollgate/sse/sse.hpp"
#include "tollgate/providers/json_build.hpp"
#include "responses/json_text.hpp"

namespace tg::dialects {

namespace {

using json = nlohmann::json;
namespace rs = responses;
namespace pj = providers::json_scan;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the call keeps of the answer to store it, whichever way it came.
struct Answer {
  std::string text;  // the final Response object as JSON text; "" until there is one
};

// The stored turn's id and output items, read from its Response's text without parsing it.
bool read_answer(std::string_view text, std::string& id, std::string_view& output) {
  std::string_view raw_id;
  bool whole = pj::for_each_member(text, [&](std::string_view key, size_t b, size_t e) {
    if (key == "id") raw_id = text.substr(b, e - b);
    if (key == "output") output = text.substr(b, e - b);
    return true;
  });
  std::string scratch;
  auto value = rs::detail::json_string_value(raw_id, scratch);
  if (!whole || !value || value->empty() || output.empty() || output.front() != '[') return false;
  id = std::string(*value);
  return true;
}

// store: true, OpenAI's default (a store of another type is refused by the translation).
bool stored(const json& body) {
  const json* s = member(body, "store");
  return !s || !s->is_boolean() || s->get<bool>();
}

// A native target's events are the client's: passed through as they are. The terminal event's
// Response is read (and only that event parsed) so that the turn can be stored. When Tollgate
// expanded a stored conversation for the target (which then never saw previous_response_id),
// the Response objects in the events get the client's previous_response_id back.
class NativeEgress final : public Egress {
 public:
  NativeEgress(Answer& answer, std::string previous_id, bool keep)
      : answer_(answer), previous_id_(std::move(previous_id)), keep_(keep) {}
  void feed(std::string_view canonical, std::string& out) override {
    if (previous_id_.empty()) {
      out.append(canonical);
      if (!keep_) return;  // nothing to store: the bytes pass as they are
    }
    decoder_.feed(canonical, events_);
    for (const auto& e : events_) {
      const bool terminal = e.event == "response.completed" || e.event == "response.incomplete";
      if (previous_id_.empty()) {  // only the terminal event's Response, as written, to store
        if (terminal) keep_response(e.data);
        continue;
      }
      json data = providers::json_scan::parse(e.data);
      const bool carries = data.is_object() && data.contains("response") && data["response"].is_object();
      if (carries) data["response"]["previous_response_id"] = previous_id_;
      // Re-emitted, event by event.
      if (!e.event.empty()) out.append("event: ").append(e.event).append("\n");
      out.append("data: ");
      out.append(carries ? data.dump(-1, ' ', false, json::error_handler_t::replace) : e.data);
      out.append("\n\n");
      if (terminal && carries && keep_) {
        answer_.text = data["response"].dump(-1, ' ', false, json::error_handler_t::replace);
      }
    }
    events_.clear();
  }
  void finish(std::string&) override {}  // the upstream's own terminal event ended it
  void keep_response(std::string_view data) {
    pj::for_each_member(data, [&](std::string_view key, size_t b, size_t e) {
      if (key != "response") return true;
      if (data[b] == '{') answer_.text.assign(data.substr(b, e - b));
      return false;
    });
  }
  void fail(const Error& e, std::string& out) override {
    json event = {{"type", "error"},
                  {"code", e.code_str.empty() ? json() : json(e.code_str)},
                  {"message", e.message},
                  {"param", e.param ? json(*e.param) : json()}};
    out += "event: error\ndata: ";
    out += event.dump(-1, ' ', false, json::error_handler_t::replace);
    out += "\n\n";
  }

 private:
  Answer& answer_;
  std::string previous_id_;  // set when the conversation was expanded for the target
  bool keep_;                // store: true
  sse::Decoder decoder_;
  std::vector<sse::Event> events_;
};

// Any other target's chat chunks, converted to the Responses event sequence.
class ConvertingEgress final : public Egress {
 public:
  ConvertingEgress(rs::ResponseInfo info, Answer& answer)
      : keep_(info.store), converter_(std::move(info)), answer_(answer) {}
  void feed(std::string_view canonical, std::string& out) override {
    converter_.feed(canonical, out);
  }
  void finish(std::string& out) override {
    converter_.finish(out);
    if (keep_) answer_.text = converter_.response_text();
  }
  void fail(const Error& e, std::string& out) override { converter_.fail(e, out); }

 private:
  bool keep_;  // store: true
  rs::StreamConverter converter_;
  Answer& answer_;
};

// The translation to chat is made when a translated target is first attempted, not before: a
// request that only native targets serve (store: false, no stored conversation) costs no more
// than a chat request. One that continues a stored conversation or is stored is translated at
// once (the store needs its input items; the translation reads the conversation).
class ResponsesCall final : public Call {
 public:
  void continues(std::string id) { previous_id_ = std::move(id); }

  // Reads what routing and budgets need (model, stream, store, max_output_tokens); false when
  // the body needs the full parse to say what is wrong with it (translate() then tells).
  bool read_head(const json& body) {
    const json* model = member(body, "model");
    if (!model || !model->is_string() || model->get_ref<const std::string&>().empty()) return false;
    auto flag = [&](const char* key, bool& out) {
      const json* v = member(body, key);
      if (v && !v->is_boolean()) return false;
      if (v) out = v->get<bool>();
      return true;
    };
    bool stream = false;
    if (!flag("stream", stream) || !flag("store", store_)) return false;
    if (const json* p = member(body, "previous_response_id"); p && !p->is_string()) return false;
    head(model->get<std::string>(), stream);
    // Budgets read the canonical body's max_completion_tokens: the same value, under the name
    // requested_max_output also reads.
    budget_ = json::object();
    if (const json* m = member(body, "max_output_tokens")) budget_["max_output_tokens"] = *m;
    req_.set_doc(&budget_);
    return true;
  }

  // Takes the client's body once parse has read it.
  void adopt(json&& native, std::string_view raw, const json* history) {
    native_ = std::move(native);
    // The native request: the client's body, its conversation expanded when it continues one
    // (the target may not be the one that answered before).
    if (history) {
      json input = *history;
      auto in = native_.find("input");
      if (in != native_.end() && in->is_string()) {
        input.push_back({{"type", "message"}, {"role", "user"}, {"content", *in}});
      } else if (in != native_.end() && in->is_array()) {
        for (auto& item : *in) input.push_back(std::move(item));
      }
      native_["input"] = std::move(input);
      native_.erase("previous_response_id");
      native_req_.raw_body = {};  // changed: serialised again
    } else {
      native_req_.raw_body = raw;
    }
    native_req_.set_doc(&native_);
    native_req_.native_body = &native_;
    native_req_.ingress = providers::Ingress::Responses;
    native_req_.endpoint = providers::Endpoint::Responses;
    req_.native_body = &native_;
    req_.ingress = providers::Ingress::Responses;
    req_.endpoint = providers::Endpoint::ChatCompletions;
  }

  // Parses the translation. A body with built-in tools (which only a native target runs) is
  // parsed for a native target: what the store needs, and a chat form without them.
  std::optional<Error> translate(const json& client_body, const json& history,
                                 std::string_view raw_body) {
    translated_ = true;
    refusal_ = rs::refuse_builtin_tools(client_body);
    rs::ParseOptions options;
    options.native_target = refusal_.has_value();
    options.builtin_tools_checked = true;
    options.input_items = stored(client_body);  // only a stored turn keeps them
    options.raw_body = raw_body;
    auto parsed = rs::parse_request(client_body, history, options);
    if (auto* e = std::get_if<Error>(&parsed)) return std::move(*e);
    parsed_ = std::move(std::get<rs::Request>(parsed));
    canonical_ = std::move(parsed_.chat);
    req_.set_doc(&canonical_);
    if (parsed_.model.empty()) {
      return Error::bad_request("Missing required parameter: 'model'.", "model");
    }
    store_ = parsed_.store;
    head(parsed_.model, parsed_.stream);
    info_.echo = std::move(parsed_.echo);
    info_.echo_tools = std::move(parsed_.echo_tools);
    info_.tools = std::move(parsed_.tools);  // flattened (namespaced) tool names map back
    return std::nullopt;
  }

  const providers::ClientRequest& request_for(bool native) const override {
    return native ? native_req_ : req_;
  }
  std::optional<Error> refuse(bool native) override {
    if (native) return std::nullopt;
    if (!translated_) {
      // The first translated attempt: an invalid body is refused now, as a 400 (the history is
      // empty: a request that continues one was translated at once).
      static const json kNone = json::array();
      if (auto e = translate(native_, kNone, native_req_.raw_body)) {
        translation_error_ = std::move(e);
      }
    }
    if (translation_error_) return translation_error_;
    return refusal_;
  }

  std::string render(std::string&& body, bool native) override {
    if (native) {
      if (previous_id_.empty()) {
        if (store_) answer_.text = body;
        return std::move(body);
      }
      json response = providers::json_scan::parse(body);
      if (!response.is_object()) return std::move(body);
      // The target never saw previous_response_id (the conversation was expanded for it).
      response["previous_response_id"] = previous_id_;
      std::string text = response.dump(-1, ' ', false, json::error_handler_t::replace);
      if (store_) answer_.text = text;
      return text;
    }
    std::string text = rs::build_response_text(body, info_);
    if (store_) answer_.text = text;
    return text;
  }
  std::unique_ptr<Egress> egress(bool native) override {
    if (native) return std::make_unique<NativeEgress>(answer_, previous_id_, store_);
    return std::make_unique<ConvertingEgress>(info_, answer_);
  }
  // A stored answer carries its id: a cached copy would repeat it.
  bool cacheable() const override { return !req_.stream && !store_; }

  std::optional<StoredTurn> turn() override {
    if (!store_ || !translated_ || answer_.text.empty()) return std::nullopt;
    StoredTurn t;
    std::string_view output;
    if (!read_answer(answer_.text, t.id, output)) return std::nullopt;
    t.previous_id = previous_id_;
    t.output_items = std::string(output);
    t.input_items = parsed_.input_items.dump(-1, ' ', false, json::error_handler_t::replace);
    t.response = std::move(answer_.text);
    answer_.text.clear();
    return t;
  }

 private:
  // What every form of the request shares, and what a Response repeats of it.
  void head(std::string model, bool stream) {
    for (auto* r : {&req_, &native_req_}) {
      r->model = model;
      r->stream = stream;
      r->client_wants_usage = true;  // the usage chunk feeds response.completed
    }
    if (info_.id.empty()) {
      info_.id = rs::new_id("resp_");
      info_.created_at = unix_now();
    }
    info_.model = std::move(model);
    info_.previous_response_id = previous_id_;
    info_.store = store_;
  }

  std::string previous_id_;  // the conversation it continues, "" for none
  json native_;
  json canonical_;
  json budget_;  // before the translation: the members budgets read
  providers::ClientRequest native_req_;
  rs::Request parsed_;
  rs::ResponseInfo info_;
  bool translated_ = false;
  bool store_ = true;  // OpenAI's default
  std::optional<Error> translation_error_;
  std::optional<Error> refusal_;  // set when only a native target can serve it
  Answer answer_;
};

class ResponsesCodec final : public Codec {
 public:
  std::string_view name() const override { return "responses"; }

  std::optional<std::string> continues(const json& body) const override {
    auto p = body.find("previous_response_id");
    if (p == body.end() || !p->is_string() || p->get_ref<const std::string&>().empty()) {
      return std::nullopt;
    }
    return p->get<std::string>();
  }

  std::variant<std::unique_ptr<Call>, Error> parse(json&& body,
                                                   const ClientInput& in) const override {
    static const json kNone = json::array();
    auto call = std::make_unique<ResponsesCall>();
    if (auto p = body.find("previous_response_id"); p != body.end() && p->is_string()) {
      call->continues(p->get<std::string>());
    }
    // Translated now only when it must be (see ResponsesCall).
    const bool lazy = !in.history && call->read_head(body) && !stored(body);
    if (!lazy) {
      if (auto e = call->translate(body, in.history ? *in.history : kNone, in.body)) {
        return std::move(*e);
      }
    }
    call->adopt(std::move(body), in.body, in.history);
    return std::unique_ptr<Call>(std::move(call));
  }
};

}  // namespace

const Codec& responses_codec() {
  static const ResponsesCodec codec;
  return codec;
}

}  // namespace tg::dialects
