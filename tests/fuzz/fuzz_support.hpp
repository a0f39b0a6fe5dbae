#pragma once
// Shared by the fuzz harnesses (tests/fuzz/fuzz_*.cpp). An input is used whole, as the bytes the
// parser reads from outside (so the seed corpora are plain fixture files); the choices a harness
// makes besides (where a stream is split, which flags a request has) come from a hash of those
// bytes, so they change as libFuzzer mutates the input and replay the same way every time.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace tg::fuzz {

// Inputs beyond this are cut (the replay driver and libFuzzer's -max_len agree on it): big enough
// for every fixture, small enough that a run does many inputs a second.
inline constexpr size_t kMaxInput = 64 * 1024;

inline std::string_view bytes(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size < kMaxInput ? size : kMaxInput};
}

// FNV-1a: a cheap, stable source of choices derived from the input.
inline uint64_t hash(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Cuts `data` into pieces of 1..64 bytes chosen by `seed` (the order a network might deliver).
inline std::vector<std::string_view> pieces(std::string_view data, uint64_t seed) {
  std::vector<std::string_view> out;
  uint64_t x = seed | 1;
  while (!data.empty()) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64
    size_t n = 1 + x % 64;
    if (n > data.size()) n = data.size();
    out.push_back(data.substr(0, n));
    data.remove_prefix(n);
  }
  return out;
}

// Stops a harness on a broken invariant: an abort is what libFuzzer and the replay driver report.
[[noreturn]] void invariant_failed(const char* what, const char* file, int line);
#define TG_FUZZ_CHECK(cond) \
  ((cond) ? (void)0 : ::tg::fuzz::invariant_failed(#cond, __FILE__, __LINE__))

}  // namespace tg::fuzz
