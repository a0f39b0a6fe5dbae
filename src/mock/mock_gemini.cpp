#include "mock_gemini.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "mock_faults.hpp"
#include "mock_util.hpp"

namespace tollgate::mock {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr std::string_view kPrefix = "/v1beta/";
constexpr std::string_view kContentType = "application/json; charset=UTF-8";
constexpr std::string_view kDummySignature = "skip_thought_signature_validator";
constexpr std::size_t kDefaultDims = 768;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// ---- google.rpc errors ----------------------------------------------------------------------

std::string_view status_name(int code) {
  switch (code) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 500: return "INTERNAL";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return code >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

Reply google_error(int code, std::string_view message, std::string_view status = {},
                   ojson details = nullptr) {
  Reply r;
  r.status = code;
  r.content_type = std::string(kContentType);
  ojson err = ojson::object();
  err["code"] = code;
  err["message"] = message;
  err["status"] = status.empty() ? status_name(code) : status;
  if (!details.is_null()) err["details"] = std::move(details);
  r.body = dump(ojson{{"error", std::move(err)}});
  return r;
}

ojson error_info(std::string_view reason) {
  return ojson::array({{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                        {"reason", reason},
                        {"domain", "googleapis.com"},
                        {"metadata", {{"service", "generativelanguage.googleapis.com"}}}}});
}

Reply invalid(std::string_view message) { return google_error(400, message); }

Reply unknown_field(std::string_view name, std::string_view at) {
  std::string m = "Invalid JSON payload received. Unknown name \"";
  m += name;
  m += '"';
  if (!at.empty()) {
    m += " at '";
    m += at;
    m += '\'';
  }
  m += ": Cannot find field.";
  return invalid(m);
}

Reply model_not_found(std::string_view model, std::string_view method) {
  std::string m = "models/";
  m += model;
  m += " is not found for API version v1beta, or is not supported for ";
  m += method;
  m += ". Call ListModels to see the list of available models and their supported methods.";
  return google_error(404, m);
}

// ---- request reading --------------------------------------------------------------------------

// "thinkingBudget" and "thinking_budget" are the same field in proto JSON.
std::string camel(std::string_view k) {
  std::string out;
  out.reserve(k.size());
  bool up = false;
  for (char c : k) {
    if (c == '_') {
      up = true;
    } else {
      out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      up = false;
    }
  }
  return out;
}

const json* field(const json& obj, std::string_view camel_name) {
  if (!obj.is_object()) return nullptr;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (camel(it.key()) == camel_name) return &it.value();
  }
  return nullptr;
}

std::optional<Reply> check_keys(const json& obj, std::initializer_list<std::string_view> allowed,
                                std::string_view at) {
  if (!obj.is_object()) return std::nullopt;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string c = camel(it.key());
    if (std::find(allowed.begin(), allowed.end(), c) == allowed.end()) {
      return unknown_field(it.key(), at);
    }
  }
  return std::nullopt;
}

// The OpenAPI-subset Schema of function parameters: unknown keys are refused, as Gemini does.
std::optional<Reply> check_schema(const json& s, const std::string& at) {
  if (!s.is_object()) return invalid("Invalid JSON payload received. Expected an object at '" + at + "'.");
  if (auto e = check_keys(s,
                          {"type", "format", "title", "description", "nullable", "enum",
                           "maxItems", "minItems", "properties", "required", "minProperties",
                           "maxProperties", "minLength", "maxLength", "pattern", "example",
                           "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum"},
                          at)) {
    return e;
  }
  const json* type = field(s, "type");
  std::string t = type && type->is_string() ? type->get<std::string>() : "";
  for (auto& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const json* props = field(s, "properties");
  if (t == "OBJECT" && props != nullptr && props->is_object() && props->empty()) {
    return invalid("* GenerateContentRequest." + at + ".properties: should be non-empty for OBJECT type\n");
  }
  if (props != nullptr && props->is_object()) {
    for (auto it = props->begin(); it != props->end(); ++it) {
      if (auto e = check_schema(it.value(), at + ".properties[" + it.key() + "].value")) return e;
    }
  }
  if (const json* items = field(s, "items")) {
    if (auto e = check_schema(*items, at + ".items")) return e;
  }
  if (const json* any = field(s, "anyOf"); any != nullptr && any->is_array()) {
    for (std::size_t i = 0; i < any->size(); ++i) {
      if (auto e = check_schema((*any)[i], at + ".any_of[" + std::to_string(i) + "]")) return e;
    }
  }
  return std::nullopt;
}

std::string text_of_parts(const json& content) {
  std::string out;
  if (const json* parts = field(content, "parts"); parts != nullptr && parts->is_array()) {
    for (const auto& p : *parts) {
      const json* t = field(p, "text");
      const json* thought = field(p, "thought");
      if (t && t->is_string() && !(thought && thought->is_boolean() && thought->get<bool>())) {
        out += t->get_ref<const std::string&>();
      }
    }
  }
  return out;
}

std::size_t words_of(const json& content) {
  std::size_t n = 0;
  if (const json* parts = field(content, "parts"); parts != nullptr && parts->is_array()) {
    for (const auto& p : *parts) {
      if (const json* t = field(p, "text"); t && t->is_string()) {
        n += count_words(t->get_ref<const std::string&>());
      }
    }
  }
  return n;
}

// The text a function response carries: its "content"/"output"/"result" string, else its JSON.
std::string function_result_text(const json& fr) {
  const json* resp = field(fr, "response");
  if (resp == nullptr) return {};
  for (const char* k : {"content", "output", "result"}) {
    if (auto it = resp->find(k); it != resp->end() && it->is_string()) return it->get<std::string>();
  }
  return resp->dump();
}

// The signature a gemini-3 model gives its function call to `name` (with '+' and '/' in it, so
// that a gateway which does not carry it byte for byte is caught).
std::string signature_for(std::string_view name) {
  std::string raw = "\xfb\xef\xbe\xff\xff\xff";
  raw += "mocksig:";
  raw += name;
  return base64_encode(raw.data(), raw.size());
}

bool is_gemini3(std::string_view model) { return starts_with(model, "gemini-3"); }

std::vector<float> embedding_for(std::string_view text, std::size_t dims) {
  std::uint64_t state = fnv1a64(text, 0x9e3779b97f4a7c15ULL);
  std::vector<float> v(dims);
  double norm = 0;
  for (auto& x : v) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    x = static_cast<float>(static_cast<double>(z >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    norm += static_cast<double>(x) * x;
  }
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (auto& x : v) x = static_cast<float>(x / norm);
  }
  return v;
}

void append_values(std::string& o, const std::vector<float>& v) {
  o += R"({"values":[)";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) o += ',';
    append_float(o, v[i]);
  }
  o += "]}";
}

