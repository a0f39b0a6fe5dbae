#include "mock_bedrock.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "../providers/bedrock/eventstream.hpp"
#include "../providers/bedrock/sigv4.hpp"
#include "mock_faults.hpp"
#include "mock_util.hpp"

namespace tollgate::mock::bedrock {
namespace {

using nlohmann::json;
namespace es = tg::providers::bedrock::eventstream;
namespace sigv4 = tg::providers::bedrock::sigv4;

constexpr std::string_view kPrefix = "/model/";
constexpr std::string_view kConverse = "/converse";
constexpr std::string_view kConverseStream = "/converse-stream";
constexpr std::string_view kErrorTypeSuffix = ":http://internal.amazon.com/coral/com.amazon.bedrock/";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The encoded model segment of /model/{id}/converse[-stream], or nullopt.
std::optional<std::string_view> model_segment(std::string_view path) {
  if (path.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = path.substr(kPrefix.size());
  std::string_view tail = ends_with(rest, kConverseStream) ? kConverseStream
                          : ends_with(rest, kConverse)     ? kConverse
                                                           : std::string_view();
  if (tail.empty() || rest.size() == tail.size()) return std::nullopt;
  std::string_view seg = rest.substr(0, rest.size() - tail.size());
  if (seg.find('/') != std::string_view::npos) return std::nullopt;  // ARNs arrive as %2F
  return seg;
}

Reply validation(std::string message) { return error(400, "ValidationException", message); }

std::string at(std::string_view base, std::size_t i) { return std::string(base) + "." + std::to_string(i); }

bool blank(const json& j) {
  if (!j.is_string()) return true;
  const auto& s = j.get_ref<const std::string&>();
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; });
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

std::string_view sv(const json& j) {
  return j.is_string() ? std::string_view(j.get_ref<const std::string&>()) : std::string_view();
}

// A string member of an object as a view into the object itself ("" when absent or not a
// string). Not sv(obj.value(...)): value() returns a temporary, and the view would dangle.
std::string_view member_sv(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? std::string_view() : sv(*it);
}

// ---- request validation (the checks Bedrock makes that a translator can get wrong) ----

struct Conversation {
  std::size_t words = 0;
  std::string user_text;        // text blocks of the last user message
  bool last_is_tool_result = false;
  bool last_is_user = false;
  std::string tool_result_text;  // text of the last toolResult
  std::vector<std::string> tools;
  std::string forced_tool;
};

std::optional<Reply> check_media(const json& m, std::string_view where, bool image) {
  if (!m.is_object()) return validation("The " + std::string(where) + " field must be an object.");
  std::string_view format = member_sv(m, "format");
  bool ok_format = image ? one_of(format, {"png", "jpeg", "gif", "webp"})
                         : one_of(format, {"pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"});
  if (!ok_format) {
    return validation("1 validation error detected: Value '" + std::string(format) + "' at '" +
                      std::string(where) + ".format' failed to satisfy constraint: Member must satisfy enum value set");
  }
  if (!image && !m.value("name", json()).is_string()) {
    return validation("The name field of " + std::string(where) + " is required.");
  }
  auto src = m.find("source");
  if (src == m.end() || !src->is_object() || !(*src)["bytes"].is_string() || (*src)["bytes"].get_ref<const std::string&>().empty()) {
    return validation("The source of " + std::string(where) + " must contain bytes.");
  }
  return std::nullopt;
}

std::optional<Reply> check_block(const json& b, const std::string& where, bool user,
                                 const std::vector<std::string>& prev_tool_uses,
                                 std::vector<std::string>& tool_uses, Conversation& c, bool& has_tool_blocks) {
  if (!b.is_object() || b.size() != 1) {
    return validation("The content block at " + where + " must contain exactly one member.");
  }
  const std::string& key = b.begin().key();
  const json& v = b.begin().value();
  if (key == "text") {
    if (blank(v)) {
      return validation("The text field in the ContentBlock object at " + where +
                        " is blank. Add text to the text field, and try again.");
    }
    c.words += count_words(v.get_ref<const std::string&>());
    return std::nullopt;
  }
  if (key == "image" || key == "document") {
    if (!user) return validation("Images and documents are only allowed in user messages (" + where + ").");
    return check_media(v, where + "." + key, key == "image");
  }
  if (key == "toolUse") {
    if (user) return validation("toolUse blocks are only allowed in assistant messages (" + where + ").");
    if (!v.is_object() || !v.value("toolUseId", json()).is_string() || !v.value("name", json()).is_string() ||
        !v.contains("input")) {
      return validation("The toolUse at " + where + " needs toolUseId, name and input.");
    }
    tool_uses.push_back(v["toolUseId"].get<std::string>());
    has_tool_blocks = true;
    return std::nullopt;
  }
  if (key == "toolResult") {
    if (!user) return validation("toolResult blocks are only allowed in user messages (" + where + ").");
    if (!v.is_object() || !v.value("toolUseId", json()).is_string() || !v.contains("content") ||
        !v["content"].is_array()) {
      return validation("The toolResult at " + where + " needs toolUseId and content.");
    }
    const std::string id = v["toolUseId"].get<std::string>();
    if (std::find(prev_tool_uses.begin(), prev_tool_uses.end(), id) == prev_tool_uses.end()) {
      return validation("The toolUseId " + id + " at " + where +
                        " does not match any toolUse in the previous assistant message.");
    }
    if (auto st = v.find("status"); st != v.end() && !one_of(sv(*st), {"success", "error"})) {
      return validation("The status of the toolResult at " + where + " must be success or error.");
    }
    std::string text;
    for (std::size_t i = 0; i < v["content"].size(); ++i) {
      const json& part = v["content"][i];
      if (!part.is_object() || part.size() != 1) {
        return validation("The toolResult content at " + at(where + ".content", i) + " must contain exactly one member.");
      }
      const std::string& pk = part.begin().key();
      if (pk == "text") {
        if (blank(part["text"])) return validation("The text field of the toolResult at " + where + " is blank.");
        text += part["text"].get<std::string>();
      } else if (pk == "json") {
        text += part["json"].dump();
      } else if (pk == "image" || pk == "document") {
        if (auto e = check_media(part[pk], where + ".content." + pk, pk == "image")) return e;
      } else {
        return validation("Unsupported toolResult content " + pk + " at " + where + ".");
      }
    }
    c.words += count_words(text);
    c.tool_result_text = std::move(text);
    has_tool_blocks = true;
    return std::nullopt;
  }
  if (key == "cachePoint") {
    if (!v.is_object() || member_sv(v, "type") != "default") {
      return validation("The cachePoint at " + where + " must have type default.");
    }
    return std::nullopt;
  }
  if (key == "reasoningContent" || key == "guardContent" || key == "video" || key == "audio" ||
      key == "citationsContent" || key == "searchResult") {
    return std::nullopt;
  }
  return validation("Unknown content block member '" + key + "' at " + where + ".");
}

std::optional<Reply> check_request(const json& body, Conversation& c) {
  static const std::initializer_list<std::string_view> kTop = {
      "messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig",
      "additionalModelRequestFields", "additionalModelResponseFieldPaths", "promptVariables",
      "requestMetadata", "performanceConfig", "serviceTier", "outputConfig"};
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (!one_of(it.key(), kTop)) {
      return validation("Malformed input request: extraneous key [" + it.key() + "] is not permitted, please reformat your input and try again.");
    }
  }
  auto msgs = body.find("messages");
  if (msgs == body.end() || !msgs->is_array() || msgs->empty()) {
    return validation("The messages field is required and must contain at least one message.");
  }
  if (auto sys = body.find("system"); sys != body.end()) {
    if (!sys->is_array()) return validation("The system field must be a list of content blocks.");
    for (std::size_t i = 0; i < sys->size(); ++i) {
      const json& b = (*sys)[i];
      if (!b.is_object() || b.size() != 1) return validation("The system block at " + at("system", i) + " must contain exactly one member.");
      if (b.contains("text")) {
        if (blank(b["text"])) return validation("The text field in the SystemContentBlock at " + at("system", i) + " is blank.");
        c.words += count_words(b["text"].get_ref<const std::string&>());
      } else if (!b.contains("cachePoint") && !b.contains("guardContent")) {
        return validation("Unknown system block member '" + b.begin().key() + "' at " + at("system", i) + ".");
      }
    }
  }
  if (auto ic = body.find("inferenceConfig"); ic != body.end()) {
    if (!ic->is_object()) return validation("The inferenceConfig field must be an object.");
    for (auto it = ic->begin(); it != ic->end(); ++it) {
      const std::string& k = it.key();
      const json& v = *it;
      if (k == "maxTokens") {
        if (!v.is_number_integer() || v.get<long long>() < 1) return validation("The maximum tokens you requested must be at least 1.");
      } else if (k == "temperature" || k == "topP") {
        if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) {
          return validation("1 validation error detected: Value at 'inferenceConfig." + k + "' failed to satisfy constraint: Member must have value between 0 and 1");
        }
      } else if (k == "stopSequences") {
        if (!v.is_array()) return validation("stopSequences must be a list of strings.");
        for (const auto& s : v) {
          if (!s.is_string() || s.get_ref<const std::string&>().empty()) return validation("stopSequences must be non-empty strings.");
        }
      } else {
        return validation("Malformed input request: extraneous key [inferenceConfig." + k + "] is not permitted.");
      }
    }
  }
  if (auto amr = body.find("additionalModelRequestFields"); amr != body.end() && !amr->is_object()) {
    return validation("The additionalModelRequestFields field must be an object.");
  }
  bool has_tool_config = false;
  if (auto tc = body.find("toolConfig"); tc != body.end()) {
    if (!tc->is_object() || !tc->contains("tools") || !(*tc)["tools"].is_array() || (*tc)["tools"].empty()) {
      return validation("The toolConfig field must contain a non-empty tools list.");
    }
    for (std::size_t i = 0; i < (*tc)["tools"].size(); ++i) {
      const json& t = (*tc)["tools"][i];
      if (t.is_object() && t.contains("cachePoint")) continue;
      const json* spec = t.is_object() && t.contains("toolSpec") ? &t["toolSpec"] : nullptr;
      if (!spec || !spec->is_object() || blank(spec->value("name", json())) || !spec->contains("inputSchema") ||
          !(*spec)["inputSchema"].is_object() || !(*spec)["inputSchema"].contains("json") ||
          !(*spec)["inputSchema"]["json"].is_object()) {
        return validation("The tool at " + at("toolConfig.tools", i) + " needs toolSpec.name and toolSpec.inputSchema.json.");
      }
      c.tools.push_back((*spec)["name"].get<std::string>());
    }
    if (auto ch = tc->find("toolChoice"); ch != tc->end()) {
      if (!ch->is_object() || ch->size() != 1 || !one_of(ch->begin().key(), {"auto", "any", "tool"})) {
        return validation("The toolChoice field must contain exactly one of auto, any or tool.");
      }
      if (ch->contains("tool")) {
        std::string name = (*ch)["tool"].value("name", "");
        if (std::find(c.tools.begin(), c.tools.end(), name) == c.tools.end()) {
          return validation("The tool " + name + " named by toolChoice is not in toolConfig.tools.");
        }
        c.forced_tool = name;
      }
    }
    has_tool_config = true;
  }
  std::vector<std::string> prev_tool_uses, tool_uses;
  bool has_tool_blocks = false;
  std::string prev_role;
  for (std::size_t i = 0; i < msgs->size(); ++i) {
    const json& m = (*msgs)[i];
    const std::string where = at("messages", i);
    if (!m.is_object()) return validation("The message at " + where + " must be an object.");
    std::string_view role = member_sv(m, "role");
    if (!one_of(role, {"user", "assistant"})) {
      return validation("1 validation error detected: Value '" + std::string(role) + "' at '" + where +
                        ".member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]");
    }
    if (i == 0 && role != "user") {
      return validation("A conversation must start with a user message. Try again with a conversation that starts with a user message.");
    }
    if (role == prev_role) {
      return validation("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.");
    }
    prev_role = std::string(role);
    auto content = m.find("content");
    if (content == m.end() || !content->is_array() || content->empty()) {
      return validation("The content field in the Message object at " + where + " is empty. Add a ContentBlock object to the content field and try again.");
    }
    const bool user = role == "user";
    tool_uses.clear();
    std::string text;
    bool last_tool_result = false;
    for (std::size_t k = 0; k < content->size(); ++k) {
      const json& b = (*content)[k];
      if (auto e = check_block(b, at(where + ".content", k), user, prev_tool_uses, tool_uses, c, has_tool_blocks)) return e;
      if (b.contains("text") && user) text += b["text"].get<std::string>();
      if (!b.contains("cachePoint")) last_tool_result = b.contains("toolResult");
    }
    if (user) {
      c.user_text = std::move(text);
      c.last_is_tool_result = last_tool_result;
    } else {
      prev_tool_uses = tool_uses;
    }
    if (user) prev_tool_uses.clear();
  }
  c.last_is_user = prev_role == "user";  // a final assistant turn is a prefill
  if (has_tool_blocks && !has_tool_config) {
    return validation("The toolConfig field must be defined when using toolUse and toolResult content blocks.");
  }
  return std::nullopt;
}

