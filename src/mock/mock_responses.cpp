#include "mock_responses.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mock_faults.hpp"
#include "mock_util.hpp"

namespace tollgate::mock {
namespace {

using nlohmann::json;

constexpr long long kMinMaxOutputTokens = 16;  // OpenAI's minimum
constexpr long long kMaxDetailTokens = 1'000'000'000;
constexpr std::string_view kMidStreamMessage = "mock mid-stream error";

bool is_role(std::string_view r) {
  return r == "user" || r == "assistant" || r == "system" || r == "developer";
}

Reply invalid_value(std::string_view param, std::string_view message) {
  return error_reply(400, message, "invalid_request_error", param, "invalid_value");
}

// What the mock reads from `instructions` and `input`.
struct Conversation {
  enum class Last { User, ToolOutput, Other };
  std::size_t words = 0;
  std::string user_text;    // the last user message's text
  std::string tool_output;  // the last function_call_output's text
  Last last = Last::Other;
};

std::optional<Reply> required_string(const json& item, const std::string& where, const char* key) {
  auto it = item.find(key);
  if (it == item.end() || it->is_null()) return missing_param(where + "." + key);
  if (!it->is_string()) return invalid_type(where + "." + key, "a string", *it);
  return std::nullopt;
}

std::optional<Reply> read_message(const json& item, const std::string& where, Conversation& c) {
  auto role = item.find("role");
  if (role == item.end() || role->is_null()) return missing_param(where + ".role");
  if (!role->is_string()) return invalid_type(where + ".role", "a string", *role);
  const std::string& r = role->get_ref<const std::string&>();
  if (!is_role(r)) {
    return invalid_value(where + ".role",
                         "Invalid value: '" + r +
                             "'. Supported values are: 'assistant', 'system', 'developer', and "
                             "'user'.");
  }
  auto content = item.find("content");
  if (content == item.end() || content->is_null()) return missing_param(where + ".content");
  if (!content->is_string() && !content->is_array()) {
    return invalid_type(where + ".content", "a string or an array", *content);
  }
  c.words += content_words(*content);
  if (r == "user") {
    c.user_text = content_text(*content);
    c.last = Conversation::Last::User;
  } else {
    c.last = Conversation::Last::Other;
  }
  return std::nullopt;
}

// `input`: a string (one user message) or a list of items. Messages, function_call and
// function_call_output items are read; other item types (reasoning, item_reference, hosted
// tools' items) are accepted and skipped. A function_call_output must answer a function_call of
// the same input, unless the request continues a stored response (previous_response_id).
std::optional<Reply> read_input(const json& body, Conversation& c) {
  auto in = body.find("input");
  if (in == body.end() || in->is_null()) return missing_param("input");
  if (in->is_string()) {
    c.user_text = in->get<std::string>();
    c.words += count_words(c.user_text);
    c.last = Conversation::Last::User;
    return std::nullopt;
  }
  if (!in->is_array()) return invalid_type("input", "a string or an array", *in);
  if (in->empty()) {
    return error_reply(400,
                       "Invalid 'input': empty array. Expected an array with minimum length 1, "
                       "but got an empty array instead.",
                       "invalid_request_error", "input", "empty_array");
  }
  auto prev = body.find("previous_response_id");
  const bool continues = prev != body.end() && prev->is_string();
  std::set<std::string> calls;
  for (std::size_t i = 0; i < in->size(); ++i) {
    const json& item = (*in)[i];
    const std::string where = "input[" + std::to_string(i) + "]";
    if (!item.is_object()) return invalid_type(where, "an object", item);
    auto type = item.find("type");
    if (type != item.end() && !type->is_null() && !type->is_string()) {
      return invalid_type(where + ".type", "a string", *type);
    }
    const std::string t = type != item.end() && type->is_string() ? type->get<std::string>() : "";
    if (t.empty() || t == "message") {
      if (auto err = read_message(item, where, c)) return err;
    } else if (t == "function_call") {
      for (const char* key : {"call_id", "name", "arguments"}) {
        if (auto err = required_string(item, where, key)) return err;
      }
      calls.insert(item["call_id"].get<std::string>());
      c.last = Conversation::Last::Other;
    } else if (t == "function_call_output") {
      if (auto err = required_string(item, where, "call_id")) return err;
      auto out = item.find("output");
      if (out == item.end() || out->is_null()) return missing_param(where + ".output");
      if (!out->is_string() && !out->is_array()) {
        return invalid_type(where + ".output", "a string or an array", *out);
      }
      const std::string& id = item["call_id"].get_ref<const std::string&>();
      if (!continues && calls.count(id) == 0) {
        return error_reply(400, "No tool call found for function call output with call_id " + id + ".",
                           "invalid_request_error", "input", std::nullopt);
      }
      c.words += content_words(*out);
      c.tool_output = content_text(*out);
      c.last = Conversation::Last::ToolOutput;
    } else {
      c.last = Conversation::Last::Other;
    }
  }
  return std::nullopt;
}

// `tools` (flat function tools: {"type":"function","name",...}; other tool types are accepted,
// never called) and `tool_choice`. Sets `name` to the function to call when one would be called.
std::optional<Reply> read_tools(const json& body, std::string& name) {
  std::vector<std::string> functions;
  if (auto tools = body.find("tools"); tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) return invalid_type("tools", "an array", *tools);
    for (std::size_t i = 0; i < tools->size(); ++i) {
      const json& tool = (*tools)[i];
      const std::string where = "tools[" + std::to_string(i) + "]";
      if (!tool.is_object()) return invalid_type(where, "an object", tool);
      if (auto err = required_string(tool, where, "type")) return err;
      if (tool["type"] != "function") continue;
      if (auto err = required_string(tool, where, "name")) return err;
      functions.push_back(tool["name"].get<std::string>());
    }
  }
  auto choice = body.find("tool_choice");
  if (choice == body.end() || choice->is_null()) {
    if (!functions.empty()) name = functions.front();
    return std::nullopt;
  }
  if (choice->is_string()) {
    const std::string& c = choice->get_ref<const std::string&>();
    if (c != "none" && c != "auto" && c != "required") {
      return invalid_value("tool_choice", "Invalid value: '" + c +
                                              "'. Supported values are: 'none', 'auto', and "
                                              "'required'.");
    }
    if (c != "none" && !functions.empty()) name = functions.front();
    return std::nullopt;
  }
  if (!choice->is_object()) return invalid_type("tool_choice", "a string or an object", *choice);
  auto type = choice->find("type");
  if (type != choice->end() && *type == "function") {
    auto n = choice->find("name");
    if (n == choice->end() || !n->is_string()) return missing_param("tool_choice.name");
    if (std::find(functions.begin(), functions.end(), n->get<std::string>()) == functions.end()) {
      return error_reply(400,
                         "Tool choice 'function' not found in 'tools' parameter.",
                         "invalid_request_error", "tool_choice", std::nullopt);
    }
    name = n->get<std::string>();
    return std::nullopt;
  }
  if (!functions.empty()) name = functions.front();  // allowed_tools, hosted tool types
  return std::nullopt;
}

// The answer decided from the request, before it is rendered.
struct Answer {
  std::string model;
  std::string text;                     // the answer text, or the call's arguments
  std::vector<std::string_view> pieces;  // of `text`, after max_output_tokens
  std::string tool_name;                // set: a function call
  bool incomplete = false;
  std::size_t input_tokens = 0, cached = 0, output_tokens = 0, reasoning = 0;

