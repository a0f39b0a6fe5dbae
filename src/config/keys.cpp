// keys:, teams: and pricing: sections.

#include "internal.hpp"

#include <fmt/format.h>

#include <limits>
#include <map>

namespace tg::config::detail {
namespace {

BudgetPeriod period_from(std::string_view s) {
  if (s == "daily") return BudgetPeriod::Daily;
  if (s == "weekly") return BudgetPeriod::Weekly;
  if (s == "total") return BudgetPeriod::Total;
  return BudgetPeriod::Monthly;
}

std::optional<BudgetConfig> decode_budget(Decoder& d, NodeRef node, PathRef path, int line) {
  BudgetConfig b;
  bool has_usd = false;
  const size_t before = d.error_count();
  bool is_map = d.walk_map(node, path, line, {
      {"usd", [&](NodeRef v, PathRef p, int l) {
         has_usd = true;
         if (auto n = d.number_value(v, p, l, 0)) b.usd = *n;
       }},
      {"period", [&](NodeRef v, PathRef p, int l) {
         if (auto e = d.enum_value(v, p, l, {"daily", "weekly", "monthly", "total"})) b.period = period_from(*e);
       }},
  });
  if (is_map && !has_usd) d.error(path, line, "missing 'usd'");
  if (d.error_count() > before) return std::nullopt;
  return b;
}

LimitsConfig decode_limits(Decoder& d, NodeRef node, PathRef path, int line) {
  LimitsConfig lim;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  d.walk_map(node, path, line, {
      {"rpm", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.int_value(v, p, l, 1, kMax)) lim.rpm = static_cast<uint64_t>(*n);
       }},
      {"tpm", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.int_value(v, p, l, 1, kMax)) lim.tpm = static_cast<uint64_t>(*n);
       }},
      {"parallel", [&](NodeRef v, PathRef p, int l) {
         if (auto n = d.int_value(v, p, l, 1, 1'000'000)) lim.parallel = static_cast<uint32_t>(*n);
       }},
  });
  return lim;
}

void decode_key(LoadState& st, NodeRef node, PathRef path, int line) {
  Decoder& d = st.dec;
  RawKeyConfig rk;
  rk.where = {path, line};
  rk.out.line = line;
  KeyConfig& k = rk.out;
  const size_t before = d.error_count();
  bool has_name = false;
  bool is_map = d.walk_map(node, path, line, {
      {"name", [&](NodeRef v, PathRef p, int l) {
         has_name = true;
         auto s = d.string_value(v, p, l);
         if (!s || s->empty()) return d.error(p, l, "a key name must not be empty");
         k.name = *s;
       }},
      {"key", [&](NodeRef v, PathRef p, int l) {
         rk.has_key = true;
         rk.key_where = {p, l};
         if (auto s = d.scalar(v, p, l, "a string", true)) {
           k.key = std::move(s->text);
           rk.key_unset = std::move(s->unset);
         }
       }},
      {"models", [&](NodeRef v, PathRef p, int l) {
         if (auto m = d.string_list(v, p, l)) k.models = std::move(*m);
       }},
      {"budget", [&](NodeRef v, PathRef p, int l) { k.budget = decode_budget(d, v, p, l); }},
      {"limits", [&](NodeRef v, PathRef p, int l) { k.limits = decode_limits(d, v, p, l); }},
      {"team", [&](NodeRef v, PathRef p, int l) {
         if (auto s = d.string_value(v, p, l)) k.team = *s;
       }},
      {"expires_at", [&](NodeRef v, PathRef p, int l) {
         auto s = d.string_value(v, p, l);
         if (!s) return;
         k.expires_at = parse_timestamp(*s);
         if (!k.expires_at) {
           d.error(p, l, fmt::format("expected a date like 2026-12-31 or 2026-12-31T23:59:59Z, got '{}'", *s));
         }
       }},
      {"metadata", [&](NodeRef v, PathRef p, int l) {
         if (auto m = d.string_map(v, p, l)) k.metadata = std::move(*m);
       }},
      {"enabled", [&](NodeRef v, PathRef p, int l) {
         if (auto b = d.bool_value(v, p, l)) k.enabled = *b;
       }},
  });
  if (is_map && !has_name) d.error(path, line, "missing 'name'");
  if (is_map && !rk.has_key) d.error(path, line, "missing 'key'");
  rk.broken = d.error_count() > before;
  st.keys.push_back(std::move(rk));
}

