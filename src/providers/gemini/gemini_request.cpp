// OpenAI chat/embeddings requests -> Gemini GenerateContentRequest / BatchEmbedContentsRequest.

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_map>

#include "gemini_internal.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers::gemini {
namespace {

constexpr std::string_view kDummySignature = "skip_thought_signature_validator";

void add_dropped(std::vector<std::string>& dropped, std::string name) {
  if (std::find(dropped.begin(), dropped.end(), name) == dropped.end()) {
    dropped.push_back(std::move(name));
  }
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The mime type of a URL or file name, from its extension ("" when unknown).
std::string_view mime_from_name(std::string_view name) {
  auto q = name.find_first_of("?#");
  if (q != std::string_view::npos) name = name.substr(0, q);
  auto dot = name.rfind('.');
  auto slash = name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return {};
  std::string ext = lower(name.substr(dot + 1));
  static const std::array<std::pair<std::string_view, std::string_view>, 22> kTypes = {{
      {"png", "image/png"},        {"jpg", "image/jpeg"},       {"jpeg", "image/jpeg"},
      {"webp", "image/webp"},      {"gif", "image/gif"},        {"heic", "image/heic"},
      {"heif", "image/heif"},      {"pdf", "application/pdf"},  {"txt", "text/plain"},
      {"md", "text/md"},           {"html", "text/html"},       {"csv", "text/csv"},
      {"mp3", "audio/mp3"},        {"wav", "audio/wav"},        {"ogg", "audio/ogg"},
      {"flac", "audio/flac"},      {"aac", "audio/aac"},        {"m4a", "audio/m4a"},
      {"mp4", "video/mp4"},        {"mov", "video/mov"},        {"webm", "video/webm"},
      {"mpeg", "video/mpeg"},
  }};
  for (const auto& [e, m] : kTypes) {
    if (ext == e) return m;
  }
  return {};
}

// "data:<mime>;base64,<data>" -> inlineData; nullopt when not a base64 data URL.
std::optional<json> inline_data_from_data_url(std::string_view url) {
  if (!starts_with(url, "data:")) return std::nullopt;
  auto comma = url.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  std::string_view meta = url.substr(5, comma - 5);
  if (!ends_with(meta, ";base64")) return std::nullopt;
  std::string_view mime = meta.substr(0, meta.size() - 7);
  if (auto semi = mime.find(';'); semi != std::string_view::npos) mime = mime.substr(0, semi);
  if (mime.empty()) mime = "application/octet-stream";
  return json{{"inlineData", {{"mimeType", mime}, {"data", url.substr(comma + 1)}}}};
}

// An image/file URL -> an inlineData (data URL) or fileData (http(s), gs://, Files API) part.
std::optional<json> media_part(std::string_view url, std::string_view name_hint,
                               std::string_view default_mime) {
  if (starts_with(url, "data:")) return inline_data_from_data_url(url);
  if (starts_with(url, "https://") || starts_with(url, "http://") || starts_with(url, "gs://") ||
      starts_with(url, "files/")) {
    std::string_view mime = mime_from_name(url);
    if (mime.empty() && !name_hint.empty()) mime = mime_from_name(name_hint);
    if (mime.empty()) mime = default_mime;
    return json{{"fileData", {{"mimeType", mime}, {"fileUri", url}}}};
  }
  return std::nullopt;
}

// Text of an OpenAI content (string, or the text parts of an array).
std::string content_text(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array()) {
    for (const auto& p : content) {
      if (const auto* t = string_at(p, "text")) out += *t;
      else if (const auto* r = string_at(p, "refusal")) out += *r;
    }
  }
  return out;
}

// Appends the Gemini parts of a user message's content.
void user_parts(const json& content, json& parts, std::vector<std::string>& dropped) {
  if (content.is_string()) {
    if (!content.get_ref<const std::string&>().empty()) parts.push_back({{"text", content}});
    return;
  }
  if (!content.is_array()) return;
  for (const auto& p : content) {
    if (p.is_string()) {  // tolerated: an array of plain strings
      parts.push_back({{"text", p}});
      continue;
    }
    const std::string* type = string_at(p, "type");
    if (type == nullptr) continue;
    if (*type == "text") {
      if (const auto* t = string_at(p, "text"); t != nullptr && !t->empty()) {
        parts.push_back({{"text", *t}});
      }
    } else if (*type == "image_url") {
      const json* iu = p.contains("image_url") ? &p["image_url"] : nullptr;
      const std::string* url = nullptr;
      if (iu != nullptr && iu->is_string()) url = &iu->get_ref<const std::string&>();
      else if (iu != nullptr) url = string_at(*iu, "url");
      std::optional<json> part = url ? media_part(*url, "", "image/jpeg") : std::nullopt;
      if (part) {
        parts.push_back(std::move(*part));
        if (const auto* d = iu->is_object() ? string_at(*iu, "detail") : nullptr;
            d != nullptr && *d != "auto") {
          add_dropped(dropped, "messages.content.image_url.detail");
        }
      } else {
        add_dropped(dropped, "messages.content.image_url");
      }
    } else if (*type == "input_audio") {
      const json& a = member(p, "input_audio");
      const std::string* data = string_at(a, "data");
      const std::string* fmt = string_at(a, "format");
      if (data != nullptr) {
        std::string mime = "audio/" + (fmt ? lower(*fmt) : std::string("wav"));
        parts.push_back({{"inlineData", {{"mimeType", mime}, {"data", *data}}}});
      } else {
        add_dropped(dropped, "messages.content.input_audio");
      }
    } else if (*type == "file") {
      const json& f = member(p, "file");
      const std::string* data = string_at(f, "file_data");
      const std::string* id = string_at(f, "file_id");
      const std::string* name = string_at(f, "filename");
      std::string_view hint = name ? std::string_view(*name) : std::string_view();
      std::optional<json> part;
      if (data != nullptr) {
        if (starts_with(*data, "data:")) {
          part = inline_data_from_data_url(*data);
        } else {  // bare base64
          std::string_view mime = mime_from_name(hint);
          part = json{{"inlineData",
                       {{"mimeType", mime.empty() ? "application/pdf" : mime}, {"data", *data}}}};
        }
      } else if (id != nullptr) {
        part = media_part(*id, hint, "application/pdf");
      }
      if (part) parts.push_back(std::move(*part));
      else add_dropped(dropped, "messages.content.file");
    } else {
      add_dropped(dropped, "messages.content." + *type);
    }
  }
}

// A tool result's content -> functionResponse.response (always an object).
json tool_response(const json& content) {
  std::string text = content_text(content);
  json parsed = json_scan::parse(text);
  if (parsed.is_object()) return parsed;
  return json{{"content", std::move(text)}};
}

json function_args(const json& fn) {
  const std::string* args = string_at(fn, "arguments");
  if (args == nullptr) {
    auto it = fn.find("arguments");
    if (it != fn.end() && it->is_object()) return *it;  // tolerated: an object
    return json::object();
  }
  if (args->find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  json parsed = json_scan::parse(*args);
  if (parsed.is_object()) return parsed;
  return json{{"arguments", *args}};  // not an object: keep the text rather than lose it
}

// The thought signature of an OpenAI tool call: in its id (our own encoding), or in the fields
// other gateways use (extra_content.google.thought_signature, function.thought_signature).
std::string call_signature(const json& call) {
  if (const auto* id = string_at(call, "id")) {
    std::string sig = signature_from_id(*id);
    if (!sig.empty()) return sig;
  }
  if (auto ec = call.find("extra_content"); ec != call.end() && ec->is_object()) {
    if (auto g = ec->find("google"); g != ec->end()) {
      if (const auto* s = string_at(*g, "thought_signature")) return *s;
    }
  }
  if (const auto* s = string_at(call, "thought_signature")) return *s;
  if (auto fn = call.find("function"); fn != call.end()) {
    if (const auto* s = string_at(*fn, "thought_signature")) return *s;
  }
  return {};
}

// Builds `contents` with consecutive same-role turns merged.
class Contents {
 public:
  void add(std::string_view role, json part) {
    if (contents_.empty() || last_role_ != role) {
      contents_.push_back({{"role", role}, {"parts", json::array()}});
      last_role_ = std::string(role);
    }
    contents_.back()["parts"].push_back(std::move(part));
  }
  json take() { return std::move(contents_); }

 private:
  json contents_ = json::array();
  std::string last_role_;
};

void response_format(const json& rf, std::vector<std::string>& dropped, json& gen) {
  const std::string* type = string_at(rf, "type");
  if (type == nullptr || *type == "text") return;
  if (*type == "json_object") {
    gen["responseMimeType"] = "application/json";
  } else if (*type == "json_schema") {
    gen["responseMimeType"] = "application/json";
    const json& js = member(rf, "json_schema");
    if (auto s = js.find("schema"); s != js.end() && s->is_object()) {
      gen["responseJsonSchema"] = *s;  // full JSON Schema: no cleaning needed
    }
  } else {
    add_dropped(dropped, "response_format");
  }
}

// tool_choice -> toolConfig.functionCallingConfig; may restrict the declarations (allowed_tools).
void tool_choice(const json& tc, json& out, json* declarations, std::vector<std::string>& dropped) {
  json fcc;
  if (tc.is_string()) {
    const auto& s = tc.get_ref<const std::string&>();
    if (s == "auto") fcc["mode"] = "AUTO";
    else if (s == "none") fcc["mode"] = "NONE";
    else if (s == "required") fcc["mode"] = "ANY";
    else add_dropped(dropped, "tool_choice");
  } else if (tc.is_object()) {
    const std::string* type = string_at(tc, "type");
    if (type != nullptr && *type == "function") {
      const std::string* name = string_at(member(tc, "function"), "name");
      if (name != nullptr) {
        fcc["mode"] = "ANY";
        fcc["allowedFunctionNames"] = json::array({*name});
      } else {
        add_dropped(dropped, "tool_choice");
      }
    } else if (type != nullptr && *type == "allowed_tools") {
      const json& at = member(tc, "allowed_tools");
      std::vector<std::string> names;
      const json& allowed = member(at, "tools");
      for (const auto& t : allowed.is_array() ? allowed : json::array()) {
        if (const auto* n = string_at(member(t, "function"), "name")) {
          names.push_back(*n);
        }
      }
      const std::string* mode = string_at(at, "mode");
      if (mode != nullptr && *mode == "required") {
        fcc["mode"] = "ANY";
        fcc["allowedFunctionNames"] = names;
      } else {
        // AUTO cannot take allowedFunctionNames: offer only the allowed declarations instead.
        fcc["mode"] = "AUTO";
        if (declarations != nullptr) {
          json kept = json::array();
          for (auto& d : *declarations) {
            const std::string* n = string_at(d, "name");
            if (n && std::find(names.begin(), names.end(), *n) != names.end()) {
              kept.push_back(std::move(d));
            }
          }
          *declarations = std::move(kept);
        }
      }
    } else {
      add_dropped(dropped, "tool_choice");
    }
  }
  if (!fcc.is_null()) out["toolConfig"] = {{"functionCallingConfig", std::move(fcc)}};
}

// ---- JSON schema cleaning -----------------------------------------------------------------

bool allowed_format(std::string_view type, std::string_view format) {
  if (type == "string") return format == "enum" || format == "date-time";
  if (type == "number") return format == "float" || format == "double";
  if (type == "integer") return format == "int32" || format == "int64";
  return false;
}

class SchemaCleaner {
 public:
  SchemaCleaner(const json& root, std::vector<std::string>& dropped, SchemaBudget& budget)
      : root_(root), dropped_(dropped), budget_(budget) {}

  json clean(const json& s, int depth = 0) {
    if (!s.is_object()) return s;
    if (depth > 24) return json{{"type", "object"}};  // a recursive $ref: stop unrolling
    if (const auto* ref = string_at(s, "$ref")) {
      const json* target = resolve(*ref);
      if (target == nullptr) {
        add_dropped(dropped_, "tools.parameters.$ref");
        return json{{"type", "object"}};
      }
      // Inlining costs about the target's size: paid from the request's budget, so that
      // recursive $refs (six {"$ref":"#"} unroll as 6^depth) cannot multiply a small body.
      const size_t cost = size_of(*target);
      if (budget_.expanded_bytes < cost) {
        add_dropped(dropped_, "tools.parameters.$ref");  // the unrolling was cut short here
        return json{{"type", "object"}};
      }
      budget_.expanded_bytes -= cost;
      json out = clean(*target, depth + 1);  // cleaned in place: the target is not copied
      if (s.size() > 1 && out.is_object()) {
        // Siblings of $ref (description...) override the target's members.
        json siblings = json::object();
        for (auto it = s.begin(); it != s.end(); ++it) {
          if (it.key() != "$ref") siblings[it.key()] = it.value();
        }
        json cleaned = clean(siblings, depth + 1);
        for (auto it = cleaned.begin(); it != cleaned.end(); ++it) out[it.key()] = it.value();
      }
      return out;
    }
    json out = json::object();
    bool nullable = false;
    for (auto it = s.begin(); it != s.end(); ++it) {
      const std::string& k = it.key();
      const json& v = it.value();
      if (k == "type") {
        if (v.is_array()) {
          std::vector<json> types;
          for (const auto& t : v) {
            if (t == "null") nullable = true;
            else types.push_back(t);
          }
          if (types.size() == 1) {
            out["type"] = types[0];
          } else if (types.size() > 1) {
            json any = json::array();
            for (auto& t : types) any.push_back({{"type", t}});
            out["anyOf"] = std::move(any);
          }
        } else {
          out["type"] = v;
        }
      } else if (k == "properties" && v.is_object()) {
        json props = json::object();
        for (auto p = v.begin(); p != v.end(); ++p) props[p.key()] = clean(p.value(), depth + 1);
        out["properties"] = std::move(props);
      } else if (k == "items") {
        if (v.is_object()) out["items"] = clean(v, depth + 1);
        else add_dropped(dropped_, "tools.parameters.items");
      } else if ((k == "anyOf" || k == "oneOf") && v.is_array()) {
        json any = json::array();
        for (const auto& sub : v) {
          if (sub.is_object() && sub.size() == 1 && member(sub, "type") == "null") {
            nullable = true;
          } else {
            any.push_back(clean(sub, depth + 1));
          }
        }
        if (any.size() == 1) {
          for (auto m = any[0].begin(); m != any[0].end(); ++m) {
            if (!out.contains(m.key())) out[m.key()] = m.value();
          }
        } else if (!any.empty()) {
          out["anyOf"] = std::move(any);
        }
      } else if (k == "allOf" && v.is_array()) {
        for (const auto& sub : v) {
          json c = clean(sub, depth + 1);
          for (auto m = c.begin(); m != c.end(); ++m) {
            if (m.key() == "properties" && out.contains("properties") &&
                out["properties"].is_object() && m.value().is_object()) {
              out["properties"].update(m.value());
            } else if (m.key() == "required" && out.contains("required") &&
                       out["required"].is_array() && m.value().is_array()) {
              for (const auto& r : m.value()) out["required"].push_back(r);
            } else {
              out[m.key()] = m.value();
            }
          }
        }
      } else if (k == "const") {
        out["enum"] = json::array({v.is_string() ? v : json(v.dump())});
      } else if (k == "examples") {
        if (v.is_array() && !v.empty()) out["example"] = v[0];
      } else if (k == "nullable") {
        if (v.is_boolean() && v.get<bool>()) nullable = true;
      } else if (k == "format") {
        out["format"] = v;  // checked against the type below
      } else if (k == "description" || k == "title" || k == "enum" || k == "required" ||
                 k == "minItems" || k == "maxItems" || k == "minProperties" ||
                 k == "maxProperties" || k == "minLength" || k == "maxLength" || k == "pattern" ||
                 k == "example" || k == "default" || k == "minimum" || k == "maximum" ||
                 k == "propertyOrdering") {
        out[k] = v;
      } else if (k == "additionalProperties" || k == "additional_properties") {
        // false/true: Gemini objects take only their declared properties anyway. A schema
        // (a map type) cannot be expressed: that is a loss.
        if (v.is_object()) add_dropped(dropped_, "tools.parameters.additionalProperties");
      } else if (k == "$schema" || k == "$id" || k == "$comment" || k == "$defs" ||
                 k == "definitions" || k == "strict" || k == "$anchor" || k == "deprecated" ||
                 k == "readOnly" || k == "writeOnly") {
        // no meaning for generation: removed without a word
      } else {
        add_dropped(dropped_, "tools.parameters." + k);
      }
    }
    if (auto f = out.find("format"); f != out.end()) {
      const std::string* t = string_at(out, "type");
      if (!f->is_string() || t == nullptr ||
          !allowed_format(lower(*t), f->get_ref<const std::string&>())) {
        add_dropped(dropped_, "tools.parameters.format");
        out.erase(f);
      }
    }
    if (nullable) out["nullable"] = true;
    return out;
  }

 private:
  size_t size_of(const json& target) {
    auto [it, fresh] = sizes_.try_emplace(&target, 0);
    if (fresh) it->second = target.dump(-1, ' ', false, json::error_handler_t::replace).size();
    return it->second;
  }

  const json* resolve(std::string_view ref) {
    for (std::string_view prefix : {"#/$defs/", "#/definitions/"}) {
      if (!starts_with(ref, prefix)) continue;
      std::string key(prefix.substr(2, prefix.size() - 3));  // "$defs" / "definitions"
      auto defs = root_.find(key);
      if (defs == root_.end() || !defs->is_object()) return nullptr;
      auto it = defs->find(std::string(ref.substr(prefix.size())));
      return it == defs->end() ? nullptr : &*it;
    }
    if (ref == "#") return &root_;
    return nullptr;
  }

  const json& root_;
  std::vector<std::string>& dropped_;
  SchemaBudget& budget_;
  std::unordered_map<const json*, size_t> sizes_;  // serialised size of each $ref target
};

bool empty_object_schema(const json& p) {
  if (!p.is_object() || p.empty()) return true;
  auto props = p.find("properties");
  bool no_props = props == p.end() || (props->is_object() && props->empty());
  auto type = p.find("type");
  bool object_type = type == p.end() || (type->is_string() && lower(type->get<std::string>()) == "object");
  return object_type && no_props && !p.contains("anyOf");
}

// One URL path segment: everything but RFC 3986 unreserved characters is percent-encoded, '/'
// included, so a model name cannot add segments to the upstream path.
void percent_encode_into(std::string& out, std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
}

}  // namespace

std::string model_path(std::string_view base_path, std::string_view model, std::string_view method) {
  std::string out;
  out.reserve(32 + model.size() + method.size());
  if (!(ends_with(base_path, "/v1beta") || ends_with(base_path, "/v1") ||
        ends_with(base_path, "/v1alpha"))) {
    out += "/v1beta";
  }
  out += '/';
  // "models/x" and "tunedModels/x" name their collection; anything else is a model id.
  std::string_view collection = "models/";
  for (std::string_view given : {"models/", "tunedModels/"}) {
    if (starts_with(model, given)) {
      collection = given;
      model.remove_prefix(given.size());
    }
  }
  out += collection;
  percent_encode_into(out, model);
  out += ':';
  out += method;
  return out;
}

json clean_schema(const json& schema, std::vector<std::string>& dropped, SchemaBudget& budget) {
  SchemaCleaner c(schema, dropped, budget);
  return c.clean(schema);
}

std::optional<int> thinking_budget(std::string_view effort, std::string_view model) {
  const bool pro = model.find("pro") != std::string_view::npos;
  if (effort == "none") return 0;
  if (effort == "minimal") return 512;
  if (effort == "low") return 1024;
  if (effort == "medium") return 8192;
  if (effort == "high") return 24576;
  if (effort == "xhigh" || effort == "max") return pro ? 32768 : 24576;
  return std::nullopt;
}

json chat_request(const json& body, std::string_view upstream_model,
                  std::vector<std::string>& dropped) {
  json out = json::object();
  json gen = json::object();
  const bool gemini3 = upstream_model.find("gemini-3") != std::string_view::npos;

  // ---- messages ----
  json system_parts = json::array();
  Contents contents;
  std::vector<std::pair<std::string, std::string>> call_names;  // tool call id -> function name
  if (auto mit = body.find("messages"); mit != body.end() && mit->is_array()) {
    for (const auto& m : *mit) {
      const std::string* role = string_at(m, "role");
      if (role == nullptr) continue;
      const json& content = member(m, "content");
      if (*role == "system" || *role == "developer") {
        std::string text = content_text(content);
        if (!text.empty()) system_parts.push_back({{"text", std::move(text)}});
      } else if (*role == "user") {
        json parts = json::array();
        user_parts(content, parts, dropped);
        for (auto& p : parts) contents.add("user", std::move(p));
      } else if (*role == "assistant") {
        std::string text = content_text(content);
        if (!text.empty()) contents.add("model", json{{"text", std::move(text)}});
        auto tcs = m.find("tool_calls");
        if (tcs != m.end() && tcs->is_array()) {
          bool first = true;
          for (const auto& call : *tcs) {
            const json& fn = member(call, "function");
            const std::string* name = string_at(fn, "name");
            if (name == nullptr) continue;
            if (const auto* id = string_at(call, "id")) call_names.emplace_back(*id, *name);
            json part = {{"functionCall", {{"name", *name}, {"args", function_args(fn)}}}};
            std::string sig = call_signature(call);
            if (!sig.empty()) {
              part["thoughtSignature"] = std::move(sig);
            } else if (first && gemini3) {
              // History Gemini did not produce (another model, a rebuilt transcript): Gemini 3
              // refuses a step's first call without a signature unless told to skip the check.
              part["thoughtSignature"] = kDummySignature;
            }
            first = false;
            contents.add("model", std::move(part));
          }
        }
        if (auto fc = m.find("function_call"); fc != m.end() && fc->is_object()) {  // legacy
          if (const auto* name = string_at(*fc, "name")) {
            contents.add("model", json{{"functionCall", {{"name", *name}, {"args", function_args(*fc)}}}});
          }
        }
      } else if (*role == "tool" || *role == "function") {
        std::string name;
        if (const auto* id = string_at(m, "tool_call_id")) {
          for (auto it = call_names.rbegin(); it != call_names.rend(); ++it) {
            if (it->first == *id) {
              name = it->second;
              break;
            }
          }
        }
        if (name.empty()) {
          if (const auto* n = string_at(m, "name")) name = *n;
        }
        contents.add("user", json{{"functionResponse",
                                   {{"name", std::move(name)}, {"response", tool_response(content)}}}});
      } else {
        add_dropped(dropped, "messages.role." + *role);
      }
    }
  }
  if (!system_parts.empty()) out["systemInstruction"] = {{"parts", std::move(system_parts)}};
  out["contents"] = contents.take();

  // ---- everything else ----
  const json* tools = nullptr;
  const json* choice = nullptr;
  std::optional<int64_t> max_completion, max_tokens;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "model" || k == "messages" || k == "stream" || k == "stream_options") continue;
    if (v.is_null()) continue;
    if (k == "max_completion_tokens" && v.is_number_integer()) {
      max_completion = v.get<int64_t>();
    } else if (k == "max_tokens" && v.is_number_integer()) {
      max_tokens = v.get<int64_t>();
    } else if (k == "temperature" && v.is_number()) {
      gen["temperature"] = v;
    } else if (k == "top_p" && v.is_number()) {
      gen["topP"] = v;
    } else if (k == "top_k" && v.is_number()) {
      gen["topK"] = v;
    } else if (k == "n" && v.is_number_integer()) {
      if (v.get<int64_t>() != 1) gen["candidateCount"] = v;
    } else if (k == "stop") {
      if (v.is_string()) gen["stopSequences"] = json::array({v});
      else if (v.is_array() && !v.empty()) gen["stopSequences"] = v;
    } else if (k == "seed" && v.is_number_integer()) {
      gen["seed"] = v;
    } else if (k == "presence_penalty" && v.is_number()) {
      gen["presencePenalty"] = v;
    } else if (k == "frequency_penalty" && v.is_number()) {
      gen["frequencyPenalty"] = v;
    } else if (k == "response_format" && v.is_object()) {
      response_format(v, dropped, gen);
    } else if (k == "tools" && v.is_array()) {
      tools = &v;
    } else if (k == "tool_choice") {
      choice = &v;
    } else if (k == "parallel_tool_calls" && v.is_boolean()) {
      if (!v.get<bool>()) add_dropped(dropped, k);  // Gemini has no switch for it
    } else if (k == "reasoning_effort" && v.is_string()) {
      auto budget = thinking_budget(v.get_ref<const std::string&>(), upstream_model);
      if (!budget) {
        add_dropped(dropped, k);
      } else if (*budget == 0) {
        gen["thinkingConfig"] = {{"thinkingBudget", 0}};
      } else {
        gen["thinkingConfig"] = {{"thinkingBudget", *budget}, {"includeThoughts", true}};
      }
    } else if (k == "thinking" && v.is_object()) {  // Anthropic-style, from the Anthropic ingress
      const std::string* type = string_at(v, "type");
      if (type != nullptr && *type == "disabled") {
        gen["thinkingConfig"] = {{"thinkingBudget", 0}};
      } else if (auto b = v.find("budget_tokens"); b != v.end() && b->is_number_integer()) {
        gen["thinkingConfig"] = {{"thinkingBudget", *b}, {"includeThoughts", true}};
      } else {
        gen["thinkingConfig"] = {{"thinkingBudget", -1}, {"includeThoughts", true}};
      }
    } else if ((k == "logprobs" || k == "store") && v.is_boolean() && !v.get<bool>()) {
      // the default: nothing to say
    } else if (k == "modalities" && v.is_array() && v.size() == 1 && v[0] == "text") {
      // the default
    } else if (k == "safety_settings" && v.is_array()) {
      out["safetySettings"] = v;  // Gemini-native extra
    } else if (k == "cached_content" && v.is_string()) {
      out["cachedContent"] = v;  // Gemini-native extra
    } else {
      add_dropped(dropped, k);
    }
  }
  if (max_completion) gen["maxOutputTokens"] = *max_completion;
  else if (max_tokens) gen["maxOutputTokens"] = *max_tokens;

  if (tools != nullptr) {
    SchemaBudget schema_budget;  // one for all the tools of the request
    json decls = json::array();
    json native = json::array();
    for (const auto& t : *tools) {
      if (!t.is_object()) continue;
      const std::string* type = string_at(t, "type");
      if (type != nullptr && *type == "function") {
        const json& fn = member(t, "function");
        const std::string* name = string_at(fn, "name");
        if (name == nullptr) continue;
        json d = {{"name", *name}};
        if (const auto* desc = string_at(fn, "description")) d["description"] = *desc;
        if (auto p = fn.find("parameters"); p != fn.end() && !empty_object_schema(*p)) {
          d["parameters"] = clean_schema(*p, dropped, schema_budget);
        }
        decls.push_back(std::move(d));
      } else if (type == nullptr && (t.contains("googleSearch") || t.contains("codeExecution") ||
                                     t.contains("urlContext") || t.contains("google_search") ||
                                     t.contains("code_execution") || t.contains("url_context"))) {
        native.push_back(t);  // a Gemini-native tool given as is
      } else {
        add_dropped(dropped, "tools." + (type ? *type : std::string("unknown")));
      }
    }
    if (choice != nullptr) tool_choice(*choice, out, &decls, dropped);
    json arr = json::array();
    if (!decls.empty()) arr.push_back({{"functionDeclarations", std::move(decls)}});
    for (auto& n : native) arr.push_back(std::move(n));
    if (!arr.empty()) out["tools"] = std::move(arr);
  } else if (choice != nullptr) {
    tool_choice(*choice, out, nullptr, dropped);
  }
  if (!gen.empty()) out["generationConfig"] = std::move(gen);
  return out;
}

