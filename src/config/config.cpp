// Config lookups and error rendering.

#include "tollgate/config/config.hpp"

#include <fmt/format.h>

namespace tg::config {

const ProviderConfig* Config::find_provider(std::string_view name) const {
  for (const ProviderConfig& p : providers) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const ModelConfig* Config::find_model(std::string_view name) const {
  for (const ModelConfig& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::string ConfigError::to_string() const {
  std::string out;
  if (line > 0) out += "line " + std::to_string(line) + ": ";
  if (!path.empty()) out += path + ": ";
  return out + message;
}

std::string_view to_string(BudgetPeriod p) {
  switch (p) {
    case BudgetPeriod::Daily: return "daily";
    case BudgetPeriod::Weekly: return "weekly";
    case BudgetPeriod::Monthly: return "monthly";
    case BudgetPeriod::Total: return "total";
  }
  return "monthly";
}

bool is_loopback_host(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" ||
         host.substr(0, 4) == "127.";
}

std::string restrict_open_listener(ServerConfig& server) {
  if (!server.master_key.empty() || server.allow_unauthenticated ||
      is_loopback_host(server.listen_host)) {
    return "";
  }
  std::string was = server.listen_host;
  server.listen_host = "127.0.0.1";
  return fmt::format(
      "no master key is set, so the API would be open to anyone who reaches {}:{}: listening on "
      "127.0.0.1:{} only. Set TOLLGATE_MASTER_KEY (server.master_key) to serve the network with "
      "keys, or set server.allow_unauthenticated: true to serve it without any",
      was, server.listen_port, server.listen_port);
}

std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string* error) {
  auto fail = [&](std::string_view why) -> std::optional<RedisUrl> {
    if (error) *error = fmt::format("must be redis://[:password@]host[:port][/db] ({})", why);
    return std::nullopt;
  };
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return fail("rediss:// (TLS) and unix sockets are not supported");
  std::string_view rest = url.substr(kScheme.size());
  RedisUrl u;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = cred.find(':');
    if (colon == std::string_view::npos) {
      u.password = std::string(cred);  // redis://secret@host: the password alone
    } else {
      u.username = std::string(cred.substr(0, colon));
      u.password = std::string(cred.substr(colon + 1));
    }
  }
  std::string_view hostport = rest.substr(0, rest.find('/'));
  std::string_view db = rest.size() > hostport.size() ? rest.substr(hostport.size() + 1) : "";
  if (hostport.starts_with('[')) {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return fail("unclosed [");
    u.host = std::string(hostport.substr(1, close - 1));
    hostport = hostport.substr(close + 1);
    if (!hostport.empty() && hostport[0] != ':') return fail("bad port");
    hostport = hostport.empty() ? hostport : hostport.substr(1);
  } else {
    auto colon = hostport.rfind(':');
    u.host = std::string(hostport.substr(0, colon));
    hostport = colon == std::string_view::npos ? std::string_view() : hostport.substr(colon + 1);
  }
  if (u.host.empty()) return fail("no host");
  auto number = [](std::string_view s, int64_t max) -> std::optional<int64_t> {
    if (s.empty() || s.size() > 6) return std::nullopt;
    int64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    if (n > max) return std::nullopt;
    return n;
  };
  if (!hostport.empty()) {
    auto p = number(hostport, 65535);
    if (!p || *p == 0) return fail("bad port");
    u.port = static_cast<uint16_t>(*p);
  }
  if (!db.empty()) {
    auto n = number(db, 1'000'000);
    if (!n) return fail("bad database number");
    u.db = static_cast<int>(*n);
  }
  return u;
}

}  // namespace tg::config
