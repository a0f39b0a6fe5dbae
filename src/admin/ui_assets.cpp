#include "tollgate/admin/ui_assets.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/beast/zlib/inflate_stream.hpp>

#include "tollgate/core/text.hpp"

namespace tg::admin::ui {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

const File* by_path(const Assets& assets, std::string_view path) {
  for (const auto& f : assets.files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

// gzip (RFC 1952) -> its content; nullopt when malformed or not `size` bytes long.
std::optional<std::string> gunzip(std::string_view gz, size_t size) {
  if (gz.size() < 18 || static_cast<unsigned char>(gz[0]) != 0x1f ||
      static_cast<unsigned char>(gz[1]) != 0x8b || gz[2] != 8 || gz[3] != 0) {
    return std::nullopt;  // gzip -n writes no optional header fields
  }
  std::string out(size, '\0');
  boost::beast::zlib::inflate_stream inflate;
  boost::beast::zlib::z_params zs;
  zs.next_in = gz.data() + 10;
  zs.avail_in = gz.size() - 18;
  zs.next_out = out.data();
  zs.avail_out = out.size();
  boost::system::error_code ec;
  inflate.write(zs, boost::beast::zlib::Flush::finish, ec);
  if ((ec && ec != boost::beast::zlib::error::end_of_stream) || zs.total_out != size) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::string_view plain(const File& f) {
  if (f.gzip.empty()) return f.identity;
  static std::mutex mu;
  static std::map<const File*, std::unique_ptr<const std::string>> inflated;
  std::lock_guard lock(mu);
  auto& slot = inflated[&f];
  if (!slot) {
    auto out = gunzip(f.gzip, f.size);
    if (!out) return {};
    slot = std::make_unique<const std::string>(std::move(*out));
  }
  return *slot;
}

std::optional<Lookup> find(const Assets& assets, std::string_view path) {
  if (path == "/ui") {
    const File* f = by_path(assets, "index.html");
    if (!f) return std::nullopt;
    return Lookup{f, false};
  }
  constexpr std::string_view kPrefix = "/ui/assets/";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  path.remove_prefix(kPrefix.size());
  size_t slash = path.find('/');
  if (slash == std::string_view::npos || path.substr(0, slash) != assets.hash) return std::nullopt;
  std::string_view rel = path.substr(slash + 1);
  // index.html only at /ui (it is the one file that must be revalidated); the table holds no
  // dotfiles and no "..", so an exact match is all the path checking needed.
  if (rel.empty() || rel == "index.html") return std::nullopt;
  const File* f = by_path(assets, rel);
  if (!f) return std::nullopt;
  return Lookup{f, true};
}

std::string_view content_type(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
      {".wasm", "application/wasm"},
  }};
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  size_t dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    std::string_view ext = name.substr(dot);
    for (const auto& [e, type] : kTypes) {
      if (iequals(e, ext)) return type;
    }
  }
  return "application/octet-stream";
}

// "gzip;q=0.5, br" -> true; "gzip;q=0" -> false; "identity" -> false; "*" -> true.
bool accepts_gzip(std::string_view accept_encoding) {
  bool star = false, gzip = false, gzip_refused = false;
  for (std::string_view item : split_list(accept_encoding, ',')) {
    size_t semi = item.find(';');
    std::string_view coding = trim(item.substr(0, semi));
    bool zero = false;
    if (semi != std::string_view::npos) {
      std::string_view params = item.substr(semi + 1);
      for (std::string_view p : split_list(params, ';')) {
        if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && trim(p.substr(1)).starts_with("=")) {
          std::string_view q = trim(trim(p.substr(1)).substr(1));
          // q=0, q=0.0, q=0.00, q=0.000: refused.
          zero = !q.empty() && q[0] == '0' &&
                 q.find_first_not_of("0.", 0) == std::string_view::npos;
        }
      }
    }
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      (zero ? gzip_refused : gzip) = true;
    } else if (coding == "*" && !zero) {
      star = true;
    }
  }
  return gzip || (star && !gzip_refused);
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (trim(if_none_match) == "*") return true;
  for (std::string_view tag : split_list(if_none_match, ',')) {
    if (tag.starts_with("W/")) tag.remove_prefix(2);  // weak comparison, as If-None-Match uses
    if (tag == etag) return true;
  }
  return false;
}

const std::vector<Header>& security_headers() {
  static const std::vector<Header> kHeaders{
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
      {"X-Frame-Options", "DENY"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
  };
  return kHeaders;
}

}  // namespace tg::admin::ui