  bool tool_call() const { return !tool_name.empty(); }
  std::string_view sent_text() const {  // what the pieces cover
    if (pieces.empty()) return {};
    return std::string_view(text).substr(0, pieces.back().data() + pieces.back().size() - text.data());
  }
};

void append_usage(std::string& o, std::size_t input, std::size_t cached, std::size_t output,
                  std::size_t reasoning) {
  o += R"({"input_tokens":)";
  append_uint(o, input);
  o += R"(,"input_tokens_details":{"cached_tokens":)";
  append_uint(o, cached);
  o += R"(},"output_tokens":)";
  append_uint(o, output);
  o += R"(,"output_tokens_details":{"reasoning_tokens":)";
  append_uint(o, reasoning);
  o += R"(},"total_tokens":)";
  append_uint(o, input + output);
  o += '}';
}

void append_dump(std::string& o, const json& v) {
  o += v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Renders the response object and its stream events. The request's parameters are echoed back
// as OpenAI does (instructions, tools, tool_choice, text, temperature, ...).
class Render {
 public:
  Render(const json& body, const Answer& a, std::uint64_t seq, std::int64_t created)
      : body_(body), a_(a), created_(created) {
    append_uint(suffix_, seq);
    ids_.msg = "msg_mock_" + suffix_;
    ids_.call = "fc_mock_" + suffix_;
    ids_.call_id = "call_mock_" + suffix_;
    ids_.reasoning = "rs_mock_" + suffix_;
    ids_.response = "resp_mock_" + suffix_;
  }

  // status: in_progress (no output, usage null), completed, incomplete or failed.
  std::string response(std::string_view status) const {
    Split s = split(status);
    if (status == "in_progress") {
      s.head += "null";
    } else {
      append_usage(s.head, a_.input_tokens, a_.cached, a_.output_tokens, a_.reasoning);
    }
    s.head += s.tail;
    return std::move(s.head);
  }

  // The whole event sequence of a stream.
  std::vector<std::string> events() {
    const std::string_view last = a_.incomplete ? "response.incomplete" : "response.completed";
    std::string r = ",\"response\":";
    event("response.created", r + response("in_progress"));
    event("response.in_progress", r + response("in_progress"));
    std::size_t index = 0;
    if (a_.reasoning > 0) {
      event("response.output_item.added", output_item(index, reasoning_item()));
      event("response.output_item.done", output_item(index, reasoning_item()));
      ++index;
    }
    const std::string idx = std::to_string(index);
    if (a_.tool_call()) {
      event("response.output_item.added", output_item(index, call_item("in_progress", "")));
      first_delta_ = events_.size();
      for (std::string_view piece : a_.pieces) {
        std::string e = R"(,"item_id":")" + ids_.call + R"(","output_index":)" + idx + R"(,"delta":)";
        append_json_string(e, piece);
        event("response.function_call_arguments.delta", e);
      }
      std::string done = R"(,"item_id":")" + ids_.call + R"(","output_index":)" + idx + R"(,"arguments":)";
      append_json_string(done, a_.sent_text());
      done += R"(,"name":)";
      append_json_string(done, a_.tool_name);
      event("response.function_call_arguments.done", done);
      event("response.output_item.done", output_item(index, call_item(item_status(), a_.sent_text())));
    } else {
      const std::string where = R"(,"item_id":")" + ids_.msg + R"(","output_index":)" + idx +
                                R"(,"content_index":0)";
      event("response.output_item.added", output_item(index, message_item("in_progress", std::nullopt)));
      event("response.content_part.added", where + R"(,"part":)" + text_part(""));
      first_delta_ = events_.size();
      for (std::string_view piece : a_.pieces) {
        std::string e = where + R"(,"delta":)";
        append_json_string(e, piece);
        e += R"(,"logprobs":[])";
        event("response.output_text.delta", e);
      }
      std::string done = where + R"(,"text":)";
      append_json_string(done, a_.sent_text());
      done += R"(,"logprobs":[])";
      event("response.output_text.done", done);
      event("response.content_part.done", where + R"(,"part":)" + text_part(a_.sent_text()));
      event("response.output_item.done", output_item(index, message_item(item_status(), a_.sent_text())));
    }
    event(last, r + response(a_.incomplete ? "incomplete" : "completed"));
    return std::move(events_);
  }

  // error_mid_stream after `sent` events: an `error` event, then response.failed carrying the
  // usage of what was sent (the deltas count as output tokens). Owns what it needs: it runs
  // after the request's body and this renderer are gone.
  std::function<std::string(std::size_t)> failure() const {
    Split s = split("failed");
    return [s = std::move(s), first = first_delta_, pieces = a_.pieces.size(), in = a_.input_tokens,
            cached = a_.cached, reasoning = a_.reasoning](std::size_t sent) {
      const std::size_t deltas = std::min(pieces, sent > first ? sent - first : 0);
      std::string o = "event: error\ndata: {\"type\":\"error\",\"sequence_number\":";
      append_uint(o, sent);
      o += R"(,"code":"server_error","message":)";
      append_json_string(o, kMidStreamMessage);
      o += ",\"param\":null}\n\nevent: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":";
      append_uint(o, sent + 1);
      o += ",\"response\":";
      o += s.head;
      append_usage(o, in, cached, deltas + reasoning, reasoning);
      o += s.tail;
      o += "}\n\n";
      return o;
    };
  }

 private:
  // The response object in two parts, around its usage value.
  struct Split {
    std::string head, tail;
  };
  Split split(std::string_view status) const {
    const bool final = status != "in_progress";
    const bool failed = status == "failed";
    Split s;
    std::string& o = s.head;
    o.reserve(512 + a_.text.size());
    o += R"({"id":)";
    append_json_string(o, ids_.response);
    o += R"(,"object":"response","created_at":)";
    append_int(o, created_);
    o += R"(,"status":")";
    o += status;
    o += R"(","background":false,"completed_at":)";
    if (final && !failed) {
      append_int(o, created_);
    } else {
      o += "null";
    }
    o += R"(,"error":)";
    if (failed) {
      o += R"({"code":"server_error","message":)";
      append_json_string(o, kMidStreamMessage);
      o += '}';
    } else {
      o += "null";
    }
    o += R"(,"incomplete_details":)";
    o += final && a_.incomplete && !failed ? R"({"reason":"max_output_tokens"})" : "null";
    echo(o, "instructions", "null");
    echo(o, "max_output_tokens", "null");
    o += R"(,"model":)";
    append_json_string(o, a_.model);
    o += R"(,"output":[)";
    if (final && !failed) {
      if (a_.reasoning > 0) {
        o += reasoning_item();
        o += ',';
      }
      o += a_.tool_call() ? call_item(item_status(), a_.sent_text())
                          : message_item(item_status(), a_.sent_text());
    }
    o += ']';
    echo(o, "parallel_tool_calls", "true");
    echo(o, "previous_response_id", "null");
    echo(o, "reasoning", R"({"effort":null,"summary":null})");
    o += R"(,"service_tier":"default")";
    echo(o, "store", "true");
    echo(o, "temperature", "1.0");
    echo(o, "text", R"({"format":{"type":"text"},"verbosity":"medium"})");
    echo(o, "tool_choice", R"("auto")");
    echo(o, "tools", "[]");
    echo(o, "top_p", "1.0");
    o += R"(,"truncation":"disabled","usage":)";
    echo(s.tail, "user", "null");
    echo(s.tail, "metadata", "{}");
    s.tail += '}';
    return s;
  }

