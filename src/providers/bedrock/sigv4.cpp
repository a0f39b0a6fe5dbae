#include "sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

#include "tollgate/core/hex.hpp"

namespace tg::providers::bedrock::sigv4 {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Trims and collapses inner runs of spaces, as the canonical headers want.
void append_trimmed(std::string& out, std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHex[b >> 4];
    out[2 * i + 1] = kHex[b & 15];
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

void uri_encode_into(std::string& out, std::string_view s, bool keep_slash) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHexUpper[c >> 4];
      out += kHexUpper[c & 15];
    }
  }
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size() + 16);
  uri_encode_into(out, s, keep_slash);
  return out;
}

std::string uri_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string canonical_uri(std::string_view wire_path) {
  if (wire_path.empty()) return "/";
  return uri_encode(wire_path, true);
}

std::string canonical_query(std::string_view raw_query) {
  if (raw_query.empty()) return {};
  std::vector<std::pair<std::string, std::string>> params;
  while (!raw_query.empty()) {
    size_t amp = raw_query.find('&');
    std::string_view item = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view k = item.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    params.emplace_back(uri_encode(uri_decode(k), false), uri_encode(uri_decode(v), false));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Signature sign(const Request& req, const Scope& scope) {
  Signature s;
  // Canonical headers: lowercase names, sorted; same-name values joined with ','.
  std::vector<std::pair<std::string, std::string_view>> hs;
  hs.reserve(req.headers.size());
  for (const auto& [name, value] : req.headers) hs.emplace_back(lower(name), value);
  std::stable_sort(hs.begin(), hs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers;
  for (size_t i = 0; i < hs.size(); ++i) {
    if (i > 0 && hs[i].first == hs[i - 1].first) {
      canonical_headers.pop_back();  // the '\n'
      canonical_headers += ',';
    } else {
      if (!s.signed_headers.empty()) s.signed_headers += ';';
      s.signed_headers += hs[i].first;
      canonical_headers += hs[i].first;
      canonical_headers += ':';
    }
    append_trimmed(canonical_headers, hs[i].second);
    canonical_headers += '\n';
  }

  std::string& cr = s.canonical_request;
  cr.reserve(256 + canonical_headers.size() + req.path.size() * 2);
  cr += req.method;
  cr += '\n';
  cr += canonical_uri(req.path);
  cr += '\n';
  cr += canonical_query(req.query);
  cr += '\n';
  cr += canonical_headers;
  cr += '\n';
  cr += s.signed_headers;
  cr += '\n';
  cr += req.payload_hash;

  const std::string_view date_stamp = scope.amz_date.substr(0, 8);
  std::string credential_scope;
  credential_scope.reserve(64);
  credential_scope += date_stamp;
  credential_scope += '/';
  credential_scope += scope.region;
  credential_scope += '/';
  credential_scope += scope.service;
  credential_scope += "/aws4_request";

  s.string_to_sign = "AWS4-HMAC-SHA256\n";
  s.string_to_sign += scope.amz_date;
  s.string_to_sign += '\n';
  s.string_to_sign += credential_scope;
  s.string_to_sign += '\n';
  s.string_to_sign += sha256_hex(cr);

  std::string k_secret = "AWS4";
  k_secret += scope.secret_access_key;
  std::string k_date = hmac_sha256(k_secret, date_stamp);
  std::string k_region = hmac_sha256(k_date, scope.region);
  std::string k_service = hmac_sha256(k_region, scope.service);
  s.signing_key = hmac_sha256(k_service, "aws4_request");
  s.signature = to_hex(hmac_sha256(s.signing_key, s.string_to_sign));

  s.authorization.reserve(200);
  s.authorization += "AWS4-HMAC-SHA256 Credential=";
  s.authorization += scope.access_key_id;
  s.authorization += '/';
  s.authorization += credential_scope;
  s.authorization += ", SignedHeaders=";
  s.authorization += s.signed_headers;
  s.authorization += ", Signature=";
  s.authorization += s.signature;
  return s;
}

Authorization parse_authorization(std::string_view h) {
  Authorization a;
  constexpr std::string_view kAlgo = "AWS4-HMAC-SHA256 ";
  if (h.substr(0, kAlgo.size()) != kAlgo) return a;
  h.remove_prefix(kAlgo.size());
  bool cred = false, sh = false, sig = false;
  while (!h.empty()) {
    size_t comma = h.find(',');
    std::string_view part = h.substr(0, comma);
    h = comma == std::string_view::npos ? std::string_view() : h.substr(comma + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) return a;
    std::string_view key = part.substr(0, eq), value = part.substr(eq + 1);
    if (key == "Credential") {
      // AKID/DATE/REGION/SERVICE/aws4_request
      std::vector<std::string_view> f;
      while (true) {
        size_t slash = value.find('/');
        f.push_back(value.substr(0, slash));
        if (slash == std::string_view::npos) break;
        value.remove_prefix(slash + 1);
      }
      if (f.size() != 5 || f[4] != "aws4_request" || f[0].empty()) return a;
      a.access_key_id = f[0];
      a.date_stamp = f[1];
      a.region = f[2];
      a.service = f[3];
      cred = true;
    } else if (key == "SignedHeaders") {
      while (!value.empty()) {
        size_t semi = value.find(';');
        a.signed_headers.emplace_back(value.substr(0, semi));
        if (semi == std::string_view::npos) break;
        value.remove_prefix(semi + 1);
      }
      sh = !a.signed_headers.empty();
    } else if (key == "Signature") {
      a.signature = value;
      sig = !value.empty();
    }
  }
  a.ok = cred && sh && sig;
  return a;
}

}  // namespace tg::providers::bedrock::sigv4
