// The client dialects (src/dialects/): a client body, through the depth check every entry uses,
// read by each codec (OpenAI chat, completions and embeddings; Anthropic Messages; OpenAI
// Responses, with and without a stored conversation). A request that parses is then answered:
// the input is also used as a canonical answer and as canonical stream bytes (split where its
// hash says), rendered for the client natively and translated. Invariants: no throw or crash;
// a refusal is a 4xx whose body is JSON; a whole answer rendered by a translating dialect is
// JSON; the model, when parsed, is what the client asked for; the OpenAI codec, which reads the
// text and builds no document unless asked, reads what the document holds and sends upstream the
// body the document would give.

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "providers/openai/openai_wire.hpp"
#include "tollgate/dialects/dialect.hpp"
#include "tollgate/providers/client_json.hpp"

using namespace tg;
using json = nlohmann::json;

namespace {

void exercise(const dialects::Codec& codec, std::string_view in, const json& body,
              const json* history, uint64_t h) {
  dialects::ClientInput ci;
  ci.body = in;
  ci.anthropic_version = (h & 1) ? "2026-10-21" : "2023-06-01";
  ci.history = history;
  json copy = body;
  auto parsed = codec.parse(std::move(copy), ci);
  if (auto* e = std::get_if<Error>(&parsed)) {
    TG_FUZZ_CHECK(e->status >= 400 && e->status < 500);
    TG_FUZZ_CHECK(json::accept(codec.error_renderer()(*e)));
    return;
  }
  auto& call = *std::get<std::unique_ptr<dialects::Call>>(parsed);
  const auto& req = call.request();
  if (codec.name() == "openai") {
    // Read from the text, as the document says: the model, the stream flags, every member of
    // fields(), and the body sent upstream (spliced from the text, or written from the document).
    TG_FUZZ_CHECK(req.model == body["model"].get<std::string>());
    if (req.endpoint != providers::Endpoint::Embeddings) {
      TG_FUZZ_CHECK(req.stream == (body.contains("stream") && body["stream"] == true));
    }
    for (const auto& [k, v] : req.fields().items()) TG_FUZZ_CHECK(body.contains(k) && body[k] == v);
    for (bool ask : {false, true}) {
      auto sent = json::parse(providers::openai_wire::serialize_body(req, "up/model", ask), nullptr, false);
      auto expected = json::parse(providers::openai_wire::serialize_body(body, req, "up/model", ask),
                                  nullptr, false);
      TG_FUZZ_CHECK(!sent.is_discarded() && sent == expected);
    }
    TG_FUZZ_CHECK(req.doc() == body);
    // The same codec given the members the proxy's syntax check noted (one pass for both) reads
    // the same request and sends the same bytes.
    providers::json_scan::TopMembers members;
    TG_FUZZ_CHECK(providers::json_scan::valid(in, providers::kMaxJsonDepth, members));
    ci.members = &members;
    auto again = codec.parse(json::object(), ci);
    TG_FUZZ_CHECK(std::holds_alternative<std::unique_ptr<dialects::Call>>(again));
    const auto& req2 = std::get<std::unique_ptr<dialects::Call>>(again)->request();
    TG_FUZZ_CHECK(req2.model == req.model && req2.stream == req.stream && req2.fields() == req.fields());
    TG_FUZZ_CHECK(providers::openai_wire::serialize_body(req2, "up/model", true) ==
                  providers::openai_wire::serialize_body(req, "up/model", true));
  }
  if (codec.name() == "anthropic") {
    // Given the members, the codec keeps the client's bytes for a native target when they say
    // what its document says: the model spliced in gives the document with the model replaced.
    providers::json_scan::TopMembers members;
    TG_FUZZ_CHECK(providers::json_scan::valid(in, providers::kMaxJsonDepth, members));
    ci.members = &members;
    auto again = codec.parse(json(body), ci);
    TG_FUZZ_CHECK(std::holds_alternative<std::unique_ptr<dialects::Call>>(again));
    const auto& req2 = std::get<std::unique_ptr<dialects::Call>>(again)->request();
    if (!req2.native_raw.empty()) {
      json expected = *req2.native_body;
      expected["model"] = "up/model";
      auto sent = json::parse(providers::splice_model(req2.native_raw, req2.native_raw_spans, "up/model"),
                              nullptr, false);
      TG_FUZZ_CHECK(!sent.is_discarded() && sent == expected);
    }
  }
  TG_FUZZ_CHECK(req.doc().is_object());
  for (bool native : {false, true}) {
    (void)call.request_for(native);
    (void)call.refuse(native);
    std::string rendered = call.render(std::string(in), native);
    if (!native && codec.name() != "openai") TG_FUZZ_CHECK(json::accept(rendered));
    auto egress = call.egress(native);
    std::string out;
    for (auto piece : fuzz::pieces(in, h >> 8)) egress->feed(piece, out);
    if (h & 2) egress->finish(out);
    else egress->fail(Error::upstream_protocol("p", "cut"), out);
  }
  (void)call.turn();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::bytes(data, size);
  const uint64_t h = fuzz::hash(in);
  auto parsed = providers::parse_client_json(in);
  if (auto* e = std::get_if<Error>(&parsed)) {
    TG_FUZZ_CHECK(e->status == 400);
    return 0;
  }
  const json& body = std::get<json>(parsed);
  for (auto e : {providers::Endpoint::ChatCompletions, providers::Endpoint::Completions,
                 providers::Endpoint::Embeddings}) {
    exercise(dialects::openai_codec(e), in, body, nullptr, h);
  }
  exercise(dialects::anthropic_codec(), in, body, nullptr, h);
  exercise(dialects::responses_codec(), in, body, nullptr, h);
  // The same body continuing a conversation: its own items as the history, when it has some.
  auto input = body.find("input");
  if (input != body.end() && input->is_array()) {
    exercise(dialects::responses_codec(), in, body, &*input, h);
  }
  return 0;
}
