#include "openai_wire.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <vector>

#include "compat_quirks.hpp"
#include "tollgate/core/json_writer.hpp"
#include "tollgate/core/text.hpp"
#include "tollgate/providers/client_json.hpp"
#include "tollgate/providers/json_scan.hpp"
#include "tollgate/core/json_access.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers::openai_wire {
namespace {

using json = nlohmann::json;

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

using json_scan::skip_value;
using json_scan::skip_ws;

// True when the first tool call of the chunk's tool_calls has no index (or an id without a type):
// those chunks are repaired; the others pass untouched.
bool tool_delta_needs_fix(std::string_view data) {
  Member m = scan_member(data, "tool_calls");
  if (!m.found() || m.value.empty() || m.value.front() != '[') return false;
  size_t i = skip_ws(m.value, 1);
  if (i >= m.value.size() || m.value[i] != '{') return false;
  std::string_view first = m.value.substr(i);
  if (find_top_level_member(first, "index").empty()) return true;
  return !find_top_level_member(first, "id").empty() &&
         find_top_level_member(first, "type").empty();
}

class ChunkStream final : public StreamTranslator {
 public:
  explicit ChunkStream(const StreamOptions& o) : o_(o) {}

  StreamStatus on_event(const sse::Event& event, std::string& out) override {
    std::string_view data = event.data;
    if (data == "[DONE]") return o_.compat ? compat_finish(out) : StreamStatus::Done;
    if (events_out_ == 0 && !json_scan::valid(data)) return StreamStatus::Malformed;
    if (o_.azure && azure_annotation_only(data)) return StreamStatus::Continue;
    if (o_.compat) return compat_event(data, out);
    return plain(data, out);
  }

  StreamStatus on_end(std::string& out) override {
    // A compatible host that closes after its final chunk without [DONE] ended normally.
    if (o_.compat && finish_seen_) return compat_finish(out);
    return StreamStatus::Continue;
  }

 private:
  void emit(std::string& out, std::string_view data) {
    sse::append_data_event(out, data);
    ++events_out_;
  }

  // OpenAI: forwarded as received; only chunks that may carry usage or an error are parsed.
  StreamStatus plain(std::string_view data, std::string& out) {
    bool maybe_error = data.size() > 8 && find_text(data, "\"error\"") != std::string_view::npos;
    bool maybe_usage = find_text(data, "\"usage\"") != std::string_view::npos &&
                       find_text(data, "\"usage\":null") == std::string_view::npos;
    if (maybe_error || maybe_usage) {
      json j = json_scan::parse(data);
      if (j.is_object()) {
        if (auto e = j.find("error"); e != j.end() && !e->is_null() && !j.contains("choices")) {
          emit(out, data);
          return StreamStatus::UpstreamError;
        }
        if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
          usage_ = Usage::from_openai(*u);
          auto c = j.find("choices");
          bool usage_only = c == j.end() || (c->is_array() && c->empty());
          if (usage_only && !o_.client_wants_usage) return StreamStatus::Continue;
        }
      }
    }
    emit(out, data);
    return StreamStatus::Continue;
  }

  // Azure: the first chunk ("choices": [], prompt_filter_results, no usage) and the chunks of
  // asynchronous filtering (content_filter_results/offsets, no delta) carry no answer: dropped,
  // so the client sees OpenAI's stream and the commit point stays at the first real content.
  bool azure_annotation_only(std::string_view data) const {
    bool prompt_filter = find_text(data, "\"prompt_filter_results\"") != std::string_view::npos;
    if (!prompt_filter && find_text(data, "\"content_filter_offsets\"") == std::string_view::npos) {
      return false;
    }
    json j = json_scan::parse(data);
    if (!j.is_object()) return false;
    if (auto e = j.find("error"); e != j.end() && !e->is_null()) return false;
    if (auto u = j.find("usage"); u != j.end() && u->is_object()) return false;
    auto c = j.find("choices");
    if (c == j.end()) return true;
    if (!c->is_array()) return false;
    for (const auto& choice : *c) {
      if (!choice.is_object()) return false;
      auto d = choice.find("delta");
      if (d != choice.end() && !d->is_null()) return false;
      if (choice.contains("text")) return false;
      auto f = choice.find("finish_reason");
      if (f != choice.end() && !f->is_null()) return false;
    }
    return true;
  }

