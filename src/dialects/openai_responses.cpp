// The OpenAI Responses dialect (POST /v1/responses): Codex CLI, the Vercel AI SDK, the OpenAI
// Agents SDK. A target that speaks Responses natively gets the client's body (with the stored
// conversation of previous_response_id expanded into `input`, so the conversation survives a
// failover to any provider); every other target gets the canonical chat translation
// (src/dialects/responses/). Either way the answer is kept for GET /v1/responses/{id} and the
// next turn when the client asked to store it.

#include <chrono>

#include "tollgate/dialects/dialect.hpp"
#include "tollgate/dialects/responses.hpp"
#include "tollgate/sse/sse.hpp"

namespace tg::dialects {

namespace {

using json = nlohmann::json;
namespace rs = responses;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the call keeps of the answer, whichever way it came.
struct Answer {
  json response;  // the final Response object; null until there is one
};

// A native target's events are the client's: passed through as they are. The terminal event's
// Response is read (and only that event parsed) so that the turn can be stored. When Tollgate
// expanded a stored conversation for the target (which then never saw previous_response_id),
// the Response objects in the events get the client's previous_response_id back.
class NativeEgress final : public Egress {
 public:
  NativeEgress(Answer& answer, std::string previous_id)
      : answer_(answer), previous_id_(std::move(previous_id)) {}
  void feed(std::string_view canonical, std::string& out) override {
    if (previous_id_.empty()) out.append(canonical);
    decoder_.feed(canonical, events_);
    for (const auto& e : events_) {
      const bool terminal = e.event == "response.completed" || e.event == "response.incomplete";
      if (!terminal && previous_id_.empty()) continue;
      json data = json::parse(e.data, nullptr, false);
      const bool carries = data.is_object() && data.contains("response") && data["response"].is_object();
      if (carries && !previous_id_.empty()) data["response"]["previous_response_id"] = previous_id_;
      if (!previous_id_.empty()) {  // re-emitted, event by event
        if (!e.event.empty()) out.append("event: ").append(e.event).append("\n");
        out.append("data: ");
        out.append(carries ? data.dump(-1, ' ', false, json::error_handler_t::replace) : e.data);
        out.append("\n\n");
      }
      if (terminal && carries) answer_.response = std::move(data["response"]);
    }
    events_.clear();
  }
  void finish(std::string&) override {}  // the upstream's own terminal event ended it
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
  sse::Decoder decoder_;
  std::vector<sse::Event> events_;
};

// Any other target's chat chunks, converted to the Responses event sequence.
class ConvertingEgress final : public Egress {
 public:
  ConvertingEgress(rs::ResponseInfo info, Answer& answer)
      : converter_(std::move(info)), answer_(answer) {}
  void feed(std::string_view canonical, std::string& out) override {
    converter_.feed(canonical, out);
  }
  void finish(std::string& out) override {
    converter_.finish(out);
    answer_.response = converter_.response();
  }
  void fail(const Error& e, std::string& out) override { converter_.fail(e, out); }

 private:
  rs::StreamConverter converter_;
  Answer& answer_;
};

class ResponsesCall final : public Call {
 public:
  // Takes the client's body once translate() has read it.
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
    native_req_.body = &native_;
    native_req_.native_body = &native_;
    native_req_.ingress = providers::Ingress::Responses;
    native_req_.endpoint = providers::Endpoint::Responses;
    req_.body = &canonical_;
    req_.native_body = &native_;
    req_.ingress = providers::Ingress::Responses;
    req_.endpoint = providers::Endpoint::ChatCompletions;
  }

  // Parses the translation. A body with built-in tools (which only a native target runs) is
  // parsed for a native target: what the store needs, and a chat form without them.
  std::optional<Error> translate(const json& client_body, const json& history) {
    refusal_ = rs::refuse_builtin_tools(client_body);
    rs::ParseOptions options;
    options.native_target = refusal_.has_value();
    auto parsed = rs::parse_request(client_body, history, options);
    if (auto* e = std::get_if<Error>(&parsed)) return std::move(*e);
    parsed_ = std::move(std::get<rs::Request>(parsed));
    canonical_ = std::move(parsed_.chat);
    if (parsed_.model.empty()) {
      return Error::bad_request("Missing required parameter: 'model'.", "model");
    }
    auto prev = client_body.find("previous_response_id");
    if (prev != client_body.end() && prev->is_string()) previous_id_ = prev->get<std::string>();
    for (auto* r : {&req_, &native_req_}) {
      r->model = parsed_.model;
      r->stream = parsed_.stream;
      r->client_wants_usage = true;  // the usage chunk feeds response.completed
    }
    info_.id = rs::new_id("resp_");
    info_.created_at = unix_now();
    info_.model = parsed_.model;
    info_.echo = parsed_.echo;
    info_.tools = parsed_.tools;  // flattened (namespaced) tool names map back
    info_.previous_response_id = previous_id_;
    info_.store = parsed_.store;
    return std::nullopt;
  }

  const providers::ClientRequest& request_for(bool native) const override {
    return native ? native_req_ : req_;
  }
  std::optional<Error> refuse(bool native) const override {
    if (native || !refusal_) return std::nullopt;
    return refusal_;
  }

  std::string render(std::string&& body, bool native) override {
    if (native) {
      if (!parsed_.store && previous_id_.empty()) return std::move(body);
      answer_.response = json::parse(body, nullptr, false);
      if (previous_id_.empty() || !answer_.response.is_object()) return std::move(body);
      // The target never saw previous_response_id (the conversation was expanded for it).
      answer_.response["previous_response_id"] = previous_id_;
      return answer_.response.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    answer_.response = rs::build_response(body, info_);
    return answer_.response.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  std::unique_ptr<Egress> egress(bool native) override {
    if (native) return std::make_unique<NativeEgress>(answer_, previous_id_);
    return std::make_unique<ConvertingEgress>(info_, answer_);
  }
  // A stored answer carries its id: a cached copy would repeat it.
  bool cacheable() const override { return !req_.stream && !parsed_.store; }

  std::optional<StoredTurn> turn() override {
    if (!parsed_.store || !answer_.response.is_object()) return std::nullopt;
    auto id = answer_.response.find("id");
    if (id == answer_.response.end() || !id->is_string()) return std::nullopt;
    StoredTurn t;
    t.id = id->get<std::string>();
    t.previous_id = previous_id_;
    t.input_items = parsed_.input_items;
    auto out = answer_.response.find("output");
    t.output_items = out != answer_.response.end() && out->is_array() ? *out : json::array();
    t.response = std::move(answer_.response);
    answer_.response = nullptr;
    return t;
  }

 private:
  json native_;
  json canonical_;
  providers::ClientRequest native_req_;
  rs::Request parsed_;
  rs::ResponseInfo info_;
  std::optional<Error> refusal_;  // set when only a native target can serve it
  std::string previous_id_;
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
    const json& history = in.history ? *in.history : kNone;
    auto call = std::make_unique<ResponsesCall>();
    if (auto e = call->translate(body, history)) return std::move(*e);
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
