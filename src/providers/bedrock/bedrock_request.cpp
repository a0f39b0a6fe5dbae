// OpenAI chat request -> Converse request (provider-formats.md 4.2, 4.8), and the signed
// upstream request (4.1, 4.6).

#include <algorithm>
#include <cctype>
#include <optional>

#include "bedrock_adapter.hpp"
#include "sigv4.hpp"
#include "tollgate/core/json_access.hpp"
#include "tollgate/core/url.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers {
namespace bedrock {
namespace {

using json = nlohmann::json;

bool is_anthropic(std::string_view model) {
  return model.find("anthropic.") != std::string_view::npos ||
         model.find("claude") != std::string_view::npos;
}


std::string_view str(const json* j) {
  return j && j->is_string() ? std::string_view(j->get_ref<const std::string&>()) : std::string_view();
}

class Builder {
 public:
  Builder(const json& body, std::string_view model, Translated& t)
      : body_(body), t_(t), anthropic_(is_anthropic(model)) {}

  void run() {
    json& out = t_.body;
    out = json::object();
    messages();
    inference();
    tools();
    reasoning();
    other_params();
    out["messages"] = std::move(messages_);
    if (!system_.empty()) out["system"] = std::move(system_);
    if (!inference_.empty()) out["inferenceConfig"] = std::move(inference_);
    if (!additional_.empty()) out["additionalModelRequestFields"] = std::move(additional_);
  }

 private:
  void drop(std::string_view name) {
    if (std::find(t_.dropped.begin(), t_.dropped.end(), name) == t_.dropped.end()) {
      t_.dropped.emplace_back(name);
    }
  }

  // ---- messages ----

  static bool wants_cache_point(const json& part) {
    return member(part, "cache_control") != nullptr ||
           member(part, "prompt_cache_breakpoint") != nullptr;
  }

  // "data:image/png;base64,AAAA" -> (mime, base64 data); nullopt when not a base64 data URL.
  static std::optional<std::pair<std::string_view, std::string_view>> data_url(std::string_view url) {
    if (url.substr(0, 5) != "data:") return std::nullopt;
    size_t comma = url.find(',');
    if (comma == std::string_view::npos) return std::nullopt;
    std::string_view meta = url.substr(5, comma - 5);
    constexpr std::string_view kB64 = ";base64";
    if (meta.size() < kB64.size() || meta.substr(meta.size() - kB64.size()) != kB64) {
      return std::nullopt;
    }
    meta.remove_suffix(kB64.size());
    std::string_view mime = meta.substr(0, meta.find(';'));
    return std::make_pair(mime, url.substr(comma + 1));
  }

  static std::string_view image_format(std::string_view mime) {
    if (mime == "image/png") return "png";
    if (mime == "image/jpeg" || mime == "image/jpg") return "jpeg";
    if (mime == "image/gif") return "gif";
    if (mime == "image/webp") return "webp";
    return {};
  }

  static std::string_view document_format(std::string_view mime) {
    if (mime == "application/pdf") return "pdf";
    if (mime == "text/csv") return "csv";
    if (mime == "application/msword") return "doc";
    if (mime == "application/vnd.openxmlformats-officedocument.wordprocessingml.document") return "docx";
    if (mime == "application/vnd.ms-excel") return "xls";
    if (mime == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") return "xlsx";
    if (mime == "text/html") return "html";
    if (mime == "text/plain") return "txt";
    if (mime == "text/markdown") return "md";
    return {};
  }

  static std::string_view document_format_for_name(std::string_view filename) {
    size_t dot = filename.rfind('.');
    if (dot == std::string_view::npos) return {};
    std::string ext(filename.substr(dot + 1));
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::string_view f : {"pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"}) {
      if (ext == f) return f;
    }
    if (ext == "htm") return "html";
    if (ext == "markdown") return "md";
    return {};
  }

  json document(std::string_view format, std::string_view b64) {
    return {{"document",
             {{"format", format},
              {"name", "document-" + std::to_string(++documents_)},
              {"source", {{"bytes", b64}}}}}};
  }

