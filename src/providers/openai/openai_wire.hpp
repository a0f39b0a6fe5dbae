#pragma once
// OpenAI's wire format as reusable pieces, shared by every adapter that speaks it: OpenAI itself,
// the OpenAI-compatible hosts (with their quirks) and Azure OpenAI. Pure: no I/O.
//
// Hot-path rules kept here: a body is serialised member by member from the parsed document
// (no copy of it), and stream chunks are forwarded as received unless a cheap scan of their text
// says they carry usage, an error, or (for the compatible family / Azure) something to repair.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tollgate/providers/adapter.hpp"

namespace tg::providers::openai_wire {

// "/chat/completions", "/completions", "/embeddings", "/responses": an endpoint's path under the
// API root (OpenAI's /v1, Azure's /openai/v1 or its deployment).
std::string_view endpoint_path(Endpoint e);

// The request every OpenAI-style adapter starts from: path for the endpoint, Content-Type,
// Bearer auth when there is a key, Accept for streams, the provider's extra headers.
UpstreamRequest base_request(const ClientRequest& req, const BuildContext& ctx);

// "application/json", or the multipart type with the client's boundary for an upload.
std::string content_type(const ClientRequest& req);

// An upload (req.form): sets the body to the client's form with its model field replaced, the
// files borrowed from the client's bytes (UpstreamRequest::body_pieces). False for JSON bodies.
bool set_upload_body(const ClientRequest& req, std::string_view upstream_model,
                     UpstreamRequest& out);

// OpenAI's non-streamed answer: passed through as it is, usage read from its top-level member.
Response pass_through_response(std::string&& body);

// Usage read from its JSON text (a `usage` member's value) without building a document: the same
// figures Usage::from_openai gives for the parsed text (nothing present when it is not valid JSON
// or not an object). nullopt when only the parser can tell exactly (an escaped key, an integer
// beyond int64, a sum that overflows) or, with `compat`, when compat::fix_usage would repair it:
// then parse it. `known_valid`: the text is part of a body json_scan::valid accepted (an answer
// handed to translate_response), so it is not validated again.
std::optional<Usage> scan_usage(std::string_view text, bool compat, bool known_valid = false);

// Serialises `body` (the client's OpenAI body, or an edited copy of it) with "model" set to
// `upstream_model` and, for streams when `ask_stream_usage`, stream_options.include_usage: true
// (other stream_options members kept). Everything else is written as it is, in order.
std::string serialize_body(const nlohmann::json& body, const ClientRequest& req,
                           std::string_view upstream_model, bool ask_stream_usage = true);
// The same for the client's own body, unedited: written from its text when the codec found its
// keys plain and unique (the model spliced in, stream_options added when missing), without
// building its document; else from the document.
std::string serialize_body(const ClientRequest& req, std::string_view upstream_model,
                           bool ask_stream_usage = true);

// A member found by scanning JSON text (no parse): `"key"` followed by ':' at any depth.
struct Member {
  size_t key_pos = std::string_view::npos;  // npos: not found
  std::string_view value;                   // raw value text ("\"stop\"", "null", "{...}")
  size_t end = 0;                           // index just after the value
  bool found() const { return key_pos != std::string_view::npos; }
  bool is_null() const { return value == "null"; }
  bool is_string() const { return !value.empty() && value.front() == '"'; }
  // The string value without its quotes (escapes left as they are); "" when not a string.
  std::string_view string() const;
};
Member scan_member(std::string_view text, std::string_view key, size_t from = 0);

// What a compatible host's chat or completions answer says about itself, read in one walk of its
// structure (no parse; the body was validated before): the top-level members the gateway reads,
// and whether a choice holds a quirk that compat::fix_response repairs on the parsed document (a
// finish reason to normalise or to fail on, a "reasoning" member, a content array).
// A repeated member counts once, its last value (as the parser keeps it). A key written with an
// escape ("u\u0073age") cannot be compared as written: escaped_key says one was met, and the
// caller re-serialises the parsed document and scans that instead.
struct AnswerScan {
  bool object = false;       // the walk went through a whole top-level object
  bool escaped_key = false;  // a key in the walked members holds a backslash
  std::string_view usage;    // the top-level "usage" value as written ("" when none)
  std::string_view error;    // the top-level "error" value as written
  bool choices = false;      // a top-level "choices" member
  bool data = false;         // a top-level "data" member
  bool needs_repair = false;
};
AnswerScan scan_answer(std::string_view body);

struct StreamOptions {
  bool client_wants_usage = false;
  Endpoint endpoint = Endpoint::ChatCompletions;
  // Azure: drop the chunks that carry only content-filter annotations (the first chunk with
  // "choices": [] and prompt_filter_results; asynchronous-filter chunks without a delta).
  bool azure = false;
  // OpenAI-compatible hosts: repair finish reasons, "reasoning" -> "reasoning_content", content
  // arrays with thinking parts, tool-call deltas without index, usage folded into a choice chunk,
  // xAI / DeepSeek / Groq usage shapes, error objects next to choices, streams without [DONE].
  bool compat = false;
};

// Upstream OpenAI chunks in, OpenAI chunks out. Records usage; forwards the usage-only chunk only
// when the client asked for it (stream_options.include_usage).
std::unique_ptr<StreamTranslator> make_chunk_stream(const StreamOptions& options);

}  // namespace tg::providers::openai_wire
