// Responses request -> canonical chat-completions request, plus the request's input as stored
// items and the fields a Response echoes. Refusals name the field (param) in OpenAI's wording.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "internal.hpp"
#include "tollgate/providers/json_build.hpp"
#include "tollgate/providers/json_scan.hpp"

namespace tg::dialects::responses {
namespace {

using namespace detail;

Error invalid(std::string param, std::string message) {
  return Error::bad_request(std::move(message), std::move(param));
}

Error bad_type(const std::string& param, std::string_view expected, const json& got) {
  return invalid(param, fmt::format("Invalid type for '{}': expected {}, but got {} instead.",
                                    param, expected, got.type_name()));
}

Error unsupported(const std::string& param, std::string what) {
  Error e = invalid(param, std::move(what));
  e.code_str = "unsupported_value";
  return e;
}

// Tool types only OpenAI runs (hosted tools) or that have no chat-completions form.
Error builtin_refusal(const std::string& param, std::string_view type) {
  return unsupported(
      param, fmt::format("The '{}' tool is a built-in tool of OpenAI's Responses API: only "
                         "targets that speak the Responses API natively can serve it. This model is "
                         "served through chat-completions translation, which carries function "
                         "and custom tools only.",
                         type));
}

// The item types a client may send back that a chat conversation can hold.
bool translatable_item(std::string_view type) {
  return type == "message" || type == "function_call" || type == "function_call_output" ||
         type == "custom_tool_call" || type == "custom_tool_call_output" ||
         type == "reasoning" || type == "item_reference" || type == "additional_tools";
}

std::string_view item_prefix(std::string_view type) {
  if (type == "message") return "msg_";
  if (type == "function_call") return "fc_";
  if (type == "function_call_output") return "fco_";
  if (type == "custom_tool_call") return "ctc_";
  if (type == "custom_tool_call_output") return "ctco_";
  if (type == "reasoning") return "rs_";
  if (type == "additional_tools") return "at_";
  return "item_";
}

// The top-level member `key` as the client wrote it, on one line, when the parsed document's member
// is that text: the key written once and no key spelled with an escape (which could be another
// spelling of it). "" otherwise, and for no text. A line break in valid JSON text can only be
// whitespace between tokens (a string holds none raw): text without one, as the SDKs send it, is
// taken as it is; other text is compacted.
std::string written_member(std::string_view body, std::string_view key) {
  if (body.empty()) return {};
  std::string_view found;
  int seen = 0;
  bool plain = true;
  const bool whole =
      providers::json_scan::for_each_member(body, [&](std::string_view k, size_t b, size_t e) {
        if (k.find('\\') != std::string_view::npos) return plain = false;
        if (k == key) {
          ++seen;
          found = body.substr(b, e - b);
        }
        return true;
      });
  if (!whole || !plain || seen != 1 || found.empty()) return {};
  auto has = [found](char c) { return std::memchr(found.data(), c, found.size()) != nullptr; };
  if (!has('\n') && !has('\r')) return std::string(found);
  return providers::json_scan::compact(found);
}

class Builder {
 public:
  Builder(const json& body, const json& history, const ParseOptions& options)
      : in_(body),
        history_(history),
        references_(options.references),
        dropped_(options.dropped),
        random_(options.random),
        native_(options.native_target),
        builtin_tools_checked_(options.builtin_tools_checked),
        keep_input_(options.input_items),
        raw_body_(options.raw_body) {}

  std::variant<Request, Error> build() {
    if (!in_.is_object()) {
      return Error::bad_request("The request body must be a JSON object.");
    }
    Request r;
    const json* model = member(in_, "model");
    if (!model) return invalid("model", "Missing required parameter: 'model'.");
    if (!model->is_string()) return bad_type("model", "a string", *model);
    r.model = model->get<std::string>();
    if (auto e = boolean("stream", r.stream)) return *e;
    if (auto e = boolean("store", r.store)) return *e;
    if (const json* p = member(in_, "previous_response_id")) {
      if (!p->is_string()) return bad_type("previous_response_id", "a string", *p);
      r.previous_response_id = p->get<std::string>();
    }
    if (!native_) {
      if (auto e = refuse_unkeepable()) return *e;
    }

    // Tools first: calls in the conversation are named as their tools are on the chat side.
    if (auto e = collect_tools()) return *e;

    messages_ = json::array();
    if (const json* ins = member(in_, "instructions")) {
      if (!ins->is_string()) return bad_type("instructions", "a string", *ins);
      if (!ins->get_ref<const std::string&>().empty()) {
        messages_.push_back({{"role", "system"}, {"content", *ins}});
      }
    }
    // The stored conversation first: its items were validated when they were stored, but they
    // are read with the same rules (a failure names "history").
    if (history_.is_array()) {
      for (size_t i = 0; i < history_.size(); ++i) {
        if (auto e = add_item(history_[i], fmt::format("history[{}]", i), nullptr, true)) {
          return *e;
        }
      }
    }
    if (const json* input = member(in_, "input")) {
      json* record = keep_input_ ? &r.input_items : nullptr;
      if (input->is_string()) {  // one user message: what add_item makes of it, made directly
        messages_.push_back({{"role", "user"}, {"content", *input}});
        if (record) {
          record->push_back({{"id", new_id("msg_", random_)},
                             {"type", "message"},
                             {"role", "user"},
                             {"content", json::array({{{"type", "input_text"}, {"text", *input}}})},
                             {"status", "completed"}});
        }
      } else if (input->is_array()) {
        for (size_t i = 0; i < input->size(); ++i) {
          if (auto e = add_item((*input)[i], fmt::format("input[{}]", i), record, false)) {
            return *e;
          }
        }
      } else {
        return bad_type("input", "one of a string or array of input items", *input);
      }
    }
    // An empty assistant message that no call joined carries nothing a target would accept.
    messages_.erase(std::remove_if(messages_.begin(), messages_.end(),
                                   [](const json& m) {
                                     return m["role"] == "assistant" && m["content"].is_null() &&
                                            !m.contains("tool_calls") &&
                                            !m.contains("reasoning_content") &&
                                            !m.contains("thinking_blocks");
                                   }),
                    messages_.end());
    bool has_turn = std::any_of(messages_.begin(), messages_.end(),
                                [](const json& m) { return m["role"] != "system"; });
    if (!has_turn) return invalid("input", "Missing required parameter: 'input'.");

    chat_ = json::object();
    chat_["model"] = r.model;
    chat_["messages"] = std::move(messages_);
    if (r.stream) {
      chat_["stream"] = true;
      chat_["stream_options"] = {{"include_usage", true}};
    }
    if (auto e = convert_tools()) return *e;
    if (auto e = convert_params()) return *e;
    r.chat = std::move(chat_);
    r.echo = std::move(echo_);
    r.echo_tools = std::move(echo_tools_);
    r.tools = std::move(tool_names_);
    return r;
  }