// ---- routing ----------------------------------------------------------------------------------

struct Route {
  std::string model;   // "" for the collection
  std::string method;  // "generateContent", ...; "" for GET models
};

// "/v1beta/models/gemini-2.5-flash:generateContent" -> {gemini-2.5-flash, generateContent}.
std::optional<Route> parse_route(std::string_view path) {
  if (!starts_with(path, kPrefix)) return std::nullopt;
  std::string_view rest = path.substr(kPrefix.size());
  Route r;
  if (rest == "models") return r;
  for (std::string_view coll : {"models/", "tunedModels/"}) {
    if (!starts_with(rest, coll)) continue;
    rest.remove_prefix(coll.size());
    auto colon = rest.find(':');
    r.model = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) r.method = std::string(rest.substr(colon + 1));
    if (r.model.empty()) return std::nullopt;
    return r;
  }
  return std::nullopt;
}

std::string_view query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    auto eq = kv.find('=');
    if (kv.substr(0, eq) == name) return eq == std::string_view::npos ? "" : kv.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::optional<Reply> check_key(const ProviderRequest& req) {
  if (req.api_key.empty()) return std::nullopt;
  std::string_view key = req.header("x-goog-api-key");
  if (key.empty()) key = query_param(req.query, "key");
  if (key.empty()) {
    return google_error(403,
                        "Method doesn't allow unregistered callers (callers without established "
                        "identity). Please use API Key or other form of API consumer identity to "
                        "call this API.",
                        "PERMISSION_DENIED");
  }
  if (key != req.api_key) {
    ojson details = error_info("API_KEY_INVALID");
    details.push_back({{"@type", "type.googleapis.com/google.rpc.LocalizedMessage"},
                       {"locale", "en-US"},
                       {"message", "API key not valid. Please pass a valid API key."}});
    return google_error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT",
                        std::move(details));
  }
  return std::nullopt;
}

std::optional<Reply> body_object(const ProviderRequest& req) {
  const ParsedBody& pb = *req.body;
  if (!pb.ok) {
    return invalid(pb.empty ? "Invalid JSON payload received. Unexpected end of string."
                            : "Invalid JSON payload received. " + pb.error);
  }
  if (!pb.json.is_object()) {
    return invalid("Invalid JSON payload received. Expected an object.");
  }
  return std::nullopt;
}

// ---- generateContent ------------------------------------------------------------------------

struct Answer {
  bool blocked = false;
  bool tool_call = false;
  std::string tool_name;
  std::string text;        // text answer, or the tool call's {"echo": ...} arguments
  std::string thought;     // "" when not thinking
  bool include_thoughts = false;
  std::size_t n = 1;
  std::size_t prompt_tokens = 1;
  long long max_output = -1;
};

