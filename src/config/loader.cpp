// load_config_*: YAML text -> Config in two phases. Phase 1 decodes every section into structs,
// collecting all errors; phase 2 resolves providers (types, presets, keys from env), then checks
// cross references (model targets -> providers).

#include "internal.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

namespace tg::config {
namespace detail {

void decode_server(LoadState& st, NodeRef node, PathRef path, int line) {
  Decoder& d = st.dec;
  ServerConfig& s = st.cfg.server;
  auto listen = [&](NodeRef v, PathRef p, int l, bool admin) {
    auto text = d.string_value(v, p, l);
    if (!text) return;
    std::string why;
    auto hp = parse_listen(*text, &why);
    if (!hp) return d.error(p, l, why);
    if (admin) {
      s.admin_listen = *text;
      s.admin_host = hp->host;
      s.admin_port = hp->port;
    } else {
      s.listen_host = hp->host;
      s.listen_port = hp->port;
    }
  };
  auto duration = [&](Millis& out) {
    return [&d, &out](NodeRef v, PathRef p, int l) {
      if (auto ms = d.duration_value(v, p, l, true)) out = *ms;
    };
  };
  d.walk_map(node, path, line, {
      {"listen", [&](NodeRef v, PathRef p, int l) { listen(v, p, l, false); }},
      {"admin_listen", [&](NodeRef v, PathRef p, int l) { listen(v, p, l, true); }},
      {"workers", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.int_value(v, p, l, 0, 1024)) s.workers = static_cast<int>(*n);
       }},
      {"master_key", [&](NodeRef v, PathRef p, int l) {
         if (auto k = d.string_value(v, p, l)) s.master_key = *k;
       }},
      {"allow_unauthenticated", [&](NodeRef v, PathRef p, int l) {
         if (auto b = d.bool_value(v, p, l)) s.allow_unauthenticated = *b;
       }},
      {"secure_cookie", [&](NodeRef v, PathRef p, int l) {
         if (auto b = d.bool_value(v, p, l)) s.secure_cookie = *b;
       }},
      {"metrics_key", [&](NodeRef v, PathRef p, int l) {
         if (auto k = d.string_value(v, p, l)) s.metrics_key = *k;
       }},
      {"max_request_body", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.size_value(v, p, l)) s.max_request_body = *n;
       }},
      {"max_upload_body", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.size_value(v, p, l)) s.max_upload_body = *n;
       }},
      {"max_header_size", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.size_value(v, p, l)) s.max_header_bytes = *n;
       }},
      {"header_timeout", duration(s.header_timeout)},
      {"body_timeout", duration(s.body_timeout)},
      {"keepalive_timeout", duration(s.keepalive_timeout)},
      {"drain_timeout", duration(s.drain_timeout)},
      {"max_connections", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.int_value(v, p, l, 1, 10'000'000)) s.max_connections = static_cast<uint32_t>(*n);
       }},
      {"log_format", [&](NodeRef v, PathRef p, int l) {
         if (auto e = d.enum_value(v, p, l, {"text", "json"})) s.log_format = *e;
       }},
      {"log_level", [&](NodeRef v, PathRef p, int l) {
         if (auto e = d.enum_value(v, p, l, {"trace", "debug", "info", "warn", "error"})) s.log_level = *e;
       }},
      {"access_log", [&](NodeRef v, PathRef p, int l) {
         if (auto b = d.bool_value(v, p, l)) s.access_log = *b;
       }},
  });
}

