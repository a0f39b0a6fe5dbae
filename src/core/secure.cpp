#include "tollgate/core/secure.hpp"

#include <openssl/evp.h>

#include <memory>

namespace tg {

bool constant_time_equals(std::string_view presented, std::string_view secret) {
  unsigned char diff = presented.size() == secret.size() ? 0 : 1;
  for (size_t i = 0; i < presented.size(); ++i) {
    unsigned char s = secret.empty() ? 0 : static_cast<unsigned char>(secret[i % secret.size()]);
    diff |= static_cast<unsigned char>(presented[i]) ^ s;
  }
  return diff == 0 && !secret.empty();
}

namespace {

// OpenSSL 3 resolves EVP_sha256() by name and allocates a context on every EVP_Digest: four
// times the cost of hashing a key, paid by every request with a virtual key. One digest fetched
// for the process, one context per thread, reused.
const EVP_MD* sha256_md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

std::string sha256_hex(std::string_view data) {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const bool done = ctx && sha256_md() && EVP_DigestInit_ex2(ctx.get(), sha256_md(), nullptr) &&
                    EVP_DigestUpdate(ctx.get(), data.data(), data.size()) &&
                    EVP_DigestFinal_ex(ctx.get(), md, &len);
  if (!done) EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * len, '\0');
  for (unsigned i = 0; i < len; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 15];
  }
  return out;
}

std::string redact_key(std::string_view key) {
  if (key.size() < 12) return "***";
  return std::string(key.substr(0, 3)) + "..." + std::string(key.substr(key.size() - 4));
}

}  // namespace tg