std::optional<Reply> validate_generate(const json& body, std::string_view model) {
  if (auto e = check_keys(body,
                          {"contents", "systemInstruction", "tools", "toolConfig", "safetySettings",
                           "generationConfig", "cachedContent", "labels", "model"},
                          "")) {
    return e;
  }
  const json* contents = field(body, "contents");
  if (contents == nullptr || !contents->is_array() || contents->empty()) {
    return invalid("* GenerateContentRequest.contents: contents is not specified\n");
  }
  for (std::size_t i = 0; i < contents->size(); ++i) {
    const json& c = (*contents)[i];
    const std::string at = "contents[" + std::to_string(i) + "]";
    if (auto e = check_keys(c, {"role", "parts"}, at)) return e;
    const json* role = field(c, "role");
    if (role != nullptr && !(role->is_string() && (*role == "user" || *role == "model" ||
                                                   *role == "function" || *role == "tool"))) {
      return invalid("Please use a valid role: user, model.");
    }
    const json* parts = field(c, "parts");
    if (parts == nullptr || !parts->is_array() || parts->empty()) {
      return invalid("* GenerateContentRequest." + at + ".parts: contents.parts must not be empty.\n");
    }
    bool first_call = true;
    for (std::size_t k = 0; k < parts->size(); ++k) {
      const json& p = (*parts)[k];
      const std::string pat = at + ".parts[" + std::to_string(k) + "]";
      if (auto e = check_keys(p,
                              {"text", "inlineData", "fileData", "functionCall", "functionResponse",
                               "thought", "thoughtSignature", "executableCode",
                               "codeExecutionResult", "videoMetadata"},
                              pat)) {
        return e;
      }
      if (const json* t = field(p, "text"); t != nullptr && t->is_string() && t->empty()) {
        return invalid("Unable to submit request because it has an empty text parameter. Add a "
                       "value to the parameter and try again.");
      }
      if (const json* fc = field(p, "functionCall")) {
        if (auto e = check_keys(*fc, {"id", "name", "args"}, pat + ".function_call")) return e;
        const json* name = field(*fc, "name");
        if (name == nullptr || !name->is_string() || name->empty()) {
          return invalid("* GenerateContentRequest." + pat + ".function_call.name: Name cannot be empty.\n");
        }
        if (const json* args = field(*fc, "args"); args != nullptr && !args->is_object()) {
          return invalid("Invalid JSON payload received. Unknown type for 'args' at '" + pat +
                         ".function_call': expected an object.");
        }
        if (is_gemini3(model) && first_call) {
          const json* sig = field(p, "thoughtSignature");
          const std::string want = signature_for(name->get<std::string>());
          if (sig == nullptr || !sig->is_string()) {
            return invalid("Function call is missing a thought_signature in functionCall parts. "
                           "This is required for tools to work correctly, and missing "
                           "thought_signature may lead to degraded model performance. Additional "
                           "data, function call `default_api:" + name->get<std::string>() +
                           "` , position " + std::to_string(i + 1) +
                           ". Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures "
                           "for more details.");
          }
          if (*sig != want && *sig != kDummySignature) {
            return invalid("Corrupted thought signature.");
          }
        }
        first_call = false;
      }
      if (const json* fr = field(p, "functionResponse")) {
        if (auto e = check_keys(*fr, {"id", "name", "response", "parts", "willContinue", "scheduling"},
                                pat + ".function_response")) {
          return e;
        }
        const json* name = field(*fr, "name");
        if (name == nullptr || !name->is_string() || name->empty()) {
          return invalid("* GenerateContentRequest." + pat +
                         ".function_response.name: Name cannot be empty.\n");
        }
        const json* resp = field(*fr, "response");
        if (resp == nullptr || !resp->is_object()) {
          return invalid("Invalid JSON payload received. Unknown type for 'response' at '" + pat +
                         ".function_response': expected an object.");
        }
      }
      if (const json* inl = field(p, "inlineData")) {
        if (auto e = check_keys(*inl, {"mimeType", "data"}, pat + ".inline_data")) return e;
        const json* mime = field(*inl, "mimeType");
        if (mime == nullptr || !mime->is_string() || mime->empty()) {
          return invalid("* GenerateContentRequest." + pat + ".inline_data.mime_type: mime_type is required.\n");
        }
      }
      if (const json* fd = field(p, "fileData")) {
        if (auto e = check_keys(*fd, {"mimeType", "fileUri", "displayName"}, pat + ".file_data")) return e;
      }
    }
  }
  if (const json* si = field(body, "systemInstruction")) {
    if (auto e = check_keys(*si, {"role", "parts"}, "system_instruction")) return e;
  }
  if (const json* gc = field(body, "generationConfig")) {
    if (auto e = check_keys(*gc,
                            {"temperature", "topP", "topK", "candidateCount", "maxOutputTokens",
                             "stopSequences", "seed", "presencePenalty", "frequencyPenalty",
                             "responseMimeType", "responseSchema", "responseJsonSchema",
                             "responseModalities", "responseLogprobs", "logprobs", "mediaResolution",
                             "speechConfig", "thinkingConfig", "enableEnhancedCivicAnswers",
                             "imageConfig"},
                            "generation_config")) {
      return e;
    }
    if (const json* tc = field(*gc, "thinkingConfig")) {
      if (auto e = check_keys(*tc, {"thinkingBudget", "includeThoughts", "thinkingLevel"},
                              "generation_config.thinking_config")) {
        return e;
      }
    }
    if (const json* cc = field(*gc, "candidateCount")) {
      if (!cc->is_number_integer() || cc->get<long long>() < 1 || cc->get<long long>() > 8) {
        return invalid("* GenerateContentRequest.generation_config.candidate_count: must be in the range [1, 8].\n");
      }
    }
    if (const json* mime = field(*gc, "responseMimeType"); mime != nullptr) {
      if (!(*mime == "text/plain" || *mime == "application/json" || *mime == "text/x.enum")) {
        return invalid("* GenerateContentRequest.generation_config.response_mime_type: allowed "
                       "mimetypes are `text/plain`, `application/json`, `application/xml`, "
                       "`application/yaml` and `text/x.enum`.\n");
      }
    }
  }
  if (const json* tools = field(body, "tools")) {
    if (!tools->is_array()) return invalid("Invalid JSON payload received. 'tools' must be a list.");
    for (std::size_t i = 0; i < tools->size(); ++i) {
      const json& t = (*tools)[i];
      const std::string at = "tools[" + std::to_string(i) + "]";
      if (auto e = check_keys(t,
                              {"functionDeclarations", "googleSearch", "googleSearchRetrieval",
                               "codeExecution", "urlContext", "computerUse", "fileSearch",
                               "googleMaps"},
                              at)) {
        return e;
      }
      if (const json* decls = field(t, "functionDeclarations"); decls != nullptr && decls->is_array()) {
        for (std::size_t d = 0; d < decls->size(); ++d) {
          const json& fd = (*decls)[d];
          const std::string dat = at + ".function_declarations[" + std::to_string(d) + "]";
          if (auto e = check_keys(fd,
                                  {"name", "description", "parameters", "parametersJsonSchema",
                                   "response", "responseJsonSchema", "behavior"},
                                  dat)) {
            return e;
          }
          const json* name = field(fd, "name");
          if (name == nullptr || !name->is_string() || name->empty()) {
            return invalid("* GenerateContentRequest." + dat + ".name: Name cannot be empty.\n");
          }
          if (const json* params = field(fd, "parameters")) {
            if (auto e = check_schema(*params, dat + ".parameters")) return e;
          }
        }
      }
    }
  }
  if (const json* tc = field(body, "toolConfig")) {
    if (auto e = check_keys(*tc, {"functionCallingConfig", "retrievalConfig"}, "tool_config")) return e;
    if (const json* fcc = field(*tc, "functionCallingConfig")) {
      if (auto e = check_keys(*fcc, {"mode", "allowedFunctionNames", "streamFunctionCallArguments"},
                              "tool_config.function_calling_config")) {
        return e;
      }
      const json* mode = field(*fcc, "mode");
      std::string m = mode && mode->is_string() ? mode->get<std::string>() : "AUTO";
      if (m != "AUTO" && m != "ANY" && m != "NONE" && m != "VALIDATED" && m != "MODE_UNSPECIFIED") {
        return invalid("Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/"
                       "google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"" + m + "\"");
      }
      if (field(*fcc, "allowedFunctionNames") != nullptr && m != "ANY" && m != "VALIDATED") {
        return invalid("* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: "
                       "allowed_function_names should only be set when the Mode is ANY or VALIDATED.\n");
      }
    }
  }
  return std::nullopt;
}

