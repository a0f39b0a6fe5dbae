// The Responses translator's way back (src/dialects/responses/): an upstream's chat answer turned
// into a Response object, and an upstream's chat stream (split where the input's hash says) into
// the Responses event sequence. Invariants: no throw or crash; the Response is an object; the
// events are whole SSE events with JSON data, and their sequence_numbers count up from 0.

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "tollgate/dialects/responses.hpp"
#include "tollgate/sse/sse.hpp"

using namespace tg;
using json = nlohmann::json;
namespace rs = tg::dialects::responses;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::bytes(data, size);
  const uint64_t h = fuzz::hash(in);
  uint64_t counter = 0;
  rs::ResponseInfo info;
  info.id = "resp_fuzz";
  info.model = "m";
  info.random = [&counter] { return ++counter; };

  TG_FUZZ_CHECK(rs::build_response(in, info).is_object());

  rs::StreamConverter converter(info);
  std::string out;
  for (auto piece : fuzz::pieces(in, h)) converter.feed(piece, out);
  if (h & 1) converter.finish(out);
  else converter.fail(Error::upstream_protocol("p", "cut"), out);
  sse::Decoder decoder;
  std::vector<sse::Event> events;
  decoder.feed(out, events);
  TG_FUZZ_CHECK(!decoder.has_partial());
  int64_t expected = 0;
  for (const auto& e : events) {
    json event = json::parse(e.data, nullptr, false);
    TG_FUZZ_CHECK(event.is_object());
    TG_FUZZ_CHECK(event.value("sequence_number", int64_t(-1)) == expected);
    ++expected;
  }
  return 0;
}