  // The compatible family: each chunk is scanned for the known quirks and parsed only when one
  // may apply (usage, an error, an odd finish reason, "reasoning", a content array, a tool-call
  // delta without index).
  StreamStatus compat_event(std::string_view data, std::string& out) {
    if (first_chunk_.empty()) first_chunk_.assign(data);
    const bool maybe_error = data.size() > 8 && find_text(data, "\"error\"") != std::string_view::npos;
    bool maybe_usage = false;  // a usage object anywhere (top level, or Groq's x_groq.usage)
    for (Member m = scan_member(data, "usage"); m.found() && !maybe_usage;
         m = scan_member(data, "usage", m.end)) {
      maybe_usage = !m.value.empty() && m.value.front() == '{';
    }
    const bool tools = find_text(data, "\"tool_calls\"") != std::string_view::npos;
    if (tools) saw_tool_calls_ = true;
    const bool fix_tools = tools && tool_delta_needs_fix(data);
    bool odd_finish = false, any_finish = false;
    for (Member m = scan_member(data, "finish_reason"); m.found();
         m = scan_member(data, "finish_reason", m.end)) {
      if (m.is_null()) continue;
      any_finish = true;
      if (!m.is_string() || m.string() == "insufficient_system_resource" ||
          compat::normalize_finish_reason(m.string(), saw_tool_calls_)) {
        odd_finish = true;
      }
    }
    Member r = scan_member(data, "reasoning");
    Member c = scan_member(data, "content");
    const bool reasoning = r.found() && !r.is_null();
    const bool content_array = c.found() && !c.value.empty() && c.value.front() == '[';
    if (!(maybe_error || maybe_usage || fix_tools || odd_finish || reasoning || content_array)) {
      if (any_finish) finish_seen_ = true;
      emit(out, data);
      return StreamStatus::Continue;
    }

    json j = json_scan::parse(data);
    if (!j.is_object()) {
      emit(out, data);
      return StreamStatus::Continue;
    }
    // An error object, with or without choices (OpenRouter sends both, finish_reason "error").
    if (auto e = j.find("error"); e != j.end() && (e->is_object() || e->is_string())) {
      json only = {{"error", *e}};
      emit(out, dump(only));
      return StreamStatus::UpstreamError;
    }
    bool changed = false;
    if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
      bool fixed = compat::fix_usage(*u);
      usage_ = Usage::from_openai(*u);
      usage_from_chunk_ = true;
      auto ch = j.find("choices");
      if (ch == j.end() || (ch->is_array() && ch->empty())) {
        held_usage_ = fixed ? dump(j) : std::string(data);  // sent at the end, if asked for
        return StreamStatus::Continue;
      }
      // Usage riding on a choice chunk (Mistral, some local servers): sent apart, last.
      held_usage_ = usage_chunk(j, *u);
      j.erase("usage");
      changed = true;
    } else if (!usage_from_chunk_) {
      // Groq reports usage under x_groq on the last chunk.
      if (auto xg = j.find("x_groq"); xg != j.end() && xg->is_object()) {
        if (auto xu = xg->find("usage"); xu != xg->end() && xu->is_object()) {
          json uu = *xu;
          compat::fix_usage(uu);
          usage_ = Usage::from_openai(uu);
          held_usage_ = usage_chunk(j, uu);
        }
      }
    }
    bool insufficient = false;
    if (auto cs = j.find("choices"); cs != j.end() && cs->is_array()) {
      for (auto& choice : *cs) {
        if (!choice.is_object()) continue;
        int idx = 0;
        if (auto ix = choice.find("index"); ix != choice.end() && ix->is_number_integer()) {
          idx = ix->get<int>();
        }
        if (auto d = choice.find("delta"); d != choice.end() && d->is_object()) {
          changed |= compat::fix_message(*d);
          changed |= fix_tool_deltas(*d, idx);
        }
        auto fr = choice.find("finish_reason");
        if (fr == choice.end() || fr->is_null()) continue;
        finish_seen_ = true;
        if (!fr->is_string()) continue;
        const std::string& v = fr->get_ref<const std::string&>();
        if (v == "insufficient_system_resource") {
          insufficient = true;
          *fr = nullptr;
          changed = true;
        } else if (auto n = compat::normalize_finish_reason(v, saw_tool_calls_)) {
          *fr = std::string(*n);
          changed = true;
        }
      }
    }
    if (changed) {
      emit(out, dump(j));
    } else {
      emit(out, data);
    }
    if (insufficient) {
      // DeepSeek stopped for lack of capacity: the answer is cut short, say so.
      emit(out, R"({"error":{"message":"The upstream stopped generating: insufficient_system_resource","type":"server_error","param":null,"code":"insufficient_system_resource"}})");
      return StreamStatus::UpstreamError;
    }
    return StreamStatus::Continue;
  }

  // Fills a missing tool_calls[].index: a fragment with an id starts the next call, one without
  // continues the last.
  bool fix_tool_deltas(json& delta, int choice) {
    auto tcs = delta.find("tool_calls");
    if (tcs == delta.end() || !tcs->is_array() || choice < 0 || choice > 1024) return false;
    if (next_tool_.size() <= static_cast<size_t>(choice)) {
      next_tool_.resize(choice + 1, 0);
      last_tool_.resize(choice + 1, -1);
    }
    bool changed = false;
    for (auto& tc : *tcs) {
      if (!tc.is_object()) continue;
      auto id = tc.find("id");
      bool has_id = id != tc.end() && id->is_string() && !id->get_ref<const std::string&>().empty();
      auto ix = tc.find("index");
      if (ix != tc.end() && ix->is_number_integer()) {
        int v = ix->get<int>();
        last_tool_[choice] = v;
        next_tool_[choice] = std::max(next_tool_[choice], v + 1);
      } else {
        int v = (has_id || last_tool_[choice] < 0) ? next_tool_[choice]++ : last_tool_[choice];
        last_tool_[choice] = v;
        tc["index"] = v;
        changed = true;
      }
      if (has_id && !tc.contains("type")) {
        tc["type"] = "function";
        changed = true;
      }
    }
    return changed;
  }

  // {"id","object","created","model","choices":[],"usage"} from a chunk's identity.
  static std::string usage_chunk(const json& chunk, const json& usage) {
    json u = {{"id", str_member(chunk, "id")},
              {"object", "chat.completion.chunk"},
              {"created", member_or<int64_t>(chunk, "created", 0)},
              {"model", str_member(chunk, "model")},
              {"choices", json::array()},
              {"usage", usage}};
    if (auto o = chunk.find("object"); o != chunk.end() && o->is_string()) u["object"] = *o;
    return dump(u);
  }

  StreamStatus compat_finish(std::string& out) {
    if (done_) return StreamStatus::Done;
    done_ = true;
    if (!finish_seen_ && events_out_ > 0 && o_.endpoint == Endpoint::ChatCompletions) {
      // The host never said why it stopped: say "stop" (or "tool_calls").
      json first = json_scan::parse(first_chunk_);
      if (!first.is_object()) first = json::object();
      json fin = {{"id", str_member(first, "id")},
                  {"object", "chat.completion.chunk"},
                  {"created", member_or<int64_t>(first, "created", 0)},
                  {"model", str_member(first, "model")},
                  {"choices", json::array({{{"index", 0},
                                            {"delta", json::object()},
                                            {"finish_reason",
                                             saw_tool_calls_ ? "tool_calls" : "stop"}}})}};
      emit(out, dump(fin));
    }
    if (o_.client_wants_usage && !held_usage_.empty()) emit(out, held_usage_);
    return StreamStatus::Done;
  }

  StreamOptions o_;
  bool finish_seen_ = false;
  bool saw_tool_calls_ = false;
  bool usage_from_chunk_ = false;
  bool done_ = false;
  std::string first_chunk_;
  std::string held_usage_;
  std::vector<int> next_tool_;
  std::vector<int> last_tool_;
};

}  // namespace

