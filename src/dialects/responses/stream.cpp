// Chat SSE chunks -> the Responses event stream, written as the chunks arrive.

#include <algorithm>

#include "internal.hpp"

namespace tg::dialects::responses {

using namespace detail;

StreamConverter::StreamConverter(ResponseInfo info)
    : info_(std::move(info)), tools_(tool_names(info_)) {
  response_ = response_skeleton(info_, "in_progress");
}

void StreamConverter::emit(std::string& out, std::string_view type, json data) {
  data["type"] = type;
  data["sequence_number"] = seq_++;
  out += "event: ";
  out += type;
  out += "\ndata: ";
  out += dump(data);
  out += "\n\n";
}

json StreamConverter::snapshot(std::string_view status) const {
  json r = response_skeleton(info_, status);
  r["output"] = output_;
  return r;
}

void StreamConverter::start(std::string& out) {
  if (started_) return;
  started_ = true;
  response_ = snapshot("in_progress");
  emit(out, "response.created", {{"response", response_}});
  emit(out, "response.in_progress", {{"response", response_}});
}

void StreamConverter::open_reasoning(std::string& out) {
  close_current(out);
  close_calls(out);
  open_ = Kind::Reasoning;
  open_index_ = next_index_++;
  open_id_ = new_id("rs_", info_.random);
  text_.clear();
  emit(out, "response.output_item.added",
       {{"output_index", open_index_},
        {"item", {{"id", open_id_}, {"type", "reasoning"}, {"summary", json::array()}}}});
  emit(out, "response.reasoning_summary_part.added",
       {{"item_id", open_id_},
        {"output_index", open_index_},
        {"summary_index", 0},
        {"part", {{"type", "summary_text"}, {"text", ""}}}});
}

void StreamConverter::open_message(bool refusal, std::string& out) {
  close_current(out);
  close_calls(out);
  open_ = Kind::Message;
  refusal_ = refusal;
  open_index_ = next_index_++;
  open_id_ = new_id("msg_", info_.random);
  text_.clear();
  emit(out, "response.output_item.added",
       {{"output_index", open_index_},
        {"item",
         {{"id", open_id_},
          {"type", "message"},
          {"status", "in_progress"},
          {"role", "assistant"},
          {"content", json::array()}}}});
  json part = refusal ? json{{"type", "refusal"}, {"refusal", ""}}
                      : json{{"type", "output_text"},
                             {"text", ""},
                             {"annotations", json::array()},
                             {"logprobs", json::array()}};
  emit(out, "response.content_part.added",
       {{"item_id", open_id_}, {"output_index", open_index_}, {"content_index", 0}, {"part", part}});
}

void StreamConverter::close_current(std::string& out) {
  if (open_ == Kind::None) return;
  json item;
  if (open_ == Kind::Reasoning) {
    json part = {{"type", "summary_text"}, {"text", text_}};
    emit(out, "response.reasoning_summary_text.done",
         {{"item_id", open_id_}, {"output_index", open_index_}, {"summary_index", 0}, {"text", text_}});
    emit(out, "response.reasoning_summary_part.done",
         {{"item_id", open_id_}, {"output_index", open_index_}, {"summary_index", 0}, {"part", part}});
    item = {{"id", open_id_}, {"type", "reasoning"}, {"summary", json::array({part})}};
    if (!signature_.empty()) item["encrypted_content"] = std::string(kSignaturePrefix) + signature_;
    signature_.clear();
  } else {
    json part;
    if (refusal_) {
      part = {{"type", "refusal"}, {"refusal", text_}};
      emit(out, "response.refusal.done",
           {{"item_id", open_id_}, {"output_index", open_index_}, {"content_index", 0}, {"refusal", text_}});
    } else {
      part = {{"type", "output_text"},
              {"text", text_},
              {"annotations", json::array()},
              {"logprobs", json::array()}};
      emit(out, "response.output_text.done",
           {{"item_id", open_id_},
            {"output_index", open_index_},
            {"content_index", 0},
            {"text", text_},
            {"logprobs", json::array()}});
    }
    emit(out, "response.content_part.done",
         {{"item_id", open_id_}, {"output_index", open_index_}, {"content_index", 0}, {"part", part}});
    bool cut = finish_reason_ == "length" || finish_reason_ == "content_filter";
    item = {{"id", open_id_},
            {"type", "message"},
            {"status", cut ? "incomplete" : "completed"},
            {"role", "assistant"},
            {"content", json::array({std::move(part)})}};
  }
  emit(out, "response.output_item.done", {{"output_index", open_index_}, {"item", item}});
  output_.push_back(std::move(item));
  open_ = Kind::None;
  text_.clear();
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
        emit(out, "response.custom_tool_call_input.delta",
             {{"item_id", c->item_id}, {"output_index", c->output_index}, {"delta", input}});
      }
      emit(out, "response.custom_tool_call_input.done",
           {{"item_id", c->item_id}, {"output_index", c->output_index}, {"input", input}});
      json item = {{"id", c->item_id},
                   {"type", "custom_tool_call"},
                   {"status", "completed"},
                   {"call_id", c->call_id},
                   {"name", c->name},
                   {"input", std::move(input)}};
      if (!c->ns.empty()) item["namespace"] = c->ns;
      emit(out, "response.output_item.done", {{"output_index", c->output_index}, {"item", item}});
      output_.push_back(std::move(item));
      continue;
    }
    emit(out, "response.function_call_arguments.done",
         {{"item_id", c->item_id},
          {"output_index", c->output_index},
          {"name", c->name},
          {"arguments", c->arguments}});
    json item = {{"id", c->item_id},
                 {"type", "function_call"},
                 {"status", "completed"},
                 {"arguments", c->arguments},
                 {"call_id", c->call_id},
                 {"name", c->name}};
    if (!c->ns.empty()) item["namespace"] = c->ns;
    emit(out, "response.output_item.done", {{"output_index", c->output_index}, {"item", item}});
    output_.push_back(std::move(item));
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
    json item = {{"id", c.item_id},
                 {"type", c.custom ? "custom_tool_call" : "function_call"},
                 {"status", "in_progress"},
                 {c.custom ? "input" : "arguments", ""},
                 {"call_id", c.call_id},
                 {"name", c.name}};
    if (!c.ns.empty()) item["namespace"] = c.ns;
    emit(out, "response.output_item.added", {{"output_index", c.output_index}, {"item", std::move(item)}});
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
  emit(out, "response.function_call_arguments.delta",
       {{"item_id", c.item_id}, {"output_index", c.output_index}, {"delta", std::move(piece)}});
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
      emit(out, "response.reasoning_summary_text.delta",
           {{"item_id", open_id_},
            {"output_index", open_index_},
            {"summary_index", 0},
            {"delta", reasoning}});
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
          json item = {{"id", new_id("rs_", info_.random)},
                       {"type", "reasoning"},
                       {"summary", json::array()},
                       {"encrypted_content",
                        std::string(kRedactedPrefix) + std::string(str_of(member(b, "data")))}};
          int index = next_index_++;
          emit(out, "response.output_item.added", {{"output_index", index}, {"item", item}});
          emit(out, "response.output_item.done", {{"output_index", index}, {"item", item}});
          output_.push_back(std::move(item));
        }
      }
    }
    for (bool refusal : {false, true}) {
      std::string_view text = str_of(member(d, refusal ? "refusal" : "content"));
      if (text.empty()) continue;
      if (open_ != Kind::Message || refusal_ != refusal) open_message(refusal, out);
      text_ += text;
      emit(out, refusal ? "response.refusal.delta" : "response.output_text.delta",
           refusal ? json{{"item_id", open_id_},
                          {"output_index", open_index_},
                          {"content_index", 0},
                          {"delta", text}}
                   : json{{"item_id", open_id_},
                          {"output_index", open_index_},
                          {"content_index", 0},
                          {"delta", text},
                          {"logprobs", json::array()}});
    }
    if (const json* calls = member(d, "tool_calls"); calls && calls->is_array()) {
      for (const auto& call : *calls) on_tool_call(call, out);
    }
    if (std::string_view finish = str_of(member(c, "finish_reason")); !finish.empty()) {
      finish_reason_ = std::string(finish);
      close_current(out);
      close_calls(out);
    }
  }
}

