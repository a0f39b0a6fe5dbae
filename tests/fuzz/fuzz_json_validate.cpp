// json_scan::valid, json_scan::build and openai_wire::scan_usage, against the parser they stand
// in for. Invariants: valid() accepts exactly what nlohmann::json::accept accepts (within the
// depth bound); build() makes the parser's document of what valid() accepts, node for node;
// scan_usage, when it answers, gives the figures the parser path (parse, compat::fix_usage,
// Usage::from_openai) gives, and never answers where fix_usage would repair the usage.

#include <nlohmann/json.hpp>

#include "../support/json_identical.hpp"
#include "fuzz_support.hpp"
#include "providers/openai/compat_quirks.hpp"
#include "providers/openai/openai_wire.hpp"
#include "tollgate/core/json_writer.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/providers/json_build.hpp"
#include "tollgate/providers/json_scan.hpp"

using namespace tg::providers;
using json = nlohmann::json;

namespace {

bool same(const Usage& a, const Usage& b) {
  return a.present == b.present && a.input == b.input && a.output == b.output &&
         a.cached_read == b.cached_read && a.cache_write == b.cache_write &&
         a.reasoning == b.reasoning;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s = tg::fuzz::bytes(data, size);

  const bool accepted = json::accept(s);
  const std::string_view text = s.substr(0, s.find('\0'));  // the parser stops at a NUL
  for (size_t limit : {size_t{2}, size_t{64}, json_scan::kMaxValidDepth}) {
    const bool want = accepted && json_scan::nesting_depth(text, limit) <= limit;
    TG_FUZZ_CHECK(json_scan::valid(s, limit) == want);
  }

  // json_scan::build gives the parser's document, node for node, for every text valid() accepts
  // (and stays safe on the rest).
  const json built = json_scan::build(s);
  if (json_scan::valid(s)) TG_FUZZ_CHECK(tg::test::json_identical(built, json::parse(s)));

  // compact() keeps the document and leaves no whitespace between tokens.
  if (json_scan::valid(s) && s.find('\0') == std::string_view::npos) {
    const std::string c = json_scan::compact(s.substr(json_scan::bom_size(s)));
    TG_FUZZ_CHECK(json_scan::valid(c));
    TG_FUZZ_CHECK(tg::test::json_identical(json::parse(c), built));
    TG_FUZZ_CHECK(json_scan::compact(c) == c);
  }

  // append_json writes any document as dump() does (strings with invalid UTF-8 included: a
  // document built from text whose escapes decode to such bytes, or from the raw bytes).
  std::string written;
  tg::append_json(written, built);
  TG_FUZZ_CHECK(written == built.dump(-1, ' ', false, json::error_handler_t::replace));
  written.clear();
  const json raw_string(std::string{s});
  tg::append_json(written, raw_string);
  TG_FUZZ_CHECK(written == raw_string.dump(-1, ' ', false, json::error_handler_t::replace));

  for (bool compat : {false, true}) {
    auto scanned = openai_wire::scan_usage(s, compat);
    if (!scanned) continue;
    json u = json::parse(s, nullptr, /*allow_exceptions=*/false);
    if (compat) TG_FUZZ_CHECK(!compat::fix_usage(u));
    TG_FUZZ_CHECK(same(*scanned, Usage::from_openai(u)));
  }
  return 0;
}
