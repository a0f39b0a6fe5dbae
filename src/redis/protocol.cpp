// RESP2 encoding, and hiredis's reply parser with our own (bounded) reply objects.

#include "tollgate/redis/protocol.hpp"

#include <hiredis/read.h>

#include <fmt/format.h>

#include <charconv>
#include <cstring>

namespace tg::redis {

namespace {

// "<mark><n>\r\n" (a RESP array or bulk string header), without fmt's char-by-char appends: a
// command is encoded per request on the Redis path.
void append_header(std::string& out, char mark, size_t n) {
  char buf[24];
  buf[0] = mark;
  char* end = std::to_chars(buf + 1, buf + sizeof buf - 2, n).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.append(buf, static_cast<size_t>(end - buf));
}

}  // namespace

void encode_command(std::string& out, std::span<const std::string> args) {
  size_t size = 16;
  for (const auto& a : args) size += a.size() + 16;
  out.reserve(out.size() + size);
  append_header(out, '*', args.size());
  for (const auto& a : args) {
    append_header(out, '$', a.size());
    out.append(a);
    out.append("\r\n");
  }
}

CommandWriter& CommandWriter::arg(int64_t n) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  return arg(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
}

CommandWriter& CommandWriter::pieces(std::span<const std::string_view> parts) {
  size_t n = 0;
  for (auto p : parts) n += p.size();
  char len[24];
  const size_t digits = static_cast<size_t>(std::to_chars(len, len + sizeof len, n).ptr - len);
  // One resize, then plain copies: a std::string append per piece cost more than the bytes.
  const size_t at = body_.size();
  body_.resize(at + 1 + digits + 2 + n + 2);
  char* out = body_.data() + at;
  *out++ = '$';
  std::memcpy(out, len, digits);
  out += digits;
  *out++ = '\r';
  *out++ = '\n';
  for (auto p : parts) {
    if (!p.empty()) std::memcpy(out, p.data(), p.size());
    out += p.size();
  }
  *out++ = '\r';
  *out = '\n';
  ++count_;
  return *this;
}

void CommandWriter::append_to(std::string& out) const {
  out.reserve(out.size() + body_.size() + 16);
  append_header(out, '*', count_);
  out.append(body_);
}

namespace {

// hiredis builds the reply tree through these callbacks. A child is a slot in its parent's
// vector (allocated by createArray), so only a root is ever freed; returning nullptr makes
// hiredis stop with an error (used for arrays over the limit).
Value* place(const redisReadTask* task, Value v) {
  if (task->parent) {
    auto* parent = static_cast<Value*>(task->parent->obj);
    if (!parent || task->idx < 0 || static_cast<size_t>(task->idx) >= parent->elements.size()) {
      return nullptr;
    }
    Value* slot = &parent->elements[static_cast<size_t>(task->idx)];
    *slot = std::move(v);
    return slot;
  }
  return new Value(std::move(v));
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
  Value v;
  v.type = task->type == REDIS_REPLY_ERROR    ? Value::Type::Error
           : task->type == REDIS_REPLY_STATUS ? Value::Type::Status
                                              : Value::Type::String;
  v.str.assign(str, len);
  return place(task, std::move(v));
}

void* create_array(const redisReadTask* task, int elements) {
  const auto* limits = static_cast<const ReaderLimits*>(task->privdata);
  if (elements < 0 || !limits || static_cast<size_t>(elements) > limits->max_elements) return nullptr;
  Value v;
  v.type = Value::Type::Array;
  v.elements.resize(static_cast<size_t>(elements));
  return place(task, std::move(v));
}

void* create_integer(const redisReadTask* task, long long value) {
  Value v;
  v.type = Value::Type::Integer;
  v.integer = value;
  return place(task, std::move(v));
}

void* create_nil(const redisReadTask* task) { return place(task, Value{}); }

void free_object(void* obj) { delete static_cast<Value*>(obj); }

redisReplyObjectFunctions kFunctions = {create_string, create_array, create_integer, create_nil,
                                        free_object};

}  // namespace

struct Reader::Impl {
  ReaderLimits limits;
  redisReader* reader = nullptr;
};

Reader::Reader(ReaderLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
  impl_->reader = redisReaderCreateWithFunctions(&kFunctions);
  if (impl_->reader) impl_->reader->privdata = &impl_->limits;
}

Reader::~Reader() {
  if (impl_->reader) redisReaderFree(impl_->reader);
}

bool Reader::feed(const char* data, size_t n) {
  if (!error_.empty()) return false;
  if (!impl_->reader) {
    error_ = "out of memory";
    return false;
  }
  if (redisReaderFeed(impl_->reader, data, n) != 0) {
    error_ = impl_->reader->errstr;
    return false;
  }
  return true;
}

std::optional<Value> Reader::next() {
  if (!error_.empty() || !impl_->reader) return std::nullopt;
  void* reply = nullptr;
  if (redisReaderGetReply(impl_->reader, &reply) != 0) {
    error_ = impl_->reader->err == REDIS_ERR_OOM ? "reply over the reader's limits"
                                                  : std::string(impl_->reader->errstr);
    return std::nullopt;
  }
  if (!reply) {
    // Incomplete: bound what may wait for the rest of it.
    if (impl_->reader->len - impl_->reader->pos > impl_->limits.max_pending) {
      error_ = fmt::format("reply over {} bytes", impl_->limits.max_pending);
    }
    return std::nullopt;
  }
  std::unique_ptr<Value> root(static_cast<Value*>(reply));
  return std::move(*root);
}

}  // namespace tg::redis