// ---- answers ----

// Deterministic padding of varying length, like the random "p" field of real frames.
std::string padding(std::uint64_t seq, std::size_t i) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  return std::string(kAlphabet.substr(0, 1 + (seq * 7 + i * 13) % kAlphabet.size()));
}

void frame(std::vector<std::string>& events, std::string_view event_type, std::string payload) {
  std::string out;
  es::encode(out, {{":event-type", event_type}, {":content-type", "application/json"}, {":message-type", "event"}},
             payload);
  events.push_back(std::move(out));
}

// Appends ,"p":"..."} to a payload missing its closing brace.
std::string with_p(std::string payload, std::uint64_t seq, std::size_t i) {
  payload += R"(,"p":")";
  payload += padding(seq, i);
  payload += "\"}";
  return payload;
}

std::string usage_json(std::size_t input, std::size_t output) {
  std::string u = R"({"inputTokens":)";
  append_uint(u, input);
  u += R"(,"outputTokens":)";
  append_uint(u, output);
  u += R"(,"totalTokens":)";
  append_uint(u, input + output);
  u += '}';
  return u;
}

}  // namespace

bool claims(std::string_view path) { return model_segment(path).has_value(); }

std::string model_id(std::string_view path) {
  auto seg = model_segment(path);
  return seg ? sigv4::uri_decode(*seg) : std::string();
}

