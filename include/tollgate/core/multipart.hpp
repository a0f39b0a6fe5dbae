#pragma once
// multipart/form-data (RFC 7578) for the upload endpoints (audio transcriptions, image edits):
// an incremental, bounded parser and the re-emission of a form with some text fields replaced.
// Pure: no I/O.
//
// The parser is fed chunks of any size (a delimiter may be split at any byte). It keeps the
// small text fields (model, response_format, prompt...) and, for file parts, only where their
// bytes are (offsets into the whole body): a 25 MB upload is never copied or parsed as text.
// Every limit is checked as bytes arrive: part count, one part's header size, one text field's
// size, the total of text fields.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tg::multipart {

struct Limits {
  size_t max_parts = 100;
  size_t max_part_header = 8 * 1024;  // one part's header block
  size_t max_field = 256 * 1024;      // one text field's value
  size_t max_fields_total = 1 << 20;  // all text fields together
};

struct Part {
  std::string name;          // Content-Disposition name
  std::string filename;      // Content-Disposition filename ("" for a text field)
  std::string content_type;  // the part's Content-Type ("" when absent)
  bool file = false;         // has a filename, or a non-text Content-Type: bytes kept in place
  std::string value;         // a text field's value (empty for a file)
  uint64_t header_begin = 0;  // offsets in the whole body: the part's header block...
  uint64_t header_end = 0;    // ...(up to and without the blank line)
  uint64_t begin = 0;         // ...and its content
  uint64_t end = 0;
  uint64_t size() const { return end - begin; }
};

struct Form {
  std::string boundary;
  std::vector<Part> parts;
  // The first part named `name`, or null.
  const Part* find(std::string_view name) const;
  // A text field's value, or nullopt when absent (or a file).
  std::optional<std::string_view> field(std::string_view name) const;
  // The content of a part, as a view of the body the form was parsed from.
  static std::string_view content(const Part& p, std::string_view body) {
    return body.substr(p.begin, p.size());
  }
};

// The boundary of a `multipart/form-data; boundary=...` Content-Type (quoted or not), or an error
// message: another media type, no boundary, or one that RFC 2046 does not allow (1-70 characters
// from its set, not ending in a space).
std::pair<std::optional<std::string>, std::string> boundary_of(std::string_view content_type);

class Parser {
 public:
  explicit Parser(std::string boundary, Limits limits = {});
  // Feeds the next bytes of the body. Returns false once the body is malformed or over a limit
  // (error() says why); bytes after the closing delimiter (the epilogue) are ignored.
  bool feed(std::string_view chunk);
  // After the last chunk: false when the closing delimiter never came.
  bool finish();
  const std::string& error() const { return error_; }
  bool done() const { return state_ == State::Epilogue; }
  // The parts seen so far (complete after finish() returned true).
  Form& form() { return form_; }

 private:
  enum class State { Preamble, AfterDelimiter, AfterDelimiterDash, PaddingCr, Headers, Body, Epilogue, Failed };
  bool fail(std::string message);
  bool start_part();
  bool end_headers();
  bool content_bytes(std::string_view bytes);
  bool end_part();

  Form form_;
  Limits limits_;
  std::string delimiter_;  // "\r\n--" + boundary
  State state_ = State::Preamble;
  size_t matched_ = 2;     // bytes of delimiter_ matched so far (the body starts as if after CRLF)
  uint64_t offset_ = 0;    // offset of the next byte fed
  std::string headers_;    // the current part's header block
  size_t fields_total_ = 0;
  std::string error_;
};

// Parses a whole body (the common case: the HTTP layer has read it).
struct ParseResult {
  std::optional<Form> form;
  std::string error;  // set when !form
};
ParseResult parse(std::string_view content_type, std::string_view body, Limits limits = {});

// A form re-emitted for an upstream: every part in order with its original headers, the values
// of `replace` fields (name -> new value) swapped (added at the end when absent), file contents
// borrowed from `body` (not copied). The result is `head`, then for each piece its borrowed bytes and its owned text:
// head + borrowed[0] + text[0] + borrowed[1] + text[1] + ...
struct Emitted {
  std::string head;
  std::vector<std::pair<std::string_view, std::string>> pieces;
  uint64_t size() const;
  std::string flatten() const;  // tests and small bodies
};
// Fails (nullopt) when a replacement value holds the boundary or a line break.
std::optional<Emitted> emit(const Form& form, std::string_view body,
                            const std::vector<std::pair<std::string, std::string>>& replace);

}  // namespace tg::multipart
