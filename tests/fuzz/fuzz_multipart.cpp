// multipart/form-data (the upload endpoints' bodies): any bytes, any split. The boundary is the
// input's first line (so the seeds are readable forms). Invariants: the parts do not depend on
// how the bytes were split; a parsed form re-emitted with its model replaced (or added) parses
// back to the same parts with the same file bytes.

#include <string>

#include "fuzz_support.hpp"
#include "tollgate/core/multipart.hpp"

using namespace tg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::bytes(data, size);
  size_t eol = in.find('\n');
  if (eol == std::string_view::npos) return 0;
  const std::string ct(in.substr(0, eol));
  const std::string_view body = in.substr(eol + 1);
  auto [boundary, why] = multipart::boundary_of(ct);
  if (!boundary) return 0;
  const multipart::Limits limits{.max_parts = 16, .max_part_header = 512, .max_field = 4096};

  auto whole = multipart::parse(ct, body, limits);
  multipart::Parser split(*boundary, limits);
  bool ok = true;
  for (std::string_view piece : fuzz::pieces(body, fuzz::hash(in))) ok = ok && split.feed(piece);
  ok = ok && split.finish();
  TG_FUZZ_CHECK(ok == whole.form.has_value());
  if (!ok) return 0;
  const auto& a = whole.form->parts;
  const auto& b = split.form().parts;
  TG_FUZZ_CHECK(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    TG_FUZZ_CHECK(a[i].name == b[i].name && a[i].filename == b[i].filename);
    TG_FUZZ_CHECK(a[i].file == b[i].file && a[i].value == b[i].value);
    TG_FUZZ_CHECK(a[i].begin == b[i].begin && a[i].end == b[i].end);
    TG_FUZZ_CHECK(a[i].begin <= a[i].end && a[i].end <= body.size());
  }

  auto emitted = multipart::emit(*whole.form, body, {{"model", "upstream-model"}});
  TG_FUZZ_CHECK(emitted.has_value());
  const std::string out = emitted->flatten();
  TG_FUZZ_CHECK(out.size() == emitted->size());
  auto back = multipart::parse(ct, out, limits);
  // Re-emission may only grow a field past a limit through the replaced model; else it parses.
  if (!back.form) return 0;
  // A form without a model gets one added at the end.
  const bool added = whole.form->find("model") == nullptr;
  TG_FUZZ_CHECK(back.form->parts.size() == a.size() + (added ? 1 : 0));
  if (added) TG_FUZZ_CHECK(back.form->field("model").value_or("") == "upstream-model");
  for (size_t i = 0; i < a.size(); ++i) {
    const auto& p = back.form->parts[i];
    TG_FUZZ_CHECK(p.name == a[i].name && p.file == a[i].file);
    if (a[i].file) {
      TG_FUZZ_CHECK(multipart::Form::content(p, out) == multipart::Form::content(a[i], body));
    } else if (a[i].name != "model") {
      TG_FUZZ_CHECK(p.value == a[i].value);
    }
  }
  return 0;
}
