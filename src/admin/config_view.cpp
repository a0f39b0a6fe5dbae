#include "tollgate/admin/config_view.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "tollgate/core/text.hpp"

namespace tg::admin {

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

int64_t ms(config::Millis m) { return m.count(); }

// (Members in name order, as nlohmann's std::map-backed objects wrote them: the text is unchanged.)
void write_timeouts(JsonWriter& w, std::string_view key, const config::Timeouts& t) {
  w.object(key)
      .num("connect_ms", ms(t.connect))
      .num("first_token_ms", ms(t.first_token))
      .num("idle_ms", ms(t.idle))
      .num("total_ms", ms(t.total))
      .end_object();
}

void write_targets(JsonWriter& w, std::string_view key, const std::vector<config::Target>& ts) {
  w.array(key);
  for (const auto& t : ts) {
    w.object().str("target", t.provider + "/" + t.model).num("weight", t.weight).end_object();
  }
  w.end_array();
}

void write_budget(JsonWriter& w, const std::optional<config::BudgetConfig>& b) {
  w.key("budget");
  if (!b) {
    w.null();
    return;
  }
  w.object().str("period", config::to_string(b->period)).real("usd", b->usd).end_object();
}

// "[redacted]" when set, else null.
void write_secret(JsonWriter& w, std::string_view key, const std::string& secret) {
  w.str_or_null(key, secret.empty() ? std::string_view() : kRedacted);
}

template <typename Map>
void write_string_map(JsonWriter& w, std::string_view key, const Map& m, bool redacted) {
  w.object(key);
  for (const auto& [k, v] : m) w.str(k, redacted ? kRedacted : std::string_view(v));
  w.end_object();
}

void write_provider(JsonWriter& w, const config::ProviderConfig& p) {
  const bool azure = p.type == config::ProviderType::Azure;
  const bool bedrock = p.type == config::ProviderType::Bedrock;
  w.object(p.name).num("api_keys", p.api_keys.size());
  if (azure) w.str("api_version", p.api_version);
  if (bedrock) write_secret(w, "aws_access_key_id", p.aws_access_key_id);
  w.str("base_url", p.base_url);
  if (azure) write_string_map(w, "deployments", p.deployments, false);
  write_string_map(w, "headers", p.headers, true);
  w.strings("models", p.models).str_or_null("preset", p.preset);
  if (bedrock) w.str("region", p.region);
  w.str("responses", config::to_string(p.responses));
  if (p.timeouts) write_timeouts(w, "timeouts", *p.timeouts);
  w.boolean("tls_verify", p.tls_verify).str("type", config::to_string(p.type)).end_object();
}

void write_price(JsonWriter& w, const std::string& model, const config::PriceConfig& p) {
  w.object(model);
  auto field = [&w](std::string_view name, const std::optional<double>& v) {
    if (v) w.real(name, *v);
  };
  field("cache_write", p.cache_write);
  field("cached_input", p.cached_input);
  field("input", p.input);
  field("output", p.output);
  field("reasoning", p.reasoning);
  w.end_object();
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
  constexpr size_t kNoBlock = std::string_view::npos;  // (an optional here trips GCC 12's
  size_t secret_block = kNoBlock;                      // -Wmaybe-uninitialized)
  for (std::string_view rest = text; !rest.empty();) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    const size_t indent = indent_of(line);
    std::string_view body = line.substr(indent);
    const bool blank = body.empty() || body.front() == '#';
    if (secret_block != kNoBlock && !blank && indent <= secret_block &&
        !(indent == secret_block && body.starts_with("- "))) {
      secret_block = kNoBlock;
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
    } else if (!blank && secret_block != kNoBlock) {
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

void write_effective_config(JsonWriter& w, const config::Config& c) {
  w.object();
  w.object("cache")
      .boolean("enabled", c.cache.enabled)
      .num("max_bytes", c.cache.max_bytes)
      .num("max_entries", c.cache.max_entries)
      .num("ttl_ms", ms(c.cache.ttl))
      .end_object();
  w.array("keys");
  for (const auto& k : c.keys) {
    w.object();
    write_budget(w, k.budget);
    w.boolean("enabled", k.enabled).str("key", kRedacted);
    w.object("limits")
        .num_or_null("parallel", k.limits.parallel)
        .num_or_null("rpm", k.limits.rpm)
        .num_or_null("tpm", k.limits.tpm)
        .end_object();
    w.strings("models", k.models).str("name", k.name).str_or_null("team", k.team).end_object();
  }
  w.end_array();
  w.object("logs")
      .boolean("bodies", c.logs.bodies)
      .num("max_body_bytes", c.logs.max_body_bytes)
      .num("retention_days", c.logs.retention_days)
      .end_object();
  w.array("models");
  for (const auto& m : c.models) {
    w.object();
    write_targets(w, "context_window_fallbacks", m.context_window_fallbacks);
    write_targets(w, "fallbacks", m.fallbacks);
    w.str("name", m.name).str("strategy", m.strategy);
    write_targets(w, "targets", m.targets);
    w.end_object();
  }
  w.end_array();
  w.object("pricing");
  for (const auto& [model, p] : c.pricing) write_price(w, model, p);
  w.end_object();
  // By name (the file's order is not kept: a JSON object's members were always sorted here).
  std::vector<const config::ProviderConfig*> providers;
  for (const auto& p : c.providers) providers.push_back(&p);
  std::stable_sort(providers.begin(), providers.end(),
                   [](const auto* a, const auto* b) { return a->name < b->name; });
  w.object("providers");
  for (size_t i = 0; i < providers.size(); ++i) {
    // A repeated name was one member (the last one written won).
    if (i + 1 < providers.size() && providers[i + 1]->name == providers[i]->name) continue;
    write_provider(w, *providers[i]);
  }
  w.end_object();
  w.object("router").num("allowed_fails", c.router.allowed_fails)
      .num("cooldown_ms", ms(c.router.cooldown))
      .num("retries", c.router.retries);
  write_timeouts(w, "timeouts", c.router.timeouts);
  w.end_object();
  const auto& s = c.server;
  w.object("server")
      .boolean("access_log", s.access_log)
      .str_or_null("admin_listen", s.admin_listen)
      .boolean("allow_unauthenticated", s.allow_unauthenticated)
      .num("body_timeout_ms", ms(s.body_timeout))
      .num("drain_timeout_ms", ms(s.drain_timeout))
      .num("header_timeout_ms", ms(s.header_timeout))
      .num("keepalive_timeout_ms", ms(s.keepalive_timeout))
      .str("listen", s.listen_host + ":" + std::to_string(s.listen_port))
      .str("log_format", s.log_format)
      .str("log_level", s.log_level);
  write_secret(w, "master_key", s.master_key);
  w.num("max_connections", s.max_connections)
      .num("max_header_bytes", s.max_header_bytes)
      .num("max_request_body", s.max_request_body);
  write_secret(w, "metrics_key", s.metrics_key);
  w.boolean("secure_cookie", s.secure_cookie).num("workers", s.workers).end_object();
  w.object("store")
      .num("flush_interval_ms", ms(c.store.flush_interval))
      .num("max_queued_rows", c.store.max_queued_rows)
      .str("sqlite", c.store.sqlite)
      .end_object();
  w.array("teams");
  for (const auto& t : c.teams) {
    w.object();
    write_budget(w, t.budget);
    w.str("name", t.name).end_object();
  }
  w.end_array();
  w.strings("warnings", c.warnings).end_object();
}

std::string effective_config_text(const config::Config& c) {
  JsonWriter w;
  write_effective_config(w, c);
  return w.take();
}

void write_errors(JsonWriter& w, const std::vector<config::ConfigError>& errors) {
  w.array();
  for (const auto& e : errors) {
    w.object();
    if (e.line == 0) {
      w.null("line");
    } else {
      w.num("line", e.line);
    }
    w.str("message", e.message).str("path", e.path).end_object();
  }
  w.end_array();
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
