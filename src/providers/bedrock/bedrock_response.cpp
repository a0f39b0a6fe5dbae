// Converse answers -> chat.completion (provider-formats.md 4.3, 4.8), ConverseStream frames ->
// chat.completion.chunk events (4.4, 4.5, 1.4).

#include <atomic>
#include <ctime>
#include <map>
#include <random>

#include "tollgate/core/json_access.hpp"
#include "tollgate/providers/json_build.hpp"
#include "bedrock_adapter.hpp"
#include "bedrock_errors.hpp"
#include "eventstream.hpp"

namespace tg::providers {
namespace bedrock {
namespace {

using json = nlohmann::json;

using ojson = nlohmann::ordered_json;

template <class J>
std::string dump(const J& j) { return j.dump(-1, ' ', false, J::error_handler_t::replace); }

int64_t int_of(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}


std::string_view str(const json* j) {
  return j && j->is_string() ? std::string_view(j->get_ref<const std::string&>()) : std::string_view();
}

}  // namespace

std::string_view finish_reason(std::string_view r) {
  if (r == "end_turn" || r == "stop_sequence") return "stop";
  if (r == "max_tokens" || r == "model_context_window_exceeded") return "length";
  if (r == "tool_use") return "tool_calls";
  if (r == "guardrail_intervened" || r == "content_filtered") return "content_filter";
  return "stop";  // malformed_model_output, malformed_tool_use, anything new
}

nlohmann::ordered_json openai_usage(const json& u, Usage* out) {
  const int64_t input = int_of(u, "inputTokens");
  const int64_t output = int_of(u, "outputTokens");
  const int64_t cache_read = int_of(u, "cacheReadInputTokens");
  const int64_t cache_write = int_of(u, "cacheWriteInputTokens");
  const int64_t prompt = input + cache_read + cache_write;  // inputTokens excludes the cache
  if (out) {
    out->present = u.is_object() && !u.empty();
    out->input = prompt;
    out->output = output;
    out->cached_read = cache_read;
    out->cache_write = cache_write;
    out->reasoning = 0;  // Converse does not report thinking tokens apart (they are in output)
  }
  return {{"prompt_tokens", prompt},
          {"completion_tokens", output},
          {"total_tokens", prompt + output},
          {"prompt_tokens_details", {{"cached_tokens", cache_read}, {"cache_write_tokens", cache_write}}},
          {"completion_tokens_details", {{"reasoning_tokens", 0}}}};
}

std::string new_completion_id() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng() ^ counter.fetch_add(1, std::memory_order_relaxed);
  char buf[40];
  std::snprintf(buf, sizeof buf, "chatcmpl-%016llx", static_cast<unsigned long long>(a));
  return buf;
}

namespace {

// ---- ConverseStream -> chat.completion.chunk ----

class StreamTranslatorImpl final : public StreamTranslator {
 public:
  explicit StreamTranslatorImpl(const ClientRequest& req)
      : wants_usage_(req.client_wants_usage), json_mode_(json_mode_requested(req.doc())) {
    prefix_ = R"({"id":")" + new_completion_id() + R"(","object":"chat.completion.chunk","created":)" +
              std::to_string(std::time(nullptr)) + R"(,"model":)" + dump(json(req.model));
  }

  StreamStatus on_bytes(std::string_view bytes, std::string& out) override {
    if (done_) return StreamStatus::Done;
    if (!decoder_es_.feed(bytes, messages_)) {
      // Messages completed before the corrupt frame are still translated.
      for (const auto& m : messages_) {
        StreamStatus st = on_message(m, out);
        if (st != StreamStatus::Continue) return st;
      }
      return corrupt(decoder_es_.error(), out);
    }
    for (const auto& m : messages_) {
      StreamStatus st = on_message(m, out);
      if (st != StreamStatus::Continue) return st;
    }
    return StreamStatus::Continue;
  }

  // Bedrock streams are binary; on_bytes never hands SSE events here.
  StreamStatus on_event(const sse::Event&, std::string&) override { return StreamStatus::Malformed; }

  StreamStatus on_end(std::string& out) override {
    if (done_) return StreamStatus::Done;
    if (finished_) return StreamStatus::Done;  // messageStop came, metadata (usage) did not
    if (events_out_ == 0 && decoder_es_.pending() > 0) return StreamStatus::Malformed;
    return StreamStatus::Continue;  // cut short
  }

 private:
  StreamStatus corrupt(std::string_view why, std::string& out) {
    if (events_out_ == 0) return StreamStatus::Malformed;
    error_event(out, std::string("Bedrock event stream is corrupt: ") + std::string(why), "api_error",
                "upstream_error");
    return StreamStatus::UpstreamError;
  }

  void error_event(std::string& out, const std::string& message, std::string_view type,
                   std::string_view code) {
    ojson err = {{"message", message},
                 {"type", type},
                 {"param", nullptr},
                 {"code", code.empty() ? ojson(nullptr) : ojson(code)}};
    sse::append_data_event(out, dump(ojson{{"error", std::move(err)}}));
    ++events_out_;
  }

