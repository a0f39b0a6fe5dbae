#include "tollgate/server/response_writer.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/http/status.hpp>

#include <spdlog/spdlog.h>

#include "tollgate/core/text.hpp"
#include "tollgate/net/write_now.hpp"

namespace tg::server {

namespace net = boost::asio;
namespace http = boost::beast::http;

namespace {

bool safe_value(std::string_view v) {
  // A plain loop: find_first_of with a three-character set calls memchr once per character.
  for (const char c : v) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

}  // namespace

bool ResponseWriter::add_header(HeaderName header, std::string_view value) {
  const std::string_view name = header.text();
  if (!safe_value(value)) {
    spdlog::warn("response header {}: refused (CR, LF or NUL in its value); not sent", name);
    return false;
  }
  if (headers_.empty()) headers_.reserve(512);  // an answer's dozen headers, without regrowing
  // One resize and four copies (appending the four pieces cost a capacity check and a call each).
  const size_t at = headers_.size();
  headers_.resize(at + name.size() + value.size() + 4);
  char* p = headers_.data() + at;
  p = std::copy(name.begin(), name.end(), p);
  *p++ = ':';
  *p++ = ' ';
  p = std::copy(value.begin(), value.end(), p);
  *p++ = '\r';
  *p = '\n';
  return true;
}

std::string ResponseWriter::head(int status, std::string_view content_type,
                                 const size_t* content_length) {
  auto reason = http::obsolete_reason(static_cast<http::status>(status));
  std::string h;
  h.reserve(160 + headers_.size());
  h += "HTTP/1.1 ";
  h.append(NumberText(status));
  h += ' ';
  h.append(reason.data(), reason.size());
  h += "\r\n";
  h += "Server: tollgate\r\n";
  if (!content_type.empty()) {
    h += "Content-Type: ";
    h += content_type;
    h += "\r\n";
  }
  if (status == 204 || status == 304) {
    // No body, and no Content-Length (RFC 9110 8.6: a 304's would describe the 200's body).
  } else if (content_length) {
    h += "Content-Length: ";
    h += std::to_string(*content_length);
    h += "\r\n";
  } else {
    h += "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n";
  }
  if (!keep_alive_) h += "Connection: close\r\n";
  h += headers_;
  h += "\r\n";
  return h;
}

net::awaitable<bool> ResponseWriter::write(std::string_view a, std::string_view b,
                                           std::string_view c) {
  if (failed_) co_return false;
  if (!committed_) first_byte_at_ = std::chrono::steady_clock::now();
  committed_ = true;
  std::array<net::const_buffer, 3> bufs{net::buffer(a.data(), a.size()),
                                        net::buffer(b.data(), b.size()),
                                        net::buffer(c.data(), c.size())};
  const size_t total = a.size() + b.size() + c.size();
  boost::system::error_code ec;
  const size_t now = io::write_now(stream_.socket(), bufs, ec);
  if (ec) {
    failed_ = true;
    co_return false;
  }
  bytes_sent_ += now;
  if (now == total) co_return true;
  // The rest when the client reads it, within the write timeout.
  boost::beast::buffers_suffix<std::array<net::const_buffer, 3>> rest(bufs);
  rest.consume(now);
  stream_.expires_after(write_timeout_);
  auto [wec, n] = co_await net::async_write(stream_, rest, net::as_tuple(net::use_awaitable));
  stream_.expires_never();
  if (wec) {
    failed_ = true;
    co_return false;
  }
  bytes_sent_ += n;
  co_return true;
}

net::awaitable<bool> ResponseWriter::send(int status, std::string_view content_type,
                                          std::string_view body) {
  status_ = status;
  size_t len = body.size();
  std::string h = head(status, content_type, &len);
  if (head_only_) co_return co_await write(h);
  co_return co_await write(h, body);
}

net::awaitable<bool> ResponseWriter::send_error(const Error& e) {
  if (!e.retry_after.empty()) add_header("Retry-After", e.retry_after);
  error_code_ = e.code_str.empty() ? e.type : e.code_str;
  std::string body = render_(e);
  co_return co_await send(e.status, "application/json", body);
}

net::awaitable<bool> ResponseWriter::begin_stream(std::string_view content_type) {
  status_ = 200;
  streaming_ = true;
  std::string h = head(200, content_type, nullptr);
  co_return co_await write(h);
}

net::awaitable<bool> ResponseWriter::write_chunk(std::string_view data) {
  if (data.empty() || head_only_) co_return !failed_;
  char size_line[24];  // the chunk's size in hex, CRLF (per streamed event: no format parsing)
  char* end = std::to_chars(size_line, size_line + sizeof size_line - 2, data.size(), 16).ptr;
  *end++ = '\r';
  *end++ = '\n';
  co_return co_await write(std::string_view(size_line, static_cast<size_t>(end - size_line)), data,
                           "\r\n");
}

net::awaitable<bool> ResponseWriter::end_stream() {
  if (head_only_) co_return !failed_;
  co_return co_await write("0\r\n\r\n");
}

}  // namespace tg::server
