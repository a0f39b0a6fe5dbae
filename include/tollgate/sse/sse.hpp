#pragma once
// Server-Sent Events, by the spec (WHATWG): incremental decoding of arbitrary byte splits with
// LF, CRLF and CR line ends, comments, multi-line data; and encoding. Pure: no Asio.

#include <string>
#include <string_view>
#include <vector>

namespace tg::sse {

struct Event {
  std::string event;  // "" when the stream had no event: field (OpenAI)
  std::string data;   // data: lines joined with '\n'
  std::string id;
};

class Decoder {
 public:
  // Feeds bytes as they arrive; appends every completed event to *out.
  void feed(std::string_view bytes, std::vector<Event>& out);
  // Bytes held for an incomplete line or event: a stream that ends with this > 0 was cut short.
  bool has_partial() const { return !line_.empty() || !data_.empty() || has_data_; }
  void reset();

 private:
  void on_line(std::string_view line, std::vector<Event>& out);

  std::string line_;       // current incomplete line
  bool last_was_cr_ = false;  // a CR ended the previous chunk: a leading LF belongs to it
  std::string event_;
  std::string data_;
  bool has_data_ = false;
  std::string id_;
};

// "data: <payload>\n\n" appended to *out; payload must not contain newlines (JSON never does).
void append_data_event(std::string& out, std::string_view payload);
inline constexpr std::string_view kDone = "data: [DONE]\n\n";

}  // namespace tg::sse
