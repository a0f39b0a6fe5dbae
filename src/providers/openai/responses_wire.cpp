#include "responses_wire.hpp"

#include <algorithm>

#include "openai_wire.hpp"
#include "tollgate/providers/json_scan.hpp"
#include "tollgate/providers/json_build.hpp"

namespace tg::providers::responses_wire {
namespace {

using json = nlohmann::json;

// Events held back before the commit point are few and small (the response object with no
// output yet); an upstream that sends more than this before its first output is committed anyway.
constexpr size_t kMaxHeldEvents = 8;
constexpr size_t kMaxHeldBytes = 1 << 20;

// The string value of a raw JSON member text ("\"x\"" -> "x"), "" when it is not a plain string.
std::string_view unquote(std::string_view raw) {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return {};
  return raw.substr(1, raw.size() - 2);
}

// The event's type: its `event:` name as OpenAI writes it, else its data's top-level "type"
// (a walk over the top-level members, which stops at "type": OpenAI writes it first).
std::string_view event_type(const sse::Event& ev) {
  if (!ev.event.empty() && ev.event != "message") return ev.event;
  return unquote(find_top_level_member(ev.data, "type"));
}

// The event as it came: "event: NAME\n" when it had a name, one "data: " line per data line.
void append_event(std::string& out, const sse::Event& ev) {
  if (!ev.event.empty()) {
    out += "event: ";
    out += ev.event;
    out += '\n';
  }
  std::string_view d = ev.data;
  for (;;) {
    size_t nl = d.find('\n');
    out += "data: ";
    out += d.substr(0, nl);
    out += '\n';
    if (nl == std::string_view::npos) break;
    d.remove_prefix(nl + 1);
  }
  out += '\n';
}

bool is_preamble(std::string_view type) {
  return type == "response.created" || type == "response.in_progress" ||
         type == "response.queued";
}

class EventStream final : public StreamTranslator {
 public:
  StreamStatus on_event(const sse::Event& ev, std::string& out) override {
    const std::string_view type = event_type(ev);
    const bool committed = events_out_ > 0;
    // Before anything was sent, each event must be JSON: a broken first event fails over.
    if (!committed && !json_scan::valid(ev.data)) return StreamStatus::Malformed;

    if (type == "error") {
      if (!committed) return StreamStatus::UpstreamError;
      error_seen_ = true;
      emit(out, ev);
      return StreamStatus::Continue;
    }
    if (type == "response.failed") {
      read_usage(ev.data);
      if (committed) emit(out, ev);
      return StreamStatus::UpstreamError;
    }
    if (!committed && is_preamble(type) && held_count_ < kMaxHeldEvents &&
        held_.size() < kMaxHeldBytes) {
      append_event(held_, ev);
      ++held_count_;
      return StreamStatus::Continue;
    }
    const bool last = type == "response.completed" || type == "response.incomplete";
    if (last) read_usage(ev.data);
    emit(out, ev);
    return last ? StreamStatus::Done : StreamStatus::Continue;
  }

  StreamStatus on_end(std::string& out) override {
    // The upstream closed after an error event it already sent to the client: a failed stream,
    // but one the client has been told about.
    return error_seen_ ? StreamStatus::UpstreamError : StreamStatus::Continue;
  }

 private:
  // Sends the held preamble first, then the event.
  void emit(std::string& out, const sse::Event& ev) {
    if (held_count_ > 0) {
      out += held_;
      events_out_ += static_cast<int64_t>(held_count_);
      held_.clear();
      held_count_ = 0;
    }
    append_event(out, ev);
    ++events_out_;
  }

  // response.usage of a terminal event, parsed alone.
  void read_usage(std::string_view data) {
    std::string_view response = find_top_level_member(data, "response");
    if (response.empty() || response.front() != '{') return;
    std::string_view u = find_top_level_member(response, "usage");
    if (u.empty() || u.front() != '{') return;
    Usage got = Usage::from_responses(json_scan::parse(u));
    if (got.present) usage_ = got;
  }

  std::string held_;
  size_t held_count_ = 0;
  bool error_seen_ = false;
};

}  // namespace

std::string serialize_body(const ClientRequest& req, std::string_view upstream_model) {
  return openai_wire::serialize_body(req.doc(), req, upstream_model, /*ask_stream_usage=*/false);
}

Response pass_through_response(std::string&& body) {
  Response r;
  std::string_view usage, status, error, output;
  json_scan::for_each_member(body, [&](std::string_view key, size_t begin, size_t end) {
    std::string_view value = std::string_view(body).substr(begin, end - begin);
    if (key == "usage") usage = value;
    else if (key == "status") status = value;
    else if (key == "error") error = value;
    else if (key == "output") output = value;
    return true;
  });
  if (!usage.empty() && usage.front() == '{') {
    r.usage = Usage::from_responses(json_scan::parse(usage));
  }
  const bool has_error = !error.empty() && error != "null";
  if (unquote(status) == "failed" || (has_error && output.empty())) {
    std::string message = "upstream answered 200 with a failed response";
    std::string code;
    json e = has_error ? json_scan::parse(error) : json();
    if (e.is_object()) {
      if (auto m = e.find("message"); m != e.end() && m->is_string()) {
        message += ": " + m->get_ref<const std::string&>().substr(0, 512);
      }
      if (auto c = e.find("code"); c != e.end() && c->is_string()) code = c->get<std::string>();
    }
    r.error = Error::upstream_protocol("", std::move(message));
    if (!code.empty()) r.error->code_str = code.substr(0, 64);
    return r;
  }
  r.body = std::move(body);
  return r;
}

std::unique_ptr<StreamTranslator> make_event_stream() { return std::make_unique<EventStream>(); }

}  // namespace tg::providers::responses_wire
