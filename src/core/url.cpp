#include "tollgate/core/url.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "tollgate/core/hex.hpp"
#include "tollgate/core/text.hpp"

namespace tg {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

std::string Url::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string Url::origin_key() const { return (tls ? "https://" : "http://") + authority(); }

std::optional<Url> parse_url(std::string_view text) {
  Url u;
  text = trim(text);
  std::string scheme_l = lower(text.substr(0, std::min<size_t>(text.size(), 8)));
  if (scheme_l.rfind("https://", 0) == 0) {
    u.tls = true;
    text.remove_prefix(8);
  } else if (scheme_l.rfind("http://", 0) == 0) {
    text.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  size_t slash = text.find('/');
  std::string_view auth = text.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : text.substr(slash);
  if (size_t at = auth.rfind('@'); at != std::string_view::npos) auth.remove_prefix(at + 1);
  std::string_view port_text;
  if (!auth.empty() && auth.front() == '[') {
    size_t close = auth.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(auth.substr(1, close - 1));
    std::string_view rest = auth.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
    }
  } else {
    size_t colon = auth.rfind(':');
    u.host = std::string(auth.substr(0, colon));
    if (colon != std::string_view::npos) port_text = auth.substr(colon + 1);
  }
  if (u.host.empty()) return std::nullopt;
  u.host = lower(u.host);
  u.port = u.tls ? 443 : 80;
  if (!port_text.empty()) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || p == 0 || p > 65535) {
      return std::nullopt;
    }
    u.port = static_cast<uint16_t>(p);
  }
  if (size_t q = path.find_first_of("?#"); q != std::string_view::npos) path = path.substr(0, q);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  u.path = std::string(path);
  return u;
}

ProxySettings make_proxy_settings(std::string_view https_proxy, std::string_view http_proxy,
                                  std::string_view no_proxy) {
  ProxySettings s;
  auto parse_proxy = [](std::string_view v) -> std::optional<Url> {
    v = trim(v);
    if (v.empty()) return std::nullopt;
    if (v.find("://") == std::string_view::npos) return parse_url("http://" + std::string(v));
    return parse_url(v);
  };
  s.https_proxy = parse_proxy(https_proxy);
  s.http_proxy = parse_proxy(http_proxy);
  for (std::string_view item : split_list(no_proxy)) s.no_proxy.push_back(lower(item));
  return s;
}

const Url* ProxySettings::proxy_for(const Url& origin) const {
  const Url* proxy = origin.tls ? (https_proxy ? &*https_proxy : nullptr)
                                : (http_proxy ? &*http_proxy : nullptr);
  if (!proxy) return nullptr;
  for (const std::string& rule : no_proxy) {
    if (rule == "*") return nullptr;
    std::string_view r = rule;
    if (size_t colon = r.rfind(':'); colon != std::string_view::npos && r.find(']') == r.npos &&
                                     r.find(':') == colon) {
      r = r.substr(0, colon);  // "host:port" rules match the host
    }
    if (!r.empty() && r.front() == '.') r.remove_prefix(1);
    const std::string& h = origin.host;
    if (h == r) return nullptr;
    if (h.size() > r.size() && h.compare(h.size() - r.size(), r.size(), r) == 0 &&
        h[h.size() - r.size() - 1] == '.') {
      return nullptr;
    }
  }
  return proxy;
}

ProxySettings proxy_settings_from_process_env() {
  auto get = [](const char* upper, const char* lower_name) -> std::string_view {
    if (const char* v = std::getenv(lower_name); v && *v) return v;
    if (const char* v = std::getenv(upper); v && *v) return v;
    return {};
  };
  return make_proxy_settings(get("HTTPS_PROXY", "https_proxy"), get("HTTP_PROXY", "http_proxy"),
                             get("NO_PROXY", "no_proxy"));
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) != name) continue;
    return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

}  // namespace tg