Answer decide(const json& body, std::size_t events) {
  Answer a;
  const json& contents = *field(body, "contents");
  std::size_t words = 0;
  for (const auto& c : contents) words += words_of(c);
  if (const json* si = field(body, "systemInstruction")) words += words_of(*si);
  a.prompt_tokens = std::max<std::size_t>(1, words);

  // The last user turn's text, and whether the last turn is a function result.
  std::string user_text;
  for (auto it = contents.rbegin(); it != contents.rend(); ++it) {
    const json* role = field(*it, "role");
    if (role != nullptr && *role == "model") continue;
    std::string t = text_of_parts(*it);
    if (!t.empty()) {
      user_text = std::move(t);
      break;
    }
  }
  const json& last = contents.back();
  const json* last_role = field(last, "role");
  const bool last_is_user = last_role == nullptr || *last_role != "model";
  const json* tool_result = nullptr;
  if (const json* parts = field(last, "parts"); last_is_user && parts && parts->is_array()) {
    for (const auto& p : *parts) {
      if (const json* fr = field(p, "functionResponse")) tool_result = fr;
    }
  }

  const json* gc = field(body, "generationConfig");
  if (gc != nullptr) {
    if (const json* cc = field(*gc, "candidateCount"); cc && cc->is_number_integer()) {
      a.n = static_cast<std::size_t>(cc->get<long long>());
    }
    if (const json* mo = field(*gc, "maxOutputTokens"); mo && mo->is_number_integer()) {
      a.max_output = mo->get<long long>();
    }
  }

  if (tool_result == nullptr && user_text.find("BLOCKME") != std::string::npos) {
    a.blocked = true;
    return a;
  }

  // Tools: the first declared function, or the only one allowed under mode ANY.
  std::string first_fn;
  if (const json* tools = field(body, "tools"); tools && tools->is_array()) {
    for (const auto& t : *tools) {
      const json* decls = field(t, "functionDeclarations");
      if (decls && decls->is_array() && !decls->empty()) {
        first_fn = (*decls)[0].value("name", "");
        break;
      }
    }
  }
  std::string mode = "AUTO";
  const json* allowed = nullptr;
  if (const json* tc = field(body, "toolConfig")) {
    if (const json* fcc = field(*tc, "functionCallingConfig")) {
      if (const json* m = field(*fcc, "mode"); m && m->is_string()) mode = m->get<std::string>();
      allowed = field(*fcc, "allowedFunctionNames");
    }
  }
  if (!first_fn.empty() && mode != "NONE" && last_is_user && tool_result == nullptr) {
    a.tool_call = true;
    a.tool_name = allowed && allowed->is_array() && !allowed->empty() && (*allowed)[0].is_string()
                      ? (*allowed)[0].get<std::string>()
                      : first_fn;
    a.text = R"({"echo":)";
    append_json_string(a.text, user_text);
    a.text += '}';
  } else if (tool_result != nullptr) {
    a.text = "mock: tool said " + function_result_text(*tool_result);
  } else {
    a.text = "mock: " + user_text;
  }

  if (gc != nullptr) {
    if (const json* tc = field(*gc, "thinkingConfig")) {
      const json* budget = field(*tc, "thinkingBudget");
      const bool off = budget && budget->is_number_integer() && budget->get<long long>() == 0 &&
                       field(*tc, "thinkingLevel") == nullptr;
      if (!off) {
        a.thought = "Thinking about: " + (tool_result ? std::string("the tool result") : user_text);
        const json* inc = field(*tc, "includeThoughts");
        a.include_thoughts = inc && inc->is_boolean() && inc->get<bool>();
      }
    }
  }
  (void)events;
  return a;
}