 private:
  void drop(std::string name) {
    if (!dropped_) return;
    if (std::find(dropped_->begin(), dropped_->end(), name) == dropped_->end()) {
      dropped_->push_back(std::move(name));
    }
  }

  // For a native target the body goes upstream as is and `chat` only matters after a failover:
  // what it cannot carry is left out of it (and reported) instead of refused.
  std::optional<Error> refuse(Error e, std::string dropped_name) {
    if (!native_) return e;
    drop(std::move(dropped_name));
    return std::nullopt;
  }

  std::optional<Error> boolean(const char* key, bool& out) {
    if (const json* v = member(in_, key)) {
      if (!v->is_boolean()) return bad_type(key, "a boolean", *v);
      out = v->get<bool>();
    }
    return std::nullopt;
  }

  // Features whose meaning a chat request cannot keep: refused rather than silently ignored.
  std::optional<Error> refuse_unkeepable() {
    if (const json* b = member(in_, "background"); b && b->is_boolean() && b->get<bool>()) {
      return unsupported("background", "Background responses are not supported by Tollgate.");
    }
    if (member(in_, "conversation")) {
      return unsupported("conversation",
                         "Conversation objects are not supported by Tollgate; use "
                         "previous_response_id or send the whole input.");
    }
    if (member(in_, "prompt")) {
      return unsupported("prompt", "Stored prompt templates are not supported by Tollgate.");
    }
    return std::nullopt;
  }

  // ---- input items -> chat messages --------------------------------------------------------

  // The assistant message a function_call (or a following assistant item) may extend: the last
  // message when it is an assistant one this conversion made.
  json* open_assistant() {
    if (messages_.empty()) return nullptr;
    json& last = messages_.back();
    return last["role"] == "assistant" ? &last : nullptr;
  }

  json& new_assistant() {
    json msg = {{"role", "assistant"}, {"content", nullptr}};
    if (!reasoning_.empty()) msg["reasoning_content"] = std::move(reasoning_);
    if (!thinking_blocks_.empty()) msg["thinking_blocks"] = std::move(thinking_blocks_);
    reasoning_.clear();
    thinking_blocks_ = json::array();
    messages_.push_back(std::move(msg));
    return messages_.back();
  }

  std::optional<Error> add_item(const json& item, const std::string& where, json* record,
                                bool from_history) {
    if (!item.is_object()) return bad_type(where, "an object", item);
    std::string_view type = str_of(member(item, "type"));
    if (type.empty() && member(item, "role")) type = "message";  // EasyInputMessage
    if (type.empty()) return invalid(where + ".type", "Missing required parameter: '" + where + ".type'.");
    if (type == "item_reference") {
      std::string_view id = str_of(member(item, "id"));
      if (id.empty()) return invalid(where + ".id", "Missing required parameter: '" + where + ".id'.");
      const json* found = find_in_history(id);
      if (!found || str_of(member(*found, "type")) == "item_reference") {
        return invalid(where + ".id", fmt::format("Item with id '{}' not found.", id));
      }
      return add_item(*found, where, record, true);  // one level: references never nest
    }
    bool translatable = translatable_item(type);
    if (!translatable) {
      if (from_history) {  // e.g. a hosted tool's call from a turn served natively
        drop("history." + std::string(type));
        return std::nullopt;
      }
      auto e = refuse(unsupported(where + ".type",
                                  fmt::format("Input items of type '{}' cannot be sent to a model "
                                              "served through chat-completions translation; only "
                                              "targets that speak the Responses API natively "
                                              "take them.",
                                              type)),
                      "input." + std::string(type));
      if (e) return e;
    }
    json normal;  // the stored form, given an id and OpenAI's shape (only when it is recorded)
    if (record) {
      normal = item;
      normal["type"] = type;
    }
    std::optional<Error> err;
    if (!translatable) {
      // kept in input_items only
    } else if (type == "message") {
      err = add_message(item, where, record ? &normal : nullptr);
    } else if (type == "function_call" || type == "custom_tool_call") {
      err = add_function_call(item, where, type == "custom_tool_call");
    } else if (type == "function_call_output" || type == "custom_tool_call_output") {
      err = add_function_output(item, where);
    } else if (type == "reasoning") {
      err = add_reasoning(item, where);
    }  // additional_tools: its tools joined the request's in collect_tools
    if (err) return err;
    if (record) {
      if (str_of(member(normal, "id")).empty()) normal["id"] = new_id(item_prefix(type), random_);
      if (type != "reasoning" && type != "additional_tools" && !member(normal, "status")) {
        normal["status"] = "completed";
      }
      record->push_back(std::move(normal));
    }
    return std::nullopt;
  }