  // A data URL (image_url or file_data) -> image or document block; false when it cannot be.
  bool media_block(std::string_view url, json& blocks) {
    auto d = data_url(url);
    if (!d) return false;
    if (auto f = image_format(d->first); !f.empty()) {
      blocks.push_back({{"image", {{"format", f}, {"source", {{"bytes", d->second}}}}}});
      return true;
    }
    if (auto f = document_format(d->first); !f.empty()) {
      blocks.push_back(document(f, d->second));
      return true;
    }
    return false;
  }

  // Text (and, for user turns, media) content -> Converse blocks appended to `blocks`.
  void content_blocks(const json* content, json& blocks, bool user) {
    if (!content) return;
    if (content->is_string()) {
      if (!content->get_ref<const std::string&>().empty()) blocks.push_back({{"text", *content}});
      return;
    }
    if (!content->is_array()) return;
    for (const json& part : *content) {
      if (!part.is_object()) continue;
      std::string_view type = str(member(part, "type"));
      const size_t before = blocks.size();
      if (type == "text" || type == "refusal") {
        const json* text = member(part, type == "text" ? "text" : "refusal");
        if (text && text->is_string() && !text->get_ref<const std::string&>().empty()) {
          blocks.push_back({{"text", *text}});
        }
      } else if (type == "image_url" && user) {
        const json* iu = member(part, "image_url");
        std::string_view url = iu && iu->is_object() ? str(member(*iu, "url")) : str(iu);
        // Converse takes inline bytes (or S3) only: an http(s) image would have to be downloaded,
        // which the gateway does not do.
        if (!media_block(url, blocks)) drop("image_url");
      } else if (type == "file" && user) {
        const json* f = member(part, "file");
        std::string_view data = f ? str(member(*f, "file_data")) : std::string_view();
        if (data.substr(0, 5) == "data:") {
          if (!media_block(data, blocks)) drop("file");
        } else if (!data.empty()) {
          auto fmt = document_format_for_name(str(member(*f, "filename")));
          if (fmt.empty()) fmt = "pdf";
          blocks.push_back(document(fmt, data));
        } else {
          drop("file");  // file_id: an OpenAI Files upload Bedrock cannot read
        }
      } else if (type == "input_audio") {
        drop("input_audio");
      } else {
        drop(type.empty() ? std::string_view("content") : type);
      }
      if (blocks.size() > before && wants_cache_point(part)) {
        blocks.push_back({{"cachePoint", {{"type", "default"}}}});
      }
    }
  }

  // The text of a content (string or text parts), for tool results.
  void tool_result_content(const json* content, json& out) {
    if (!content) return;
    if (content->is_string()) {
      if (!content->get_ref<const std::string&>().empty()) out.push_back({{"text", *content}});
      return;
    }
    if (!content->is_array()) {
      out.push_back({{"json", *content}});
      return;
    }
    for (const json& part : *content) {
      if (!part.is_object()) continue;
      std::string_view type = str(member(part, "type"));
      if (type == "text") {
        const json* text = member(part, "text");
        if (text && text->is_string() && !text->get_ref<const std::string&>().empty()) {
          out.push_back({{"text", *text}});
        }
      } else if (type == "image_url") {
        const json* iu = member(part, "image_url");
        std::string_view url = iu && iu->is_object() ? str(member(*iu, "url")) : str(iu);
        auto d = data_url(url);
        auto f = d ? image_format(d->first) : std::string_view();
        if (!f.empty()) {
          out.push_back({{"image", {{"format", f}, {"source", {{"bytes", d->second}}}}}});
        } else {
          drop("image_url");
        }
      } else {
        drop(type.empty() ? std::string_view("content") : type);
      }
    }
  }