Reply error(int status, std::string_view exception, std::string_view message) {
  Reply r;
  r.status = status;
  r.body = R"({"message":)";
  append_json_string(r.body, message);
  r.body += '}';
  r.extra_headers.emplace_back("x-amzn-ErrorType", std::string(exception) + std::string(kErrorTypeSuffix));
  return r;
}

std::optional<Reply> check_auth(const ProviderRequest& req, long long now_unix) {
  if (req.api_key.empty()) return std::nullopt;
  std::string_view auth = req.header("authorization");
  if (auth.empty()) return error(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
  if (auth.substr(0, 7) == "Bearer ") {
    if (auth.substr(7) == req.api_key) return std::nullopt;
    return error(403, "UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  auto a = sigv4::parse_authorization(auth);
  if (!a.ok) {
    return error(403, "IncompleteSignatureException",
                 "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.");
  }
  if (a.service != "bedrock") {
    return error(403, "InvalidSignatureException",
                 "Credential should be scoped to correct service: 'bedrock'.");
  }
  const bool signs_host = std::find(a.signed_headers.begin(), a.signed_headers.end(), "host") != a.signed_headers.end();
  const bool signs_date = std::find(a.signed_headers.begin(), a.signed_headers.end(), "x-amz-date") != a.signed_headers.end();
  std::string_view date = req.header("x-amz-date");
  if (!signs_host || !signs_date || date.size() != 16) {
    return error(403, "IncompleteSignatureException",
                 "The request must sign the host and x-amz-date headers.");
  }
  std::tm tm{};
  tm.tm_year = std::atoi(std::string(date.substr(0, 4)).c_str()) - 1900;
  tm.tm_mon = std::atoi(std::string(date.substr(4, 2)).c_str()) - 1;
  tm.tm_mday = std::atoi(std::string(date.substr(6, 2)).c_str());
  tm.tm_hour = std::atoi(std::string(date.substr(9, 2)).c_str());
  tm.tm_min = std::atoi(std::string(date.substr(11, 2)).c_str());
  tm.tm_sec = std::atoi(std::string(date.substr(13, 2)).c_str());
  const long long signed_at = static_cast<long long>(timegm(&tm));
  if (signed_at < now_unix - 900 || signed_at > now_unix + 900) {
    return error(403, "InvalidSignatureException",
                 "Signature expired: " + std::string(date) + " is now earlier or later than the 15 minutes allowed.");
  }
  if (a.date_stamp != date.substr(0, 8)) {
    return error(403, "InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP");
  }
  sigv4::Request sr;
  sr.method = req.method;
  sr.path = req.path;
  sr.query = req.query;
  for (const auto& name : a.signed_headers) sr.headers.emplace_back(name, req.header(name));
  const std::string hash = sigv4::sha256_hex(req.raw_body);
  sr.payload_hash = hash;
  auto sig = sigv4::sign(sr, {a.access_key_id, req.api_key, a.region, a.service, date});
  if (sig.signature != a.signature) {
    return error(403, "InvalidSignatureException",
                 "The request signature we calculated does not match the signature you provided. Check "
                 "your AWS Secret Access Key and signing method. Consult the service documentation for details.");
  }
  return std::nullopt;
}

Reply handle(const ProviderRequest& req) {
  if (auto denied = check_auth(req, static_cast<long long>(std::time(nullptr)))) return *denied;
  if (req.method != "POST") {
    return error(404, "UnknownOperationException", "Unknown operation " + std::string(req.method) + " " + std::string(req.path));
  }
  const std::string model = model_id(req.path);
  if (model.substr(0, 7) == "missing") {
    return error(404, "ResourceNotFoundException", "The provided model identifier is invalid.");
  }
  const ParsedBody& pb = *req.body;
  if (!pb.ok || !pb.json.is_object()) {
    return validation("Malformed input request, please reformat your input and try again.");
  }
  Conversation c;
  if (auto e = check_request(pb.json, c)) return *e;

  const bool stream = ends_with(req.path, kConverseStream);
  const bool tool_call = !c.tools.empty() && c.last_is_user && !c.last_is_tool_result;
  std::string tool_name = c.forced_tool.empty() ? (c.tools.empty() ? "" : c.tools.front()) : c.forced_tool;
  std::string text, arguments;
  if (tool_call) {
    arguments = R"({"echo": )";
    append_json_string(arguments, c.user_text);
    arguments += '}';
  } else if (c.last_is_user && c.last_is_tool_result) {
    text = "mock: tool said " + c.tool_result_text;
  } else {
    text = "mock: " + c.user_text;
  }
  const std::vector<std::string_view> pieces =
      split_code_points(tool_call ? std::string_view(arguments) : std::string_view(text), req.events);
  const std::size_t input_tokens = std::max<std::size_t>(1, c.words);
  const std::size_t output_tokens = pieces.size();
  std::string tool_id = "tooluse_mock_";
  append_uint(tool_id, req.seq);
  const char* stop_reason = tool_call ? "tool_use" : "end_turn";

  Reply r;
  r.extra_headers.emplace_back("x-amzn-RequestId", "mock-" + std::to_string(req.seq));
  if (!stream) {
    std::string& o = r.body;
    o = R"({"output":{"message":{"role":"assistant","content":[)";
    if (tool_call) {
      o += R"({"toolUse":{"toolUseId":)";
      append_json_string(o, tool_id);
      o += R"(,"name":)";
      append_json_string(o, tool_name);
      o += R"(,"input":)";
      o += arguments;
      o += "}}";
    } else {
      o += R"({"text":)";
      append_json_string(o, text);
      o += '}';
    }
    o += R"(]}},"stopReason":")";
    o += stop_reason;
    o += R"(","usage":)";
    o += usage_json(input_tokens, output_tokens);
    o += R"(,"metrics":{"latencyMs":1}})";
    return r;
  }

  r.stream = true;
  r.raw_framing = true;
  r.content_type = "application/vnd.amazon.eventstream";
  r.stream_end = "";
  std::size_t n = 0;
  frame(r.events, "messageStart", with_p(R"({"role":"assistant")", req.seq, n++));
  if (tool_call) {
    std::string start = R"({"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":)";
    append_json_string(start, tool_id);
    start += R"(,"name":)";
    append_json_string(start, tool_name);
    start += "}}";
    frame(r.events, "contentBlockStart", with_p(std::move(start), req.seq, n++));
  }
  for (std::string_view piece : pieces) {
    std::string d = R"({"contentBlockIndex":0,"delta":{)";
    d += tool_call ? R"("toolUse":{"input":)" : R"("text":)";
    append_json_string(d, piece);
    d += tool_call ? "}}" : "}";
    frame(r.events, "contentBlockDelta", with_p(std::move(d), req.seq, n++));
  }
  frame(r.events, "contentBlockStop", with_p(R"({"contentBlockIndex":0)", req.seq, n++));
  frame(r.events, "messageStop", with_p(std::string(R"({"stopReason":")") + stop_reason + "\"", req.seq, n++));
  frame(r.events, "metadata",
        with_p(R"({"usage":)" + usage_json(input_tokens, output_tokens) + R"(,"metrics":{"latencyMs":1})",
               req.seq, n++));
  // error_mid_stream: an exception frame (x-mock-bedrock-exception picks its type).
  std::string_view exc = req.header("x-mock-bedrock-exception");
  if (exc.empty()) exc = "modelStreamErrorException";
  std::string payload = R"({"message":"mock mid-stream error")";
  if (exc == "modelStreamErrorException") {
    payload += R"(,"originalStatusCode":500,"originalMessage":"mock mid-stream error")";
  }
  payload += '}';
  es::encode(r.mid_stream_error,
             {{":exception-type", exc}, {":content-type", "application/json"}, {":message-type", "exception"}},
             payload);
  return r;
}

namespace {

Reply fault_reply(const Fault& f, std::string_view model) {
  std::string_view name;
  std::string_view message;
  switch (f.status) {
    case 400: name = "ValidationException"; message = "Malformed input request, please reformat your input and try again."; break;
    case 401: name = "UnrecognizedClientException"; message = "The security token included in the request is invalid."; break;
    case 403: name = "AccessDeniedException"; message = "You don't have access to the model with the specified model ID."; break;
    case 404: name = "ResourceNotFoundException"; message = "The provided model identifier is invalid."; break;
    case 408: name = "ModelTimeoutException"; message = "Model has timed out in processing the request. Try your request again."; break;
    case 424: name = "ModelErrorException"; message = "Received error from the model. Try your request again."; break;
    case 429: name = "ThrottlingException"; message = "Too many requests, please wait before trying again."; break;
    case 500: name = "InternalServerException"; message = "The server encountered an internal error while processing the request."; break;
    case 503: name = "ServiceUnavailableException"; message = "Bedrock is unable to process your request."; break;
    default:
      name = f.status >= 500 ? "InternalServerException" : "ValidationException";
      message = "Mock fault.";
      break;
  }
  std::string msg = f.message ? *f.message : std::string(message);
  Reply r = error(f.status, f.type ? std::string_view(*f.type) : name, msg);
  if (f.retry_after >= 0) r.extra_headers.emplace_back("retry-after", std::to_string(f.retry_after));
  if (f.retry_after_ms >= 0) {
    r.extra_headers.emplace_back("retry-after-ms", std::to_string(static_cast<long long>(f.retry_after_ms)));
  }
  if (f.body) r.body = *f.body;
  for (const auto& h : f.headers) r.extra_headers.push_back(h);
  return r;
}

const bool kRegistered = register_provider_mock({
    "bedrock",
    [](std::string_view path) { return claims(path); },
    [](const ProviderRequest& req) { return model_id(req.path); },
    [](const ProviderRequest& req) { return handle(req); },
    [](const Fault& f, std::string_view model) { return fault_reply(f, model); },
});

}  // namespace
}  // namespace tollgate::mock::bedrock
