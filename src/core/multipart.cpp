#include "tollgate/core/multipart.hpp"

#include <cstring>

#include <fmt/format.h>

#include "tollgate/core/text.hpp"

namespace tg::multipart {

namespace {

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// RFC 2046 bchars.
bool bchar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::strchr("'()+_,-./:=? ", c) != nullptr;
}

// `; key=value; key="quoted \" value"` parameters of a header value (after its first token).
// Calls f(key, value) for each; false when malformed.
template <class F>
bool for_each_param(std::string_view s, F&& f) {
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ';')) ++i;
    if (i >= s.size()) break;
    size_t eq = s.find('=', i);
    if (eq == std::string_view::npos) return false;
    std::string_view key = trim(s.substr(i, eq - i));
    i = eq + 1;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '\\' && i < s.size()) {
          value += s[i++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value += c;
        }
      }
      if (!closed) return false;
    } else {
      size_t semi = s.find(';', i);
      if (semi == std::string_view::npos) semi = s.size();
      value = std::string(trim(s.substr(i, semi - i)));
      i = semi;
    }
    if (key.empty()) return false;
    f(key, std::move(value));
  }
  return true;
}

}  // namespace

const Part* Form::find(std::string_view name) const {
  for (const auto& p : parts) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::optional<std::string_view> Form::field(std::string_view name) const {
  const Part* p = find(name);
  if (!p || p->file) return std::nullopt;
  return std::string_view(p->value);
}

std::pair<std::optional<std::string>, std::string> boundary_of(std::string_view content_type) {
  size_t semi = content_type.find(';');
  std::string_view type = trim(content_type.substr(0, semi));
  if (!ieq(type, "multipart/form-data")) {
    return {std::nullopt, fmt::format("expected Content-Type multipart/form-data, got '{}'",
                                      std::string(type.substr(0, 100)))};
  }
  std::optional<std::string> boundary;
  bool ok = semi != std::string_view::npos &&
            for_each_param(content_type.substr(semi + 1), [&](std::string_view k, std::string v) {
              if (ieq(k, "boundary") && !boundary) boundary = std::move(v);
            });
  if (!ok || !boundary) {
    return {std::nullopt, "the multipart/form-data Content-Type has no valid boundary parameter"};
  }
  const std::string& b = *boundary;
  bool valid = !b.empty() && b.size() <= 70 && b.back() != ' ';
  for (char c : b) valid = valid && bchar(c);
  if (!valid) {
    return {std::nullopt, "the multipart boundary must be 1 to 70 characters from RFC 2046's set"};
  }
  return {std::move(boundary), {}};
}

Parser::Parser(std::string boundary, Limits limits) : limits_(limits) {
  form_.boundary = std::move(boundary);
  delimiter_ = "\r\n--" + form_.boundary;
}

bool Parser::fail(std::string message) {
  if (state_ != State::Failed) error_ = std::move(message);
  state_ = State::Failed;
  return false;
}

bool Parser::start_part() {
  if (form_.parts.size() >= limits_.max_parts) {
    return fail(fmt::format("the form has more than {} parts", limits_.max_parts));
  }
  form_.parts.emplace_back();
  form_.parts.back().header_begin = offset_ + 1;  // called on the '\n' ending the delimiter line
  headers_.clear();
  return true;
}

bool Parser::end_headers() {
  Part& part = form_.parts.back();
  part.begin = offset_ + 1;
  part.header_end = part.begin - 2;  // the block keeps each line's CRLF, not the blank line's
  std::string_view block(headers_);
  block.remove_suffix(2);
  bool disposition = false;
  while (!block.empty()) {
    size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block.remove_prefix(eol + 2);
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
      return fail("a part header holds a bare line break or NUL");
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return fail("a part header line is not 'Name: value'");
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    if (ieq(name, "content-disposition")) {
      size_t semi = value.find(';');
      if (!ieq(trim(value.substr(0, semi)), "form-data")) {
        return fail("a part's Content-Disposition is not form-data");
      }
      bool has_name = false;
      bool ok = semi != std::string_view::npos &&
                for_each_param(value.substr(semi + 1), [&](std::string_view k, std::string v) {
                  if (ieq(k, "name")) {
                    part.name = std::move(v);
                    has_name = true;
                  } else if (ieq(k, "filename")) {
                    part.filename = std::move(v);
                    part.file = true;
                  }
                });
      if (!ok || !has_name) return fail("a part's Content-Disposition has no name");
      disposition = true;
    } else if (ieq(name, "content-type")) {
      part.content_type = std::string(value);
    }
  }
  if (!disposition) return fail("a part has no Content-Disposition header");
  if (!part.content_type.empty() && !part.file) {
    std::string_view ct = part.content_type;
    part.file = !(ct.size() >= 5 && ieq(ct.substr(0, 5), "text/")) &&
                !(ct.size() >= 16 && ieq(ct.substr(0, 16), "application/json"));
  }
  headers_.clear();
  return true;
}

bool Parser::content_bytes(std::string_view bytes) {
  if (state_ != State::Body || bytes.empty()) return true;
  Part& part = form_.parts.back();
  if (part.file) return true;  // its bytes stay where they are
  if (part.value.size() + bytes.size() > limits_.max_field) {
    return fail(fmt::format("the form field '{}' is over {} bytes", log_safe(std::string_view(part.name).substr(0, 100)),
                            limits_.max_field));
  }
  fields_total_ += bytes.size();
  if (fields_total_ > limits_.max_fields_total) {
    return fail(fmt::format("the form's text fields are over {} bytes", limits_.max_fields_total));
  }
  part.value.append(bytes);
  return true;
}

bool Parser::feed(std::string_view chunk) {
  const std::string_view d = delimiter_;
  size_t i = 0;
  while (i < chunk.size()) {
    if (state_ == State::Failed) return false;
    if (state_ == State::Epilogue) {
      offset_ += chunk.size() - i;
      return true;
    }
    const char c = chunk[i];
    if (state_ == State::Preamble || state_ == State::Body) {
      if (matched_ == 0) {
        // Fast path: skip to the next CR; all before it is content.
        const void* cr = std::memchr(chunk.data() + i, '\r', chunk.size() - i);
        size_t stop = cr ? static_cast<size_t>(static_cast<const char*>(cr) - chunk.data())
                         : chunk.size();
        if (!content_bytes(chunk.substr(i, stop - i))) return false;
        offset_ += stop - i;
        i = stop;
        if (i == chunk.size()) break;
        matched_ = 1;
        ++offset_;
        ++i;
        continue;
      }
      if (c == d[matched_]) {
        ++matched_;
        ++offset_;
        ++i;
        if (matched_ == d.size()) {
          if (state_ == State::Body) {
            form_.parts.back().end = offset_ - d.size();
          }
          state_ = State::AfterDelimiter;
          matched_ = 0;
        }
        continue;
      }
      // Not a delimiter after all: what matched is content (it can only restart at a CR, the
      // delimiter's one CR being its first byte).
      if (state_ == State::Body && !content_bytes(d.substr(0, matched_))) return false;
      matched_ = 0;
      continue;  // the same byte again, from a clean state
    }
    switch (state_) {
      case State::AfterDelimiter:
        if (c == '-') {
          state_ = State::AfterDelimiterDash;
        } else if (c == '\r') {
          state_ = State::PaddingCr;
        } else if (c != ' ' && c != '\t') {
          return fail("a multipart delimiter is followed by neither CRLF nor '--'");
        }
        break;
      case State::AfterDelimiterDash:
        if (c != '-') return fail("a multipart delimiter is followed by neither CRLF nor '--'");
        state_ = State::Epilogue;
        break;
      case State::PaddingCr:
        if (c != '\n') return fail("a multipart delimiter line does not end with CRLF");
        if (!start_part()) return false;
        state_ = State::Headers;
        break;
      case State::Headers:
        headers_ += c;
        if (headers_.size() > limits_.max_part_header) {
          return fail(fmt::format("a part's headers are over {} bytes", limits_.max_part_header));
        }
        if (headers_ == "\r\n" || headers_.ends_with("\r\n\r\n")) {
          if (headers_ == "\r\n") headers_ = "\r\n\r\n";  // no headers at all
          if (!end_headers()) return false;
          state_ = State::Body;
          matched_ = 0;
        }
        break;
      default:
        break;
    }
    ++offset_;
    ++i;
  }
  return state_ != State::Failed;
}

bool Parser::finish() {
  if (state_ == State::Failed) return false;
  if (state_ != State::Epilogue) return fail("the multipart body ends before its closing boundary");
  if (form_.parts.empty()) return fail("the multipart body has no parts");
  return true;
}

ParseResult parse(std::string_view content_type, std::string_view body, Limits limits) {
  ParseResult r;
  auto [boundary, why] = boundary_of(content_type);
  if (!boundary) {
    r.error = std::move(why);
    return r;
  }
  Parser p(std::move(*boundary), limits);
  if (!p.feed(body) || !p.finish()) {
    r.error = "malformed multipart/form-data body: " + p.error();
    return r;
  }
  r.form = std::move(p.form());
  return r;
}

uint64_t Emitted::size() const {
  uint64_t n = head.size();
  for (const auto& [borrowed, text] : pieces) n += borrowed.size() + text.size();
  return n;
}

std::string Emitted::flatten() const {
  std::string out = head;
  for (const auto& [borrowed, text] : pieces) {
    out.append(borrowed);
    out.append(text);
  }
  return out;
}

std::optional<Emitted> emit(const Form& form, std::string_view body,
                            const std::vector<std::pair<std::string, std::string>>& replace) {
  Emitted out;
  auto text = [&]() -> std::string& { return out.pieces.empty() ? out.head : out.pieces.back().second; };
  for (const auto& [name, value] : replace) {
    if (value.find(form.boundary) != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos ||
        name.find_first_of("\"\r\n") != std::string::npos) {
      return std::nullopt;
    }
  }
  for (const auto& p : form.parts) {
    std::string& t = text();
    t += "--";
    t += form.boundary;
    t += "\r\n";
    t.append(body.substr(p.header_begin, p.header_end - p.header_begin));
    t += "\r\n";
    if (p.file) {
      out.pieces.emplace_back(Form::content(p, body), "\r\n");
      continue;
    }
    const std::string* swapped = nullptr;
    for (const auto& [name, value] : replace) {
      if (name == p.name) swapped = &value;
    }
    t.append(swapped ? std::string_view(*swapped) : std::string_view(p.value));
    t += "\r\n";
  }
  std::string& t = text();
  for (const auto& [name, value] : replace) {  // fields the client left out are added
    if (form.find(name)) continue;
    t += "--";
    t += form.boundary;
    t += "\r\nContent-Disposition: form-data; name=\"";
    t += name;
    t += "\"\r\n\r\n";
    t += value;
    t += "\r\n";
  }
  t += "--";
  t += form.boundary;
  t += "--\r\n";
  return out;
}

}  // namespace tg::multipart
