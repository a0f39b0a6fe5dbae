#pragma once
// The chat SSE chunks of an adapter's output, for a converter that turns them into another
// dialect's stream (Anthropic Messages, OpenAI Responses): decodes any byte split, skips [DONE]
// (the converter's finish() ends its stream) and stops once the converter is done. Pure.

#include <string_view>
#include <vector>

#include "tollgate/sse/sse.hpp"

namespace tg::dialects {

class ChunkFeed {
 public:
  // Calls on_data(data) for each complete event's data, in order, while !done.
  template <class Fn>
  void feed(std::string_view bytes, const bool& done, Fn&& on_data) {
    if (done) return;
    // An adapter writes whole "data: <json>\n\n" frames (sse::append_data_event): those are
    // taken as they are, without the decoder's copies. Anything else (a frame split across
    // feeds, CR line ends, comments, other fields) goes through the decoder, from there on.
    while (framed_ && !bytes.empty()) {
      size_t nl = bytes.find('\n');
      if (!bytes.starts_with("data: ") || nl == std::string_view::npos || nl + 1 >= bytes.size() ||
          bytes[nl + 1] != '\n') {
        framed_ = false;
        break;
      }
      std::string_view data = bytes.substr(6, nl - 6);
      if (data.empty() || data.find('\r') != std::string_view::npos) {
        framed_ = false;
        break;
      }
      bytes.remove_prefix(nl + 2);
      if (data == "[DONE]") continue;
      on_data(data);
      if (done) return;
    }
    if (bytes.empty()) return;
    events_.clear();
    decoder_.feed(bytes, events_);
    for (const auto& ev : events_) {
      if (done) return;
      if (ev.data == "[DONE]") continue;
      on_data(std::string_view(ev.data));
    }
  }

 private:
  bool framed_ = true;  // every byte so far came in whole frames: the decoder holds nothing
  sse::Decoder decoder_;
  std::vector<sse::Event> events_;
};

}  // namespace tg::dialects
