// multipart/form-data: parsing at every byte split, bounds, bad boundaries, re-emission.

#include <gtest/gtest.h>

#include <string>

#include "tollgate/core/multipart.hpp"

using namespace tg;

namespace {

const std::string kCt = "multipart/form-data; boundary=----tgBoundary7MA4YWxk";
const std::string kB = "----tgBoundary7MA4YWxk";

std::string form_body(std::string_view file_bytes, std::string_view model = "whisper") {
  std::string b;
  b += "--" + kB + "\r\n";
  b += "Content-Disposition: form-data; name=\"model\"\r\n\r\n";
  b += std::string(model) + "\r\n";
  b += "--" + kB + "\r\n";
  b += "Content-Disposition: form-data; name=\"file\"; filename=\"hello world.wav\"\r\n";
  b += "Content-Type: audio/wav\r\n\r\n";
  b += std::string(file_bytes) + "\r\n";
  b += "--" + kB + "\r\n";
  b += "Content-Disposition: form-data; name=\"response_format\"\r\n\r\n";
  b += "verbose_json\r\n";
  b += "--" + kB + "--\r\n";
  return b;
}

// Bytes that look like the start of a delimiter without being one.
std::string tricky_file() {
  std::string f = "RIFF\r\n--\r\n--" + kB.substr(0, 10) + "\r\r\n\r\n-";
  f += std::string("\0\x01\xff", 3);
  f += "\r\n--" + kB.substr(0, kB.size() - 1) + "Z\r";  // all but the boundary's last byte
  return f;
}

void expect_form(const multipart::Form& f, std::string_view body, std::string_view file) {
  ASSERT_EQ(f.parts.size(), 3u);
  EXPECT_EQ(f.field("model").value_or("?"), "whisper");
  EXPECT_EQ(f.field("response_format").value_or("?"), "verbose_json");
  const auto* p = f.find("file");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->file);
  EXPECT_EQ(p->filename, "hello world.wav");
  EXPECT_EQ(p->content_type, "audio/wav");
  EXPECT_TRUE(p->value.empty());  // a file's bytes are not copied
  EXPECT_EQ(multipart::Form::content(*p, body), file);
  EXPECT_FALSE(f.field("file").has_value());
}

}  // namespace

TEST(Multipart, ParsesWholeBody) {
  const std::string file = tricky_file();
  const std::string body = form_body(file);
  auto r = multipart::parse(kCt, body);
  ASSERT_TRUE(r.form) << r.error;
  expect_form(*r.form, body, file);
}

TEST(Multipart, SameResultAtEveryByteSplit) {
  const std::string file = tricky_file();
  const std::string body = form_body(file);
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    multipart::Parser p(kB);
    ASSERT_TRUE(p.feed(std::string_view(body).substr(0, cut))) << cut << ": " << p.error();
    ASSERT_TRUE(p.feed(std::string_view(body).substr(cut))) << cut << ": " << p.error();
    ASSERT_TRUE(p.finish()) << cut << ": " << p.error();
    expect_form(p.form(), body, file);
  }
}

TEST(Multipart, OneByteAtATime) {
  const std::string file = tricky_file();
  const std::string body = form_body(file);
  multipart::Parser p(kB);
  for (char c : body) ASSERT_TRUE(p.feed(std::string_view(&c, 1))) << p.error();
  ASSERT_TRUE(p.finish());
  expect_form(p.form(), body, file);
}

TEST(Multipart, FileLargerThanAnyReadBufferIsNotCopied) {
  std::string file(3u << 20, 'a');  // 3 MiB, fed in 64 KiB reads
  for (size_t i = 0; i < file.size(); i += 4099) file[i] = '\r';
  const std::string body = form_body(file);
  multipart::Parser p(kB, multipart::Limits{.max_field = 1024});  // a text field could not hold it
  for (size_t at = 0; at < body.size(); at += 65536) {
    ASSERT_TRUE(p.feed(std::string_view(body).substr(at, 65536))) << p.error();
  }
  ASSERT_TRUE(p.finish()) << p.error();
  expect_form(p.form(), body, file);
}

TEST(Multipart, PreambleAndEpilogueAreIgnored) {
  const std::string body = "preamble text\r\n" + form_body("x") + "epilogue\r\n--" + kB + "\r\n";
  auto r = multipart::parse(kCt, body);
  ASSERT_TRUE(r.form) << r.error;
  expect_form(*r.form, body, "x");
}

TEST(Multipart, BoundaryFromContentType) {
  EXPECT_EQ(multipart::boundary_of("multipart/form-data; boundary=abc").first.value_or(""), "abc");
  EXPECT_EQ(multipart::boundary_of("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b:c\"")
                .first.value_or(""),
            "a b:c");
  EXPECT_FALSE(multipart::boundary_of("application/json").first);
  EXPECT_FALSE(multipart::boundary_of("multipart/form-data").first);
  EXPECT_FALSE(multipart::boundary_of("multipart/form-data; boundary=").first);
  EXPECT_FALSE(multipart::boundary_of("multipart/form-data; boundary=\"unclosed").first);
  EXPECT_FALSE(multipart::boundary_of("multipart/form-data; boundary=" + std::string(71, 'a')).first);
  EXPECT_FALSE(multipart::boundary_of("multipart/form-data; boundary=a\x01z").first);
  EXPECT_FALSE(multipart::boundary_of("multipart/form-data; boundary=\"ends \"").first);
}

