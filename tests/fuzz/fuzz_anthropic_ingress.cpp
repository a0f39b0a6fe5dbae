// The Anthropic Messages ingress (POST /v1/messages, /v1/messages/count_tokens): the client's
// body parsed and translated to the OpenAI shape, the token estimate; and the way back, an
// OpenAI answer or OpenAI stream rendered as an Anthropic Message / Anthropic events.
// Invariants: no throw or crash; the translation is an object or a 400 that renders; the answer
// is JSON; the client stream is whole SSE events whose data is JSON.

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "tollgate/providers/anthropic_ingress.hpp"
#include "tollgate/providers/client_json.hpp"

using namespace tg;
using namespace tg::providers;
using json = nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::bytes(data, size);
  const uint64_t h = fuzz::hash(in);

  // The client's request.
  // Through the one door every client body takes (depth-checked before parsing).
  auto parsed = parse_client_json(in);
  const json body = std::holds_alternative<json>(parsed) ? std::get<json>(parsed) : json();
  if (std::holds_alternative<json>(parsed)) {
    std::vector<std::string> dropped;
    auto translated = anthropic_ingress::to_openai_request(body, &dropped);
    if (auto* e = std::get_if<Error>(&translated)) {
      TG_FUZZ_CHECK(e->status == 400);
      TG_FUZZ_CHECK(json::accept(anthropic_ingress::render_error(*e)));
    } else {
      TG_FUZZ_CHECK(std::get<json>(translated).is_object());
    }
    TG_FUZZ_CHECK(anthropic_ingress::estimate_input_tokens(body) >= 1);
  }

  // An OpenAI answer, whole and streamed, back to the Anthropic client.
  TG_FUZZ_CHECK(json::accept(anthropic_ingress::to_anthropic_response(in, "m")));
  anthropic_ingress::StreamConverter conv("m");
  std::string out;
  for (std::string_view piece : fuzz::pieces(in, h)) conv.feed(piece, out);
  if ((h >> 8) & 1) {
    conv.fail(Error::upstream_protocol("p", "cut"), out);
  } else {
    conv.finish(out);
  }
  TG_FUZZ_CHECK(conv.done());
  sse::Decoder d;
  std::vector<sse::Event> events;
  d.feed(out, events);
  TG_FUZZ_CHECK(!d.has_partial());
  for (const auto& e : events) TG_FUZZ_CHECK(json::accept(e.data));
  return 0;
}