void decode_store(LoadState& st, NodeRef node, PathRef path, int line) {
  Decoder& d = st.dec;
  d.walk_map(node, path, line, {
      {"sqlite", [&](NodeRef v, PathRef p, int l) {
         auto s = d.string_value(v, p, l);
         if (s && s->empty()) d.error(p, l, "must not be empty");
         else if (s) st.cfg.store.sqlite = *s;
       }},
      {"postgres", [&](NodeRef v, PathRef p, int l) {
         // The value is never echoed: it holds a password.
         auto s = d.string_value(v, p, l);
         if (!s) return;
         std::string_view url = *s;
         auto scheme = url.find("://");
         std::string_view name = scheme == std::string_view::npos ? "" : url.substr(0, scheme);
         if ((name != "postgresql" && name != "postgres") || url.size() == scheme + 3) {
           d.error(p, l, "must be a PostgreSQL URL: postgresql://user:password@host:5432/database");
         } else {
           st.cfg.store.postgres = *s;
         }
       }},
      {"flush_interval", [&](NodeRef v, PathRef p, int l) {
         auto ms = d.duration_value(v, p, l, true);
         if (ms && (*ms < Millis{10} || *ms > Millis{5'000})) d.error(p, l, "must be from 10ms to 5s");
         else if (ms) st.cfg.store.flush_interval = *ms;
       }},
      {"max_queued_rows", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.int_value(v, p, l, 1, 100'000'000)) st.cfg.store.max_queued_rows = *n;
       }},
      {"busy_timeout", [&](NodeRef v, PathRef p, int l) {
         auto ms = d.duration_value(v, p, l, true);
         if (ms && *ms > Millis{60'000}) d.error(p, l, "must be at most 60s");
         else if (ms) st.cfg.store.busy_timeout = *ms;
       }},
      {"redis", [&](NodeRef v, PathRef p, int l) {
         auto s = d.string_value(v, p, l);
         if (!s || s->empty()) return;
         std::string err;
         if (auto u = parse_redis_url(*s, &err)) {
           st.cfg.store.redis = *s;
           st.cfg.store.redis_url = *u;
         } else {
           d.error(p, l, err);
         }
       }},
      {"redis_timeout", [&](NodeRef v, PathRef p, int l) {
         auto ms = d.duration_value(v, p, l, true);
         if (ms && (*ms < Millis{1} || *ms > Millis{10'000})) d.error(p, l, "must be from 1ms to 10s");
         else if (ms) st.cfg.store.redis_timeout = *ms;
       }},
      {"redis_fail", [&](NodeRef v, PathRef p, int l) {
         // open | closed, or {limits: open|closed, budgets: open|closed}
         auto mode = [&](NodeRef n, PathRef pp, int ll, bool& out) {
           if (auto e = d.enum_value(n, pp, ll, {"open", "closed"})) out = *e == "open";
         };
         if (v.IsMap()) {
           d.walk_map(v, p, l, {
               {"limits", [&](NodeRef n, PathRef pp, int ll) { mode(n, pp, ll, st.cfg.store.redis_fail_open_limits); }},
               {"budgets", [&](NodeRef n, PathRef pp, int ll) { mode(n, pp, ll, st.cfg.store.redis_fail_open_budgets); }},
           });
           return;
         }
         bool open = true;
         if (auto e = d.enum_value(v, p, l, {"open", "closed"})) {
           open = *e == "open";
           st.cfg.store.redis_fail_open_limits = st.cfg.store.redis_fail_open_budgets = open;
         }
       }},
  });
}

PartialTimeouts decode_timeouts(Decoder& d, NodeRef node, PathRef path, int line) {
  PartialTimeouts t;
  t.where = {path, line};
  auto field = [&d](std::optional<Millis>& out) {
    return [&d, &out](NodeRef v, PathRef p, int l) { out = d.duration_value(v, p, l, true); };
  };
  d.walk_map(node, path, line, {
      {"connect", field(t.connect)},
      {"first_token", field(t.first_token)},
      {"idle", field(t.idle)},
      {"total", field(t.total)},
      {"keepalive", field(t.keepalive)},
  });
  return t;
}

void decode_router(LoadState& st, NodeRef node, PathRef path, int line) {
  Decoder& d = st.dec;
  RouterConfig& r = st.cfg.router;
  d.walk_map(node, path, line, {
      {"retries", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.int_value(v, p, l, 0, 10)) r.retries = static_cast<int>(*n);
       }},
      {"cooldown", [&](NodeRef v, PathRef p, int l) {
         if (auto ms = d.duration_value(v, p, l)) r.cooldown = *ms;
       }},
      {"allowed_fails", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.int_value(v, p, l, 0, 1000)) r.allowed_fails = static_cast<int>(*n);
       }},
      {"retry_after_cap", [&](NodeRef v, PathRef p, int l) {
         if (auto ms = d.duration_value(v, p, l)) r.retry_after_cap = *ms;
       }},
      {"timeouts", [&](NodeRef v, PathRef p, int l) {
         PartialTimeouts t = decode_timeouts(d, v, p, l);
         r.timeouts.connect = t.connect.value_or(r.timeouts.connect);
         r.timeouts.first_token = t.first_token.value_or(r.timeouts.first_token);
         r.timeouts.idle = t.idle.value_or(r.timeouts.idle);
         r.timeouts.total = t.total.value_or(r.timeouts.total);
         r.timeouts.keepalive = t.keepalive.value_or(r.timeouts.keepalive);
         st.router_timeouts = t.where;
       }},
  });
}

void check_timeouts(Decoder& d, const Timeouts& t, const Where& where) {
  auto fmt_ms = [](Millis ms) { return std::to_string(ms.count()) + "ms"; };
  if (t.connect > t.total) {
    d.error(where.path, where.line, fmt::format("connect ({}) must not exceed total ({})",
                                                fmt_ms(t.connect), fmt_ms(t.total)));
  }
  if (t.first_token > t.total) {
    d.error(where.path, where.line, fmt::format("first_token ({}) must not exceed total ({})",
                                                fmt_ms(t.first_token), fmt_ms(t.total)));
  }
}

void validate_router(LoadState& st) { check_timeouts(st.dec, st.cfg.router.timeouts, st.router_timeouts); }

void decode_logs(LoadState& st, NodeRef node, PathRef path, int line) {
  Decoder& d = st.dec;
  LogsConfig& g = st.cfg.logs;
  d.walk_map(node, path, line, {
      {"retention_days", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.int_value(v, p, l, 0, 36'500)) g.retention_days = static_cast<int>(*n);
       }},
      {"bodies", [&](NodeRef v, PathRef p, int l) {
         if (auto b = d.bool_value(v, p, l)) g.bodies = *b;
       }},
      {"max_body_bytes", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.size_value(v, p, l)) g.max_body_bytes = *n;
       }},
  });
}

