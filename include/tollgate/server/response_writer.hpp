#pragma once
// The commit point. A handler answers through this writer, either with one full response or with
// a stream (begin_stream, write, end). Once anything was written, committed() is true and the
// router must not fail over any more. Writes its own HTTP/1.1 framing (no body copies).

#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "tollgate/core/error.hpp"
#include "tollgate/core/header_name.hpp"

namespace tg::server {

class ResponseWriter {
 public:
  ResponseWriter(boost::beast::tcp_stream& stream, std::chrono::milliseconds write_timeout)
      : stream_(stream), write_timeout_(write_timeout) {}

  // Headers added to every response of this request (x-request-id, x-tollgate-*). The name is
  // checked when compiled (HeaderName); a value with CR, LF or NUL is dropped with a warning: the
  // last defence against response splitting by a client-chosen string. False when dropped.
  bool add_header(HeaderName name, std::string_view value);
  void set_keep_alive(bool keep) { keep_alive_ = keep; }
  // A HEAD request: every response gets the head it would have for GET (Content-Length
  // included) and no body, so the keep-alive connection's framing stays right.
  void set_head_only(bool head_only) { head_only_ = head_only; }
  // Errors in another API's shape (the Anthropic-style endpoints).
  void set_error_renderer(std::string (*render)(const Error&)) { render_ = render; }
  bool keep_alive() const { return keep_alive_; }

  boost::asio::awaitable<bool> send(int status, std::string_view content_type,
                                    std::string_view body);
  boost::asio::awaitable<bool> send_error(const Error& e);
  // 200, chunked: SSE by default; audio and other byte streams pass their own type.
  boost::asio::awaitable<bool> begin_stream(
      std::string_view content_type = "text/event-stream; charset=utf-8");
  boost::asio::awaitable<bool> write_chunk(std::string_view data);
  boost::asio::awaitable<bool> end_stream();

  bool committed() const { return committed_; }
  bool streaming() const { return streaming_; }
  bool failed() const { return failed_; }  // a write failed: the client is gone
  int status() const { return status_; }
  // The "code" of the error sent (its type when it has no code), "" after a success.
  const std::string& error_code() const { return error_code_; }
  size_t bytes_sent() const { return bytes_sent_; }
  std::chrono::steady_clock::time_point first_byte_at() const { return first_byte_at_; }

 private:
  std::string head(int status, std::string_view content_type, const size_t* content_length);
  boost::asio::awaitable<bool> write(std::string_view a, std::string_view b = {},
                                     std::string_view c = {});

  boost::beast::tcp_stream& stream_;
  std::chrono::milliseconds write_timeout_;
  std::string headers_;  // "name: value\r\n" lines, checked by add_header
  std::string (*render_)(const Error&) = &render_error_body;
  bool keep_alive_ = true;
  bool head_only_ = false;
  bool committed_ = false;
  bool streaming_ = false;
  bool failed_ = false;
  int status_ = 0;
  std::string error_code_;
  size_t bytes_sent_ = 0;
  std::chrono::steady_clock::time_point first_byte_at_{};
};

}  // namespace tg::server