json embeddings_request(const json& body, std::string_view upstream_model,
                        std::vector<std::string>& dropped) {
  std::string model_name;
  if (!starts_with(upstream_model, "models/")) model_name = "models/";
  model_name += upstream_model;
  std::optional<int64_t> dims;
  std::string task_type;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    if (k == "model" || k == "input" || it.value().is_null()) continue;
    if (k == "dimensions" && it.value().is_number_integer()) dims = it.value().get<int64_t>();
    else if (k == "encoding_format") continue;  // float or base64: done on the way back
    else if (k == "task_type" && it.value().is_string()) task_type = it.value().get<std::string>();
    else add_dropped(dropped, k);
  }
  json requests = json::array();
  auto add = [&](const std::string& text) {
    json r = {{"model", model_name}, {"content", {{"parts", json::array({{{"text", text}}})}}}};
    if (dims) r["outputDimensionality"] = *dims;
    if (!task_type.empty()) r["taskType"] = task_type;
    requests.push_back(std::move(r));
  };
  const json& input = member(body, "input");
  if (input.is_string()) {
    add(input.get<std::string>());
  } else if (input.is_array()) {
    for (const auto& x : input) {
      if (x.is_string()) add(x.get<std::string>());
      else add_dropped(dropped, "input");  // token arrays: Gemini takes text only
    }
  }
  return json{{"requests", std::move(requests)}};
}

}  // namespace tg::providers::gemini
