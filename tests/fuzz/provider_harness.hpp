#pragma once
// One harness for every provider adapter (fuzz_provider_<name>.cpp sets up the provider and calls
// run_provider). The input is used three ways, as everything an adapter reads from outside:
//  - the client's request body (build_request), when it parses as a JSON object;
//  - the upstream's non-streamed 2xx answer (translate_response) and its error answer (map_error);
//  - the upstream's stream body (make_stream_translator / on_bytes), split as the hash says.
// Invariants: nothing throws or crashes; the error a client sees renders to JSON; the bytes
// written to the client are whole SSE events (no event cut or run into the next one).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "tollgate/core/error.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/sse/sse.hpp"

namespace tg::fuzz {

inline void check_client_stream(std::string_view out) {
  sse::Decoder d;
  std::vector<sse::Event> events;
  d.feed(out, events);
  TG_FUZZ_CHECK(!d.has_partial());
}

inline providers::ClientRequest client_request(const nlohmann::json& body, std::string_view raw,
                                               uint64_t h) {
  providers::ClientRequest req;
  req.set_doc(&body);
  req.raw_body = raw;
  static constexpr providers::Endpoint kEndpoints[] = {
      providers::Endpoint::ChatCompletions, providers::Endpoint::Completions,
      providers::Endpoint::Embeddings};
  req.endpoint = kEndpoints[(h >> 8) % 3];
  if (auto it = body.find("model"); it != body.end() && it->is_string()) req.model = *it;
  if (auto it = body.find("stream"); it != body.end() && it->is_boolean()) req.stream = *it;
  req.client_wants_usage = (h >> 12) & 1;
  return req;
}

inline int run_provider(const config::ProviderConfig& provider, std::string_view host,
                        std::string_view base_path, std::string_view in) {
  const providers::ProviderAdapter* adapter = providers::adapter_for(provider.type);
  TG_FUZZ_CHECK(adapter != nullptr);
  const uint64_t h = hash(in);
  const providers::BuildContext ctx{provider, "sk-fuzz", host, base_path};

  // The client's request.
  const nlohmann::json body = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (body.is_object()) {
    providers::ClientRequest req = client_request(body, in, h);
    if (adapter->supports(req.endpoint)) (void)adapter->build_request(req, "upstream-model", ctx);
    // The Anthropic ingress: the input as the client's own Messages body.
    req.endpoint = providers::Endpoint::ChatCompletions;
    req.ingress = providers::Ingress::Anthropic;
    req.native_body = &body;
    req.raw_body = {};
    (void)adapter->build_request(req, "upstream-model", ctx);
  }

  // The upstream's answers to a plain chat request.
  const nlohmann::json chat = {{"model", "m"},
                               {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                               {"stream", true}};
  providers::ClientRequest req = client_request(chat, {}, h);
  req.endpoint = providers::Endpoint::ChatCompletions;
  if ((h >> 16) & 1) {
    req.ingress = providers::Ingress::Anthropic;
    req.native_body = &chat;
  }
  providers::Response whole = adapter->translate_response(req, std::string(in));
  if (whole.error) (void)render_error_body(*whole.error);

  auto stream = adapter->make_stream_translator(req);
  std::string out;
  providers::StreamStatus status = providers::StreamStatus::Continue;
  for (std::string_view piece : pieces(in, h)) {
    status = stream->on_bytes(piece, out);
    if (status != providers::StreamStatus::Continue) break;
  }
  if (status == providers::StreamStatus::Continue) status = stream->on_end(out);
  check_client_stream(out);
  TG_FUZZ_CHECK(stream->usage().input >= 0 && stream->usage().output >= 0);

  static constexpr int kStatuses[] = {400, 401, 404, 413, 429, 500, 503, 529};
  Error e = adapter->map_error(provider.name, kStatuses[(h >> 20) % 8], in, "");
  std::string rendered = render_error_body(e);
  TG_FUZZ_CHECK(nlohmann::json::accept(rendered));
  return 0;
}

}  // namespace tg::fuzz
