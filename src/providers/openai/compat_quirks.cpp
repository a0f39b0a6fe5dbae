#include "compat_quirks.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>

#include "tollgate/core/json_access.hpp"

namespace tg::providers::compat {
namespace {

constexpr std::array<std::pair<std::string_view, Preset>, 10> kPresets = {{
    {"groq", Preset::Groq},
    {"mistral", Preset::Mistral},
    {"deepseek", Preset::DeepSeek},
    {"together", Preset::Together},
    {"fireworks", Preset::Fireworks},
    {"openrouter", Preset::OpenRouter},
    {"xai", Preset::XAI},
    {"ollama", Preset::Ollama},
    {"vllm", Preset::VLLM},
    {"lmstudio", Preset::LMStudio},
}};

// A value that asks for something (null, false, 0, "" and empty containers ask for nothing, so
// leaving them out loses nothing and is not reported).
bool meaningful(const json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0.0;
  if (v.is_string() || v.is_array() || v.is_object()) return !v.empty();
  return true;
}

void erase_top(CowJson& b, std::string_view key) { b.mut().erase(std::string(key)); }

const json* messages_of(const CowJson& b) {
  const json& v = b.view();
  auto it = v.find("messages");
  return it != v.end() && it->is_array() ? &*it : nullptr;
}

// Drops top-level `key` (reported when its value asks for something).
void drop_param(CowJson& b, std::string_view key, Dropped& d) {
  const json& v = b.view();
  auto it = v.find(key);
  if (it == v.end()) return;
  if (meaningful(*it)) d.add(key);
  erase_top(b, key);
}

// developer is system for every host but OpenAI and OpenRouter (the open-model chat templates and
// the strict validators know system/user/assistant/tool only).
void developer_to_system(CowJson& b) {
  const json* msgs = messages_of(b);
  if (!msgs) return;
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = b.view()["messages"][i];
    if (m.is_object() && str_member(m, "role") == "developer") {
      b.mut()["messages"][i]["role"] = "system";
    }
  }
}

// Hosts that know max_tokens only. max_tokens wins when both are given (reported if they differ).
void max_completion_to_max_tokens(CowJson& b, Dropped& d) {
  const json& v = b.view();
  auto it = v.find("max_completion_tokens");
  if (it == v.end()) return;
  json value = *it;
  auto mt = v.find("max_tokens");
  bool has_max = mt != v.end() && !mt->is_null();
  if (!has_max && !value.is_null()) {
    b.mut()["max_tokens"] = std::move(value);
  } else if (has_max && !value.is_null() && *mt != value) {
    d.add("max_completion_tokens");
  }
  erase_top(b, "max_completion_tokens");
}

// Removes `name` from every message (reported once when any had a non-empty one).
void strip_message_names(CowJson& b, Dropped& d) {
  const json* msgs = messages_of(b);
  if (!msgs) return;
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = b.view()["messages"][i];
    if (!m.is_object()) continue;
    auto n = m.find("name");
    if (n == m.end()) continue;
    if (meaningful(*n)) d.add("messages[].name");
    b.mut()["messages"][i].erase("name");
  }
}

// Keys of `obj` whose value is null.
std::vector<std::string> null_keys(const json& obj) {
  std::vector<std::string> out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it->is_null()) out.push_back(it.key());
  }
  return out;
}

