// The Gemini schema cleaner (a client's tool "parameters" JSON Schema -> Gemini's OpenAPI
// subset: $ref inlined, unions and const rewritten). Invariants: no throw or crash; the result
// is an object when the schema was; bounded work (libFuzzer's -timeout and -rss_limit_mb catch
// an expansion that runs away).

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "providers/gemini/gemini_internal.hpp"
#include "tollgate/providers/client_json.hpp"

using json = nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Client JSON reaches the cleaner only through the depth check (client_json.hpp).
  if (tg::providers::check_json_depth(tg::fuzz::bytes(data, size))) return 0;
  const json schema = json::parse(tg::fuzz::bytes(data, size), nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) return 0;
  std::vector<std::string> dropped;
  tg::providers::gemini::SchemaBudget budget;
  json cleaned = tg::providers::gemini::clean_schema(schema, dropped, budget);
  if (schema.is_object()) TG_FUZZ_CHECK(cleaned.is_object());
  (void)cleaned.dump(-1, ' ', false, json::error_handler_t::replace);
  return 0;
}