  const json* find_in_history(std::string_view id) const {
    for (const json* items : {&history_, references_}) {
      if (!items || !items->is_array()) continue;
      for (const auto& h : *items) {
        if (str_of(member(h, "id")) == id) return &h;
      }
    }
    return nullptr;
  }

  std::optional<Error> add_message(const json& item, const std::string& where, json* normal) {
    std::string_view role = str_of(member(item, "role"));
    if (role != "user" && role != "assistant" && role != "system" && role != "developer") {
      const json* r = member(item, "role");
      if (!r) return invalid(where + ".role", "Missing required parameter: '" + where + ".role'.");
      return invalid(where + ".role",
                     fmt::format("Invalid value: '{}'. Supported values are: 'user', "
                                 "'assistant', 'system', and 'developer'.",
                                 r->is_string() ? r->get<std::string>() : dump(*r)));
    }
    const json* content = member(item, "content");
    if (!content) {
      return invalid(where + ".content", "Missing required parameter: '" + where + ".content'.");
    }
    if (!content->is_string() && !content->is_array()) {
      return bad_type(where + ".content", "one of a string or array of content parts", *content);
    }
    bool assistant = role == "assistant";
    if (content->is_string() && normal) {
      (*normal)["content"] = json::array(
          {assistant ? json{{"type", "output_text"}, {"text", *content}, {"annotations", json::array()}}
                     : json{{"type", "input_text"}, {"text", *content}}});
    }
    if (assistant) return add_assistant_message(*content, where);

    json parts = json::array();
    if (content->is_string()) {
      parts.push_back({{"type", "text"}, {"text", *content}});
    } else {
      for (size_t i = 0; i < content->size(); ++i) {
        if (auto e = input_part((*content)[i], fmt::format("{}.content[{}]", where, i), parts)) {
          return e;
        }
      }
    }
    bool system = role == "system" || role == "developer";
    if (system) {  // instructions: text only, joined (every adapter takes a string system)
      std::string text;
      for (const auto& p : parts) {
        if (p["type"] != "text") {
          auto e = refuse(unsupported(where + ".content",
                                      "System and developer messages can only contain text."),
                          where + ".content");
          if (e) return e;
          continue;
        }
        if (!text.empty()) text += '\n';
        text += p["text"].get_ref<const std::string&>();
      }
      messages_.push_back({{"role", "system"}, {"content", std::move(text)}});
      return std::nullopt;
    }
    json value = parts.size() == 1 && parts[0]["type"] == "text" ? parts[0]["text"] : parts;
    messages_.push_back({{"role", "user"}, {"content", std::move(value)}});
    return std::nullopt;
  }

  // input_text / input_image / input_file -> chat content parts.
  std::optional<Error> input_part(const json& part, const std::string& where, json& parts) {
    if (!part.is_object()) return bad_type(where, "an object", part);
    std::string_view type = str_of(member(part, "type"));
    if (type == "input_text" || type == "output_text" || type == "text") {
      const json* text = member(part, "text");
      if (!text || !text->is_string()) {
        return text ? bad_type(where + ".text", "a string", *text)
                    : invalid(where + ".text", "Missing required parameter: '" + where + ".text'.");
      }
      parts.push_back({{"type", "text"}, {"text", *text}});
      return std::nullopt;
    }
    if (type == "input_image") {
      if (member(part, "file_id")) {
        return refuse(unsupported(where + ".file_id",
                                  "Images by file_id are not supported: Tollgate has no Files "
                                  "API. Send the image as image_url (a URL or a data: URL)."),
                      "input_image.file_id");
      }
      std::string_view url = str_of(member(part, "image_url"));
      if (url.empty()) {
        return invalid(where + ".image_url",
                       "Missing required parameter: '" + where + ".image_url'.");
      }
      json image = {{"url", url}};
      if (std::string_view detail = str_of(member(part, "detail")); !detail.empty()) {
        image["detail"] = detail;
      }
      parts.push_back({{"type", "image_url"}, {"image_url", std::move(image)}});
      return std::nullopt;
    }
    if (type == "input_file") {
      if (member(part, "file_id")) {
        return refuse(unsupported(where + ".file_id",
                                  "Files by file_id are not supported: Tollgate has no Files "
                                  "API. Send the file inline as file_data (a base64 data: URL)."),
                      "input_file.file_id");
      }
      if (member(part, "file_url")) {
        return refuse(unsupported(where + ".file_url",
                                  "Files by file_url are not supported by chat-completions "
                                  "translation. Send the file inline as file_data (a base64 "
                                  "data: URL)."),
                      "input_file.file_url");
      }
      std::string_view data = str_of(member(part, "file_data"));
      if (data.empty()) {
        return invalid(where + ".file_data",
                       "Missing required parameter: '" + where + ".file_data'.");
      }
      std::string_view name = str_of(member(part, "filename"));
      parts.push_back({{"type", "file"},
                       {"file",
                        {{"filename", name.empty() ? std::string_view("document.pdf") : name},
                         {"file_data", data}}}});
      return std::nullopt;
    }
    if (type.empty()) {
      return invalid(where + ".type", "Missing required parameter: '" + where + ".type'.");
    }
    return invalid(where + ".type",
                   fmt::format("Invalid value: '{}'. Supported values are: 'input_text', "
                               "'input_image', and 'input_file'.",
                               type));
  }

