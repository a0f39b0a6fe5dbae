#include "mock_api.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "mock_util.hpp"

namespace tollgate::mock {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxChoices = 128;
constexpr long long kMaxDimensions = 4096;
constexpr std::size_t kDefaultDimensions = 8;

std::string type_article_name(const json& j) {
  switch (j.type()) {
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::null: return "null";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    default: return "a number";
  }
}

}  // namespace

Reply invalid_type(std::string_view param, std::string_view expected, const json& got) {
  std::string msg = "Invalid type for '";
  msg += param;
  msg += "': expected ";
  msg += expected;
  msg += ", but got ";
  msg += type_article_name(got);
  msg += " instead.";
  return error_reply(400, msg, "invalid_request_error", param, "invalid_type");
}

Reply missing_param(std::string_view param) {
  std::string msg = "Missing required parameter: '";
  msg += param;
  msg += "'.";
  return error_reply(400, msg, "invalid_request_error", param, "missing_required_parameter");
}

namespace {

Reply unparsable_body(const ParsedBody& b) {
  std::string msg = "We could not parse the JSON body of your request. (HINT: This likely means you "
                    "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
                    "but what was sent was not valid JSON: ";
  msg += b.empty ? std::string("the request body is empty") : b.error;
  msg += ")";
  return error_reply(400, msg, "invalid_request_error", std::nullopt, std::nullopt);
}

Reply model_not_found(std::string_view model) {
  std::string msg = "The model `";
  msg += model;
  msg += "` does not exist or you do not have access to it.";
  return error_reply(404, msg, "invalid_request_error", std::nullopt, "model_not_found");
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_reasoning_model(std::string_view m) {
  return starts_with(m, "o1") || starts_with(m, "o3") || starts_with(m, "o4") ||
         starts_with(m, "gpt-5");
}

}  // namespace

std::optional<Reply> check_object_with_model(const ParsedBody& b) {
  if (!b.ok) {
    return unparsable_body(b);
  }
  if (!b.json.is_object()) {
    return error_reply(400,
                       "Invalid type for request body: expected an object, but got " +
                           type_article_name(b.json) + " instead.",
                       "invalid_request_error", std::nullopt, "invalid_type");
  }
  auto it = b.json.find("model");
  if (it == b.json.end() || it->is_null()) {
    return error_reply(400, "you must provide a model parameter", "invalid_request_error", "model",
                       std::nullopt);
  }
  if (!it->is_string()) {
    return invalid_type("model", "a string", *it);
  }
  if (starts_with(it->get_ref<const std::string&>(), "missing")) {
    return model_not_found(it->get_ref<const std::string&>());
  }
  return std::nullopt;
}

std::string content_text(const json& content) {
  if (content.is_string()) {
    return content.get<std::string>();
  }
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (!part.is_object()) {
        continue;
      }
      auto t = part.find("text");
      if (t != part.end() && t->is_string()) {
        out += t->get_ref<const std::string&>();
      }
    }
  }
  return out;
}

std::size_t content_words(const json& content) {
  if (content.is_string()) {
    return count_words(content.get_ref<const std::string&>());
  }
  std::size_t n = 0;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (!part.is_object()) {
        continue;
      }
      auto t = part.find("text");
      if (t != part.end() && t->is_string()) {
        n += count_words(t->get_ref<const std::string&>());
      }
    }
  }
  return n;
}

