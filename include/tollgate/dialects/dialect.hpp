#pragma once
// The client-dialect seam. A dialect is the API shape a client speaks: OpenAI chat (and
// completions, embeddings), Anthropic Messages, OpenAI Responses. Each has one codec that parses
// the client's body into the canonical request every provider adapter takes (OpenAI's chat
// shape, hub and spoke: N dialects + M providers, not N x M translators), and renders the
// canonical answer, stream and errors back in the client's shape. The proxy drives a codec
// without knowing which dialect it serves; a new dialect is a new codec and nothing else.
// Pure: no I/O, no Asio.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "tollgate/core/error.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/providers/json_scan.hpp"

namespace tg::dialects {

// What the proxy knows of a client's request besides its body.
struct ClientInput {
  std::string_view body;               // the client's bytes
  std::string_view anthropic_beta;     // the anthropic-beta header
  std::string_view anthropic_version;  // the anthropic-version header
  std::string_view content_type;       // the Content-Type header (multipart uploads)
  // The stored conversation the request continues (Responses' previous_response_id), oldest
  // item first; null when it continues none.
  const nlohmann::json* history = nullptr;
  // The body's top-level members as the proxy's syntax check found them (json_scan::valid);
  // null when it did not look (then a codec that needs them walks the text).
  const providers::json_scan::TopMembers* members = nullptr;
};

// A stream's client side, for one attempt that reached its commit point: canonical bytes in (an
// adapter's output: OpenAI chat SSE chunks, or the client's own events when the adapter speaks
// the dialect natively), the client's events out. Stateful, single-threaded.
class Egress {
 public:
  virtual ~Egress() = default;
  virtual void feed(std::string_view canonical, std::string& out) = 0;
  // The upstream ended normally: what closes the client's stream ([DONE], message_stop, ...).
  virtual void finish(std::string& out) = 0;
  // The stream broke after its first event: the dialect's error event, never a silent end.
  virtual void fail(const Error& e, std::string& out) = 0;
};

// What a dialect keeps after a successful answer (a Responses call with store: true): the proxy
// persists it, scoped to the caller's key, so that a later call can continue it.
// As JSON text, written once: the store keeps text.
struct StoredTurn {
  std::string id;            // resp_...
  std::string previous_id;   // the turn it continued, "" for none
  std::string response;      // the Response object as the client got it
  std::string input_items;   // this turn's input, as items with ids (an array)
  std::string output_items;  // this turn's output items (an array)
};

// One client request in a dialect: the canonical request that the router plans and the adapters
// build from, and how its answer is rendered. Made by Codec::parse; lives for the request.
class Call {
 public:
  virtual ~Call() = default;
  Call() = default;
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // Never modified once parsed: a failover builds again from it. The model and stream flag are
  // the same in every form of the request.
  const providers::ClientRequest& request() const { return req_; }
  // The request for a target that speaks this dialect natively (`native`), or the canonical one.
  virtual const providers::ClientRequest& request_for(bool native) const {
    (void)native;
    return req_;
  }
  // Called before each attempt, before request_for(native): why the request cannot go to such
  // a target (e.g. built-in tools that only a native target runs), else nullopt. A dialect may
  // translate only here, when a target first needs that form: its translation errors (400s)
  // then come from here.
  virtual std::optional<Error> refuse(bool native) {
    (void)native;
    return std::nullopt;
  }
  // A whole 2xx answer for the client. `native`: the adapter answered in the client's own shape.
  virtual std::string render(std::string&& body, bool native) = 0;
  virtual std::unique_ptr<Egress> egress(bool native) = 0;
  // Whether the exact response cache may answer it (never a stream).
  virtual bool cacheable() const { return !req_.stream; }
  // After a successful answer: what to persist, if anything.
  virtual std::optional<StoredTurn> turn() { return std::nullopt; }

  // The media endpoints (src/dialects/openai_media.cpp) answer in other ways than JSON and are
  // billed by units. Json: the whole 2xx body must be JSON (every other dialect). Raw: the whole
  // body as the upstream sent it, with its content type (text, srt, vtt transcripts). Bytes:
  // streamed to the client as the upstream sends it, with its content type (speech audio, a
  // streamed transcript).
  enum class Relay { Json, Raw, Bytes };
  virtual Relay relay() const { return Relay::Json; }
  // The most the request may consume, in the units it is billed by (images, audio, characters,
  // search units, tokens): the rate limit's token estimate and the budget reservation. nullopt:
  // the token estimate from the body size and max_tokens.
  virtual std::optional<providers::Usage> ceiling() const { return std::nullopt; }
  // What a successful answer consumed: fills the units into `usage` (which holds the tokens the
  // provider reported, if any) from the answer (a whole body, or the last bytes of a stream).
  // Returns true when the units are an estimate (e.g. audio length from the file's size).
  virtual bool meter(std::string_view answer, providers::Usage& usage) const {
    (void)answer;
    (void)usage;
    return false;
  }

 protected:
  providers::ClientRequest req_;
};

class Codec {
 public:
  virtual ~Codec() = default;
  virtual std::string_view name() const = 0;
  // Before parsing: the id of a stored conversation the body continues (Responses'
  // previous_response_id), which the proxy then loads and passes as ClientInput::history.
  virtual std::optional<std::string> continues(const nlohmann::json& body) const {
    (void)body;
    return std::nullopt;
  }
  // The body must already be a depth-checked JSON object (parsed once by the proxy); for a
  // codec that does not read JSON (multipart uploads) or wants no document (below), an empty
  // object: it reads in.body, which the proxy has checked to be one.
  virtual std::variant<std::unique_ptr<Call>, Error> parse(nlohmann::json&& body,
                                                           const ClientInput& in) const = 0;
  // False when the body is not JSON (multipart/form-data uploads).
  virtual bool reads_json() const { return true; }
  // False when the codec reads the checked text itself and builds a document only if it must.
  virtual bool wants_document() const { return reads_json(); }
  // The error body in the client's shape.
  virtual std::string (*error_renderer() const)(const Error&) { return &render_error_body; }
};

// The codecs. OpenAI's chat, legacy completions and embeddings share one dialect.
const Codec& openai_codec(providers::Endpoint endpoint);
const Codec& anthropic_codec();
const Codec& responses_codec();
// Audio, images, moderations, rerank: OpenAI's shapes (Cohere/Jina's for rerank), passed through.
const Codec& media_codec(providers::Endpoint endpoint);

}  // namespace tg::dialects
