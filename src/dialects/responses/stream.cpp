// Chat SSE chunks -> the Responses event stream, written as the chunks arrive. The events have
// fixed shapes: they are written as JSON text (json_text.hpp), not built as DOMs and dumped. A
// chunk that carries only text (nearly all of a stream) is read by scanning it; any other chunk
// (usage, tool calls, reasoning, an error, anything unusual) is parsed whole.

#include <algorithm>

#include "internal.hpp"
#include "json_text.hpp"
#include "tollgate/providers/json_scan.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::dialects::responses {

using namespace detail;
namespace js = providers::json_scan;

namespace {

void end_event(ObjectWriter& w) {
  w.close();
  w.out() += "\n\n";
}

void write_text_part(std::string& out, bool refusal, std::string_view text) {
  ObjectWriter p(out);
  if (refusal) {
    p.word("type", "refusal").str("refusal", text);
  } else {
    p.word("type", "output_text").str("text", text).raw("annotations", "[]").raw("logprobs", "[]");
  }
  p.close();
}

void write_summary_part(std::string& out, std::string_view text) {
  ObjectWriter(out).word("type", "summary_text").str("text", text).close();
}

}  // namespace

StreamConverter::StreamConverter(ResponseInfo info)
    : info_(std::move(info)), tools_(tool_names(info_)) {
  write_skeleton(skeleton_, info_);  // the members that never change during the stream, once
}

ObjectWriter StreamConverter::event(std::string& out, std::string_view type) {
  out += "event: ";
  out += type;
  out += "\ndata: ";
  ObjectWriter w(out);
  w.word("type", type).num("sequence_number", seq_++);
  return w;
}

void StreamConverter::write_response(std::string& out, std::string_view status,
                                     const char* incomplete, const Error* error,
                                     bool with_usage) const {
  out += skeleton_;
  write_response_tail(out, status, output_, incomplete, error, with_usage ? &usage_ : nullptr);
}

void StreamConverter::terminal(std::string& out, std::string_view type, std::string_view status,
                               const char* incomplete, const Error* error, bool with_usage) {
  response_text_.clear();
  write_response(response_text_, status, incomplete, error, with_usage);
  parsed_.reset();
  auto w = event(out, type);
  w.raw("response", response_text_);
  end_event(w);
  done_ = true;
}

void StreamConverter::add_output(std::string& out, int index) {
  auto w = event(out, "response.output_item.done");
  w.num("output_index", index).raw("item", item_);
  end_event(w);
  if (!output_.empty()) output_ += ',';
  output_ += item_;
}

void StreamConverter::start(std::string& out) {
  if (started_) return;
  started_ = true;
  response_text_.clear();
  write_response(response_text_, "in_progress", nullptr, nullptr, false);
  parsed_.reset();
  for (const char* type : {"response.created", "response.in_progress"}) {
    auto w = event(out, type);
    w.raw("response", response_text_);
    end_event(w);
  }
}

void StreamConverter::open_reasoning(std::string& out) {
  close_current(out);
  close_calls(out);
  open_ = Kind::Reasoning;
  open_index_ = next_index_++;
  open_id_ = new_id("rs_", info_.random);
  text_.clear();
  {
    auto w = event(out, "response.output_item.added");
    w.num("output_index", open_index_).key("item");
    ObjectWriter(out).word("id", open_id_).word("type", "reasoning").raw("summary", "[]").close();
    end_event(w);
  }
  auto w = event(out, "response.reasoning_summary_part.added");
  w.word("item_id", open_id_).num("output_index", open_index_).num("summary_index", 0).key("part");
  write_summary_part(out, "");
  end_event(w);
}

void StreamConverter::open_message(bool refusal, std::string& out) {
  close_current(out);
  close_calls(out);
  open_ = Kind::Message;
  refusal_ = refusal;
  open_index_ = next_index_++;
  open_id_ = new_id("msg_", info_.random);
  text_.clear();
  {
    auto w = event(out, "response.output_item.added");
    w.num("output_index", open_index_).key("item");
    ObjectWriter(out)
        .word("id", open_id_)
        .word("type", "message")
        .word("status", "in_progress")
        .word("role", "assistant")
        .raw("content", "[]")
        .close();
    end_event(w);
  }
  auto w = event(out, "response.content_part.added");
  w.word("item_id", open_id_).num("output_index", open_index_).num("content_index", 0).key("part");
  write_text_part(out, refusal, "");
  end_event(w);
}

