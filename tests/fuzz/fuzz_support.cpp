#include "fuzz_support.hpp"

#include <cstdio>
#include <cstdlib>

namespace tg::fuzz {

void invariant_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", file, line, what);
  std::abort();
}

}  // namespace tg::fuzz
