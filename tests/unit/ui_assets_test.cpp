// The embedded web UI's file table (generated from ui/ at build time) and the serving rules.

#include <regex>
#include <string>

#include <boost/beast/zlib/inflate_stream.hpp>
#include <gtest/gtest.h>

#include "tollgate/admin/ui_assets.hpp"

namespace tg::admin::ui {
namespace {

// gzip -> the original bytes, checking the RFC 1952 framing; "" with a failure on error.
std::string gunzip(std::string_view gz) {
  EXPECT_GE(gz.size(), 18u);
  if (gz.size() < 18) return "";
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_EQ(gz[2], 8);  // deflate
  EXPECT_EQ(gz[3], 0) << "no name, no extra fields (gzip -n)";
  EXPECT_EQ(gz.substr(4, 4), std::string(4, '\0')) << "no timestamp: a reproducible build";
  boost::beast::zlib::inflate_stream inflate;
  std::string out(1 << 20, '\0');
  boost::beast::zlib::z_params zs;
  zs.next_in = gz.data() + 10;
  zs.avail_in = gz.size() - 18;
  zs.next_out = out.data();
  zs.avail_out = out.size();
  boost::system::error_code ec;
  inflate.write(zs, boost::beast::zlib::Flush::finish, ec);
  EXPECT_TRUE(!ec || ec == boost::beast::zlib::error::end_of_stream) << ec.message();
  out.resize(zs.total_out);
  auto le32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(gz[at + i]);
    return v;
  };
  EXPECT_EQ(le32(gz.size() - 4), out.size() & 0xffffffffu) << "ISIZE";
  return out;
}

uint32_t crc32(std::string_view data) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

TEST(UiAssets, EveryFileIsEmbeddedOnceCompressedWhenThatIsSmaller) {
  const Assets& a = embedded();
  ASSERT_FALSE(a.files.empty());
  EXPECT_EQ(a.hash.size(), 16u);
  bool index = false;
  for (const File& f : a.files) {
    SCOPED_TRACE(std::string(f.path));
    index = index || f.path == "index.html";
    EXPECT_FALSE(f.path.starts_with(".")) << "dotfiles are not embedded";
    EXPECT_EQ(f.path.find(".."), std::string_view::npos);
    ASSERT_GE(f.etag.size(), 3u);
    EXPECT_EQ(f.etag.front(), '"');
    EXPECT_EQ(f.etag.back(), '"');
    EXPECT_NE(f.gzip.empty(), f.identity.empty()) << "exactly one copy";
    const std::string_view bytes = plain(f);
    EXPECT_EQ(bytes.size(), f.size);
    if (!f.gzip.empty()) {
      EXPECT_LT(f.gzip.size(), f.size);
      EXPECT_EQ(gunzip(f.gzip), bytes);
      const auto le32 = [&](size_t at) {
        uint32_t v = 0;
        for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(f.gzip[at + i]);
        return v;
      };
      EXPECT_EQ(le32(f.gzip.size() - 8), crc32(bytes)) << "the inflated bytes are the file's";
      EXPECT_EQ(plain(f).data(), bytes.data()) << "inflated once, then kept";
    }
  }
  EXPECT_TRUE(index) << "ui/index.html is the app's entry point";
}

TEST(UiAssets, IndexRefersToHashedAssetsThatResolve) {
  const Assets& a = embedded();
  auto index = find(a, "/ui");
  ASSERT_TRUE(index);
  EXPECT_FALSE(index->immutable);
  const std::string html(plain(*index->file));
  EXPECT_EQ(html.find("%ASSETS%"), std::string::npos) << "replaced at build time";
  std::regex ref("/ui/assets/([0-9a-f]+)/([^\"'<> ]+)");
  int refs = 0;
  for (std::sregex_iterator it(html.begin(), html.end(), ref), end; it != end; ++it) {
    ++refs;
    EXPECT_EQ((*it)[1].str(), a.hash);
    auto asset = find(a, (*it)[0].str());
    ASSERT_TRUE(asset) << (*it)[0].str();
    EXPECT_TRUE(asset->immutable);
    EXPECT_EQ(asset->file->path, (*it)[2].str());
  }
  EXPECT_GT(refs, 0) << "index.html loads at least one asset";
}

TEST(UiAssets, LookupRefusesOtherHashesIndexByAssetPathAndTraversal) {
  Assets a{"0123456789abcdef",
           {File{"index.html", "<html>", "", "\"i\"", 6}, File{"app.js", "x", "", "\"a\"", 1},
            File{"img/logo.svg", "<svg/>", "", "\"s\"", 6}}};
  EXPECT_EQ(find(a, "/ui")->file->path, "index.html");
  EXPECT_EQ(find(a, "/ui/assets/0123456789abcdef/app.js")->file->path, "app.js");
  EXPECT_EQ(find(a, "/ui/assets/0123456789abcdef/img/logo.svg")->file->path, "img/logo.svg");
  EXPECT_FALSE(find(a, "/ui/assets/fedcba9876543210/app.js")) << "a stale hash is a 404";
  EXPECT_FALSE(find(a, "/ui/assets/0123456789abcdef/index.html")) << "only at /ui (no-cache)";
  EXPECT_FALSE(find(a, "/ui/assets/0123456789abcdef/../app.js"));
  EXPECT_FALSE(find(a, "/ui/assets/0123456789abcdef/"));
  EXPECT_FALSE(find(a, "/ui/assets/0123456789abcdef"));
  EXPECT_FALSE(find(a, "/ui/app.js"));
  EXPECT_FALSE(find(a, "/ui/assets/0123456789abcdef/nope.js"));
  Assets empty{"0123456789abcdef", {}};
  EXPECT_FALSE(find(empty, "/ui"));
}

TEST(UiAssets, ContentTypes) {
  EXPECT_EQ(content_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type("a/b/style.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type("favicon.svg"), "image/svg+xml");
  EXPECT_EQ(content_type("x.json"), "application/json");
  EXPECT_EQ(content_type("noext"), "application/octet-stream");
  EXPECT_EQ(content_type("dir.js/file"), "application/octet-stream");
}

TEST(UiAssets, AcceptEncoding) {
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_FALSE(accepts_gzip("*, gzip;q=0")) << "an explicit refusal beats the wildcard";
  EXPECT_FALSE(accepts_gzip("*;q=0"));
  EXPECT_FALSE(accepts_gzip("gzipx"));
}

TEST(UiAssets, IfNoneMatch) {
  EXPECT_TRUE(etag_matches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("\"x\", W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(etag_matches("*", "\"abc\""));
  EXPECT_FALSE(etag_matches("\"abcd\"", "\"abc\""));
  EXPECT_FALSE(etag_matches("abc", "\"abc\""));
  EXPECT_FALSE(etag_matches("", "\"abc\""));
}

TEST(UiAssets, SecurityHeadersForbidInlineScriptAndFraming) {
  std::string csp, xfo;
  for (const auto& h : security_headers()) {
    if (h.name.text() == "Content-Security-Policy") csp = h.value;
    if (h.name.text() == "X-Frame-Options") xfo = h.value;
  }
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(xfo, "DENY");
  EXPECT_EQ(security_headers().size(), 4u);
}

}  // namespace
}  // namespace tg::admin::ui