  // One chunk with a choice: `delta` is the JSON text of the delta object.
  void chunk(std::string& out, std::string_view delta, std::string_view finish = {}) {
    if (!role_sent_) {
      role_sent_ = true;
      chunk(out, R"({"role":"assistant","content":""})");
    }
    line_.clear();
    line_ += prefix_;
    line_ += R"(,"choices":[{"index":0,"delta":)";
    line_ += delta;
    line_ += R"(,"logprobs":null,"finish_reason":)";
    if (finish.empty()) {
      line_ += "null";
    } else {
      line_ += '"';
      line_ += finish;
      line_ += '"';
    }
    line_ += "}]";
    if (wants_usage_) line_ += R"(,"usage":null)";
    line_ += '}';
    sse::append_data_event(out, line_);
    ++events_out_;
  }

  StreamStatus on_message(const eventstream::Message& m, std::string& out) {
    std::string_view mtype = m.header(":message-type");
    if (mtype == "exception" || mtype == "error") {
      std::string_view name = m.header(":exception-type");
      if (name.empty()) name = m.header(":error-code");
      std::string message(m.header(":error-message"));
      json p = json_scan::parse(m.payload);
      if (p.is_object()) {
        if (auto msg = str(member(p, "message")); !msg.empty()) message = msg;
        else if (auto msg2 = str(member(p, "Message")); !msg2.empty()) message = msg2;
      }
      StreamError e = stream_error(name, message);
      error_event(out, e.message, e.type, e.code);
      return StreamStatus::UpstreamError;
    }
    if (!mtype.empty() && mtype != "event") return StreamStatus::Continue;
    std::string_view event = m.header(":event-type");
    json p = json_scan::parse(m.payload);
    if (!p.is_object()) {
      return corrupt("an event's payload is not a JSON object", out);
    }
    if (event == "messageStart") {
      return StreamStatus::Continue;  // the role chunk goes out with the first content
    }
    if (event == "contentBlockStart") {
      const json* start = member(p, "start");
      const json* tu = start ? member(*start, "toolUse") : nullptr;
      if (!tu) return StreamStatus::Continue;
      const int64_t block = int_of(p, "contentBlockIndex");
      std::string_view name = str(member(*tu, "name"));
      if (json_mode_ && name == kJsonTool) {
        blocks_[block] = {kJsonBlock, false};
        return StreamStatus::Continue;
      }
      const int index = next_tool_++;
      blocks_[block] = {index, false};
      ojson d = {{"tool_calls",
                  ojson::array({{{"index", index},
                                 {"id", str(member(*tu, "toolUseId"))},
                                 {"type", "function"},
                                 {"function", {{"name", name}, {"arguments", ""}}}}})}};
      chunk(out, dump(d));
      return StreamStatus::Continue;
    }
    if (event == "contentBlockDelta") {
      const json* delta = member(p, "delta");
      if (!delta) return StreamStatus::Continue;
      if (const json* text = member(*delta, "text"); text && text->is_string()) {
        if (!text->get_ref<const std::string&>().empty()) chunk(out, dump(json{{"content", *text}}));
      } else if (const json* tu = member(*delta, "toolUse")) {
        std::string_view input = str(member(*tu, "input"));
        auto it = blocks_.find(int_of(p, "contentBlockIndex"));
        if (it == blocks_.end() || input.empty()) return StreamStatus::Continue;
        it->second.has_input = true;
        if (it->second.index == kJsonBlock) {
          chunk(out, dump(json{{"content", input}}));
        } else {
          chunk(out, dump(ojson{{"tool_calls", ojson::array({{{"index", it->second.index},
                                                                {"function", {{"arguments", input}}}}})}}));
        }
      } else if (const json* rc = member(*delta, "reasoningContent")) {
        // Text only: signatures and redacted content have no place in OpenAI's shape.
        if (auto text = str(member(*rc, "text")); !text.empty()) {
          chunk(out, dump(json{{"reasoning_content", text}}));
        }
      }
      return StreamStatus::Continue;
    }
    if (event == "messageStop") {
      std::string_view reason = finish_reason(str(member(p, "stopReason")));
      if (reason == "tool_calls" && next_tool_ == 0) reason = "stop";  // only the JSON tool
      chunk(out, "{}", reason);
      finished_ = true;
      return StreamStatus::Continue;
    }
    if (event == "metadata") {
      ojson usage = openai_usage(p.contains("usage") ? p["usage"] : json::object(), &usage_);
      if (!finished_) {  // metadata before messageStop: finish anyway
        chunk(out, "{}", "stop");
        finished_ = true;
      }
      if (wants_usage_) {
        line_.clear();
        line_ += prefix_;
        line_ += R"(,"choices":[],"usage":)";
        line_ += dump(usage);
        line_ += '}';
        sse::append_data_event(out, line_);
        ++events_out_;
      }
      done_ = true;
      return StreamStatus::Done;
    }
    if (event == "contentBlockStop") {
      // A tool called without arguments streams no input: give the client "{}" rather than "".
      auto it = blocks_.find(int_of(p, "contentBlockIndex"));
      if (it != blocks_.end() && !it->second.has_input) {
        it->second.has_input = true;
        if (it->second.index == kJsonBlock) {
          chunk(out, R"({"content":"{}"})");
        } else {
          chunk(out, R"({"tool_calls":[{"index":)" + std::to_string(it->second.index) +
                         R"(,"function":{"arguments":"{}"}}]})");
        }
      }
      return StreamStatus::Continue;
    }
    return StreamStatus::Continue;  // unknown events
  }

