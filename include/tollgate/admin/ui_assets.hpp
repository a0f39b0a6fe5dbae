#pragma once
// The admin web UI's files, embedded at build time (cmake/EmbedUi.cmake generates embedded()),
// and the pure rules for serving them: which file a path names, its Content-Type, whether the
// client takes gzip, whether its cached copy is still good. No Asio, no disk.

#include <optional>
#include <string_view>
#include <vector>

#include "tollgate/core/header_name.hpp"

namespace tg::admin::ui {

// One copy of each file is embedded: gzip'ed when that is smaller, else as it is.
struct File {
  std::string_view path;      // relative to ui/: "index.html", "app.js", "img/x.svg"
  std::string_view identity;  // the bytes, when stored as they are (else empty: see plain())
  std::string_view gzip;      // gzip -9n of them, when smaller; else empty
  std::string_view etag;      // strong, quoted: a hash of the plain bytes
  size_t size = 0;            // of the plain bytes
};

// The plain bytes of a file (index.html with %ASSETS% already replaced): `identity`, or the gzip
// inflated on first use and kept (for the rare client without gzip). Thread-safe. Empty only if
// the embedded gzip is corrupt (a build bug: the unit tests inflate every file).
std::string_view plain(const File& f);

struct Assets {
  std::string_view hash;  // of every file but index.html: the /ui/assets/<hash>/ segment
  std::vector<File> files;
};

// The files compiled into this binary (generated).
const Assets& embedded();

// What a request path (normalised: no query, no trailing '/') asks for.
struct Lookup {
  const File* file = nullptr;
  bool immutable = false;  // a hashed asset URL: cache it for a year; index.html: revalidate
};
// "/ui" -> index.html; "/ui/assets/<hash>/<path>" -> that file when the hash is this build's;
// anything else (another hash, an unknown or hidden file, "..") -> nullopt (404).
std::optional<Lookup> find(const Assets& assets, std::string_view path);

// By extension; application/octet-stream when unknown (with nosniff, never executed).
std::string_view content_type(std::string_view path);

// Accept-Encoding names gzip (or *) without q=0.
bool accepts_gzip(std::string_view accept_encoding);

// If-None-Match lists this ETag (weak or strong) or is "*".
bool etag_matches(std::string_view if_none_match, std::string_view etag);

// The headers every /ui response carries (CSP, framing, sniffing, referrer).
struct Header {
  HeaderName name;
  std::string_view value;
};
const std::vector<Header>& security_headers();

}  // namespace tg::admin::ui