  std::optional<Error> add_assistant_message(const json& content, const std::string& where) {
    std::string text;
    if (content.is_string()) {
      text = content.get<std::string>();
    } else {
      for (size_t i = 0; i < content.size(); ++i) {
        const json& part = content[i];
        std::string at = fmt::format("{}.content[{}]", where, i);
        std::string_view type = str_of(member(part, "type"));
        if (type == "output_text" || type == "input_text" || type == "text") {
          text += str_of(member(part, "text"));
        } else if (type == "refusal") {
          text += str_of(member(part, "refusal"));
        } else {
          return invalid(at + ".type",
                         fmt::format("Invalid value: '{}'. Supported values are: 'output_text' "
                                     "and 'refusal'.",
                                     type));
        }
      }
    }
    json& msg = new_assistant();
    // An empty message (clients replay one before streamed tool calls) says nothing: null, so the
    // calls that follow join it and no target sees an empty text block.
    if (!text.empty()) msg["content"] = std::move(text);
    return std::nullopt;
  }

  // A custom tool's call carries free text: it becomes the `input` argument of its function.
  std::optional<Error> add_function_call(const json& item, const std::string& where, bool custom) {
    for (const char* k : {"call_id", "name", custom ? "input" : "arguments"}) {
      const json* v = member(item, k);
      if (!v) return invalid(where + "." + k, fmt::format("Missing required parameter: '{}.{}'.", where, k));
      if (!v->is_string()) return bad_type(where + "." + k, "a string", *v);
    }
    if (const json* ns = member(item, "namespace"); ns && !ns->is_string()) {
      return bad_type(where + ".namespace", "a string", *ns);
    }
    json* msg = open_assistant();
    // Reasoning between a message and its calls belongs to the calls: start a new turn then.
    if (!msg || !reasoning_.empty() || !thinking_blocks_.empty()) msg = &new_assistant();
    if (!msg->contains("tool_calls")) (*msg)["tool_calls"] = json::array();
    json arguments = custom ? json(dump({{"input", item["input"]}})) : item["arguments"];
    std::string name = chat_name(str_of(member(item, "namespace")),
                                 item["name"].get_ref<const std::string&>());
    (*msg)["tool_calls"].push_back({{"id", item["call_id"]},
                                    {"type", "function"},
                                    {"function",
                                     {{"name", std::move(name)}, {"arguments", std::move(arguments)}}}});
    return std::nullopt;
  }

  std::optional<Error> add_function_output(const json& item, const std::string& where) {
    const json* id = member(item, "call_id");
    if (!id) return invalid(where + ".call_id", "Missing required parameter: '" + where + ".call_id'.");
    if (!id->is_string()) return bad_type(where + ".call_id", "a string", *id);
    const json* output = member(item, "output");
    if (!output) return invalid(where + ".output", "Missing required parameter: '" + where + ".output'.");
    std::string text;
    json images = json::array();  // a tool message holds text only: images follow as user content
    if (output->is_string()) {
      text = output->get<std::string>();
    } else if (output->is_array()) {
      json parts = json::array();
      for (size_t i = 0; i < output->size(); ++i) {
        if (auto e = input_part((*output)[i], fmt::format("{}.output[{}]", where, i), parts)) {
          return e;
        }
      }
      for (auto& p : parts) {
        if (p["type"] == "text") {
          if (!text.empty()) text += '\n';
          text += p["text"].get_ref<const std::string&>();
        } else {
          images.push_back(std::move(p));
        }
      }
    } else {
      return bad_type(where + ".output", "one of a string or array of content parts", *output);
    }
    messages_.push_back({{"role", "tool"}, {"tool_call_id", *id}, {"content", std::move(text)}});
    if (!images.empty()) messages_.push_back({{"role", "user"}, {"content", std::move(images)}});
    return std::nullopt;
  }