void StreamConverter::close_current(std::string& out) {
  if (open_ == Kind::None) return;
  item_.clear();
  if (open_ == Kind::Reasoning) {
    {
      auto w = event(out, "response.reasoning_summary_text.done");
      w.word("item_id", open_id_).num("output_index", open_index_).num("summary_index", 0);
      w.str("text", text_);
      end_event(w);
    }
    auto w = event(out, "response.reasoning_summary_part.done");
    w.word("item_id", open_id_).num("output_index", open_index_).num("summary_index", 0).key("part");
    write_summary_part(out, text_);
    end_event(w);
    ObjectWriter item(item_);
    item.word("id", open_id_).word("type", "reasoning").key("summary");
    item_ += '[';
    write_summary_part(item_, text_);
    item_ += ']';
    if (!signature_.empty()) item.str("encrypted_content", std::string(kSignaturePrefix) + signature_);
    item.close();
    signature_.clear();
  } else {
    {
      auto w = event(out, refusal_ ? "response.refusal.done" : "response.output_text.done");
      w.word("item_id", open_id_).num("output_index", open_index_).num("content_index", 0);
      if (refusal_) {
        w.str("refusal", text_);
      } else {
        w.str("text", text_).raw("logprobs", "[]");
      }
      end_event(w);
    }
    auto w = event(out, "response.content_part.done");
    w.word("item_id", open_id_).num("output_index", open_index_).num("content_index", 0).key("part");
    write_text_part(out, refusal_, text_);
    end_event(w);
    bool cut = finish_reason_ == "length" || finish_reason_ == "content_filter";
    ObjectWriter item(item_);
    item.word("id", open_id_)
        .word("type", "message")
        .word("status", cut ? "incomplete" : "completed")
        .word("role", "assistant")
        .key("content");
    item_ += '[';
    write_text_part(item_, refusal_, text_);
    item_ += ']';
    item.close();
  }
  add_output(out, open_index_);
  open_ = Kind::None;
  text_.clear();
}

void StreamConverter::write_call_item(const Call& c, std::string_view status,
                                      std::string_view value) {
  item_.clear();
  ObjectWriter item(item_);
  item.word("id", c.item_id)
      .word("type", c.custom ? "custom_tool_call" : "function_call")
      .word("status", status)
      .str(c.custom ? "input" : "arguments", value)
      .str("call_id", c.call_id)
      .str("name", c.name);
  if (!c.ns.empty()) item.str("namespace", c.ns);
  item.close();
}

void StreamConverter::close_calls(std::string& out) {
  std::vector<Call*> open;
  for (auto& [k, c] : calls_) {
    if (c.open) open.push_back(&c);
  }
  std::sort(open.begin(), open.end(),
            [](const Call* a, const Call* b) { return a->output_index < b->output_index; });
  for (Call* c : open) {
    c->open = false;
    if (c->custom) {
      std::string input = custom_input(c->arguments);
      if (!input.empty()) {
        auto w = event(out, "response.custom_tool_call_input.delta");
        w.word("item_id", c->item_id).num("output_index", c->output_index).str("delta", input);
        end_event(w);
      }
      auto w = event(out, "response.custom_tool_call_input.done");
      w.word("item_id", c->item_id).num("output_index", c->output_index).str("input", input);
      end_event(w);
      write_call_item(*c, "completed", input);
    } else {
      auto w = event(out, "response.function_call_arguments.done");
      w.word("item_id", c->item_id).num("output_index", c->output_index);
      w.str("name", c->name).str("arguments", c->arguments);
      end_event(w);
      write_call_item(*c, "completed", c->arguments);
    }
    add_output(out, c->output_index);
  }
}

// Calls stay open together (a provider may send their fragments interleaved; each delta names
// its item) until other output or the end closes them.
void StreamConverter::on_tool_call(const json& call, std::string& out) {
  const json* ix = member(call, "index");
  int64_t k = ix && ix->is_number_integer() ? ix->get<int64_t>() : 0;
  const json* fn = member(call, "function");
  auto it = calls_.find(k);
  if (it == calls_.end()) {
    close_current(out);
    Call c;
    c.output_index = next_index_++;
    ToolRef tool = tool_of(tools_, str_of(member(fn, "name")));
    c.name = std::move(tool.name);
    c.ns = std::move(tool.ns);
    c.custom = tool.custom;
    c.item_id = new_id(c.custom ? "ctc_" : "fc_", info_.random);
    c.call_id = std::string(str_of(member(call, "id")));
    if (c.call_id.empty()) c.call_id = new_id("call_", info_.random);
    write_call_item(c, "in_progress", "");
    auto w = event(out, "response.output_item.added");
    w.num("output_index", c.output_index).raw("item", item_);
    end_event(w);
    it = calls_.emplace(k, std::move(c)).first;
  }
  Call& c = it->second;
  if (!c.open) return;  // a fragment after its item was closed: nothing valid to say any more
  const json* args = member(fn, "arguments");
  std::string piece = args && args->is_string()   ? args->get<std::string>()
                      : args && args->is_object() ? dump(*args)
                                                  : std::string();
  if (piece.empty()) return;
  c.arguments += piece;
  if (c.custom) return;
  auto w = event(out, "response.function_call_arguments.delta");
  w.word("item_id", c.item_id).num("output_index", c.output_index).str("delta", piece);
  end_event(w);
}