ojson usage_metadata(std::size_t prompt, std::size_t candidates, std::size_t thoughts) {
  ojson u = ojson::object();
  u["promptTokenCount"] = prompt;
  if (candidates > 0) u["candidatesTokenCount"] = candidates;
  u["totalTokenCount"] = prompt + candidates + thoughts;
  u["promptTokensDetails"] = ojson::array({{{"modality", "TEXT"}, {"tokenCount", prompt}}});
  if (thoughts > 0) u["thoughtsTokenCount"] = thoughts;
  return u;
}

std::string response_id(std::uint64_t seq) {
  std::string id = "mockResp";
  append_uint(id, seq);
  return id;
}

ojson envelope(ojson candidates, ojson usage, std::string_view model, std::uint64_t seq) {
  ojson r = ojson::object();
  if (!candidates.is_null()) r["candidates"] = std::move(candidates);
  r["usageMetadata"] = std::move(usage);
  r["modelVersion"] = model;
  r["responseId"] = response_id(seq);
  return r;
}

ojson blocked_feedback() {
  return {{"blockReason", "SAFETY"},
          {"safetyRatings",
           ojson::array({{{"category", "HARM_CATEGORY_DANGEROUS_CONTENT"}, {"probability", "HIGH"}},
                         {{"category", "HARM_CATEGORY_HARASSMENT"}, {"probability", "NEGLIGIBLE"}}})}};
}

// A part list with one part per candidate-independent piece.
ojson candidate(std::size_t index, ojson parts, std::string_view finish) {
  ojson c = ojson::object();
  c["content"] = {{"parts", std::move(parts)}, {"role", "model"}};
  if (!finish.empty()) c["finishReason"] = finish;
  c["index"] = index;
  return c;
}

ojson call_part(const Answer& a, std::string_view model) {
  ojson part = {{"functionCall", {{"name", a.tool_name}, {"args", ojson::parse(a.text)}}}};
  if (is_gemini3(model)) part["thoughtSignature"] = signature_for(a.tool_name);
  return part;
}

// SSE framing with CRLF line ends (Google's front ends do), or the JSON-array framing.
void add_event(Reply& r, bool sse, const ojson& j) {
  std::string e;
  const std::string payload = dump(j);
  if (sse) {
    e.reserve(payload.size() + 10);
    e += "data: ";
    e += payload;
    e += "\r\n\r\n";
  } else {
    e += r.events.empty() ? "[" : ",\r\n";
    e += payload;
  }
  r.events.push_back(std::move(e));
}

