#include "tollgate/sse/sse.hpp"

#include <cstring>

namespace tg::sse {

void Decoder::reset() {
  line_.clear();
  last_was_cr_ = false;
  event_.clear();
  data_.clear();
  has_data_ = false;
  id_.clear();
}

namespace {
// The first CR or LF at or after i (npos if none). Two memchr calls (a line's LF, then a CR
// before it), each a few instructions per 32 bytes; a loop over the bytes cost ~4 per byte and
// find_first_of one memchr per byte.
size_t line_end(std::string_view s, size_t i) {
  const char* from = s.data() + i;
  const size_t n = s.size() - i;
  const void* lf = std::memchr(from, '\n', n);
  const size_t until = lf ? static_cast<size_t>(static_cast<const char*>(lf) - from) : n;
  const void* cr = std::memchr(from, '\r', until);
  if (cr) return static_cast<size_t>(static_cast<const char*>(cr) - s.data());
  return lf ? i + until : std::string_view::npos;
}
}  // namespace

void Decoder::feed(std::string_view bytes, std::vector<Event>& out) {
  size_t i = 0;
  if (last_was_cr_ && !bytes.empty() && bytes[0] == '\n') i = 1;  // the LF of a split CRLF
  last_was_cr_ = false;
  while (i < bytes.size()) {
    size_t end = line_end(bytes, i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      return;
    }
    std::string_view piece = bytes.substr(i, end - i);
    if (line_.empty()) {
      on_line(piece, out);  // common case: a whole line inside one chunk, no copy
    } else {
      line_.append(piece);
      on_line(line_, out);
      line_.clear();
    }
    if (bytes[end] == '\r') {
      if (end + 1 < bytes.size()) {
        i = end + (bytes[end + 1] == '\n' ? 2 : 1);
      } else {
        last_was_cr_ = true;
        i = end + 1;
      }
    } else {
      i = end + 1;
    }
  }
}

void Decoder::on_line(std::string_view line, std::vector<Event>& out) {
  if (line.empty()) {  // dispatch
    if (has_data_) {
      out.push_back(Event{std::move(event_), std::move(data_), id_});
    }
    event_.clear();
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line[0] == ':') return;  // comment / keep-alive
  std::string_view field = line;
  std::string_view value;
  if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  }
  // "retry" and unknown fields are ignored, as the spec says.
}

void append_data_event(std::string& out, std::string_view payload) {
  out.append("data: ");
  out.append(payload);
  out.append("\n\n");
}

}  // namespace tg::sse
