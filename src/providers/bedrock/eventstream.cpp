#include "eventstream.hpp"

#include <array>

namespace tg::providers::bedrock::eventstream {
namespace {

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kTable = make_table();

uint32_t be32(const char* p) {
  auto b = [p](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(p[i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

uint16_t be16(const char* p) {
  return static_cast<uint16_t>((static_cast<unsigned char>(p[0]) << 8) |
                               static_cast<unsigned char>(p[1]));
}

void put32(std::string& out, uint32_t v) {
  out += static_cast<char>(v >> 24);
  out += static_cast<char>(v >> 16);
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v);
}

void put32_at(std::string& out, size_t at, uint32_t v) {
  out[at] = static_cast<char>(v >> 24);
  out[at + 1] = static_cast<char>(v >> 16);
  out[at + 2] = static_cast<char>(v >> 8);
  out[at + 3] = static_cast<char>(v);
}

// Parses the header block; false when it is not well formed.
bool parse_headers(std::string_view h, std::vector<Header>& out) {
  size_t i = 0;
  while (i < h.size()) {
    size_t name_len = static_cast<unsigned char>(h[i++]);
    if (name_len == 0 || i + name_len + 1 > h.size()) return false;
    Header hd;
    hd.name = h.substr(i, name_len);
    i += name_len;
    auto type = static_cast<unsigned char>(h[i++]);
    if (type > 9) return false;
    hd.type = static_cast<ValueType>(type);
    size_t len = 0;
    switch (hd.type) {
      case ValueType::True:
      case ValueType::False: len = 0; break;
      case ValueType::Byte: len = 1; break;
      case ValueType::Short: len = 2; break;
      case ValueType::Integer: len = 4; break;
      case ValueType::Long:
      case ValueType::Timestamp: len = 8; break;
      case ValueType::Uuid: len = 16; break;
      case ValueType::Bytes:
      case ValueType::String:
        if (i + 2 > h.size()) return false;
        len = be16(h.data() + i);
        i += 2;
        break;
    }
    if (i + len > h.size()) return false;
    hd.value = h.substr(i, len);
    i += len;
    out.push_back(hd);
  }
  return true;
}

}  // namespace

uint32_t crc32(std::string_view data, uint32_t crc) {
  uint32_t c = ~crc;
  for (char ch : data) c = kTable[(c ^ static_cast<unsigned char>(ch)) & 0xFF] ^ (c >> 8);
  return ~c;
}

std::string_view Message::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name == name && (h.type == ValueType::String || h.type == ValueType::Bytes)) return h.value;
  }
  return {};
}

void encode(std::string& out, const std::vector<std::pair<std::string_view, std::string_view>>& headers,
            std::string_view payload) {
  const size_t start = out.size();
  size_t headers_len = 0;
  for (const auto& [n, v] : headers) headers_len += 1 + n.size() + 1 + 2 + v.size();
  const auto total = static_cast<uint32_t>(12 + headers_len + payload.size() + 4);
  out.reserve(start + total);
  put32(out, total);
  put32(out, static_cast<uint32_t>(headers_len));
  put32(out, 0);
  put32_at(out, start + 8, crc32(std::string_view(out).substr(start, 8)));
  for (const auto& [n, v] : headers) {
    out += static_cast<char>(n.size());
    out += n;
    out += static_cast<char>(ValueType::String);
    out += static_cast<char>(v.size() >> 8);
    out += static_cast<char>(v.size() & 0xFF);
    out += v;
  }
  out += payload;
  put32(out, crc32(std::string_view(out).substr(start, out.size() - start)));
}

bool Decoder::fail(std::string why) {
  error_ = std::move(why);
  return false;
}

bool Decoder::feed(std::string_view bytes, std::vector<Message>& out) {
  out.clear();
  if (failed()) return false;
  // Drop what the previous call decoded (its views are no longer in use), then append.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
  std::string_view b = buffer_;
  while (b.size() - consumed_ >= 12) {
    const char* p = b.data() + consumed_;
    const uint32_t total = be32(p);
    const uint32_t headers_len = be32(p + 4);
    const uint32_t prelude_crc = be32(p + 8);
    if (crc32(std::string_view(p, 8)) != prelude_crc) {
      return fail("event stream prelude CRC mismatch");
    }
    if (total < 16 || total > kMaxMessage || headers_len > total - 16) {
      return fail("event stream frame has invalid lengths");
    }
    if (b.size() - consumed_ < total) break;  // wait for the rest of the frame
    const uint32_t message_crc = be32(p + total - 4);
    if (crc32(std::string_view(p, total - 4)) != message_crc) {
      return fail("event stream message CRC mismatch");
    }
    Message m;
    if (!parse_headers(std::string_view(p + 12, headers_len), m.headers)) {
      return fail("event stream frame has malformed headers");
    }
    m.payload = std::string_view(p + 12 + headers_len, total - 16 - headers_len);
    out.push_back(std::move(m));
    consumed_ += total;
  }
  return true;
}

}  // namespace tg::providers::bedrock::eventstream