namespace {

// Validates optional `n` (1..128). Returns the error or sets `n`.
std::optional<Reply> read_n(const json& body, std::size_t& n) {
  n = 1;
  auto it = body.find("n");
  if (it == body.end() || it->is_null()) {
    return std::nullopt;
  }
  if (!it->is_number_integer()) {
    return invalid_type("n", "an integer", *it);
  }
  const auto v = it->get<long long>();
  if (v < 1) {
    return error_reply(400,
                       "Invalid 'n': integer below minimum value. Expected a value >= 1, but got " +
                           std::to_string(v) + " instead.",
                       "invalid_request_error", "n", "integer_below_min_value");
  }
  if (v > static_cast<long long>(kMaxChoices)) {
    return error_reply(400,
                       "Invalid 'n': integer above maximum value. Expected a value <= 128, but got " +
                           std::to_string(v) + " instead.",
                       "invalid_request_error", "n", "integer_above_max_value");
  }
  n = static_cast<std::size_t>(v);
  return std::nullopt;
}

// Reads `stream` and `stream_options.include_usage`.
std::optional<Reply> read_stream(const json& body, bool& stream, bool& include_usage) {
  stream = false;
  include_usage = false;
  auto it = body.find("stream");
  if (it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return invalid_type("stream", "a boolean", *it);
    }
    stream = it->get<bool>();
  }
  auto so = body.find("stream_options");
  if (so != body.end() && !so->is_null()) {
    if (!stream) {
      return error_reply(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                         "invalid_request_error", "stream_options", std::nullopt);
    }
    if (!so->is_object()) {
      return invalid_type("stream_options", "an object", *so);
    }
    auto iu = so->find("include_usage");
    include_usage = iu != so->end() && iu->is_boolean() && iu->get<bool>();
  }
  return std::nullopt;
}

void append_chat_usage(std::string& o, std::size_t prompt, std::size_t completion) {
  o += R"({"prompt_tokens":)";
  append_uint(o, prompt);
  o += R"(,"completion_tokens":)";
  append_uint(o, completion);
  o += R"(,"total_tokens":)";
  append_uint(o, prompt + completion);
  o += R"(,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},)"
       R"("completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,)"
       R"("accepted_prediction_tokens":0,"rejected_prediction_tokens":0}})";
}

void append_plain_usage(std::string& o, std::size_t prompt, std::size_t completion) {
  o += R"({"prompt_tokens":)";
  append_uint(o, prompt);
  o += R"(,"completion_tokens":)";
  append_uint(o, completion);
  o += R"(,"total_tokens":)";
  append_uint(o, prompt + completion);
  o += '}';
}

std::string tool_call_id(std::uint64_t seq, std::size_t choice) {
  std::string id = "call_mock_";
  append_uint(id, seq);
  if (choice > 0) {
    id += '_';
    append_uint(id, choice);
  }
  return id;
}

// ---------------------------------------------------------------------------------------------
// POST /chat/completions