// Drops tools whose type is not "function" (hosts that take function tools only).
void function_tools_only(CowJson& b, Dropped& d) {
  const json& v = b.view();
  auto tools = v.find("tools");
  if (tools == v.end() || !tools->is_array()) return;
  bool any_other = false;
  for (const auto& t : *tools) {
    if (t.is_object() && member_or<std::string>(t, "type", "function") != "function") any_other = true;
  }
  if (!any_other) return;
  json kept = json::array();
  for (const auto& t : *tools) {
    std::string type = t.is_object() ? member_or<std::string>(t, "type", "function") : std::string("?");
    if (type == "function") {
      kept.push_back(t);
    } else {
      d.add("tools[]." + type);
    }
  }
  if (kept.empty()) {
    erase_top(b, "tools");
    erase_top(b, "tool_choice");
  } else {
    b.mut()["tools"] = std::move(kept);
  }
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool mentions_any(std::string_view model, std::initializer_list<std::string_view> prefixes) {
  for (auto p : prefixes) {
    if (model.find(p) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

void Dropped::add(std::string_view name) {
  if (std::find(out->begin(), out->end(), name) == out->end()) out->emplace_back(name);
}

Preset preset_from_name(std::string_view name) {
  for (const auto& [n, p] : kPresets) {
    if (n == name) return p;
  }
  return Preset::None;
}

std::string_view to_string(Preset p) {
  for (const auto& [n, q] : kPresets) {
    if (q == p) return n;
  }
  return "";
}

// ---- requests ----

// Groq: logprobs, top_logprobs, logit_bias and messages[].name are refused (400); n must be 1;
// null members of assistant messages are refused (function_call: null).
void groq_request(CowJson& b, Dropped& d) {
  for (std::string_view k : {"logprobs", "top_logprobs", "logit_bias"}) drop_param(b, k, d);
  {
    const json& v = b.view();
    auto n = v.find("n");
    if (n != v.end() && !(n->is_number_integer() && n->get<int64_t>() == 1)) {
      if (!n->is_null()) d.add("n");
      erase_top(b, "n");
    }
  }
  strip_message_names(b, d);
  if (const json* msgs = messages_of(b)) {
    for (size_t i = 0; i < msgs->size(); ++i) {
      const json& m = b.view()["messages"][i];
      if (!m.is_object() || str_member(m, "role") != "assistant") continue;
      for (const auto& k : null_keys(m)) b.mut()["messages"][i].erase(k);
    }
  }
  developer_to_system(b);
}

std::string mistral_tool_call_id(std::string_view id) {
  if (id.size() == 9 && std::all_of(id.begin(), id.end(), is_alnum)) return std::string(id);
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (unsigned char c : id) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  std::string out(9, 'a');
  for (char& c : out) {
    c = kAlphabet[h % kAlphabet.size()];
    h /= kAlphabet.size();
    if (h == 0) h = 0x9e3779b97f4a7c15ULL;
  }
  return out;
}

// Mistral validates strictly (unknown members and explicit nulls: 422 extra_forbidden):
// a whitelist of top-level parameters, seed -> random_seed, max_completion_tokens -> max_tokens,
// no stream_options (usage comes in the last chunk anyway), tool_choice "required" -> "any" and a
// named function -> "any" over that one tool, no name but on tool messages, tool-call ids of 9
// alphanumerics.
void mistral_request(CowJson& b, Dropped& d) {
  static const std::set<std::string, std::less<>> kAllowed = {
      "model",          "messages",          "temperature", "top_p",
      "max_tokens",     "stream",            "stop",        "random_seed",
      "response_format", "tools",            "tool_choice", "presence_penalty",
      "frequency_penalty", "n",              "prediction",  "parallel_tool_calls",
      "safe_prompt",    "prompt_mode",
  };
  max_completion_to_max_tokens(b, d);
  std::vector<std::string> keys;
  for (auto it = b.view().begin(); it != b.view().end(); ++it) keys.push_back(it.key());
  for (const std::string& key : keys) {
    const json& v = b.view()[key];
    if (v.is_null()) {
      erase_top(b, key);
    } else if (key == "seed") {
      if (!b.view().contains("random_seed")) {
        json seed = v;
        b.mut()["random_seed"] = std::move(seed);
      }
      erase_top(b, key);
    } else if (key == "stream_options") {
      erase_top(b, key);  // refused; the last chunk carries usage without it
    } else if (!kAllowed.contains(key)) {
      d.add(key);
      erase_top(b, key);
    }
  }
  function_tools_only(b, d);

  // tool_choice
  const json& v = b.view();
  if (auto tc = v.find("tool_choice"); tc != v.end()) {
    if (tc->is_string()) {
      if (*tc == "required") b.mut()["tool_choice"] = "any";
    } else if (tc->is_object()) {
      std::set<std::string> names;
      std::string mode = "any";
      std::string type(str_member(*tc, "type"));
      if (type == "function" && tc->contains("function") && (*tc)["function"].is_object()) {
        names.insert(std::string(str_member((*tc)["function"], "name")));
      } else if (type == "allowed_tools" && tc->contains("allowed_tools")) {
        const json& at = (*tc)["allowed_tools"];
        if (at.is_object()) {
          if (member_or<std::string>(at, "mode", "auto") == "auto") mode = "auto";
          if (auto ts = at.find("tools"); ts != at.end() && ts->is_array()) {
            for (const auto& t : *ts) {
              if (t.is_object() && t.contains("function") && t["function"].is_object()) {
                names.insert(std::string(str_member(t["function"], "name")));
              }
            }
          }
        }
      } else {
        d.add("tool_choice");
      }
      // Forcing one function: "any" over that function alone is the same choice.
      json kept = json::array();
      if (auto tools = v.find("tools"); tools != v.end() && tools->is_array() && !names.empty()) {
        for (const auto& t : *tools) {
          if (t.is_object() && t.contains("function") && t["function"].is_object() &&
              names.contains(std::string(str_member(t["function"], "name")))) {
            kept.push_back(t);
          }
        }
        if (kept.empty()) d.add("tool_choice");
      }
      if (!kept.empty()) b.mut()["tools"] = std::move(kept);
      b.mut()["tool_choice"] = mode;
    }
  }

  const json* msgs = messages_of(b);
  if (!msgs) return;
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = b.view()["messages"][i];
    if (!m.is_object()) continue;
    std::string role(str_member(m, "role"));
    if (role == "developer") {
      b.mut()["messages"][i]["role"] = "system";
      role = "system";
    }
    for (const auto& k : null_keys(m)) b.mut()["messages"][i].erase(k);
    const json& mm = b.view()["messages"][i];
    std::vector<std::string> remove;
    for (auto it = mm.begin(); it != mm.end(); ++it) {
      const std::string& k = it.key();
      if (k == "role" || k == "content") continue;
      if (k == "name") {
        bool keep = role == "tool" && it->is_string() && !it->get_ref<const std::string&>().empty();
        if (!keep) {
          if (role != "tool") d.add("messages[].name");
          remove.push_back(k);
        }
        continue;
      }
      if (role == "assistant" && (k == "tool_calls" || k == "prefix")) continue;
      if (role == "tool" && k == "tool_call_id") continue;
      if ((role == "user" || role == "system") && k == "prefix") continue;
      // Echoes of an earlier answer that Mistral has no place for.
      if (role == "assistant" && (k == "refusal" || k == "reasoning_content" || k == "reasoning" ||
                                  k == "annotations" || k == "audio")) {
        remove.push_back(k);
        continue;
      }
      d.add("messages[]." + k);
      remove.push_back(k);
    }
    for (const auto& k : remove) b.mut()["messages"][i].erase(k);

    const json& m2 = b.view()["messages"][i];
    if (role == "tool") {
      if (auto id = m2.find("tool_call_id"); id != m2.end() && id->is_string()) {
        std::string fixed = mistral_tool_call_id(id->get_ref<const std::string&>());
        if (fixed != id->get_ref<const std::string&>()) {
          b.mut()["messages"][i]["tool_call_id"] = fixed;
        }
      }
    }
    if (role == "assistant") {
      auto tcs = m2.find("tool_calls");
      if (tcs == m2.end() || !tcs->is_array()) continue;
      for (size_t j = 0; j < tcs->size(); ++j) {
        const json& tc = b.view()["messages"][i]["tool_calls"][j];
        if (!tc.is_object()) continue;
        std::string id(str_member(tc, "id"));
        std::string fixed = mistral_tool_call_id(id);
        bool clean = fixed == id && tc.size() <= 3 && member_or<std::string>(tc, "type", "function") == "function";
        for (auto it = tc.begin(); clean && it != tc.end(); ++it) {
          clean = it.key() == "id" || it.key() == "type" || it.key() == "function";
        }
        if (clean) continue;
        json rebuilt = {{"id", fixed}, {"type", "function"}};
        if (auto f = tc.find("function"); f != tc.end()) rebuilt["function"] = *f;
        b.mut()["messages"][i]["tool_calls"][j] = std::move(rebuilt);
      }
    }
  }
}

// DeepSeek: reasoning_content of earlier answers must not be sent back (400), except on the
// assistant messages of a thinking-mode tool loop (those that carry tool_calls), where the API
// demands it. max_tokens only; function tools only.
void deepseek_request(CowJson& b, Dropped& d) {
  max_completion_to_max_tokens(b, d);
  function_tools_only(b, d);
  developer_to_system(b);
  const json* msgs = messages_of(b);
  if (!msgs) return;
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = b.view()["messages"][i];
    if (!m.is_object() || str_member(m, "role") != "assistant") continue;
    auto tcs = m.find("tool_calls");
    bool has_calls = tcs != m.end() && tcs->is_array() && !tcs->empty();
    if (has_calls) continue;
    for (const char* k : {"reasoning_content", "reasoning"}) {
      if (b.view()["messages"][i].contains(k)) b.mut()["messages"][i].erase(k);
    }
  }
}

// xAI: no name on messages, no strict on tools; the reasoning models (grok-3-mini, grok-4*,
// grok-code-fast*) refuse stop, frequency_penalty and presence_penalty; grok-4 and
// grok-code-fast refuse reasoning_effort; live search (web_search_options) moved to the
// Responses API.
void xai_request(CowJson& b, std::string_view model, Dropped& d) {
  strip_message_names(b, d);
  const json& v = b.view();
  if (auto tools = v.find("tools"); tools != v.end() && tools->is_array()) {
    for (size_t i = 0; i < tools->size(); ++i) {
      const json& t = b.view()["tools"][i];
      if (!t.is_object() || !t.contains("function") || !t["function"].is_object()) continue;
      auto s = t["function"].find("strict");
      if (s == t["function"].end()) continue;
      if (meaningful(*s)) d.add("tools[].function.strict");
      b.mut()["tools"][i]["function"].erase("strict");
    }
  }
  if (mentions_any(model, {"grok-3-mini", "grok-4", "grok-code-fast"})) {
    for (std::string_view k : {"stop", "frequency_penalty", "presence_penalty"}) {
      drop_param(b, k, d);
    }
  }
  if (mentions_any(model, {"grok-4", "grok-code-fast"})) drop_param(b, "reasoning_effort", d);
  drop_param(b, "web_search_options", d);
  max_completion_to_max_tokens(b, d);
  developer_to_system(b);
}

// Mistral's /v1/embeddings: model, input, output_dimension, output_dtype, encoding_format.
void mistral_embeddings_request(CowJson& b, Dropped& d) {
  static const std::set<std::string, std::less<>> kAllowed = {
      "model", "input", "output_dimension", "output_dtype", "encoding_format"};
  std::vector<std::string> keys;
  for (auto it = b.view().begin(); it != b.view().end(); ++it) keys.push_back(it.key());
  for (const std::string& key : keys) {
    const json& v = b.view()[key];
    if (v.is_null()) {
      erase_top(b, key);
    } else if (key == "dimensions") {
      if (!b.view().contains("output_dimension")) {
        json dims = v;
        b.mut()["output_dimension"] = std::move(dims);
      }
      erase_top(b, key);
    } else if (!kAllowed.contains(key)) {
      d.add(key);
      erase_top(b, key);
    }
  }
}

void max_tokens_only_request(CowJson& b, Dropped& d) {
  max_completion_to_max_tokens(b, d);
  developer_to_system(b);
}

void system_role_request(CowJson& b, Dropped& d) { developer_to_system(b); }

void apply_request_quirks(Preset p, Endpoint endpoint, CowJson& body, std::string_view model,
                          std::vector<std::string>& dropped) {
  if (!body.view().is_object()) return;
  Dropped d{&dropped};
  if (endpoint == Endpoint::Embeddings && p == Preset::Mistral) {
    mistral_embeddings_request(body, d);
    return;
  }
  if (endpoint != Endpoint::ChatCompletions) return;
  switch (p) {
    case Preset::Groq: groq_request(body, d); break;
    case Preset::Mistral: mistral_request(body, d); break;
    case Preset::DeepSeek: deepseek_request(body, d); break;
    case Preset::XAI: xai_request(body, model, d); break;
    case Preset::Together:
    case Preset::Ollama:
    case Preset::LMStudio: max_tokens_only_request(body, d); break;
    case Preset::Fireworks:
    case Preset::VLLM: system_role_request(body, d); break;
    case Preset::OpenRouter:  // takes the OpenAI body as it is and adapts it per upstream
    case Preset::None: break;
  }
}

bool edits_request(Preset p, Endpoint endpoint) {
  if (endpoint == Endpoint::Embeddings) return p == Preset::Mistral;
  return endpoint == Endpoint::ChatCompletions && p != Preset::None && p != Preset::OpenRouter;
}

bool asks_stream_usage(Preset p) { return p != Preset::Mistral; }

// ---- responses ----

std::optional<std::string_view> normalize_finish_reason(std::string_view v, bool has_tool_calls) {
  if (v == "stop") return has_tool_calls ? std::optional<std::string_view>("tool_calls") : std::nullopt;
  if (v == "length" || v == "tool_calls" || v == "content_filter" || v == "function_call") {
    return std::nullopt;
  }
  if (v.empty() || v == "eos" || v == "end_turn" || v == "stop_sequence" || v == "error") {
    return has_tool_calls ? "tool_calls" : "stop";
  }
  if (v == "model_length" || v == "max_tokens") return "length";
  if (v == "tool_use") return "tool_calls";
  return std::nullopt;  // unknown: passed through as the host sent it
}

bool fix_usage(json& u) {
  if (!u.is_object()) return false;
  auto num = [](const json& obj, const char* key) -> std::optional<int64_t> {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };
  bool changed = false;
  auto p = num(u, "prompt_tokens");
  auto c = num(u, "completion_tokens");
  auto t = num(u, "total_tokens");
  int64_t r = 0;
  if (auto d = u.find("completion_tokens_details"); d != u.end() && d->is_object()) {
    r = num(*d, "reasoning_tokens").value_or(0);
  }
  // xAI: reasoning counted in total_tokens but not in completion_tokens.
  if (r > 0 && p && c && t && *t == *p + *c + r) {
    c = *c + r;
    u["completion_tokens"] = *c;
    changed = true;
  }
  // DeepSeek: cache hits under their own name.
  if (auto hit = num(u, "prompt_cache_hit_tokens"); hit && *hit > 0) {
    json& d = u["prompt_tokens_details"];
    if (!d.is_object()) d = json::object();
    if (num(d, "cached_tokens").value_or(0) == 0) {
      d["cached_tokens"] = *hit;
      changed = true;
    }
  }
  if ((p || c) && (!t || *t < p.value_or(0) + c.value_or(0))) {
    u["total_tokens"] = p.value_or(0) + c.value_or(0);
    changed = true;
  }
  return changed;
}

namespace {

// Text of a Mistral thinking part: {"type":"thinking","thinking":[{"type":"text","text":..}]}
// (or a plain string).
void append_thinking(std::string& out, const json& part) {
  auto th = part.find("thinking");
  if (th == part.end()) return;
  if (th->is_string()) {
    out += th->get_ref<const std::string&>();
  } else if (th->is_array()) {
    for (const auto& t : *th) {
      if (t.is_object() && member_or<std::string>(t, "type", "text") == "text" && t.contains("text") &&
          t["text"].is_string()) {
        out += t["text"].get_ref<const std::string&>();
      }
    }
  }
}

}  // namespace

bool fix_message(json& m) {
  if (!m.is_object()) return false;
  bool changed = false;
  if (auto r = m.find("reasoning"); r != m.end() && r->is_string()) {
    auto rc = m.find("reasoning_content");
    if (rc == m.end() || rc->is_null()) {
      json text = std::move(*r);
      m.erase("reasoning");
      m["reasoning_content"] = std::move(text);
    } else {
      m.erase("reasoning");  // both given: reasoning_content is the one OpenAI clients read
    }
    changed = true;
  }
  if (auto c = m.find("content"); c != m.end() && c->is_array()) {
    bool flat = true;  // text and thinking parts only (a response's content is a string)
    for (const auto& part : *c) {
      std::string type(str_member(part, "type"));  // "" when part is not an object
      if (type != "text" && type != "thinking") flat = false;
    }
    if (flat) {
      std::string text, thinking;
      for (const auto& part : *c) {
        if (str_member(part, "type") == "text") {
          if (part.contains("text") && part["text"].is_string()) {
            text += part["text"].get_ref<const std::string&>();
          }
        } else {
          append_thinking(thinking, part);
        }
      }
      m["content"] = std::move(text);
      if (!thinking.empty()) {
        auto rc = m.find("reasoning_content");
        if (rc != m.end() && rc->is_string()) {
          rc->get_ref<std::string&>() += thinking;
        } else {
          m["reasoning_content"] = std::move(thinking);
        }
      }
      changed = true;
    }
  }
  return changed;
}

bool fix_response(json& body) {
  if (!body.is_object()) return false;
  bool changed = false;
  if (auto cs = body.find("choices"); cs != body.end() && cs->is_array()) {
    for (auto& choice : *cs) {
      if (!choice.is_object()) continue;
      bool has_tools = false;
      if (auto m = choice.find("message"); m != choice.end() && m->is_object()) {
        changed |= fix_message(*m);
        auto tcs = m->find("tool_calls");
        has_tools = tcs != m->end() && tcs->is_array() && !tcs->empty();
      }
      if (auto fr = choice.find("finish_reason"); fr != choice.end() && fr->is_string()) {
        if (auto n = normalize_finish_reason(fr->get_ref<const std::string&>(), has_tools)) {
          *fr = std::string(*n);
          changed = true;
        }
      }
    }
  }
  if (auto u = body.find("usage"); u != body.end()) changed |= fix_usage(*u);
  return changed;
}

}  // namespace tg::providers::compat