void StreamConverter::on_text(std::string_view text, bool refusal, std::string& out) {
  if (open_ != Kind::Message || refusal_ != refusal) open_message(refusal, out);
  text_ += text;
  auto w = event(out, refusal ? "response.refusal.delta" : "response.output_text.delta");
  w.word("item_id", open_id_).num("output_index", open_index_).num("content_index", 0);
  w.str("delta", text);
  if (!refusal) w.raw("logprobs", "[]");
  end_event(w);
}

void StreamConverter::on_finish(std::string_view reason, std::string& out) {
  finish_reason_ = std::string(reason);
  close_current(out);
  close_calls(out);
}

void StreamConverter::on_chunk(const json& chunk, std::string& out) {
  if (const json* err = member(chunk, "error"); err && !member(chunk, "choices")) {
    Error e;
    e.code = ErrorCode::UpstreamProtocol;
    e.status = 502;
    e.type = std::string(str_of(member(err, "type")));
    e.code_str = std::string(str_of(member(err, "code")));
    e.message = std::string(str_of(member(err, "message")));
    if (e.message.empty()) e.message = "upstream stream error";
    fail(e, out);
    return;
  }
  if (const json* u = member(chunk, "usage"); u && u->is_object()) {
    usage_ = providers::Usage::from_openai(*u);
  }
  start(out);
  const json* choices = member(chunk, "choices");
  if (!choices || !choices->is_array()) return;
  for (const auto& c : *choices) {
    if (const json* idx = member(c, "index");
        idx && idx->is_number_integer() && idx->get<int64_t>() != 0) {
      continue;  // a Response has one answer
    }
    const json* d = member(c, "delta");
    std::string_view reasoning = str_of(member(d, "reasoning_content"));
    if (reasoning.empty()) reasoning = str_of(member(d, "reasoning"));
    if (!reasoning.empty()) {
      if (open_ != Kind::Reasoning) open_reasoning(out);
      text_ += reasoning;
      auto w = event(out, "response.reasoning_summary_text.delta");
      w.word("item_id", open_id_).num("output_index", open_index_).num("summary_index", 0);
      w.str("delta", reasoning);
      end_event(w);
    }
    if (const json* tb = member(d, "thinking_blocks"); tb && tb->is_array()) {
      for (const auto& b : *tb) {
        std::string_view type = str_of(member(b, "type"));
        if (type == "thinking" && open_ == Kind::Reasoning) {
          signature_ = std::string(str_of(member(b, "signature")));
        } else if (type == "redacted_thinking") {
          // Nothing to show, but Claude needs it back: an item with no summary.
          close_current(out);
          close_calls(out);
          item_.clear();
          ObjectWriter(item_)
              .word("id", new_id("rs_", info_.random))
              .word("type", "reasoning")
              .raw("summary", "[]")
              .str("encrypted_content",
                   std::string(kRedactedPrefix) + std::string(str_of(member(b, "data"))))
              .close();
          int index = next_index_++;
          auto w = event(out, "response.output_item.added");
          w.num("output_index", index).raw("item", item_);
          end_event(w);
          add_output(out, index);
        }
      }
    }
    for (bool refusal : {false, true}) {
      std::string_view text = str_of(member(d, refusal ? "refusal" : "content"));
      if (!text.empty()) on_text(text, refusal, out);
    }
    if (const json* calls = member(d, "tool_calls"); calls && calls->is_array()) {
      for (const auto& call : *calls) on_tool_call(call, out);
    }
    if (std::string_view finish = str_of(member(c, "finish_reason")); !finish.empty()) {
      on_finish(finish, out);
    }
  }
}

namespace {

constexpr size_t kBad = std::string_view::npos;

// Walks the object at s[i] in one pass: fn(key, value_begin) reads or skips the value itself and
// returns the index after it (kBad to stop: not the expected shape). Returns the index after the
// object, or kBad. Keys as written (escapes kept).
template <class Fn>
size_t walk_object(std::string_view s, size_t i, Fn&& fn) {
  if (i >= s.size() || s[i] != '{') return kBad;
  i = js::skip_ws(s, i + 1);
  if (i < s.size() && s[i] == '}') return i + 1;
  while (i < s.size()) {
    if (s[i] != '"') return kBad;
    size_t key_end = js::skip_string(s, i);
    if (key_end >= s.size() || key_end < i + 2) return kBad;
    std::string_view key = s.substr(i + 1, key_end - i - 2);
    if (key.find('\\') != std::string_view::npos) return kBad;  // let the parser judge
    i = js::skip_ws(s, key_end);
    if (i >= s.size() || s[i] != ':') return kBad;
    i = js::skip_ws(s, i + 1);
    if (i >= s.size()) return kBad;
    size_t e = fn(key, i);
    if (e == kBad || e > s.size()) return kBad;
    i = js::skip_ws(s, e);
    if (i < s.size() && s[i] == '}') return i + 1;
    if (i >= s.size() || s[i] != ',') return kBad;
    i = js::skip_ws(s, i + 1);
  }
  return kBad;
}

}  // namespace