Reply chat_completions(const ApiRequest& req) {
  const ParsedBody& pb = *req.body;
  if (auto err = check_object_with_model(pb)) {
    return std::move(*err);
  }
  const json& body = pb.json;
  const std::string& model = body["model"].get_ref<const std::string&>();

  auto mit = body.find("messages");
  if (mit == body.end() || mit->is_null()) {
    return missing_param("messages");
  }
  if (!mit->is_array()) {
    return invalid_type("messages", "an array", *mit);
  }
  if (mit->empty()) {
    return error_reply(400,
                       "Invalid 'messages': empty array. Expected an array with minimum length 1, but "
                       "got an empty array instead.",
                       "invalid_request_error", "messages", "empty_array");
  }
  if (is_reasoning_model(model) && body.contains("max_tokens")) {
    return error_reply(400,
                       "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                       "'max_completion_tokens' instead.",
                       "invalid_request_error", "max_tokens", "unsupported_parameter");
  }
  std::size_t n = 1;
  if (auto err = read_n(body, n)) {
    return std::move(*err);
  }
  bool stream = false;
  bool include_usage = false;
  if (auto err = read_stream(body, stream, include_usage)) {
    return std::move(*err);
  }

  // Walk the messages: count prompt words, find the last user message and the last message.
  std::size_t words = 0;
  const json* last_user = nullptr;
  const json* last = nullptr;
  std::string last_role;
  for (std::size_t i = 0; i < mit->size(); ++i) {
    const json& m = (*mit)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) {
      return invalid_type(where, "an object", m);
    }
    auto role = m.find("role");
    if (role == m.end() || role->is_null()) {
      return missing_param(where + ".role");
    }
    if (!role->is_string()) {
      return invalid_type(where + ".role", "a string", *role);
    }
    auto content = m.find("content");
    if (content != m.end()) {
      words += content_words(*content);
    }
    if (role->get_ref<const std::string&>() == "user") {
      last_user = &m;
    }
    last = &m;
    last_role = role->get_ref<const std::string&>();
  }
  const std::size_t prompt_tokens = std::max<std::size_t>(1, words);

  // Decide between a tool call and a text answer.
  std::string tool_name;
  bool tool_call = false;
  auto tools = body.find("tools");
  if (tools != body.end() && tools->is_array() && !tools->empty() && last_role == "user") {
    auto tc = body.find("tool_choice");
    const bool none = tc != body.end() && tc->is_string() && tc->get_ref<const std::string&>() == "none";
    if (!none) {
      tool_call = true;
      auto name_in = [](const json& obj, const char* key) -> std::string {
        auto it = obj.find(key);
        if (it != obj.end() && it->is_object()) {
          auto nm = it->find("name");
          if (nm != it->end() && nm->is_string()) {
            return nm->get<std::string>();
          }
        }
        return {};
      };
      if (tc != body.end() && tc->is_object()) {
        tool_name = name_in(*tc, "function");
        if (tool_name.empty()) tool_name = name_in(*tc, "custom");
      }
      if (tool_name.empty()) {
        const json& first = (*tools)[0];
        if (first.is_object()) {
          tool_name = name_in(first, "function");
          if (tool_name.empty()) tool_name = name_in(first, "custom");
          if (tool_name.empty() && first.contains("name") && first["name"].is_string()) {
            tool_name = first["name"].get<std::string>();
          }
        }
      }
      if (tool_name.empty()) {
        tool_name = "tool";
      }
    }
  }

  const std::string user_text = last_user != nullptr && last_user->contains("content")
                                    ? content_text((*last_user)["content"])
                                    : std::string();
  std::string text;       // text answer
  std::string arguments;  // tool-call arguments (JSON text)
  if (tool_call) {
    arguments = R"({"echo": )";
    append_json_string(arguments, user_text);
    arguments += '}';
  } else if (last_role == "tool") {
    text = "mock: tool said ";
    if (last->contains("content")) {
      text += content_text((*last)["content"]);
    }
  } else {
    text = "mock: ";
    text += user_text;
  }
  const std::vector<std::string_view> pieces =
      split_code_points(tool_call ? std::string_view(arguments) : std::string_view(text), req.events);
  const std::size_t completion_tokens = pieces.size() * n;
  const char* finish_reason = tool_call ? "tool_calls" : "stop";

  Reply r;
  if (!stream) {
    std::string& o = r.body;
    o.reserve(512 + (text.size() + arguments.size()) * n);
    o += R"({"id":"chatcmpl-mock-)";
    append_uint(o, req.seq);
    o += R"(","object":"chat.completion","created":)";
    append_int(o, req.created);
    o += R"(,"model":)";
    append_json_string(o, model);
    o += R"(,"choices":[)";
    for (std::size_t c = 0; c < n; ++c) {
      if (c > 0) o += ',';
      o += R"({"index":)";
      append_uint(o, c);
      o += R"(,"message":{"role":"assistant","content":)";
      if (tool_call) {
        o += R"(null,"tool_calls":[{"id":)";
        append_json_string(o, tool_call_id(req.seq, c));
        o += R"(,"type":"function","function":{"name":)";
        append_json_string(o, tool_name);
        o += R"(,"arguments":)";
        append_json_string(o, arguments);
        o += "}}]";
      } else {
        append_json_string(o, text);
      }
      o += R"(,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":")";
      o += finish_reason;
      o += "\"}";
    }
    o += R"(],"usage":)";
    append_chat_usage(o, prompt_tokens, completion_tokens);
    o += R"(,"service_tier":"default","system_fingerprint":"fp_mock"})";
    return r;
  }

  r.stream = true;
  r.content_type = "text/event-stream";
  std::string prefix = R"({"id":"chatcmpl-mock-)";
  append_uint(prefix, req.seq);
  prefix += R"(","object":"chat.completion.chunk","created":)";
  append_int(prefix, req.created);
  prefix += R"(,"model":)";
  append_json_string(prefix, model);
  prefix += R"(,"service_tier":"default","system_fingerprint":"fp_mock","choices":[)";
  const std::string_view suffix = include_usage ? R"(],"usage":null})" : "]}";

  auto event = [&](std::size_t choice, std::string_view delta, std::string_view finish,
                   std::string_view tail = {}) {
    std::string e;
    e.reserve(prefix.size() + delta.size() + 96);
    e += prefix;
    e += R"({"index":)";
    append_uint(e, choice);
    e += R"(,"delta":)";
    e += delta;
    e += R"(,"logprobs":null,"finish_reason":)";
    e += finish;
    e += '}';
    e += tail.empty() ? suffix : tail;
    r.events.push_back(std::move(e));
  };

  r.events.reserve((pieces.size() + 2) * n + 1);
  std::string delta;
  for (std::size_t c = 0; c < n; ++c) {
    if (tool_call) {
      delta = R"({"role":"assistant","content":null,"tool_calls":[{"index":0,"id":)";
      append_json_string(delta, tool_call_id(req.seq, c));
      delta += R"(,"type":"function","function":{"name":)";
      append_json_string(delta, tool_name);
      delta += R"(,"arguments":""}}],"refusal":null})";
      event(c, delta, "null");
    } else {
      event(c, R"({"role":"assistant","content":""})", "null");
    }
  }
  for (std::string_view piece : pieces) {
    for (std::size_t c = 0; c < n; ++c) {
      if (tool_call) {
        delta = R"({"tool_calls":[{"index":0,"function":{"arguments":)";
        append_json_string(delta, piece);
        delta += "}}]}";
      } else {
        delta = R"({"content":)";
        append_json_string(delta, piece);
        delta += '}';
      }
      event(c, delta, "null");
    }
  }
  const std::string finish = std::string("\"") + finish_reason + "\"";
  std::string usage_tail;  // Mistral's way: the last choice chunk carries the usage
  if (req.usage_on_last_chunk) {
    usage_tail = R"(],"usage":)";
    append_chat_usage(usage_tail, prompt_tokens, completion_tokens);
    usage_tail += '}';
  }
  for (std::size_t c = 0; c < n; ++c) {
    event(c, "{}", finish, c + 1 == n ? std::string_view(usage_tail) : std::string_view());
  }
  if (include_usage && !req.usage_on_last_chunk) {
    std::string e = prefix;
    e += R"(],"usage":)";
    append_chat_usage(e, prompt_tokens, completion_tokens);
    e += '}';
    r.events.push_back(std::move(e));
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// POST /completions (legacy)

Reply completions(const ApiRequest& req) {
  const ParsedBody& pb = *req.body;
  if (auto err = check_object_with_model(pb)) {
    return std::move(*err);
  }
  const json& body = pb.json;
  const std::string& model = body["model"].get_ref<const std::string&>();
  auto pit = body.find("prompt");
  if (pit == body.end() || pit->is_null()) {
    return missing_param("prompt");
  }
  // Each prompt becomes (text, words).
  std::vector<std::pair<std::string, std::size_t>> prompts;
  auto tokens_text = [](const json& arr, std::string& out) -> bool {
    for (std::size_t i = 0; i < arr.size(); ++i) {
      if (!arr[i].is_number_integer()) return false;
      if (i > 0) out += ' ';
      out += std::to_string(arr[i].get<long long>());
    }
    return true;
  };
  if (pit->is_string()) {
    prompts.emplace_back(pit->get<std::string>(), count_words(pit->get_ref<const std::string&>()));
  } else if (pit->is_array() && !pit->empty()) {
    if ((*pit)[0].is_number_integer()) {
      std::string t;
      if (!tokens_text(*pit, t)) return invalid_type("prompt", "a string or an array", *pit);
      prompts.emplace_back(std::move(t), pit->size());
    } else {
      for (const auto& p : *pit) {
        if (p.is_string()) {
          prompts.emplace_back(p.get<std::string>(), count_words(p.get_ref<const std::string&>()));
        } else if (p.is_array()) {
          std::string t;
          if (!tokens_text(p, t)) return invalid_type("prompt", "a string or an array", *pit);
          prompts.emplace_back(std::move(t), p.size());
        } else {
          return invalid_type("prompt", "a string or an array", *pit);
        }
      }
    }
  } else {
    return invalid_type("prompt", "a string or an array", *pit);
  }
  std::size_t n = 1;
  if (auto err = read_n(body, n)) {
    return std::move(*err);
  }
  bool stream = false;
  bool include_usage = false;
  if (auto err = read_stream(body, stream, include_usage)) {
    return std::move(*err);
  }

  std::size_t words = 0;
  std::vector<std::string> texts;
  texts.reserve(prompts.size());
  for (auto& [p, w] : prompts) {
    words += w;
    texts.push_back("mock: " + p);
  }
  const std::size_t prompt_tokens = std::max<std::size_t>(1, words);
  std::vector<std::vector<std::string_view>> pieces;  // per prompt
  std::size_t completion_tokens = 0;
  for (const auto& t : texts) {
    pieces.push_back(split_code_points(t, req.events));
    completion_tokens += pieces.back().size() * n;
  }
  const std::size_t choices = texts.size() * n;

  Reply r;
  if (!stream) {
    std::string& o = r.body;
    o += R"({"id":"cmpl-mock-)";
    append_uint(o, req.seq);
    o += R"(","object":"text_completion","created":)";
    append_int(o, req.created);
    o += R"(,"model":)";
    append_json_string(o, model);
    o += R"(,"choices":[)";
    for (std::size_t c = 0; c < choices; ++c) {
      if (c > 0) o += ',';
      o += R"({"text":)";
      append_json_string(o, texts[c / n]);
      o += R"(,"index":)";
      append_uint(o, c);
      o += R"(,"logprobs":null,"finish_reason":"stop"})";
    }
    o += R"(],"usage":)";
    append_plain_usage(o, prompt_tokens, completion_tokens);
    o += R"(,"system_fingerprint":"fp_mock"})";
    return r;
  }

  r.stream = true;
  r.content_type = "text/event-stream";
  std::string prefix = R"({"id":"cmpl-mock-)";
  append_uint(prefix, req.seq);
  prefix += R"(","object":"text_completion","created":)";
  append_int(prefix, req.created);
  prefix += R"(,"choices":[)";
  std::string suffix = R"(],"model":)";
  append_json_string(suffix, model);
  suffix += R"(,"system_fingerprint":"fp_mock")";
  suffix += include_usage ? R"(,"usage":null})" : "}";
  auto event = [&](std::size_t choice, std::string_view piece, std::string_view finish) {
    std::string e = prefix;
    e += R"({"text":)";
    append_json_string(e, piece);
    e += R"(,"index":)";
    append_uint(e, choice);
    e += R"(,"logprobs":null,"finish_reason":)";
    e += finish;
    e += '}';
    e += suffix;
    r.events.push_back(std::move(e));
  };
  std::size_t max_pieces = 0;
  for (const auto& p : pieces) max_pieces = std::max(max_pieces, p.size());
  for (std::size_t s = 0; s < max_pieces; ++s) {
    for (std::size_t c = 0; c < choices; ++c) {
      const auto& p = pieces[c / n];
      if (s < p.size()) event(c, p[s], "null");
    }
  }
  for (std::size_t c = 0; c < choices; ++c) {
    event(c, "", R"("stop")");
  }
  if (include_usage) {
    std::string e = prefix;
    e += R"(],"model":)";
    append_json_string(e, model);
    e += R"(,"system_fingerprint":"fp_mock","usage":)";
    append_plain_usage(e, prompt_tokens, completion_tokens);
    e += '}';
    r.events.push_back(std::move(e));
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// POST /embeddings

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<float> embedding_for(std::string_view key, std::size_t dims) {
  std::uint64_t state = fnv1a64(key);
  std::vector<float> v(dims);
  double norm = 0;
  for (auto& x : v) {
    const double u = static_cast<double>(splitmix64(state) >> 11) / 9007199254740992.0;  // [0,1)
    x = static_cast<float>(u * 2.0 - 1.0);
    norm += static_cast<double>(x) * x;
  }
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (auto& x : v) x = static_cast<float>(x / norm);
  }
  return v;
}

