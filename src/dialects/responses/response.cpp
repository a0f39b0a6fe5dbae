// Chat answer -> Response object; usage both ways.

#include <algorithm>

#include "internal.hpp"
#include "tollgate/providers/json_scan.hpp"

namespace tg::dialects::responses {

using namespace detail;

namespace detail {

json response_skeleton(const ResponseInfo& info, std::string_view status) {
  json r = {{"id", info.id},
            {"object", "response"},
            {"created_at", info.created_at},
            {"status", status},
            {"background", false},
            {"error", nullptr},
            {"incomplete_details", nullptr},
            {"instructions", nullptr},
            {"max_output_tokens", nullptr},
            {"model", info.model},
            {"output", json::array()},
            {"parallel_tool_calls", true},
            {"previous_response_id", info.previous_response_id.empty()
                                         ? json(nullptr)
                                         : json(info.previous_response_id)},
            {"reasoning", {{"effort", nullptr}, {"summary", nullptr}}},
            {"service_tier", "auto"},
            {"store", info.store},
            {"temperature", nullptr},
            {"text", {{"format", {{"type", "text"}}}}},
            {"tool_choice", "auto"},
            {"tools", json::array()},
            {"top_p", nullptr},
            {"truncation", "disabled"},
            {"usage", nullptr},
            {"metadata", json::object()}};
  if (info.echo.is_object()) {
    for (const auto& [k, v] : info.echo.items()) r[k] = v;
  }
  return r;
}

ToolNames tool_names(const ResponseInfo& info) {
  if (!info.tools.empty()) return info.tools;
  const json* tools = member(info.echo, "tools");
  if (!tools || !tools->is_array() || tools->empty()) return {};
  // The echo was validated when the request was parsed: parse it again for the names only.
  json body = {{"model", ""}, {"input", "-"}, {"tools", *tools}};
  ParseOptions options;
  options.native_target = true;  // built-in tools left out, not refused
  auto r = parse_request(body, json::array(), options);
  auto* req = std::get_if<Request>(&r);
  return req ? std::move(req->tools) : ToolNames{};
}

ToolRef tool_of(const ToolNames& tools, std::string_view chat_name) {
  auto it = tools.find(chat_name);
  if (it != tools.end()) return it->second;
  return ToolRef{std::string(chat_name), "", false};
}

std::string custom_input(std::string_view arguments) {
  // Only the one string member is parsed: model output is hostile too, and a string cannot nest.
  std::string_view raw;
  providers::json_scan::for_each_member(arguments, [&](std::string_view key, size_t b, size_t e) {
    if (key != "input") return true;
    raw = arguments.substr(b, e - b);
    return false;
  });
  if (!raw.empty() && raw.front() == '"') {
    json in = json::parse(raw, nullptr, false);
    if (in.is_string()) return in.get<std::string>();
  }
  return std::string(arguments);
}

}  // namespace detail

json responses_usage(const providers::Usage& u) {
  return {{"input_tokens", u.input},
          {"input_tokens_details", {{"cached_tokens", u.cached_read}}},
          {"output_tokens", u.output},
          {"output_tokens_details", {{"reasoning_tokens", u.reasoning}}},
          {"total_tokens", u.input + u.output}};
}

providers::Usage usage_from_responses(const json& usage) {
  providers::Usage out;
  if (!usage.is_object()) return out;
  auto num = [](const json* obj, const char* key) -> int64_t {
    const json* v = member(obj, key);
    return v && v->is_number_integer() ? std::max<int64_t>(0, v->get<int64_t>()) : 0;
  };
  out.present = true;
  out.input = num(&usage, "input_tokens");
  out.output = num(&usage, "output_tokens");
  out.cached_read = num(member(usage, "input_tokens_details"), "cached_tokens");
  out.reasoning = num(member(usage, "output_tokens_details"), "reasoning_tokens");
  return out;
}

json build_response(std::string_view body, const ResponseInfo& info) {
  json j = json::parse(body, nullptr, false);
  const json* choices = member(j, "choices");
  if (!choices || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) {
    json r = response_skeleton(info, "failed");
    r["error"] = {{"code", "server_error"},
                  {"message", "The upstream answer is not a chat completion."}};
    return r;
  }
  const json& choice = (*choices)[0];
  const json* msg = member(choice, "message");
  json output = json::array();
  std::string_view finish = str_of(member(choice, "finish_reason"));
  const char* incomplete = finish == "length"           ? "max_output_tokens"
                           : finish == "content_filter" ? "content_filter"
                                                        : nullptr;

  // Reasoning: signed thinking blocks one item each (their signature kept for the round trip),
  // else the plain reasoning text as one item.
  auto reasoning_item = [&](std::string_view text, std::string enc) {
    json item = {{"id", new_id("rs_", info.random)}, {"type", "reasoning"}, {"summary", json::array()}};
    if (!text.empty()) item["summary"].push_back({{"type", "summary_text"}, {"text", text}});
    if (!enc.empty()) item["encrypted_content"] = std::move(enc);
    output.push_back(std::move(item));
  };
  std::string_view reasoning = str_of(member(msg, "reasoning_content"));
  if (reasoning.empty()) reasoning = str_of(member(msg, "reasoning"));
  const json* blocks = member(msg, "thinking_blocks");
  if (blocks && blocks->is_array() && !blocks->empty()) {
    for (const auto& b : *blocks) {
      std::string_view type = str_of(member(b, "type"));
      if (type == "thinking") {
        std::string_view sig = str_of(member(b, "signature"));
        reasoning_item(str_of(member(b, "thinking")),
                       sig.empty() ? std::string() : std::string(kSignaturePrefix) + std::string(sig));
      } else if (type == "redacted_thinking") {
        reasoning_item("", std::string(kRedactedPrefix) + std::string(str_of(member(b, "data"))));
      }
    }
  } else if (!reasoning.empty()) {
    reasoning_item(reasoning, "");
  }

  std::string text;
  if (const json* c = member(msg, "content")) {
    if (c->is_string()) {
      text = c->get<std::string>();
    } else if (c->is_array()) {
      for (const auto& part : *c) text += str_of(member(part, "text"));
    }
  }
  std::string_view refusal = str_of(member(msg, "refusal"));
  if (!text.empty() || !refusal.empty()) {
    json content = json::array();
    if (!text.empty()) {
      content.push_back({{"type", "output_text"}, {"text", std::move(text)}, {"annotations", json::array()}, {"logprobs", json::array()}});
    }
    if (!refusal.empty()) content.push_back({{"type", "refusal"}, {"refusal", refusal}});
    output.push_back({{"id", new_id("msg_", info.random)},
                      {"type", "message"},
                      {"status", incomplete ? "incomplete" : "completed"},
                      {"role", "assistant"},
                      {"content", std::move(content)}});
  }
  if (const json* calls = member(msg, "tool_calls"); calls && calls->is_array()) {
    const ToolNames tools = tool_names(info);
    for (const auto& call : *calls) {
      const json* fn = member(call, "function");
      const json* args = member(fn, "arguments");
      std::string arguments = args && args->is_string() ? args->get<std::string>()
                              : args                    ? dump(*args)
                                                        : std::string("{}");
      std::string_view call_id = str_of(member(call, "id"));
      ToolRef tool = tool_of(tools, str_of(member(fn, "name")));
      json item;
      if (tool.custom) {
        item = {{"id", new_id("ctc_", info.random)},
                {"type", "custom_tool_call"},
                {"status", "completed"},
                {"call_id", call_id.empty() ? new_id("call_", info.random) : std::string(call_id)},
                {"name", tool.name},
                {"input", custom_input(arguments)}};
      } else {
        item = {{"id", new_id("fc_", info.random)},
                {"type", "function_call"},
                {"status", "completed"},
                {"call_id", call_id.empty() ? new_id("call_", info.random) : std::string(call_id)},
                {"name", tool.name},
                {"arguments", std::move(arguments)}};
      }
      if (!tool.ns.empty()) item["namespace"] = tool.ns;
      output.push_back(std::move(item));
    }
  }

  json r = response_skeleton(info, incomplete ? "incomplete" : "completed");
  if (incomplete) r["incomplete_details"] = {{"reason", incomplete}};
  r["output"] = std::move(output);
  const json* u = member(j, "usage");
  r["usage"] = responses_usage(providers::Usage::from_openai(u ? *u : json()));
  return r;
}

}  // namespace tg::dialects::responses
