// The Bedrock event-stream decoder (binary frames from ConverseStream): any bytes, any split.
// Invariants: the messages and the failure do not depend on the split; a frame written by
// encode() decodes back to its headers and payload.

#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "providers/bedrock/eventstream.hpp"

using namespace tg::providers::bedrock;

namespace {

struct Decoded {
  std::vector<std::string> messages;  // headers and payload, flattened
  bool failed = false;
};

std::string flatten(const eventstream::Message& m) {
  std::string s;
  for (const auto& h : m.headers) {
    s.append(h.name).push_back('\0');
    s.push_back(static_cast<char>(h.type));
    s.append(h.value).push_back('\0');
  }
  s.append(m.payload);
  return s;
}

Decoded decode(const std::vector<std::string_view>& pieces) {
  Decoded d;
  eventstream::Decoder dec;
  std::vector<eventstream::Message> out;
  for (std::string_view p : pieces) {
    bool ok = dec.feed(p, out);
    for (const auto& m : out) d.messages.push_back(flatten(m));  // views die at the next feed
    if (!ok) {
      TG_FUZZ_CHECK(dec.failed());
      d.failed = true;
      break;
    }
  }
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = tg::fuzz::bytes(data, size);
  Decoded whole = decode({in});
  Decoded split = decode(tg::fuzz::pieces(in, tg::fuzz::hash(in)));
  TG_FUZZ_CHECK(whole.failed == split.failed);
  if (!whole.failed) TG_FUZZ_CHECK(whole.messages == split.messages);

  // Round trip: the input's first bytes as a header value, the rest as the payload.
  std::string_view value = in.substr(0, std::min<size_t>(in.size(), 40));
  std::string frame;
  eventstream::encode(frame, {{":event-type", value}, {":message-type", "event"}}, in.substr(value.size()));
  eventstream::Decoder dec;
  std::vector<eventstream::Message> out;
  TG_FUZZ_CHECK(dec.feed(frame, out) && out.size() == 1 && dec.pending() == 0);
  TG_FUZZ_CHECK(out[0].header(":event-type") == value);
  TG_FUZZ_CHECK(out[0].payload == in.substr(value.size()));
  return 0;
}
