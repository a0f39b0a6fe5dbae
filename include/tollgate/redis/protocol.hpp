#pragma once
// The Redis wire protocol (RESP2), pure: commands encoded as arrays of bulk strings, and a bounded
// reply reader on hiredis's parser. No I/O; the client (src/redis/io) feeds it bytes.
//
// A reply is hostile until proven otherwise: the reader refuses arrays with more than
// `max_elements` elements (before hiredis allocates them), nesting deeper than hiredis's 7 levels,
// and more than `max_pending` bytes buffered without a complete reply (a "$1000000000" bulk).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tg::redis {

struct Value {
  enum class Type { Nil, Integer, String, Status, Error, Array };
  Type type = Type::Nil;
  int64_t integer = 0;
  std::string str;            // String, Status, Error
  std::vector<Value> elements;  // Array

  bool is_error() const { return type == Type::Error; }
  bool is_array() const { return type == Type::Array; }
};

// "*<n>\r\n$<len>\r\n<arg>\r\n..." appended to `out` (commands are pipelined by appending).
void encode_command(std::string& out, std::span<const std::string> args);

// A command written in RESP as its arguments come, without a string per argument: for the
// scripts every governed request sends (about 40 arguments each).
class CommandWriter {
 public:
  CommandWriter() { body_.reserve(1024); }
  CommandWriter& arg(std::string_view a) { return pieces(std::span(&a, 1)); }
  CommandWriter& arg(const char* a) { return arg(std::string_view(a)); }
  CommandWriter& arg(int64_t n);  // in decimal
  // One argument made of several pieces, written one after the other (a key's name).
  CommandWriter& pieces(std::span<const std::string_view> parts);
  size_t size() const { return count_; }  // arguments so far
  // "*<n>\r\n" and the arguments, appended to `out`.
  void append_to(std::string& out) const;

 private:
  std::string body_;
  size_t count_ = 0;
};

struct ReaderLimits {
  size_t max_elements = 4096;       // per array
  size_t max_pending = 1 << 20;     // bytes buffered without a complete reply
};

class Reader {
 public:
  explicit Reader(ReaderLimits limits = {});
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Adds bytes from the connection. False (and error() set) if the stream broke a limit.
  bool feed(const char* data, size_t n);
  // The next complete reply, if any. Sets error() on a protocol error (the connection must be
  // dropped: the stream cannot be resynchronised).
  std::optional<Value> next();
  const std::string& error() const { return error_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_;
};

}  // namespace tg::redis