std::string_view Member::string() const {
  if (!is_string() || value.size() < 2) return {};
  return value.substr(1, value.size() - 2);
}

Member scan_member(std::string_view text, std::string_view key, size_t from) {
  Member m;
  size_t pos = from;
  while ((pos = find_text(text, key, pos)) != std::string_view::npos) {
    size_t after = pos + key.size();
    bool quoted = pos > 0 && text[pos - 1] == '"' && after < text.size() && text[after] == '"' &&
                  !(pos > 1 && text[pos - 2] == '\\');
    if (quoted) {
      size_t i = skip_ws(text, after + 1);
      if (i < text.size() && text[i] == ':') {
        i = skip_ws(text, i + 1);
        size_t end = skip_value(text, i);
        m.key_pos = pos - 1;
        m.value = text.substr(i, end - i);
        m.end = end;
        return m;
      }
    }
    pos = after;
  }
  return m;
}

namespace {

bool escaped(std::string_view key) { return key.find('\\') != std::string_view::npos; }

// One element of "choices": does it need compat::fix_response? (Its tool calls decide whether a
// finish reason is normalised, as they do there.)
size_t scan_choice(std::string_view s, size_t i, AnswerScan& a) {
  using json_scan::skip_value;
  bool& needs_repair = a.needs_repair;
  if (s[i] != '{') return skip_value(s, i);
  std::string_view finish;
  bool tools = false;
  const size_t end = json_scan::walk_object(s, i, [&](std::string_view key, size_t v) -> size_t {
    a.escaped_key = a.escaped_key || escaped(key);
    if (key == "message" && s[v] == '{') {
      return json_scan::walk_object(s, v, [&](std::string_view mkey, size_t mv) -> size_t {
        a.escaped_key = a.escaped_key || escaped(mkey);
        const size_t mend = skip_value(s, mv);
        const std::string_view value = s.substr(mv, mend - mv);
        if (value.empty()) return mend;  // malformed: the walk stops here
        if (mkey == "tool_calls") {
          tools = tools || (value.front() == '[' && json_scan::skip_ws(value, 1) + 1 < value.size());
        } else if (mkey == "reasoning") {
          needs_repair = needs_repair || value != "null";
        } else if (mkey == "content") {
          needs_repair = needs_repair || value.front() == '[';
        }
        return mend;
      });
    }
    const size_t vend = skip_value(s, v);
    if (key == "finish_reason") finish = s.substr(v, vend - v);  // the last one counts
    return vend;
  });
  if (!finish.empty() && finish != "null") {
    const bool is_string = finish.size() >= 2 && finish.front() == '"';
    const std::string_view text = is_string ? finish.substr(1, finish.size() - 2) : finish;
    needs_repair = needs_repair || !is_string ||
                   compat::normalize_finish_reason(text, tools).has_value() ||
                   text == "insufficient_system_resource";
  }
  return end;
}

}  // namespace