Reply embeddings(const ApiRequest& req) {
  const ParsedBody& pb = *req.body;
  if (auto err = check_object_with_model(pb)) {
    return std::move(*err);
  }
  const json& body = pb.json;
  const std::string& model = body["model"].get_ref<const std::string&>();
  auto iit = body.find("input");
  if (iit == body.end() || iit->is_null()) {
    return missing_param("input");
  }
  std::vector<std::pair<std::string, std::size_t>> inputs;  // (hash key, words)
  auto bad_input = [] {
    return error_reply(400,
                       "'$.input' is invalid. Please check the API reference: "
                       "https://platform.openai.com/docs/api-reference.",
                       "invalid_request_error", std::nullopt, std::nullopt);
  };
  auto token_key = [](const json& arr, std::string& key) -> bool {
    key = "tokens:";
    for (const auto& t : arr) {
      if (!t.is_number_integer()) return false;
      key += std::to_string(t.get<long long>());
      key += ',';
    }
    return !arr.empty();
  };
  if (iit->is_string()) {
    if (iit->get_ref<const std::string&>().empty()) return bad_input();
    inputs.emplace_back(iit->get<std::string>(), count_words(iit->get_ref<const std::string&>()));
  } else if (iit->is_array() && !iit->empty()) {
    if ((*iit)[0].is_number_integer()) {
      std::string key;
      if (!token_key(*iit, key)) return bad_input();
      inputs.emplace_back(std::move(key), iit->size());
    } else {
      for (const auto& e : *iit) {
        if (e.is_string()) {
          if (e.get_ref<const std::string&>().empty()) return bad_input();
          inputs.emplace_back(e.get<std::string>(), count_words(e.get_ref<const std::string&>()));
        } else if (e.is_array()) {
          std::string key;
          if (!token_key(e, key)) return bad_input();
          inputs.emplace_back(std::move(key), e.size());
        } else {
          return bad_input();
        }
      }
    }
  } else {
    return bad_input();
  }
  std::size_t dims = kDefaultDimensions;
  auto dit = body.find("dimensions");
  if (dit != body.end() && !dit->is_null()) {
    if (!dit->is_number_integer()) {
      return invalid_type("dimensions", "an integer", *dit);
    }
    const auto d = dit->get<long long>();
    if (d < 1 || d > kMaxDimensions) {
      return error_reply(400,
                         "Invalid 'dimensions': expected a value between 1 and 4096, but got " +
                             std::to_string(d) + " instead.",
                         "invalid_request_error", "dimensions", "invalid_value");
    }
    dims = static_cast<std::size_t>(d);
  }
  bool base64 = false;
  auto eit = body.find("encoding_format");
  if (eit != body.end() && !eit->is_null()) {
    if (!eit->is_string() || (eit->get_ref<const std::string&>() != "float" &&
                              eit->get_ref<const std::string&>() != "base64")) {
      return error_reply(400,
                         "Invalid value for 'encoding_format': expected one of 'float' or 'base64'.",
                         "invalid_request_error", "encoding_format", "invalid_value");
    }
    base64 = eit->get_ref<const std::string&>() == "base64";
  }

  Reply r;
  std::string& o = r.body;
  o.reserve(64 + inputs.size() * (64 + dims * 14));
  o += R"({"object":"list","data":[)";
  std::size_t words = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    words += inputs[i].second;
    const std::vector<float> v = embedding_for(inputs[i].first, dims);
    if (i > 0) o += ',';
    o += R"({"object":"embedding","index":)";
    append_uint(o, i);
    o += R"(,"embedding":)";
    if (base64) {
      std::string bytes(v.size() * 4, '\0');
      for (std::size_t k = 0; k < v.size(); ++k) {
        std::uint32_t bits;
        std::memcpy(&bits, &v[k], 4);
        for (int b = 0; b < 4; ++b) {
          bytes[k * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xFF);  // little-endian
        }
      }
      o += '"';
      o += base64_encode(bytes.data(), bytes.size());
      o += '"';
    } else {
      o += '[';
      for (std::size_t k = 0; k < v.size(); ++k) {
        if (k > 0) o += ',';
        append_float(o, v[k]);
      }
      o += ']';
    }
    o += '}';
  }
  o += R"(],"model":)";
  append_json_string(o, model);
  o += R"(,"usage":{"prompt_tokens":)";
  append_uint(o, words);
  o += R"(,"total_tokens":)";
  append_uint(o, words);
  o += "}}";
  return r;
}