void decode_team(LoadState& st, NodeRef node, PathRef path, int line, std::map<std::string, int>& names) {
  Decoder& d = st.dec;
  TeamConfig t;
  t.line = line;
  const size_t before = d.error_count();
  bool has_name = false;
  bool is_map = d.walk_map(node, path, line, {
      {"name", [&](NodeRef v, PathRef p, int l) {
         has_name = true;
         auto s = d.string_value(v, p, l);
         if (!s || s->empty()) return d.error(p, l, "a team name must not be empty");
         auto [pos, fresh] = names.emplace(*s, l);
         if (!fresh) return d.error(p, l, fmt::format("duplicate team name '{}' (first defined on line {})", *s, pos->second));
         t.name = *s;
       }},
      {"budget", [&](NodeRef v, PathRef p, int l) { t.budget = decode_budget(d, v, p, l); }},
  });
  if (is_map && !has_name) d.error(path, line, "missing 'name'");
  if (d.error_count() == before) st.cfg.teams.push_back(std::move(t));
}

void decode_price(LoadState& st, const std::string& target, NodeRef node, PathRef path, int line) {
  Decoder& d = st.dec;
  size_t slash = target.find('/');
  if (target != "default" &&
      (slash == std::string::npos || slash == 0 || slash + 1 == target.size())) {
    return d.error(path, line,
                   fmt::format("pricing keys are 'provider/model', 'provider/*' or 'default', got '{}'",
                               target));
  }
  PriceConfig price;
  auto field = [&d](std::optional<double>& out) {
    return [&d, &out](NodeRef v, PathRef p, int l) { out = d.number_value(v, p, l, 0); };
  };
  const size_t before = d.error_count();
  d.walk_map(node, path, line_of(node, line), {
      {"input", field(price.input)},
      {"output", field(price.output)},
      {"cached_input", field(price.cached_input)},
      {"cache_write", field(price.cache_write)},
      {"reasoning", field(price.reasoning)},
      {"image", [&](NodeRef v, PathRef p, int l) {
         if (!v.IsMap()) {
           price.image = d.number_value(v, p, l, 0);
           return;
         }
         d.each_entry(v, p, l, [&](const std::string& variant, NodeRef pv, PathRef pp, int pl) {
           if (auto usd = d.number_value(pv, pp, pl, 0)) {
             if (variant == "default") price.image = usd;
             else price.image_by[variant] = *usd;
           }
         });
       }},
      {"audio_minute", field(price.audio_minute)},
      {"characters", field(price.characters)},
      {"search_unit", field(price.search_unit)},
  });
  if (d.error_count() == before) st.cfg.pricing[target] = price;
}

}  // namespace

void decode_keys(LoadState& st, NodeRef node, PathRef path, int line) {
  st.dec.each_item(node, path, line, [&](NodeRef item, PathRef p, int l) { decode_key(st, item, p, l); });
}

void decode_teams(LoadState& st, NodeRef node, PathRef path, int line) {
  std::map<std::string, int> names;
  st.dec.each_item(node, path, line, [&](NodeRef item, PathRef p, int l) { decode_team(st, item, p, l, names); });
}

void decode_pricing(LoadState& st, NodeRef node, PathRef path, int line) {
  st.dec.each_entry(node, path, line, [&](const std::string& target, NodeRef v, PathRef p, int l) {
    decode_price(st, target, v, p, l);
  });
}

// Skips keys whose secret expanded to empty, then checks prefix and uniqueness.
void resolve_keys(LoadState& st) {
  Decoder& d = st.dec;
  std::map<std::string, int> names, secrets;
  for (RawKeyConfig& rk : st.keys) {
    if (rk.broken) continue;
    KeyConfig& k = rk.out;
    const Where& kw = rk.key_where;
    if (k.key.empty()) {
      std::string why = rk.key_unset.empty() ? "key is empty" : vars_phrase(rk.key_unset) + " not set";
      d.warn(kw.line, fmt::format("{} ({}): {}; key skipped", rk.where.path, k.name, why));
      continue;
    }
    if (!k.key.starts_with("sk-")) {
      d.error(kw.path, kw.line, "a virtual key must start with 'sk-'");
      continue;
    }
    if (!st.cfg.server.master_key.empty() && k.key == st.cfg.server.master_key) {
      d.error(kw.path, kw.line, "must differ from server.master_key");
      continue;
    }
    if (auto [pos, fresh] = names.emplace(k.name, rk.where.line); !fresh) {
      d.error(rk.where.path + ".name", rk.where.line,
              fmt::format("duplicate key name '{}' (first defined on line {})", k.name, pos->second));
      continue;
    }
    if (auto [pos, fresh] = secrets.emplace(k.key, kw.line); !fresh) {
      d.error(kw.path, kw.line, fmt::format("the same key is already declared on line {}", pos->second));
      continue;
    }
    st.cfg.keys.push_back(std::move(k));
  }
}

}  // namespace tg::config::detail