AnswerScan scan_answer(std::string_view s) {
  AnswerScan a;
  const size_t start = json_scan::skip_ws(s, json_scan::bom_size(s));
  const size_t end = json_scan::walk_object(
      s, start, [&](std::string_view key, size_t v) -> size_t {
        a.escaped_key = a.escaped_key || escaped(key);
        if (key == "choices") {
          a.choices = true;
          if (s[v] == '[') {
            return json_scan::walk_array(s, v, [&](size_t c) { return scan_choice(s, c, a); });
          }
        }
        const size_t vend = json_scan::skip_value(s, v);
        if (key == "usage") {
          a.usage = s.substr(v, vend - v);
        } else if (key == "error") {
          a.error = s.substr(v, vend - v);
        } else if (key == "data") {
          a.data = true;
        }
        return vend;
      });
  a.object = end != std::string_view::npos;
  return a;
}

std::string_view endpoint_path(Endpoint e) {
  switch (e) {
    case Endpoint::ChatCompletions: return "/chat/completions";
    case Endpoint::Completions: return "/completions";
    case Endpoint::Embeddings: return "/embeddings";
    case Endpoint::Responses: return "/responses";
    case Endpoint::AudioTranscriptions: return "/audio/transcriptions";
    case Endpoint::AudioTranslations: return "/audio/translations";
    case Endpoint::AudioSpeech: return "/audio/speech";
    case Endpoint::ImagesGenerations: return "/images/generations";
    case Endpoint::ImagesEdits: return "/images/edits";
    case Endpoint::ImagesVariations: return "/images/variations";
    case Endpoint::Moderations: return "/moderations";
    case Endpoint::Rerank: return "/rerank";
  }
  return "/chat/completions";
}

