#include "mock_anthropic.hpp"

#include <algorithm>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "mock_faults.hpp"
#include "mock_util.hpp"

namespace tollgate::mock {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

void add_standard_headers(Reply& r, std::uint64_t seq, bool exhausted) {
  r.extra_headers.emplace_back("request-id", "req_mock_" + std::to_string(seq));
  r.extra_headers.emplace_back("anthropic-organization-id", "org-mock");
  const char* remaining_req = exhausted ? "0" : "49";
  const char* remaining_tok = exhausted ? "0" : "39000";
  const char* reset = "2026-01-01T00:00:01Z";
  r.extra_headers.emplace_back("anthropic-ratelimit-requests-limit", "50");
  r.extra_headers.emplace_back("anthropic-ratelimit-requests-remaining", remaining_req);
  r.extra_headers.emplace_back("anthropic-ratelimit-requests-reset", reset);
  r.extra_headers.emplace_back("anthropic-ratelimit-tokens-limit", "40000");
  r.extra_headers.emplace_back("anthropic-ratelimit-tokens-remaining", remaining_tok);
  r.extra_headers.emplace_back("anthropic-ratelimit-tokens-reset", reset);
  r.extra_headers.emplace_back("anthropic-ratelimit-input-tokens-limit", "30000");
  r.extra_headers.emplace_back("anthropic-ratelimit-input-tokens-remaining",
                               exhausted ? "0" : "29000");
  r.extra_headers.emplace_back("anthropic-ratelimit-input-tokens-reset", reset);
  r.extra_headers.emplace_back("anthropic-ratelimit-output-tokens-limit", "10000");
  r.extra_headers.emplace_back("anthropic-ratelimit-output-tokens-remaining",
                               exhausted ? "0" : "9900");
  r.extra_headers.emplace_back("anthropic-ratelimit-output-tokens-reset", reset);
}

// {"type":"error","error":{"type":...,"message":...},"request_id":"req_mock_<seq>"}
Reply error(int status, std::string_view type, std::string_view message, std::uint64_t seq) {
  Reply r;
  r.status = status;
  ojson body = {{"type", "error"},
                {"error", {{"type", type}, {"message", message}}},
                {"request_id", "req_mock_" + std::to_string(seq)}};
  r.body = dump(body);
  add_standard_headers(r, seq, false);
  return r;
}

Reply invalid(std::string_view message, std::uint64_t seq) {
  return error(400, "invalid_request_error", message, seq);
}

// Text the model reads in a content: a string, or its text blocks (and tool_result texts).
void collect_text(const json& content, std::string& out, bool tool_results) {
  if (content.is_string()) {
    out += content.get_ref<const std::string&>();
    return;
  }
  if (!content.is_array()) return;
  for (const auto& b : content) {
    if (!b.is_object()) continue;
    std::string type = b.value("type", "");
    if (type == "text" && b.contains("text") && b["text"].is_string()) {
      out += b["text"].get_ref<const std::string&>();
    } else if (type == "tool_result" && tool_results && b.contains("content")) {
      collect_text(b["content"], out, true);
    }
  }
}

// Words of every text piece (counted one by one: pieces are not glued together).
std::size_t words_in(const json& content) {
  if (content.is_string()) return count_words(content.get_ref<const std::string&>());
  std::size_t n = 0;
  if (!content.is_array()) return n;
  for (const auto& b : content) {
    if (!b.is_object()) continue;
    std::string type = b.value("type", "");
    if (type == "text" && b.contains("text") && b["text"].is_string()) {
      n += count_words(b["text"].get_ref<const std::string&>());
    } else if (type == "tool_result" && b.contains("content")) {
      n += words_in(b["content"]);
    }
  }
  return n;
}

// Prompt caching as Anthropic bills it: the prompt prefix through the last block marked
// `cache_control` (system blocks, then message blocks, in order) is written to the cache the first
// time this mock sees that prefix (cache_creation_input_tokens) and read from it afterwards
// (cache_read_input_tokens). Returns the prefix's words and whether it was cached already.
struct CachedPrefix {
  std::size_t words = 0;
  bool hit = false;
};
CachedPrefix cached_prefix(const json& body) {
  std::string prefix, marked;  // the blocks so far; the prefix through the last marked block
  std::size_t words = 0, marked_words = 0;
  auto visit = [&](const json& content) {
    if (!content.is_array()) {
      if (content.is_string()) words += count_words(content.get_ref<const std::string&>());
      prefix += content.dump();
      return;
    }
    for (const auto& b : content) {
      words += words_in(json::array({b}));
      prefix += b.dump();
      if (b.is_object() && b.contains("cache_control")) {
        marked = prefix;
        marked_words = words;
      }
    }
  };
  if (body.contains("system")) visit(body["system"]);
  for (const auto& m : body["messages"]) visit(m["content"]);
  if (marked.empty()) return {};
  static std::mutex mu;
  static std::unordered_set<std::size_t> seen;
  std::lock_guard lock(mu);
  bool hit = !seen.insert(std::hash<std::string>{}(marked)).second;
  return {marked_words, hit};
}

bool valid_tool_id(const std::string& id) {
  if (id.empty()) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

bool is_blank(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; });
}