void StreamConverter::feed(std::string_view bytes, std::string& out) {
  if (done_) return;
  events_.clear();
  decoder_.feed(bytes, events_);
  for (const auto& ev : events_) {
    if (done_) return;
    if (ev.data == "[DONE]") continue;  // finish() ends the Response
    json chunk = json::parse(ev.data, nullptr, false);
    if (!chunk.is_object()) continue;
    on_chunk(chunk, out);
  }
}

void StreamConverter::finish(std::string& out) {
  if (done_) return;
  start(out);
  close_current(out);
  close_calls(out);
  const char* incomplete = finish_reason_ == "length"           ? "max_output_tokens"
                           : finish_reason_ == "content_filter" ? "content_filter"
                                                                : nullptr;
  response_ = snapshot(incomplete ? "incomplete" : "completed");
  if (incomplete) response_["incomplete_details"] = {{"reason", incomplete}};
  response_["usage"] = responses_usage(usage_);
  emit(out, incomplete ? "response.incomplete" : "response.completed", {{"response", response_}});
  done_ = true;
}

void StreamConverter::fail(const Error& e, std::string& out) {
  if (done_) return;
  // What was cut short is not reported as finished items: only those already closed.
  response_ = snapshot("failed");
  std::string code = e.code_str;
  if (code.empty()) code = e.status == 429 ? "rate_limit_exceeded" : "server_error";
  response_["error"] = {{"code", code}, {"message", e.message}};
  if (usage_.present) response_["usage"] = responses_usage(usage_);
  emit(out, "response.failed", {{"response", response_}});
  done_ = true;
}

}  // namespace tg::dialects::responses