  static json parse_arguments(const json* args) {
    if (!args) return json::object();
    if (args->is_object()) return *args;
    std::string_view text = str(args);
    if (text.empty()) return json::object();
    json j = json_scan::parse(text);
    if (j.is_object()) return j;
    // Not a JSON object: keep the model's text rather than lose it.
    return json{{"arguments", text}};
  }

  void tool_use(const json& id, const json* fn, json& blocks) {
    std::string_view name = fn ? str(member(*fn, "name")) : std::string_view();
    blocks.push_back({{"toolUse",
                       {{"toolUseId", id},
                        {"name", name},
                        {"input", parse_arguments(fn ? member(*fn, "arguments") : nullptr)}}}});
    history_tools_ = true;
    if (!name.empty() &&
        std::find(history_tool_names_.begin(), history_tool_names_.end(), name) ==
            history_tool_names_.end()) {
      history_tool_names_.emplace_back(name);
    }
  }

  void append(std::string_view role, json&& blocks) {
    if (blocks.empty()) return;
    if (!messages_.empty() && messages_.back()["role"] == role) {
      json& content = messages_.back()["content"];
      for (auto& b : blocks) content.push_back(std::move(b));
      return;
    }
    messages_.push_back({{"role", role}, {"content", std::move(blocks)}});
  }

  void messages() {
    const json* msgs = member(body_, "messages");
    if (!msgs || !msgs->is_array()) return;
    for (const json& m : *msgs) {
      if (!m.is_object()) continue;
      std::string_view role = str(member(m, "role"));
      const json* content = member(m, "content");
      if (role == "system" || role == "developer") {
        content_blocks(content, system_, false);
        continue;
      }
      json blocks = json::array();
      if (role == "user") {
        if (member(m, "name")) drop("name");
        content_blocks(content, blocks, true);
        append("user", std::move(blocks));
      } else if (role == "assistant") {
        if (member(m, "name")) drop("name");
        content_blocks(content, blocks, false);
        if (const json* calls = member(m, "tool_calls"); calls && calls->is_array()) {
          for (const json& c : *calls) {
            if (!c.is_object()) continue;
            const json* id = member(c, "id");
            tool_use(id ? *id : json(""), member(c, "function"), blocks);
          }
        }
        if (const json* fc = member(m, "function_call"); fc && fc->is_object()) {
          tool_use(json("call_" + std::string(str(member(*fc, "name")))), fc, blocks);
        }
        append("assistant", std::move(blocks));
      } else if (role == "tool" || role == "function") {
        json result = json::array();
        tool_result_content(content, result);
        const json* id = member(m, role == "tool" ? "tool_call_id" : "name");
        std::string tool_use_id = role == "tool" ? std::string(str(id)) : "call_" + std::string(str(id));
        // No "status": OpenAI tool messages have none, and only Claude models accept the field.
        blocks.push_back({{"toolResult", {{"toolUseId", tool_use_id}, {"content", std::move(result)}}}});
        history_tools_ = true;
        append("user", std::move(blocks));
      } else {
        drop("messages.role");
      }
    }
  }

  // ---- inferenceConfig ----

  void inference() {
    const json* max = member(body_, "max_completion_tokens");
    if (!max) max = member(body_, "max_tokens");
    if (max && max->is_number()) inference_["maxTokens"] = *max;
    if (const json* t = member(body_, "temperature"); t && t->is_number()) inference_["temperature"] = *t;
    if (const json* p = member(body_, "top_p"); p && p->is_number()) inference_["topP"] = *p;
    if (const json* stop = member(body_, "stop")) {
      json seqs = json::array();
      if (stop->is_string()) {
        if (!stop->get_ref<const std::string&>().empty()) seqs.push_back(*stop);
      } else if (stop->is_array()) {
        for (const json& s : *stop) {
          if (s.is_string() && !s.get_ref<const std::string&>().empty()) seqs.push_back(s);
        }
      }
      if (!seqs.empty()) inference_["stopSequences"] = std::move(seqs);
    }
  }

  // ---- toolConfig, JSON mode ----

