// The SSE decoder (every upstream stream but Bedrock's goes through it): any bytes, any split.
// Invariant: the events do not depend on how the bytes were split; an encoded event decodes back.

#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tollgate/sse/sse.hpp"

using namespace tg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::bytes(data, size);

  sse::Decoder whole;
  std::vector<sse::Event> a;
  whole.feed(in, a);

  sse::Decoder split;
  std::vector<sse::Event> b;
  for (std::string_view piece : fuzz::pieces(in, fuzz::hash(in))) split.feed(piece, b);

  TG_FUZZ_CHECK(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    TG_FUZZ_CHECK(a[i].event == b[i].event);
    TG_FUZZ_CHECK(a[i].data == b[i].data);
    TG_FUZZ_CHECK(a[i].id == b[i].id);
  }
  TG_FUZZ_CHECK(whole.has_partial() == split.has_partial());

  // Round trip of a payload without line ends (what append_data_event promises to take).
  if (in.find_first_of("\r\n") == std::string_view::npos) {
    std::string encoded;
    sse::append_data_event(encoded, in);
    sse::Decoder d;
    std::vector<sse::Event> events;
    d.feed(encoded, events);
    TG_FUZZ_CHECK(events.size() == 1 && events[0].data == in && !d.has_partial());
  }
  return 0;
}