Reply generate(const ProviderRequest& req, const Route& route, bool stream) {
  if (auto e = body_object(req)) return std::move(*e);
  const json& body = req.body->json;
  if (auto e = validate_generate(body, route.model)) return std::move(*e);
  const Answer a = decide(body, req.events);
  const std::string& model = route.model;

  std::vector<std::string_view> pieces = split_code_points(a.text, req.events);
  std::string_view finish = "STOP";
  if (!a.tool_call && a.max_output >= 0 && static_cast<std::size_t>(a.max_output) < pieces.size()) {
    pieces.resize(static_cast<std::size_t>(std::max<long long>(a.max_output, 1)));
    finish = "MAX_TOKENS";
  }
  const std::vector<std::string_view> thought_pieces =
      a.thought.empty() ? std::vector<std::string_view>{} : split_code_points(a.thought, req.events);
  const std::size_t thoughts = thought_pieces.size() * a.n;
  const std::size_t completion = a.blocked ? 0 : pieces.size() * a.n;

  if (!stream) {
    Reply r;
    r.content_type = std::string(kContentType);
    if (a.blocked) {
      ojson out = ojson::object();
      out["promptFeedback"] = blocked_feedback();
      out["usageMetadata"] = usage_metadata(a.prompt_tokens, 0, 0);
      out["modelVersion"] = model;
      out["responseId"] = response_id(req.seq);
      r.body = dump(out);
      return r;
    }
    ojson cands = ojson::array();
    for (std::size_t c = 0; c < a.n; ++c) {
      ojson parts = ojson::array();
      if (a.include_thoughts) parts.push_back({{"text", a.thought}, {"thought", true}});
      if (a.tool_call) {
        parts.push_back(call_part(a, model));
      } else {
        std::string text;
        for (auto p : pieces) text += p;
        parts.push_back({{"text", text}});
      }
      cands.push_back(candidate(c, std::move(parts), finish));
    }
    r.body = dump(envelope(std::move(cands), usage_metadata(a.prompt_tokens, completion, thoughts),
                           model, req.seq));
    return r;
  }

  const bool sse = query_param(req.query, "alt") == "sse";
  Reply r;
  r.stream = true;
  r.raw_framing = true;
  r.content_type = sse ? "text/event-stream" : std::string(kContentType);
  r.stream_end = sse ? "" : "]";
  {
    ojson err = {{"error",
                  {{"code", 500},
                   {"message", "mock mid-stream error"},
                   {"status", "INTERNAL"}}}};
    r.mid_stream_error = sse ? "data: " + dump(err) + "\r\n\r\n" : ",\r\n" + dump(err);
  }
  if (a.blocked) {
    ojson out = ojson::object();
    out["promptFeedback"] = blocked_feedback();
    out["usageMetadata"] = usage_metadata(a.prompt_tokens, 0, 0);
    out["modelVersion"] = model;
    out["responseId"] = response_id(req.seq);
    add_event(r, sse, out);
    return r;
  }
  // Usage so far on every event; the last one is complete.
  std::size_t thoughts_so_far = 0;
  if (a.include_thoughts) {
    for (auto piece : thought_pieces) {
      thoughts_so_far += a.n;
      ojson cands = ojson::array();
      for (std::size_t c = 0; c < a.n; ++c) {
        cands.push_back(candidate(c, ojson::array({{{"text", piece}, {"thought", true}}}), ""));
      }
      add_event(r, sse, envelope(std::move(cands), usage_metadata(a.prompt_tokens, 0, thoughts_so_far),
                                 model, req.seq));
    }
  }
  if (a.tool_call) {
    ojson cands = ojson::array();
    for (std::size_t c = 0; c < a.n; ++c) {
      cands.push_back(candidate(c, ojson::array({call_part(a, model)}), "STOP"));
    }
    add_event(r, sse, envelope(std::move(cands), usage_metadata(a.prompt_tokens, completion, thoughts),
                               model, req.seq));
    return r;
  }
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const bool last = i + 1 == pieces.size();
    ojson cands = ojson::array();
    for (std::size_t c = 0; c < a.n; ++c) {
      cands.push_back(candidate(c, ojson::array({{{"text", pieces[i]}}}), last ? finish : ""));
    }
    add_event(r, sse, envelope(std::move(cands),
                               usage_metadata(a.prompt_tokens, (i + 1) * a.n, thoughts), model,
                               req.seq));
  }
  return r;
}

// ---- countTokens, embeddings, models ---------------------------------------------------------

Reply count_tokens(const ProviderRequest& req) {
  if (auto e = body_object(req)) return std::move(*e);
  const json& body = req.body->json;
  if (auto e = check_keys(body, {"contents", "generateContentRequest"}, "")) return std::move(*e);
  const json* contents = field(body, "contents");
  std::size_t words = 0;
  if (const json* gcr = field(body, "generateContentRequest")) {
    contents = field(*gcr, "contents");
    if (const json* si = field(*gcr, "systemInstruction")) words += words_of(*si);
  }
  if (contents == nullptr || !contents->is_array()) {
    return invalid("* CountTokensRequest.contents: contents is not specified\n");
  }
  for (const auto& c : *contents) words += words_of(c);
  ojson out = {{"totalTokens", words},
               {"promptTokensDetails", ojson::array({{{"modality", "TEXT"}, {"tokenCount", words}}})}};
  Reply r;
  r.content_type = std::string(kContentType);
  r.body = dump(out);
  return r;
}