  // Reasoning goes to the next assistant message as reasoning_content (and signed thinking as
  // thinking_blocks); encrypted reasoning from OpenAI itself cannot be replayed elsewhere.
  std::optional<Error> add_reasoning(const json& item, const std::string& where) {
    std::string text;
    for (const char* key : {"summary", "content"}) {
      const json* parts = member(item, key);
      if (!parts) continue;
      if (!parts->is_array()) return bad_type(where + "." + key, "an array", *parts);
      for (const auto& p : *parts) {
        std::string_view t = str_of(member(p, "text"));
        if (t.empty()) continue;
        if (!text.empty()) text += "\n\n";
        text += t;
      }
      if (!text.empty()) break;  // summary and content say the same thing: one is enough
    }
    std::string_view enc = str_of(member(item, "encrypted_content"));
    if (enc.substr(0, kSignaturePrefix.size()) == kSignaturePrefix) {
      thinking_blocks_.push_back({{"type", "thinking"},
                                  {"thinking", text},
                                  {"signature", enc.substr(kSignaturePrefix.size())}});
    } else if (enc.substr(0, kRedactedPrefix.size()) == kRedactedPrefix) {
      thinking_blocks_.push_back(
          {{"type", "redacted_thinking"}, {"data", enc.substr(kRedactedPrefix.size())}});
    }
    if (!text.empty()) {
      if (!reasoning_.empty()) reasoning_ += "\n\n";
      reasoning_ += text;
    }
    return std::nullopt;
  }

  // ---- tools and parameters ----------------------------------------------------------------

  // The tools offered to chat, in order: top-level `tools`, then those of `additional_tools`
  // items (Codex sends its tools so for OpenAI's own model names), from the stored conversation
  // and then this input. A `namespace` tool's functions are offered one by one under flat names.
  std::optional<Error> collect_tools() {
    const json* tools = member(in_, "tools");
    if (tools && !tools->is_array()) return bad_type("tools", "an array", *tools);
    if (!native_ && !builtin_tools_checked_) {
      if (auto e = refuse_builtin_tools(in_)) return e;
    }
    if (tools) {
      if (auto e = declare_tools(*tools, "tools", false)) return e;
    }
    for (bool history : {true, false}) {
      const json* items = history ? &history_ : member(in_, "input");
      if (!items || !items->is_array()) continue;
      for (size_t i = 0; i < items->size(); ++i) {
        const json* item = &(*items)[i];
        if (str_of(member(item, "type")) == "item_reference") {
          item = find_in_history(str_of(member(item, "id")));  // unknown: add_item refuses it
        }
        if (!item || str_of(member(item, "type")) != "additional_tools") continue;
        std::string where = fmt::format("{}[{}].tools", history ? "history" : "input", i);
        const json* tools = member(item, "tools");
        if (!tools) return invalid(where, "Missing required parameter: '" + where + "'.");
        if (!tools->is_array()) return bad_type(where, "an array", *tools);
        if (auto e = declare_tools(*tools, where, history)) return e;
      }
    }
    name_tools();
    return std::nullopt;
  }

  // Validates one list of tools and queues its function and custom tools (namespaces opened).
  std::optional<Error> declare_tools(const json& tools, const std::string& where, bool from_history) {
    for (size_t i = 0; i < tools.size(); ++i) {
      const json& t = tools[i];
      std::string at = fmt::format("{}[{}]", where, i);
      if (!t.is_object()) return bad_type(at, "an object", t);
      std::string_view type = str_of(member(t, "type"));
      if (type == "namespace") {
        std::string_view ns = str_of(member(t, "name"));
        if (ns.empty()) return invalid(at + ".name", "Missing required parameter: '" + at + ".name'.");
        const json* inner = member(t, "tools");
        if (!inner) return invalid(at + ".tools", "Missing required parameter: '" + at + ".tools'.");
        if (!inner->is_array()) return bad_type(at + ".tools", "an array", *inner);
        for (size_t j = 0; j < inner->size(); ++j) {
          const json& f = (*inner)[j];
          std::string fat = fmt::format("{}.tools[{}]", at, j);
          std::string_view ftype = str_of(member(f, "type"));
          if (ftype != "function" && ftype != "custom") {  // one level only, as OpenAI's
            return invalid(fat + ".type",
                           fmt::format("Invalid value: '{}'. Supported values are: 'function' "
                                       "and 'custom'.",
                                       ftype));
          }
          if (auto e = declare(f, fat, &t)) return e;
        }
        continue;
      }
      if (type != "function" && type != "custom") {
        // Refused before this for this request's tools on a translated target.
        drop(std::string(from_history ? "history.tools." : "tools.") +
             std::string(type.empty() ? "unknown" : type));
        continue;
      }
      if (auto e = declare(t, at, nullptr)) return e;
    }
    return std::nullopt;
  }

  std::optional<Error> declare(const json& t, const std::string& where, const json* ns_tool) {
    const json* name = member(t, "name");
    if (!name) return invalid(where + ".name", "Missing required parameter: '" + where + ".name'.");
    if (!name->is_string()) return bad_type(where + ".name", "a string", *name);
    bool custom = str_of(member(t, "type")) == "custom";
    json tool;
    if (custom) {
      tool = custom_tool(t, where);
    } else {
      json fn = {{"name", *name}};
      if (const json* d = member(t, "description")) fn["description"] = *d;
      const json* params = member(t, "parameters");
      if (params && !params->is_object()) return bad_type(where + ".parameters", "an object", *params);
      fn["parameters"] = params ? *params : json{{"type", "object"}, {"properties", json::object()}};
      // OpenAI defaults Responses tools to strict, but only its own servers make a loose schema
      // strict-compatible: elsewhere strict is sent only when the client asked for it.
      if (const json* strict = member(t, "strict"); strict && strict->is_boolean()) {
        fn["strict"] = *strict;
      }
      tool = {{"type", "function"}, {"function", std::move(fn)}};
    }
    std::string ns(str_of(member(ns_tool, "name")));
    // The namespace's description says what its tools are for: the flat function carries it.
    std::string_view ns_description = str_of(member(ns_tool, "description"));
    if (!ns_description.empty()) {
      json& fn = tool["function"];
      std::string d(ns_description);
      if (std::string_view own = str_of(member(fn, "description")); !own.empty()) {
        d += "\n\n";
        d += own;
      }
      fn["description"] = std::move(d);
    }
    declared_.push_back({std::move(ns), name->get<std::string>(), custom, std::move(tool)});
    return std::nullopt;
  }

