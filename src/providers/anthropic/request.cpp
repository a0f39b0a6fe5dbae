// OpenAI chat-completions request -> Anthropic Messages request (provider-formats.md 2.2, 2.7).

#include <algorithm>
#include <string>

#include "tollgate/core/json_access.hpp"
#include "tollgate/providers/json_build.hpp"
#include "anthropic_internal.hpp"

namespace tg::providers::anthropic {
namespace {

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v';
  });
}




class Builder {
 public:
  Builder(const json& in, std::string_view model, bool stream) : in_(in) {
    out_.body = json::object();
    out_.body["model"] = model;
    if (stream) out_.body["stream"] = true;
  }

  MessagesRequest build() {
    convert_messages();
    json& body = out_.body;
    if (!system_.empty()) body["system"] = std::move(system_);
    trim_final_assistant();
    body["messages"] = std::move(messages_);
    convert_tools();
    convert_sampling();
    convert_reasoning_and_max_tokens();
    convert_response_format();
    convert_misc();
    return std::move(out_);
  }

 private:
  void drop(std::string name) {
    if (std::find(out_.dropped.begin(), out_.dropped.end(), name) == out_.dropped.end()) {
      out_.dropped.push_back(std::move(name));
    }
  }

  // ------------------------------------------------------------------------------------------
  // messages

  static void add_text(json& blocks, const json& text, const json* cache_control = nullptr) {
    if (!text.is_string() || is_blank(text.get_ref<const std::string&>())) return;
    json b = {{"type", "text"}, {"text", text}};
    if (cache_control) b["cache_control"] = *cache_control;
    blocks.push_back(std::move(b));
  }

  // Text of a system/developer/assistant content: a string or text parts.
  void add_text_content(json& blocks, const json* content) {
    if (!content) return;
    if (content->is_string()) {
      add_text(blocks, *content);
      return;
    }
    if (!content->is_array()) return;
    for (const auto& part : *content) {
      if (part.is_string()) {
        add_text(blocks, part);
        continue;
      }
      std::string_view type = str_of(member(part, "type"));
      if (type == "text") {
        if (const json* t = member(part, "text"))
          add_text(blocks, *t, member(part, "cache_control"));
      } else if (type == "refusal") {
        if (const json* t = member(part, "refusal")) add_text(blocks, *t);
      } else {
        drop("content." + std::string(type.empty() ? "unknown" : type));
      }
    }
  }

  // "data:<mime>;base64,<data>" -> {mime, data}; false when it is not a base64 data URL.
  static bool parse_data_url(std::string_view url, std::string_view& mime, std::string_view& data) {
    if (url.substr(0, 5) != "data:") return false;
    size_t comma = url.find(',');
    if (comma == std::string_view::npos) return false;
    std::string_view meta = url.substr(5, comma - 5);
    size_t semi = meta.find(";base64");
    if (semi == std::string_view::npos) return false;
    mime = meta.substr(0, semi);
    data = url.substr(comma + 1);
    return true;
  }

  void add_image(json& blocks, const json& part) {
    const json* iu = member(part, "image_url");
    std::string_view url = iu && iu->is_string()
                               ? std::string_view(iu->get_ref<const std::string&>())
                               : str_of(member(iu, "url"));
    std::string_view mime, data;
    json block;
    if (parse_data_url(url, mime, data)) {
      json source = {{"type", "base64"}, {"media_type", mime}, {"data", data}};
      block = {{"type", mime == "application/pdf" ? "document" : "image"},
               {"source", std::move(source)}};
    } else if (url.substr(0, 7) == "http://" || url.substr(0, 8) == "https://") {
      block = {{"type", "image"}, {"source", {{"type", "url"}, {"url", url}}}};
    } else {
      drop("image_url");
      return;
    }
    if (const json* cc = member(part, "cache_control")) block["cache_control"] = *cc;
    blocks.push_back(std::move(block));
  }

  void add_file(json& blocks, const json& part) {
    const json* f = member(part, "file");
    std::string_view file_data = str_of(member(f, "file_data"));
    if (file_data.empty()) {
      drop("file_id");  // an OpenAI file id means nothing to Anthropic
      return;
    }
    std::string_view mime = "application/pdf", data = file_data;
    parse_data_url(file_data, mime, data);
    json block = {{"type", "document"},
                  {"source", {{"type", "base64"}, {"media_type", mime}, {"data", data}}}};
    if (std::string_view name = str_of(member(*f, "filename")); !name.empty())
      block["title"] = name;
    blocks.push_back(std::move(block));
  }

