// Redis replies (RESP2, what store.redis reads from its server): any bytes, any split. Invariants:
// the replies and the verdict (a limit broken, a protocol error) do not depend on how the bytes
// were split; the reader's limits hold (no array over max_elements); every reply, read as an
// admit script's answer, is a parsed outcome or a bad reply, never a crash.

#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "tollgate/redis/protocol.hpp"
#include "tollgate/redis/scripts.hpp"

using namespace tg;

namespace {

struct Read {
  std::vector<redis::Value> replies;
  bool broken = false;  // feed refused the bytes or next() set an error
};

bool same(const redis::Value& a, const redis::Value& b) {
  if (a.type != b.type || a.integer != b.integer || a.str != b.str ||
      a.elements.size() != b.elements.size())
    return false;
  for (size_t i = 0; i < a.elements.size(); ++i) {
    if (!same(a.elements[i], b.elements[i])) return false;
  }
  return true;
}

void check_limits(const redis::Value& v, size_t max_elements) {
  TG_FUZZ_CHECK(v.elements.size() <= max_elements);
  for (const auto& e : v.elements) check_limits(e, max_elements);
}

Read read_all(const std::vector<std::string_view>& pieces, const redis::ReaderLimits& limits) {
  redis::Reader reader(limits);
  Read r;
  for (std::string_view p : pieces) {
    if (!reader.feed(p.data(), p.size())) {
      r.broken = true;
      return r;
    }
    while (auto v = reader.next()) r.replies.push_back(std::move(*v));
    if (!reader.error().empty()) {
      r.broken = true;
      return r;
    }
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::bytes(data, size);
  const redis::ReaderLimits limits{.max_elements = 64, .max_pending = 4096};
  Read whole = read_all({in}, limits);
  Read split = read_all(fuzz::pieces(in, fuzz::hash(in)), limits);
  TG_FUZZ_CHECK(whole.broken == split.broken);
  if (!whole.broken) {
    TG_FUZZ_CHECK(whole.replies.size() == split.replies.size());
    for (size_t i = 0; i < whole.replies.size(); ++i) {
      TG_FUZZ_CHECK(same(whole.replies[i], split.replies[i]));
    }
  }
  for (const auto& v : whole.replies) {
    check_limits(v, limits.max_elements);
    for (size_t budgets : {0, 1, 2}) (void)redis::parse_admit_reply(v, budgets);
  }
  return 0;
}