  static json tool_spec(std::string_view name, const json* description, const json* schema) {
    json spec = {{"name", name}};
    if (description && description->is_string()) spec["description"] = *description;
    spec["inputSchema"] = {{"json", schema && schema->is_object()
                                        ? *schema
                                        : json{{"type", "object"}, {"properties", json::object()}}}};
    return {{"toolSpec", std::move(spec)}};
  }

  void tools() {
    json specs = json::array();
    const json* tools = member(body_, "tools");
    const json* choice = member(body_, "tool_choice");
    std::string_view choice_s = str(choice);
    std::vector<std::string_view> allowed;  // allowed_tools restriction
    json tool_choice;
    if (choice_s == "auto") {
      tool_choice = {{"auto", json::object()}};
    } else if (choice_s == "required") {
      tool_choice = {{"any", json::object()}};
    } else if (choice && choice->is_object()) {
      std::string_view type = str(member(*choice, "type"));
      if (type == "allowed_tools") {
        const json* at = member(*choice, "allowed_tools");
        if (at && str(member(*at, "mode")) == "required") tool_choice = {{"any", json::object()}};
        else tool_choice = {{"auto", json::object()}};
        if (const json* list = at ? member(*at, "tools") : nullptr; list && list->is_array()) {
          for (const json& t : *list) {
            const json* fn = member(t, "function");
            if (auto n = fn ? str(member(*fn, "name")) : std::string_view(); !n.empty()) allowed.push_back(n);
          }
        }
      } else {
        const json* fn = member(*choice, type == "custom" ? "custom" : "function");
        std::string_view name = fn ? str(member(*fn, "name")) : std::string_view();
        if (!name.empty()) tool_choice = {{"tool", {{"name", name}}}};
      }
    }
    if (tools && tools->is_array()) {
      for (const json& t : *tools) {
        if (!t.is_object()) continue;
        const json* fn = member(t, "function");
        if (str(member(t, "type")) != "function" || !fn || !fn->is_object()) {
          drop("tools");  // custom (free-form) tools have no Converse equivalent
          continue;
        }
        std::string_view name = str(member(*fn, "name"));
        if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
          continue;
        }
        json spec = tool_spec(name, member(*fn, "description"), member(*fn, "parameters"));
        if (const json* strict = member(*fn, "strict"); strict && strict->is_boolean() && strict->get<bool>()) {
          spec["toolSpec"]["strict"] = true;
        }
        specs.push_back(std::move(spec));
      }
    }
    if (choice_s == "none" && !specs.empty()) {
      // Converse has no "none". Without tool blocks in the history the tools are left out (the
      // model then cannot call one); with them Bedrock needs toolConfig, so the tools stay and
      // the choice cannot be honoured.
      if (!history_tools_) specs = json::array();
      else drop("tool_choice");
      tool_choice = nullptr;
    }
    if (const json* ptc = member(body_, "parallel_tool_calls"); ptc && ptc->is_boolean() && !ptc->get<bool>()) {
      drop("parallel_tool_calls");
    }
    // response_format: emulated by forcing a tool whose input is the JSON answer.
    if (const json* rf = member(body_, "response_format"); rf && rf->is_object()) {
      std::string_view type = str(member(*rf, "type"));
      if (type == "json_object" || type == "json_schema") {
        if (!specs.empty()) {
          drop("response_format");  // cannot force the JSON tool while the client's tools are offered
        } else {
          const json* schema = nullptr;
          const json* description = nullptr;
          if (const json* js = member(*rf, "json_schema"); js && js->is_object()) {
            schema = member(*js, "schema");
            description = member(*js, "description");
          }
          json any_object = {{"type", "object"}};
          json desc = description ? *description
                                  : json("Answer with the JSON object the user asked for, as this tool's input.");
          specs.push_back(tool_spec(kJsonTool, &desc, schema ? schema : &any_object));
          // Claude refuses a forced tool while thinking; let it choose then.
          tool_choice = thinking_requested() ? json{{"auto", json::object()}}
                                             : json{{"tool", {{"name", kJsonTool}}}};
          t_.json_mode = true;
        }
      } else if (type != "text" && !type.empty()) {
        drop("response_format");
      }
    }
    if (specs.empty() && history_tools_) {
      // Bedrock refuses toolUse/toolResult blocks without a toolConfig: declare the tools the
      // history used (schema-less) so the conversation stays valid.
      for (const auto& name : history_tool_names_) {
        json d = "A tool used earlier in this conversation.";
        specs.push_back(tool_spec(name, &d, nullptr));
      }
      tool_choice = nullptr;
    }
    if (specs.empty()) return;
    json cfg = {{"tools", std::move(specs)}};
    if (!tool_choice.is_null()) cfg["toolChoice"] = std::move(tool_choice);
    t_.body["toolConfig"] = std::move(cfg);
  }