// ---------------------------------------------------------------------------------------------
// GET /models

struct ModelEntry {
  const char* id;
  std::int64_t created;
};
constexpr ModelEntry kModels[] = {
    {"gpt-4o", 1715367049},
    {"gpt-4o-mini", 1721172741},
    {"text-embedding-3-small", 1705948997},
    {"gpt-3.5-turbo-instruct", 1692901427},
};

void append_model(std::string& o, std::string_view id, std::int64_t created) {
  o += R"({"id":)";
  append_json_string(o, id);
  o += R"(,"object":"model","created":)";
  append_int(o, created);
  o += R"(,"owned_by":"mock"})";
}

Reply list_models() {
  static const std::string body = [] {
    std::string o = R"({"object":"list","data":[)";
    bool first = true;
    for (const auto& m : kModels) {
      if (!first) o += ',';
      first = false;
      append_model(o, m.id, m.created);
    }
    o += "]}";
    return o;
  }();
  Reply r;
  r.body = body;
  return r;
}

Reply get_model(std::string_view id) {
  if (id.empty() || starts_with(id, "missing")) {
    return model_not_found(id);
  }
  std::int64_t created = 1700000000;
  for (const auto& m : kModels) {
    if (id == m.id) created = m.created;
  }
  Reply r;
  append_model(r.body, id, created);
  return r;
}