// Validates `messages` as Anthropic does; returns the 400 or nothing. Sets *has_tool_blocks.
// system_role: anthropic-version 2026-10-21 or later, which takes {"role":"system"} entries.
std::optional<Reply> check_messages(const json& msgs, std::uint64_t seq, bool* has_tool_blocks,
                                    bool system_role) {
  if (!msgs.is_array()) return invalid("messages: Input should be a valid list", seq);
  if (msgs.empty()) return invalid("messages: at least one message is required", seq);
  std::vector<std::string> pending_tool_uses;  // tool_use ids of the previous assistant message
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    const json& m = msgs[i];
    const std::string where = "messages." + std::to_string(i);
    if (!m.is_object()) return invalid(where + ": Input should be a valid dictionary", seq);
    std::string role =
        m.contains("role") && m["role"].is_string() ? m["role"].get<std::string>() : "";
    if (role == "system" && system_role) continue;  // its content is not checked here
    if (role != "user" && role != "assistant") {
      return invalid(where + ".role: Input should be 'user' or 'assistant'", seq);
    }
    if (!m.contains("content")) return invalid(where + ".content: Field required", seq);
    const json& content = m["content"];
    if (!content.is_string() && !content.is_array()) {
      return invalid(where + ".content: Input should be a valid list", seq);
    }
    std::vector<std::string> answered, uses;
    if (content.is_array()) {
      if (content.empty() && !(role == "assistant" && i + 1 == msgs.size())) {
        return invalid(where +
                           ": all messages must have non-empty content except for the "
                           "optional final assistant message",
                       seq);
      }
      for (std::size_t k = 0; k < content.size(); ++k) {
        const json& b = content[k];
        const std::string at = where + ".content." + std::to_string(k);
        if (!b.is_object() || !b.contains("type") || !b["type"].is_string()) {
          return invalid(at + ".type: Field required", seq);
        }
        const std::string type = b["type"].get<std::string>();
        if (type == "text") {
          if (!b.contains("text") || !b["text"].is_string()) {
            return invalid(at + ".text: Field required", seq);
          }
          if (is_blank(b["text"].get_ref<const std::string&>())) {
            return invalid(where + ": text content blocks must contain non-whitespace text", seq);
          }
        } else if (type == "tool_use") {
          *has_tool_blocks = true;
          if (role != "assistant") {
            return invalid(at + ": tool_use blocks may only appear in assistant messages", seq);
          }
          std::string id =
              b.contains("id") && b["id"].is_string() ? b["id"].get<std::string>() : "";
          if (!valid_tool_id(id)) {
            return invalid(at + ".id: String should match pattern '^[a-zA-Z0-9_-]+$'", seq);
          }
          if (!b.contains("input") || !b["input"].is_object()) {
            return invalid(at + ".input: Input should be a valid dictionary", seq);
          }
          uses.push_back(id);
        } else if (type == "tool_result") {
          *has_tool_blocks = true;
          std::string id = b.contains("tool_use_id") && b["tool_use_id"].is_string()
                               ? b["tool_use_id"].get<std::string>()
                               : "";
          if (!valid_tool_id(id)) {
            return invalid(at + ".tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'",
                           seq);
          }
          if (std::find(pending_tool_uses.begin(), pending_tool_uses.end(), id) ==
              pending_tool_uses.end()) {
            return invalid(at + ": unexpected `tool_use_id` found in `tool_result` blocks: " + id +
                               ". Each `tool_result` block must have a corresponding `tool_use` "
                               "block in the previous message.",
                           seq);
          }
          answered.push_back(id);
        } else if (type == "thinking") {
          if (!b.contains("signature") || !b["signature"].is_string() ||
              b["signature"].get_ref<const std::string&>().empty()) {
            return invalid(at + ".signature: Field required", seq);
          }
        } else if (type == "image" || type == "document") {
          const json* src = b.contains("source") ? &b["source"] : nullptr;
          std::string st = src && src->is_object() ? src->value("type", "") : "";
          if (st != "base64" && st != "url" && st != "text" && st != "content" && st != "file") {
            return invalid(at + ".source: Input tag '" + st +
                               "' found using 'type' does not match "
                               "any of the expected tags",
                           seq);
          }
        }
      }
    } else if (content.get_ref<const std::string&>().empty() &&
               !(role == "assistant" && i + 1 == msgs.size())) {
      return invalid(where +
                         ": all messages must have non-empty content except for the optional "
                         "final assistant message",
                     seq);
    }
    if (!pending_tool_uses.empty()) {
      for (const auto& id : pending_tool_uses) {
        if (std::find(answered.begin(), answered.end(), id) == answered.end()) {
          return invalid(where +
                             ": `tool_use` ids were found without `tool_result` blocks "
                             "immediately after: " +
                             id +
                             ". Each `tool_use` block must have a corresponding `tool_result` "
                             "block in the next message.",
                         seq);
        }
      }
    }
    pending_tool_uses = std::move(uses);
  }
  return std::nullopt;
}

