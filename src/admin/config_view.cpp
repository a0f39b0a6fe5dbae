#include "tollgate/admin/config_view.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "tollgate/core/text.hpp"

namespace tg::admin {

using json = nlohmann::json;

namespace {

// Field names whose values are secrets (compared lowercased, '-' as '_').
bool secret_field(std::string_view name) {
  std::string n;
  for (char c : name) n += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static constexpr std::array<std::string_view, 16> kNames{
      "master_key",        "metrics_key",      "api_key",           "api_keys",
      "key",               "password",         "secret",            "token",
      "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "session_token",
      "authorization",     "postgres",         "redis",             "access_token"};
  for (auto k : kNames) {
    if (n == k) return true;
  }
  return n.ends_with("_key") || n.ends_with("_secret") || n.ends_with("password");
}

// Only ${VAR} references (and list punctuation): shows where a secret comes from, not the secret.
bool only_references(std::string_view v) {
  v = trim(v);
  while (!v.empty()) {
    char c = v.front();
    if (c == '[' || c == ']' || c == ',' || c == ' ' || c == '\t' || c == '-' || c == '{' ||
        c == '}' || c == '"' || c == '\'') {
      v.remove_prefix(1);
      continue;
    }
    if (v.starts_with("${")) {
      size_t end = v.find('}');
      if (end == std::string_view::npos) return false;
      std::string_view inner = v.substr(2, end - 2);
      // ${VAR:-default}: the default may be a literal secret.
      if (inner.find(":-") != std::string_view::npos || inner.find('-') != std::string_view::npos) {
        return false;
      }
      v.remove_prefix(end + 1);
      continue;
    }
    // "key: ${K}, weight: 2" inside a flow map: the words are field names and numbers.
    if (v.starts_with("key:") || v.starts_with("weight:")) {
      v.remove_prefix(v.find(':') + 1);
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      v.remove_prefix(1);
      continue;
    }
    return false;
  }
  return true;
}

size_t indent_of(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  return i;
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size())) {
    s.replace(at, what.size(), with);
  }
}

json ms(config::Millis m) { return m.count(); }

json timeouts_json(const config::Timeouts& t) {
  return {{"connect_ms", ms(t.connect)},
          {"first_token_ms", ms(t.first_token)},
          {"idle_ms", ms(t.idle)},
          {"total_ms", ms(t.total)}};
}

json targets_json(const std::vector<config::Target>& ts) {
  json out = json::array();
  for (const auto& t : ts) out.push_back({{"target", t.provider + "/" + t.model}, {"weight", t.weight}});
  return out;
}

json set_or_null(const std::string& secret) {
  return secret.empty() ? json() : json(kRedacted);
}

}  // namespace

std::vector<std::string> secrets_of(const config::Config& c) {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    if (s.size() >= 4) out.push_back(s);  // shorter would redact ordinary words
  };
  add(c.server.master_key);
  add(c.server.metrics_key);
  for (const auto& p : c.providers) {
    for (const auto& k : p.api_keys) add(k.key);
    for (const auto& [name, value] : p.headers) add(value);
    add(p.aws_access_key_id);
    add(p.aws_secret_access_key);
    add(p.aws_session_token);
  }
  for (const auto& k : c.keys) add(k.key);
  // Longest first: a secret that contains another is replaced whole.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

std::string redact_yaml(std::string_view text, const std::vector<std::string>& secrets) {
  std::string out;
  out.reserve(text.size());
  // While inside the block under a secret field (a list of keys), its deeper lines are redacted.
  std::optional<size_t> secret_block;
  for (std::string_view rest = text; !rest.empty();) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    const size_t indent = indent_of(line);
    std::string_view body = line.substr(indent);
    const bool blank = body.empty() || body.front() == '#';
    if (secret_block && !blank && indent <= *secret_block &&
        !(indent == *secret_block && body.starts_with("- "))) {
      secret_block.reset();
    }
    std::string redacted(line);
    std::string_view item = body.starts_with("- ") ? body.substr(2) : body;
    size_t colon = item.find(':');
    const bool has_field = colon != std::string_view::npos && colon > 0 &&
                           item.substr(0, colon).find_first_of(" \"'{[") == std::string_view::npos;
    if (!blank && has_field && secret_field(item.substr(0, colon))) {
      std::string_view value = item.substr(colon + 1);
      size_t value_at = line.size() - value.size();
      if (trim(value).empty() || trim(value).starts_with("#")) {
        secret_block = indent;  // the values follow on deeper lines
      } else if (!only_references(value)) {
        redacted = std::string(line.substr(0, value_at)) + " " + std::string(kRedacted);
      }
    } else if (!blank && secret_block) {
      std::string_view value = has_field ? item.substr(colon + 1) : item;
      if (!only_references(value)) {
        redacted = std::string(line.substr(0, line.size() - value.size())) +
                   (has_field ? " " : "") + std::string(kRedacted);
      }
    }
    for (const auto& s : secrets) replace_all(redacted, s, kRedacted);
    out += redacted;
    if (nl != std::string_view::npos) out += '\n';
  }
  return out;
}

