// Gemini GenerateContentResponse / BatchEmbedContentsResponse -> OpenAI chat.completion /
// embeddings list.

#include <cctype>
#include <cstring>
#include <ctime>

#include "gemini_internal.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers::gemini {
namespace {

int64_t int_at(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

bool is_std_base64(std::string_view s) {
  size_t pad = 0;
  for (char c : s) {
    if (c == '=') {
      ++pad;
    } else if (pad > 0 || !(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/')) {
      return false;
    }
  }
  return pad <= 2;
}

std::string base64_encode(const unsigned char* data, size_t len) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((len + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < len; i += 3) {
    uint32_t v = (uint32_t(data[i]) << 16) | (uint32_t(data[i + 1]) << 8) | data[i + 2];
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i + 1 == len) {
    uint32_t v = uint32_t(data[i]) << 16;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == len) {
    uint32_t v = (uint32_t(data[i]) << 16) | (uint32_t(data[i + 1]) << 8);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

constexpr std::string_view kSigMarker = "__ts_";

}  // namespace

std::string tool_call_id(int64_t n, std::string_view signature) {
  std::string id = "call_" + std::to_string(n);
  if (!signature.empty() && is_std_base64(signature)) {
    id.reserve(id.size() + kSigMarker.size() + signature.size());
    id += kSigMarker;
    for (char c : signature) {  // base64url, unpadded: ids stay in [A-Za-z0-9_-]
      if (c == '+') id += '-';
      else if (c == '/') id += '_';
      else if (c != '=') id += c;
    }
  }
  return id;
}

std::string signature_from_id(std::string_view id) {
  auto pos = id.find(kSigMarker);
  if (pos == std::string_view::npos) return {};
  std::string_view enc = id.substr(pos + kSigMarker.size());
  if (enc.empty()) return {};
  std::string sig;
  sig.reserve(enc.size() + 3);
  for (char c : enc) {
    if (c == '-') sig += '+';
    else if (c == '_') sig += '/';
    else if (std::isalnum(static_cast<unsigned char>(c))) sig += c;
    else return {};  // not ours
  }
  while (sig.size() % 4 != 0) sig += '=';
  return sig;
}

std::string_view finish_reason(std::string_view r, bool has_tool_calls) {
  if (r.empty() || r == "STOP") return has_tool_calls ? "tool_calls" : "stop";
  if (r == "MAX_TOKENS") return "length";
  if (r == "SAFETY" || r == "RECITATION" || r == "BLOCKLIST" || r == "PROHIBITED_CONTENT" ||
      r == "SPII" || r == "IMAGE_SAFETY" || r == "IMAGE_PROHIBITED_CONTENT" ||
      r == "IMAGE_RECITATION" || r == "LANGUAGE") {
    return "content_filter";
  }
  // OTHER, FINISH_REASON_UNSPECIFIED, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL,
  // TOO_MANY_TOOL_CALLS, NO_IMAGE, IMAGE_OTHER and anything newer.
  return has_tool_calls ? "tool_calls" : "stop";
}

ojson usage_json(const json& um, Usage* out) {
  const int64_t prompt = int_at(um, "promptTokenCount") + int_at(um, "toolUsePromptTokenCount");
  const int64_t thoughts = int_at(um, "thoughtsTokenCount");
  const int64_t completion = int_at(um, "candidatesTokenCount") + thoughts;
  const int64_t cached = int_at(um, "cachedContentTokenCount");
  if (out != nullptr) {
    out->present = true;
    out->input = prompt;
    out->output = completion;
    out->cached_read = cached;
    out->cache_write = 0;
    out->reasoning = thoughts;
  }
  ojson u = ojson::object();
  u["prompt_tokens"] = prompt;
  u["completion_tokens"] = completion;
  u["total_tokens"] = prompt + completion;
  u["prompt_tokens_details"] = {{"cached_tokens", cached}, {"cache_write_tokens", 0}};
  u["completion_tokens_details"] = {{"reasoning_tokens", thoughts}};
  return u;
}

Response chat_response(const ClientRequest& req, std::string&& body) {
  Response r;
  json j = json_scan::parse(body);
  if (!j.is_object()) {
    r.error = Error::upstream_protocol("gemini", "Gemini answered 200 with a body that is not an object");
    return r;
  }
  const json* cands = nullptr;
  if (auto c = j.find("candidates"); c != j.end() && c->is_array()) cands = &*c;
  const std::string* block = nullptr;
  if (auto pf = j.find("promptFeedback"); pf != j.end()) block = string_at(*pf, "blockReason");
  if ((cands == nullptr || cands->empty()) && block == nullptr) {
    r.error = Error::upstream_protocol("gemini", "Gemini answered 200 without candidates");
    return r;
  }

  ojson out = ojson::object();
  const std::string* rid = string_at(j, "responseId");
  out["id"] = rid ? "chatcmpl-" + *rid : std::string("chatcmpl-gemini");
  out["object"] = "chat.completion";
  out["created"] = static_cast<int64_t>(std::time(nullptr));
  const std::string* mv = string_at(j, "modelVersion");
  out["model"] = mv ? *mv : req.model;
  ojson choices = ojson::array();
  int64_t next_call = 0;
  if (cands == nullptr || cands->empty()) {
    // A blocked prompt: one empty choice, finished by the content filter.
    choices.push_back({{"index", 0},
                       {"message", {{"role", "assistant"}, {"content", ""}}},
                       {"logprobs", nullptr},
                       {"finish_reason", "content_filter"}});
  } else {
    int64_t position = 0;
    for (const auto& c : *cands) {
      std::string text, thoughts;
      bool has_text = false, has_thoughts = false;
      ojson calls = ojson::array();
      if (auto content = c.find("content"); content != c.end() && content->is_object()) {
        if (auto parts = content->find("parts"); parts != content->end() && parts->is_array()) {
          for (const auto& p : *parts) {
            if (const auto* t = string_at(p, "text")) {
              if (bool_or(p, "thought")) {
                thoughts += *t;
                has_thoughts = true;
              } else {
                text += *t;
                has_text = true;
              }
            } else if (auto fc = p.find("functionCall"); fc != p.end() && fc->is_object()) {
              const std::string* sig = string_at(p, "thoughtSignature");
              const json& args = member(*fc, "args");
              calls.push_back(
                  {{"id", tool_call_id(next_call++, sig ? std::string_view(*sig) : "")},
                   {"type", "function"},
                   {"function",
                    {{"name", str_or(*fc, "name")},
                     {"arguments", args.is_null() ? std::string("{}") : args.dump()}}}});
            }
          }
        }
      }
      const std::string* fr = string_at(c, "finishReason");
      ojson msg = ojson::object();
      msg["role"] = "assistant";
      if (has_text || calls.empty()) msg["content"] = std::move(text);
      else msg["content"] = nullptr;
      if (has_thoughts) msg["reasoning_content"] = std::move(thoughts);
      const bool has_calls = !calls.empty();
      if (has_calls) msg["tool_calls"] = std::move(calls);
      ojson choice = ojson::object();
      choice["index"] = c.contains("index") && c["index"].is_number_integer()
                            ? c["index"].get<int64_t>()
                            : position;
      choice["message"] = std::move(msg);
      choice["logprobs"] = nullptr;
      choice["finish_reason"] = finish_reason(fr ? std::string_view(*fr) : "", has_calls);
      choices.push_back(std::move(choice));
      ++position;
    }
  }
  out["choices"] = std::move(choices);
  const json& um = member(j, "usageMetadata");
  out["usage"] = usage_json(um, &r.usage);
  r.usage.present = j.contains("usageMetadata");
  r.body = out.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

int64_t estimate_tokens(std::string_view text) {
  int64_t cps = 0;
  for (unsigned char c : text) cps += (c & 0xC0) != 0x80;
  return (cps + 3) / 4;
}

Response embeddings_response(const ClientRequest& req, std::string&& body) {
  Response r;
  json j = json_scan::parse(body);
  const json* embs = nullptr;
  if (j.is_object()) {
    if (auto e = j.find("embeddings"); e != j.end() && e->is_array()) embs = &*e;
  }
  if (embs == nullptr) {
    r.error = Error::upstream_protocol("gemini", "Gemini answered 200 without embeddings");
    return r;
  }
  const json& rb = req.doc();
  const bool b64 = str_or(rb, "encoding_format") == "base64";
  ojson data = ojson::array();
  int64_t index = 0;
  for (const auto& e : *embs) {
    ojson item = ojson::object();
    item["object"] = "embedding";
    item["index"] = index++;
    const json& values = member(e, "values");
    if (b64) {
      std::string bytes;
      bytes.reserve(values.size() * 4);
      for (const auto& v : values) {
        float f = v.is_number() ? v.get<float>() : 0.0f;
        unsigned char b[4];
        uint32_t u;
        std::memcpy(&u, &f, 4);
        b[0] = u & 0xff;
        b[1] = (u >> 8) & 0xff;
        b[2] = (u >> 16) & 0xff;
        b[3] = (u >> 24) & 0xff;
        bytes.append(reinterpret_cast<const char*>(b), 4);
      }
      item["embedding"] =
          base64_encode(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    } else {
      item["embedding"] = values.is_array() ? values : json::array();
    }
    data.push_back(std::move(item));
  }
  // batchEmbedContents reports no token counts: estimate them from the input (4 code points a
  // token), unless the upstream did report them (usageMetadata.promptTokenCount).
  int64_t tokens = 0;
  bool reported = false;
  if (auto um = j.find("usageMetadata"); um != j.end() && um->is_object()) {
    tokens = int_at(*um, "promptTokenCount");
    reported = true;
  } else if (auto in = rb.find("input"); in != rb.end()) {
    if (in->is_string()) {
      tokens = estimate_tokens(in->get_ref<const std::string&>());
    } else if (in->is_array()) {
      for (const auto& x : *in) {
        if (x.is_string()) tokens += estimate_tokens(x.get_ref<const std::string&>());
      }
    }
  }
  ojson out = ojson::object();
  out["object"] = "list";
  out["data"] = std::move(data);
  out["model"] = str_or(rb, "model", req.model);
  out["usage"] = {{"prompt_tokens", tokens}, {"total_tokens", tokens}};
  r.usage.present = reported;
  r.usage.input = tokens;
  r.body = out.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

}  // namespace tg::providers::gemini