struct Answer {
  bool thinking = false;
  std::string thinking_text = "mock thinking";
  std::string signature;
  bool tool = false;
  std::string tool_name;
  std::string tool_id;
  std::string arguments;  // JSON text of the tool input
  std::string text;
  std::string stop_reason = "end_turn";
  std::optional<std::string> stop_sequence;
  std::vector<std::string_view> thinking_pieces, pieces;
  std::size_t input_tokens = 1;  // the part of the prompt not read from or written to the cache
  std::size_t cache_write = 0, cache_read = 0;
  std::size_t output_tokens() const { return thinking_pieces.size() + pieces.size(); }
};

ojson usage_json(const Answer& a, std::size_t output) {
  return {{"input_tokens", a.input_tokens},
          {"cache_creation_input_tokens", a.cache_write},
          {"cache_read_input_tokens", a.cache_read},
          {"output_tokens", output},
          {"service_tier", "standard"}};
}

void add_event(Reply& r, std::string_view name, const ojson& data) {
  std::string e = "event: ";
  e += name;
  e += "\ndata: ";
  e += dump(data);
  e += "\n\n";
  r.events.push_back(std::move(e));
}

Reply stream_reply(const Answer& a, const std::string& model, std::uint64_t seq) {
  Reply r;
  r.stream = true;
  r.raw_framing = true;
  r.content_type = "text/event-stream; charset=utf-8";
  r.stream_end = "";  // no [DONE]: the stream ends after message_stop
  r.mid_stream_error =
      "event: error\ndata: " +
      dump({{"type", "error"},
            {"error", {{"type", "overloaded_error"}, {"message", "Overloaded"}}}}) +
      "\n\n";
  add_standard_headers(r, seq, false);
  const std::string id = "msg_mock_" + std::to_string(seq);
  add_event(r, "message_start",
            {{"type", "message_start"},
             {"message",
              {{"id", id},
               {"type", "message"},
               {"role", "assistant"},
               {"model", model},
               {"content", ojson::array()},
               {"stop_reason", nullptr},
               {"stop_sequence", nullptr},
               {"usage", usage_json(a, 1)}}}});
  int index = 0;
  bool pinged = false;
  auto ping = [&] {
    if (pinged) return;
    pinged = true;
    add_event(r, "ping", {{"type", "ping"}});
  };
  auto delta = [&](const ojson& d) {
    add_event(r, "content_block_delta",
              {{"type", "content_block_delta"}, {"index", index}, {"delta", d}});
  };
  auto stop = [&] {
    add_event(r, "content_block_stop", {{"type", "content_block_stop"}, {"index", index}});
    ++index;
  };
  if (a.thinking) {
    add_event(r, "content_block_start",
              {{"type", "content_block_start"},
               {"index", index},
               {"content_block", {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}}});
    ping();
    for (auto p : a.thinking_pieces) delta({{"type", "thinking_delta"}, {"thinking", p}});
    delta({{"type", "signature_delta"}, {"signature", a.signature}});
    stop();
  }
  if (a.tool) {
    add_event(r, "content_block_start",
              {{"type", "content_block_start"},
               {"index", index},
               {"content_block",
                {{"type", "tool_use"},
                 {"id", a.tool_id},
                 {"name", a.tool_name},
                 {"input", ojson::object()}}}});
    ping();
    delta({{"type", "input_json_delta"}, {"partial_json", ""}});  // as Anthropic: empty first
    for (auto p : a.pieces) delta({{"type", "input_json_delta"}, {"partial_json", p}});
    stop();
  } else {
    add_event(r, "content_block_start",
              {{"type", "content_block_start"},
               {"index", index},
               {"content_block", {{"type", "text"}, {"text", ""}}}});
    ping();
    for (auto p : a.pieces) delta({{"type", "text_delta"}, {"text", p}});
    stop();
  }
  // message_delta usage is cumulative (this mock repeats the input side, as newer APIs do).
  add_event(r, "message_delta",
            {{"type", "message_delta"},
             {"delta",
              {{"stop_reason", a.stop_reason},
               {"stop_sequence", a.stop_sequence ? ojson(*a.stop_sequence) : ojson(nullptr)}}},
             {"usage", usage_json(a, a.output_tokens())}});
  add_event(r, "message_stop", {{"type", "message_stop"}});
  return r;
}