Reply invalid_url(const ApiRequest& req, int status, const char* what) {
  std::string msg = what;
  msg += " (";
  msg += req.method;
  msg += ' ';
  msg += req.path;
  msg += ')';
  return error_reply(status, msg, "invalid_request_error", std::nullopt, std::nullopt);
}

}  // namespace

ParsedBody parse_body(std::string_view body) {
  ParsedBody pb;
  pb.empty = body.empty();
  if (pb.empty) {
    return pb;
  }
  pb.json = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (pb.json.is_discarded()) {
    // Parse again with exceptions on to get nlohmann's description of the problem.
    try {
      [[maybe_unused]] json again = json::parse(body);
    } catch (const json::parse_error& e) {
      pb.error = e.what();
      // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> drop the tag.
      if (auto pos = pb.error.find("] "); pos != std::string::npos) {
        pb.error.erase(0, pos + 2);
      }
    } catch (const std::exception& e) {
      pb.error = e.what();
    }
    pb.json = nullptr;
    return pb;
  }
  pb.ok = true;
  return pb;
}

std::string_view model_of(const ParsedBody& body) {
  if (!body.ok || !body.json.is_object()) {
    return {};
  }
  auto it = body.json.find("model");
  if (it == body.json.end() || !it->is_string()) {
    return {};
  }
  return it->get_ref<const std::string&>();
}

