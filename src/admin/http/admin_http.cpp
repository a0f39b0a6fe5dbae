// The admin API's HTTP side: /admin/keys and /admin/teams (the pure logic is
// src/admin/governance_state.cpp), /admin/logs and /admin/spend (queries on the store's reader
// thread), /admin/reload. Master key only; dispatch checks that.

#include "tollgate/admin/admin_http.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "../../proxy/proxy_util.hpp"
#include "tollgate/admin/config_view.hpp"
#include "tollgate/governance/money.hpp"
#include "tollgate/server/worker.hpp"

namespace tg::admin {

using proxy::RequestContext;
using proxy::await_store;
using proxy::await_write;
using proxy::query_int;
using proxy::query_str;
using proxy::query_time_ms;
using proxy::StoreDone;
using proxy::StoreStart;
namespace net = boost::asio;
using json = nlohmann::json;

net::awaitable<void> admin_query_handler(RequestContext& ctx) {
  auto* store = ctx.worker.shared().store;
  std::string_view target(ctx.request.target().data(), ctx.request.target().size());
  std::string_view query = target.find('?') == std::string_view::npos
                               ? std::string_view()
                               : target.substr(target.find('?') + 1);
  if (!store) {
    co_await ctx.out.send_error(Error::unavailable("the store is not open"));
    co_return;
  }
  if (ctx.path == "/admin/logs") {
    store::LogQuery q;
    q.key_id = query_str(query, "key");
    q.model = query_str(query, "model");
    q.team = query_str(query, "team");
    q.provider = query_str(query, "provider");
    if (auto st = query_int(query, "status")) q.status = static_cast<int>(*st);
    q.since_ms = query_time_ms(query, "since");
    q.until_ms = query_time_ms(query, "until");
    q.before_id = query_int(query, "before_id");
    if (!q.before_id) q.before_id = query_int(query, "before");
    q.limit = static_cast<int>(query_int(query, "limit").value_or(100));
    // (One co_await per statement, no lambda inside it: GCC 12 coroutine pitfalls.)
    StoreStart start = [store, q](auto done) { store->query_logs(q, std::move(done)); };
    json rows = co_await await_store(ctx.worker.io(), std::move(start));
    json body = {{"object", "list"}, {"data", rows}};
    if (!rows.empty() && static_cast<int>(rows.size()) == std::clamp(q.limit, 1, 1000)) {
      body["next_before"] = rows.back()["id"];  // pass as ?before= for the next page
    }
    std::string text = body.dump();
    co_await ctx.out.send(200, "application/json", text);
    co_return;
  }
  store::SpendQuery q;
  q.group_by = query_str(query, "group_by");
  if (q.group_by.empty()) q.group_by = "key";
  if (q.group_by != "key" && q.group_by != "team" && q.group_by != "model" &&
      q.group_by != "provider" && q.group_by != "day") {
    co_await ctx.out.send_error(
        Error::bad_request("group_by must be one of key, team, model, provider, day", "group_by"));
    co_return;
  }
  q.from_ms = query_time_ms(query, "from");
  q.to_ms = query_time_ms(query, "to");
  StoreStart start = [store, q](auto done) { store->query_spend(q, std::move(done)); };
  json rows = co_await await_store(ctx.worker.io(), std::move(start));
  governance::Nanos total = 0;  // summed exactly, shown once
  for (const auto& r : rows) total += r.value("spend_nano_usd", governance::Nanos{0});
  json body = {{"object", "list"},
               {"group_by", q.group_by},
               {"total_usd", governance::nanos_to_usd(total)},
               {"total_nano_usd", total},
               {"data", rows}};
  std::string text = body.dump();
  co_await ctx.out.send(200, "application/json", text);
}

net::awaitable<void> admin_keys_handler(RequestContext& ctx) {
  auto& shared = ctx.worker.shared();
  std::string method(ctx.request.method_string().data(), ctx.request.method_string().size());
  auto res = admin::admin_api(shared.governance, method, ctx.path, ctx.request.body(),
                              std::chrono::system_clock::now());
  if (res.is_write()) {
    // The store first, then memory: a write the store refused changes nothing.
    bool saved = true;
    if (shared.store) {
      for (auto& row : res.save_keys) {
        if (!saved) break;
        StoreDone start = [store = shared.store, row](auto done) { store->save_key(row, std::move(done)); };
        saved = co_await await_write(ctx.worker.io(), std::move(start));
      }
      for (auto& row : res.save_teams) {
        if (!saved) break;
        StoreDone start = [store = shared.store, row](auto done) { store->save_team(row, std::move(done)); };
        saved = co_await await_write(ctx.worker.io(), std::move(start));
      }
      for (auto& id : res.delete_teams) {
        if (!saved) break;
        StoreDone start = [store = shared.store, id](auto done) { store->delete_team(id, std::move(done)); };
        saved = co_await await_write(ctx.worker.io(), std::move(start));
      }
    }
    if (!saved) {
      co_await ctx.out.send_error(Error::internal("the change could not be saved to the store; nothing was changed"));
      co_return;
    }
    res = res.commit(shared.governance);
  }
#ifndef TG_NO_UI
  if (method == "GET" && res.status == 200 && shared.store) {
    // last_used_at: the newest request of each key listed, from the log (one index probe each).
    json* one = res.body.contains("id") ? &res.body : nullptr;
    std::vector<std::string> ids;
    if (one && res.body["id"].is_string()) ids.push_back(res.body["id"]);
    if (!one && res.body.contains("data") && ctx.path.starts_with("/admin/keys")) {
      for (const auto& k : res.body["data"]) {
        if (k.contains("id") && k["id"].is_string()) ids.push_back(k["id"]);
      }
    }
    if (!ids.empty() && ctx.path.starts_with("/admin/keys")) {
      StoreStart start = [store = shared.store, ids](auto done) {
        store->keys_last_used(ids, std::move(done));
      };
      json used = co_await await_store(ctx.worker.io(), std::move(start));
      auto fill = [&used](json& k) {
        auto it = used.find(k.value("id", ""));
        k["last_used_at"] = it == used.end() ? json() : *it;
      };
      if (one) {
        fill(*one);
      } else {
        for (auto& k : res.body["data"]) fill(k);
      }
    }
  }
#endif
  std::string text = res.body.dump();
  co_await ctx.out.send(res.status, "application/json", text);
}

net::awaitable<void> reload_handler(RequestContext& ctx) {
  std::vector<config::ConfigError> errors = co_await ctx.worker.shared().reload();
  if (errors.empty()) {
    co_await ctx.out.send(200, "application/json", R"({"ok":true,"status":"reloaded"})");
    co_return;
  }
  std::string listed;
  for (const auto& e : errors) listed += (listed.empty() ? "" : "; ") + e.to_string();
  Error e = Error::bad_request("The new configuration was refused; the previous one keeps "
                               "serving. Errors: " + listed);
  e.code_str = "invalid_config";
#ifdef TG_NO_UI
  co_await ctx.out.send_error(e);
#else
  // The OpenAI-style error, plus each error on its own for the web UI: {"error":...,"errors":[...]}.
  std::string text = render_error_body(e);
  text.pop_back();  // its closing '}'
  JsonWriter list;
  write_errors(list, errors);
  text += ",\"errors\":" + list.take() + "}";
  co_await ctx.out.send(400, "application/json", text);
#endif
}

#ifndef TG_NO_UI

std::string config_body(const RequestContext& ctx) {
  auto status = ctx.worker.shared().config_status.get();
  const auto& c = ctx.snapshot->config;
  // (Members in name order, as nlohmann's objects wrote them.)
  JsonWriter w;
  w.object().key("config");
  write_effective_config(w, c);
  w.num("generation", ctx.snapshot->generation).key("last_reload");
  if (const auto& r = status.last_reload) {
    w.object().num("at", r->at_ms).key("errors");
    write_errors(w, r->errors);
    w.boolean("ok", r->ok).str("trigger", r->why).end_object();
  } else {
    w.null();
  }
  w.num("loaded_at", status.loaded_at_ms)
      .str_or_null("source", c.source_path)
      .str("yaml", status.yaml)
      .end_object();
  return w.take();
}

#endif

}  // namespace tg::admin