TEST(Multipart, MalformedBodiesAreRefused) {
  const std::string good = form_body("x");
  auto refused = [](std::string_view body, std::string_view why) {
    auto r = multipart::parse(kCt, body);
    EXPECT_FALSE(r.form) << why;
    EXPECT_FALSE(r.error.empty()) << why;
  };
  refused("", "empty");
  refused(good.substr(0, good.size() - 4), "no closing delimiter");
  refused("--" + kB + "--\r\n", "no parts");
  refused("--" + kB + "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue", "cut in a part");
  refused("--" + kB + "\r\nContent-Type: text/plain\r\n\r\nv\r\n--" + kB + "--", "no disposition");
  refused("--" + kB + "\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--" + kB + "--",
          "not form-data");
  refused("--" + kB + "\r\nContent-Disposition: form-data\r\n\r\nv\r\n--" + kB + "--", "no name");
  refused("--" + kB + "\r\nno colon here\r\n\r\nv\r\n--" + kB + "--", "bad header line");
  refused("--" + kB + "\r\nContent-Disposition: form-data; name=\"a\nb\"\r\n\r\nv\r\n--" + kB + "--",
          "bare LF in a header");
  refused("--" + kB + "junk\r\n", "delimiter followed by junk");
  refused("--" + kB + "-x", "single dash");
  // A body with another boundary than the header's.
  auto r = multipart::parse("multipart/form-data; boundary=other", good);
  EXPECT_FALSE(r.form);
}

TEST(Multipart, LimitsAreEnforcedAsBytesArrive) {
  std::string many;
  for (int i = 0; i < 5; ++i) {
    many += "--" + kB + "\r\nContent-Disposition: form-data; name=\"f" + std::to_string(i) +
            "\"\r\n\r\nv\r\n";
  }
  many += "--" + kB + "--\r\n";
  EXPECT_TRUE(multipart::parse(kCt, many, {.max_parts = 5}).form);
  auto r = multipart::parse(kCt, many, {.max_parts = 4});
  EXPECT_FALSE(r.form);
  EXPECT_NE(r.error.find("more than 4 parts"), std::string::npos) << r.error;

  std::string big_field = "--" + kB + "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n" +
                          std::string(2000, 'p') + "\r\n--" + kB + "--\r\n";
  EXPECT_TRUE(multipart::parse(kCt, big_field, {.max_field = 2000}).form);
  EXPECT_FALSE(multipart::parse(kCt, big_field, {.max_field = 1999}).form);
  EXPECT_FALSE(multipart::parse(kCt, big_field, {.max_fields_total = 1000}).form);

  std::string big_header = "--" + kB + "\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: " +
                           std::string(9000, 'h') + "\r\n\r\nv\r\n--" + kB + "--\r\n";
  EXPECT_FALSE(multipart::parse(kCt, big_header).form);
  // The header limit fails before the whole header arrived.
  multipart::Parser p(kB);
  EXPECT_FALSE(p.feed(std::string_view(big_header).substr(0, 8500)));
}

TEST(Multipart, EmitReplacesTheModelAndBorrowsTheFile) {
  const std::string file = tricky_file();
  const std::string body = form_body(file);
  auto r = multipart::parse(kCt, body);
  ASSERT_TRUE(r.form);
  auto e = multipart::emit(*r.form, body, {{"model", "whisper-1"}});
  ASSERT_TRUE(e);
  ASSERT_EQ(e->pieces.size(), 1u);
  const auto& borrowed = e->pieces[0].first;
  EXPECT_EQ(borrowed.data(), body.data() + r.form->find("file")->begin);  // a view, not a copy
  const std::string out = e->flatten();
  EXPECT_EQ(out, form_body(file, "whisper-1"));
  EXPECT_EQ(e->size(), out.size());
  // What was emitted parses back to the same form.
  auto back = multipart::parse(kCt, out);
  ASSERT_TRUE(back.form) << back.error;
  EXPECT_EQ(back.form->field("model").value_or(""), "whisper-1");
  // A replacement that could break the framing is refused.
  EXPECT_FALSE(multipart::emit(*r.form, body, {{"model", "x\r\n--" + kB}}));
  EXPECT_FALSE(multipart::emit(*r.form, body, {{"model", "a\nb"}}));
}

TEST(Multipart, NonTextContentTypeWithoutFilenameIsAFile) {
  std::string body = "--" + kB + "\r\nContent-Disposition: form-data; name=\"image\"\r\n" +
                     "Content-Type: image/png\r\n\r\n\x89PNG\r\n--" + kB + "--\r\n";
  auto r = multipart::parse(kCt, body);
  ASSERT_TRUE(r.form) << r.error;
  EXPECT_TRUE(r.form->parts[0].file);
  EXPECT_EQ(multipart::Form::content(r.form->parts[0], body), "\x89PNG");
}