  // Chat names: plain tools keep theirs (taken first); a namespaced one gets its flat name, salted
  // past any name already taken. A tool declared twice (the same namespace and name, e.g. in the
  // stored conversation and again in this input) is offered once, as first declared.
  void name_tools() {
    std::set<std::string, std::less<>> taken;
    for (const auto& d : declared_) {
      if (d.ns.empty()) taken.insert(d.name);
    }
    for (auto& d : declared_) {
      auto key = std::make_pair(d.ns, d.name);
      if (chat_names_.count(key)) continue;
      std::string chat = d.name;
      if (!d.ns.empty()) {
        chat = flat_tool_name(d.ns, d.name);
        for (unsigned salt = 1; taken.count(chat); ++salt) chat = flat_tool_name(d.ns, d.name, salt);
        taken.insert(chat);
      }
      d.tool["function"]["name"] = chat;
      chat_names_.emplace(std::move(key), chat);
      tool_names_[chat] = ToolRef{d.name, d.ns, d.custom};
      chat_tools_.push_back(std::move(d.tool));
    }
    declared_.clear();
  }

  // The chat name of a call's tool: as offered, else (a tool no longer offered) its flat name.
  std::string chat_name(std::string_view ns, const std::string& name) const {
    auto it = chat_names_.find(std::make_pair(std::string(ns), name));
    if (it != chat_names_.end()) return it->second;
    return ns.empty() ? name : flat_tool_name(ns, name);
  }

  std::optional<Error> convert_tools() {
    json chat_tools = std::move(chat_tools_);
    if (const json* tools = member(in_, "tools")) {
      echo_tools_ = written_member(raw_body_, "tools");
      if (echo_tools_.empty()) echo_["tools"] = *tools;
    }
    if (const json* tc = member(in_, "tool_choice")) {
      echo_["tool_choice"] = *tc;
      if (tc->is_string()) {
        std::string_view mode = tc->get_ref<const std::string&>();
        if (mode != "auto" && mode != "none" && mode != "required") {
          return invalid("tool_choice",
                         fmt::format("Invalid value: '{}'. Supported values are: 'none', 'auto', "
                                     "and 'required'.",
                                     mode));
        }
        if (!chat_tools.empty()) chat_["tool_choice"] = *tc;
      } else if (tc->is_object()) {
        std::string_view type = str_of(member(tc, "type"));
        if (type == "function" || type == "custom") {
          std::string_view name = str_of(member(tc, "name"));
          if (name.empty()) {
            return invalid("tool_choice.name", "Missing required parameter: 'tool_choice.name'.");
          }
          chat_["tool_choice"] = {
              {"type", "function"},
              {"function", {{"name", chat_name(str_of(member(tc, "namespace")), std::string(name))}}}};
        } else if (type == "allowed_tools") {
          // Keep the meaning by offering only the allowed tools (a namespace entry allows all of
          // its tools).
          std::string_view mode = str_of(member(tc, "mode"));
          const json* allowed = member(tc, "tools");
          if (!allowed || !allowed->is_array()) {
            return invalid("tool_choice.tools", "Missing required parameter: 'tool_choice.tools'.");
          }
          json kept = json::array();
          for (auto& t : chat_tools) {
            const ToolRef& ref = tool_names_.at(t["function"]["name"].get<std::string>());
            bool ok = std::any_of(allowed->begin(), allowed->end(), [&](const json& a) {
              std::string_view name = str_of(member(a, "name"));
              if (str_of(member(a, "type")) == "namespace") return !ref.ns.empty() && name == ref.ns;
              return name == ref.name && str_of(member(a, "namespace")) == ref.ns;
            });
            if (ok) kept.push_back(std::move(t));
          }
          chat_tools = std::move(kept);
          chat_["tool_choice"] = mode == "required" ? "required" : "auto";
        } else if (auto e = refuse(builtin_refusal("tool_choice.type", type.empty() ? "unknown" : type),
                                   "tool_choice")) {
          return e;
        }
      } else {
        return bad_type("tool_choice", "one of a string or object", *tc);
      }
    }
    if (!chat_tools.empty()) {
      chat_["tools"] = std::move(chat_tools);
    } else {
      chat_.erase("tool_choice");
    }
    if (const json* p = member(in_, "parallel_tool_calls")) {
      if (!p->is_boolean()) return bad_type("parallel_tool_calls", "a boolean", *p);
      echo_["parallel_tool_calls"] = *p;
      if (chat_.contains("tools")) chat_["parallel_tool_calls"] = *p;
    }
    return std::nullopt;
  }

