#pragma once
// Minimal absolute-URL parsing for upstream base URLs and proxy settings. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg {

struct Url {
  bool tls = false;       // https
  std::string host;       // without brackets for IPv6 literals
  uint16_t port = 0;      // explicit or the scheme's default
  std::string path;       // base path without trailing '/', "" for the root

  // "host:port" as used for the Host header and the pool key ("[::1]:8080" for IPv6).
  std::string authority() const;
  std::string origin_key() const;  // "https://host:port"
};

// Parses http(s)://[user@]host[:port][/path]; nullopt on anything else.
std::optional<Url> parse_url(std::string_view text);

// HTTPS_PROXY / HTTP_PROXY / NO_PROXY (upper or lower case), as curl reads them.
struct ProxySettings {
  std::optional<Url> https_proxy;
  std::optional<Url> http_proxy;
  std::vector<std::string> no_proxy;  // "*", hosts, ".suffix" / "suffix" domains, IPs

  // The proxy to use for this origin, or nullptr for a direct connection.
  const Url* proxy_for(const Url& origin) const;
};

// Non-template entry point: getenv.
ProxySettings proxy_settings_from_process_env();

// Pure helper used by both: builds settings from the raw variable values.
ProxySettings make_proxy_settings(std::string_view https_proxy, std::string_view http_proxy,
                                  std::string_view no_proxy);

// application/x-www-form-urlencoded decoding: %XX and '+' (a space); a malformed %-escape is
// kept as it is.
std::string percent_decode(std::string_view text);
// The decoded value of `name` in a query string ("a=1&b=x%20y"), nullopt when absent.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

}  // namespace tg
