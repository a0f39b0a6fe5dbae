// Anthropic Messages SSE (provider-formats.md 2.4) -> OpenAI chat.completion.chunk events (1.4),
// and the pass-through of Anthropic events for Anthropic-speaking clients.

#include <chrono>
#include <string>
#include <vector>

#include "anthropic_internal.hpp"
#include "tollgate/core/json_writer.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers::anthropic {
namespace {

std::string string_member(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& object_member(const json& obj, const char* key) {
  static const json kEmpty = json::object();
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? *it : kEmpty;
}

// The event's type: the data's "type" (Anthropic repeats it there), else the SSE event name.
std::string event_type(const sse::Event& ev, const json& j) {
  std::string t = string_member(j, "type");
  return t.empty() ? ev.event : t;
}

// The OpenAI-shaped error event for an Anthropic in-stream error.
void append_error_chunk(std::string& out, const json& j) {
  const json& err = object_member(j, "error");
  std::string type = string_member(err, "type");
  std::string message = string_member(err, "message");
  json e = {{"error",
             {{"message", message.empty() ? std::string("Anthropic stream error") : message},
              {"type", type.empty() ? std::string("api_error") : type},
              {"param", nullptr},
              {"code", type.empty() ? json(nullptr) : json(type)}}}};
  std::string text;
  append_json(text, e);
  sse::append_data_event(out, text);
}

class ChunkTranslator final : public StreamTranslator {
 public:
  ChunkTranslator(bool client_wants_usage, bool json_tool)
      : client_wants_usage_(client_wants_usage), json_tool_(json_tool) {}

  StreamStatus on_event(const sse::Event& ev, std::string& out) override {
    if (ev.data == "[DONE]") return end(out);  // not Anthropic's, but an end all the same
    json j = json_scan::parse(ev.data);
    if (!j.is_object()) return StreamStatus::Malformed;
    std::string type = event_type(ev, j);
    if (type == "ping") return StreamStatus::Continue;
    if (type == "error") {
      append_error_chunk(out, j);
      ++events_out_;
      return StreamStatus::UpstreamError;
    }
    if (type == "message_start") {
      const json& msg = object_member(j, "message");
      start(out, string_member(msg, "id"), string_member(msg, "model"));
      if (auto u = msg.find("usage"); u != msg.end()) update_usage(*u);
      return StreamStatus::Continue;
    }
    if (!started_) start(out, "", "");  // liberal: a stream without message_start
    if (type == "content_block_start") {
      on_block_start(j, out);
    } else if (type == "content_block_delta") {
      on_block_delta(j, out);
    } else if (type == "content_block_stop") {
      on_block_stop(j, out);
    } else if (type == "message_delta") {
      if (auto u = j.find("usage"); u != j.end()) update_usage(*u);
      std::string stop = string_member(object_member(j, "delta"), "stop_reason");
      std::string_view finish = finish_reason_for(stop);
      if (json_tool_ && finish == "tool_calls" && next_tool_ == 0) finish = "stop";
      finish_chunk(out, finish);
    } else if (type == "message_stop") {
      return end(out);
    }
    // Unknown event types are ignored, as Anthropic asks of clients.
    return StreamStatus::Continue;
  }

 private:
  StreamStatus end(std::string& out) {
    if (!started_) start(out, "", "");
    if (!finished_) finish_chunk(out, "stop");
    if (client_wants_usage_) {
      std::string u = "data: {\"id\":";
      u += id_json_;
      u += ",\"object\":\"chat.completion.chunk\",\"created\":";
      u += created_;
      u += ",\"model\":";
      u += model_json_;
      u += ",\"choices\":[],\"usage\":";
      u += openai_usage_json(usage_);
      u += "}\n\n";
      out += u;
      ++events_out_;
    }
    return StreamStatus::Done;
  }

  enum class Kind { Other, Text, Thinking, Redacted, Tool, JsonTool };
  struct Block {
    Kind kind = Kind::Other;
    int tool_index = 0;
    std::string thinking;
    std::string signature;
    std::string data;  // redacted_thinking
  };

  void update_usage(const json& u) {
    raw_usage_.overlay(u);
    usage_ = raw_usage_.normalised();
  }

  void start(std::string& out, const std::string& id, const std::string& model) {
    if (started_) return;
    started_ = true;
    id_json_.clear();
    append_json_string(id_json_, id);
    model_json_.clear();
    append_json_string(model_json_, model);
    created_ = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
    prefix_ = "data: {\"id\":" + id_json_ +
              ",\"object\":\"chat.completion.chunk\",\"created\":" + created_ +
              ",\"model\":" + model_json_ + ",\"choices\":[{\"index\":0,\"delta\":";
    chunk(out, R"({"role":"assistant","content":""})");
  }

  void chunk(std::string& out, std::string_view delta, std::string_view finish = "null") {
    out += prefix_;
    out += delta;
    out += ",\"logprobs\":null,\"finish_reason\":";
    out += finish;
    out += "}]}\n\n";
    ++events_out_;
  }

  void finish_chunk(std::string& out, std::string_view finish) {
    if (finished_) return;
    finished_ = true;
    std::string f = "\"";
    f += finish;
    f += '"';
    chunk(out, "{}", f);
  }

  // A text/reasoning delta: {"<field>":<the JSON string as received>}.
  void text_delta(std::string& out, std::string_view field, const json& text) {
    std::string d = "{\"";
    d += field;
    d += "\":";
    append_json(d, text);
    d += '}';
    chunk(out, d);
  }

  void arguments_delta(std::string& out, int tool_index, const json& piece) {
    std::string d = "{\"tool_calls\":[{\"index\":";
    d += std::to_string(tool_index);
    d += ",\"function\":{\"arguments\":";
    append_json(d, piece);
    d += "}}]}";
    chunk(out, d);
  }

  Block* block_at(const json& j, bool create) {
    auto it = j.find("index");
    if (it == j.end() || !it->is_number_integer()) return nullptr;
    int64_t idx = it->get<int64_t>();
    if (idx < 0 || idx > 100000) return nullptr;
    if (static_cast<size_t>(idx) >= blocks_.size()) {
      if (!create) return nullptr;
      blocks_.resize(static_cast<size_t>(idx) + 1);
    }
    return &blocks_[static_cast<size_t>(idx)];
  }

  void on_block_start(const json& j, std::string& out) {
    Block* b = block_at(j, true);
    if (!b) return;
    *b = Block{};
    const json& cb = object_member(j, "content_block");
    std::string type = string_member(cb, "type");
    if (type == "text") {
      b->kind = Kind::Text;
      if (auto t = cb.find("text");
          t != cb.end() && t->is_string() && !t->get_ref<const std::string&>().empty()) {
        text_delta(out, "content", *t);
      }
    } else if (type == "thinking") {
      b->kind = Kind::Thinking;
      b->thinking = string_member(cb, "thinking");
      b->signature = string_member(cb, "signature");
      if (!b->thinking.empty()) text_delta(out, "reasoning_content", cb["thinking"]);
    } else if (type == "redacted_thinking") {
      b->kind = Kind::Redacted;
      b->data = string_member(cb, "data");
    } else if (type == "tool_use") {
      std::string name = string_member(cb, "name");
      const json& input = object_member(cb, "input");
      if (json_tool_ && name == kJsonToolName) {
        b->kind = Kind::JsonTool;
        if (!input.empty()) {
          std::string text;
          append_json(text, input);
          text_delta(out, "content", json(text));
        }
        return;
      }
      b->kind = Kind::Tool;
      b->tool_index = next_tool_++;
      std::string d = "{\"tool_calls\":[{\"index\":";
      d += std::to_string(b->tool_index);
      d += ",\"id\":";
      append_json_string(d, string_member(cb, "id"));
      d += ",\"type\":\"function\",\"function\":{\"name\":";
      append_json_string(d, name);
      d += ",\"arguments\":\"\"}}]}";
      chunk(out, d);
      if (!input.empty()) {
        std::string args;
        append_json(args, input);
        arguments_delta(out, b->tool_index, json(args));
      }
    }
  }

  void on_block_delta(const json& j, std::string& out) {
    Block* b = block_at(j, false);
    if (!b) return;
    const json& d = object_member(j, "delta");
    std::string type = string_member(d, "type");
    if (type == "text_delta") {
      auto t = d.find("text");
      if (t != d.end() && t->is_string() && !t->get_ref<const std::string&>().empty()) {
        text_delta(out, "content", *t);
      }
    } else if (type == "thinking_delta") {
      auto t = d.find("thinking");
      if (t != d.end() && t->is_string() && !t->get_ref<const std::string&>().empty()) {
        b->thinking += t->get_ref<const std::string&>();
        text_delta(out, "reasoning_content", *t);
      }
    } else if (type == "signature_delta") {
      b->signature += string_member(d, "signature");
    } else if (type == "input_json_delta") {
      auto p = d.find("partial_json");
      if (p == d.end() || !p->is_string() || p->get_ref<const std::string&>().empty()) return;
      if (b->kind == Kind::Tool)
        arguments_delta(out, b->tool_index, *p);
      else if (b->kind == Kind::JsonTool)
        text_delta(out, "content", *p);
    }
    // citations_delta and unknown deltas carry nothing an OpenAI chunk can hold.
  }

  void on_block_stop(const json& j, std::string& out) {
    Block* b = block_at(j, false);
    if (!b) return;
    json block;
    if (b->kind == Kind::Thinking) {
      block = {{"type", "thinking"}, {"thinking", b->thinking}, {"signature", b->signature}};
    } else if (b->kind == Kind::Redacted) {
      block = {{"type", "redacted_thinking"}, {"data", b->data}};
    } else {
      return;
    }
    // The complete, signed block, so that a client can send it back in the next turn.
    std::string d = "{\"thinking_blocks\":[";
    append_json(d, block);
    d += "]}";
    chunk(out, d);
  }

  bool client_wants_usage_;
  bool json_tool_;
  bool started_ = false;
  bool finished_ = false;
  int next_tool_ = 0;
  std::string id_json_, model_json_, created_, prefix_;
  AnthropicUsage raw_usage_;
  std::vector<Block> blocks_;
};

// Anthropic events for an Anthropic client: re-framed untouched, usage read on the way.
class NativeTranslator final : public StreamTranslator {
 public:
  StreamStatus on_event(const sse::Event& ev, std::string& out) override {
    if (ev.data == "[DONE]") return StreamStatus::Done;
    std::string type = ev.event;
    bool need_parse = events_out_ == 0 || type.empty() || type == "message_start" ||
                      type == "message_delta" || type == "error";
    json j;
    if (need_parse) {
      j = json_scan::parse(ev.data);
      if (!j.is_object()) {
        if (events_out_ == 0) return StreamStatus::Malformed;
      } else {
        type = event_type(ev, j);
      }
    }
    if (type == "message_start") {
      const json& msg = object_member(j, "message");
      if (auto u = msg.find("usage"); u != msg.end()) update_usage(*u);
    } else if (type == "message_delta") {
      if (auto u = j.find("usage"); u != j.end()) update_usage(*u);
    }
    out += "event: ";
    out += type;
    out += '\n';
    // One data: line per line of the payload (JSON from Anthropic is one line).
    std::string_view data = ev.data;
    for (;;) {
      size_t nl = data.find('\n');
      out += "data: ";
      out += data.substr(0, nl);
      out += '\n';
      if (nl == std::string_view::npos) break;
      data.remove_prefix(nl + 1);
    }
    out += '\n';
    ++events_out_;
    if (type == "message_stop") return StreamStatus::Done;
    if (type == "error") return StreamStatus::UpstreamError;
    return StreamStatus::Continue;
  }

 private:
  void update_usage(const json& u) {
    raw_usage_.overlay(u);
    usage_ = raw_usage_.normalised();
  }
  AnthropicUsage raw_usage_;
};

}  // namespace

std::unique_ptr<StreamTranslator> make_chunk_translator(bool client_wants_usage, bool json_tool) {
  return std::make_unique<ChunkTranslator>(client_wants_usage, json_tool);
}

std::unique_ptr<StreamTranslator> make_native_translator() {
  return std::make_unique<NativeTranslator>();
}

}  // namespace tg::providers::anthropic