  // A custom tool (free-text input, e.g. Codex's apply_patch) as a function with one string
  // argument, `input`; its grammar, which no chat target enforces, goes into the description.
  json custom_tool(const json& t, const std::string& where) {
    std::string description(str_of(member(t, "description")));
    const json* format = member(t, "format");
    if (str_of(member(format, "type")) == "grammar") {
      drop(where + ".format");
      if (!description.empty()) description += "\n\n";
      description += "The input must follow this " +
                     std::string(str_of(member(format, "syntax"))) + " grammar:\n" +
                     std::string(str_of(member(format, "definition")));
    }
    json fn = {{"name", t["name"]},
               {"parameters",
                {{"type", "object"},
                 {"properties", {{"input", {{"type", "string"}, {"description", "The tool's input, as free text."}}}}},
                 {"required", json::array({"input"})},
                 {"additionalProperties", false}}}};
    if (!description.empty()) fn["description"] = std::move(description);
    return {{"type", "function"}, {"function", std::move(fn)}};
  }

  std::optional<Error> convert_params() {
    // echo_ holds what the request set; write_skeleton fills in OpenAI's defaults.
    for (const char* k : {"temperature", "top_p"}) {
      if (const json* v = member(in_, k)) {
        if (!v->is_number()) return bad_type(k, "a number", *v);
        chat_[k] = *v;
        echo_[k] = *v;
      }
    }
    if (const json* m = member(in_, "max_output_tokens")) {
      if (!m->is_number_integer()) return bad_type("max_output_tokens", "an integer", *m);
      if (m->get<int64_t>() < 1) {
        return invalid("max_output_tokens",
                       fmt::format("Invalid 'max_output_tokens': integer below minimum value. "
                                   "Expected a value >= 1, but got {} instead.",
                                   m->get<int64_t>()));
      }
      chat_["max_completion_tokens"] = *m;
      echo_["max_output_tokens"] = *m;
    }
    if (const json* ins = member(in_, "instructions")) echo_["instructions"] = *ins;
    if (const json* md = member(in_, "metadata")) {
      if (!md->is_object()) return bad_type("metadata", "an object", *md);
      echo_["metadata"] = *md;  // kept with the stored response; chat targets have no use for it
    }
    std::string_view user = str_of(member(in_, "user"));
    std::string_view safety = str_of(member(in_, "safety_identifier"));
    if (!user.empty()) echo_["user"] = user;
    if (!safety.empty()) echo_["safety_identifier"] = safety;
    if (!user.empty() || !safety.empty()) chat_["user"] = user.empty() ? safety : user;

    if (const json* text = member(in_, "text")) {
      if (!text->is_object()) return bad_type("text", "an object", *text);
      echo_["text"] = *text;
      if (!member(text, "format")) echo_["text"]["format"] = {{"type", "text"}};
      if (member(text, "verbosity")) drop("text.verbosity");
      if (const json* f = member(text, "format")) {
        std::string_view type = str_of(member(f, "type"));
        if (type == "json_schema") {
          const json* schema = member(f, "schema");
          if (!schema || !schema->is_object()) {
            return invalid("text.format.schema",
                           "Missing required parameter: 'text.format.schema'.");
          }
          std::string_view name = str_of(member(f, "name"));
          if (name.empty()) {
            return invalid("text.format.name", "Missing required parameter: 'text.format.name'.");
          }
          json js = {{"name", name}, {"schema", *schema}};
          if (const json* d = member(f, "description")) js["description"] = *d;
          if (const json* s = member(f, "strict"); s && s->is_boolean()) js["strict"] = *s;
          chat_["response_format"] = {{"type", "json_schema"}, {"json_schema", std::move(js)}};
        } else if (type == "json_object") {
          chat_["response_format"] = {{"type", "json_object"}};
        } else if (type != "text") {
          return invalid("text.format.type",
                         fmt::format("Invalid value: '{}'. Supported values are: 'text', "
                                     "'json_object', and 'json_schema'.",
                                     type));
        }
      }
    }

    if (const json* rs = member(in_, "reasoning")) {
      if (!rs->is_object()) return bad_type("reasoning", "an object", *rs);
      echo_["reasoning"] = {{"effort", nullptr}, {"summary", nullptr}};
      for (const char* k : {"effort", "summary"}) {
        if (const json* v = member(rs, k)) echo_["reasoning"][k] = *v;
      }
      if (member(rs, "context")) drop("reasoning.context");  // which turns' reasoning to keep
      if (const json* effort = member(rs, "effort")) {
        if (!effort->is_string()) return bad_type("reasoning.effort", "a string", *effort);
        chat_["reasoning_effort"] = *effort;  // each adapter maps it to its thinking knob
      }
    }

    if (std::string_view t = str_of(member(in_, "truncation")); !t.empty()) {
      echo_["truncation"] = t;
      if (t == "auto") drop("truncation");  // no target trims the middle of a chat for us
    }
    if (std::string_view tier = str_of(member(in_, "service_tier")); !tier.empty()) {
      echo_["service_tier"] = tier;
      chat_["service_tier"] = tier;
    }
    if (const json* n = member(in_, "top_logprobs")) {
      echo_["top_logprobs"] = *n;
      drop("top_logprobs");
    }
    if (const json* n = member(in_, "max_tool_calls")) {
      echo_["max_tool_calls"] = *n;
      drop("max_tool_calls");
    }
    if (const json* inc = member(in_, "include"); inc && inc->is_array()) {
      for (const auto& v : *inc) {
        std::string_view what = str_of(&v);
        // Signed thinking is always carried in encrypted_content; nothing else is produced.
        if (what != "reasoning.encrypted_content") drop("include." + std::string(what));
      }
    }
    // Echoed and kept, but not sent: the translated targets cache prompts by their own rules.
    if (const json* k = member(in_, "prompt_cache_key")) {
      echo_["prompt_cache_key"] = *k;
      drop("prompt_cache_key");
    }
    if (member(in_, "client_metadata")) drop("client_metadata");  // Codex's turn metadata
    return std::nullopt;
  }

