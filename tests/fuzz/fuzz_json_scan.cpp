// json_scan and the model splice (OpenAI bodies passed through with only "model" replaced, and
// usage read from answers without parsing them). Invariants: the scanners stay in bounds; on a
// valid JSON object the member walk completes; the spliced body means exactly the client's body
// with the routed model (never a second "model" the upstream would read instead).

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "providers/openai/compat_quirks.hpp"
#include "providers/openai/openai_wire.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/providers/json_scan.hpp"

using namespace tg::providers;
using json = nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s = tg::fuzz::bytes(data, size);

  for (size_t i : {size_t{0}, s.size() / 3, s.size() / 2}) {
    if (i >= s.size()) continue;
    size_t end = json_scan::skip_value(s, i);
    TG_FUZZ_CHECK(end >= i && end <= s.size());  // == i: no value there (a delimiter)
    TG_FUZZ_CHECK(json_scan::skip_ws(s, i) <= s.size());
    if (s[i] == '"') TG_FUZZ_CHECK(json_scan::skip_string(s, i) <= s.size());
  }

  size_t members = 0;
  bool walked = json_scan::for_each_member(s, [&](std::string_view key, size_t begin, size_t end) {
    TG_FUZZ_CHECK(begin <= end && end <= s.size());
    TG_FUZZ_CHECK(key.data() >= s.data() && key.data() + key.size() <= s.data() + s.size());
    ++members;
    return true;
  });
  for (std::string_view key : {"model", "usage", "error", "choices"}) {
    std::string_view v = find_top_level_member(s, key);
    TG_FUZZ_CHECK(v.empty() || (v.data() >= s.data() && v.data() + v.size() <= s.data() + s.size()));
  }
  const auto answer = openai_wire::scan_answer(s);
  for (std::string_view v : {answer.usage, answer.error}) {
    TG_FUZZ_CHECK(v.empty() || (v.data() >= s.data() && v.data() + v.size() <= s.data() + s.size()));
  }

  json body = json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return 0;
  TG_FUZZ_CHECK(walked && members >= body.size());  // more when a key is repeated
  // The one walk that gates the compatible answer's repairs sees what the parser sees.
  TG_FUZZ_CHECK(answer.object);
  if (!answer.escaped_key) {  // else the caller scans the re-serialised document
    TG_FUZZ_CHECK(answer.choices == body.contains("choices"));
    TG_FUZZ_CHECK(answer.usage.empty() != body.contains("usage"));
    if (!answer.usage.empty()) TG_FUZZ_CHECK(json::parse(answer.usage) == body["usage"]);
  }
  if (!answer.escaped_key) {
    json fixed = body;
    fixed.erase("usage");
    if (compat::fix_response(fixed)) TG_FUZZ_CHECK(answer.needs_repair);
  }

  ClientRequest req;
  req.set_doc(&body);
  req.raw_body = s;
  std::string out = openai_wire::serialize_body(body, req, "routed/model", false);
  json got = json::parse(out, nullptr, false);
  json want = body;
  if (want.contains("model")) want["model"] = "routed/model";
  TG_FUZZ_CHECK(got == want);
  return 0;
}