std::string_view path_of(std::string_view target) {
  auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::string_view normalize_route(std::string_view target) {
  std::string_view p = path_of(target);
  if (p == "/v1") {
    return "/";
  }
  if (starts_with(p, "/v1/")) {
    p.remove_prefix(3);
  }
  while (p.size() > 1 && p.back() == '/') {
    p.remove_suffix(1);
  }
  return p;
}

Reply handle_api(const ApiRequest& req) {
  const std::string_view route = req.route;
  const bool post = req.method == "POST";
  const bool get = req.method == "GET";
  if (route == "/chat/completions") {
    return post ? chat_completions(req) : invalid_url(req, 405, "Invalid method for URL");
  }
  if (route == "/completions") {
    return post ? completions(req) : invalid_url(req, 405, "Invalid method for URL");
  }
  if (route == "/embeddings") {
    return post ? embeddings(req) : invalid_url(req, 405, "Invalid method for URL");
  }
  if (route == "/models") {
    return get ? list_models() : invalid_url(req, 405, "Invalid method for URL");
  }
  if (starts_with(route, "/models/")) {
    return get ? get_model(route.substr(8)) : invalid_url(req, 405, "Invalid method for URL");
  }
  return invalid_url(req, 404, "Invalid URL");
}

Reply error_reply(int status, std::string_view message, std::string_view type,
                  std::optional<std::string_view> param, std::optional<std::string_view> code) {
  Reply r;
  r.status = status;
  std::string& o = r.body;
  o.reserve(96 + message.size());
  o += R"({"error":{"message":)";
  append_json_string(o, message);
  o += R"(,"type":)";
  append_json_string(o, type);
  o += R"(,"param":)";
  if (param) {
    append_json_string(o, *param);
  } else {
    o += "null";
  }
  o += R"(,"code":)";
  if (code) {
    append_json_string(o, *code);
  } else {
    o += "null";
  }
  o += "}}";
  return r;
}

std::string mask_key(std::string_view key) {
  if (key.size() >= 12) {
    std::string m(key.substr(0, 3));
    m += "...";
    m += key.substr(key.size() - 4);
    return m;
  }
  return "***";
}

std::optional<Reply> check_auth(std::string_view authorization, std::string_view api_key) {
  if (api_key.empty()) {
    return std::nullopt;
  }
  std::string_view given = authorization;
  if (given.size() >= 7 && iequals(given.substr(0, 7), "bearer ")) {
    given.remove_prefix(7);
    while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
    if (given == api_key) {
      return std::nullopt;
    }
  } else if (given.empty()) {
    return error_reply(401,
                       "You didn't provide an API key. You need to provide your API key in an "
                       "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                       "invalid_request_error", std::nullopt, "invalid_api_key");
  }
  std::string msg = "Incorrect API key provided: ";
  msg += mask_key(given);
  msg += ". You can find your API key at https://platform.openai.com/account/api-keys.";
  return error_reply(401, msg, "invalid_request_error", std::nullopt, "invalid_api_key");
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Site Overloaded";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

namespace {
std::vector<ProviderMock>& provider_registry() {
  static std::vector<ProviderMock> registry;  // filled by static initializers, read-only after
  return registry;
}
}  // namespace

bool register_provider_mock(ProviderMock mock) {
  provider_registry().push_back(std::move(mock));
  return true;
}

const ProviderMock* find_provider_mock(std::string_view path) {
  for (const auto& m : provider_registry()) {
    if (m.claims(path)) return &m;
  }
  return nullptr;
}

}  // namespace tollgate::mock