  static constexpr int kJsonBlock = -1;
  struct Block {
    int index = 0;  // OpenAI tool-call index, or kJsonBlock
    bool has_input = false;
  };
  bool wants_usage_;
  bool json_mode_;
  std::string prefix_;  // {"id":...,"object":...,"created":...,"model":...
  std::string line_;
  eventstream::Decoder decoder_es_;
  std::vector<eventstream::Message> messages_;
  std::map<int64_t, Block> blocks_;  // tool-use blocks by contentBlockIndex
  int next_tool_ = 0;
  bool role_sent_ = false;
  bool finished_ = false;
  bool done_ = false;
};

}  // namespace
}  // namespace bedrock

Response BedrockAdapter::translate_response(const ClientRequest& req, std::string&& body) const {
  using json = nlohmann::json;
  using ojson = nlohmann::ordered_json;
  Response r;
  json j = json_scan::parse(body);
  const json* message = nullptr;
  if (j.is_object()) {
    if (auto o = j.find("output"); o != j.end() && o->is_object()) {
      if (auto m = o->find("message"); m != o->end() && m->is_object()) message = &*m;
    }
  }
  if (!message) {
    r.error = Error::upstream_protocol("bedrock", "Converse answer without output.message");
    return r;
  }
  const bool json_mode = bedrock::json_mode_requested(req.doc());
  std::string content, reasoning;
  bool any_text = false;
  ojson tool_calls = ojson::array();
  if (auto c = message->find("content"); c != message->end() && c->is_array()) {
    for (const json& block : *c) {
      if (!block.is_object()) continue;
      if (auto t = block.find("text"); t != block.end() && t->is_string()) {
        content += t->get_ref<const std::string&>();
        any_text = true;
      } else if (auto tu = block.find("toolUse"); tu != block.end() && tu->is_object()) {
        std::string name(str_member(*tu, "name"));
        std::string args = tu->contains("input") ? (*tu)["input"].dump(-1, ' ', false,
                                                                        json::error_handler_t::replace)
                                                 : "{}";
        if (json_mode && name == bedrock::kJsonTool) {
          content += args;
          any_text = true;
          continue;
        }
        tool_calls.push_back({{"id", str_member(*tu, "toolUseId")},
                              {"type", "function"},
                              {"function", {{"name", std::move(name)}, {"arguments", std::move(args)}}}});
      } else if (auto rc = block.find("reasoningContent"); rc != block.end() && rc->is_object()) {
        if (auto rt = rc->find("reasoningText"); rt != rc->end() && rt->is_object()) {
          if (auto t = rt->find("text"); t != rt->end() && t->is_string()) {
            reasoning += t->get_ref<const std::string&>();
          }
        }
      }
    }
  }
  ojson msg = {{"role", "assistant"}};
  if (any_text || tool_calls.empty()) msg["content"] = std::move(content);
  else msg["content"] = nullptr;
  msg["refusal"] = nullptr;
  if (!reasoning.empty()) msg["reasoning_content"] = std::move(reasoning);
  const bool has_tools = !tool_calls.empty();
  if (has_tools) msg["tool_calls"] = std::move(tool_calls);

  std::string_view stop = j.contains("stopReason") && j["stopReason"].is_string()
                              ? std::string_view(j["stopReason"].get_ref<const std::string&>())
                              : std::string_view("end_turn");
  std::string_view finish = bedrock::finish_reason(stop);
  if (finish == "tool_calls" && !has_tools) finish = "stop";  // the JSON tool's answer

  ojson out = {{"id", bedrock::new_completion_id()},
              {"object", "chat.completion"},
              {"created", static_cast<int64_t>(std::time(nullptr))},
              {"model", req.model},
              {"choices", ojson::array({{{"index", 0},
                                        {"message", std::move(msg)},
                                        {"logprobs", nullptr},
                                        {"finish_reason", finish}}})},
              {"usage", bedrock::openai_usage(j.contains("usage") ? j["usage"] : json::object(), &r.usage)}};
  r.body = out.dump(-1, ' ', false, ojson::error_handler_t::replace);
  return r;
}

std::unique_ptr<StreamTranslator> BedrockAdapter::make_stream_translator(
    const ClientRequest& req) const {
  return std::make_unique<bedrock::StreamTranslatorImpl>(req);
}

}  // namespace tg::providers
