#pragma once
// AWS Signature Version 4 (provider-formats.md 4.6), pure: the adapter signs with it and
// tollgate-mock verifies with it. HMAC-SHA256 and SHA-256 come from OpenSSL's libcrypto.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tollgate/core/secure.hpp"

namespace tg::providers::bedrock::sigv4 {

// Lowercase hex of SHA-256(data): the one in core/secure.hpp.
using tg::sha256_hex;
// Raw 32-byte HMAC-SHA256(key, data).
std::string hmac_sha256(std::string_view key, std::string_view data);
std::string to_hex(std::string_view bytes);

// Percent-encodes every byte but the RFC 3986 unreserved ones (A-Za-z0-9-._~), and '/' when
// keep_slash. Upper-case hex, as SigV4 wants.
std::string uri_encode(std::string_view s, bool keep_slash);
void uri_encode_into(std::string& out, std::string_view s, bool keep_slash);
// Decodes %XX escapes ('+' is kept as is: paths are not form-encoded). Invalid escapes are kept.
std::string uri_decode(std::string_view s);

// The canonical URI of a path as sent on the wire (already percent-encoded): encoded once more,
// '/' kept, as every service but S3 wants ("/model/a%3A0/converse" -> "/model/a%253A0/converse").
// An empty path is "/".
std::string canonical_uri(std::string_view wire_path);
// The canonical query string of a raw query (the part after '?'): parameters decoded, encoded
// again, sorted by name then value, joined "k=v&k2=v2".
std::string canonical_query(std::string_view raw_query);

// "YYYYMMDD'T'HHMMSS'Z'" in UTC.
std::string amz_date(std::chrono::system_clock::time_point t);

struct Request {
  std::string_view method;        // "POST"
  std::string_view path;          // as sent on the wire, without the query
  std::string_view query;         // raw query string without '?', "" when none
  // The headers to sign, any case (host and x-amz-date included). Several with the same name
  // are joined with ',' in order.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view payload_hash;  // hex SHA-256 of the body
};

struct Scope {
  std::string_view access_key_id;
  std::string_view secret_access_key;
  std::string_view region;   // "us-east-1"
  std::string_view service;  // "bedrock"
  std::string_view amz_date;  // "20250102T030405Z" (its first 8 characters are the date stamp)
};

struct Signature {
  std::string canonical_request;
  std::string signed_headers;  // "content-type;host;x-amz-date"
  std::string string_to_sign;
  std::string signing_key;     // raw bytes
  std::string signature;       // hex
  std::string authorization;   // the Authorization header value
};

Signature sign(const Request& req, const Scope& scope);

// A parsed "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
// SignedHeaders=a;b, Signature=hex" header. ok is false when it is not that shape.
struct Authorization {
  bool ok = false;
  std::string access_key_id;
  std::string date_stamp;
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;
  std::string signature;
};
Authorization parse_authorization(std::string_view header);

}  // namespace tg::providers::bedrock::sigv4