UpstreamRequest base_request(const ClientRequest& req, const BuildContext& ctx) {
  const auto& provider = ctx.provider;
  UpstreamRequest out;
  out.path = endpoint_path(req.endpoint);
  out.headers.reserve(3 + provider.headers.size());
  out.headers.emplace_back("Content-Type", content_type(req));
  if (!ctx.api_key.empty()) {
    out.headers.emplace_back("Authorization", "Bearer " + std::string(ctx.api_key));
  }
  if (req.stream) out.headers.emplace_back("Accept", "text/event-stream");
  for (const auto& [name, value] : provider.headers) out.headers.emplace_back(name, value);
  return out;
}

namespace {

// An integer member as nlohmann sees it: present only when the value is an integer literal.
struct IntMember {
  bool present = false;
  int64_t v = 0;
};

// false when only the parser can tell (an integer beyond int64: unsigned or floating there).
bool read_int(std::string_view v, IntMember& into) {
  into = {};
  if (v.empty() || !(v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))) return true;  // not a number
  if (v.find_first_of(".eE") != std::string_view::npos) return true;               // floating
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), into.v);
  if (ec != std::errc() || end != v.data() + v.size()) return false;
  into.present = true;
  return true;
}

bool add(int64_t a, int64_t b, int64_t& out) { return !__builtin_add_overflow(a, b, &out); }

}  // namespace

std::optional<Usage> scan_usage(std::string_view text, bool compat, bool known_valid) {
  if (!known_valid && !json_scan::valid(text)) return Usage{};
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a BOM, as the parser skips it
  size_t at = skip_ws(text, 0);
  if (at >= text.size() || text[at] != '{') return Usage{};
  text.remove_prefix(at);
  IntMember p, c, t, hit, cached, cache_write, reasoning;
  bool exact = true;
  // A repeated key: the last one counts, as in the parser's document.
  auto details = [&](std::string_view v, std::initializer_list<std::pair<std::string_view, IntMember*>> want) {
    for (auto& [name, m] : want) *m = {};
    json_scan::for_each_member(v, [&](std::string_view key, size_t b, size_t e) {
      if (key.find('\\') != std::string_view::npos) exact = false;
      for (auto& [name, m] : want) {
        if (key == name && !read_int(v.substr(b, e - b), *m)) exact = false;
      }
      return exact;
    });
  };
  json_scan::for_each_member(text, [&](std::string_view key, size_t b, size_t e) {
    std::string_view v = text.substr(b, e - b);
    if (key.find('\\') != std::string_view::npos) exact = false;
    else if (key == "prompt_tokens") exact = read_int(v, p);
    else if (key == "completion_tokens") exact = read_int(v, c);
    else if (key == "total_tokens") exact = read_int(v, t);
    else if (key == "prompt_cache_hit_tokens") exact = read_int(v, hit);
    else if (key == "prompt_tokens_details") details(v, {{"cached_tokens", &cached}, {"cache_write_tokens", &cache_write}});
    else if (key == "completion_tokens_details") details(v, {{"reasoning_tokens", &reasoning}});
    return exact;
  });
  if (!exact) return std::nullopt;
  if (compat) {  // compat::fix_usage's three repairs: leave them to it
    int64_t pc = 0, pcr = 0;
    if (!add(p.v, c.v, pc) || !add(pc, reasoning.v, pcr)) return std::nullopt;
    if (reasoning.v > 0 && p.present && c.present && t.present && t.v == pcr) return std::nullopt;
    if (hit.present && hit.v > 0 && cached.v == 0) return std::nullopt;
    if ((p.present || c.present) && (!t.present || t.v < pc)) return std::nullopt;
  }
  Usage u;
  u.present = true;
  u.input = p.v;
  u.output = c.v;
  u.cached_read = cached.v != 0 ? cached.v : hit.v;
  u.cache_write = cache_write.v;
  u.reasoning = reasoning.v;
  return u;
}

Response pass_through_response(std::string&& body) {
  Response r;
  std::string_view usage_text = find_top_level_member(body, "usage");
  if (!usage_text.empty()) {
    auto scanned = scan_usage(usage_text, false, /*known_valid=*/true);
    r.usage = scanned ? *scanned : Usage::from_openai(json_scan::parse(usage_text));
  }
  r.body = std::move(body);
  return r;
}

