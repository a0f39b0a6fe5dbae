// models: decoding (phase 1) and target resolution against the providers (phase 2).

#include "internal.hpp"

#include <fmt/format.h>

#include <map>

namespace tg::config::detail {
namespace {

// "provider/model", split at the first '/': the model id may contain more (openrouter ids).
std::optional<Target> parse_target(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size()) return std::nullopt;
  return Target{std::string(s.substr(0, slash)), std::string(s.substr(slash + 1)), 1};
}

void decode_target(Decoder& d, NodeRef v, PathRef p, int l, std::vector<RawTarget>& out) {
  RawTarget t;
  t.where = {p, l};
  std::optional<std::string> text;
  uint32_t weight = 1;
  if (v.IsMap()) {
    const size_t before = d.error_count();
    bool has_target = false;
    d.walk_map(v, p, l, {
        {"target", [&](NodeRef tv, PathRef tp, int tl) {
           has_target = true;
           text = d.string_value(tv, tp, tl);
           if (!text && tv.IsNull()) d.error(tp, tl, "expected 'provider/model', got nothing");
         }},
        {"weight", [&](NodeRef wv, PathRef wp, int wl) {
           if (auto w = d.int_value(wv, wp, wl, 1, 1'000'000)) weight = static_cast<uint32_t>(*w);
         }},
    });
    if (!has_target) d.error(p, l, "missing 'target' (\"provider/model\")");
    if (d.error_count() > before) return;
  } else if (v.IsNull()) {
    return d.error(p, l, "expected 'provider/model', got nothing");
  } else {
    auto s = d.scalar(v, p, l, "'provider/model' or {target, weight}");
    if (!s) return;
    text = std::move(s->text);
  }
  auto target = parse_target(*text);
  if (!target) return d.error(p, l, fmt::format("expected 'provider/model', got '{}'", *text));
  t.target = std::move(*target);
  t.target.weight = weight;
  out.push_back(std::move(t));
}

// A list of targets; a single "provider/model" string is accepted as a one-item list.
void decode_targets(Decoder& d, NodeRef v, PathRef p, int l, std::vector<RawTarget>& out) {
  if (v.IsScalar()) return decode_target(d, v, p, l, out);
  d.each_item(v, p, l, [&](NodeRef item, PathRef ip, int il) { decode_target(d, item, ip, il, out); });
}

void decode_model(LoadState& st, NodeRef node, PathRef path, int line,
                  std::map<std::string, int>& names) {
  Decoder& d = st.dec;
  RawModel rm;
  rm.where = {path, line};
  rm.out.line = line;
  const size_t before = d.error_count();
  bool has_name = false, has_targets = false;
  auto list = [&](std::vector<RawTarget>& out, bool* seen) {
    return [&d, &out, seen](NodeRef v, PathRef p, int l) {
      if (seen) *seen = true;
      decode_targets(d, v, p, l, out);
    };
  };
  bool is_map = d.walk_map(node, path, line, {
      {"name", [&](NodeRef v, PathRef p, int l) {
         has_name = true;
         auto name = d.string_value(v, p, l);
         if (!name || name->empty()) return d.error(p, l, "a model name must not be empty");
         auto [pos, fresh] = names.emplace(*name, l);
         if (!fresh) return d.error(p, l, fmt::format("duplicate model name '{}' (first defined on line {})", *name, pos->second));
         rm.out.name = *name;
       }},
      {"strategy", [&](NodeRef v, PathRef p, int l) {
         if (auto s = d.enum_value(v, p, l, {"failover", "weighted", "least-latency", "least-busy"})) rm.out.strategy = *s;
       }},
      {"targets", list(rm.targets, &has_targets)},
      {"fallbacks", list(rm.fallbacks, nullptr)},
      {"context_window_fallbacks", list(rm.cw_fallbacks, nullptr)},
      {"strict", [&](NodeRef v, PathRef p, int l) {
         if (auto b = d.bool_value(v, p, l)) rm.out.strict = *b;
       }},
  });
  if (is_map && !has_name) d.error(path, line, "missing 'name'");
  if (is_map && !has_targets) d.error(path, line, "missing 'targets'");
  if (has_targets && rm.targets.empty() && d.error_count() == before) {
    d.error(path + ".targets", line, "needs at least one target");
  }
  rm.broken = d.error_count() > before;
  st.models.push_back(std::move(rm));
}

// Keeps targets whose provider is usable; drops (with a warning) those whose provider was
// skipped; a provider that does not exist at all is an error.
std::vector<Target> resolve_targets(LoadState& st, const std::vector<RawTarget>& raw, bool& failed) {
  std::vector<std::string_view> declared(st.declared_providers.begin(), st.declared_providers.end());
  std::vector<Target> out;
  for (const RawTarget& rt : raw) {
    const std::string& provider = rt.target.provider;
    if (st.cfg.find_provider(provider)) {
      out.push_back(rt.target);
    } else if (st.skipped_providers.contains(provider)) {
      st.dec.warn(rt.where.line, fmt::format("{}: provider '{}' was skipped; target {}/{} dropped",
                                             rt.where.path, provider, provider, rt.target.model));
    } else if (st.declared_providers.contains(provider)) {
      failed = true;  // the provider itself has errors, already reported
    } else {
      failed = true;
      st.dec.error(rt.where.path, rt.where.line,
                   fmt::format("unknown provider '{}'{}", provider, did_you_mean(provider, declared)));
    }
  }
  return out;
}

void resolve_model(LoadState& st, RawModel& rm) {
  ModelConfig& m = rm.out;
  bool failed = false;
  m.targets = resolve_targets(st, rm.targets, failed);
  m.fallbacks = resolve_targets(st, rm.fallbacks, failed);
  m.context_window_fallbacks = resolve_targets(st, rm.cw_fallbacks, failed);
  if (failed || !m.targets.empty()) {
    if (!failed) st.cfg.models.push_back(std::move(m));
    return;
  }
  // On the line of the last target, so it sorts after the "target dropped" warnings.
  const int line = rm.targets.empty() ? rm.where.line : rm.targets.back().where.line;
  if (m.fallbacks.empty()) {
    st.dec.warn(line, fmt::format("{} ({}): no usable targets left; model skipped", rm.where.path, m.name));
    return;
  }
  // Every primary target is gone but fallbacks remain: they become the targets.
  st.dec.warn(line, fmt::format("{} ({}): no usable targets left; using its fallbacks", rm.where.path, m.name));
  m.targets = std::move(m.fallbacks);
  m.fallbacks.clear();
  st.cfg.models.push_back(std::move(m));
}

}  // namespace

void decode_models(LoadState& st, NodeRef node, PathRef path, int line) {
  std::map<std::string, int> names;  // name -> line, for duplicates
  st.dec.each_item(node, path, line, [&](NodeRef item, PathRef p, int l) {
    decode_model(st, item, p, l, names);
  });
}

void resolve_models(LoadState& st) {
  for (RawModel& rm : st.models) {
    if (!rm.broken) resolve_model(st, rm);
  }
}

}  // namespace tg::config::detail
