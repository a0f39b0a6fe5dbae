// providers: decoding (phase 1) and resolution (phase 2): type or preset, default base_url, keys
// from the environment. A provider whose key variable is unset is skipped with a warning.

#include "internal.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tg::config::detail {
namespace {

struct TypeChoice {
  ProviderType type;
  std::string preset;
};

constexpr std::pair<std::string_view, ProviderType> kBaseTypes[] = {
    {"openai", ProviderType::OpenAI},   {"anthropic", ProviderType::Anthropic},
    {"gemini", ProviderType::Gemini},   {"azure", ProviderType::Azure},
    {"bedrock", ProviderType::Bedrock}, {"openai-compatible", ProviderType::OpenAICompatible},
};

std::optional<TypeChoice> type_from_name(std::string_view s) {
  for (const auto& [name, type] : kBaseTypes) {
    if (name == s) return TypeChoice{type, ""};
  }
  const Preset* p = find_preset(s);
  if (p && p->type == ProviderType::OpenAICompatible) return TypeChoice{p->type, std::string(p->name)};
  return std::nullopt;
}

std::vector<std::string_view> preset_names() {
  std::vector<std::string_view> out;
  for (const Preset& p : presets()) {
    if (p.type == ProviderType::OpenAICompatible) out.push_back(p.name);
  }
  return out;
}

std::vector<std::string_view> type_names() {
  std::vector<std::string_view> out;
  for (const auto& t : kBaseTypes) out.push_back(t.first);
  for (std::string_view p : preset_names()) out.push_back(p);
  return out;
}

std::string type_list() {
  std::vector<std::string_view> base;
  for (const auto& t : kBaseTypes) base.push_back(t.first);
  return join(base, ", ") + " or a preset (" + join(preset_names(), ", ") + ")";
}

void add_unique(std::vector<std::string>& into, const std::vector<std::string>& vars) {
  for (const std::string& v : vars) {
    if (std::find(into.begin(), into.end(), v) == into.end()) into.push_back(v);
  }
}

// One item of api_keys (or the api_key value): "KEY" or {key: KEY, weight: N}.
void decode_api_key(Decoder& d, NodeRef v, PathRef p, int l, std::vector<RawKey>& out) {
  RawKey k;
  k.where = {p, l};
  if (v.IsNull()) return d.error(p, l, "expected an API key, got nothing");
  if (!v.IsMap()) {
    auto s = d.scalar(v, p, l, "an API key or {key, weight}", true);
    if (!s) return;
    k.key = std::move(s->text);
    k.unset = std::move(s->unset);
    out.push_back(std::move(k));
    return;
  }
  const size_t before = d.error_count();
  bool has_key = false;
  d.walk_map(v, p, l, {
      {"key", [&](NodeRef kv, PathRef kp, int kl) {
         has_key = true;
         if (kv.IsNull()) return d.error(kp, kl, "expected an API key, got nothing");
         if (auto s = d.scalar(kv, kp, kl, "a string", true)) {
           k.key = std::move(s->text);
           k.unset = std::move(s->unset);
         }
       }},
      {"weight", [&](NodeRef wv, PathRef wp, int wl) {
         if (auto w = d.int_value(wv, wp, wl, 1, 1'000'000)) k.weight = static_cast<uint32_t>(*w);
       }},
  });
  if (!has_key) d.error(p, l, "missing 'key'");
  if (d.error_count() == before) out.push_back(std::move(k));
}

void decode_provider(LoadState& st, const std::string& name, NodeRef node, PathRef path, int line) {
  Decoder& d = st.dec;
  RawProvider rp;
  rp.out.name = name;
  rp.out.line = line;
  rp.where = {path, line};
  st.declared_providers.insert(name);
  const size_t before = d.error_count();
  if (name.empty() || name.find_first_of("/ \t") != std::string::npos) {
    d.error(path, line, "a provider name must not be empty or contain '/' or spaces");
  }
  auto keys = [&](NodeRef v, PathRef p, int l, bool list) {
    if (rp.keys_declared) return d.error(p, l, "use either api_key or api_keys, not both");
    rp.keys_declared = true;
    if (!list) return decode_api_key(d, v, p, l, rp.keys);
    d.each_item(v, p, l, [&](NodeRef item, PathRef ip, int il) { decode_api_key(d, item, ip, il, rp.keys); });
  };
  auto aws = [&](std::optional<Scalar>& out, std::string_view key) {
    return [&, key](NodeRef v, PathRef p, int l) {
      rp.bedrock_only.push_back({std::string(key), {p, l}});
      out = d.scalar(v, p, l, "a string", true);
    };
  };
  d.walk_map(node, path, line_of(node, line), {
      {"type", [&](NodeRef v, PathRef p, int l) {
         rp.type = d.string_value(v, p, l);
         rp.type_line = l;
       }},
      {"base_url", [&](NodeRef v, PathRef p, int l) {
         rp.base_url = d.scalar(v, p, l, "a URL", true);
         rp.base_url_line = l;
       }},
      {"api_key", [&](NodeRef v, PathRef p, int l) { keys(v, p, l, false); }},
      {"api_keys", [&](NodeRef v, PathRef p, int l) { keys(v, p, l, true); }},
      {"headers", [&](NodeRef v, PathRef p, int l) {
         if (auto m = d.string_map(v, p, l)) rp.out.headers = std::move(*m);
       }},
      {"tls_verify", [&](NodeRef v, PathRef p, int l) {
         if (auto b = d.bool_value(v, p, l)) rp.out.tls_verify = *b;
       }},
      {"ca_file", [&](NodeRef v, PathRef p, int l) {
         if (auto s = d.string_value(v, p, l)) rp.out.ca_file = *s;
       }},
      {"timeouts", [&](NodeRef v, PathRef p, int l) { rp.timeouts = decode_timeouts(d, v, p, l); }},
      {"models", [&](NodeRef v, PathRef p, int l) {
         if (auto m = d.string_list(v, p, l)) rp.out.models = std::move(*m);
       }},
      {"api_version", [&](NodeRef v, PathRef p, int l) {
         rp.azure_only.push_back({"api_version", {p, l}});
         if (auto s = d.string_value(v, p, l)) rp.out.api_version = *s;
       }},
      {"deployments", [&](NodeRef v, PathRef p, int l) {
         rp.azure_only.push_back({"deployments", {p, l}});
         if (auto m = d.string_map(v, p, l)) rp.out.deployments = std::move(*m);
       }},
      {"region", [&](NodeRef v, PathRef p, int l) {
         rp.bedrock_only.push_back({"region", {p, l}});
         if (auto s = d.string_value(v, p, l)) rp.out.region = *s;
       }},
      {"responses", [&](NodeRef v, PathRef p, int l) {
         rp.responses_where = {p, l};
         if (auto s = d.enum_value(v, p, l, {"native", "translate"})) {
           rp.responses = *s == "native" ? ResponsesMode::Native : ResponsesMode::Translate;
         }
       }},
      {"aws_access_key_id", aws(rp.aws_key_id, "aws_access_key_id")},
      {"aws_secret_access_key", aws(rp.aws_secret, "aws_secret_access_key")},
      {"aws_session_token", aws(rp.aws_token, "aws_session_token")},
  });
  rp.broken = d.error_count() > before;
  st.providers.push_back(std::move(rp));
}

// ---- phase 2 ----

enum class Res { Ok, Skip, Fail };

const Preset* defaults_for(const ProviderConfig& p) {
  return find_preset(p.preset.empty() ? to_string(p.type) : std::string_view(p.preset));
}

bool resolve_type(LoadState& st, RawProvider& rp) {
  std::optional<TypeChoice> tc;
  if (rp.type) {
    tc = type_from_name(*rp.type);
    if (!tc) {
      st.dec.error(rp.where.path + ".type", rp.type_line,
                   fmt::format("unknown provider type '{}'{}; expected {}", *rp.type,
                               did_you_mean(*rp.type, type_names()), type_list()));
      return false;
    }
  } else {
    tc = type_from_name(rp.out.name);
    if (!tc) {
      st.dec.error(rp.where.path, rp.where.line,
                   fmt::format("missing 'type' ('{}' is not a known provider name); expected {}",
                               rp.out.name, type_list()));
      return false;
    }
  }
  rp.out.type = tc->type;
  rp.out.preset = tc->preset;
  return true;
}

// api_version/deployments only make sense for azure, region/aws_* only for bedrock.
bool check_type_fields(LoadState& st, const RawProvider& rp) {
  bool ok = true;
  auto check = [&](const std::vector<std::pair<std::string, Where>>& fields, ProviderType want) {
    if (rp.out.type == want) return;
    for (const auto& [key, w] : fields) {
      st.dec.error(w.path, w.line, fmt::format("'{}' only applies to type {}", key, to_string(want)));
      ok = false;
    }
  };
  check(rp.azure_only, ProviderType::Azure);
  check(rp.bedrock_only, ProviderType::Bedrock);
  const ProviderType t = rp.out.type;
  if (rp.responses && t != ProviderType::OpenAI && t != ProviderType::Azure &&
      t != ProviderType::OpenAICompatible) {
    st.dec.error(rp.responses_where.path, rp.responses_where.line,
                 fmt::format("'responses' only applies to types openai, azure and openai-compatible "
                             "({} is always translated)",
                             to_string(t)));
    ok = false;
  }
  return ok;
}

// responses: as written, else the type's or preset's default. Azure serves /responses on its v1
// API only: native on a classic base_url is an error.
bool resolve_responses(LoadState& st, RawProvider& rp) {
  ProviderConfig& p = rp.out;
  if (!rp.responses) {
    p.responses = default_responses(p);
    return true;
  }
  if (p.type == ProviderType::Azure && *rp.responses == ResponsesMode::Native &&
      !azure_v1_url(p.base_url)) {
    st.dec.error(rp.responses_where.path, rp.responses_where.line,
                 "'native' needs Azure's v1 API (a base_url ending in /openai/v1); the classic "
                 "API is translated");
    return false;
  }
  p.responses = *rp.responses;
  return true;
}

Res resolve_base_url(LoadState& st, RawProvider& rp, std::vector<std::string>& missing) {
  ProviderConfig& p = rp.out;
  const std::string url_path = rp.where.path + ".base_url";
  std::string url;
  if (rp.base_url) {
    url = rp.base_url->text;
    if (url.empty() && !rp.base_url->unset.empty()) {
      add_unique(missing, rp.base_url->unset);
      return Res::Skip;
    }
  } else if (p.type == ProviderType::Bedrock) {
    url = fmt::format("https://bedrock-runtime.{}.amazonaws.com", p.region);
  } else if (const Preset* d = defaults_for(p); d && !d->base_url.empty()) {
    url = std::string(d->base_url);
  } else {
    st.dec.error(rp.where.path, rp.where.line,
                 p.type == ProviderType::Azure
                     ? "type azure needs base_url (the resource endpoint, e.g. https://NAME.openai.azure.com)"
                     : "type openai-compatible needs base_url (or use a preset type: " +
                           join(preset_names(), ", ") + ")");
    return Res::Fail;
  }
  bool http = url.starts_with("http://") || url.starts_with("https://");
  if (!http || url.size() <= std::string_view(url.starts_with("https") ? "https://" : "http://").size()) {
    st.dec.error(url_path, rp.base_url_line,
                 fmt::format("must be an http:// or https:// URL, got '{}'", url));
    return Res::Fail;
  }
  while (url.ends_with('/')) url.pop_back();
  p.base_url = std::move(url);
  return Res::Ok;
}

// Fills api_keys with the non-empty keys. A provider that declares no keys reads its usual
// variable (OPENAI_API_KEY, GROQ_API_KEY, ...). Skip when every key came out empty.
Res resolve_api_keys(LoadState& st, RawProvider& rp, std::vector<std::string>& missing) {
  ProviderConfig& p = rp.out;
  const Preset* d = defaults_for(p);
  const bool optional = d && d->key_optional;
  std::string key_env = p.type == ProviderType::Azure ? "AZURE_OPENAI_API_KEY" : std::string(d ? d->key_env : "");
  std::vector<RawKey> keys = rp.keys;
  if (!rp.keys_declared && !key_env.empty()) {
    RawKey k;
    k.key = expand_env("${" + key_env + "}", st.dec.env(), &k.unset);
    k.where = rp.where;
    keys.push_back(std::move(k));
  }
  if (rp.keys_declared && keys.empty() && !optional && p.type != ProviderType::Bedrock) {
    st.dec.error(rp.where.path, rp.where.line, "api_keys is empty; give at least one key");
    return Res::Fail;
  }
  std::vector<const RawKey*> dropped;
  for (const RawKey& k : keys) {
    if (!k.key.empty()) p.api_keys.push_back(ApiKey{k.key, k.weight});
    else dropped.push_back(&k);
  }
  if (p.api_keys.empty() && !dropped.empty()) {
    for (const RawKey* k : dropped) add_unique(missing, k->unset);
    return optional ? Res::Ok : Res::Skip;
  }
  for (const RawKey* k : dropped) {
    st.dec.warn(k->where.line, k->unset.empty()
                                   ? fmt::format("{}: api key is empty; key dropped", k->where.path)
                                   : fmt::format("{}: {} not set; key dropped", k->where.path, vars_phrase(k->unset)));
  }
  return Res::Ok;
}

// Bedrock signs with an AWS key pair (declared, else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY);
// a bedrock API key in api_keys also works.
Res resolve_aws(LoadState& st, RawProvider& rp, Res keys_res, std::vector<std::string>& missing) {
  ProviderConfig& p = rp.out;
  std::vector<std::string> aws_missing;
  auto pick = [&](const std::optional<Scalar>& declared, const std::string& var, std::string& out) {
    if (declared) {
      out = declared->text;
      if (out.empty()) add_unique(aws_missing, declared->unset);
    } else {
      out = expand_env("${" + var + "}", st.dec.env(), &aws_missing);
    }
  };
  pick(rp.aws_key_id, "AWS_ACCESS_KEY_ID", p.aws_access_key_id);
  pick(rp.aws_secret, "AWS_SECRET_ACCESS_KEY", p.aws_secret_access_key);
  if (!p.aws_access_key_id.empty() && !p.aws_secret_access_key.empty()) {
    // Optional: only temporary credentials have one (an unset variable is no error).
    std::vector<std::string> ignored;
    if (rp.aws_token) {
      p.aws_session_token = rp.aws_token->text;
    } else if (!rp.aws_key_id) {  // the key pair came from the environment: so does the token
      p.aws_session_token = expand_env("${AWS_SESSION_TOKEN}", st.dec.env(), &ignored);
    }
    return Res::Ok;
  }
  p.aws_access_key_id.clear();
  p.aws_secret_access_key.clear();
  if (!p.api_keys.empty()) return Res::Ok;
  add_unique(missing, aws_missing);
  if (!missing.empty() || keys_res == Res::Skip) return Res::Skip;
  st.dec.error(rp.where.path, rp.where.line,
               "type bedrock needs aws_access_key_id and aws_secret_access_key (or api_keys)");
  return Res::Fail;
}

void fill_type_defaults(LoadState& st, ProviderConfig& p) {
  if (p.type == ProviderType::Azure && p.api_version.empty()) p.api_version = std::string(kAzureApiVersion);
  if (p.type == ProviderType::Bedrock && p.region.empty()) {
    auto region = st.dec.env()("AWS_REGION");
    p.region = region && !region->empty() ? *region : std::string(kBedrockRegion);
  }
}

void skip_provider(LoadState& st, const RawProvider& rp, const std::vector<std::string>& missing) {
  st.skipped_providers.insert(rp.out.name);
  std::string why = missing.empty() ? "api key is empty" : vars_phrase(missing) + " not set";
  st.dec.warn(rp.where.line, fmt::format("{}: {}; provider skipped", rp.where.path, why));
}

void resolve_provider(LoadState& st, RawProvider& rp) {
  if (!resolve_type(st, rp) || !check_type_fields(st, rp)) return;
  ProviderConfig& p = rp.out;
  fill_type_defaults(st, p);
  std::vector<std::string> missing;
  Res url = resolve_base_url(st, rp, missing);
  if (url == Res::Fail) return;
  if (url == Res::Ok && !resolve_responses(st, rp)) return;
  Res keys = resolve_api_keys(st, rp, missing);
  if (keys == Res::Fail) return;
  if (p.type == ProviderType::Bedrock) keys = resolve_aws(st, rp, keys, missing);
  if (keys == Res::Fail) return;
  if (url == Res::Skip || keys == Res::Skip) return skip_provider(st, rp, missing);
  if (rp.timeouts) {
    const Timeouts& base = st.cfg.router.timeouts;
    const PartialTimeouts& t = *rp.timeouts;
    p.timeouts = Timeouts{t.connect.value_or(base.connect), t.first_token.value_or(base.first_token),
                          t.idle.value_or(base.idle), t.total.value_or(base.total),
                          t.keepalive.value_or(base.keepalive)};
    check_timeouts(st.dec, *p.timeouts, t.where);
  }
  st.cfg.providers.push_back(std::move(p));
}

}  // namespace

void decode_providers(LoadState& st, NodeRef node, PathRef path, int line) {
  st.dec.each_entry(node, path, line, [&](const std::string& name, NodeRef v, PathRef p, int l) {
    decode_provider(st, name, v, p, l);
  });
}

void resolve_providers(LoadState& st) {
  for (RawProvider& rp : st.providers) {
    if (!rp.broken) resolve_provider(st, rp);
  }
}

}  // namespace tg::config::detail