namespace {

// The client's bytes with the top-level "model" value replaced, when that is the whole change:
// nullopt unless "model" is a literal top-level key exactly once and the text has as many
// top-level members as the parsed body (a duplicate or an escaped spelling of a key would make
// the upstream read another model than the one routed and priced).
std::optional<std::string> splice_if_whole(std::string_view raw, size_t members,
                                           std::string_view upstream_model) {
  size_t count = 0, model_begin = 0, model_end = 0;
  int models = 0;
  bool whole = json_scan::for_each_member(raw, [&](std::string_view key, size_t begin, size_t end) {
    ++count;
    if (key == "model") {
      ++models;
      model_begin = begin;
      model_end = end;
    }
    return true;
  });
  if (!whole || models != 1 || count != members) return std::nullopt;
  if (raw.substr(0, 3) == "\xEF\xBB\xBF") return std::nullopt;  // re-serialised without the BOM
  std::string out;
  out.reserve(raw.size() + upstream_model.size());
  out.append(raw.substr(0, model_begin));
  append_json_string(out, upstream_model);
  out.append(raw.substr(model_end));
  return out;
}

}  // namespace

std::string content_type(const ClientRequest& req) {
  if (!req.form) return "application/json";
  return "multipart/form-data; boundary=" + req.form->boundary;
}

bool set_upload_body(const ClientRequest& req, std::string_view upstream_model,
                     UpstreamRequest& out) {
  if (!req.form) return false;
  auto emitted = multipart::emit(*req.form, req.raw_body, {{"model", std::string(upstream_model)}});
  if (!emitted) {  // the model would break the framing (the media codec refuses such names)
    out.body.assign(req.raw_body);
    return true;
  }
  out.body = std::move(emitted->head);
  out.body_pieces = std::move(emitted->pieces);
  return true;
}

std::string serialize_body(const json& body, const ClientRequest& req,
                           std::string_view upstream_model, bool ask_stream_usage) {
  // Unchanged but for the model (the body is the client's own, no stream_options to add).
  if (req.has_doc() && &body == &req.doc() && !req.raw_body.empty() &&
      !(req.stream && ask_stream_usage)) {
    if (auto spliced = splice_if_whole(req.raw_body, body.size(), upstream_model)) return *spliced;
  }
  std::string out;
  out.reserve(256);
  out += '{';
  bool first = true;
  auto key = [&](std::string_view k) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, k);
    out += ':';
  };
  bool wrote_stream_options = false;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (it.key() == "model") {
      key("model");
      append_json_string(out, upstream_model);
    } else if (it.key() == "stream_options" && req.stream && ask_stream_usage) {
      key("stream_options");
      json opts = it->is_object() ? *it : json::object();
      opts["include_usage"] = true;
      append_json(out, opts);
      wrote_stream_options = true;
    } else {
      key(it.key());
      append_json(out, *it);
    }
  }
  if (req.stream && ask_stream_usage && !wrote_stream_options &&
      req.endpoint != Endpoint::Embeddings) {
    key("stream_options");
    out += R"({"include_usage":true})";
  }
  out += '}';
  return out;
}

std::string serialize_body(const ClientRequest& req, std::string_view upstream_model,
                           bool ask_stream_usage) {
  const std::string_view raw = req.raw_body;
  if (req.raw_spans && json_scan::bom_size(raw) == 0) {  // the BOM is not sent on
    const auto& at = *req.raw_spans;
    const bool add_usage = req.stream && ask_stream_usage && req.endpoint != Endpoint::Embeddings &&
                           !req.client_wants_usage;
    // A client's own stream_options without include_usage: true is edited in the document.
    if (!add_usage || !req.fields().contains("stream_options")) {
      return providers::splice_model(raw, at, upstream_model,
                                     add_usage ? R"(,"stream_options":{"include_usage":true})" : "");
    }
  }
  return serialize_body(req.doc(), req, upstream_model, ask_stream_usage);
}

std::unique_ptr<StreamTranslator> make_chunk_stream(const StreamOptions& options) {
  return std::make_unique<ChunkStream>(options);
}

}  // namespace tg::providers::openai_wire
