// The admin API's read-only views for the web UI: /admin/stats (rollups, built on the store's
// reader thread), /admin/logs/{id}, /admin/providers (health, recent traffic, prices) and
// /admin/config (the running config, secrets redacted). Master key or a UI session.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "../../proxy/proxy_util.hpp"
#include "tollgate/admin/admin_http.hpp"
#include "tollgate/admin/config_view.hpp"
#include "tollgate/admin/stats.hpp"
#include "tollgate/governance/pricing.hpp"
#include "tollgate/server/worker.hpp"

namespace tg::admin {

using proxy::await_store;
using proxy::query_int;
using proxy::query_str;
using proxy::query_time_ms;
using proxy::RequestContext;
using proxy::StoreStart;
namespace net = boost::asio;
using json = nlohmann::json;

namespace {

std::string_view query_of(const RequestContext& ctx) {
  std::string_view target(ctx.request.target().data(), ctx.request.target().size());
  size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

Error not_found_error(std::string message) {
  Error e = Error::bad_request(std::move(message));
  e.code = ErrorCode::NotFound;
  e.status = 404;
  e.code_str = "not_found";
  return e;
}

// The stats of a range, built into the answer's shape on the store's thread.
StoreStart stats_start(store::Store* store, store::StatsQuery q,
                       std::shared_ptr<const governance::KeyIndexSnapshot> keys) {
  return [store, q = std::move(q), keys = std::move(keys)](auto done) {
    store->query_stats(q, [q, keys, done = std::move(done)](json rows) {
      // (The text, carried as a JSON string value.)
      done(json(build_stats(q, rows, [&keys](const std::string& id) {
        auto k = keys ? keys->get(id) : nullptr;
        return k ? k->name : std::string();
      })));
    });
  };
}

}  // namespace

net::awaitable<void> stats_handler(RequestContext& ctx) {
  auto& shared = ctx.worker.shared();
  if (!shared.store) {
    co_await ctx.out.send_error(Error::unavailable("the store is not open"));
    co_return;
  }
  const std::string_view query = query_of(ctx);
  std::optional<int64_t> step;
  if (!query_str(query, "step").empty()) {
    step = query_int(query, "step");
    if (!step) {
      co_await ctx.out.send_error(Error::bad_request("step must be 60, 3600 or 86400", "step"));
      co_return;
    }
  }
  auto planned = plan_stats(query_time_ms(query, "from"), query_time_ms(query, "to"), step,
                            query_str(query, "group_by"), ctx.start_unix_ms);
  if (auto* msg = std::get_if<std::string>(&planned)) {
    co_await ctx.out.send_error(Error::bad_request(*msg));
    co_return;
  }
  StoreStart start = stats_start(shared.store, std::get<store::StatsQuery>(planned),
                                 shared.governance.keys.snapshot());
  json body = co_await await_store(ctx.worker.io(), std::move(start));
  co_await ctx.out.send(200, "application/json", body.get_ref<const std::string&>());
}

net::awaitable<void> log_row_handler(RequestContext& ctx, std::string_view id_text) {
  auto* store = ctx.worker.shared().store;
  if (!store) {
    co_await ctx.out.send_error(Error::unavailable("the store is not open"));
    co_return;
  }
  int64_t id = 0;
  auto [p, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || p != id_text.data() + id_text.size() || id <= 0) {
    co_await ctx.out.send_error(not_found_error("No request log row with that id."));
    co_return;
  }
  StoreStart start = [store, id](auto done) { store->get_log(id, std::move(done)); };
  json row = co_await await_store(ctx.worker.io(), std::move(start));
  if (row.is_null()) {
    co_await ctx.out.send_error(not_found_error(fmt::format("No request log row {}.", id)));
    co_return;
  }
  std::string text = row.dump();
  co_await ctx.out.send(200, "application/json", text);
}

namespace {

// GET /admin/providers' body, given the last hour's stats by deployment (null without a store).
// (Members in name order, as nlohmann's objects wrote them.)
std::string providers_body(RequestContext& ctx, const json& recent) {
  auto& shared = ctx.worker.shared();
  const auto& snap = *ctx.snapshot;
  std::map<std::string, const json*> traffic;  // "provider/model" -> its series' totals
  if (recent.is_object()) {
    if (auto series = recent.find("series"); series != recent.end()) {
      for (const auto& s : *series) traffic.emplace(s.value("group", ""), &s["total"]);
    }
  }
  const auto steady_now = std::chrono::steady_clock::now();
  JsonWriter w, prices, unpriced;
  w.object().array("deployments");
  prices.array();
  unpriced.array();
  std::set<std::string> seen;
  for (const auto& p : snap.providers) {
    std::set<std::string> models(p.config.models.begin(), p.config.models.end());
    for (const auto& label : snap.deployment_labels) {
      if (label.size() > p.config.name.size() && label.starts_with(p.config.name + "/")) {
        models.insert(label.substr(p.config.name.size() + 1));
      }
    }
    for (const auto& model : models) {
      const std::string label = p.config.name + "/" + model;
      if (!seen.insert(label).second) continue;
      // Up while any of its keys is; cooling until the soonest key recovers.
      bool up = false;
      std::optional<std::chrono::steady_clock::time_point> until;
      double latency = -1;
      int attempts = 0, failed = 0;  // in the last routing::kRecentMinutes, over its keys
      for (const auto& key_id : p.key_ids) {
        const std::string id = routing::deployment_id(p.config.name, key_id, model);
        auto v = shared.health.view(id);
        const auto recent = shared.health.recent(id);
        attempts += recent.attempts;
        failed += recent.failures;
        if (v.cooling && v.cool_until > steady_now) {
          if (!until || v.cool_until < *until) until = v.cool_until;
        } else {
          up = true;
        }
        if (v.latency_ms >= 0) latency = latency < 0 ? v.latency_ms : std::min(latency, v.latency_ms);
      }
      w.object();
      if (!up && until) {
        w.num("cooldown_until",
              ctx.start_unix_ms +
                  std::chrono::duration_cast<std::chrono::milliseconds>(*until - steady_now).count());
      } else {
        w.null("cooldown_until");
      }
      const auto t = traffic.find(label);
      const json* total = t == traffic.end() ? nullptr : t->second;
      const int64_t requests = total ? total->value("requests", int64_t{0}) : 0;
      w.real("error_rate", requests > 0 ? double(total->value("errors", int64_t{0})) / double(requests) : 0.0);
      if (latency >= 0) {
        w.real("latency_avg_ms", std::round(latency * 10) / 10);
      } else {
        w.null("latency_avg_ms");
      }
      auto p50 = total ? total->find("latency_p50_ms") : json::const_iterator();
      w.key("latency_p50_ms").raw(total && p50 != total->end() ? p50->dump() : "null");
      w.str("model", model).str("provider", p.config.name);
      // Every attempt, those a failover answered for too (the log counts requests by the
      // deployment that answered last).
      w.num("recent_attempts", attempts)
          .num("recent_failed_attempts", failed)
          .num("recent_minutes", routing::kRecentMinutes)
          .num("requests", requests);
      w.boolean("up", up).end_object();
      auto price = snap.prices ? snap.prices->lookup(p.config, model) : std::nullopt;
      if (!price) {
        unpriced.str(label);
        continue;
      }
      // pico-USD per token = nano-USD per 1k tokens: x 1000 for nano-USD per 1M.
      prices.object()
          .num("cached_input_per_1m_nano_usd", price->base.cached_input * 1000)
          .str("catalog_key", price->key)
          .boolean("free", price->free)
          .num("input_per_1m_nano_usd", price->base.input * 1000)
          .str("model", label)
          .num("output_per_1m_nano_usd", price->base.output * 1000)
          .end_object();
    }
  }
  w.end_array().array("models");
  auto targets = [&w](std::string_view key, const std::vector<config::Target>& ts) {
    w.array(key);
    for (const auto& t : ts) w.str(t.provider + "/" + t.model);
    w.end_array();
  };
  for (const auto& m : snap.config.models) {
    w.object();
    targets("fallbacks", m.fallbacks);
    w.str("name", m.name).str("strategy", m.strategy);
    targets("targets", m.targets);
    w.end_object();
  }
  w.end_array();
  w.key("prices").raw(prices.end_array().text());
  w.key("unpriced").raw(unpriced.end_array().text());
  return w.end_object().take();
}

}  // namespace

net::awaitable<void> providers_handler(RequestContext& ctx) {
  auto& shared = ctx.worker.shared();
  // The last hour of traffic per deployment, from the minute rollups.
  json recent;
  if (shared.store) {
    auto planned = plan_stats(ctx.start_unix_ms - 3'600'000, ctx.start_unix_ms, 60, "deployment",
                              ctx.start_unix_ms);
    StoreStart start = stats_start(shared.store, std::get<store::StatsQuery>(planned), nullptr);
    json text = co_await await_store(ctx.worker.io(), std::move(start));
    recent = json::parse(text.get_ref<const std::string&>());
  }
  std::string body = providers_body(ctx, recent);
  co_await ctx.out.send(200, "application/json", body);
}

}  // namespace tg::admin
