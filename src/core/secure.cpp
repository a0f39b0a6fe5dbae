#include "tollgate/core/secure.hpp"

#include <openssl/evp.h>

namespace tg {

bool constant_time_equals(std::string_view presented, std::string_view secret) {
  unsigned char diff = presented.size() == secret.size() ? 0 : 1;
  for (size_t i = 0; i < presented.size(); ++i) {
    unsigned char s = secret.empty() ? 0 : static_cast<unsigned char>(secret[i % secret.size()]);
    diff |= static_cast<unsigned char>(presented[i]) ^ s;
  }
  return diff == 0 && !secret.empty();
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string redact_key(std::string_view key) {
  if (key.size() < 12) return "***";
  return std::string(key.substr(0, 3)) + "..." + std::string(key.substr(key.size() - 4));
}

}  // namespace tg
