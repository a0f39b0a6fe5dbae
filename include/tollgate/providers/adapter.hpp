#pragma once
// The provider seam: an adapter builds the upstream request from the client's (OpenAI-shaped)
// request and translates the answer back. Adapters do no I/O (the shared upstream client does)
// and never mutate the client request, because a failover attempt builds again from it.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tollgate/config/config.hpp"
#include "tollgate/sse/sse.hpp"

namespace tg::providers {

enum class Endpoint { ChatCompletions, Completions, Embeddings };
std::string_view to_string(Endpoint e);

// Token usage normalised to the kinds we bill and count.
struct Usage {
  int64_t input = 0;        // prompt tokens, cached ones included
  int64_t output = 0;       // completion tokens, reasoning included
  int64_t cached_read = 0;  // subset of input
  int64_t cache_write = 0;
  int64_t reasoning = 0;    // subset of output
  bool present = false;     // the upstream reported usage

  static Usage from_openai(const nlohmann::json& usage);
};

// The client's request, parsed once.
struct ClientRequest {
  Endpoint endpoint = Endpoint::ChatCompletions;
  const nlohmann::json* body = nullptr;  // never null; owned by the request handler
  std::string model;                     // as asked
  bool stream = false;
  bool client_wants_usage = false;       // stream_options.include_usage was true
};

struct UpstreamRequest {
  std::string method = "POST";
  std::string path;  // appended to the provider's base path, e.g. "/chat/completions"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Malformed: the upstream sent something that is not its wire format (checked on the first
// event, while failing over is still possible).
enum class StreamStatus { Continue, Done, UpstreamError, Malformed };

// Per attempt, stateful, not thread-safe: upstream SSE events in, client SSE bytes out.
class StreamTranslator {
 public:
  virtual ~StreamTranslator() = default;
  // Translates one upstream event, appending client bytes to *out (possibly none).
  virtual StreamStatus on_event(const sse::Event& event, std::string& out) = 0;
  // Usage seen so far (the final usage once the stream is done).
  const Usage& usage() const { return usage_; }
  // Client-visible events written so far.
  int64_t events_out() const { return events_out_; }

 protected:
  Usage usage_;
  int64_t events_out_ = 0;
};

// A translated non-streamed answer.
struct Response {
  std::string body;  // OpenAI-shaped JSON for the client
  Usage usage;
};

class ProviderAdapter {
 public:
  virtual ~ProviderAdapter() = default;
  virtual UpstreamRequest build_request(const ClientRequest& req, std::string_view upstream_model,
                                        const config::ProviderConfig& provider,
                                        std::string_view api_key) const = 0;
  // Takes the upstream's 2xx body (moved in, so a pass-through costs no copy).
  virtual Response translate_response(const ClientRequest& req, std::string&& body) const = 0;
  virtual std::unique_ptr<StreamTranslator> make_stream_translator(
      const ClientRequest& req) const = 0;
};

// The adapter for a provider type, or nullptr when that type has no adapter yet.
const ProviderAdapter* adapter_for(config::ProviderType type);

// Finds a top-level member of a JSON object text without parsing all of it: the raw value text,
// or empty when absent. Used to read usage from bodies that are otherwise passed through as is.
std::string_view find_top_level_member(std::string_view json_text, std::string_view key);

}  // namespace tg::providers