  // ---- reasoning ----

  bool thinking_requested() const {
    std::string_view effort = str(member(body_, "reasoning_effort"));
    return anthropic_ && ((!effort.empty() && effort != "none") || member(body_, "thinking"));
  }

  static int64_t budget_for(std::string_view effort) {
    if (effort == "minimal" || effort == "low") return 1024;
    if (effort == "medium") return 2048;
    if (effort == "high") return 4096;
    if (effort == "xhigh") return 8192;
    if (effort == "max") return 16384;
    return 2048;
  }

  void reasoning() {
    const json* effort_j = member(body_, "reasoning_effort");
    const json* thinking = member(body_, "thinking");  // Anthropic-style extra, passed on
    std::string_view effort = str(effort_j);
    if (!anthropic_) {
      if (effort_j && effort != "none") drop("reasoning_effort");
      if (thinking) drop("thinking");
      return;
    }
    if (thinking && thinking->is_object()) {
      additional_["thinking"] = *thinking;
      return;
    }
    if (effort.empty() || effort == "none") return;
    int64_t budget = budget_for(effort);
    auto max = inference_.find("maxTokens");
    if (max == inference_.end()) {
      // Claude needs max_tokens > budget_tokens; the Bedrock default may be smaller.
      inference_["maxTokens"] = budget + 4096;
    } else if (max->is_number_integer() && max->get<int64_t>() <= budget) {
      budget = max->get<int64_t>() - 1;
      if (budget < 1024) {  // Claude's minimum budget does not fit under max_tokens
        drop("reasoning_effort");
        return;
      }
    }
    additional_["thinking"] = {{"type", "enabled"}, {"budget_tokens", budget}};
  }

  // ---- everything else ----

  void other_params() {
    for (auto it = body_.begin(); it != body_.end(); ++it) {
      const std::string& k = it.key();
      const json& v = *it;
      if (v.is_null()) continue;
      if (k == "model" || k == "messages" || k == "stream" || k == "stream_options" ||
          k == "max_tokens" || k == "max_completion_tokens" || k == "temperature" || k == "top_p" ||
          k == "stop" || k == "tools" || k == "tool_choice" || k == "parallel_tool_calls" ||
          k == "response_format" || k == "reasoning_effort" || k == "thinking") {
        continue;
      }
      if (k == "top_k" && v.is_number()) {
        additional_["top_k"] = v;
      } else if (k == "n") {
        if (!(v.is_number_integer() && v.get<int64_t>() == 1)) drop("n");
      } else if (k == "logprobs" || k == "store") {
        if (!(v.is_boolean() && !v.get<bool>())) drop(k);
      } else if (k == "frequency_penalty" || k == "presence_penalty") {
        if (!(v.is_number() && v.get<double>() == 0)) drop(k);
      } else if (k == "service_tier") {
        std::string_view tier = str(&v);
        if (tier == "default" || tier == "flex" || tier == "priority") {
          t_.body["serviceTier"] = {{"type", tier}};
        } else if (tier != "auto") {
          drop(k);
        }
      } else {
        drop(k);  // seed, user, metadata, logit_bias, top_logprobs, audio, vendor extras, ...
      }
    }
  }