  const json& in_;
  const json& history_;
  const json* references_;
  std::vector<std::string>* dropped_;
  const Random& random_;
  bool native_;
  bool builtin_tools_checked_;
  bool keep_input_;
  std::string_view raw_body_;
  std::string echo_tools_;
  json messages_;
  json chat_ = json::object();
  json echo_ = json::object();
  struct Declared {  // a function or custom tool waiting for its chat name
    std::string ns, name;
    bool custom;
    json tool;  // the chat tool
  };
  std::vector<Declared> declared_;
  json chat_tools_ = json::array();
  ToolNames tool_names_;                                          // chat name -> Responses tool
  std::map<std::pair<std::string, std::string>, std::string> chat_names_;  // (ns, name) -> chat
  std::string reasoning_;                      // reasoning waiting for its assistant message
  json thinking_blocks_ = json::array();       // signed thinking waiting likewise
};

uint64_t system_random() {
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }()};
  return gen();
}

}  // namespace

std::string new_id(std::string_view prefix, const Random& random) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(prefix);
  id.reserve(prefix.size() + 48);
  for (int word = 0; word < 3; ++word) {
    uint64_t bits = random ? random() : system_random();
    for (int i = 0; i < 16; ++i, bits >>= 4) id += kHex[bits & 15];
  }
  return id;
}

namespace {

// The first tool of a list that is neither a function nor a custom tool (nor a namespace of them).
std::optional<Error> refuse_in(const json& tools, const std::string& where) {
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& t = tools[i];
    std::string at = fmt::format("{}[{}]", where, i);
    if (!t.is_object()) return bad_type(at, "an object", t);
    const json* type = member(t, "type");
    if (!type) return invalid(at + ".type", "Missing required parameter: '" + at + ".type'.");
    if (!type->is_string()) return bad_type(at + ".type", "a string", *type);
    if (*type == "namespace") {
      if (const json* inner = member(t, "tools"); inner && inner->is_array()) {
        if (auto e = refuse_in(*inner, at + ".tools")) return e;  // namespaces do not nest
      }
    } else if (*type != "function" && *type != "custom") {
      return builtin_refusal(at + ".type", type->get<std::string>());
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Error> refuse_builtin_tools(const json& body) {
  if (const json* tools = member(body, "tools"); tools && tools->is_array()) {
    if (auto e = refuse_in(*tools, "tools")) return e;
  }
  if (const json* input = member(body, "input"); input && input->is_array()) {
    for (size_t i = 0; i < input->size(); ++i) {
      const json& item = (*input)[i];
      if (str_of(member(item, "type")) != "additional_tools") continue;
      if (const json* tools = member(item, "tools"); tools && tools->is_array()) {
        if (auto e = refuse_in(*tools, fmt::format("input[{}].tools", i))) return e;
      }
    }
  }
  if (const json* tc = member(body, "tool_choice"); tc && tc->is_object()) {
    std::string_view type = str_of(member(tc, "type"));
    if (type != "function" && type != "custom" && type != "allowed_tools") {
      return builtin_refusal("tool_choice.type", type.empty() ? "unknown" : type);
    }
  }
  return std::nullopt;
}

std::string flat_tool_name(std::string_view ns, std::string_view name, unsigned salt) {
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  };
  auto starts_well = [](const std::string& s) {
    char c = s.empty() ? '0' : s[0];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  std::string flat;
  flat.reserve(ns.size() + 2 + name.size());
  flat.append(ns).append("__").append(name);
  if (salt == 0 && flat.size() <= 64 && starts_well(flat) &&
      std::all_of(flat.begin(), flat.end(), allowed)) {
    return flat;
  }
  // FNV-1a over both parts (and the salt): stable across runs and builds, so a replayed call
  // names the tool as the request that offered it did.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view bytes) {
    for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  };
  mix(ns);
  mix(std::string_view("\0", 1));
  mix(name);
  if (salt > 0) mix(fmt::format("\0{}", salt));
  for (char& c : flat) {
    if (!allowed(c)) c = '_';
  }
  if (!starts_well(flat)) flat.insert(flat.begin(), '_');
  if (flat.size() > 55) flat.resize(55);
  return fmt::format("{}_{:08x}", flat, static_cast<uint32_t>(h ^ (h >> 32)));
}

std::variant<Request, Error> parse_request(const json& body, const json& history,
                                           const ParseOptions& options) {
  return Builder(body, history, options).build();
}

std::vector<std::string> referenced_item_ids(const json& body) {
  std::vector<std::string> ids;
  const json* input = member(body, "input");
  if (!input || !input->is_array()) return ids;
  for (const auto& item : *input) {
    if (str_of(member(item, "type")) != "item_reference") continue;
    std::string id(str_of(member(item, "id")));
    if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
  }
  return ids;
}

}  // namespace tg::dialects::responses
