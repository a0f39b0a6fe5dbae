#include "tollgate/admin/governance_state.hpp"

#include <fmt/format.h>

#include "tollgate/governance/money.hpp"

namespace tg::admin {

using json = nlohmann::json;
using governance::KeyRecord;
using governance::Micros;
using SysClock = std::chrono::system_clock;

namespace {

double micros_to_usd(Micros m) { return static_cast<double>(m) / 1e6; }

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

// "2026-12-31", "2026-12-31T12:00:00Z" or unix seconds -> time point.
std::optional<std::chrono::sys_seconds> parse_time(const json& v) {
  if (v.is_number_integer()) return std::chrono::sys_seconds(std::chrono::seconds(v.get<int64_t>()));
  if (!v.is_string()) return std::nullopt;
  std::string s = v.get<std::string>();
  std::tm tm{};
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec) < 3) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return std::chrono::sys_seconds(std::chrono::seconds(timegm(&tm)));
}

// Reads the shapes of `keys:` in config.yaml from a JSON body; "" on success, else the error.
std::string read_spec(const json& b, governance::KeySpec& spec, bool partial) {
  if (!b.is_object()) return "the body must be a JSON object";
  if (b.contains("name")) {
    if (!b["name"].is_string() || b["name"].get<std::string>().empty()) return "name must be a non-empty string";
    spec.name = b["name"];
  } else if (!partial) {
    return "name is required";
  }
  if (b.contains("team")) {
    if (b["team"].is_null()) spec.team.clear();
    else if (b["team"].is_string()) spec.team = b["team"];
    else return "team must be a string";
  }
  if (b.contains("models")) {
    if (!b["models"].is_array()) return "models must be an array of model names";
    spec.models.clear();
    for (const auto& m : b["models"]) {
      if (!m.is_string()) return "models must be an array of model names";
      spec.models.push_back(m);
    }
  }
  if (b.contains("budget")) {
    const auto& bu = b["budget"];
    if (bu.is_null()) {
      spec.budget.reset();
    } else {
      if (!bu.is_object() || !bu.contains("usd") || !bu["usd"].is_number() || bu["usd"].get<double>() < 0) {
        return "budget must be {usd: number >= 0, period: daily|weekly|monthly|total}";
      }
      config::BudgetConfig bc;
      bc.usd = bu["usd"];
      if (bu.contains("period")) {
        auto p = bu["period"].is_string() ? parse_period(bu["period"].get<std::string>()) : std::nullopt;
        if (!p) return "budget.period must be one of daily, weekly, monthly, total";
        bc.period = *p;
      }
      spec.budget = bc;
    }
  }
  if (b.contains("limits")) {
    const auto& l = b["limits"];
    if (!l.is_object()) return "limits must be {rpm, tpm, parallel}";
    for (const char* k : {"rpm", "tpm", "parallel"}) {
      if (!l.contains(k) || l[k].is_null()) continue;
      if (!l[k].is_number_integer() || l[k].get<int64_t>() < 0) {
        return fmt::format("limits.{} must be an integer >= 0", k);
      }
    }
    auto get = [&](const char* k) -> std::optional<uint64_t> {
      if (!l.contains(k) || l[k].is_null()) return std::nullopt;
      return l[k].get<uint64_t>();
    };
    spec.limits.rpm = get("rpm");
    spec.limits.tpm = get("tpm");
    if (auto p = get("parallel")) spec.limits.parallel = static_cast<uint32_t>(*p);
    else spec.limits.parallel.reset();
  }
  if (b.contains("expires_at")) {
    if (b["expires_at"].is_null()) {
      spec.expires_at.reset();
    } else {
      auto t = parse_time(b["expires_at"]);
      if (!t) return "expires_at must be an ISO-8601 date (2026-12-31 or 2026-12-31T00:00:00Z) or unix seconds";
      spec.expires_at = *t;
    }
  }
  if (b.contains("metadata")) {
    if (!b["metadata"].is_object()) return "metadata must be an object of strings";
    spec.metadata.clear();
    for (auto& [k, v] : b["metadata"].items()) spec.metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  if (b.contains("enabled")) {
    if (!b["enabled"].is_boolean()) return "enabled must be a boolean";
    spec.enabled = b["enabled"];
  }
  return "";
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
                    std::string type = "invalid_request_error") {
  AdminResponse r;
  r.status = status;
  r.body = {{"error",
             {{"message", std::move(message)},
              {"type", std::move(type)},
              {"param", nullptr},
              {"code", code.empty() ? json() : json(code)}}}};
  return r;
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
  if (!read_spec(body, spec, false).empty()) return std::nullopt;
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
  for (const auto& row : stored.teams) {
    Team t;
    t.id = row.id;
    if (row.record.contains("budget") && row.record["budget"].is_object()) {
      config::BudgetConfig b;
      b.usd = row.record["budget"].value("usd", 0.0);
      b.period = parse_period(row.record["budget"].value("period", "monthly")).value_or(config::BudgetPeriod::Monthly);
      t.budget = b;
    }
    t.created_at = std::chrono::sys_seconds(std::chrono::seconds(row.record.value("created_at", int64_t{0})));
    put_team(t);
  }
  auto w = apply_config(config);
  warnings.insert(warnings.end(), w.begin(), w.end());
  for (const auto& d : stored.spend) {
    ledger.load(d.holder, d.micro_usd, std::chrono::sys_seconds(std::chrono::seconds(d.period_start)));
  }
  {
    std::lock_guard lock(mu_);
    for (const auto& [holder, micros] : stored.spend_total) totals_[holder] = micros;
  }
  return warnings;
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
  for (const auto& d : deltas) totals_[d.holder] += d.micro_usd;
}

Micros GovernanceState::total(std::string_view holder) const {
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
  ledger.remove_budget(governance::team_holder(id));
  std::lock_guard lock(mu_);
  return teams_.erase(std::string(id)) > 0;
}

json GovernanceState::key_json(const KeyRecord& r) const {
  json j = stored_key_json(r);
  j.erase("key_hash");
  j["team"] = r.team.empty() ? json() : json(r.team);
  j["expires_at"] = r.expires_at ? json(iso(*r.expires_at)) : json();
  j["created_at"] = iso(r.created_at);
  j["spend_usd"] = micros_to_usd(total(governance::key_holder(r.id)));
  if (r.budget) {
    auto s = ledger.spend(governance::key_holder(r.id));
    j["budget"] = {{"usd", r.budget->usd},
                   {"period", config::to_string(r.budget->period)},
                   {"spend_usd", s ? micros_to_usd(s->spent) : 0.0},
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
            {"spend_usd", micros_to_usd(total(governance::team_holder(t.id)))}};
  if (t.budget) {
    auto s = ledger.spend(governance::team_holder(t.id));
    j["budget"] = {{"usd", t.budget->usd},
                   {"period", config::to_string(t.budget->period)},
                   {"spend_usd", s ? micros_to_usd(s->spent) : 0.0},
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
  return micros_to_usd(std::max<Micros>(0, s->limit - s->spent));
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

AdminResponse keys_api(GovernanceState& st, std::string_view method, std::string_view id,
                       std::string_view body, SysClock::time_point now) {
  auto snap = st.keys.snapshot();
  auto persist = [](AdminResponse& r, const KeyRecord& rec, bool revoked) {
    r.save_keys.push_back(store::KeyRow{rec.id, rec.key_hash, stored_key_json(rec), revoked});
  };
  if (id.empty()) {
    if (method == "GET") {
      json data = json::array();
      for (const auto& r : snap->all()) data.push_back(st.key_json(*r));
      return AdminResponse{200, {{"object", "list"}, {"data", data}}, {}, {}, {}};
    }
    if (method != "POST") return error(405, "use GET or POST on /admin/keys", "method_not_allowed");
    json b = json::parse(body, nullptr, false);
    governance::KeySpec spec;
    if (b.is_discarded()) return error(400, "the body is not valid JSON");
    if (auto e = read_spec(b, spec, false); !e.empty()) return error(400, e);
    auto made = governance::create_key(spec, std::chrono::time_point_cast<std::chrono::seconds>(now));
    if (!st.keys.upsert(made.record)) return error(409, "key collision; try again", "conflict");
    if (made.record.budget) {
      st.ledger.set_budget(governance::key_holder(made.record.id),
                           governance::budget_spec(*made.record.budget, "key '" + made.record.name + "'"));
    }
    AdminResponse r{200, st.key_json(made.record), {}, {}, {}};
    r.body["key"] = made.plaintext;  // shown once; only its hash is kept
    persist(r, made.record, false);
    return r;
  }
  auto rec = snap->get(id);
  if (!rec) return error(404, fmt::format("no key with id '{}'", id), "not_found");
  if (method == "GET") return AdminResponse{200, st.key_json(*rec), {}, {}, {}};
  if (rec->source == governance::KeySource::Config && method != "GET") {
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
    if (auto e = read_spec(b, spec, true); !e.empty()) return error(400, e);
    auto updated = st.keys.update(id, [&](KeyRecord& r) { apply_spec(r, spec); });
    if (!updated) return error(404, fmt::format("no key with id '{}'", id), "not_found");
    if (updated->budget) {
      st.ledger.set_budget(governance::key_holder(updated->id),
                           governance::budget_spec(*updated->budget, "key '" + updated->name + "'"));
    } else {
      st.ledger.remove_budget(governance::key_holder(updated->id));
    }
    AdminResponse r{200, st.key_json(*updated), {}, {}, {}};
    persist(r, *updated, false);
    return r;
  }
  if (method == "DELETE") {
    st.keys.remove(id);
    st.limiter.forget(id);
    AdminResponse r{200, {{"id", std::string(id)}, {"deleted", true}}, {}, {}, {}};
    persist(r, *rec, true);
    return r;
  }
  return error(405, "use GET, PATCH or DELETE on /admin/keys/{id}", "method_not_allowed");
}

AdminResponse teams_api(GovernanceState& st, std::string_view method, std::string_view id,
                        std::string_view body, SysClock::time_point now) {
  auto read_team = [](const json& b, Team& t) -> std::string {
    if (!b.is_object()) return "the body must be a JSON object";
    if (b.contains("budget")) {
      if (b["budget"].is_null()) {
        t.budget.reset();
      } else {
        governance::KeySpec spec;
        auto e = read_spec(json{{"name", "x"}, {"budget", b["budget"]}}, spec, false);
        if (!e.empty()) return e;
        t.budget = spec.budget;
      }
    }
    return "";
  };
  auto persist = [&](AdminResponse& r, const Team& t) {
    json rec = {{"name", t.id}, {"created_at", t.created_at.time_since_epoch().count()}};
    if (t.budget) rec["budget"] = {{"usd", t.budget->usd}, {"period", config::to_string(t.budget->period)}};
    r.save_teams.push_back(store::TeamRow{t.id, rec});
  };
  if (id.empty()) {
    if (method == "GET") {
      json data = json::array();
      for (const auto& t : st.teams()) data.push_back(st.team_json(t));
      return AdminResponse{200, {{"object", "list"}, {"data", data}}, {}, {}, {}};
    }
    if (method != "POST") return error(405, "use GET or POST on /admin/teams", "method_not_allowed");
    json b = json::parse(body, nullptr, false);
    if (b.is_discarded() || !b.is_object()) return error(400, "the body is not a JSON object");
    if (!b.contains("name") || !b["name"].is_string() || b["name"].get<std::string>().empty()) {
      return error(400, "name is required");
    }
    Team t;
    t.id = b["name"];
    t.created_at = std::chrono::time_point_cast<std::chrono::seconds>(now);
    if (st.team(t.id)) return error(409, fmt::format("team '{}' exists", t.id), "conflict");
    if (auto e = read_team(b, t); !e.empty()) return error(400, e);
    st.put_team(t);
    AdminResponse r{200, st.team_json(t), {}, {}, {}};
    persist(r, t);
    return r;
  }
  auto t = st.team(id);
  if (!t) return error(404, fmt::format("no team '{}'", id), "not_found");
  if (method == "GET") return AdminResponse{200, st.team_json(*t), {}, {}, {}};
  if (t->source == governance::KeySource::Config) {
    return error(409, fmt::format("team '{}' is declared in config.yaml: change it there", id),
                 "declared_in_config");
  }
  if (method == "PATCH") {
    json b = json::parse(body, nullptr, false);
    if (b.is_discarded()) return error(400, "the body is not valid JSON");
    if (auto e = read_team(b, *t); !e.empty()) return error(400, e);
    st.put_team(*t);
    AdminResponse r{200, st.team_json(*t), {}, {}, {}};
    persist(r, *t);
    return r;
  }
  if (method == "DELETE") {
    st.remove_team(id);
    AdminResponse r{200, {{"id", std::string(id)}, {"deleted", true}}, {}, {}, {}};
    r.delete_teams.push_back(std::string(id));
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
