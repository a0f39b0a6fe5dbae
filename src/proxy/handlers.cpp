#include "tollgate/proxy/handlers.hpp"

#include "llm_call.hpp"
#include "tollgate/core/json_access.hpp"
#include "tollgate/redis/governor.hpp"
#include "proxy_util.hpp"
#include "request_record.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <limits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "tollgate/app/logging.hpp"
#include "tollgate/core/secure.hpp"
#include "tollgate/core/text.hpp"
#include "tollgate/core/url.hpp"
#include "tollgate/governance/money.hpp"
#include "tollgate/governance/pricing.hpp"
#include "tollgate/admin/admin_http.hpp"
#include "tollgate/api/routes.hpp"
#include "tollgate/dialects/dialect.hpp"
#include "tollgate/providers/anthropic_ingress.hpp"
#include "tollgate/providers/output_meter.hpp"
#include "tollgate/providers/client_json.hpp"
#include "tollgate/sse/sse.hpp"

namespace tg::proxy {

namespace net = boost::asio;
namespace http = boost::beast::http;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// The master key (full access) or a virtual key (its own limits). With no master key configured
// (open mode, which needs server.allow_unauthenticated or a loopback listener), a request without
// a key, or with one that is not a virtual key (SDKs insist on sending something), is let through
// without any key's limits; a virtual key is checked whenever one is presented, so a revoked or
// mistyped "sk-tg-" key is refused, never let through as the master.
std::optional<Error> authenticate(RequestContext& ctx) {
  const std::string& master = ctx.snapshot->config.server.master_key;
  std::string_view key = presented_key(ctx.request);
  if (key.empty()) {
    if (master.empty()) return std::nullopt;
#ifndef TG_NO_UI
    // The web UI's session cookie (a key header, when present, wins: as before).
    switch (admin::session_auth(ctx)) {
      case admin::SessionAuth::Master:
        ctx.master = true;
        return std::nullopt;
      case admin::SessionAuth::CsrfFailed:
        return admin::csrf_failed();
      case admin::SessionAuth::None:
        break;
    }
#endif
    return Error::unauthorized(
        "Missing API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.");
  }
  if (!master.empty() && constant_time_equals(key, master)) {
    ctx.master = true;
    return std::nullopt;
  }
  auto keys = ctx.worker.shared().governance.keys.snapshot();
  if (const auto* rec = keys->find_by_key(key)) {
    ctx.key = keys->get(rec->id);
    ctx.record.key_id = rec->id;
    ctx.record.key_name = rec->name;
    ctx.record.team = rec->team;
    // Disabled or expired: refused on every endpoint, not only the LLM ones.
    const auto now = std::chrono::system_clock::now();
    if (!ctx.key->enabled) return governance::key_disabled_error(*ctx.key);
    if (ctx.key->expired(now)) return governance::key_expired_error(*ctx.key);
    return std::nullopt;
  }
  if (master.empty() && key.substr(0, governance::kVirtualKeyPrefix.size()) !=
                            governance::kVirtualKeyPrefix) {
    return std::nullopt;
  }
  return Error::unauthorized(fmt::format("Invalid API key: {}", redact_key(key)));
}

// 403: without a master key, nobody may mint keys, read logs or reload.
Error admin_disabled() {
  Error e = Error::unauthorized(
      "The admin API is disabled because no master key is set. Set server.master_key in the "
      "config (or the TOLLGATE_MASTER_KEY environment variable) and restart, then call it with "
      "'Authorization: Bearer <master key>'.");
  e.code = ErrorCode::Forbidden;
  e.status = 403;
  e.type = "permission_error";
  e.code_str = "admin_disabled";
  return e;
}

// The path as the client sent it (its /v1 prefix kept), without the query string: for errors.
std::string_view path_as_sent(const Request& req) {
  std::string_view target(req.target().data(), req.target().size());
  return target.substr(0, target.find('?'));
}







// ---------------------------------------------------------------------------------------------
// Small endpoints







// Back-pressure: while the store's backlog is over its bound (a disk that fails or crawls), new
// billable calls are refused rather than queued without limit or run unrecorded. Queued rows are
// kept and drain; the refusal itself is counted, not logged to the store (it would grow the queue).
bool store_accepting(RequestContext& ctx) {
  auto* store = ctx.worker.shared().store;
  if (!store || store->accepting()) return true;
  ctx.worker.shared().metrics.store_refused();
  ctx.skip_store = true;
  return false;
}

Error store_unavailable() {
  Error e = Error::unavailable(
      "The gateway cannot record usage right now (its store is behind); retry shortly.");
  e.code_str = "store_unavailable";
  e.retry_after = "1";
  return e;
}


// POST /v1/messages/count_tokens for a model whose first Anthropic target can count exactly: the
// request goes to that target's count_tokens endpoint and its answer is relayed. nullopt when
// there is no such target or it could not answer (the caller then estimates); an upstream 4xx
// (the client's own mistake) is relayed as it is.
struct CountAnswer {
  int status = 200;
  std::string body;
};

net::awaitable<std::optional<CountAnswer>> count_tokens_upstream(RequestContext& ctx,
                                                                   const json& body,
                                                                   const std::string& model) {
  const auto& snap = *ctx.snapshot;
  auto plan = snap.router.plan(model);
  if (!plan) co_return std::nullopt;
  const routing::ProviderRuntime* p = nullptr;
  std::string upstream_model;
  for (const auto& c : plan->targets) {
    const auto& candidate = snap.providers[c.provider];
    if (candidate.config.type == config::ProviderType::Anthropic) {
      p = &candidate;
      upstream_model = c.model;
      break;
    }
  }
  if (!p) co_return std::nullopt;
  providers::ClientRequest req;
  req.set_doc(&body);
  req.native_body = &body;
  req.ingress = providers::Ingress::Anthropic;
  req.model = model;
  req.anthropic_beta = header(ctx.request, "anthropic-beta");
  req.anthropic_version = header(ctx.request, "anthropic-version");
  auto up = p->adapter->build_request(
      req, upstream_model,
      build_context(*p, p->key(0)));
  up.path += "/count_tokens";
  const upstream::Target target = target_of(*p);
  const auto now = Clock::now();
  const auto deadline = now + p->timeouts.first_token;
  ctx.record.provider = p->config.name;
  ctx.record.upstream_model = upstream_model;
  ctx.record.attempts = 1;
  upstream::AbortSlot slot;
  auto sent = co_await ctx.worker.upstream().send(target, up, now + p->timeouts.connect, deadline,
                                                  &slot);
  if (!sent.exchange) {
    ctx.record.upstream_ms = ms_since(now);
    spdlog::debug("{} count_tokens upstream failed ({}): estimating", ctx.request_id,
                  sent.error ? sent.error->message : "");
    co_return std::nullopt;
  }
  CountAnswer answer;
  answer.status = sent.exchange->status();
  auto err = co_await sent.exchange->read_all(answer.body, kMaxUpstreamErrorBody, deadline);
  ctx.record.upstream_ms = ms_since(now);
  if (err || answer.status >= 500 || answer.status == 429 || answer.status == 401 ||
      answer.status == 403 || !json::accept(answer.body)) {
    co_return std::nullopt;  // the provider's trouble, not the client's: estimate instead
  }
  co_return answer;
}

// POST /v1/messages/count_tokens: exact from an Anthropic target, an estimate for every other
// (documented). An API request like the others: a virtual key's models and rate limits apply
// (it costs no tokens), and it is logged and counted.
net::awaitable<void> count_tokens_handler(RequestContext& ctx) {
  auto& out = ctx.out;
  auto parsed = providers::parse_client_json(ctx.request.body());
  if (auto* e = std::get_if<Error>(&parsed)) {
    co_await out.send_error(*e);
    co_return;
  }
  json body = std::move(std::get<json>(parsed));
  auto m = body.find("model");
  if (m == body.end() || !m->is_string() || m->get_ref<const std::string&>().empty()) {
    co_await out.send_error(Error::bad_request("model: Field required", "model"));
    co_return;
  }
  const std::string model = m->get<std::string>();
  if (auto e = providers::check_model_name(model)) {
    co_await out.send_error(*e);
    co_return;
  }
  ctx.record.model = model;
  governance::Permit permit;
  if (ctx.key) {
    if (auto e = governance::check(*ctx.key, model, std::chrono::system_clock::now())) {
      co_await out.send_error(*e);
      co_return;
    }
    const auto& limits = ctx.key->limits;
    if (limits.rpm || limits.tpm || limits.parallel) {
      governance::RateLimitHeaders rate;
      auto acquired = ctx.worker.shared().governance.limiter.acquire(ctx.key->id, limits, 0, &rate);
      rate.each([&](HeaderName name, std::string_view value) { out.add_header(name, value); });
      if (auto* l = std::get_if<governance::Limited>(&acquired)) {
        ctx.record.error_code = "rate_limit_exceeded";
        co_await out.send_error(governance::rate_limit_error(*l, ctx.key->name));
        co_return;
      }
      permit = std::move(std::get<governance::Permit>(acquired));
    }
  }
  if (!providers::anthropic_ingress::takes_system_messages(
          header(ctx.request, "anthropic-version"))) {
    providers::anthropic_ingress::fold_system_messages(body);
  }
  auto exact = co_await count_tokens_upstream(ctx, body, model);
  if (exact) {
    out.add_header("x-tollgate-count", "exact");
    co_await out.send(exact->status, "application/json", exact->body);
    co_return;
  }
  out.add_header("x-tollgate-count", "estimate");
  json answer = {{"input_tokens", providers::anthropic_ingress::estimate_input_tokens(body)}};
  std::string text = answer.dump();
  co_await out.send(200, "application/json", text);
}

// GET /v1/models: what the caller may use (a virtual key sees only its models).
std::string models_body(const routing::Snapshot& snap, const governance::KeyRecord* key) {
  json data = json::array();
  auto add = [&](const std::string& id, const std::string& owner) {
    if (key && !key->allows(id)) return;
    data.push_back({{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", owner}});
  };
  for (const auto& name : snap.router.model_names()) add(name, "tollgate");
  for (const auto& p : snap.providers) {
    for (const auto& m : p.config.models) add(p.config.name + "/" + m, p.config.name);
  }
  return json{{"object", "list"}, {"data", std::move(data)}}.dump();
}


// ---------------------------------------------------------------------------------------------
// Stored Responses: GET/DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items.

Error response_not_found(std::string_view id) {
  Error e = Error::bad_request(fmt::format("No response found with id '{}'.", id));
  e.code = ErrorCode::NotFound;
  e.status = 404;
  e.code_str = "not_found";
  return e;
}

net::awaitable<void> stored_response_handler(RequestContext& ctx, const api::Match& m) {
  auto* store = ctx.worker.shared().store;
  if (!store) {
    co_await ctx.out.send_error(Error::unavailable("the store is not open"));
    co_return;
  }
  std::string id(m.id);
  std::string scope = response_scope(ctx);
  if (ctx.request.method() == http::verb::delete_) {
    StoreStart start = [store, id, scope](auto done) {
      store->delete_response(id, scope, [done = std::move(done)](bool deleted) { done(json(deleted)); });
    };
    json deleted = co_await await_store(ctx.worker.io(), std::move(start));
    if (!deleted.get<bool>()) {
      co_await ctx.out.send_error(response_not_found(id));
      co_return;
    }
    json body = {{"id", id}, {"object", "response"}, {"deleted", true}};
    co_await ctx.out.send(200, "application/json", body.dump());
    co_return;
  }
  StoreStart start = [store, id, scope](auto done) {
    store->get_response(id, scope, [done = std::move(done)](std::optional<store::ResponseRow> row) {
      if (!row) return done(json());
      done(json{{"response", std::move(row->response)}, {"input_items", std::move(row->input_items)}});
    });
  };
  json found = co_await await_store(ctx.worker.io(), std::move(start));
  if (found.is_null()) {
    co_await ctx.out.send_error(response_not_found(id));
    co_return;
  }
  if (m.route->id == api::RouteId::ResponseById) {
    co_await ctx.out.send(200, "application/json", found["response"].get_ref<const std::string&>());
    co_return;
  }
  // input_items: OpenAI's list shape, newest first unless ?order=asc, paged by ?after= and ?limit=.
  std::string_view target(ctx.request.target().data(), ctx.request.target().size());
  std::string_view query =
      target.find('?') == std::string_view::npos ? std::string_view() : target.substr(target.find('?') + 1);
  json items = json::parse(found["input_items"].get_ref<const std::string&>(), nullptr, false);
  if (!items.is_array()) items = json::array();
  if (query_str(query, "order") != "asc") std::reverse(items.begin(), items.end());
  const std::string after = query_str(query, "after");
  const int64_t limit = std::clamp<int64_t>(query_int(query, "limit").value_or(20), 1, 100);
  json data = json::array();
  bool started = after.empty(), more = false;
  for (auto& item : items) {
    if (!started) {
      started = item.is_object() && str_member(item, "id") == after;
      continue;
    }
    if (static_cast<int64_t>(data.size()) == limit) {
      more = true;
      break;
    }
    data.push_back(std::move(item));
  }
  json body = {{"object", "list"},
               {"data", data},
               {"first_id", data.empty() ? json() : data.front().value("id", json())},
               {"last_id", data.empty() ? json() : data.back().value("id", json())},
               {"has_more", more}};
  co_await ctx.out.send(200, "application/json", body.dump());
}

// ---------------------------------------------------------------------------------------------
// Dispatch: the route table (src/api/routes.cpp) says what a path is and who may call it.

const dialects::Codec& codec_of(const api::Route& r) {
  switch (r.dialect) {
    case api::Dialect::Anthropic: return dialects::anthropic_codec();
    case api::Dialect::Responses: return dialects::responses_codec();
    case api::Dialect::Media: return dialects::media_codec(r.endpoint);
    default: return dialects::openai_codec(r.endpoint);
  }
}

net::awaitable<void> metrics_handler(RequestContext& ctx) {
  auto& out = ctx.out;
  const std::string& mk = ctx.snapshot->config.server.metrics_key;
  if (!mk.empty() && !constant_time_equals(presented_key(ctx.request), mk)) {
    co_await out.send_error(Error::unauthorized("/metrics requires server.metrics_key"));
    co_return;
  }
  auto& shared = ctx.worker.shared();
  std::unordered_set<std::string> down;
  for (const auto& row : shared.health.rows()) {
    if (row.up) continue;
    size_t a = row.id.find('\x1f'), b = row.id.rfind('\x1f');
    std::string label = row.id.substr(0, a) + "/" + row.id.substr(b + 1);
    down.insert(label);
  }
  // A deployment is down only when all its keys are: drop labels with any key still up.
  for (const auto& row : shared.health.rows()) {
    if (!row.up) continue;
    size_t a = row.id.find('\x1f'), b = row.id.rfind('\x1f');
    down.erase(row.id.substr(0, a) + "/" + row.id.substr(b + 1));
  }
  shared.metrics.set_deployments(ctx.snapshot->deployment_labels, down);
  if (shared.store) shared.metrics.set_store(shared.store->health());
  if (shared.redis) shared.metrics.set_redis(shared.redis->errors(), shared.redis->up());
  shared.metrics.set_budgets(shared.governance.budgets_remaining());
  std::string text = shared.metrics.serialize();
  co_await out.send(200, "text/plain; version=0.0.4; charset=utf-8", text);
}



// GET /models and /models/{id}
net::awaitable<void> models_handler(RequestContext& ctx, std::string_view id) {
  std::string body = models_body(*ctx.snapshot, ctx.key.get());
  if (id.empty()) {
    co_await ctx.out.send(200, "application/json", body);
    co_return;
  }
  json all = json::parse(body);
  for (auto& m : all["data"]) {
    if (m["id"] == id) {
      co_await ctx.out.send(200, "application/json", m.dump());
      co_return;
    }
  }
  co_await ctx.out.send_error(Error::model_not_found(id));
}

net::awaitable<void> dispatch(RequestContext& ctx, const std::optional<api::Match>& match) {
  auto& out = ctx.out;
  const std::string_view method(ctx.request.method_string().data(),
                                ctx.request.method_string().size());
  const std::string_view sent_path = path_as_sent(ctx.request);
  if (!match) {
    co_await out.send_error(Error::not_found(std::string(sent_path)));
    co_return;
  }
  const api::Route& route = *match->route;
  if (route.dialect == api::Dialect::Anthropic) {
    out.set_error_renderer(dialects::anthropic_codec().error_renderer());
  }
  // With server.admin_listen, /metrics and /admin/* live on the admin port only, and the API on
  // the main port only: the other port answers 404 as for any unknown path.
  if (ctx.worker.shared().admin_split.load(std::memory_order_relaxed) &&
      route.admin_port != ctx.admin_port && route.access != api::Access::Open) {
    co_await out.send_error(Error::not_found(std::string(sent_path)));
    co_return;
  }
  if (!api::allows(route, method)) {
    co_await out.send_error(Error::method_not_allowed(method, sent_path));
    co_return;
  }
  switch (route.access) {
    case api::Access::Open:
      break;
    case api::Access::Metrics:
      co_await metrics_handler(ctx);
      co_return;
    case api::Access::Ui:
      if (ctx.snapshot->config.server.master_key.empty()) {  // no master key: no UI
        co_await out.send_error(admin_disabled());
        co_return;
      }
      break;
    case api::Access::Key:
    case api::Access::Master:
      // Without a master key there is no admin API at all (nobody can mint keys or read logs).
      if (route.access == api::Access::Master && ctx.snapshot->config.server.master_key.empty()) {
        co_await out.send_error(admin_disabled());
        co_return;
      }
      if (auto err = authenticate(ctx)) {
        ctx.record.error_code = err->code_str.empty() ? "invalid_api_key" : err->code_str;
        co_await out.send_error(*err);
        co_return;
      }
      if (route.access == api::Access::Master && !ctx.master) {
        co_await out.send_error(Error::unauthorized("The admin API needs the master key."));
        co_return;
      }
      break;
  }
  switch (route.id) {
    case api::RouteId::Health:
      co_await out.send(200, "application/json", R"({"status":"ok"})");
      co_return;
    case api::RouteId::Ready: {
      bool ready = ctx.worker.shared().ready.load() && !ctx.worker.draining();
      auto* store = ctx.worker.shared().store;
      if (ready && store && !store->accepting()) {
        co_await out.send(503, "application/json",
                          R"({"status":"not ready","reason":"store_backlog"})");
        co_return;
      }
      if (ready && store && !store->reachable()) {  // store.postgres down: rows queue meanwhile
        co_await out.send(503, "application/json",
                          R"({"status":"not ready","reason":"store_unreachable"})");
        co_return;
      }
      if (auto* r = ctx.worker.shared().redis; ready && r && !r->up()) {
        // Down and a fail mode closed: this instance refuses limited keys, so it is not ready.
        // Fail open: it serves (on its own figures) and says so.
        const bool closed = !r->fail_open_limits() || !r->fail_open_budgets();
        co_await out.send(closed ? 503 : 200, "application/json",
                          closed ? R"({"status":"not ready","reason":"redis_down"})"
                                 : R"({"status":"ready","redis":"down"})");
        co_return;
      }
      co_await out.send(ready ? 200 : 503, "application/json",
                        ready ? R"({"status":"ready"})" : R"({"status":"not ready"})");
      co_return;
    }
    case api::RouteId::ChatCompletions:
    case api::RouteId::Completions:
    case api::RouteId::Embeddings:
    case api::RouteId::Messages:
    case api::RouteId::Media:
    case api::RouteId::Responses: {
      if (!store_accepting(ctx)) {  // the store's backlog is full: back-pressure, never loss
        co_await out.send_error(store_unavailable());
        co_return;
      }
      co_await run_llm_call(ctx, codec_of(route), route.endpoint);
      co_return;
    }
    case api::RouteId::CountTokens:
      co_await count_tokens_handler(ctx);
      co_return;
    case api::RouteId::ResponseById:
    case api::RouteId::ResponseInputItems:
      co_await stored_response_handler(ctx, *match);
      co_return;
    case api::RouteId::Models:
      co_await models_handler(ctx, match->id);
      co_return;
    case api::RouteId::AdminReload:
      co_await admin::reload_handler(ctx);
      co_return;
    case api::RouteId::AdminLogs:
    case api::RouteId::AdminSpend:
      co_await admin::admin_query_handler(ctx);
      co_return;
    case api::RouteId::AdminGovernance:
      if (auto e = providers::check_json_depth(ctx.request.body())) {
        co_await out.send_error(*e);
        co_return;
      }
      co_await admin::admin_keys_handler(ctx);
      co_return;
#ifdef TG_NO_UI  // (never matched: src/api/routes.cpp)
    case api::RouteId::AdminStats:
    case api::RouteId::AdminLogById:
    case api::RouteId::AdminProviders:
    case api::RouteId::AdminConfig:
    case api::RouteId::UiFile:
    case api::RouteId::UiSession:
      co_return;
#else
    case api::RouteId::AdminStats:
      co_await admin::stats_handler(ctx);
      co_return;
    case api::RouteId::AdminLogById:
      co_await admin::log_row_handler(ctx, match->id);
      co_return;
    case api::RouteId::AdminProviders:
      co_await admin::providers_handler(ctx);
      co_return;
    case api::RouteId::AdminConfig: {
      std::string body = admin::config_body(ctx);
      co_await out.send(200, "application/json", body);
      co_return;
    }
    case api::RouteId::UiFile:
      co_await admin::send_reply(ctx, admin::ui_file(ctx));
      co_return;
    case api::RouteId::UiSession:
      if (auto e = providers::check_json_depth(ctx.request.body())) {
        co_await out.send_error(*e);
        co_return;
      }
      co_await admin::send_reply(ctx, admin::ui_session(ctx));
      co_return;
#endif
    case api::RouteId::Metrics:
      break;  // answered above
  }
}


// Counts an API request in flight for as long as it lives, even if a handler throws.
class InFlight {
 public:
  InFlight(metrics::Metrics& m, bool counted) : m_(counted ? &m : nullptr) {
    if (m_) m_->in_flight_add(1);
  }
  ~InFlight() { done(); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  void done() {
    if (m_) m_->in_flight_add(-1);
    m_ = nullptr;
  }

 private:
  metrics::Metrics* m_;
};

}  // namespace

Error internal_error(std::string_view request_id) {
  return Error::internal(fmt::format(
      "Tollgate hit an internal error while handling this request ({}); it has been logged.",
      request_id));
}

std::string describe_exception(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

net::awaitable<void> handle(RequestContext& ctx) {
  auto& shared = ctx.worker.shared();
  const auto match = api::match(ctx.path);
  ctx.api = match && match->route->llm;
  InFlight in_flight(shared.metrics, ctx.api);
  std::exception_ptr failure;
  try {
    co_await dispatch(ctx, match);
  } catch (...) {
    failure = std::current_exception();  // answered below: no co_await in a handler (C++20)
  }
  if (failure) {
    // A bug, not the client's doing: the client gets a 500 if nothing was sent yet (else the
    // connection closes, so no half answer passes for a whole one); the daemon keeps serving.
    spdlog::error("{} internal error in {}: {}", log_safe(ctx.request_id), log_safe(ctx.path),
                  log_safe(describe_exception(failure)));
    ctx.record.error_code = "internal_error";
    if (ctx.out.committed()) {
      ctx.out.set_keep_alive(false);
    } else {
      co_await ctx.out.send_error(internal_error(ctx.request_id));
    }
  }
  auto now = Clock::now();
  double duration_ms = ms_since(ctx.start, now);
  if (ctx.record.error_code.empty()) ctx.record.error_code = ctx.out.error_code();
  // An answer the client left before it was written whole: logged as a hang-up, like a stream's.
  if (ctx.record.error_code.empty() && ctx.out.failed()) ctx.record.error_code = "client_closed";
  if (ctx.api) {
    const int status = ctx.out.status() == 0 ? 499 : ctx.out.status();
    record_request(ctx, status, duration_ms);
    shared.metrics.observe(sample_of(ctx, status, duration_ms));
    // Last: a scrape that sees no request in flight also sees every finished request counted.
    in_flight.done();
  }
  if (ctx.snapshot->config.server.access_log && ctx.path != "/health" && ctx.path != "/metrics" &&
      ctx.path != "/ready") {
    log_access(ctx, duration_ms);
  }
}

}  // namespace tg::proxy