  // User (and tool-result) content: text, images, files.
  void add_user_content(json& blocks, const json* content) {
    if (!content) return;
    if (content->is_string()) {
      add_text(blocks, *content);
      return;
    }
    if (!content->is_array()) return;
    for (const auto& part : *content) {
      if (part.is_string()) {
        add_text(blocks, part);
        continue;
      }
      std::string_view type = str_of(member(part, "type"));
      if (type == "text") {
        if (const json* t = member(part, "text"))
          add_text(blocks, *t, member(part, "cache_control"));
      } else if (type == "image_url") {
        add_image(blocks, part);
      } else if (type == "file") {
        add_file(blocks, part);
      } else if (type == "input_audio") {
        drop("input_audio");  // Anthropic takes no audio
      } else {
        drop("content." + std::string(type.empty() ? "unknown" : type));
      }
    }
  }

  static json parse_arguments(const json* args) {
    if (!args) return json::object();
    if (args->is_object()) return *args;
    if (!args->is_string()) return json::object();
    json j = json_scan::parse(args->get_ref<const std::string&>());
    return j.is_object() ? j : json::object();  // tool_use.input must be an object
  }

  void push(std::string_view role, json blocks) {
    if (blocks.empty()) return;
    if (!messages_.empty() && messages_.back()["role"].get_ref<const std::string&>() == role) {
      json& content = messages_.back()["content"];
      for (auto& b : blocks) content.push_back(std::move(b));
      return;
    }
    messages_.push_back({{"role", role}, {"content", std::move(blocks)}});
  }

  void convert_assistant(const json& m, size_t i) {
    json blocks = json::array();
    const json* tb = member(m, "thinking_blocks");
    if (tb && tb->is_array() && !tb->empty()) {
      // Signed thinking goes back first and unmodified (required with thinking + tools).
      for (const auto& b : *tb) {
        std::string_view type = str_of(member(b, "type"));
        if (type == "thinking") {
          blocks.push_back({{"type", "thinking"},
                            {"thinking", str_member(b, "thinking")},
                            {"signature", str_member(b, "signature")}});
        } else if (type == "redacted_thinking") {
          blocks.push_back({{"type", "redacted_thinking"}, {"data", str_member(b, "data")}});
        }
      }
    } else if (!str_of(member(m, "reasoning_content")).empty()) {
      drop("reasoning_content");  // unsigned thinking cannot be sent back to Anthropic
    }
    add_text_content(blocks, member(m, "content"));
    if (const json* calls = member(m, "tool_calls"); calls && calls->is_array()) {
      for (const auto& call : *calls) {
        std::string_view type = str_of(member(call, "type"));
        if (!type.empty() && type != "function") {
          drop("tool_calls." + std::string(type));
          continue;
        }
        const json* fn = member(call, "function");
        std::string_view name = str_of(member(fn, "name"));
        note_history_tool(name);
        blocks.push_back({{"type", "tool_use"},
                          {"id", sanitize_tool_id(str_of(member(call, "id")))},
                          {"name", name},
                          {"input", parse_arguments(member(fn, "arguments"))}});
      }
    }
    if (const json* fc = member(m, "function_call")) {  // deprecated function calling
      last_function_id_ = "toolu_fn_" + std::to_string(i);
      note_history_tool(str_of(member(*fc, "name")));
      blocks.push_back({{"type", "tool_use"},
                        {"id", last_function_id_},
                        {"name", str_of(member(*fc, "name"))},
                        {"input", parse_arguments(member(*fc, "arguments"))}});
    }
    push("assistant", std::move(blocks));
  }

  void convert_tool_result(const json& m, std::string id) {
    json block = {{"type", "tool_result"}, {"tool_use_id", std::move(id)}};
    const json* content = member(m, "content");
    if (content && content->is_array()) {
      json parts = json::array();
      add_user_content(parts, content);
      block["content"] = std::move(parts);
    } else {
      block["content"] = content && content->is_string() ? *content : json("");
    }
    push("user", json::array({std::move(block)}));
  }

  void convert_messages() {
    const json* msgs = member(in_, "messages");
    if (!msgs || !msgs->is_array()) return;
    for (size_t i = 0; i < msgs->size(); ++i) {
      const json& m = (*msgs)[i];
      if (!m.is_object()) continue;
      std::string_view role = str_of(member(m, "role"));
      if (role == "system" || role == "developer") {
        add_text_content(system_, member(m, "content"));
      } else if (role == "user") {
        json blocks = json::array();
        add_user_content(blocks, member(m, "content"));
        push("user", std::move(blocks));
      } else if (role == "assistant") {
        convert_assistant(m, i);
      } else if (role == "tool") {
        convert_tool_result(m, sanitize_tool_id(str_of(member(m, "tool_call_id"))));
        continue;
      } else if (role == "function") {
        convert_tool_result(m, last_function_id_.empty() ? "toolu_fn" : last_function_id_);
        continue;
      } else {
        drop("messages.role");
        continue;
      }
      if (member(m, "name")) drop("messages.name");
    }
  }

