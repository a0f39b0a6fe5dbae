// The Anthropic-style ingress: Messages requests to OpenAI chat completions, and OpenAI answers
// (whole and streamed) back to Anthropic Messages. provider-formats.md 2.2-2.4, 9 (reverse).

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "tollgate/core/json_access.hpp"
#include "tollgate/core/secure.hpp"
#include "tollgate/providers/anthropic_ingress.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers::anthropic_ingress {
namespace {

using json = nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Error invalid(std::string param, std::string message) {
  return Error::bad_request(param + ": " + message, param);
}

constexpr std::array<std::string_view, 9> kAnthropicTypes = {
    "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
    "request_too_large",     "rate_limit_error",     "api_error",        "overloaded_error",
    "billing_error"};

// The text of a system prompt: a string, or text blocks joined by newlines.
std::string system_text(const json& system) {
  if (system.is_string()) return system.get<std::string>();
  std::string text;
  if (!system.is_array()) return text;
  for (const auto& b : system) {
    std::string_view t = str_of(member(b, "text"));
    if (t.empty()) continue;
    if (!text.empty()) text += '\n';
    text += t;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Request: Messages -> chat completions

class RequestBuilder {
 public:
  RequestBuilder(const json& in, std::vector<std::string>* dropped) : in_(in), dropped_(dropped) {}

  std::variant<json, Error> build() {
    if (!in_.is_object()) return Error::bad_request("Input should be a valid dictionary");
    const json* model = member(in_, "model");
    if (!model) return invalid("model", "Field required");
    if (!model->is_string()) return invalid("model", "Input should be a valid string");
    const json* max_tokens = member(in_, "max_tokens");
    if (!max_tokens) return invalid("max_tokens", "Field required");
    if (!max_tokens->is_number_integer())
      return invalid("max_tokens", "Input should be a valid integer");
    if (max_tokens->get<int64_t>() < 0) {
      return invalid("max_tokens", "Input should be greater than or equal to 0");
    }
    const json* msgs = member(in_, "messages");
    if (!msgs) return invalid("messages", "Field required");
    if (!msgs->is_array()) return invalid("messages", "Input should be a valid list");
    if (const json* s = member(in_, "stream"); s && !s->is_boolean()) {
      return invalid("stream", "Input should be a valid boolean");
    }

    out_ = json::object();
    out_["model"] = *model;
    json messages = json::array();
    if (const json* system = member(in_, "system")) {
      if (!system->is_string() && !system->is_array()) {
        return invalid("system", "Input should be a valid list");
      }
      std::string text = system_text(*system);
      if (!text.empty()) messages.push_back({{"role", "system"}, {"content", std::move(text)}});
    }
    for (size_t i = 0; i < msgs->size(); ++i) {
      const json& m = (*msgs)[i];
      std::string where = fmt::format("messages.{}", i);
      if (!m.is_object()) return invalid(where, "Input should be a valid dictionary");
      std::string_view role = str_of(member(m, "role"));
      if (role != "user" && role != "assistant" && role != "system") {
        return invalid(where + ".role", "Input should be 'user', 'assistant' or 'system'");
      }
      const json* content = member(m, "content");
      if (!content) return invalid(where + ".content", "Field required");
      if (!content->is_string() && !content->is_array()) {
        return invalid(where + ".content", "Input should be a valid list");
      }
      if (role == "system") {  // Claude Code: kept in place, as an OpenAI system message
        std::string text = system_text(*content);
        if (!text.empty()) messages.push_back({{"role", "system"}, {"content", std::move(text)}});
      } else if (role == "user") {
        convert_user(*content, messages);
      } else {
        convert_assistant(*content, messages);
      }
    }
    out_["messages"] = std::move(messages);
    convert_params(*max_tokens);
    return std::move(out_);
  }

 private:
  void drop(std::string name) {
    if (!dropped_) return;
    if (std::find(dropped_->begin(), dropped_->end(), name) == dropped_->end()) {
      dropped_->push_back(std::move(name));
    }
  }

  // image/document blocks -> OpenAI content parts; false when the block has no OpenAI form.
  bool media_part(const json& b, json& parts) {
    std::string_view type = str_of(member(b, "type"));
    const json* source = member(b, "source");
    std::string_view stype = str_of(member(source, "type"));
    if (type == "image") {
      std::string url;
      if (stype == "base64") {
        url = fmt::format("data:{};base64,{}", str_of(member(source, "media_type")),
                          str_of(member(source, "data")));
      } else if (stype == "url") {
        url = std::string(str_of(member(source, "url")));
      } else {
        drop("image." + std::string(stype.empty() ? "source" : stype));
        return false;
      }
      parts.push_back({{"type", "image_url"}, {"image_url", {{"url", std::move(url)}}}});
      return true;
    }
    if (type == "document") {
      if (stype == "base64") {
        std::string_view mime = str_of(member(source, "media_type"));
        std::string_view title = str_of(member(b, "title"));
        parts.push_back(
            {{"type", "file"},
             {"file",
              {{"filename", title.empty() ? std::string("document.pdf") : std::string(title)},
               {"file_data",
                fmt::format("data:{};base64,{}", mime.empty() ? "application/pdf" : mime,
                            str_of(member(source, "data")))}}}});
        return true;
      }
      if (stype == "text") {
        parts.push_back({{"type", "text"}, {"text", str_of(member(source, "data"))}});
        return true;
      }
      if (stype == "content") {
        const json* c = member(source, "content");
        if (c && c->is_array()) {
          for (const auto& cb : *c) {
            if (str_of(member(cb, "type")) == "text") {
              parts.push_back({{"type", "text"}, {"text", str_of(member(cb, "text"))}});
            }
          }
        }
        return true;
      }
      drop("document." + std::string(stype.empty() ? "source" : stype));
      return false;
    }
    return false;
  }

  // A tool_result's content: its text (joined) for the tool message; images go to *images.
  std::string tool_result_text(const json& b, json& images) {
    const json* c = member(b, "content");
    if (!c) return {};
    if (c->is_string()) return c->get<std::string>();
    std::string text;
    if (c->is_array()) {
      for (const auto& part : *c) {
        std::string_view type = str_of(member(part, "type"));
        if (type == "text") {
          if (!text.empty()) text += '\n';
          text += str_of(member(part, "text"));
        } else {
          media_part(part, images);
        }
      }
    }
    return text;
  }

  static json simplify(json parts) {
    if (parts.size() == 1 && parts[0]["type"] == "text") return parts[0]["text"];
    return parts;
  }

  void convert_user(const json& content, json& messages) {
    if (content.is_string()) {
      messages.push_back({{"role", "user"}, {"content", content}});
      return;
    }
    json parts = json::array();
    json tool_images = json::array();
    for (const auto& b : content) {
      std::string_view type = str_of(member(b, "type"));
      if (type == "text") {
        parts.push_back({{"type", "text"}, {"text", str_of(member(b, "text"))}});
      } else if (type == "tool_result") {
        // OpenAI wants tool messages right after the assistant's tool_calls: they go first.
        std::string text = tool_result_text(b, tool_images);
        messages.push_back({{"role", "tool"},
                            {"tool_call_id", str_of(member(b, "tool_use_id"))},
                            {"content", std::move(text)}});
      } else if (type == "image" || type == "document") {
        media_part(b, parts);
      } else {
        drop("content." + std::string(type.empty() ? "unknown" : type));
      }
    }
    // Images a tool returned: OpenAI tool messages hold text only, so they follow as user content.
    for (auto& img : tool_images) parts.push_back(std::move(img));
    if (!parts.empty())
      messages.push_back({{"role", "user"}, {"content", simplify(std::move(parts))}});
  }

  void convert_assistant(const json& content, json& messages) {
    json msg = {{"role", "assistant"}};
    if (content.is_string()) {
      msg["content"] = content;
      messages.push_back(std::move(msg));
      return;
    }
    std::string text, reasoning;
    json tool_calls = json::array();
    json thinking_blocks = json::array();
    bool signed_thinking = false;
    for (const auto& b : content) {
      std::string_view type = str_of(member(b, "type"));
      if (type == "text") {
        text += str_of(member(b, "text"));
      } else if (type == "thinking") {
        std::string_view t = str_of(member(b, "thinking"));
        std::string_view sig = str_of(member(b, "signature"));
        reasoning += t;
        if (!sig.empty()) signed_thinking = true;
        thinking_blocks.push_back({{"type", "thinking"}, {"thinking", t}, {"signature", sig}});
      } else if (type == "redacted_thinking") {
        signed_thinking = true;
        thinking_blocks.push_back(
            {{"type", "redacted_thinking"}, {"data", str_of(member(b, "data"))}});
      } else if (type == "tool_use") {
        const json* input = member(b, "input");
        tool_calls.push_back({{"id", str_of(member(b, "id"))},
                              {"type", "function"},
                              {"function",
                               {{"name", str_of(member(b, "name"))},
                                {"arguments", input ? dump(*input) : std::string("{}")}}}});
      } else {
        drop("content." + std::string(type.empty() ? "unknown" : type));
      }
    }
    if (!text.empty() || tool_calls.empty())
      msg["content"] = std::move(text);
    else
      msg["content"] = nullptr;
    if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);
    // Reasoning goes back as reasoning_content (what DeepSeek-style servers expect); signed
    // Claude thinking also keeps its blocks, for adapters that can replay them.
    if (!reasoning.empty()) msg["reasoning_content"] = std::move(reasoning);
    if (signed_thinking) msg["thinking_blocks"] = std::move(thinking_blocks);
    messages.push_back(std::move(msg));
  }

  void convert_params(const json& max_tokens) {
    json& out = out_;
    out["max_completion_tokens"] = max_tokens;
    if (const json* s = member(in_, "stop_sequences"); s && s->is_array() && !s->empty()) {
      out["stop"] = *s;
    }
    for (const char* k : {"temperature", "top_p"}) {
      if (const json* v = member(in_, k); v && v->is_number()) out[k] = *v;
    }
    if (const json* s = member(in_, "stream"); s && s->get<bool>()) {
      out["stream"] = true;
      out["stream_options"] = {{"include_usage", true}};
    }
    if (std::string_view uid = str_of(member(member(in_, "metadata"), "user_id")); !uid.empty()) {
      // OpenAI takes at most 64 characters (Claude Code sends ~150): longer ids go as their
      // SHA-256, still one stable id per user.
      out["user"] = uid.size() <= 64 ? std::string(uid) : sha256_hex(uid);
    }
    if (std::string_view tier = str_of(member(in_, "service_tier")); !tier.empty()) {
      if (tier == "auto")
        out["service_tier"] = "auto";
      else if (tier == "standard_only")
        out["service_tier"] = "default";
      else
        drop("service_tier");
    }

    json tools = json::array();
    if (const json* ts = member(in_, "tools"); ts && ts->is_array()) {
      for (const auto& t : *ts) {
        std::string_view type = str_of(member(t, "type"));
        if (!type.empty() && type != "custom") {  // Anthropic-hosted tools (web search, bash...)
          drop("tools." + std::string(type));
          continue;
        }
        json fn = {{"name", str_of(member(t, "name"))}};
        if (const json* d = member(t, "description")) fn["description"] = *d;
        const json* schema = member(t, "input_schema");
        fn["parameters"] =
            schema ? *schema : json{{"type", "object"}, {"properties", json::object()}};
        if (const json* s = member(t, "strict"); s && s->is_boolean() && s->get<bool>()) {
          fn["strict"] = true;
        }
        tools.push_back({{"type", "function"}, {"function", std::move(fn)}});
      }
    }
    if (!tools.empty()) {
      out["tools"] = std::move(tools);
      if (const json* tc = member(in_, "tool_choice"); tc && tc->is_object()) {
        std::string_view type = str_of(member(tc, "type"));
        if (type == "auto")
          out["tool_choice"] = "auto";
        else if (type == "any")
          out["tool_choice"] = "required";
        else if (type == "none")
          out["tool_choice"] = "none";
        else if (type == "tool") {
          out["tool_choice"] = {{"type", "function"},
                                {"function", {{"name", str_of(member(tc, "name"))}}}};
        }
        if (const json* d = member(tc, "disable_parallel_tool_use");
            d && d->is_boolean() && d->get<bool>()) {
          out["parallel_tool_calls"] = false;
        }
      }
    }

    // Extended thinking -> reasoning_effort by budget: < 4096 low, < 16384 medium, else high.
    std::string effort;
    if (const json* th = member(in_, "thinking"); th && str_of(member(th, "type")) == "enabled") {
      const json* b = member(th, "budget_tokens");
      int64_t budget = b && b->is_number_integer() ? b->get<int64_t>() : 0;
      effort = budget < 4096 ? "low" : budget < 16384 ? "medium" : "high";
    }
    if (const json* oc = member(in_, "output_config"); oc && oc->is_object()) {
      if (std::string_view e = str_of(member(oc, "effort")); !e.empty() && effort.empty()) {
        effort = std::string(e);
      }
      if (const json* f = member(oc, "format")) {
        if (str_of(member(f, "type")) == "json_schema") {
          const json* schema = member(f, "schema");
          out["response_format"] = {{"type", "json_schema"},
                                    {"json_schema",
                                     {{"name", "output"},
                                      {"schema", schema ? *schema : json::object()},
                                      {"strict", true}}}};
        } else {
          drop("output_config.format");
        }
      }
    }
    if (!effort.empty()) out["reasoning_effort"] = std::move(effort);

    static constexpr std::string_view kKnown[] = {
        "model",          "max_tokens",    "messages",     "system",
        "stop_sequences", "temperature",   "top_p",        "stream",
        "metadata",       "service_tier",  "tools",        "tool_choice",
        "thinking",       "output_config", "cache_control"};  // prompt caching is automatic on
                                                              // OpenAI-style providers
    for (auto it = in_.begin(); it != in_.end(); ++it) {
      if (it->is_null()) continue;
      if (std::find(std::begin(kKnown), std::end(kKnown), it.key()) == std::end(kKnown)) {
        drop(it.key());
      }
    }
  }

  const json& in_;
  std::vector<std::string>* dropped_;
  json out_;
};

// ---------------------------------------------------------------------------------------------
// Usage and ids

struct OpenAiUsage {
  int64_t prompt = 0, completion = 0, cached = 0, cache_write = 0;
  void read(const json& u) {
    auto num = [](const json& o, const char* k, int64_t d) {
      auto it = o.find(k);
      return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : d;
    };
    if (!u.is_object()) return;
    prompt = num(u, "prompt_tokens", prompt);
    completion = num(u, "completion_tokens", completion);
    if (auto d = u.find("prompt_tokens_details"); d != u.end() && d->is_object()) {
      cached = num(*d, "cached_tokens", cached);
      cache_write = num(*d, "cache_write_tokens", cache_write);
    }
  }
  json anthropic() const {
    return {{"input_tokens", std::max<int64_t>(0, prompt - cached - cache_write)},
            {"cache_creation_input_tokens", cache_write},
            {"cache_read_input_tokens", cached},
            {"output_tokens", completion}};
  }
};

std::string message_id(std::string_view openai_id) {
  if (openai_id.substr(0, 4) == "msg_") return std::string(openai_id);
  if (openai_id.empty()) return "msg_tollgate";
  return "msg_" + std::string(openai_id);
}

json parse_arguments(const json* args) {
  if (!args) return json::object();
  if (args->is_object()) return *args;
  if (!args->is_string()) return json::object();
  json j = json_scan::parse(args->get_ref<const std::string&>());
  return j.is_object() ? j : json::object();
}

// An OpenAI error object -> an Anthropic error type.
std::string_view error_type_of(const json& err) {
  std::string_view type = str_of(member(err, "type"));
  for (auto t : kAnthropicTypes) {
    if (t == type) return t;
  }
  std::string_view code = str_of(member(err, "code"));
  if (code == "rate_limit_exceeded" || type == "requests" || type == "tokens")
    return "rate_limit_error";
  if (code == "overloaded" || code == "server_is_overloaded") return "overloaded_error";
  if (code == "invalid_api_key") return "authentication_error";
  if (type == "invalid_request_error") return "invalid_request_error";
  return "api_error";
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::variant<json, Error> to_openai_request(const json& messages_body,
                                            std::vector<std::string>* dropped) {
  return RequestBuilder(messages_body, dropped).build();
}

std::string_view stop_reason_for(std::string_view finish_reason) {
  if (finish_reason == "length") return "max_tokens";
  if (finish_reason == "tool_calls" || finish_reason == "function_call") return "tool_use";
  if (finish_reason == "content_filter") return "refusal";
  return "end_turn";
}

std::string_view error_type_for_status(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

std::string render_error(const Error& e) {
  std::string_view type = error_type_for_status(e.status);
  for (auto t : kAnthropicTypes) {
    if (t == e.type) type = t;
  }
  return dump({{"type", "error"}, {"error", {{"type", type}, {"message", e.message}}}});
}

std::string to_anthropic_response(std::string_view openai_body, std::string_view model) {
  json j = json_scan::parse(openai_body);
  const json* choices = member(j, "choices");
  if (!choices || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) {
    Error e = Error::upstream_protocol("", "the upstream answer is not a chat completion");
    return render_error(e);
  }
  const json& choice = (*choices)[0];
  const json* msg = member(choice, "message");
  json content = json::array();
  std::string_view reasoning = str_of(member(msg, "reasoning_content"));
  if (reasoning.empty()) reasoning = str_of(member(msg, "reasoning"));
  const json* blocks = member(msg, "thinking_blocks");
  if (blocks && blocks->is_array() && !blocks->empty()) {
    for (const auto& b : *blocks) {  // signed Claude thinking (e.g. from Bedrock): kept as is
      std::string_view type = str_of(member(b, "type"));
      if (type == "thinking") {
        content.push_back({{"type", "thinking"},
                           {"thinking", str_of(member(b, "thinking"))},
                           {"signature", str_of(member(b, "signature"))}});
      } else if (type == "redacted_thinking") {
        content.push_back({{"type", "redacted_thinking"}, {"data", str_of(member(b, "data"))}});
      }
    }
  } else if (!reasoning.empty()) {
    content.push_back({{"type", "thinking"}, {"thinking", reasoning}, {"signature", ""}});
  }
  std::string text;
  if (const json* c = member(msg, "content")) {
    if (c->is_string()) {
      text = c->get<std::string>();
    } else if (c->is_array()) {
      for (const auto& part : *c) text += str_of(member(part, "text"));
    }
  }
  if (text.empty()) text = std::string(str_of(member(msg, "refusal")));
  if (!text.empty()) content.push_back({{"type", "text"}, {"text", std::move(text)}});
  bool tools = false;
  if (const json* calls = member(msg, "tool_calls"); calls && calls->is_array()) {
    for (const auto& call : *calls) {
      const json* fn = member(call, "function");
      content.push_back({{"type", "tool_use"},
                         {"id", str_of(member(call, "id"))},
                         {"name", str_of(member(fn, "name"))},
                         {"input", parse_arguments(member(fn, "arguments"))}});
      tools = true;
    }
  }
  std::string_view finish = str_of(member(choice, "finish_reason"));
  std::string_view stop = stop_reason_for(finish);
  if (finish.empty() && tools) stop = "tool_use";
  OpenAiUsage usage;
  if (const json* u = member(j, "usage")) usage.read(*u);
  json out = {{"id", message_id(str_of(member(j, "id")))},
              {"type", "message"},
              {"role", "assistant"},
              {"model", model},
              {"content", std::move(content)},
              {"stop_reason", stop},
              {"stop_sequence", nullptr},
              {"usage", usage.anthropic()}};
  return dump(out);
}

bool takes_system_messages(std::string_view anthropic_version) {
  return anthropic_version >= kSystemMessagesVersion;  // dates in ISO form compare as text
}

bool fold_system_messages(json& body) {
  auto msgs = body.find("messages");
  if (msgs == body.end() || !msgs->is_array()) return false;
  auto is_system = [](const json& m) { return str_of(member(m, "role")) == "system"; };
  if (std::none_of(msgs->begin(), msgs->end(), is_system)) return false;
  json blocks = json::array();
  auto add_blocks = [&blocks](const json& content) {
    if (content.is_string()) {
      if (!content.get_ref<const std::string&>().empty()) {
        blocks.push_back({{"type", "text"}, {"text", content}});
      }
      return;
    }
    if (!content.is_array()) return;
    for (const auto& b : content) {
      if (b.is_object() && str_of(member(b, "type")) == "text") blocks.push_back(b);
    }
  };
  if (auto sys = body.find("system"); sys != body.end()) add_blocks(*sys);
  json kept = json::array();
  for (auto& m : *msgs) {
    if (!is_system(m)) {
      kept.push_back(std::move(m));
    } else if (const json* content = member(m, "content")) {
      add_blocks(*content);
    }
  }
  *msgs = std::move(kept);
  if (!blocks.empty()) body["system"] = std::move(blocks);
  return true;
}

int64_t estimate_input_tokens(const json& body) {
  int64_t chars = 0, fixed = 0;
  auto count = [&](std::string_view s) {
    for (unsigned char c : s) chars += (c & 0xC0) != 0x80;  // code points
  };
  // tool_result blocks may hold blocks: followed a few levels down, no deeper (the body's
  // nesting is bounded before parsing, but this walk must not depend on that).
  auto blocks = [&](const json& content, int depth, auto& self) -> void {
    if (depth > 4) return;
    if (content.is_string()) {
      count(content.get_ref<const std::string&>());
      return;
    }
    if (!content.is_array()) return;
    for (const auto& b : content) {
      std::string_view type = str_of(member(b, "type"));
      if (type == "text") {
        count(str_of(member(b, "text")));
      } else if (type == "thinking") {
        count(str_of(member(b, "thinking")));
      } else if (type == "tool_use") {
        count(str_of(member(b, "name")));
        if (const json* in = member(b, "input")) count(dump(*in));
      } else if (type == "tool_result") {
        if (const json* c = member(b, "content")) self(*c, depth + 1, self);
      } else if (type == "image" || type == "document") {
        fixed += 1600;
      }
    }
  };
  if (const json* s = member(body, "system")) blocks(*s, 0, blocks);
  if (const json* msgs = member(body, "messages"); msgs && msgs->is_array()) {
    for (const auto& m : *msgs) {
      fixed += 4;
      if (const json* c = member(m, "content")) blocks(*c, 0, blocks);
    }
  }
  if (const json* tools = member(body, "tools"); tools && tools->is_array()) {
    for (const auto& t : *tools) {
      count(str_of(member(t, "name")));
      count(str_of(member(t, "description")));
      if (const json* schema = member(t, "input_schema")) count(dump(*schema));
    }
  }
  return std::max<int64_t>(1, (chars + 3) / 4 + fixed);
}

// ---------------------------------------------------------------------------------------------
// StreamConverter

StreamConverter::StreamConverter(std::string model) : model_(std::move(model)) {}

void StreamConverter::event(std::string& out, std::string_view name, const json& data) {
  out += "event: ";
  out += name;
  out += "\ndata: ";
  out += dump(data);
  out += "\n\n";
}

void StreamConverter::start(std::string& out) {
  if (started_) return;
  started_ = true;
  OpenAiUsage u;
  u.prompt = prompt_tokens_;
  u.cached = cached_tokens_;
  u.cache_write = cache_write_tokens_;
  u.completion = completion_tokens_;
  event(out, "message_start",
        {{"type", "message_start"},
         {"message",
          {{"id", message_id(id_)},
           {"type", "message"},
           {"role", "assistant"},
           {"model", model_},
           {"content", json::array()},
           {"stop_reason", nullptr},
           {"stop_sequence", nullptr},
           {"usage", u.anthropic()}}}});
}

void StreamConverter::close(std::string& out) {
  if (open_ == Block::None) return;
  if (open_ == Block::Thinking && !signature_.empty()) {
    event(out, "content_block_delta",
          {{"type", "content_block_delta"},
           {"index", index_},
           {"delta", {{"type", "signature_delta"}, {"signature", signature_}}}});
  }
  signature_.clear();
  event(out, "content_block_stop", {{"type", "content_block_stop"}, {"index", index_}});
  open_ = Block::None;
}

void StreamConverter::open(Block kind, const json& content_block, std::string& out) {
  close(out);
  open_ = kind;
  ++index_;
  event(out, "content_block_start",
        {{"type", "content_block_start"}, {"index", index_}, {"content_block", content_block}});
}

void StreamConverter::delta(int index, const json& d, std::string& out) {
  event(out, "content_block_delta",
        {{"type", "content_block_delta"}, {"index", index}, {"delta", d}});
}

void StreamConverter::on_chunk(const json& chunk, std::string& out) {
  if (const json* err = member(chunk, "error"); err && !member(chunk, "choices")) {
    Error e;
    e.status = 500;
    e.type = std::string(error_type_of(*err));
    e.message = std::string(str_of(member(err, "message")));
    if (e.message.empty()) e.message = "upstream stream error";
    fail(e, out);
    return;
  }
  if (id_.empty()) id_ = std::string(str_of(member(chunk, "id")));
  if (const json* u = member(chunk, "usage"); u && u->is_object()) {
    OpenAiUsage ou;
    ou.prompt = prompt_tokens_;
    ou.completion = completion_tokens_;
    ou.cached = cached_tokens_;
    ou.cache_write = cache_write_tokens_;
    ou.read(*u);
    prompt_tokens_ = ou.prompt;
    completion_tokens_ = ou.completion;
    cached_tokens_ = ou.cached;
    cache_write_tokens_ = ou.cache_write;
  }
  start(out);
  const json* choices = member(chunk, "choices");
  if (!choices || !choices->is_array()) return;
  for (const auto& c : *choices) {
    if (const json* idx = member(c, "index");
        idx && idx->is_number_integer() && idx->get<int64_t>() != 0) {
      continue;  // an Anthropic Message has one choice
    }
    const json* d = member(c, "delta");
    std::string_view reasoning = str_of(member(d, "reasoning_content"));
    if (reasoning.empty()) reasoning = str_of(member(d, "reasoning"));
    if (!reasoning.empty()) {
      if (open_ != Block::Thinking) {
        open(Block::Thinking, {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}, out);
      }
      delta(index_, {{"type", "thinking_delta"}, {"thinking", reasoning}}, out);
    }
    if (const json* tb = member(d, "thinking_blocks"); tb && tb->is_array()) {
      for (const auto& b : *tb) {
        std::string_view type = str_of(member(b, "type"));
        if (type == "thinking" && open_ == Block::Thinking) {
          signature_ = std::string(str_of(member(b, "signature")));
        } else if (type == "redacted_thinking") {
          open(Block::Thinking,
               {{"type", "redacted_thinking"}, {"data", str_of(member(b, "data"))}}, out);
          close(out);
        }
      }
    }
    std::string_view text = str_of(member(d, "content"));
    if (text.empty()) text = str_of(member(d, "refusal"));
    if (!text.empty()) {
      if (open_ != Block::Text) open(Block::Text, {{"type", "text"}, {"text", ""}}, out);
      delta(index_, {{"type", "text_delta"}, {"text", text}}, out);
    }
    if (const json* calls = member(d, "tool_calls"); calls && calls->is_array()) {
      for (const auto& call : *calls) {
        const json* ix = member(call, "index");
        int64_t k = ix && ix->is_number_integer() ? ix->get<int64_t>() : 0;
        const json* fn = member(call, "function");
        auto it = tool_blocks_.find(k);
        if (it == tool_blocks_.end()) {
          std::string id(str_of(member(call, "id")));
          if (id.empty()) id = fmt::format("toolu_{}_{}", index_ + 1, k);
          open(Block::Tool,
               {{"type", "tool_use"},
                {"id", std::move(id)},
                {"name", str_of(member(fn, "name"))},
                {"input", json::object()}},
               out);
          it = tool_blocks_.emplace(k, index_).first;
          // Anthropic starts every tool input with an empty fragment.
          delta(index_, {{"type", "input_json_delta"}, {"partial_json", ""}}, out);
        }
        const json* args = member(fn, "arguments");
        std::string piece = args && args->is_string()   ? args->get<std::string>()
                            : args && args->is_object() ? dump(*args)
                                                        : std::string();
        if (!piece.empty()) {
          delta(it->second, {{"type", "input_json_delta"}, {"partial_json", std::move(piece)}},
                out);
        }
      }
    }
    if (std::string_view finish = str_of(member(c, "finish_reason")); !finish.empty()) {
      stop_reason_ = std::string(stop_reason_for(finish));
      close(out);
    }
  }
}

void StreamConverter::feed(std::string_view bytes, std::string& out) {
  chunks_.feed(bytes, done_, [&](std::string_view data) {
    json chunk = json_scan::parse(data);
    if (chunk.is_object()) on_chunk(chunk, out);
  });
}

void StreamConverter::finish(std::string& out) {
  if (done_) return;
  start(out);
  close(out);
  std::string stop = stop_reason_;
  if (stop.empty()) stop = tool_blocks_.empty() ? "end_turn" : "tool_use";
  OpenAiUsage u;
  u.prompt = prompt_tokens_;
  u.completion = completion_tokens_;
  u.cached = cached_tokens_;
  u.cache_write = cache_write_tokens_;
  event(out, "message_delta",
        {{"type", "message_delta"},
         {"delta", {{"stop_reason", stop}, {"stop_sequence", nullptr}}},
         {"usage", u.anthropic()}});
  event(out, "message_stop", {{"type", "message_stop"}});
  done_ = true;
}

void StreamConverter::fail(const Error& e, std::string& out) {
  if (done_) return;
  std::string body = render_error(e);
  out += "event: error\ndata: ";
  out += body;
  out += "\n\n";
  done_ = true;
}

}  // namespace tg::providers::anthropic_ingress