Reply whole_reply(const Answer& a, const std::string& model, std::uint64_t seq) {
  ojson content = ojson::array();
  if (a.thinking) {
    content.push_back(
        {{"type", "thinking"}, {"thinking", a.thinking_text}, {"signature", a.signature}});
  }
  if (a.tool) {
    content.push_back({{"type", "tool_use"},
                       {"id", a.tool_id},
                       {"name", a.tool_name},
                       {"input", ojson::parse(a.arguments)}});
  } else {
    std::string text;
    for (auto p : a.pieces) text += p;
    content.push_back({{"type", "text"}, {"text", std::move(text)}});
  }
  ojson body = {{"id", "msg_mock_" + std::to_string(seq)},
                {"type", "message"},
                {"role", "assistant"},
                {"model", model},
                {"content", std::move(content)},
                {"stop_reason", a.stop_reason},
                {"stop_sequence", a.stop_sequence ? ojson(*a.stop_sequence) : ojson(nullptr)},
                {"usage", usage_json(a, a.output_tokens())}};
  Reply r;
  r.body = dump(body);
  add_standard_headers(r, seq, false);
  return r;
}

std::optional<Reply> check_auth_headers(const ProviderRequest& req) {
  if (req.api_key.empty()) return std::nullopt;
  std::string_view key = req.header("x-api-key");
  if (key.empty()) {
    std::string_view auth = req.header("authorization");
    if (auth.size() > 7 && iequals(auth.substr(0, 7), "bearer ")) {
      key = auth.substr(7);
      while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    }
  }
  if (key.empty())
    return error(401, "authentication_error", "x-api-key header is required", req.seq);
  if (key != req.api_key) return error(401, "authentication_error", "invalid x-api-key", req.seq);
  return std::nullopt;
}