  std::string_view item_status() const { return a_.incomplete ? "incomplete" : "completed"; }

  void echo(std::string& o, const char* key, std::string_view fallback) const {
    o += ",\"";
    o += key;
    o += "\":";
    auto it = body_.find(key);
    if (it == body_.end() || it->is_null()) {
      o += fallback;
    } else {
      append_dump(o, *it);
    }
  }

  static std::string text_part(std::string_view text) {
    std::string o = R"({"type":"output_text","annotations":[],"logprobs":[],"text":)";
    append_json_string(o, text);
    o += '}';
    return o;
  }

  std::string message_item(std::string_view status, std::optional<std::string_view> text) const {
    std::string o = R"({"id":)";
    append_json_string(o, ids_.msg);
    o += R"(,"type":"message","status":")";
    o += status;
    o += R"(","content":[)";
    if (text) o += text_part(*text);
    o += R"(],"role":"assistant"})";
    return o;
  }

  std::string call_item(std::string_view status, std::string_view arguments) const {
    std::string o = R"({"id":)";
    append_json_string(o, ids_.call);
    o += R"(,"type":"function_call","status":")";
    o += status;
    o += R"(","arguments":)";
    append_json_string(o, arguments);
    o += R"(,"call_id":)";
    append_json_string(o, ids_.call_id);
    o += R"(,"name":)";
    append_json_string(o, a_.tool_name);
    o += '}';
    return o;
  }

  std::string reasoning_item() const {
    return R"({"id":")" + ids_.reasoning + R"(","type":"reasoning","summary":[]})";
  }

  static std::string output_item(std::size_t index, const std::string& item) {
    std::string o = R"(,"output_index":)";
    append_uint(o, index);
    o += R"(,"item":)";
    o += item;
    return o;
  }

  // "event: TYPE\ndata: {"type":"TYPE","sequence_number":N<rest>}\n\n"
  void event(std::string_view type, std::string_view rest) {
    std::string e;
    e.reserve(64 + 2 * type.size() + rest.size());
    e += "event: ";
    e += type;
    e += "\ndata: {\"type\":\"";
    e += type;
    e += "\",\"sequence_number\":";
    append_uint(e, events_.size());
    e += rest;
    e += "}\n\n";
    events_.push_back(std::move(e));
  }

  const json& body_;
  const Answer& a_;
  std::int64_t created_;
  std::string suffix_;
  struct {
    std::string msg, call, call_id, reasoning, response;
  } ids_;
  std::vector<std::string> events_;
  std::size_t first_delta_ = 0;
};