void decode_cache(LoadState& st, NodeRef node, PathRef path, int line) {
  Decoder& d = st.dec;
  CacheConfig& c = st.cfg.cache;
  d.walk_map(node, path, line, {
      {"enabled", [&](NodeRef v, PathRef p, int l) {
         if (auto b = d.bool_value(v, p, l)) c.enabled = *b;
       }},
      {"ttl", [&](NodeRef v, PathRef p, int l) {
         if (auto ms = d.duration_value(v, p, l, true)) c.ttl = *ms;
       }},
      {"max_entries", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.int_value(v, p, l, 1, std::numeric_limits<int64_t>::max())) {
           c.max_entries = static_cast<uint64_t>(*n);
         }
       }},
      {"max_bytes", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.size_value(v, p, l)) c.max_bytes = *n;
       }},
  });
}

}  // namespace detail

namespace {

using namespace detail;

void decode_root(LoadState& st, NodeRef root) {
  using Section = void (*)(LoadState&, NodeRef, PathRef, int);
  auto section = [&st](Section fn) {
    return [&st, fn](NodeRef v, PathRef p, int l) { fn(st, v, p, l); };
  };
  if (!root.IsNull() && !root.IsMap()) {
    st.dec.error("", line_of(root, 1), "the top level must be a mapping (server:, providers:, models:, ...)");
    return;
  }
  st.dec.walk_map(root, "", 1, {
      {"server", section(decode_server)},   {"store", section(decode_store)},
      {"providers", section(decode_providers)}, {"models", section(decode_models)},
      {"router", section(decode_router)},   {"keys", section(decode_keys)},
      {"teams", section(decode_teams)},     {"pricing", section(decode_pricing)},
      {"logs", section(decode_logs)},       {"cache", section(decode_cache)},
  });
}

LoadResult finish(LoadState& st) {
  LoadResult result;
  result.errors = st.dec.take_errors();
  result.warnings = st.dec.take_warnings();
  if (result.errors.empty()) {
    st.cfg.warnings = result.warnings;
    result.config = std::move(st.cfg);
  }
  return result;
}

LoadResult single_error(std::string message, int line = 0) {
  LoadResult r;
  r.errors.push_back(ConfigError{"", line, std::move(message)});
  return r;
}

}  // namespace

LoadResult load_config_string(std::string_view yaml_text, const EnvLookup& env, std::string source_path) {
  try {
    YAML::Node root;
    try {
      root = YAML::Load(protect_env_refs(yaml_text));
    } catch (const YAML::Exception& e) {
      return single_error("YAML syntax error: " + e.msg, e.mark.line >= 0 ? e.mark.line + 1 : 0);
    }
    LoadState st(env);
    st.cfg.source_path = std::move(source_path);
    decode_root(st, root);
    validate_router(st);
    resolve_providers(st);
    resolve_models(st);
    resolve_keys(st);
    return finish(st);
  } catch (const std::exception& e) {  // the loader must never throw; this is a bug if reached
    return single_error(std::string("internal error while loading config: ") + e.what());
  } catch (...) {
    return single_error("internal error while loading config");
  }
}

LoadResult load_config_file(const std::string& path, const EnvLookup& env) {
  try {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      return single_error(fmt::format("cannot read config file '{}': it is a directory", path));
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return single_error(fmt::format("cannot read config file '{}': {}", path,
                                      std::generic_category().message(errno)));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return single_error(fmt::format("cannot read config file '{}'", path));
    return load_config_string(text.str(), env, path);
  } catch (const std::exception& e) {
    return single_error(fmt::format("cannot read config file '{}': {}", path, e.what()));
  }
}

}  // namespace tg::config