Reply handle(const ProviderRequest& req) {
  const std::uint64_t seq = req.seq;
  if (auto denied = check_auth_headers(req)) return std::move(*denied);
  std::string_view path = req.path;
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const bool count_tokens = path == "/v1/messages/count_tokens";
  if (req.method != "POST") {
    Reply r = error(405, "invalid_request_error", "Method Not Allowed", seq);
    return r;
  }
  if (req.header("anthropic-version").empty()) {
    return invalid("anthropic-version: header is required", seq);
  }
  const ParsedBody& pb = *req.body;
  if (!pb.ok) {
    return invalid(pb.empty ? std::string("There was an error parsing the body: the body is empty")
                            : "There was an error parsing the body: " + pb.error,
                   seq);
  }
  const json& body = pb.json;
  if (!body.is_object()) return invalid("Input should be a valid dictionary", seq);
  if (!body.contains("model")) return invalid("model: Field required", seq);
  if (!body["model"].is_string()) return invalid("model: Input should be a valid string", seq);
  const std::string model = body["model"].get<std::string>();
  if (starts_with(model, "missing")) return error(404, "not_found_error", "model: " + model, seq);
  if (!body.contains("messages")) return invalid("messages: Field required", seq);
  bool has_tool_blocks = false;
  const bool system_role = req.header("anthropic-version") >= std::string_view("2026-10-21");
  if (auto err = check_messages(body["messages"], seq, &has_tool_blocks, system_role)) {
    return std::move(*err);
  }

  int64_t max_tokens = 0;
  if (!count_tokens) {
    if (!body.contains("max_tokens")) return invalid("max_tokens: Field required", seq);
    if (!body["max_tokens"].is_number_integer()) {
      return invalid("max_tokens: Input should be a valid integer", seq);
    }
    max_tokens = body["max_tokens"].get<int64_t>();
    if (max_tokens < 1)
      return invalid("max_tokens: Input should be greater than or equal to 1", seq);
  }
  if (body.contains("system") && !body["system"].is_string() && !body["system"].is_array()) {
    return invalid("system: Input should be a valid list", seq);
  }
  if (body.contains("stream") && !body["stream"].is_boolean()) {
    return invalid("stream: Input should be a valid boolean", seq);
  }

  const json* tools = body.contains("tools") && body["tools"].is_array() && !body["tools"].empty()
                          ? &body["tools"]
                          : nullptr;
  if (tools) {
    for (std::size_t i = 0; i < tools->size(); ++i) {
      const json& t = (*tools)[i];
      const std::string at = "tools." + std::to_string(i);
      if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) {
        return invalid(at + ".name: Field required", seq);
      }
      std::string type = t.value("type", "custom");
      if ((type == "custom") && (!t.contains("input_schema") || !t["input_schema"].is_object())) {
        return invalid(at + ".custom.input_schema: Field required", seq);
      }
    }
  }
  if (has_tool_blocks && !tools) {
    return invalid("Requests which include `tool_use` or `tool_result` blocks must define tools.",
                   seq);
  }
  std::string choice_type = "auto", choice_name;
  if (body.contains("tool_choice")) {
    const json& tc = body["tool_choice"];
    if (!tc.is_object() || !tc.contains("type") || !tc["type"].is_string()) {
      return invalid("tool_choice: Input should be a valid dictionary", seq);
    }
    choice_type = tc["type"].get<std::string>();
    if (choice_type != "auto" && choice_type != "any" && choice_type != "tool" &&
        choice_type != "none") {
      return invalid("tool_choice: Input tag '" + choice_type +
                         "' found using 'type' does not match any of the expected tags: 'auto', "
                         "'any', 'tool', 'none'",
                     seq);
    }
    if (choice_type == "tool") {
      choice_name = tc.value("name", "");
      bool found = false;
      for (const auto& t : tools ? *tools : json::array())
        found |= t.value("name", "") == choice_name;
      if (!found) return invalid("tool_choice.name: tool '" + choice_name + "' not found", seq);
    }
  }

  Answer a;
  if (body.contains("thinking")) {
    const json& th = body["thinking"];
    std::string type = th.is_object() ? th.value("type", "") : "";
    if (type == "enabled") {
      if (!th.contains("budget_tokens") || !th["budget_tokens"].is_number_integer()) {
        return invalid("thinking.enabled.budget_tokens: Field required", seq);
      }
      int64_t budget = th["budget_tokens"].get<int64_t>();
      if (budget < 1024) {
        return invalid(
            "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024", seq);
      }
      if (!count_tokens && budget >= max_tokens) {
        return invalid(
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult "
            "our documentation at https://docs.claude.com/en/docs/build-with-claude/"
            "extended-thinking#max-tokens-and-context-window-size",
            seq);
      }
      a.thinking = true;
    } else if (type == "adaptive") {
      a.thinking = true;
    } else if (type != "disabled") {
      return invalid("thinking: Input tag '" + type +
                         "' found using 'type' does not match any of the expected tags: "
                         "'enabled', 'disabled', 'adaptive'",
                     seq);
    }
    if (a.thinking && (choice_type == "any" || choice_type == "tool")) {
      return invalid("Thinking may not be enabled when tool_choice forces tool use.", seq);
    }
  }

  // Usage: words of every text the model reads (system included), at least 1.
  std::size_t words = 0;
  if (body.contains("system")) words += words_in(body["system"]);
  const json& msgs = body["messages"];
  for (const auto& m : msgs) words += words_in(m["content"]);
  a.input_tokens = std::max<std::size_t>(1, words);
  if (!count_tokens) {
    auto cached = cached_prefix(body);
    (cached.hit ? a.cache_read : a.cache_write) = cached.words;
    a.input_tokens = std::max<std::size_t>(1, words - std::min(words, cached.words));
  }
  if (count_tokens) {
    Reply r;
    r.body = dump({{"input_tokens", a.input_tokens}});
    add_standard_headers(r, seq, false);
    return r;
  }

  // The answer.
  const json& last = msgs.back();
  const bool last_user = last["role"] == "user";
  std::string user_text;
  for (auto it = msgs.rbegin(); it != msgs.rend(); ++it) {
    if ((*it)["role"] == "user") {
      collect_text((*it)["content"], user_text, false);
      break;
    }
  }
  bool tool_result_last = false;
  std::string tool_said;
  if (last_user && last["content"].is_array()) {
    for (const auto& b : last["content"]) {
      if (b.is_object() && b.value("type", "") == "tool_result") {
        tool_result_last = true;
        if (b.contains("content")) collect_text(b["content"], tool_said, true);
      }
    }
  }
  if (tool_result_last) {
    a.text = "mock: tool said " + tool_said;
  } else if (tools && last_user && choice_type != "none") {
    a.tool = true;
    a.tool_name = choice_type == "tool" ? choice_name : (*tools)[0].value("name", "tool");
    a.tool_id = "toolu_mock_" + std::to_string(seq);
    a.arguments = R"({"echo": )";
    append_json_string(a.arguments, user_text);
    a.arguments += '}';
    a.stop_reason = "tool_use";
  } else {
    a.text = "mock: " + user_text;
  }
  if (a.thinking) {
    a.signature = "mock-signature-" + std::to_string(seq);
    a.thinking_pieces = split_code_points(a.thinking_text, req.events);
  }
  if (!a.tool) {
    if (body.contains("stop_sequences") && body["stop_sequences"].is_array()) {
      std::size_t cut = std::string::npos;
      for (const auto& s : body["stop_sequences"]) {
        if (!s.is_string() || s.get_ref<const std::string&>().empty()) continue;
        std::size_t at = a.text.find(s.get_ref<const std::string&>());
        if (at != std::string::npos && (cut == std::string::npos || at < cut)) {
          cut = at;
          a.stop_sequence = s.get<std::string>();
        }
      }
      if (cut != std::string::npos) {
        a.text.resize(cut);
        a.stop_reason = "stop_sequence";
      }
    }
    a.pieces = split_code_points(a.text, req.events);
    const std::size_t room = static_cast<std::size_t>(max_tokens) > a.thinking_pieces.size()
                                 ? static_cast<std::size_t>(max_tokens) - a.thinking_pieces.size()
                                 : 0;
    if (a.pieces.size() > room) {
      a.pieces.resize(room);
      a.stop_reason = "max_tokens";
      a.stop_sequence.reset();
    }
  } else {
    a.pieces = split_code_points(a.arguments, req.events);
  }

  const bool stream = body.contains("stream") && body["stream"].get<bool>();
  return stream ? stream_reply(a, model, seq) : whole_reply(a, model, seq);
}