// Text and dimensions of one EmbedContentRequest; an error reply when it is not valid.
std::optional<Reply> read_embed(const json& r, const std::string& at, std::string& text,
                                std::size_t& dims) {
  if (auto e = check_keys(r, {"model", "content", "taskType", "title", "outputDimensionality"}, at)) {
    return e;
  }
  const json* content = field(r, "content");
  if (content == nullptr || !content->is_object()) {
    return invalid("* " + at + ".content: content is not specified\n");
  }
  text = text_of_parts(*content);
  if (text.empty()) {
    return invalid("* " + at + ".content.parts: contents.parts must not be empty.\n");
  }
  dims = kDefaultDims;
  if (const json* d = field(r, "outputDimensionality")) {
    if (!d->is_number_integer() || d->get<long long>() < 1 || d->get<long long>() > 3072) {
      return invalid("* " + at + ".output_dimensionality: must be in the range [1, 3072].\n");
    }
    dims = static_cast<std::size_t>(d->get<long long>());
  }
  return std::nullopt;
}

Reply embed_content(const ProviderRequest& req) {
  if (auto e = body_object(req)) return std::move(*e);
  std::string text;
  std::size_t dims = 0;
  if (auto e = read_embed(req.body->json, "EmbedContentRequest", text, dims)) return std::move(*e);
  Reply r;
  r.content_type = std::string(kContentType);
  r.body = R"({"embedding":)";
  append_values(r.body, embedding_for(text, dims));
  r.body += '}';
  return r;
}

Reply batch_embed(const ProviderRequest& req, const Route& route) {
  if (auto e = body_object(req)) return std::move(*e);
  const json& body = req.body->json;
  if (auto e = check_keys(body, {"requests"}, "")) return std::move(*e);
  const json* requests = field(body, "requests");
  if (requests == nullptr || !requests->is_array() || requests->empty()) {
    return invalid("* BatchEmbedContentsRequest.requests: requests is not specified\n");
  }
  const std::string want = "models/" + route.model;
  Reply r;
  r.content_type = std::string(kContentType);
  r.body = R"({"embeddings":[)";
  for (std::size_t i = 0; i < requests->size(); ++i) {
    const std::string at = "BatchEmbedContentsRequest.requests[" + std::to_string(i) + "]";
    const json& one = (*requests)[i];
    const json* m = field(one, "model");
    if (m == nullptr || !m->is_string() || *m != want) {
      return invalid("* " + at + ".model: model is required and must be the same as the model in "
                     "the URL (" + want + ").\n");
    }
    std::string text;
    std::size_t dims = 0;
    if (auto e = read_embed(one, at, text, dims)) return std::move(*e);
    if (i > 0) r.body += ',';
    append_values(r.body, embedding_for(text, dims));
  }
  r.body += "]}";
  return r;
}

struct ModelInfo {
  std::string_view id;
  std::string_view display;
  bool embedding;
};
constexpr ModelInfo kModels[] = {
    {"gemini-2.5-flash", "Gemini 2.5 Flash", false},
    {"gemini-2.5-pro", "Gemini 2.5 Pro", false},
    {"gemini-3-pro-preview", "Gemini 3 Pro Preview", false},
    {"gemini-embedding-001", "Gemini Embedding 001", true},
};

ojson model_json(std::string_view id, std::string_view display, bool embedding) {
  ojson m = ojson::object();
  m["name"] = "models/" + std::string(id);
  m["version"] = "001";
  m["displayName"] = display;
  m["description"] = "Mock " + std::string(display);
  m["inputTokenLimit"] = embedding ? 2048 : 1048576;
  m["outputTokenLimit"] = embedding ? 1 : 65536;
  m["supportedGenerationMethods"] =
      embedding ? ojson::array({"embedContent", "countTextTokens", "countTokens"})
                : ojson::array({"generateContent", "countTokens", "createCachedContent",
                                "batchGenerateContent"});
  if (!embedding) {
    m["temperature"] = 1;
    m["topP"] = 0.95;
    m["topK"] = 64;
    m["maxTemperature"] = 2;
    m["thinking"] = true;
  }
  return m;
}

Reply list_models() {
  ojson arr = ojson::array();
  for (const auto& m : kModels) arr.push_back(model_json(m.id, m.display, m.embedding));
  Reply r;
  r.content_type = std::string(kContentType);
  r.body = dump(ojson{{"models", std::move(arr)}});
  return r;
}

Reply get_model(std::string_view id) {
  for (const auto& m : kModels) {
    if (m.id == id) {
      Reply r;
      r.content_type = std::string(kContentType);
      r.body = dump(model_json(m.id, m.display, m.embedding));
      return r;
    }
  }
  if (starts_with(id, "missing")) {
    return google_error(404, "models/" + std::string(id) + " is not found for API version v1beta");
  }
  Reply r;
  r.content_type = std::string(kContentType);
  r.body = dump(model_json(id, id, id.find("embedding") != std::string_view::npos));
  return r;
}

