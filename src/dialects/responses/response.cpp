// Chat answer -> Response object; usage both ways.

#include <algorithm>

#include "internal.hpp"
#include "json_text.hpp"
#include "tollgate/providers/json_scan.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::dialects::responses {

using namespace detail;

namespace detail {

void write_skeleton(std::string& out, const ResponseInfo& info) {
  // The members a request may set (its echo), with OpenAI's defaults, as JSON text.
  static constexpr std::pair<std::string_view, std::string_view> kDefaults[] = {
      {"background", "false"},
      {"instructions", "null"},
      {"max_output_tokens", "null"},
      {"parallel_tool_calls", "true"},
      {"reasoning", R"({"effort":null,"summary":null})"},
      {"service_tier", R"("auto")"},
      {"temperature", "null"},
      {"text", R"({"format":{"type":"text"}})"},
      {"tool_choice", R"("auto")"},
      {"tools", "[]"},
      {"top_p", "null"},
      {"truncation", R"("disabled")"},
      {"metadata", "{}"},
  };
  // Written by the caller or from ResponseInfo: never taken from the echo.
  static constexpr std::string_view kOwn[] = {"id",     "object", "created_at",
                                              "model",  "store",  "previous_response_id",
                                              "status", "output", "usage",
                                              "error",  "incomplete_details"};
  ObjectWriter w(out);
  w.str("id", info.id).word("object", "response").num("created_at", info.created_at);
  w.str("model", info.model);
  if (info.previous_response_id.empty()) {
    w.null("previous_response_id");
  } else {
    w.str("previous_response_id", info.previous_response_id);
  }
  w.boolean("store", info.store);
  const bool echo = info.echo.is_object();
  if ((!echo || info.echo.empty()) && info.echo_tools.empty()) {  // every default, written once
    static const std::string all_defaults = [] {
      std::string text;
      for (const auto& [key, fallback] : kDefaults) {
        text.append(",\"").append(key).append("\":").append(fallback);
      }
      return text;
    }();
    out += all_defaults;
    return;
  }
  for (const auto& [key, fallback] : kDefaults) {
    if (key == "tools" && !info.echo_tools.empty()) {
      w.raw(key, info.echo_tools);
      continue;
    }
    auto it = echo ? info.echo.find(key) : info.echo.end();
    if (it != info.echo.end()) {
      w.key(key);
      append_json(out, *it);
    } else {
      w.raw(key, fallback);
    }
  }
  if (!echo) return;
  for (const auto& [key, value] : info.echo.items()) {
    auto known = [&](std::string_view k) { return k == key; };
    if (std::any_of(std::begin(kOwn), std::end(kOwn), known)) continue;
    if (std::any_of(std::begin(kDefaults), std::end(kDefaults),
                    [&](const auto& d) { return d.first == key; })) {
      continue;
    }
    out += ',';
    append_json_string(out, key);
    out += ':';
    append_json(out, value);
  }
}

void write_usage(std::string& out, const providers::Usage& u) {
  ObjectWriter w(out);
  w.num("input_tokens", u.input);
  w.key("input_tokens_details");
  ObjectWriter(out).num("cached_tokens", u.cached_read).close();
  w.num("output_tokens", u.output);
  w.key("output_tokens_details");
  ObjectWriter(out).num("reasoning_tokens", u.reasoning).close();
  w.num("total_tokens", u.input + u.output);
  w.close();
}

void write_response_tail(std::string& out, std::string_view status, std::string_view output,
                         const char* incomplete, const Error* error,
                         const providers::Usage* usage) {
  out += ",\"status\":";
  append_json_string(out, status);
  out += ",\"output\":[";
  out += output;
  out += "],\"incomplete_details\":";
  if (incomplete) {
    ObjectWriter(out).str("reason", incomplete).close();
  } else {
    out += "null";
  }
  out += ",\"error\":";
  if (error) {
    std::string code = error->code_str;
    if (code.empty()) code = error->status == 429 ? "rate_limit_exceeded" : "server_error";
    ObjectWriter(out).str("code", code).str("message", error->message).close();
  } else {
    out += "null";
  }
  out += ",\"usage\":";
  if (usage) {
    write_usage(out, *usage);
  } else {
    out += "null";
  }
  out += '}';
}

ToolNames tool_names(const ResponseInfo& info) {
  if (!info.tools.empty()) return info.tools;
  const json* tools = member(info.echo, "tools");
  if (!tools || !tools->is_array() || tools->empty()) return {};
  // The echo was validated when the request was parsed: parse it again for the names only.
  json body = {{"model", ""}, {"input", "-"}, {"tools", *tools}};
  ParseOptions options;
  options.native_target = true;  // built-in tools left out, not refused
  options.input_items = false;
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
    json in = providers::json_scan::parse(raw);
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

// Any chat completion, read as a DOM: the items, their finish and usage.
void write_from_dom(std::string& out, std::string_view body, const ResponseInfo& info) {
  json j = providers::json_scan::parse(body);
  const json* choices = member(j, "choices");
  if (!choices || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) {
    Error e;
    e.code_str = "server_error";
    e.message = "The upstream answer is not a chat completion.";
    write_response_tail(out, "failed", "", nullptr, &e, nullptr);
    return;
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

  std::string items = dump(output);
  const json* u = member(j, "usage");
  const providers::Usage usage = providers::Usage::from_openai(u ? *u : json());
  write_response_tail(out, incomplete ? "incomplete" : "completed",
                      std::string_view(items).substr(1, items.size() - 2), incomplete, nullptr,
                      &usage);
}


namespace {

namespace js = providers::json_scan;

// The common answer: one choice whose message is plain text (no reasoning, refusal or tool
// calls). Read by scanning; false for anything else (write_from_dom reads it then).
struct PlainAnswer {
  std::string_view text, finish;
  std::string text_buf, finish_buf;  // when they needed decoding
  std::string_view usage;            // raw JSON, "" when absent
};

bool read_plain_answer(std::string_view body, PlainAnswer& a) {
  std::string_view choices, choice, message, content, finish;
  bool plain = true;
  auto walk = [&](std::string_view obj, auto&& on_member) {
    bool ok = js::for_each_member(obj, [&](std::string_view key, size_t b, size_t e) {
      if (key.find('\\') != std::string_view::npos) return plain = false;
      std::string_view v = obj.substr(b, e - b);
      if (v != "null") on_member(key, v);
      return plain;
    });
    return ok && plain;
  };
  if (!walk(body, [&](std::string_view key, std::string_view v) {
        if (key == "choices") choices = v;
        else if (key == "usage") a.usage = v;
      })) {
    return false;
  }
  if (choices.empty() || choices.front() != '[') return false;
  size_t i = js::skip_ws(choices, 1);
  if (i >= choices.size() || choices[i] != '{') return false;
  choice = choices.substr(i, js::skip_value(choices, i) - i);
  if (!walk(choice, [&](std::string_view key, std::string_view v) {
        if (key == "message") message = v;
        else if (key == "finish_reason") finish = v;
      })) {
    return false;
  }
  if (message.empty() || message.front() != '{') return false;
  if (!walk(message, [&](std::string_view key, std::string_view v) {
        if (key == "content") content = v;
        else if (key == "refusal" || key == "reasoning_content" || key == "reasoning" ||
                 key == "thinking_blocks" || key == "tool_calls") {
          plain = false;
        }
      })) {
    return false;
  }
  if (!a.usage.empty() && a.usage.front() != '{') return false;
  if (!content.empty()) {
    auto t = json_string_value(content, a.text_buf);
    if (!t) return false;
    a.text = *t;
  }
  if (!finish.empty()) {
    auto f = json_string_value(finish, a.finish_buf);
    if (!f) return false;
    a.finish = *f;
  }
  return true;
}

// Usage::from_openai of a chat usage object, read by scanning; false when a member it reads is
// not a plain integer (or the object is malformed): then the parser reads it.
bool scan_usage(std::string_view raw, providers::Usage& u) {
  bool ok = true;
  int64_t hit = 0;
  auto number = [&](std::string_view v, int64_t& out) {
    if (auto n = json_int(v)) out = *n;
    else if (v != "null") ok = false;
  };
  auto details = [&](std::string_view v, auto&& on_member) {
    if (v == "null") return;
    if (v.empty() || v.front() != '{') return;  // not an object: from_openai ignores it
    ok = js::for_each_member(v, [&](std::string_view key, size_t b, size_t e) {
           if (key.find('\\') != std::string_view::npos) return ok = false;
           on_member(key, v.substr(b, e - b));
           return ok;
         }) && ok;
  };
  bool walked = js::for_each_member(raw, [&](std::string_view key, size_t b, size_t e) {
    std::string_view v = raw.substr(b, e - b);
    if (key.find('\\') != std::string_view::npos) return ok = false;
    if (key == "prompt_tokens") number(v, u.input);
    else if (key == "completion_tokens") number(v, u.output);
    else if (key == "prompt_cache_hit_tokens") number(v, hit);
    else if (key == "prompt_tokens_details") {
      details(v, [&](std::string_view k, std::string_view x) {
        if (k == "cached_tokens") number(x, u.cached_read);
        else if (k == "cache_write_tokens") number(x, u.cache_write);
      });
    } else if (key == "completion_tokens_details") {
      details(v, [&](std::string_view k, std::string_view x) {
        if (k == "reasoning_tokens") number(x, u.reasoning);
      });
    }
    return ok;
  });
  if (!walked || !ok) {
    u = providers::Usage();
    return false;
  }
  u.present = true;
  if (u.cached_read == 0) u.cached_read = hit;  // DeepSeek's name for cache hits
  return true;
}

}  // namespace

std::string build_response_text(std::string_view body, const ResponseInfo& info) {
  std::string out;
  out.reserve(1024 + body.size());
  write_skeleton(out, info);
  PlainAnswer a;
  if (!read_plain_answer(body, a)) {
    write_from_dom(out, body, info);
    return out;
  }
  const char* incomplete = a.finish == "length"           ? "max_output_tokens"
                           : a.finish == "content_filter" ? "content_filter"
                                                          : nullptr;
  std::string item;
  if (!a.text.empty()) {
    ObjectWriter w(item);
    w.word("id", new_id("msg_", info.random)).word("type", "message");
    w.word("status", incomplete ? "incomplete" : "completed").word("role", "assistant");
    w.key("content");
    item += '[';
    ObjectWriter(item)
        .word("type", "output_text")
        .str("text", a.text)
        .raw("annotations", "[]")
        .raw("logprobs", "[]")
        .close();
    item += ']';
    w.close();
  }
  providers::Usage usage;
  if (!a.usage.empty() && !scan_usage(a.usage, usage)) {
    usage = providers::Usage::from_openai(providers::json_scan::parse(a.usage));
  }
  write_response_tail(out, incomplete ? "incomplete" : "completed", item, incomplete, nullptr,
                      &usage);
  return out;
}

json build_response(std::string_view body, const ResponseInfo& info) {
  return providers::json_scan::parse(build_response_text(body, info));
}

}  // namespace tg::dialects::responses