  // A final assistant message (a prefill) must not end with whitespace.
  void trim_final_assistant() {
    if (messages_.empty() || messages_.back()["role"] != "assistant") return;
    json& content = messages_.back()["content"];
    if (content.empty() || str_member(content.back(), "type") != "text") return;
    std::string text = content.back()["text"].get<std::string>();
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\t' ||
                             text.back() == '\r')) {
      text.pop_back();
    }
    content.back()["text"] = std::move(text);
  }

  // ------------------------------------------------------------------------------------------
  // tools

  static json tool_from_function(const json& fn) {
    json t = json::object();
    t["name"] = str_member(fn, "name");
    if (const json* d = member(fn, "description"); d && d->is_string()) t["description"] = *d;
    const json* params = member(fn, "parameters");
    json schema = params && params->is_object() ? *params : json::object();
    if (!schema.contains("type")) schema["type"] = "object";
    if (schema["type"] == "object" && !schema.contains("properties")) {
      schema["properties"] = json::object();
    }
    t["input_schema"] = std::move(schema);
    if (const json* s = member(fn, "strict"); s && s->is_boolean() && s->get<bool>()) {
      t["strict"] = true;
    }
    return t;
  }

  void convert_tools() {
    json tools = json::array();
    if (const json* ts = member(in_, "tools"); ts && ts->is_array()) {
      for (const auto& t : *ts) {
        std::string_view type = str_of(member(t, "type"));
        const json* fn = member(t, "function");
        if ((type.empty() || type == "function") && fn && fn->is_object()) {
          json tool = tool_from_function(*fn);
          if (const json* cc = member(t, "cache_control")) tool["cache_control"] = *cc;
          tools.push_back(std::move(tool));
        } else {
          drop("tools." + std::string(type.empty() ? "unknown" : type));
        }
      }
    }
    if (const json* fs = member(in_, "functions"); fs && fs->is_array()) {  // deprecated
      for (const auto& fn : *fs) {
        if (fn.is_object()) tools.push_back(tool_from_function(fn));
      }
    }

    json choice;  // null = the provider's default (auto)
    const json* tc = member(in_, "tool_choice");
    if (!tc) tc = member(in_, "function_call");
    if (tc && tc->is_string()) {
      std::string_view s = tc->get_ref<const std::string&>();
      if (s == "auto")
        choice = {{"type", "auto"}};
      else if (s == "required")
        choice = {{"type", "any"}};
      else if (s == "none")
        choice = {{"type", "none"}};
      else
        drop("tool_choice");
    } else if (tc && tc->is_object()) {
      std::string_view type = str_of(member(*tc, "type"));
      if (type == "function" || (type.empty() && member(*tc, "name"))) {
        const json* fn = member(*tc, "function");
        std::string_view name = str_of(member(fn ? *fn : *tc, "name"));
        choice = {{"type", "tool"}, {"name", name}};
      } else if (type == "allowed_tools") {
        // Restrict the tool list to the allowed names, then auto or any.
        const json* at = member(*tc, "allowed_tools");
        std::vector<std::string> names;
        if (const json* list = member(at, "tools"); list && list->is_array()) {
          for (const auto& a : *list) {
            const json* fn = member(a, "function");
            std::string_view n = str_of(member(fn ? *fn : a, "name"));
            if (!n.empty()) names.emplace_back(n);
          }
        }
        json kept = json::array();
        for (auto& t : tools) {
          if (std::find(names.begin(), names.end(), str_member(t, "name")) != names.end()) {
            kept.push_back(std::move(t));
          }
        }
        tools = std::move(kept);
        choice = {{"type", str_of(member(at, "mode")) == "required" ? "any" : "auto"}};
      } else {
        drop("tool_choice");
      }
    }
    const json* ptc = member(in_, "parallel_tool_calls");
    if (ptc && ptc->is_boolean() && !ptc->get<bool>() && !tools.empty()) {
      if (choice.is_null()) choice = {{"type", "auto"}};
      if (choice["type"] != "none") choice["disable_parallel_tool_use"] = true;
    }
    if (tools.empty() && !history_tools_.empty()) {
      // Anthropic refuses tool_use/tool_result blocks in a request without tools; an OpenAI
      // client may leave tools out once it is done calling them. Declare the tools the history
      // names (any input) and let the model call none of them, which is what the client asked.
      for (const auto& name : history_tools_) {
        tools.push_back({{"name", name}, {"input_schema", {{"type", "object"}}}});
      }
      choice = {{"type", "none"}};
    }
    if (!tools.empty()) {
      out_.body["tools"] = std::move(tools);
      if (!choice.is_null()) out_.body["tool_choice"] = std::move(choice);
    }
  }

  // ------------------------------------------------------------------------------------------
  // parameters

  void convert_sampling() {
    json& body = out_.body;
    for (const char* k : {"temperature", "top_p", "top_k"}) {
      if (const json* v = member(in_, k); v && v->is_number()) body[k] = *v;
    }
    if (const json* stop = member(in_, "stop")) {
      json seqs = json::array();
      bool removed = false;
      auto add = [&](const json& s) {
        if (!s.is_string()) return;
        if (is_blank(s.get_ref<const std::string&>()))
          removed = true;  // Anthropic refuses them
        else
          seqs.push_back(s);
      };
      if (stop->is_array()) {
        for (const auto& s : *stop) add(s);
      } else {
        add(*stop);
      }
      if (removed) drop("stop");
      if (!seqs.empty()) body["stop_sequences"] = std::move(seqs);
    }
  }

  static const json* int_member(const json& obj, const char* key) {
    const json* v = member(obj, key);
    return v && v->is_number_integer() ? v : nullptr;
  }

  void convert_reasoning_and_max_tokens() {
    json& body = out_.body;
    const json* limit = int_member(in_, "max_completion_tokens");
    if (!limit) limit = int_member(in_, "max_tokens");
    int64_t max_tokens = limit ? limit->get<int64_t>() : kDefaultMaxTokens;

    if (const json* thinking = member(in_, "thinking"); thinking && thinking->is_object()) {
      // Anthropic's own parameter given as a vendor extra: passed as is.
      body["thinking"] = *thinking;
      const json* budget = int_member(*thinking, "budget_tokens");
      if (!limit && budget) max_tokens = budget->get<int64_t>() + kDefaultMaxTokens;
    } else if (const json* effort = member(in_, "reasoning_effort");
               effort && effort->is_string()) {
      int64_t budget = thinking_budget(effort->get_ref<const std::string&>());
      if (budget < 0) {
        drop("reasoning_effort");
      } else if (budget > 0) {
        if (!limit) {
          max_tokens = budget + kDefaultMaxTokens;
        } else if (max_tokens <= 1024) {
          budget = 0;  // Anthropic's minimum budget is 1024 and must stay below max_tokens
          drop("reasoning_effort");
        } else {
          budget = std::min(budget, std::max<int64_t>(1024, max_tokens / 2));
        }
        if (budget > 0) body["thinking"] = {{"type", "enabled"}, {"budget_tokens", budget}};
      }
    }
    body["max_tokens"] = max_tokens;
  }

  void convert_response_format() {
    const json* rf = member(in_, "response_format");
    if (!rf || !rf->is_object()) return;
    std::string_view type = str_of(member(*rf, "type"));
    json& body = out_.body;
    if (type == "json_schema") {
      // Anthropic's native structured output (output_config.format).
      const json* js = member(*rf, "json_schema");
      const json* schema = js ? member(*js, "schema") : nullptr;
      body["output_config"]["format"] = {
          {"type", "json_schema"},
          {"schema", schema && schema->is_object() ? *schema : json{{"type", "object"}}}};
    } else if (type == "json_object") {
      if (!uses_json_tool(in_)) {
        drop("response_format");
        return;
      }
      out_.json_tool = true;
      if (!body.contains("tools")) body["tools"] = json::array();  // (history tools stay declared)
      body["tools"].push_back(
          {{"name", kJsonToolName},
           {"description", "Respond with the answer as a JSON object."},
           {"input_schema", {{"type", "object"}, {"additionalProperties", true}}}});
      body["tool_choice"] = {{"type", "tool"}, {"name", kJsonToolName}};
    } else if (!type.empty() && type != "text") {
      drop("response_format");
    }
  }

  void convert_misc() {
    json& body = out_.body;
    std::string_view user = str_of(member(in_, "user"));
    if (user.empty()) user = str_of(member(in_, "safety_identifier"));
    if (const json* md = member(in_, "metadata"); md && md->is_object() && !md->empty()) {
      std::string_view uid = str_of(member(*md, "user_id"));
      if (md->size() == 1 && !uid.empty()) {
        if (user.empty()) user = uid;
      } else {
        drop("metadata");
      }
    }
    if (!user.empty()) body["metadata"] = {{"user_id", user}};
    if (const json* st = member(in_, "service_tier"); st && st->is_string()) {
      std::string_view s = st->get_ref<const std::string&>();
      if (s == "auto")
        body["service_tier"] = "auto";
      else if (s == "default")
        body["service_tier"] = "standard_only";
      else
        drop("service_tier");
    }
    if (const json* cc = member(in_, "cache_control")) body["cache_control"] = *cc;

    // Parameters Anthropic has no place for: named, never silently dropped.
    if (const json* n = int_member(in_, "n"); n && n->get<int64_t>() > 1) drop("n");
    if (const json* lp = member(in_, "logprobs"); lp && lp->is_boolean() && lp->get<bool>()) {
      drop("logprobs");
    }
    if (member(in_, "top_logprobs")) drop("top_logprobs");
    if (const json* lb = member(in_, "logit_bias"); lb && !lb->empty()) drop("logit_bias");
    for (const char* k : {"frequency_penalty", "presence_penalty"}) {
      if (const json* v = member(in_, k); v && v->is_number() && v->get<double>() != 0.0) drop(k);
    }
    if (member(in_, "seed")) drop("seed");
    if (const json* s = member(in_, "store"); s && s->is_boolean() && s->get<bool>()) drop("store");
    if (const json* mods = member(in_, "modalities"); mods && mods->is_array()) {
      for (const auto& m : *mods) {
        if (m != "text") drop("modalities");
      }
    }
    static constexpr std::string_view kKnown[] = {"model",
                                                  "messages",
                                                  "stream",
                                                  "stream_options",
                                                  "max_tokens",
                                                  "max_completion_tokens",
                                                  "temperature",
                                                  "top_p",
                                                  "top_k",
                                                  "stop",
                                                  "tools",
                                                  "tool_choice",
                                                  "parallel_tool_calls",
                                                  "response_format",
                                                  "reasoning_effort",
                                                  "thinking",
                                                  "user",
                                                  "safety_identifier",
                                                  "metadata",
                                                  "service_tier",
                                                  "cache_control",
                                                  "n",
                                                  "logprobs",
                                                  "top_logprobs",
                                                  "logit_bias",
                                                  "frequency_penalty",
                                                  "presence_penalty",
                                                  "seed",
                                                  "store",
                                                  "modalities",
                                                  "functions",
                                                  "function_call"};
    for (auto it = in_.begin(); it != in_.end(); ++it) {
      if (it->is_null()) continue;
      const std::string& k = it.key();
      if (std::find(std::begin(kKnown), std::end(kKnown), k) == std::end(kKnown)) drop(k);
    }
  }

  void note_history_tool(std::string_view name) {
    if (std::find(history_tools_.begin(), history_tools_.end(), name) == history_tools_.end()) {
      history_tools_.emplace_back(name);
    }
  }

  const json& in_;
  MessagesRequest out_;
  std::vector<std::string> history_tools_;  // tool names used by earlier assistant turns
  json system_ = json::array();
  json messages_ = json::array();
  std::string last_function_id_;
};

}  // namespace

int64_t thinking_budget(std::string_view effort) {
  if (effort == "none") return 0;
  if (effort == "minimal" || effort == "low") return 1024;
  if (effort == "medium") return 4096;
  if (effort == "high") return 16384;
  if (effort == "xhigh" || effort == "max") return 32768;
  return -1;
}

bool uses_json_tool(const json& openai) {
  const json* rf = member(openai, "response_format");
  if (!rf || str_of(member(*rf, "type")) != "json_object") return false;
  // A forced tool cannot be combined with the client's own tools or with extended thinking.
  const json* tools = member(openai, "tools");
  if (tools && tools->is_array() && !tools->empty()) return false;
  const json* fns = member(openai, "functions");
  if (fns && fns->is_array() && !fns->empty()) return false;
  if (member(openai, "thinking")) return false;
  std::string_view effort = str_of(member(openai, "reasoning_effort"));
  return effort.empty() || effort == "none";
}

std::string sanitize_tool_id(std::string_view id) {
  std::string out(id);
  for (auto& c : out) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

MessagesRequest to_messages_request(const json& openai, std::string_view upstream_model,
                                    bool stream) {
  return Builder(openai, upstream_model, stream).build();
}

}  // namespace tg::providers::anthropic
