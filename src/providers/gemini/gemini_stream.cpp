// Gemini streamGenerateContent?alt=sse -> OpenAI chat.completion.chunk events.
//
// Each upstream SSE event is a whole GenerateContentResponse holding only the new parts. There is
// no sentinel: the stream is complete when every candidate has had its finishReason and the body
// ends (on_end). Usage is the last usageMetadata seen; its chunk goes out at the end, and only
// when the client asked for it.

#include <ctime>

#include "gemini_internal.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers::gemini {
namespace {

void append_json_string(std::string& out, std::string_view s) {
  out += json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

class GeminiStreamTranslator final : public StreamTranslator {
 public:
  GeminiStreamTranslator(bool client_wants_usage, std::string model)
      : client_wants_usage_(client_wants_usage),
        fallback_model_(std::move(model)),
        created_(static_cast<int64_t>(std::time(nullptr))) {}

  StreamStatus on_event(const sse::Event& event, std::string& out) override {
    std::string_view data = event.data;
    if (data.empty()) return StreamStatus::Continue;
    if (data == "[DONE]") return finish(out);
    json j = json_scan::parse(data);
    if (!j.is_object()) return StreamStatus::Malformed;
    if (auto e = j.find("error"); e != j.end() && e->is_object()) {
      int code = e->contains("code") && (*e)["code"].is_number_integer() ? (*e)["code"].get<int>() : 500;
      Error err = map_error("gemini", code, data, "");
      err.message = "Gemini stream error: " + std::string(str_or(*e, "message", "unknown error"));
      sse::append_data_event(out, render_error_body(err));
      ++events_out_;
      return StreamStatus::UpstreamError;
    }
    if (prefix_.empty()) start(j);
    if (auto um = j.find("usageMetadata"); um != j.end() && um->is_object()) {
      usage_json_ = usage_json(*um, &usage_);
    }
    bool any = false;
    if (auto cands = j.find("candidates"); cands != j.end() && cands->is_array()) {
      int64_t position = 0;
      for (const auto& c : *cands) {
        int64_t index = c.contains("index") && c["index"].is_number_integer()
                            ? c["index"].get<int64_t>()
                            : position;
        ++position;
        if (index < 0 || index > 1024) continue;
        candidate(c, static_cast<size_t>(index), out);
        any = true;
      }
    }
    if (!any) {
      if (auto pf = j.find("promptFeedback"); pf != j.end() && string_at(*pf, "blockReason")) {
        // A blocked prompt: an empty answer finished by the content filter.
        Choice& ch = choice(0);
        if (!ch.finished) {
          role(0, ch, out);
          chunk(0, "{}", "\"content_filter\"", out);
          ch.finished = true;
        }
      }
    }
    return StreamStatus::Continue;
  }

  StreamStatus on_end(std::string& out) override {
    if (choices_.empty()) return StreamStatus::Continue;
    for (const auto& c : choices_) {
      if (c.seen && !c.finished) return StreamStatus::Continue;  // cut short
    }
    return finish(out);
  }

 private:
  struct Choice {
    bool seen = false;
    bool role_sent = false;
    bool finished = false;
    int tool_calls = 0;
  };

  Choice& choice(size_t index) {
    if (choices_.size() <= index) choices_.resize(index + 1);
    choices_[index].seen = true;
    return choices_[index];
  }

  void start(const json& j) {
    const std::string* rid = string_at(j, "responseId");
    const std::string* mv = string_at(j, "modelVersion");
    prefix_ = "{\"id\":";
    append_json_string(prefix_, rid ? "chatcmpl-" + *rid : std::string("chatcmpl-gemini"));
    prefix_ += ",\"object\":\"chat.completion.chunk\",\"created\":";
    prefix_ += std::to_string(created_);
    prefix_ += ",\"model\":";
    append_json_string(prefix_, mv ? *mv : fallback_model_);
  }

  // One chat.completion.chunk with one choice.
  void chunk(size_t index, std::string_view delta, std::string_view finish, std::string& out) {
    std::string& e = scratch_;
    e.clear();
    e += prefix_;
    e += ",\"choices\":[{\"index\":";
    e += std::to_string(index);
    e += ",\"delta\":";
    e += delta;
    e += ",\"logprobs\":null,\"finish_reason\":";
    e += finish;
    e += "}]}";
    sse::append_data_event(out, e);
    ++events_out_;
  }

  void role(size_t index, Choice& ch, std::string& out) {
    if (ch.role_sent) return;
    ch.role_sent = true;
    chunk(index, R"({"role":"assistant","content":""})", "null", out);
  }

  void text_delta(size_t index, std::string_view key, std::string_view text, std::string& out) {
    std::string delta = "{\"";
    delta += key;
    delta += "\":";
    append_json_string(delta, text);
    delta += '}';
    chunk(index, delta, "null", out);
  }

  void candidate(const json& c, size_t index, std::string& out) {
    Choice& ch = choice(index);
    if (ch.finished) return;  // nothing after a candidate's finish
    role(index, ch, out);
    // Adjacent parts of one kind go out as one delta.
    std::string pending;
    bool pending_thought = false;
    auto flush = [&] {
      if (pending.empty()) return;
      text_delta(index, pending_thought ? "reasoning_content" : "content", pending, out);
      pending.clear();
    };
    if (auto content = c.find("content"); content != c.end() && content->is_object()) {
      if (auto parts = content->find("parts"); parts != content->end() && parts->is_array()) {
        for (const auto& p : *parts) {
          if (const auto* t = string_at(p, "text")) {
            if (t->empty()) continue;
            const bool thought = bool_or(p, "thought");
            if (thought != pending_thought) flush();
            pending_thought = thought;
            pending += *t;
          } else if (auto fc = p.find("functionCall"); fc != p.end() && fc->is_object()) {
            flush();
            const std::string* sig = string_at(p, "thoughtSignature");
            const json& args = member(*fc, "args");
            std::string delta = "{\"tool_calls\":[{\"index\":";
            delta += std::to_string(ch.tool_calls++);
            delta += ",\"id\":";
            append_json_string(delta, tool_call_id(next_call_++, sig ? std::string_view(*sig) : ""));
            delta += ",\"type\":\"function\",\"function\":{\"name\":";
            append_json_string(delta, str_or(*fc, "name"));
            delta += ",\"arguments\":";
            append_json_string(delta, args.is_null() ? std::string("{}") : args.dump());
            delta += "}}]}";
            chunk(index, delta, "null", out);
          }
        }
      }
    }
    flush();
    if (const auto* fr = string_at(c, "finishReason")) {
      std::string finish = "\"";
      finish += finish_reason(*fr, ch.tool_calls > 0);
      finish += '"';
      chunk(index, "{}", finish, out);
      ch.finished = true;
    }
  }

  StreamStatus finish(std::string& out) {
    if (done_) return StreamStatus::Done;
    done_ = true;
    if (client_wants_usage_ && usage_.present && !prefix_.empty()) {
      std::string e = prefix_;
      e += ",\"choices\":[],\"usage\":";
      e += usage_json_.dump();
      e += '}';
      sse::append_data_event(out, e);
      ++events_out_;
    }
    return StreamStatus::Done;
  }

  bool client_wants_usage_;
  std::string fallback_model_;
  int64_t created_;
  std::string prefix_;  // {"id":...,"object":...,"created":...,"model":...
  std::string scratch_;
  std::vector<Choice> choices_;
  int64_t next_call_ = 0;
  ojson usage_json_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<StreamTranslator> make_stream(const ClientRequest& req) {
  return std::make_unique<GeminiStreamTranslator>(req.client_wants_usage, req.model);
}

}  // namespace tg::providers::gemini
