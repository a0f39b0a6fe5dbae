#pragma once
// The provider seam: an adapter builds the upstream request from the client's (OpenAI-shaped)
// request and translates the answer back. Adapters do no I/O (the shared upstream client does)
// and never mutate the client request, because a failover attempt builds again from it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tollgate/config/config.hpp"
#include "tollgate/core/error.hpp"
#include "tollgate/core/multipart.hpp"
#include "tollgate/sse/sse.hpp"

namespace tg::providers {

// Responses is OpenAI's /v1/responses as an upstream call: an adapter sees it only for a target
// that serves it natively (native_responses); every other target gets the request translated to
// ChatCompletions before it reaches its adapter.
enum class Endpoint {
  ChatCompletions,
  Completions,
  Embeddings,
  Responses,
  // The media family (src/media/): passed through to OpenAI-style targets only.
  AudioTranscriptions,  // multipart
  AudioTranslations,    // multipart
  AudioSpeech,          // JSON in, audio bytes out
  ImagesGenerations,
  ImagesEdits,          // multipart
  ImagesVariations,     // multipart
  Moderations,
  Rerank,               // Cohere / Jina shape (/rerank; /v2/rerank is the same call)
};
std::string_view to_string(Endpoint e);
// The media family: billed by units (images, audio, characters, search units) besides tokens.
inline bool is_media(Endpoint e) { return e >= Endpoint::AudioTranscriptions; }

// Token usage normalised to the kinds we bill and count.
struct Usage {
  int64_t input = 0;        // prompt tokens, cached ones included
  int64_t output = 0;       // completion tokens, reasoning included
  int64_t cached_read = 0;  // subset of input
  int64_t cache_write = 0;
  int64_t reasoning = 0;    // subset of output
  bool present = false;     // the upstream reported usage
  // Media units (0 when not applicable); billed unless the provider reported tokens for them.
  int64_t images = 0;
  std::string image_variant;  // "<quality>/<size>" as asked, e.g. "hd/1024x1024", "/1024x1024"
  int64_t audio_ms = 0;       // transcribed audio
  int64_t characters = 0;     // synthesised text
  int64_t search_units = 0;   // rerank
  bool has_units() const { return images || audio_ms || characters || search_units; }

  static Usage from_openai(const nlohmann::json& usage);
  // The Responses API's usage: input_tokens (cached included), input_tokens_details
  // {cached_tokens, cache_write_tokens}, output_tokens (reasoning included),
  // output_tokens_details.reasoning_tokens.
  static Usage from_responses(const nlohmann::json& usage);
};

// The API schema the client speaks.
enum class Ingress { OpenAI, Anthropic, Responses };

// The client's request, parsed once.
struct ClientRequest {
  // Offsets into a client's JSON text: the model's value and the top-level object's '}'.
  struct RawSpans {
    size_t model_begin = 0, model_end = 0;
    size_t close = 0;
  };
  Endpoint endpoint = Endpoint::ChatCompletions;
  // The body as a document, always OpenAI-shaped (for the Anthropic ingress, the Messages request
  // translated to OpenAI). The OpenAI ingress builds it from raw_body only when something first
  // needs it (a translating adapter, a provider's quirks, a cache key): a request passed through
  // with only its model replaced is never built (src/dialects/openai_chat.cpp). Single-threaded,
  // as the request is.
  const nlohmann::json& doc() const;
  void set_doc(const nlohmann::json* d) { doc_ = d; }
  bool has_doc() const { return doc_ != nullptr; }
  // The body's top-level members as the document holds them, but for its arrays, objects (bar
  // stream_options) and long strings (the messages, the tools, a long prompt): what the gateway
  // reads for itself (model, stream, n, max_tokens, ...). The document itself when there is no
  // such cheaper view.
  const nlohmann::json& fields() const { return fields_ ? *fields_ : doc(); }
  void set_fields(const nlohmann::json* f) { fields_ = f; }
  // Where the model's value and the object's closing brace are in raw_body: set when the
  // top-level keys are unique and written without escapes, so that a splice there changes only
  // the model the upstream reads (a repeated key would be read as the parser does not).
  std::optional<RawSpans> raw_spans;
  std::string model;                     // as asked
  bool stream = false;
  bool client_wants_usage = false;       // stream_options.include_usage was true
  Ingress ingress = Ingress::OpenAI;
  // For the Anthropic ingress: the client's own Messages body, for adapters that speak it
  // natively (passed through untouched but for the model).
  const nlohmann::json* native_body = nullptr;
  // The client's bytes of native_body, when that document is exactly what they say (nothing
  // edited) and their top-level keys are plain and unique: a native target then gets them with
  // the model spliced in (splice_model), not the document written again. Else empty.
  std::string_view native_raw;
  RawSpans native_raw_spans;
  // The OpenAI ingress: the body's bytes as received (the document is, or will be, built from
  // them), so a body passed through unchanged but for its model need not be serialised again.
  std::string_view raw_body;
  // The client's `anthropic-beta` header (Claude Code and the Anthropic SDKs send feature flags
  // in it), forwarded to Anthropic targets together with the provider's configured flags.
  std::string_view anthropic_beta;
  // For the Anthropic ingress: the client's `anthropic-version`. A native pass-through sends it
  // upstream (the body is in that version's shape) unless the provider configures its own.
  std::string_view anthropic_version;
  // An upload (multipart/form-data) endpoint: the client's form, its file bytes in raw_body.
  // The upstream gets it re-emitted with the model replaced (multipart::emit), the files
  // borrowed from raw_body. The document then holds the form's text fields.
  const multipart::Form* form = nullptr;