Reply handle(const ProviderRequest& req) {
  auto route = parse_route(req.path);
  if (!route) return google_error(404, "Method not found.", "NOT_FOUND");
  if (auto denied = check_key(req)) return std::move(*denied);
  if (route->method.empty()) {
    if (req.method != "GET") return google_error(404, "Method not found.", "NOT_FOUND");
    return route->model.empty() ? list_models() : get_model(route->model);
  }
  if (req.method != "POST") return google_error(404, "Method not found.", "NOT_FOUND");
  const std::string& method = route->method;
  const bool known = method == "generateContent" || method == "streamGenerateContent" ||
                     method == "countTokens" || method == "embedContent" ||
                     method == "batchEmbedContents";
  if (!known) return google_error(404, "Method not found.", "NOT_FOUND");
  if (starts_with(route->model, "missing")) return model_not_found(route->model, method);
  if (method == "generateContent") return generate(req, *route, false);
  if (method == "streamGenerateContent") return generate(req, *route, true);
  if (method == "countTokens") return count_tokens(req);
  if (method == "embedContent") return embed_content(req);
  return batch_embed(req, *route);
}

std::string retry_delay(const Fault& f) {
  char buf[32];
  if (f.retry_after_ms >= 0) {
    std::snprintf(buf, sizeof buf, "%.3fs", f.retry_after_ms / 1000.0);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%llds", f.retry_after >= 0 ? f.retry_after : 1LL);
  return buf;
}

Reply fault_reply(const Fault& f, std::string_view model) {
  const int st = f.status;
  const std::string m = model.empty() ? std::string("gemini-2.5-flash") : std::string(model);
  std::string message;
  ojson details = nullptr;
  switch (st) {
    case 400: message = "Mock fault: invalid request."; break;
    case 401:
      message = "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential.";
      break;
    case 403: message = "The caller does not have permission"; break;
    case 404:
      message = "models/" + m + " is not found for API version v1beta, or is not supported for "
                "generateContent. Call ListModels to see the list of available models and their "
                "supported methods.";
      break;
    case 429:
      message = "You exceeded your current quota, please check your plan and billing details. For "
                "more information on this error, head to: https://ai.google.dev/gemini-api/docs/"
                "rate-limits.";
      details = ojson::array(
          {{{"@type", "type.googleapis.com/google.rpc.QuotaFailure"},
            {"violations",
             ojson::array({{{"quotaMetric",
                             "generativelanguage.googleapis.com/generate_content_free_tier_requests"},
                            {"quotaId", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"},
                            {"quotaDimensions", {{"location", "global"}, {"model", m}}},
                            {"quotaValue", "10"}}})}},
           {{"@type", "type.googleapis.com/google.rpc.Help"},
            {"links", ojson::array({{{"description", "Learn more about Gemini API quotas"},
                                     {"url", "https://ai.google.dev/gemini-api/docs/rate-limits"}}})}},
           {{"@type", "type.googleapis.com/google.rpc.RetryInfo"}, {"retryDelay", retry_delay(f)}}});
      break;
    case 500:
      message = "An internal error has occurred. Please retry or report in "
                "https://developers.generativeai.google/guide/troubleshooting";
      break;
    case 503: message = "The model is overloaded. Please try again later."; break;
    case 504: message = "Deadline expired before operation could complete."; break;
    default: message = "Mock fault: HTTP " + std::to_string(st) + "."; break;
  }
  if (f.message) message = *f.message;
  if (f.code && f.code->is_string()) {  // a google.rpc.ErrorInfo reason, e.g. API_KEY_INVALID
    ojson info = error_info(f.code->get<std::string>());
    if (details.is_null()) details = std::move(info);
    else details.push_back(info[0]);
  }
  Reply r = google_error(st, message, f.type ? std::string_view(*f.type) : std::string_view(),
                         std::move(details));
  if (st == 502 && !f.body) {  // Google's front end answers a 502 with an HTML page
    r.content_type = "text/html; charset=UTF-8";
    r.body = "<!DOCTYPE html>\n<html lang=en>\n<title>Error 502 (Server Error)!!1</title>\n"
             "<p><b>502.</b> <ins>That's an error.</ins>\n<p>The server encountered a temporary "
             "error and could not complete your request.<p>Please try again in 30 seconds.  "
             "<ins>That's all we know.</ins>\n";
  }
  if (st == 429) r.rate = RateLimitHeaders::Exhausted;
  if (f.retry_after >= 0) r.extra_headers.emplace_back("retry-after", std::to_string(f.retry_after));
  if (f.body) r.body = *f.body;
  for (const auto& h : f.headers) r.extra_headers.push_back(h);
  return r;
}

std::string model_of(const ProviderRequest& req) {
  auto route = parse_route(req.path);
  return route ? route->model : std::string();
}

const ProviderMock& build() {
  static const ProviderMock mock{
      "gemini",
      [](std::string_view path) { return starts_with(path, kPrefix); },
      model_of,
      handle,
      fault_reply,
  };
  return mock;
}

const bool kRegistered = register_provider_mock(build());

}  // namespace

const ProviderMock& gemini_provider_mock() {
  (void)kRegistered;
  return build();
}

}  // namespace tollgate::mock