long long header_count(const ProviderRequest& req, std::string_view name) {
  if (!req.header) return 0;
  const long long v = parse_non_negative(req.header(name));
  return v < 0 ? 0 : std::min(v, kMaxDetailTokens);
}

bool claims(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path == "/v1/responses" || path == "/responses";
}

Reply handle(const ProviderRequest& req) {
  if (req.method != "POST") {
    std::string msg = "Invalid method for URL (";
    msg += req.method;
    msg += ' ';
    msg += req.path;
    msg += ')';
    return error_reply(405, msg, "invalid_request_error", std::nullopt, std::nullopt);
  }
  if (auto denied = check_auth(req.header ? req.header("authorization") : "", req.api_key)) {
    return std::move(*denied);
  }
  return handle_responses(responses_request(req));
}

std::string model_of_request(const ProviderRequest& req) {
  return req.body ? std::string(model_of(*req.body)) : std::string();
}

const ProviderMock& build() {
  static const ProviderMock mock{
      "responses",
      claims,
      model_of_request,
      handle,
      fault_status_reply,  // OpenAI's error bodies
  };
  return mock;
}

const bool kRegistered = register_provider_mock(build());

}  // namespace

ResponsesRequest responses_request(const ProviderRequest& req) {
  ResponsesRequest r;
  r.body = req.body;
  r.seq = req.seq;
  r.created = req.created;
  r.events = req.events;
  r.cached_tokens = header_count(req, "x-mock-cached-tokens");
  r.reasoning_tokens = header_count(req, "x-mock-reasoning-tokens");
  return r;
}