  const json& body_;
  Translated& t_;
  bool anthropic_;
  json messages_ = json::array();
  json system_ = json::array();
  json inference_ = json::object();
  json additional_ = json::object();
  bool history_tools_ = false;
  std::vector<std::string> history_tool_names_;
  int documents_ = 0;
};

}  // namespace

Translated to_converse(const nlohmann::json& openai_body, std::string_view upstream_model) {
  Translated t;
  Builder(openai_body, upstream_model, t).run();
  return t;
}

bool json_mode_requested(const nlohmann::json& body) {
  const json* rf = member(body, "response_format");
  if (!rf || !rf->is_object()) return false;
  std::string_view type = str(member(*rf, "type"));
  if (type != "json_object" && type != "json_schema") return false;
  // The JSON tool is only offered when none of the client's tools is; so a call to a tool of
  // that name is the JSON answer unless the client declared a tool with the same name.
  if (const json* tools = member(body, "tools"); tools && tools->is_array()) {
    for (const json& t : *tools) {
      const json* fn = member(t, "function");
      if (fn && str(member(*fn, "name")) == kJsonTool) return false;
    }
  }
  return true;
}

}  // namespace bedrock

UpstreamRequest BedrockAdapter::build_request(const ClientRequest& req,
                                              std::string_view upstream_model,
                                              const BuildContext& ctx) const {
  UpstreamRequest out;
  bedrock::Translated t = bedrock::to_converse(req.doc(), upstream_model);
  out.dropped_params = std::move(t.dropped);
  out.body = t.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.path.reserve(upstream_model.size() + 32);
  out.path += "/model/";
  bedrock::sigv4::uri_encode_into(out.path, upstream_model, false);
  out.path += req.stream ? "/converse-stream" : "/converse";

  const auto& p = ctx.provider;
  out.headers.reserve(5 + p.headers.size());
  out.headers.emplace_back("Content-Type", "application/json");
  out.headers.emplace_back("Accept", req.stream ? "application/vnd.amazon.eventstream"
                                                : "application/json");
  if (!p.aws_access_key_id.empty() && !p.aws_secret_access_key.empty()) {
    // The Host header the upstream client will send: the port only when not the default.
    std::string host(ctx.host);
    if (auto u = parse_url(p.base_url); u && u->port != (u->tls ? 443 : 80)) host = u->authority();
    std::string date = bedrock::sigv4::amz_date(ctx.now);
    std::string wire_path;
    wire_path.reserve(ctx.base_path.size() + out.path.size());
    wire_path += ctx.base_path;
    wire_path += out.path;
    const std::string payload_hash = bedrock::sigv4::sha256_hex(out.body);
    bedrock::sigv4::Request sr;
    sr.method = out.method;
    sr.path = wire_path;
    sr.headers = {{"content-type", "application/json"}, {"host", host}, {"x-amz-date", date}};
    // Temporary credentials: the session token is sent and signed with the rest.
    if (!p.aws_session_token.empty()) sr.headers.emplace_back("x-amz-security-token", p.aws_session_token);
    sr.payload_hash = payload_hash;
    auto sig = bedrock::sigv4::sign(sr, {p.aws_access_key_id, p.aws_secret_access_key,
                                         p.region.empty() ? std::string_view("us-east-1") : std::string_view(p.region),
                                         "bedrock", date});
    out.headers.emplace_back("X-Amz-Date", std::move(date));
    if (!p.aws_session_token.empty()) out.headers.emplace_back("X-Amz-Security-Token", p.aws_session_token);
    out.headers.emplace_back("Authorization", std::move(sig.authorization));
  } else if (!ctx.api_key.empty()) {
    out.headers.emplace_back("Authorization", "Bearer " + std::string(ctx.api_key));
  }
  for (const auto& [name, value] : p.headers) out.headers.emplace_back(name, value);
  return out;
}

}  // namespace tg::providers
