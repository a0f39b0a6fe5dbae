// Anthropic Messages response -> OpenAI chat.completion (provider-formats.md 2.3, 2.8, 8.2, 9).

#include <chrono>
#include <string>

#include "anthropic_internal.hpp"
#include "tollgate/core/json_writer.hpp"
#include "tollgate/core/json_access.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers::anthropic {
namespace {

int64_t int_of(const json& obj, const char* key, int64_t fallback) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

}  // namespace

void AnthropicUsage::overlay(const json& u) {
  if (!u.is_object()) return;
  present = true;
  input = int_of(u, "input_tokens", input);
  cache_read = int_of(u, "cache_read_input_tokens", cache_read);
  cache_creation = int_of(u, "cache_creation_input_tokens", cache_creation);
  output = int_of(u, "output_tokens", output);
  if (auto d = u.find("output_tokens_details"); d != u.end() && d->is_object()) {
    thinking = int_of(*d, "thinking_tokens", thinking);
  }
}

Usage AnthropicUsage::normalised() const {
  Usage u;
  u.present = present;
  u.input = input + cache_read + cache_creation;
  u.output = output;
  u.cached_read = cache_read;
  u.cache_write = cache_creation;
  u.reasoning = thinking;
  return u;
}

std::string openai_usage_json(const Usage& u) {
  std::string o;
  o.reserve(200);
  o += "{\"prompt_tokens\":";
  o += std::to_string(u.input);
  o += ",\"completion_tokens\":";
  o += std::to_string(u.output);
  o += ",\"total_tokens\":";
  o += std::to_string(u.input + u.output);
  o += ",\"prompt_tokens_details\":{\"cached_tokens\":";
  o += std::to_string(u.cached_read);
  o += ",\"cache_write_tokens\":";
  o += std::to_string(u.cache_write);
  o += "},\"completion_tokens_details\":{\"reasoning_tokens\":";
  o += std::to_string(u.reasoning);
  o += "}}";
  return o;
}

std::string_view finish_reason_for(std::string_view stop_reason) {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
    return "length";
  }
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn, and anything new
}

Response translate_message(std::string_view body, bool json_tool) {
  Response r;
  json j = json_scan::parse(body);
  if (!j.is_object() || str_member(j, "type") != "message" || !j.contains("content") ||
      !j["content"].is_array()) {
    r.error = Error::upstream_protocol("anthropic", "upstream answered 200 without a Message");
    return r;
  }
  std::string text, reasoning;
  json tool_calls = json::array();
  json thinking_blocks = json::array();
  bool json_answer = false;
  for (const auto& b : j["content"]) {
    if (!b.is_object()) continue;
    std::string type(str_member(b, "type"));
    if (type == "text") {
      if (auto t = b.find("text"); t != b.end() && t->is_string()) {
        text += t->get_ref<const std::string&>();
      }
    } else if (type == "thinking") {
      std::string t(str_member(b, "thinking"));
      reasoning += t;
      thinking_blocks.push_back({{"type", "thinking"},
                                 {"thinking", std::move(t)},
                                 {"signature", str_member(b, "signature")}});
    } else if (type == "redacted_thinking") {
      thinking_blocks.push_back({{"type", "redacted_thinking"}, {"data", str_member(b, "data")}});
    } else if (type == "tool_use") {
      const json input = b.contains("input") ? b["input"] : json::object();
      if (json_tool && str_member(b, "name") == kJsonToolName) {
        append_json(text, input);  // response_format json_object: the tool input is the answer
        json_answer = true;
        continue;
      }
      tool_calls.push_back(
          {{"id", str_member(b, "id")},
           {"type", "function"},
           {"function",
            {{"name", str_member(b, "name")},
             {"arguments", input.dump(-1, ' ', false, json::error_handler_t::replace)}}}});
    }
    // server_tool_use, web_search_tool_result, ...: Anthropic-hosted tools have no OpenAI
    // equivalent in chat completions; they are not requested by this adapter.
  }

  AnthropicUsage au;
  if (auto u = j.find("usage"); u != j.end()) au.overlay(*u);
  r.usage = au.normalised();

  std::string stop_reason = j.contains("stop_reason") && j["stop_reason"].is_string()
                                ? j["stop_reason"].get<std::string>()
                                : std::string();
  std::string_view finish = finish_reason_for(stop_reason);
  if (json_answer && finish == "tool_calls") finish = "stop";

  json message = {{"role", "assistant"}};
  if (tool_calls.empty() || !text.empty())
    message["content"] = std::move(text);
  else
    message["content"] = nullptr;
  if (!tool_calls.empty()) message["tool_calls"] = std::move(tool_calls);
  if (!thinking_blocks.empty()) {
    message["reasoning_content"] = std::move(reasoning);
    message["thinking_blocks"] = std::move(thinking_blocks);
  }
  int64_t created = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  json out = {{"id", str_member(j, "id")},
              {"object", "chat.completion"},
              {"created", created},
              {"model", str_member(j, "model")},
              {"choices", json::array({{{"index", 0},
                                        {"message", std::move(message)},
                                        {"logprobs", nullptr},
                                        {"finish_reason", finish}}})},
              {"usage", json::parse(openai_usage_json(r.usage))}};
  r.body = out.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

}  // namespace tg::providers::anthropic