Reply handle_responses(const ResponsesRequest& req) {
  const ParsedBody& pb = *req.body;
  if (auto err = check_object_with_model(pb)) return std::move(*err);
  const json& body = pb.json;

  Conversation c;
  if (auto it = body.find("instructions"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return invalid_type("instructions", "a string", *it);
    c.words += count_words(it->get_ref<const std::string&>());
  }
  if (auto err = read_input(body, c)) return std::move(*err);
  std::string tool_name;
  if (auto err = read_tools(body, tool_name)) return std::move(*err);
  bool stream = false;
  if (auto it = body.find("stream"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return invalid_type("stream", "a boolean", *it);
    stream = it->get<bool>();
  }
  long long max_output = -1;
  if (auto it = body.find("max_output_tokens"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer()) return invalid_type("max_output_tokens", "an integer", *it);
    max_output = it->get<long long>();
    if (max_output < kMinMaxOutputTokens) {
      return error_reply(400,
                         "Invalid 'max_output_tokens': integer below minimum value. Expected a "
                         "value >= 16, but got " + std::to_string(max_output) + " instead.",
                         "invalid_request_error", "max_output_tokens", "integer_below_min_value");
    }
  }

  Answer a;
  a.model = body["model"].get<std::string>();
  if (c.last == Conversation::Last::User && !tool_name.empty()) {
    a.tool_name = std::move(tool_name);
    a.text = R"({"echo": )";
    append_json_string(a.text, c.user_text);
    a.text += '}';
  } else if (c.last == Conversation::Last::ToolOutput) {
    a.text = "mock: tool said " + c.tool_output;
  } else {
    a.text = "mock: " + c.user_text;
  }
  a.pieces = split_code_points(a.text, req.events);
  if (max_output > 0 && a.pieces.size() > static_cast<std::size_t>(max_output)) {
    a.pieces.resize(static_cast<std::size_t>(max_output));
    a.incomplete = true;
  }
  a.input_tokens = std::max<std::size_t>(1, c.words);
  a.cached = std::min<std::size_t>(a.input_tokens, static_cast<std::size_t>(req.cached_tokens));
  a.reasoning = static_cast<std::size_t>(req.reasoning_tokens);
  a.output_tokens = a.pieces.size() + a.reasoning;

  Render render(body, a, req.seq, req.created);
  Reply r;
  if (!stream) {
    r.body = render.response(a.incomplete ? "incomplete" : "completed");
    return r;
  }
  r.stream = true;
  r.raw_framing = true;
  r.content_type = "text/event-stream; charset=utf-8";
  r.stream_end = "";  // no [DONE]: the stream ends with response.completed
  r.events = render.events();
  r.mid_stream_error_at = render.failure();
  return r;
}

const ProviderMock& responses_provider_mock() {
  (void)kRegistered;
  return build();
}

}  // namespace tollgate::mock
