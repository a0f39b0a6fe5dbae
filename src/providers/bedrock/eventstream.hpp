#pragma once
// application/vnd.amazon.eventstream (provider-formats.md 4.5), pure: the decoder reads
// ConverseStream bodies in the adapter; the encoder writes them in tollgate-mock.
//
//   total_len u32 BE | headers_len u32 BE | prelude_crc u32 | headers | payload | message_crc u32
//   prelude_crc = CRC32(bytes 0..7), message_crc = CRC32(everything before it); CRC-32 is zlib's.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tg::providers::bedrock::eventstream {

// zlib/IEEE CRC-32 (reflected 0xEDB88320, init and final xor 0xFFFFFFFF); `crc` continues a
// previous result.
uint32_t crc32(std::string_view data, uint32_t crc = 0);

// AWS caps a message at 16 MiB; anything larger is a framing error.
inline constexpr uint32_t kMaxMessage = 16u << 20;

enum class ValueType : uint8_t {
  True = 0, False = 1, Byte = 2, Short = 3, Integer = 4, Long = 5,
  Bytes = 6, String = 7, Timestamp = 8, Uuid = 9,
};

struct Header {
  std::string_view name;
  ValueType type = ValueType::String;
  std::string_view value;  // string/bytes contents; the raw big-endian bytes for the others
};

// One decoded message. Views point into the decoder's buffer: valid until the next feed().
struct Message {
  std::vector<Header> headers;
  std::string_view payload;
  // The value of a string header, "" when absent.
  std::string_view header(std::string_view name) const;
};

// Appends one frame with string headers (type 7) and the payload.
void encode(std::string& out, const std::vector<std::pair<std::string_view, std::string_view>>& headers,
            std::string_view payload);

// Incremental decoder: any byte split, several frames per feed. After an error it stays failed.
class Decoder {
 public:
  // Appends the messages completed by these bytes to `out` (cleared first). False on a framing
  // error (bad lengths, a CRC mismatch, bad headers); error() says which.
  bool feed(std::string_view bytes, std::vector<Message>& out);
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  // Bytes of an incomplete frame held back.
  size_t pending() const { return buffer_.size() - consumed_; }

 private:
  bool fail(std::string why);
  std::string buffer_;
  size_t consumed_ = 0;  // bytes of buffer_ already decoded (dropped at the next feed)
  std::string error_;
};

}  // namespace tg::providers::bedrock::eventstream