 private:
  const nlohmann::json* fields_ = nullptr;
  mutable const nlohmann::json* doc_ = nullptr;
  mutable std::shared_ptr<const nlohmann::json> built_;  // doc() made from raw_body
};

// What an adapter needs to know about where the request goes.
struct BuildContext {
  const config::ProviderConfig& provider;
  std::string_view api_key;  // "" when the provider has none
  std::string_view host;     // upstream host name (request signing)
  std::string_view base_path;  // path part of base_url, e.g. "/v1" (request signing)
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

struct UpstreamRequest {
  std::string method = "POST";
  // Appended to the provider's base path, e.g. "/chat/completions"; may carry a query string.
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Sent after `body`, in order: bytes borrowed from the client's request (which outlives the
  // call: an upload's file is never copied), each followed by owned text.
  std::vector<std::pair<std::string_view, std::string>> body_pieces;
  uint64_t body_size() const {
    uint64_t n = body.size();
    for (const auto& [borrowed, text] : body_pieces) n += borrowed.size() + text.size();
    return n;
  }
  // Parameters the provider cannot take and that were left out: logged with a warning and
  // counted, or refused with a 400 when the model entry sets strict: true. Never silent.
  std::vector<std::string> dropped_params;
};

// Malformed: the upstream sent something that is not its wire format (checked on the first
// event, while failing over is still possible).
enum class StreamStatus { Continue, Done, UpstreamError, Malformed };

// Per attempt, stateful, not thread-safe: upstream stream bytes in, client SSE bytes out
// (OpenAI chunks, or the client's own schema when the adapter speaks it natively).
class StreamTranslator {
 public:
  virtual ~StreamTranslator() = default;
  // Feeds raw upstream body bytes (any split). The default decodes SSE and calls on_event for
  // each event until one returns something other than Continue; binary framings override it.
  virtual StreamStatus on_bytes(std::string_view bytes, std::string& out);
  // Translates one upstream SSE event, appending client bytes to *out (possibly none).
  virtual StreamStatus on_event(const sse::Event& event, std::string& out) = 0;
  // The upstream body ended without a Done: returns Done when that is a normal end for this
  // provider (e.g. Gemini, which has no sentinel, after a finishReason), appending any final
  // client bytes; Continue means the stream was cut short.
  virtual StreamStatus on_end(std::string& out) { return StreamStatus::Continue; }
  // Usage seen so far (the final usage once the stream is done).
  const Usage& usage() const { return usage_; }
  // Client-visible events written so far.
  int64_t events_out() const { return events_out_; }

 protected:
  Usage usage_;
  int64_t events_out_ = 0;
  sse::Decoder decoder_;
  std::vector<sse::Event> events_;
};

// A translated non-streamed answer.
struct Response {
  std::string body;  // for the client
  Usage usage;
  std::optional<Error> error;  // set when the upstream's body was unusable: fail over
};

class ProviderAdapter {
 public:
  virtual ~ProviderAdapter() = default;
  // Pure and idempotent: reads the request, never changes it (a failover builds again).
  virtual UpstreamRequest build_request(const ClientRequest& req, std::string_view upstream_model,
                                        const BuildContext& ctx) const = 0;
  // Takes the upstream's 2xx body (moved in, so a pass-through costs no copy), which
  // json_scan::valid has accepted: the proxy refuses a malformed one first, so it is not checked
  // again here (on other text an adapter stays safe, but its usage figures are unspecified).
  // Returns the client's body (OpenAI-shaped, or the client's schema when speaks_natively) and usage; an
  // Error when the body is not what the provider should have sent (the router then fails over).
  virtual Response translate_response(const ClientRequest& req, std::string&& body) const = 0;
  virtual std::unique_ptr<StreamTranslator> make_stream_translator(
      const ClientRequest& req) const = 0;
  // Maps a non-2xx answer to an Error with the right status, OpenAI shape and retryability.
  virtual Error map_error(std::string_view provider, int status, std::string_view body,
                          std::string_view retry_after) const {
    return upstream_status_error(provider, status, body, retry_after);
  }
  virtual bool supports(Endpoint e) const { return e == Endpoint::ChatCompletions; }
  // True when this target takes the client's /v1/responses body as it is (only the model is
  // set) on its own /responses, and answers in that API's shape: build_request,
  // translate_response and the stream translator then handle Endpoint::Responses. False: the
  // proxy translates the request through chat completions. Decided by the provider's config
  // (`responses: native|translate`, defaulted per type and preset; Azure's v1 API only).
  virtual bool native_responses(const config::ProviderConfig& provider) const { return false; }
  // True when this adapter's output is already in the client's schema for that ingress
  // (OpenAI adapters for OpenAI clients; the Anthropic adapter for Anthropic clients).
  virtual bool speaks_natively(Ingress ingress) const { return ingress == Ingress::OpenAI; }
};

// The adapter for a provider type, or nullptr when that type has no adapter yet.
const ProviderAdapter* adapter_for(config::ProviderType type);

// Finds a top-level member of a JSON object text without parsing all of it: the raw value text,
// or empty when absent. Used to read usage from bodies that are otherwise passed through as is.
std::string_view find_top_level_member(std::string_view json_text, std::string_view key);

}  // namespace tg::providers