// The common chunk: {"choices":[{"index":0,"delta":{"content":"..."},"finish_reason":...}], ...}
// with no usage, error, tool calls, reasoning or refusal. Read by scanning it once; false
// (nothing done) for any other chunk, which on_chunk then reads whole. Members other than those
// are skipped, not validated (as a pass-through does not validate them).
bool StreamConverter::on_plain_chunk(std::string_view data, std::string& out) {
  std::string_view content, finish;
  auto skip = [&](size_t b) { return js::skip_value(data, b); };
  auto null_or = [&](size_t b, std::string_view& raw) {  // a value, "" when null
    size_t e = skip(b);
    raw = data.substr(b, e - b);
    if (raw == "null") raw = {};
    return e;
  };
  auto on_delta = [&](std::string_view key, size_t b) -> size_t {
    std::string_view raw;
    size_t e = null_or(b, raw);
    if (key == "content") {
      content = raw;
    } else if (!raw.empty() && (key == "refusal" || key == "reasoning_content" ||
                                key == "reasoning" || key == "thinking_blocks" ||
                                key == "tool_calls")) {
      return kBad;
    }
    return e;
  };
  auto on_choice = [&](std::string_view key, size_t b) -> size_t {
    if (key == "delta" && data[b] == '{') return walk_object(data, b, on_delta);
    std::string_view raw;
    size_t e = null_or(b, raw);
    if (key == "index" && !raw.empty() && raw != "0") return kBad;  // another answer, or odd
    if (key == "delta" && !raw.empty()) return kBad;
    if (key == "finish_reason") finish = raw;
    return e;
  };
  auto on_choices = [&](size_t b) -> size_t {
    if (data[b] != '[') {
      std::string_view raw;
      size_t e = null_or(b, raw);
      return raw.empty() ? e : kBad;
    }
    size_t i = js::skip_ws(data, b + 1);
    if (i < data.size() && data[i] == ']') return i + 1;
    i = walk_object(data, i, on_choice);
    if (i == kBad) return kBad;
    i = js::skip_ws(data, i);
    return i < data.size() && data[i] == ']' ? i + 1 : kBad;  // one choice only
  };
  size_t end = walk_object(data, js::skip_ws(data, 0), [&](std::string_view key, size_t b) {
    if (key == "choices") return on_choices(b);
    std::string_view raw;
    size_t e = null_or(b, raw);
    return (key == "usage" || key == "error") && !raw.empty() ? kBad : e;
  });
  if (end == kBad || js::skip_ws(data, end) != data.size()) return false;
  std::string content_buf, finish_buf;
  std::optional<std::string_view> text, reason;
  if (!content.empty() && !(text = json_string_value(content, content_buf))) return false;
  if (!finish.empty() && !(reason = json_string_value(finish, finish_buf))) return false;
  start(out);
  if (text && !text->empty()) on_text(*text, false, out);
  if (reason && !reason->empty()) on_finish(*reason, out);
  return true;
}

void StreamConverter::feed(std::string_view bytes, std::string& out) {
  chunks_.feed(bytes, done_, [&](std::string_view data) {
    if (on_plain_chunk(data, out)) return;
    json chunk = providers::json_scan::parse(data);
    if (chunk.is_object()) on_chunk(chunk, out);
  });
}

void StreamConverter::finish(std::string& out) {
  if (done_) return;
  start(out);
  close_current(out);
  close_calls(out);
  const char* incomplete = finish_reason_ == "length"           ? "max_output_tokens"
                           : finish_reason_ == "content_filter" ? "content_filter"
                                                                : nullptr;
  terminal(out, incomplete ? "response.incomplete" : "response.completed",
           incomplete ? "incomplete" : "completed", incomplete, nullptr, true);
}

void StreamConverter::fail(const Error& e, std::string& out) {
  if (done_) return;
  // What was cut short is not reported as finished items: only those already closed.
  terminal(out, "response.failed", "failed", nullptr, &e, usage_.present);
}

const json& StreamConverter::response() const {
  if (!parsed_) {
    if (response_text_.empty()) {  // not started: the Response as it would start
      std::string text;
      write_response(text, "in_progress", nullptr, nullptr, false);
      parsed_ = providers::json_scan::parse(text);
    } else {
      parsed_ = providers::json_scan::parse(response_text_);
    }
  }
  return *parsed_;
}

}  // namespace tg::dialects::responses
