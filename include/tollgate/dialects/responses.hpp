#pragma once
// Pure translators for OpenAI's Responses API (POST /v1/responses) served by a target that only
// speaks chat completions: the Responses request becomes the canonical chat request every adapter
// takes, and the chat answer (whole or streamed) comes back as a Response object or the Responses
// event stream. Native targets (OpenAI, Azure v1, servers with `responses: native`) need none of
// this but usage_from_responses. No I/O, no Asio. See docs/responses.md.

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tollgate/core/error.hpp"
#include "tollgate/dialects/chunk_feed.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/sse/sse.hpp"

namespace tg::dialects::responses {

namespace detail {
class ObjectWriter;
}  // namespace detail

// Source of the random bits behind ids; empty = a per-thread generator seeded from
// std::random_device. Tests pass a counter so ids (and fixtures) are deterministic.
using Random = std::function<uint64_t()>;

// prefix + 48 lowercase hex characters, e.g. new_id("resp_"), as OpenAI's ids look.
std::string new_id(std::string_view prefix, const Random& random = {});

// A Responses tool as the chat side names it. Chat has no namespaces: a function or custom tool
// inside a `namespace` tool (top-level or in an `additional_tools` input item, as Codex sends
// them) is offered under a flat name, and its calls come back with `name` and `namespace` again.
struct ToolRef {
  std::string name;        // the Responses name (inside its namespace)
  std::string ns;          // the namespace, "" when none
  bool custom = false;     // a custom (free-text input) tool
};
// Chat function name -> the Responses tool it stands for.
using ToolNames = std::map<std::string, ToolRef, std::less<>>;

// The chat name of a namespaced tool: "<namespace>__<name>" when that fits every provider's rule
// (1-64 of [a-zA-Z0-9_-], starting with a letter or '_'), else a sanitised prefix (55 characters
// at most) + '_' + 8 hex digits of a hash of both parts. salt > 0 gives another hashed name (for
// a collision with another tool).
std::string flat_tool_name(std::string_view ns, std::string_view name, unsigned salt = 0);

struct Request {
  nlohmann::json chat;               // the canonical chat-completions request
  std::string model;                 // as asked
  bool stream = false;
  bool store = true;                 // OpenAI's default
  std::string previous_response_id;  // "" when none
  // This request's input as Responses items, each with an id (string input -> one user message
  // item; item_reference -> the item it names). For GET .../input_items and for the next turn's
  // history: history(next) = history(this) + input_items + response.output.
  nlohmann::json input_items = nlohmann::json::array();
  // The request fields a Response object repeats (instructions, tools, tool_choice, temperature,
  // top_p, max_output_tokens, text, reasoning, metadata, parallel_tool_calls, truncation, user,
  // safety_identifier, service_tier, ...) that the request set; a Response shows OpenAI's default
  // for the others.
  nlohmann::json echo = nlohmann::json::object();
  // The request's `tools` as the client wrote them, compacted (JSON text), when ParseOptions gave
  // the body's text: echoed as they are (then echo has no "tools"). "" otherwise.
  std::string echo_tools;
  // Every tool offered to chat (top-level `tools`, then those of `additional_tools` items, from
  // the stored conversation and this input) by its chat name. Copy it to ResponseInfo::tools.
  ToolNames tools;
};

struct ParseOptions {
  // Items an item_reference may name beyond `history`: the caller looks up
  // referenced_item_ids(body) in its store (scoped to the key) and passes what it found. The
  // AI SDK with store: true (its default) sends earlier answers only as references.
  const nlohmann::json* references = nullptr;  // array of items, or null
  // Receives the parameters left out because they have no chat equivalent and losing them changes
  // little (e.g. "top_logprobs", "truncation", "text.verbosity", "tools[0].format",
  // "client_metadata", "prompt_cache_key", "reasoning.context").
  std::vector<std::string>* dropped = nullptr;
  Random random;  // for the ids given to input items
  // The target speaks the Responses API (the body goes upstream as is; input_items and echo are
  // what the caller needs, and chat serves a failover): built-in tools, hosted-tool items,
  // file_id parts and background/conversation/prompt are left out of chat and reported in
  // `dropped` instead of refused. Shape errors are still refused.
  bool native_target = false;
  // The body's text, when the caller has it: the tools are then echoed as written instead of
  // being copied as a document and written out again (a Codex request's tools are kilobytes).
  std::string_view raw_body;
  // false: Request::input_items stays empty (the caller stores nothing). The input is checked
  // the same either way.
  bool input_items = true;
  // The caller has run refuse_builtin_tools on this body (and it found none): not run again.
  bool builtin_tools_checked = false;
};

// Responses request (+ the stored conversation of previous_response_id: an array of Responses
// items, oldest first; an empty array when none) -> Request. `instructions` are not carried over
// from history (as OpenAI does). Invalid shape, a built-in tool, a reference to an unknown item,
// or a feature whose meaning the chat shape cannot keep -> Error (400 invalid_request_error,
// OpenAI wording, param = the field path, e.g. "input[2].content[0].file_id").
// Bounded: loops over the given arrays only, no recursion on client JSON.
std::variant<Request, Error> parse_request(const nlohmann::json& body,
                                           const nlohmann::json& history,
                                           const ParseOptions& options = {});

// The ids of the request's item_reference input items, each once, in order (none when input is
// not an array).
std::vector<std::string> referenced_item_ids(const nlohmann::json& body);

// For translated (non-native) targets: a 400 naming the first tool (or tool_choice) that only a
// native target can run (web_search, file_search, computer_use_preview, code_interpreter, mcp,
// image_generation, local_shell, shell, apply_patch, ...), looking in `tools`, inside `namespace`
// tools and in the input's `additional_tools` items; nullopt when every tool is a function or
// custom tool (or a namespace of them). parse_request applies it itself unless native_target.
std::optional<Error> refuse_builtin_tools(const nlohmann::json& body);

// What a Response object needs besides the answer.
struct ResponseInfo {
  std::string id;           // resp_...
  int64_t created_at = 0;   // unix seconds
  std::string model;        // as the Response names it
  nlohmann::json echo = nlohmann::json::object();  // Request::echo
  std::string echo_tools;                           // Request::echo_tools (written as it is)
  std::string previous_response_id;
  bool store = true;
  Random random;            // for item ids (msg_, fc_, rs_)
  // Request::tools: how chat tool names map back to Responses tools (custom_tool_call items,
  // `namespace` on calls). Empty = derived from echo.tools, which only holds top-level tools:
  // the tools of `additional_tools` items then come back under their flat chat names.
  ToolNames tools;
};

// OpenAI chat.completion body -> Response object: output items (reasoning from
// reasoning_content / thinking_blocks, message with output_text or refusal, one function_call per
// tool call), status completed or incomplete (incomplete_details.reason "max_output_tokens" for
// finish_reason length, "content_filter"), usage, error null, and the echoed fields. A body that
// is not a chat.completion gives a Response with status "failed" and an error.
// build_response_text writes it as JSON text (what the client gets; a plain text answer is read by
// scanning, any other by parsing it); build_response parses that text.
std::string build_response_text(std::string_view chat_completion_body, const ResponseInfo& info);
nlohmann::json build_response(std::string_view chat_completion_body, const ResponseInfo& info);

// Chat usage {prompt_tokens, completion_tokens, ..._details} -> Responses usage {input_tokens,
// input_tokens_details.cached_tokens, output_tokens, output_tokens_details.reasoning_tokens,
// total_tokens}.
nlohmann::json responses_usage(const providers::Usage& u);

// Responses usage -> the normalised Usage we bill (for the native pass-through, whole body or the
// response of a response.completed / response.incomplete event).
providers::Usage usage_from_responses(const nlohmann::json& usage);

// Chat SSE bytes (as an adapter's translator emits them: "data: {chunk}\n\n", any split, a usage
// chunk at the end, possibly a data: {"error":...}) -> Responses events ("event: <type>\ndata:
// {json with type and sequence_number}\n\n", sequence_number from 0): response.created,
// response.in_progress, then per output item output_item.added, (reasoning_summary_part /
// content_part).added, *_text.delta..., *_text.done, part.done, output_item.done; function calls
// with function_call_arguments.delta/.done; then response.completed or response.incomplete with
// usage. Events are written as chunks arrive, but for a custom tool's input (sent whole when its
// call closes: it arrives wrapped in JSON arguments). No [DONE]: OpenAI's Responses stream ends
// after the terminal event.
class StreamConverter {
 public:
  explicit StreamConverter(ResponseInfo info);
  void feed(std::string_view chat_sse_bytes, std::string& out);
  // Upstream finished normally: closes open items, then response.completed or
  // response.incomplete (finish_reason length / content_filter).
  void finish(std::string& out);
  // A failure after the stream started (or an upstream cut short): closes nothing, ends with
  // response.failed carrying the error (code = e.code_str, else rate_limit_exceeded for a 429,
  // else server_error) and the items completed so far. A chat chunk {"error":...} leads here.
  void fail(const Error& e, std::string& out);
  // True once a terminal event has been written; later input is ignored.
  bool done() const { return done_; }
  // The Response as it stands (the final one once done(): what the caller stores). Parsed from
  // the text written, on the first call after each change: a caller that stores nothing never
  // pays for it.
  const nlohmann::json& response() const;
  // The same as JSON text, as the client got it (what the store keeps); "" before start.
  const std::string& response_text() const { return response_text_; }
  const providers::Usage& usage() const { return usage_; }