std::string model_of_request(const ProviderRequest& req) {
  const ParsedBody& pb = *req.body;
  if (!pb.ok || !pb.json.is_object()) return {};
  auto it = pb.json.find("model");
  return it != pb.json.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Reply fault_reply(const Fault& f, std::string_view model) {
  const int st = f.status;
  const std::string m = model.empty() ? std::string("claude-sonnet-4-5") : std::string(model);
  std::string type, message;
  switch (st) {
    case 400:
      type = "invalid_request_error";
      message = "Mock fault: invalid request.";
      break;
    case 401:
      type = "authentication_error";
      message = "invalid x-api-key";
      break;
    case 402:
      type = "billing_error";
      message = "Your credit balance is too low to access the Anthropic API.";
      break;
    case 403:
      type = "permission_error";
      message = "Your API key does not have permission to use the specified resource.";
      break;
    case 404:
      type = "not_found_error";
      message = "model: " + m;
      break;
    case 413:
      type = "request_too_large";
      message = "Request exceeds the maximum allowed number of bytes.";
      break;
    case 429:
      type = "rate_limit_error";
      message =
          "This request would exceed the rate limit for your organization (org-mock) of 50 "
          "requests per minute. For details, refer to: "
          "https://docs.claude.com/en/api/rate-limits. You can see the response headers for "
          "current usage. Please reduce the prompt length or the maximum tokens requested, "
          "or try again later.";
      break;
    case 500:
      type = "api_error";
      message = "Internal server error";
      break;
    case 504:
      type = "timeout_error";
      message = "Request timed out";
      break;
    case 529:
      type = "overloaded_error";
      message = "Overloaded";
      break;
    default:
      type = st >= 500 ? "api_error" : "invalid_request_error";
      message = "Mock fault: HTTP " + std::to_string(st) + ".";
      break;
  }
  if (f.message) message = *f.message;
  if (f.type) type = *f.type;
  Reply r;
  r.status = st;
  r.body = dump({{"type", "error"},
                 {"error", {{"type", type}, {"message", message}}},
                 {"request_id", "req_mock_fault"}});
  add_standard_headers(r, 0, st == 429);
  r.extra_headers.front().second = "req_mock_fault";
  if (st == 429) r.rate = RateLimitHeaders::Exhausted;
  if (st == 429 || f.retry_after >= 0) {
    r.extra_headers.emplace_back("retry-after",
                                 std::to_string(f.retry_after >= 0 ? f.retry_after : 1));
  }
  if (f.retry_after_ms >= 0) {  // not Anthropic's, but the fault asks for it
    r.extra_headers.emplace_back("retry-after-ms",
                                 std::to_string(static_cast<long long>(f.retry_after_ms)));
  }
  if (f.body) r.body = *f.body;
  for (const auto& h : f.headers) r.extra_headers.push_back(h);
  return r;
}

const ProviderMock& build() {
  static const ProviderMock mock{
      "anthropic",
      [](std::string_view path) {
        while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
        return path == "/v1/messages" || path == "/v1/messages/count_tokens";
      },
      model_of_request,
      handle,
      fault_reply,
  };
  return mock;
}

const bool kRegistered = register_provider_mock(build());

}  // namespace

const ProviderMock& anthropic_provider_mock() {
  (void)kRegistered;
  return build();
}

}  // namespace tollgate::mock