json effective_config_json(const config::Config& c) {
  const auto& s = c.server;
  json server = {{"listen", s.listen_host + ":" + std::to_string(s.listen_port)},
                 {"admin_listen", s.admin_listen.empty() ? json() : json(s.admin_listen)},
                 {"workers", s.workers},
                 {"master_key", set_or_null(s.master_key)},
                 {"metrics_key", set_or_null(s.metrics_key)},
                 {"allow_unauthenticated", s.allow_unauthenticated},
                 {"secure_cookie", s.secure_cookie},
                 {"max_request_body", s.max_request_body},
                 {"max_header_bytes", s.max_header_bytes},
                 {"header_timeout_ms", ms(s.header_timeout)},
                 {"body_timeout_ms", ms(s.body_timeout)},
                 {"keepalive_timeout_ms", ms(s.keepalive_timeout)},
                 {"max_connections", s.max_connections},
                 {"drain_timeout_ms", ms(s.drain_timeout)},
                 {"log_format", s.log_format},
                 {"log_level", s.log_level},
                 {"access_log", s.access_log}};
  json providers = json::object();
  for (const auto& p : c.providers) {
    json headers = json::object();
    for (const auto& [name, value] : p.headers) headers[name] = kRedacted;
    json pj = {{"type", config::to_string(p.type)},
               {"preset", p.preset.empty() ? json() : json(p.preset)},
               {"base_url", p.base_url},
               {"api_keys", p.api_keys.size()},
               {"headers", std::move(headers)},
               {"tls_verify", p.tls_verify},
               {"models", p.models},
               {"responses", config::to_string(p.responses)}};
    if (p.timeouts) pj["timeouts"] = timeouts_json(*p.timeouts);
    if (p.type == config::ProviderType::Azure) {
      pj["api_version"] = p.api_version;
      pj["deployments"] = p.deployments;
    }
    if (p.type == config::ProviderType::Bedrock) {
      pj["region"] = p.region;
      pj["aws_access_key_id"] = set_or_null(p.aws_access_key_id);
    }
    providers[p.name] = std::move(pj);
  }
  json models = json::array();
  for (const auto& m : c.models) {
    models.push_back({{"name", m.name},
                      {"strategy", m.strategy},
                      {"targets", targets_json(m.targets)},
                      {"fallbacks", targets_json(m.fallbacks)},
                      {"context_window_fallbacks", targets_json(m.context_window_fallbacks)}});
  }
  json keys = json::array();
  for (const auto& k : c.keys) {
    json kj = {{"name", k.name},
               {"key", kRedacted},
               {"models", k.models},
               {"team", k.team.empty() ? json() : json(k.team)},
               {"enabled", k.enabled},
               {"limits",
                {{"rpm", k.limits.rpm ? json(*k.limits.rpm) : json()},
                 {"tpm", k.limits.tpm ? json(*k.limits.tpm) : json()},
                 {"parallel", k.limits.parallel ? json(*k.limits.parallel) : json()}}}};
    kj["budget"] = k.budget ? json{{"usd", k.budget->usd}, {"period", config::to_string(k.budget->period)}}
                            : json();
    keys.push_back(std::move(kj));
  }
  json teams = json::array();
  for (const auto& t : c.teams) {
    teams.push_back({{"name", t.name},
                     {"budget", t.budget ? json{{"usd", t.budget->usd},
                                                {"period", config::to_string(t.budget->period)}}
                                         : json()}});
  }
  json pricing = json::object();
  for (const auto& [model, p] : c.pricing) {
    json pj = json::object();
    if (p.input) pj["input"] = *p.input;
    if (p.output) pj["output"] = *p.output;
    if (p.cached_input) pj["cached_input"] = *p.cached_input;
    if (p.cache_write) pj["cache_write"] = *p.cache_write;
    if (p.reasoning) pj["reasoning"] = *p.reasoning;
    pricing[model] = std::move(pj);
  }
  return {{"server", std::move(server)},
          {"store",
           {{"sqlite", c.store.sqlite},
            {"flush_interval_ms", ms(c.store.flush_interval)},
            {"max_queued_rows", c.store.max_queued_rows}}},
          {"providers", std::move(providers)},
          {"models", std::move(models)},
          {"router",
           {{"retries", c.router.retries},
            {"cooldown_ms", ms(c.router.cooldown)},
            {"allowed_fails", c.router.allowed_fails},
            {"timeouts", timeouts_json(c.router.timeouts)}}},
          {"keys", std::move(keys)},
          {"teams", std::move(teams)},
          {"pricing", std::move(pricing)},
          {"logs",
           {{"retention_days", c.logs.retention_days},
            {"bodies", c.logs.bodies},
            {"max_body_bytes", c.logs.max_body_bytes}}},
          {"cache",
           {{"enabled", c.cache.enabled},
            {"ttl_ms", ms(c.cache.ttl)},
            {"max_entries", c.cache.max_entries},
            {"max_bytes", c.cache.max_bytes}}},
          {"warnings", c.warnings}};
}

json errors_json(const std::vector<config::ConfigError>& errors) {
  json out = json::array();
  for (const auto& e : errors) {
    out.push_back({{"path", e.path}, {"line", e.line == 0 ? json() : json(e.line)},
                   {"message", e.message}});
  }
  return out;
}

void ConfigStatus::loaded(std::string source, std::string redacted_text, int64_t at_ms) {
  std::lock_guard lock(mu_);
  v_.source = std::move(source);
  v_.yaml = std::move(redacted_text);
  v_.loaded_at_ms = at_ms;
}

void ConfigStatus::reloaded(ReloadOutcome outcome) {
  std::lock_guard lock(mu_);
  v_.last_reload = std::move(outcome);
}

ConfigStatus::View ConfigStatus::get() const {
  std::lock_guard lock(mu_);
  return v_;
}

}  // namespace tg::admin