 private:
  enum class Kind { None, Reasoning, Message };
  struct Call {
    int output_index;
    std::string item_id, call_id, name, ns, arguments;  // name and ns as the client knows them
    bool open = true;
    bool custom = false;  // a custom tool's call: its input is sent whole when the call closes
  };
  bool on_plain_chunk(std::string_view data, std::string& out);
  void on_chunk(const nlohmann::json& chunk, std::string& out);
  void on_text(std::string_view text, bool refusal, std::string& out);
  void on_finish(std::string_view reason, std::string& out);
  void start(std::string& out);
  void open_reasoning(std::string& out);
  void open_message(bool refusal, std::string& out);
  void close_current(std::string& out);  // the open reasoning or message item
  void close_calls(std::string& out);
  void on_tool_call(const nlohmann::json& call, std::string& out);
  void write_call_item(const Call& c, std::string_view status, std::string_view value);
  // Starts an event (its name, type and sequence_number); the caller adds members and ends it.
  detail::ObjectWriter event(std::string& out, std::string_view type);
  // output_item.done for item_, which joins the Response's output.
  void add_output(std::string& out, int index);
  void write_response(std::string& out, std::string_view status, const char* incomplete,
                      const Error* error, bool with_usage) const;
  void terminal(std::string& out, std::string_view type, std::string_view status,
                const char* incomplete, const Error* error, bool with_usage);

  ResponseInfo info_;
  ToolNames tools_;  // info_.tools, or derived from info_.echo
  ChunkFeed chunks_;
  std::string skeleton_;  // the Response's fixed members as JSON text: "{...", no closing brace
  bool started_ = false;
  bool done_ = false;
  int64_t seq_ = 0;
  std::string output_;         // closed items as JSON text, comma-separated, in closing order
  std::string item_;           // the item being written
  std::string response_text_;  // the last Response written (in_progress, then the terminal one)
  mutable std::optional<nlohmann::json> parsed_;  // response_text_, parsed on demand
  // The open reasoning or message item.
  Kind open_ = Kind::None;
  int open_index_ = -1;
  std::string open_id_;
  std::string text_;          // its text so far
  bool refusal_ = false;      // the message's part is a refusal
  std::string signature_;     // signed thinking (Claude) seen for the open reasoning item
  std::map<int64_t, Call> calls_;  // chat tool_calls index -> call (open ones until closed)
  int next_index_ = 0;
  std::string finish_reason_;
  providers::Usage usage_;
};

}  // namespace tg::dialects::responses
