#include "tollgate/admin/governance_state.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "../config/internal.hpp"
#include "tollgate/governance/money.hpp"

namespace tg::admin {

using json = nlohmann::json;
using governance::KeyRecord;
using governance::Nanos;
using governance::nanos_to_usd;
using SysClock = std::chrono::system_clock;

namespace {

std::optional<config::BudgetPeriod> parse_period(std::string_view s) {
  if (s == "daily") return config::BudgetPeriod::Daily;
  if (s == "weekly") return config::BudgetPeriod::Weekly;
  if (s == "monthly") return config::BudgetPeriod::Monthly;
  if (s == "total") return config::BudgetPeriod::Total;
  return std::nullopt;
}

json limits_json(const config::LimitsConfig& l) {
  json j = json::object();
  j["rpm"] = l.rpm ? json(*l.rpm) : json();
  j["tpm"] = l.tpm ? json(*l.tpm) : json();
  j["parallel"] = l.parallel ? json(*l.parallel) : json();
  return j;
}

std::string iso(std::chrono::sys_seconds t) { return governance::iso8601_utc(t); }

// Bounds on what the admin API accepts (a typo or a stray digit must not make a key unlimited or
// overflow the nUSD arithmetic: $1e9 is well inside int64 nUSD's $9.2e9).
constexpr double kMaxBudgetUsd = 1e9;
constexpr int64_t kMaxRate = 1'000'000'000;   // rpm, tpm
constexpr int64_t kMaxParallel = 1'000'000;
constexpr size_t kMaxName = 128;              // name, team, metadata keys
constexpr size_t kMaxModelName = 256;
constexpr size_t kMaxModels = 1000;
constexpr size_t kMaxMetadata = 64;
constexpr size_t kMaxMetadataValue = 1024;
constexpr int64_t kMinTime = 946'684'800;     // 2000-01-01
constexpr int64_t kMaxTime = 253'402'300'799;  // 9999-12-31T23:59:59Z

// A refused field: the message and the field's path (the error's `param`).
struct FieldError {
  std::string message;
  std::string param;
  std::string code = "invalid_value";
  bool ok() const { return message.empty(); }
};

// A client's field name, short and printable, for an error message.
std::string shown(std::string_view k) {
  std::string out;
  for (unsigned char c : k.substr(0, 64)) out += (c < 0x20 || c == 0x7f) ? '?' : char(c);
  return k.size() > 64 ? out + "..." : out;
}

// Every member of `obj` must be one of `allowed`: a typo such as budget_usd must not be ignored.
FieldError only_known(const json& obj, const std::vector<std::string_view>& allowed,
                      std::string_view where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& k = it.key();
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    std::string path = where.empty() ? shown(k) : fmt::format("{}.{}", where, shown(k));
    return {fmt::format("unknown field '{}'{}; known fields: {}", path,
                        config::detail::did_you_mean(k, allowed),
                        config::detail::join(allowed, ", ")),
            path, "unknown_field"};
  }
  return {};
}

bool bad_text(const std::string& s, size_t max) {
  if (s.size() > max) return true;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// "2026-12-31", "2026-12-31T12:00:00Z" or unix seconds -> time point, between 2000 and 9999.
std::optional<std::chrono::sys_seconds> parse_time(const json& v) {
  std::optional<std::chrono::sys_seconds> t;
  if (v.is_number_integer()) {
    t = std::chrono::sys_seconds(std::chrono::seconds(v.get<int64_t>()));
  } else if (v.is_string()) {
    t = config::detail::parse_timestamp(v.get_ref<const std::string&>());
  }
  if (!t) return std::nullopt;
  auto secs = t->time_since_epoch().count();
  if (secs < kMinTime || secs > kMaxTime) return std::nullopt;
  return t;
}

// Reads the shapes of `keys:` in config.yaml from a JSON body; an empty message on success.
FieldError read_spec(const json& b, governance::KeySpec& spec, bool partial) {
  if (!b.is_object()) return {"the body must be a JSON object", ""};
  if (auto e = only_known(b, {"name", "team", "models", "budget", "limits", "expires_at",
                              "metadata", "enabled"}, "");
      !e.ok()) {
    return e;
  }
  if (b.contains("name")) {
    if (!b["name"].is_string() || b["name"].get<std::string>().empty() ||
        bad_text(b["name"].get<std::string>(), kMaxName)) {
      return {fmt::format("name must be a non-empty string of at most {} printable bytes", kMaxName), "name"};
    }
    spec.name = b["name"];
  } else if (!partial) {
    return {"name is required", "name"};
  }
  if (b.contains("team")) {
    if (b["team"].is_null()) spec.team.clear();
    else if (b["team"].is_string() && !bad_text(b["team"].get<std::string>(), kMaxName)) spec.team = b["team"];
    else return {fmt::format("team must be a string of at most {} printable bytes", kMaxName), "team"};
  }
  if (b.contains("models")) {
    const auto& ms = b["models"];
    if (!ms.is_array() || ms.size() > kMaxModels) {
      return {fmt::format("models must be an array of at most {} model names", kMaxModels), "models"};
    }
    spec.models.clear();
    for (const auto& m : ms) {
      if (!m.is_string() || m.get<std::string>().empty() || bad_text(m.get<std::string>(), kMaxModelName)) {
        return {fmt::format("models must be an array of model names (each at most {} printable bytes)",
                            kMaxModelName),
                "models"};
      }
      spec.models.push_back(m);
    }
  }
  if (b.contains("budget")) {
    const auto& bu = b["budget"];
    if (bu.is_null()) {
      spec.budget.reset();
    } else {
      const std::string shape = fmt::format(
          "budget must be {{usd: number from 0 to {:.0f}, period: daily|weekly|monthly|total}}",
          kMaxBudgetUsd);
      if (!bu.is_object()) return {shape, "budget"};
      if (auto e = only_known(bu, {"usd", "period"}, "budget"); !e.ok()) return e;
      if (!bu.contains("usd") || !bu["usd"].is_number()) return {shape, "budget.usd"};
      double usd = bu["usd"].get<double>();
      if (!std::isfinite(usd) || usd < 0 || usd > kMaxBudgetUsd) return {shape, "budget.usd"};
      config::BudgetConfig bc;
      bc.usd = usd;
      if (bu.contains("period")) {
        auto p = bu["period"].is_string() ? parse_period(bu["period"].get<std::string>()) : std::nullopt;
        if (!p) return {"budget.period must be one of daily, weekly, monthly, total", "budget.period"};
        bc.period = *p;
      }
      spec.budget = bc;
    }
  }
  if (b.contains("limits")) {
    const auto& l = b["limits"];
    if (l.is_null()) {
      spec.limits = {};
    } else {
      if (!l.is_object()) return {"limits must be {rpm, tpm, parallel}", "limits"};
      if (auto e = only_known(l, {"rpm", "tpm", "parallel"}, "limits"); !e.ok()) return e;
      auto get = [&](const char* k, int64_t max, std::optional<uint64_t>& out) -> FieldError {
        if (!l.contains(k) || l[k].is_null()) {
          out.reset();
          return {};
        }
        const auto& v = l[k];
        bool ok = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(max)
                                         : v.is_number_integer() && v.get<int64_t>() >= 0 &&
                                               v.get<int64_t>() <= max;
        if (!ok) return {fmt::format("limits.{} must be an integer from 0 to {}", k, max), fmt::format("limits.{}", k)};
        out = v.get<uint64_t>();
        return {};
      };
      std::optional<uint64_t> rpm, tpm, parallel;
      if (auto e = get("rpm", kMaxRate, rpm); !e.ok()) return e;
      if (auto e = get("tpm", kMaxRate, tpm); !e.ok()) return e;
      if (auto e = get("parallel", kMaxParallel, parallel); !e.ok()) return e;
      spec.limits.rpm = rpm;
      spec.limits.tpm = tpm;
      if (parallel) spec.limits.parallel = static_cast<uint32_t>(*parallel);
      else spec.limits.parallel.reset();
    }
  }
  if (b.contains("expires_at")) {
    if (b["expires_at"].is_null()) {
      spec.expires_at.reset();
    } else {
      auto t = parse_time(b["expires_at"]);
      if (!t) {
        return {"expires_at must be an ISO-8601 date (2026-12-31 or 2026-12-31T00:00:00Z) or unix "
                "seconds, between 2000 and 9999",
                "expires_at"};
      }
      spec.expires_at = *t;
    }
  }
  if (b.contains("metadata")) {
    const auto& md = b["metadata"];
    if (md.is_null()) {
      spec.metadata.clear();
    } else {
      if (!md.is_object() || md.size() > kMaxMetadata) {
        return {fmt::format("metadata must be an object of at most {} strings", kMaxMetadata), "metadata"};
      }
      spec.metadata.clear();
      for (auto& [k, v] : md.items()) {
        std::string value = v.is_string() ? v.get<std::string>() : v.dump();
        if (k.empty() || bad_text(k, kMaxName) || value.size() > kMaxMetadataValue) {
          return {fmt::format("metadata keys must be 1 to {} printable bytes and values at most {} bytes",
                              kMaxName, kMaxMetadataValue),
                  "metadata"};
        }
        spec.metadata[k] = std::move(value);
      }
    }
  }
  if (b.contains("enabled")) {
    if (!b["enabled"].is_boolean()) return {"enabled must be a boolean", "enabled"};
    spec.enabled = b["enabled"];
  }
  return {};
}

governance::KeySpec spec_of(const KeyRecord& r) {
  governance::KeySpec s;
  s.name = r.name;
  s.team = r.team;
  s.models = r.models;
  s.budget = r.budget;
  s.limits = r.limits;
  s.expires_at = r.expires_at;
  s.metadata = r.metadata;
  s.enabled = r.enabled;
  return s;
}

void apply_spec(KeyRecord& r, const governance::KeySpec& s) {
  r.name = s.name;
  r.team = s.team;
  r.models = s.models;
  r.budget = s.budget;
  r.limits = s.limits;
  r.expires_at = s.expires_at;
  r.metadata = s.metadata;
  r.enabled = s.enabled;
}

AdminResponse error(int status, std::string message, std::string code = "",
                    std::string type = "invalid_request_error", std::string param = "") {
  AdminResponse r;
  r.status = status;
  r.body = {{"error",
             {{"message", std::move(message)},
              {"type", std::move(type)},
              {"param", param.empty() ? json() : json(param)},
              {"code", code.empty() ? json() : json(code)}}}};
  return r;
}

AdminResponse bad_field(const FieldError& e) {
  return error(400, e.message, e.code, "invalid_request_error", e.param);
}

Team team_from_row(const store::TeamRow& row) {
  Team t;
  t.id = row.id;
  if (row.record.contains("budget") && row.record["budget"].is_object()) {
    config::BudgetConfig b;
    b.usd = row.record["budget"].value("usd", 0.0);
    b.period = parse_period(row.record["budget"].value("period", "monthly")).value_or(config::BudgetPeriod::Monthly);
    t.budget = b;
  }
  t.created_at = std::chrono::sys_seconds(std::chrono::seconds(row.record.value("created_at", int64_t{0})));
  return t;
}

}  // namespace

json stored_key_json(const KeyRecord& r) {
  json j = {{"id", r.id},
            {"name", r.name},
            {"team", r.team},
            {"key_hash", r.key_hash},
            {"key_hint", r.key_hint},
            {"models", r.models},
            {"limits", limits_json(r.limits)},
            {"enabled", r.enabled},
            {"expires_at", r.expires_at ? json(r.expires_at->time_since_epoch().count()) : json()},
            {"created_at", r.created_at.time_since_epoch().count()},
            {"metadata", r.metadata},
            {"source", governance::to_string(r.source)}};
  if (r.budget) {
    j["budget"] = {{"usd", r.budget->usd}, {"period", config::to_string(r.budget->period)}};
  }
  return j;
}

std::optional<KeyRecord> key_from_stored_json(const json& j) {
  if (!j.is_object() || !j.contains("id") || !j.contains("key_hash")) return std::nullopt;
  KeyRecord r;
  r.id = j.value("id", "");
  r.key_hash = j.value("key_hash", "");
  r.key_hint = j.value("key_hint", "");
  r.source = governance::KeySource::Admin;
  r.created_at = std::chrono::sys_seconds(std::chrono::seconds(j.value("created_at", int64_t{0})));
  governance::KeySpec spec;
  json body = j;
  body.erase("id");
  body.erase("key_hash");
  body.erase("key_hint");
  body.erase("created_at");
  body.erase("source");
  if (!read_spec(body, spec, false).ok()) return std::nullopt;
  apply_spec(r, spec);
  return r;
}

void GovernanceState::set_key_budget(const KeyRecord& r) {
  auto holder = governance::key_holder(r.id);
  if (r.budget) ledger.set_budget(holder, governance::budget_spec(*r.budget, "key '" + r.name + "'"));
  else ledger.remove_budget(holder);
}

void GovernanceState::set_team_budget(const Team& t) {
  auto holder = governance::team_holder(t.id);
  if (t.budget) ledger.set_budget(holder, governance::budget_spec(*t.budget, "team '" + t.id + "'"));
  else ledger.remove_budget(holder);
}

std::vector<std::string> GovernanceState::load(const store::LoadedState& stored,
                                               const config::Config& config) {
  std::vector<std::string> warnings;
  std::vector<KeyRecord> admin_keys;
  for (const auto& row : stored.keys) {
    auto r = key_from_stored_json(row.record);
    if (!r) {
      warnings.push_back(fmt::format("store: key {} has an unreadable record; skipped", row.id));
      continue;
    }
    admin_keys.push_back(std::move(*r));
  }
  size_t refused = keys.load(std::move(admin_keys));
  if (refused) warnings.push_back(fmt::format("store: {} key(s) clash with others; skipped", refused));
  for (const auto& row : stored.teams) put_team(team_from_row(row));
  auto w = apply_config(config);
  warnings.insert(warnings.end(), w.begin(), w.end());
  for (const auto& d : stored.spend) {
    ledger.load(d.holder, d.nano_usd, std::chrono::sys_seconds(std::chrono::seconds(d.period_start)));
  }
  {
    std::lock_guard lock(mu_);
    // Only the live keys' and teams' lifetime spend: the table keeps deleted ones' for the books.
    for (const auto& [holder, nanos] : stored.spend_total) {
      if (live_locked(holder)) totals_[holder] = nanos;
    }
  }
  return warnings;
}

void GovernanceState::apply_change(const store::StoreChange& ch) {
  if (ch.kind == store::StoreChange::Kind::Key) {
    auto current = keys.snapshot()->get(ch.id);
    if (current && current->source == governance::KeySource::Config) return;  // the file's
    std::optional<KeyRecord> rec;
    if (ch.key && !ch.key->revoked) rec = key_from_stored_json(ch.key->record);
    if (!rec) {  // deleted (or unreadable): refused from now on, as a DELETE here does
      if (current) forget_key(ch.id);
      return;
    }
    if (keys.upsert(*rec)) set_key_budget(*rec);
    return;
  }
  auto current = team(ch.id);
  if (current && current->source == governance::KeySource::Config) return;
  if (ch.team) put_team(team_from_row(*ch.team));
  else if (current) remove_team(ch.id);
}

std::vector<std::string> GovernanceState::apply_config(const config::Config& config) {
  auto now = std::chrono::time_point_cast<std::chrono::seconds>(SysClock::now());
  auto warnings = keys.set_config_keys(config.keys, now);
  {
    std::lock_guard lock(mu_);
    for (auto it = teams_.begin(); it != teams_.end();) {
      it = it->second.source == governance::KeySource::Config ? teams_.erase(it) : std::next(it);
    }
  }
  for (const auto& tc : config.teams) {
    Team t;
    t.id = tc.name;
    t.budget = tc.budget;
    t.source = governance::KeySource::Config;
    put_team(t);
  }
  for (const auto& r : keys.snapshot()->all()) set_key_budget(*r);
  return warnings;
}

void GovernanceState::add_total(const std::vector<governance::SpendDelta>& deltas) {
  std::lock_guard lock(mu_);
  for (const auto& d : deltas) {
    if (auto it = totals_.find(d.holder); it != totals_.end()) {
      it->second += d.nano_usd;
    } else if (live_locked(d.holder)) {  // its first spend; not a request that outlived its key
      totals_.emplace(d.holder, d.nano_usd);
    }
  }
}

bool GovernanceState::live_locked(std::string_view holder) const {
  if (holder.starts_with("key:")) return keys.snapshot()->get(holder.substr(4)) != nullptr;
  return holder.starts_with("team:") && teams_.contains(std::string(holder.substr(5)));
}

Nanos GovernanceState::total(std::string_view holder) const {
  std::lock_guard lock(mu_);
  auto it = totals_.find(std::string(holder));
  return it == totals_.end() ? 0 : it->second;
}

std::optional<Team> GovernanceState::team(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = teams_.find(std::string(id));
  if (it == teams_.end()) return std::nullopt;
  return it->second;
}

std::vector<Team> GovernanceState::teams() const {
  std::lock_guard lock(mu_);
  std::vector<Team> out;
  for (const auto& [id, t] : teams_) out.push_back(t);
  return out;
}

void GovernanceState::put_team(Team t) {
  set_team_budget(t);
  std::lock_guard lock(mu_);
  teams_[t.id] = std::move(t);
}

bool GovernanceState::remove_team(std::string_view id) {
  const std::string holder = governance::team_holder(id);
  ledger.remove_budget(holder);
  std::lock_guard lock(mu_);
  totals_.erase(holder);
  return teams_.erase(std::string(id)) > 0;
}

void GovernanceState::forget_key(std::string_view id) {
  keys.remove(id);
  limiter.forget(id);
  // A request still in flight settles without the budget (its spend still reaches the store).
  const std::string holder = governance::key_holder(id);
  ledger.remove_budget(holder);
  std::lock_guard lock(mu_);
  totals_.erase(holder);
}

json GovernanceState::key_json(const KeyRecord& r) const {
  json j = stored_key_json(r);
  j.erase("key_hash");
  j["team"] = r.team.empty() ? json() : json(r.team);
  j["expires_at"] = r.expires_at ? json(iso(*r.expires_at)) : json();
  j["created_at"] = iso(r.created_at);
  const Nanos spent_all = total(governance::key_holder(r.id));
  j["spend_usd"] = nanos_to_usd(spent_all);
  j["spend_nano_usd"] = spent_all;  // exact
  if (r.budget) {
    auto s = ledger.spend(governance::key_holder(r.id));
    j["budget"] = {{"usd", r.budget->usd},
                   {"limit_nano_usd", governance::usd_to_nanos(r.budget->usd)},
                   {"period", config::to_string(r.budget->period)},
                   {"spend_usd", s ? nanos_to_usd(s->spent) : 0.0},
                   {"spend_nano_usd", s ? s->spent : Nanos{0}},
                   {"resets_at", s && s->resets_at ? json(iso(*s->resets_at)) : json()}};
  } else {
    j["budget"] = nullptr;
  }
  return j;
}

json GovernanceState::team_json(const Team& t) const {
  json j = {{"id", t.id},
            {"name", t.id},
            {"source", governance::to_string(t.source)},
            {"spend_usd", nanos_to_usd(total(governance::team_holder(t.id)))},
            {"spend_nano_usd", total(governance::team_holder(t.id))}};
  if (t.budget) {
    auto s = ledger.spend(governance::team_holder(t.id));
    j["budget"] = {{"usd", t.budget->usd},
                   {"limit_nano_usd", governance::usd_to_nanos(t.budget->usd)},
                   {"period", config::to_string(t.budget->period)},
                   {"spend_usd", s ? nanos_to_usd(s->spent) : 0.0},
                   {"spend_nano_usd", s ? s->spent : Nanos{0}},
                   {"resets_at", s && s->resets_at ? json(iso(*s->resets_at)) : json()}};
  } else {
    j["budget"] = nullptr;
  }
  return j;
}

std::optional<double> GovernanceState::budget_remaining_usd(const KeyRecord& r) const {
  if (!r.budget) return std::nullopt;
  auto s = ledger.spend(governance::key_holder(r.id));
  if (!s) return std::nullopt;
  return nanos_to_usd(std::max<Nanos>(0, s->limit - s->spent));
}

std::vector<std::pair<std::string, double>> GovernanceState::budgets_remaining() const {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& r : keys.snapshot()->all()) {
    if (auto left = budget_remaining_usd(*r)) out.emplace_back(r->name, *left);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

namespace {

// Reads answer at once; a write returns the store rows to save and a `commit` that publishes the
// change to memory, which the caller runs only once the store has confirmed the rows (a failed
// write must leave no live key, a revocation must survive a restart).
AdminResponse keys_api(GovernanceState& st, std::string_view method, std::string_view id,
                       std::string_view body, SysClock::time_point now) {
  auto snap = st.keys.snapshot();
  auto row_of = [](const KeyRecord& rec, bool revoked) {
    return store::KeyRow{rec.id, rec.key_hash, stored_key_json(rec), revoked};
  };
  if (id.empty()) {
    if (method == "GET") {
      json data = json::array();
      for (const auto& r : snap->all()) data.push_back(st.key_json(*r));
      return AdminResponse{200, {{"object", "list"}, {"data", data}}};
    }
    if (method != "POST") return error(405, "use GET or POST on /admin/keys", "method_not_allowed");
    json b = json::parse(body, nullptr, false);
    governance::KeySpec spec;
    if (b.is_discarded()) return error(400, "the body is not valid JSON");
    if (auto e = read_spec(b, spec, false); !e.ok()) return bad_field(e);
    auto made = governance::create_key(spec, std::chrono::time_point_cast<std::chrono::seconds>(now));
    AdminResponse r;
    r.save_keys.push_back(row_of(made.record, false));
    r.commit = [rec = made.record, plaintext = made.plaintext](GovernanceState& st) -> AdminResponse {
      if (!st.keys.upsert(rec)) return error(409, "key collision; try again", "conflict");
      if (rec.budget) {
        st.ledger.set_budget(governance::key_holder(rec.id),
                             governance::budget_spec(*rec.budget, "key '" + rec.name + "'"));
      }
      AdminResponse done{200, st.key_json(rec)};
      done.body["key"] = plaintext;  // shown once; only its hash is kept
      return done;
    };
    return r;
  }
  auto rec = snap->get(id);
  if (!rec) return error(404, fmt::format("no key with id '{}'", id), "not_found");
  if (method == "GET") return AdminResponse{200, st.key_json(*rec)};
  if (rec->source == governance::KeySource::Config) {
    return error(409,
                 fmt::format("key '{}' is declared in config.yaml: change it there (the file is "
                             "watched and reloaded)",
                             rec->name),
                 "declared_in_config");
  }
  if (method == "PATCH") {
    json b = json::parse(body, nullptr, false);
    if (b.is_discarded()) return error(400, "the body is not valid JSON");
    governance::KeySpec spec = spec_of(*rec);
    if (auto e = read_spec(b, spec, true); !e.ok()) return bad_field(e);
    KeyRecord next = *rec;
    apply_spec(next, spec);
    AdminResponse r;
    r.save_keys.push_back(row_of(next, false));
    r.commit = [id = std::string(id), spec](GovernanceState& st) -> AdminResponse {
      auto updated = st.keys.update(id, [&](KeyRecord& k) { apply_spec(k, spec); });
      if (!updated) return error(404, fmt::format("no key with id '{}'", id), "not_found");
      if (updated->budget) {
        st.ledger.set_budget(governance::key_holder(updated->id),
                             governance::budget_spec(*updated->budget, "key '" + updated->name + "'"));
      } else {
        st.ledger.remove_budget(governance::key_holder(updated->id));
      }
      return AdminResponse{200, st.key_json(*updated)};
    };
    return r;
  }
  if (method == "DELETE") {
    AdminResponse r;
    r.save_keys.push_back(row_of(*rec, true));
    r.commit = [id = std::string(id)](GovernanceState& st) -> AdminResponse {
      st.forget_key(id);
      return AdminResponse{200, {{"id", id}, {"deleted", true}}};
    };
    return r;
  }
  return error(405, "use GET, PATCH or DELETE on /admin/keys/{id}", "method_not_allowed");
}

AdminResponse teams_api(GovernanceState& st, std::string_view method, std::string_view id,
                        std::string_view body, SysClock::time_point now) {
  auto read_team = [](const json& b, Team& t) -> FieldError {
    if (!b.is_object()) return {"the body must be a JSON object", ""};
    if (auto e = only_known(b, {"name", "budget"}, ""); !e.ok()) return e;
    if (b.contains("budget")) {
      if (b["budget"].is_null()) {
        t.budget.reset();
      } else {
        governance::KeySpec spec;
        auto e = read_spec(json{{"name", "x"}, {"budget", b["budget"]}}, spec, false);
        if (!e.ok()) return e;
        t.budget = spec.budget;
      }
    }
    return {};
  };
  auto row_of = [](const Team& t) {
    json rec = {{"name", t.id}, {"created_at", t.created_at.time_since_epoch().count()}};
    if (t.budget) rec["budget"] = {{"usd", t.budget->usd}, {"period", config::to_string(t.budget->period)}};
    return store::TeamRow{t.id, rec};
  };
  auto put = [](Team t) {
    return [t = std::move(t)](GovernanceState& st) -> AdminResponse {
      st.put_team(t);
      return AdminResponse{200, st.team_json(t)};
    };
  };
  if (id.empty()) {
    if (method == "GET") {
      json data = json::array();
      for (const auto& t : st.teams()) data.push_back(st.team_json(t));
      return AdminResponse{200, {{"object", "list"}, {"data", data}}};
    }
    if (method != "POST") return error(405, "use GET or POST on /admin/teams", "method_not_allowed");
    json b = json::parse(body, nullptr, false);
    if (b.is_discarded() || !b.is_object()) return error(400, "the body is not a JSON object");
    if (!b.contains("name") || !b["name"].is_string() || b["name"].get<std::string>().empty() ||
        bad_text(b["name"].get<std::string>(), kMaxName)) {
      return error(400, fmt::format("name is required: a string of at most {} printable bytes", kMaxName),
                   "invalid_value", "invalid_request_error", "name");
    }
    Team t;
    t.id = b["name"];
    t.created_at = std::chrono::time_point_cast<std::chrono::seconds>(now);
    if (st.team(t.id)) return error(409, fmt::format("team '{}' exists", t.id), "conflict");
    if (auto e = read_team(b, t); !e.ok()) return bad_field(e);
    AdminResponse r;
    r.save_teams.push_back(row_of(t));
    r.commit = put(std::move(t));
    return r;
  }
  auto t = st.team(id);
  if (!t) return error(404, fmt::format("no team '{}'", id), "not_found");
  if (method == "GET") return AdminResponse{200, st.team_json(*t)};
  if (t->source == governance::KeySource::Config) {
    return error(409, fmt::format("team '{}' is declared in config.yaml: change it there", id),
                 "declared_in_config");
  }
  if (method == "PATCH") {
    json b = json::parse(body, nullptr, false);
    if (b.is_discarded()) return error(400, "the body is not valid JSON");
    if (auto e = read_team(b, *t); !e.ok()) return bad_field(e);
    if (b.contains("name") && b["name"] != json(t->id)) {
      return error(400, "a team's name is its id and cannot change", "invalid_value",
                   "invalid_request_error", "name");
    }
    AdminResponse r;
    r.save_teams.push_back(row_of(*t));
    r.commit = put(*t);
    return r;
  }
  if (method == "DELETE") {
    AdminResponse r;
    r.delete_teams.push_back(std::string(id));
    r.commit = [id = std::string(id)](GovernanceState& st) -> AdminResponse {
      st.remove_team(id);
      return AdminResponse{200, {{"id", id}, {"deleted", true}}};
    };
    return r;
  }
  return error(405, "use GET, PATCH or DELETE on /admin/teams/{id}", "method_not_allowed");
}

}  // namespace

AdminResponse admin_api(GovernanceState& state, std::string_view method, std::string_view path,
                        std::string_view body, SysClock::time_point now) {
  for (std::string_view prefix : {"/admin/keys", "/admin/teams"}) {
    if (path.rfind(prefix, 0) != 0) continue;
    std::string_view rest = path.substr(prefix.size());
    if (!rest.empty() && rest.front() != '/') break;
    std::string_view id = rest.empty() ? rest : rest.substr(1);
    return prefix == "/admin/keys" ? keys_api(state, method, id, body, now)
                                   : teams_api(state, method, id, body, now);
  }
  return error(404, fmt::format("Unknown path: {}", path), "not_found");
}

}  // namespace tg::admin
