// One LLM call: parse (through the client's dialect), plan, admit, attempts with failover, relay
// (whole or streamed), settle. See docs/life-of-a-request.md, steps 8 to 22.

#include "llm_call.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iterator>

#include <boost/asio/steady_timer.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "proxy_util.hpp"
#include "tollgate/app/logging.hpp"
#include "tollgate/core/text.hpp"
#include "tollgate/governance/money.hpp"
#include "tollgate/governance/pricing.hpp"
#include "tollgate/providers/client_json.hpp"
#include "tollgate/providers/json_scan.hpp"
#include "tollgate/providers/output_meter.hpp"
#include "tollgate/redis/governor.hpp"
#include "tollgate/sse/sse.hpp"

namespace tg::proxy {

namespace {

// Whether every failed attempt was the provider's own 429, and the soonest Retry-After given.
class UpstreamRateLimits {
 public:
  void note(const Error& e) {
    ++failures_;
    if (e.code != ErrorCode::UpstreamStatus || e.status != 429) {
      other_ = true;
      return;
    }
    double secs = e.retry_after.empty() ? 0 : std::atof(e.retry_after.c_str());
    if (secs > 0 && (!soonest_ || secs < *soonest_)) soonest_ = secs;
  }
  bool all() const { return failures_ > 0 && !other_; }
  std::optional<long long> soonest_seconds() const {
    if (!soonest_) return std::nullopt;
    return static_cast<long long>(std::ceil(std::min(*soonest_, 86400.0)));
  }

 private:
  int failures_ = 0;
  bool other_ = false;
  std::optional<double> soonest_;
};

// ---------------------------------------------------------------------------------------------
// One LLM call: parse, plan, attempts, relay.

class LlmCall {
 public:
  LlmCall(RequestContext& ctx, const dialects::Codec& codec, providers::Endpoint endpoint)
      : ctx_(ctx), codec_(codec), endpoint_(endpoint) {}
  // The in-process permit and reservation release themselves; a Redis hold must be finished, or
  // its slot and reservation stay taken across instances until their TTL. settle() does it on
  // every normal path; this covers an exception that skipped it (released, nothing charged).
  ~LlmCall() {
    if (watch_) watch_->call = nullptr;
    auto& shared = ctx_.worker.shared();
    if (shared_hold_.active && shared.redis && !ctx_.worker.io().stopped()) {
      shared.redis->settle(ctx_.worker.index(), ctx_.worker.io(), shared.governance,
                           std::move(shared_hold_), std::nullopt, std::nullopt);
    }
  }
  LlmCall(const LlmCall&) = delete;
  LlmCall& operator=(const LlmCall&) = delete;

  net::awaitable<void> run() {
    json body = json::object();  // an upload (multipart) is read by its codec
    if (codec_.reads_json()) {  // checked (its top-level members noted on the way)
      members_ = std::make_unique<providers::json_scan::TopMembers>();
      if (codec_.wants_document()) {
        auto parsed = providers::parse_client_json(ctx_.request.body(), members_.get());
        if (auto* err = std::get_if<Error>(&parsed)) {
          co_await ctx_.out.send_error(*err);
          co_return;
        }
        body = std::move(std::get<json>(parsed));
      } else if (auto err = providers::check_client_json(ctx_.request.body(), members_.get())) {
        co_await ctx_.out.send_error(*err);  // the codec reads the text itself
        co_return;
      }
    }
    // A request that continues a stored conversation (Responses' previous_response_id) gets it
    // from the store, whatever provider answered it.
    json history;
    bool continues = false;
    if (auto prev = codec_.continues(body)) {
      history = co_await load_conversation(*prev);
      if (history.is_null()) {
        Error e = Error::bad_request(fmt::format("Previous response with id '{}' not found.", *prev),
                                     "previous_response_id");
        e.code = ErrorCode::NotFound;
        e.status = 404;
        e.code_str = "previous_response_not_found";
        co_await ctx_.out.send_error(e);
        co_return;
      }
      continues = true;
    }
    if (auto err = parse(std::move(body), continues ? &history : nullptr)) {
      co_await ctx_.out.send_error(*err);
      co_return;
    }
    auto plan = ctx_.snapshot->router.plan(req().model);
    if (!plan) {
      co_await ctx_.out.send_error(Error::model_not_found(req().model));
      co_return;
    }
    plan_ = std::move(*plan);
    if (auto refused = keep_capable_targets()) {
      co_await ctx_.out.send_error(*refused);
      co_return;
    }
    if (const auto* entry = ctx_.snapshot->config.find_model(req().model)) strict_ = entry->strict;
    auto choices = governance::requested_choices(req().fields());
    if (auto* bad = std::get_if<Error>(&choices)) {
      co_await ctx_.out.send_error(*bad);
      co_return;
    }
    choices_ = std::get<int64_t>(choices);
    if (ctx_.key) {
      if (auto refused = co_await admit()) {
        co_await ctx_.out.send_error(*refused);
        co_return;
      }
    }
    const bool cache_read = open_cache();
    if (cache_store_) {
      std::shared_ptr<const cache::CachedAnswer> hit;
      if (cache_read) hit = ctx_.worker.shared().cache.get(cache_key_, Clock::now());
      if (auto* shared_cache = ctx_.worker.shared().redis; !hit && cache_read && shared_cache) {
        // Another instance may have it (store.redis); kept here too once found.
        hit = co_await shared_cache->cache_get(ctx_.worker.index(), cache_key_);
        if (hit) ctx_.worker.shared().cache.put(cache_key_, *hit, Clock::now());
      }
      ctx_.worker.shared().metrics.cache_lookup(hit != nullptr);
      if (hit) {
        co_await serve_cached(*hit);
        settle();
        co_return;
      }
      ctx_.out.add_header("x-tollgate-cache", "miss");
    }
    total_by_ = ctx_.start + ctx_.snapshot->config.router.timeouts.total;
    // Watch the client while the attempts run: a gone client aborts the upstream call.
    watch_client();
    co_await attempts();
    if (client_gone_) {
      ctx_.record.error_code = "client_closed";
      ctx_.out.set_keep_alive(false);
    }
    settle();
  }

 private:
  // The conversation a request continues (null when not found in the caller's scope).
  net::awaitable<json> load_conversation(const std::string& id) {
    auto* store = ctx_.worker.shared().store;
    if (!store) co_return json();
    StoreStart start = [store, id, scope = response_scope(ctx_)](auto done) {
      store->conversation(id, scope, [done = std::move(done)](std::optional<json> items) {
        done(items ? std::move(*items) : json());
      });
    };
    json items = co_await await_store(ctx_.worker.io(), std::move(start));
    co_return items;
  }

  // After a successful answer: what the dialect keeps (a stored Response) goes to the store.
  // Once: called before the answer's last bytes go out, and again by settle() (a no-op then).
  void persist_turn() {
    auto* store = ctx_.worker.shared().store;
    if (turn_saved_ || !store || !answered_ok_ || !ctx_.record.error_code.empty()) return;
    auto turn = call_->turn();
    if (!turn) return;
    store::ResponseRow row;
    row.id = std::move(turn->id);
    row.scope = response_scope(ctx_);
    row.previous_id = std::move(turn->previous_id);
    row.created_ms = ctx_.start_unix_ms;
    row.response = std::move(turn->response);
    row.input_items = std::move(turn->input_items);
    row.output_items = std::move(turn->output_items);
    store->save_response(std::move(row));
    turn_saved_ = true;
  }

  // The client's body, read by its dialect into the canonical request.
  std::optional<Error> parse(json&& body, const json* history) {
    dialects::ClientInput in;
    in.history = history;
    in.body = ctx_.request.body();
    in.anthropic_beta = header(ctx_.request, "anthropic-beta");
    in.anthropic_version = header(ctx_.request, "anthropic-version");
    in.content_type = header(ctx_.request, "content-type");
    in.members = members_.get();
    auto parsed = codec_.parse(std::move(body), in);
    if (auto* e = std::get_if<Error>(&parsed)) return std::move(*e);
    call_ = std::move(std::get<std::unique_ptr<dialects::Call>>(parsed));
    if (auto e = providers::check_model_name(req().model)) return e;
    ctx_.record.model = req().model;
    ctx_.record.stream = req().stream;
    return std::nullopt;
  }

  const providers::ClientRequest& req() const { return call_->request(); }

  // The response cache (cache.enabled): non-streamed OpenAI-shaped requests, unless the client
  // sends Cache-Control no-store (neither read nor stored) or no-cache (not read, but stored).
  // Answers are shared within a team, else within a key; the master key has its own scope.
  // Returns whether to look up; sets the key and cache_store_ (the cache takes part at all).
  bool open_cache() {
    if (!ctx_.snapshot->config.cache.enabled || !call_->cacheable()) {
      return false;
    }
    std::string cc(header(ctx_.request, "cache-control"));
    std::transform(cc.begin(), cc.end(), cc.begin(), [](unsigned char c) { return std::tolower(c); });
    if (cc.find("no-store") != std::string::npos) return false;
    std::string scope = !ctx_.key               ? std::string("master")
                        : ctx_.key->team.empty() ? "key:" + ctx_.key->id
                                                 : "team:" + ctx_.key->team;
    cache_key_ = cache::ResponseCache::key_of(scope, providers::to_string(endpoint_),
                                              ctx_.request.body());
    cache_store_ = true;
    return cc.find("no-cache") == std::string::npos;
  }

  // A cached answer: no upstream call, no tokens, no cost.
  net::awaitable<void> serve_cached(const cache::CachedAnswer& hit) {
    ctx_.record.provider = "cache";
    ctx_.record.upstream_model = hit.upstream_model;
    ctx_.record.cost_nano = 0;
    if (permit_.active()) permit_.settle_tokens(0);
    ctx_.out.add_header("x-tollgate-cache", "hit");
    ctx_.out.add_header("x-tollgate-provider", hit.provider);
    ctx_.out.add_header("x-tollgate-model", hit.upstream_model);
    ctx_.out.add_header("x-tollgate-attempts", "0");
    ctx_.out.add_header("x-tollgate-cost-usd", "0");
    add_overhead_header();
    co_await ctx_.out.send(200, "application/json", hit.body);
  }

  // Virtual keys: allowed model, rate limits, budget reservation. Returns the refusal, if any.
  net::awaitable<std::optional<Error>> admit() {
    auto& gov = ctx_.worker.shared().governance;
    const auto& key = *ctx_.key;
    if (auto e = governance::check(key, req().model, std::chrono::system_clock::now())) co_return e;
    auto team = key.team.empty() ? std::string() : governance::team_holder(key.team);
    const bool budgeted = key.budget || (!team.empty() && gov.ledger.spend(team).has_value());
    // A budget is only as good as the prices behind it: a budgeted key never reaches a target
    // with no price (it would be free and unmetered). Such targets leave the plan; with none
    // left, the model is refused.
    if (budgeted) {
      if (auto refused = keep_priced_targets(key)) co_return refused;
    }
    // The most this request can consume: every answer it asks for (n, best_of) at its cap; for
    // the media endpoints, the units they are billed by (an upload's bytes are not tokens).
    const auto ceiling = call_->ceiling();
    const int64_t max_out =
        ceiling ? ceiling->output
                : saturating_mul(governance::requested_max_output(req().fields())
                                     .value_or(governance::kDefaultMaxOutputTokens),
                                 choices_);
    const int64_t input_est =
        ceiling ? ceiling->input : governance::estimate_input_tokens(ctx_.request.body().size());
    // Reserve what this request may cost at most: the dearest of its targets.
    governance::Nanos estimate = 0;
    if (ctx_.snapshot->prices) {
      auto consider = [&](const routing::Candidate& c) {
        if (const auto* price = price_of(c)) {
          estimate = std::max(estimate, ceiling ? governance::cost_of(*price, *ceiling).value_or(0)
                                                : governance::estimate_cost(*price, input_est, max_out));
        }
      };
      for (const auto& c : plan_.targets) consider(c);
      for (const auto& c : plan_.fallbacks) consider(c);
      for (const auto& c : plan_.context_fallbacks) consider(c);
    }
    const int64_t token_estimate = saturating_add(input_est, max_out);
    bool limited = key.limits.rpm || key.limits.tpm || key.limits.parallel;
    // Several instances (store.redis): one round trip checks and counts across all of them.
    if (auto* shared_gov = ctx_.worker.shared().redis; shared_gov && shared_gov->involves(gov, key)) {
      auto outcome = co_await shared_gov->admit(ctx_.worker.index(), gov, key, token_estimate, estimate);
      if (auto* g = std::get_if<redis::Granted>(&outcome)) {
        shared_hold_ = std::move(g->hold);
        add_headers(g->headers);
        co_return std::nullopt;
      }
      if (auto* l = std::get_if<redis::RateLimited>(&outcome)) {
        add_headers(l->headers);
        ctx_.record.error_code = "rate_limit_exceeded";
        co_return governance::rate_limit_error(l->limited, key.name);
      }
      if (auto* r = std::get_if<governance::Refusal>(&outcome)) {
        ctx_.out.add_header("x-should-retry", "false");
        ctx_.record.error_code = "budget_exceeded";
        co_return governance::budget_exceeded_error(*r);
      }
      // Redis did not answer in time: the fail mode decides (open: this instance's own view).
      spdlog::debug("{} redis unavailable ({}): fail {}", ctx_.request_id,
                    std::get<redis::Unavailable>(outcome).why,
                    (limited && !shared_gov->fail_open_limits()) ||
                            (budgeted && !shared_gov->fail_open_budgets())
                        ? "closed"
                        : "open");
      if ((limited && !shared_gov->fail_open_limits()) ||
          (budgeted && !shared_gov->fail_open_budgets())) {
        ctx_.record.error_code = "limits_unavailable";
        Error e = Error::unavailable(
            "Rate limits and budgets cannot be checked right now (shared state unavailable); "
            "retry shortly.");
        e.code_str = "limits_unavailable";
        e.retry_after = "1";
        co_return e;
      }
    }
    if (limited) {
      governance::RateLimitHeaders rate;
      auto acquired = gov.limiter.acquire(key.id, key.limits, token_estimate, &rate);
      add_headers(rate);
      if (auto* l = std::get_if<governance::Limited>(&acquired)) {
        ctx_.record.error_code = "rate_limit_exceeded";
        co_return governance::rate_limit_error(*l, key.name);
      }
      permit_ = std::move(std::get<governance::Permit>(acquired));
    }
    auto reserved = gov.ledger.reserve(governance::key_holder(key.id), team, estimate);
    if (auto* refusal = std::get_if<governance::Refusal>(&reserved)) {
      permit_.refund();
      ctx_.out.add_header("x-should-retry", "false");
      ctx_.record.error_code = "budget_exceeded";
      co_return governance::budget_exceeded_error(*refusal);
    }
    reservation_ = std::move(std::get<governance::Reservation>(reserved));
    co_return std::nullopt;
  }

  // The media endpoints exist on OpenAI-style providers only: targets whose provider cannot
  // serve the endpoint leave the plan; none left is the client's 400, naming the endpoint and
  // the providers (not a 502 after pointless attempts).
  std::optional<Error> keep_capable_targets() {
    if (!providers::is_media(endpoint_)) return std::nullopt;
    std::vector<std::string> refused;
    auto keep = [&](std::vector<routing::Candidate>& list) {
      std::erase_if(list, [&](const routing::Candidate& c) {
        const auto& p = ctx_.snapshot->providers[c.provider];
        if (p.adapter->supports(endpoint_)) return false;
        refused.push_back(fmt::format("'{}' ({})", p.config.name, config::to_string(p.config.type)));
        return true;
      });
    };
    keep(plan_.targets);
    keep(plan_.fallbacks);
    keep(plan_.context_fallbacks);
    if (!plan_.targets.empty() || !plan_.fallbacks.empty()) return std::nullopt;
    Error e = Error::bad_request(
        fmt::format("The {} endpoint is not available for model '{}': provider {} cannot serve "
                    "it (openai, azure and openai-compatible providers can).",
                    providers::to_string(endpoint_), req().model, fmt::join(refused, ", ")),
        "model");
    e.code_str = "unsupported_endpoint";
    ctx_.record.error_code = e.code_str;
    return e;
  }

  // Drops the plan's targets that have no price; 403 model_not_priced when none is left.
  std::optional<Error> keep_priced_targets(const governance::KeyRecord& key) {
    std::vector<std::string> unpriced;
    const auto ceiling = call_->ceiling();  // media: priced for what the call is billed by
    auto priced = [&](const routing::Candidate& c) {
      const auto* price = price_of(c);
      if (price && (!ceiling || governance::cost_of(*price, *ceiling))) return true;
      unpriced.push_back(ctx_.snapshot->providers[c.provider].config.name + "/" + c.model);
      return false;
    };
    auto keep = [&](std::vector<routing::Candidate>& list) {
      std::erase_if(list, [&](const routing::Candidate& c) { return !priced(c); });
    };
    keep(plan_.targets);
    keep(plan_.fallbacks);
    keep(plan_.context_fallbacks);
    if (!unpriced.empty()) {
      spdlog::debug("{} key {} has a budget: unpriced target(s) skipped: {}", ctx_.request_id,
                    key.name, redact_secrets(fmt::format("{}", fmt::join(unpriced, ", "))));
    }
    if (!plan_.targets.empty() || !plan_.fallbacks.empty()) return std::nullopt;
    Error e;
    e.code = ErrorCode::Forbidden;
    e.status = 403;
    e.type = "permission_error";
    e.code_str = "model_not_priced";
    e.param = "model";
    e.message = fmt::format(
        "Model '{}' has no price ({}), and key '{}' has a budget, so it cannot be metered. Ask "
        "the operator to add a `pricing:` entry for it (USD per 1M tokens), or a `pricing.default`.",
        req().model, fmt::join(unpriced, ", "), key.name);
    ctx_.record.error_code = e.code_str;
    return e;
  }

  void add_headers(const governance::RateLimitHeaders& h) {
    h.each([&](HeaderName name, std::string_view value) { ctx_.out.add_header(name, value); });
  }

  // The cost of what the answering deployment consumed (nullopt: no price known).
  std::optional<governance::Nanos> cost_of(const routing::Candidate& d,
                                            const providers::Usage& usage) {
    const auto* price = price_of(d);
    if (!price) return std::nullopt;
    return governance::cost_of(*price, usage);
  }

  // A deployment's price (null: none), held once per request: a key's checks, the reservation
  // and the bill ask for the same few deployments. The worker's memo answers for the catalog (a
  // catalog lookup lower-cases and searches strings). Valid while this call lives.
  const governance::ModelPrice* price_of(const routing::Candidate& c) {
    const auto& catalog = ctx_.snapshot->prices;
    if (!catalog) return nullptr;
    auto it = std::find_if(prices_.begin(), prices_.end(), [&](const KnownPrice& k) {
      return k.provider == c.provider && k.model == c.model;
    });
    if (it == prices_.end()) {
      thread_local governance::PriceMemo memo;
      prices_.push_back({c.provider, c.model,
                         memo.lookup(*catalog, ctx_.snapshot->providers[c.provider].config, c.model)});
      it = prices_.end() - 1;
    }
    return it->price.get();
  }

  // After the answer (success, error or a cut stream): bill what was consumed, exactly once.
  void settle() {
    persist_turn();
    auto& shared = ctx_.worker.shared();
    auto& rec = ctx_.record;
    // Correct the tokens-per-minute count only with reported usage (else keep the estimate).
    if (permit_.active() && (rec.input_tokens > 0 || rec.output_tokens > 0)) {
      permit_.settle_tokens(rec.input_tokens + rec.output_tokens);
    }
    permit_.release();
    if (reservation_.active()) {
      auto s = shared.governance.ledger.settle(std::move(reservation_), rec.cost_nano);
      rec.spend = std::move(s.deltas);
      shared.governance.add_total(rec.spend);
    }
    if (shared_hold_.active) {
      std::optional<int64_t> tokens;
      if (rec.input_tokens > 0 || rec.output_tokens > 0) tokens = rec.input_tokens + rec.output_tokens;
      if (ctx_.record.provider == "cache") tokens = 0;
      auto s = shared.redis->settle(ctx_.worker.index(), ctx_.worker.io(), shared.governance,
                                    std::move(shared_hold_), tokens, rec.cost_nano);
      rec.spend = std::move(s.deltas);
      shared.governance.add_total(rec.spend);
    }
    if (!rec.provider.empty() &&
        (rec.input_tokens > 0 || rec.output_tokens > 0 || rec.cost_nano.value_or(0) > 0)) {
      std::string_view model = rec.model;  // as asked: Metrics folds it
      if (rec.cost_nano) {
        shared.metrics.add_cost(model, rec.provider, rec.team, governance::nanos_to_usd(*rec.cost_nano));
      } else {
        shared.metrics.cost_unknown(model, rec.provider);
        spdlog::debug("{} no price for {}/{}: cost recorded as unknown", ctx_.request_id,
                      rec.provider, rec.upstream_model);
      }
    }
    // The key's tollgate_key_budget_remaining_usd is read from the ledger when /metrics is
    // scraped, not set here: a scrape is rare, a request is not.
  }

  // Whether a target answers in the client's own dialect (then it gets the client's body).
  bool speaks_dialect(const routing::ProviderRuntime& p) const {
    if (req().ingress == providers::Ingress::Responses) return p.adapter->native_responses(p.config);
    return p.adapter->speaks_natively(req().ingress);
  }

  void set_route_headers(const routing::ProviderRuntime& p, const routing::Candidate& c) {
    ctx_.out.add_header("x-tollgate-provider", p.config.name);
    ctx_.out.add_header("x-tollgate-model", c.model);
    ctx_.out.add_header("x-tollgate-attempts", std::to_string(attempt_count_));
  }

  // The health of a target as a whole: cooling only when every key of it cools.
  routing::HealthView target_health(const routing::Candidate& c) const {
    const auto& p = ctx_.snapshot->providers[c.provider];
    const auto& health = ctx_.worker.shared().health;
    routing::HealthView agg;
    agg.cooling = true;
    agg.cool_until = routing::SteadyClock::time_point::max();
    for (const auto& key_id : p.key_ids) {
      auto v = health.view(routing::deployment_id(p.config.name, key_id, c.model));
      agg.in_flight += v.in_flight;
      if (v.latency_ms >= 0 && (agg.latency_ms < 0 || v.latency_ms < agg.latency_ms)) {
        agg.latency_ms = v.latency_ms;
      }
      if (!v.cooling) agg.cooling = false;
      else agg.cool_until = std::min(agg.cool_until, v.cool_until);
    }
    if (!agg.cooling) agg.cool_until = {};
    return agg;
  }

  std::vector<uint32_t> key_order(const routing::ProviderRuntime& p, const std::string& model) {
    std::vector<routing::HealthView> views;
    for (const auto& key_id : p.key_ids) {
      views.push_back(ctx_.worker.shared().health.view(
          routing::deployment_id(p.config.name, key_id, model)));
    }
    return routing::order_keys(p.key_weights, views, ctx_.worker.next_random());
  }

  // Tries the plan's targets in order (strategy, cooldowns, fallbacks), each up to
  // 1 + router.retries times, rotating over the provider's keys, until one answers.
  // When the client goes away, the watcher (watch_client) closes the upstream connection and
  // ends a backoff: the operation in flight ends with an error, and this code sees client_gone_
  // and winds down (billing what was generated, closing the record).
  net::awaitable<void> attempts() {
    const auto& snap = *ctx_.snapshot;
    const auto& rc = snap.config.router;
    auto& health = ctx_.worker.shared().health;
    const routing::HealthPolicy policy{rc.allowed_fails, rc.cooldown, rc.retry_after_cap};
    std::optional<Error> last;
    UpstreamRateLimits rate_limits;
    auto order = routing::order_attempts(
        plan_, [this](const routing::Candidate& c) { return target_health(c); },
        ctx_.worker.next_random());
    bool context_fallback_used = false;
    for (size_t ti = 0; ti < order.size(); ++ti) {
      const routing::Candidate c = order[ti];
      const auto& p = snap.providers[c.provider];
      const auto keys = key_order(p, c.model);
      size_t key_pos = 0;
      bool next_target = false;
      for (int r = 0; r <= rc.retries && !next_target; ++r) {
        if (Clock::now() >= total_by_ || client_gone_) break;
        if (r > 0) {
          bool slept = co_await backoff(r, last);
          if (!slept) break;
        }
        const uint32_t k = keys[key_pos % keys.size()];
        const std::string id = routing::deployment_id(p.config.name, p.key_ids[k], c.model);
        ++attempt_count_;
        ctx_.record.provider = p.config.name;
        ctx_.record.upstream_model = c.model;
        health.on_start(id);
        auto started = Clock::now();
        auto outcome = co_await attempt(p, c, p.key(k));
        if (!outcome) {  // answered: success, or a stream that failed after its commit point
          if (!tried_.empty()) {
            tried_.push_back({p.config.name, c.model, ctx_.out.status(), "", "",
                              ms_since(started)});
          }
          ctx_.record.failover = !(c.provider == order[0].provider && c.model == order[0].model);
          if (answered_ok_) health.on_success(id, answer_latency_ms_);
          else health.on_neutral(id);
          finish_client_watch();
          co_return;
        }
        Error& e = *outcome;
        tried_.push_back({p.config.name, c.model, e.status, e.code_str, e.message,
                          ms_since(started)});
        if (!e.detail.empty()) {  // what the client does not see: the server log has it
          spdlog::warn("{} attempt {} ({}/{}) failed after {:.1f} ms: {}: {}", ctx_.request_id,
                       attempt_count_, p.config.name, redact_secrets(c.model, {}, 200),
                       ms_since(started), e.message, redact_secrets(e.detail, p.key(k)));
        } else {
          spdlog::debug("{} attempt {} failed after {:.1f} ms: {}", ctx_.request_id,
                        attempt_count_, ms_since(started), e.message);
        }
        rate_limits.note(e);
        if (client_gone_) {
          health.on_neutral(id);
          break;
        }
        if (e.status == 401 || e.status == 403) {
          // This provider key is refused: rest it, and try the provider's next key (no retry
          // of a key that cannot work; after the last key, the next target).
          health.on_failure(id, policy, rc.cooldown);
          ++key_pos;
          --r;
          next_target = key_pos >= keys.size();
          last = std::move(e);
          continue;
        }
        if (!e.retryable) {
          health.on_neutral(id);
          if (is_context_window_error(e) && !plan_.context_fallbacks.empty() &&
              !context_fallback_used) {
            context_fallback_used = true;
            order.erase(order.begin() + static_cast<long>(ti) + 1, order.end());
            order.insert(order.end(), plan_.context_fallbacks.begin(),
                         plan_.context_fallbacks.end());
            last = std::move(e);
            break;  // on to the context-window fallbacks
          }
          // The client's own mistake: pass the provider's answer through, no other attempt.
          finish_client_watch();
          ctx_.record.error_code = e.code_str.empty() ? "upstream_" + std::to_string(e.status)
                                                      : e.code_str;
          set_route_headers(p, c);
          co_await ctx_.out.send_error(e);
          co_return;
        }
        health.on_failure(id, policy, retry_after_of(e));
        ++key_pos;  // a retry goes to the next key, if the provider has several
        last = std::move(e);
      }
      if (Clock::now() >= total_by_ || client_gone_) break;
    }
    finish_client_watch();
    if (client_gone_) co_return;
    ctx_.out.add_header("x-tollgate-attempts", std::to_string(attempt_count_));
    if (rate_limits.all()) {
      // Every provider said "slow down": so does Tollgate, with the soonest Retry-After they
      // gave, so that SDKs back off instead of hammering (a 502 would be retried at once).
      Error limited = Error::upstream_rate_limited(
          fmt::format("Every provider for this model is rate limiting Tollgate; retry later. "
                      "All {} attempt(s) failed: {}",
                      attempt_count_, failure_list()),
          rate_limits.soonest_seconds());
      ctx_.record.error_code = limited.code_str;
      co_await ctx_.out.send_error(limited);
      co_return;
    }
    Error all;
    bool timeout = (last && last->code == ErrorCode::UpstreamTimeout) || Clock::now() >= total_by_;
    if (last && (last->status == 401 || last->status == 403) && tried_.size() == 1) {
      timeout = false;
    }
    all.code = timeout ? ErrorCode::AllFailedTimeout : ErrorCode::AllFailed;
    all.status = timeout ? 504 : 502;
    all.type = "api_error";
    all.code_str = timeout ? "upstream_timeout" : "upstream_error";
    all.message = fmt::format("All {} attempt(s) failed: {}", attempt_count_,
                              tried_.empty() ? std::string("request deadline passed")
                                             : failure_list());
    ctx_.record.error_code = all.code_str;
    co_await ctx_.out.send_error(all);
  }

  static std::optional<std::chrono::milliseconds> retry_after_of(const Error& e) {
    if (e.retry_after.empty()) return std::nullopt;
    double secs = std::atof(e.retry_after.c_str());
    if (secs <= 0) return std::nullopt;
    return std::chrono::milliseconds(static_cast<int64_t>(secs * 1000));
  }

  // Exponential backoff with jitter, honouring the upstream's Retry-After up to
  // router.retry_after_cap; never past the request's total deadline.
  net::awaitable<bool> backoff(int retry, const std::optional<Error>& last) {
    auto delay = std::chrono::milliseconds(100 << std::min(retry - 1, 6));
    delay += std::chrono::milliseconds(ctx_.worker.next_random() % (delay.count() / 2 + 1));
    if (last) {
      if (auto ra = retry_after_of(*last)) {
        delay = std::min(*ra, ctx_.snapshot->config.router.retry_after_cap);
      }
    }
    if (Clock::now() + delay >= total_by_) co_return false;
    net::steady_timer t(ctx_.worker.io(), delay);
    backoff_timer_ = &t;
    auto [ec] = co_await t.async_wait(kTuple);
    backoff_timer_ = nullptr;
    co_return !ec && !client_gone_;
  }

  // One upstream call. Returns nullopt when the client has been answered, else why it failed
  // (nothing has been sent to the client then).
  net::awaitable<std::optional<Error>> attempt(const routing::ProviderRuntime& p,
                                               const routing::Candidate& d,
                                               const std::string& api_key) {
    auto now = Clock::now();
    const bool native = speaks_dialect(p);
    if (auto refused = call_->refuse(native)) co_return refused;
    const providers::ClientRequest& creq = call_->request_for(native);
    if (!p.adapter->supports(creq.endpoint)) {
      Error e = Error::bad_request(fmt::format("provider '{}' ({}) does not support the {} endpoint",
                                               p.config.name, config::to_string(p.config.type),
                                               providers::to_string(creq.endpoint)));
      e.provider = p.config.name;
      e.retryable = true;  // another target may support it
      co_return e;
    }
    auto req = p.adapter->build_request(creq, d.model, build_context(p, api_key));
    if (!req.dropped_params.empty()) {
      if (strict_) {
        Error e = Error::bad_request(
            fmt::format("provider '{}' cannot take these parameters: {} (the model entry sets "
                        "strict: true)",
                        p.config.name, fmt::join(req.dropped_params, ", ")));
        e.code_str = "unsupported_parameter";
        e.param = req.dropped_params.front();
        co_return e;
      }
      for (const auto& param : req.dropped_params) {
        spdlog::warn("{} provider {} cannot take '{}': dropped", ctx_.request_id, p.config.name,
                     param);
        ctx_.worker.shared().metrics.dropped_param(p.config.name, param);
      }
    }
    const upstream::Target target = target_of(p);
    auto connect_by = min_tp(now + p.timeouts.connect, total_by_);
    auto head_by = creq.stream ? min_tp(now + p.timeouts.first_token, total_by_) : total_by_;
    auto sent = co_await ctx_.worker.upstream().send(target, req, connect_by, head_by, &slot_);
    if (!sent.exchange) {
      upstream_ms_ += ms_since(now);
      co_return sent.error;
    }
    auto& ex = *sent.exchange;
    int status = ex.status();
    if (status < 200 || status > 299) {
      std::string body;
      auto err = co_await ex.read_all(body, kMaxUpstreamErrorBody,
                                      min_tp(Clock::now() + p.timeouts.idle, total_by_));
      upstream_ms_ += ms_since(now);
      std::string retry_after(ex.header("retry-after"));
      if (auto ms = ex.header("retry-after-ms"); !ms.empty()) {
        retry_after = fmt::format("{:.3f}", std::atof(std::string(ms).c_str()) / 1000.0);
      }
      co_return client_safe_upstream_error(
          p.adapter->map_error(p.config.name, status, body, retry_after), api_key);
    }
    if (call_->relay() == dialects::Call::Relay::Bytes) {
      co_return co_await relay_bytes(ex, p, d, now, min_tp(now + p.timeouts.first_token, total_by_));
    }
    if (!creq.stream) co_return co_await relay_whole(ex, p, d, now, creq, native);
    co_return co_await relay_stream(ex, p, d, now, head_by, creq, native);
  }

  net::awaitable<std::optional<Error>> relay_whole(upstream::Exchange& ex,
                                                   const routing::ProviderRuntime& p,
                                                   const routing::Candidate& d,
                                                   Clock::time_point started,
                                                   const providers::ClientRequest& creq,
                                                   bool native) {
    // The provider has produced the answer (its head came) and bills it, whether or not the
    // client stays: read it to the end even if the client leaves, so that it is billed.
    keep_upstream_ = true;
    std::string body;
    auto err = co_await ex.read_all(body, kMaxUpstreamBody, total_by_);
    keep_upstream_ = false;
    upstream_ms_ += ms_since(started);
    if (err && client_gone_) {
      // Cut off by the deadline with nobody waiting: charge the estimate of what came.
      providers::Usage usage;
      if (auto units = call_->ceiling()) {
        usage = *units;  // a media call is billed by its units (images, minutes), not tokens
      } else {
        usage.input = governance::estimate_input_tokens(ctx_.request.body().size());
        usage.output = governance::estimate_input_tokens(body.size());
      }
      usage.present = true;
      record_usage(usage);
      ctx_.record.usage_estimated = true;
      ctx_.record.cost_nano = cost_of(d, usage);
      co_return std::nullopt;
    }
    if (err) co_return err;
    const auto relay = call_->relay();
    // Never hand a broken body to the client as a success (a text transcript is not JSON).
    // The validator decides as the parser would, at a fraction of its cost.
    if (relay == dialects::Call::Relay::Json && !providers::json_scan::valid(body)) {
      co_return Error::upstream_protocol(p.config.name, "upstream answered 200 with malformed JSON");
    }
    answer_latency_ms_ = ms_since(started);
    answered_ok_ = true;
    providers::Response resp;
    if (providers::is_media(creq.endpoint)) {  // passed through; billed by its units
      resp.body = std::move(body);
      ctx_.record.usage_estimated = call_->meter(resp.body, resp.usage);
    } else {
      resp = p.adapter->translate_response(creq, std::move(body));
    }
    if (resp.error) {
      answered_ok_ = false;
      co_return resp.error;
    }
    record_usage(resp.usage);
    ctx_.record.cost_nano = cost_of(d, resp.usage);
    if (ctx_.record.cost_nano) {
      ctx_.out.add_header("x-tollgate-cost-usd",
                          governance::nanos_to_usd_string(*ctx_.record.cost_nano));
    }
    resp.body = call_->render(std::move(resp.body), native);
    set_route_headers(p, d);
    add_overhead_header();
    if (cache_store_) {
      cache::CachedAnswer answer{resp.body, p.config.name, d.model};
      if (auto* shared_cache = ctx_.worker.shared().redis) {
        shared_cache->cache_put(ctx_.worker.index(), ctx_.worker.io(), cache_key_, answer,
                                ctx_.snapshot->config.cache.ttl);
      }
      ctx_.worker.shared().cache.put(cache_key_, std::move(answer), Clock::now());
    }
    if (ctx_.snapshot->config.logs.bodies) {
      ctx_.record.response_body =
          resp.body.substr(0, ctx_.snapshot->config.logs.max_body_bytes);
    }
    if (client_gone_) co_return std::nullopt;  // billed above; nobody to send it to
    persist_turn();  // before the client has it: its next turn may come at once, on any worker
    std::string content_type = "application/json";
    if (relay == dialects::Call::Relay::Raw) content_type = upstream_content_type(ex, "text/plain; charset=utf-8");
    co_await ctx_.out.send(200, content_type, resp.body);
    co_return std::nullopt;
  }

  // The upstream's Content-Type for a body relayed as it is (audio, text), if it is sane.
  static std::string upstream_content_type(upstream::Exchange& ex, std::string_view fallback) {
    std::string_view ct = ex.header("content-type");
    const bool sane = !ct.empty() && ct.size() < 200 &&
                      std::none_of(ct.begin(), ct.end(), [](char c) {
                        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
                      });
    return std::string(sane ? ct : fallback);
  }

  // A byte stream (speech audio, a streamed transcript): relayed to the client as it arrives,
  // with the upstream's content type. The commit point is the first bytes (failover before
  // them); a stream cut after it has no error event of its own, so the client's connection is
  // closed without the body's last chunk: a truncated body, never a silent success.
  net::awaitable<std::optional<Error>> relay_bytes(upstream::Exchange& ex,
                                                   const routing::ProviderRuntime& p,
                                                   const routing::Candidate& d,
                                                   Clock::time_point started,
                                                   Clock::time_point first_by) {
    std::string in;
    std::optional<Error> err;
    bool more = true;
    while (in.empty() && more) {
      more = co_await ex.read_some(in, first_by, err, /*drain=*/false);
      if (err) {
        upstream_ms_ += ms_since(started);
        co_return err;
      }
    }
    answer_latency_ms_ = ms_since(started);
    answered_ok_ = true;
    set_route_headers(p, d);
    add_overhead_header();
    std::string tail;  // the last bytes, where a streamed transcript reports its usage
    constexpr size_t kTail = 64 * 1024;
    auto keep_tail = [&](std::string_view bytes) {
      if (bytes.size() >= kTail) {
        tail.assign(bytes.substr(bytes.size() - kTail));
      } else {
        if (tail.size() + bytes.size() > kTail) tail.erase(0, tail.size() + bytes.size() - kTail);
        tail.append(bytes);
      }
    };
    auto bill = [&] {
      providers::Usage usage;
      ctx_.record.usage_estimated = call_->meter(tail, usage);
      record_usage(usage);
      ctx_.record.cost_nano = cost_of(d, usage);
    };
    const std::string content_type = upstream_content_type(ex, "application/octet-stream");
    bool ok = co_await ctx_.out.begin_stream(content_type);
    if (ok) ctx_.record.ttft_ms = ms_since(ctx_.start);
    keep_tail(in);
    if (ok) ok = co_await ctx_.out.write_chunk(in);
    const auto idle = p.timeouts.idle;
    while (ok && more && !client_gone_) {
      in.clear();
      more = co_await ex.read_some(in, min_tp(Clock::now() + idle, total_by_), err);
      if (err) break;
      keep_tail(in);
      if (!in.empty()) ok = co_await ctx_.out.write_chunk(in);
    }
    upstream_ms_ += ms_since(started);
    bill();
    if (!ok || client_gone_ || err) {
      if (err && ok && !client_gone_) {
        ctx_.record.error_code = err->code_str.empty() ? "upstream_error" : err->code_str;
        spdlog::warn("{} {}/{} byte stream broke after its first bytes: {}", ctx_.request_id,
                     p.config.name, log_safe(d.model), err->message);
      }
      ex.abort();
      ctx_.out.set_keep_alive(false);  // no last chunk: the client sees a truncated body
      co_return std::nullopt;
    }
    co_await ctx_.out.end_stream();
    co_return std::nullopt;
  }

  // Streams: failover stays possible until the first client event is ready (the commit point).
  net::awaitable<std::optional<Error>> relay_stream(upstream::Exchange& ex,
                                                    const routing::ProviderRuntime& p,
                                                    const routing::Candidate& d,
                                                    Clock::time_point started,
                                                    Clock::time_point first_by,
                                                    const providers::ClientRequest& creq,
                                                    bool native) {
    auto translator = p.adapter->make_stream_translator(creq);
    std::string in, out;
    providers::StreamStatus status = providers::StreamStatus::Continue;
    std::optional<Error> err;
    bool upstream_ended = false;

    auto pump = [&]() {  // translate what arrived into `out`
      status = translator->on_bytes(in, out);
      in.clear();
    };
    auto at_end = [&]() {  // the upstream body ended: a normal end for this provider?
      upstream_ended = true;
      if (status == providers::StreamStatus::Continue) status = translator->on_end(out);
    };

    // Pre-commit: read until the translator produced the first client bytes. One upstream chunk
    // at a time: whether an error event right after the first content fails over must not
    // depend on how the bytes were split.
    while (out.empty() && status == providers::StreamStatus::Continue) {
      bool more = co_await ex.read_some(in, first_by, err, /*drain=*/false);
      if (err) {
        upstream_ms_ += ms_since(started);
        co_return err;
      }
      if (!more) {
        at_end();
        break;
      }
      pump();
    }
    if (out.empty() || status == providers::StreamStatus::UpstreamError ||
        status == providers::StreamStatus::Malformed) {
      upstream_ms_ += ms_since(started);
      if (status == providers::StreamStatus::Malformed) {
        co_return Error::upstream_protocol(p.config.name, "upstream sent a malformed first event");
      }
      if (status == providers::StreamStatus::UpstreamError) {
        co_return Error::upstream_protocol(p.config.name,
                                           "upstream sent an error event before any content");
      }
      if (status == providers::StreamStatus::Done) {
        // Done with no content at all: still a valid (empty) stream; commit it.
      } else {
        co_return Error::upstream_protocol(p.config.name,
                                           "upstream stream ended before its first event");
      }
    }

    // Commit.
    answer_latency_ms_ = ms_since(started);
    answered_ok_ = true;  // a failure after this point is the stream's, not a failed attempt
    set_route_headers(p, d);
    upstream_ms_ += ms_since(started);  // the wait for the head and first event
    started = Clock::now();
    add_overhead_header();
    egress_ = call_->egress(native);
    providers::OutputMeter meter;  // what was generated, should the usage never come
    auto bill = [&] {
      bill_stream(p, d, translator->usage(), meter,
                  status == providers::StreamStatus::Done);
    };
    if (!co_await ctx_.out.begin_stream()) {
      bill();  // the first event was generated: the provider bills it
      co_return std::nullopt;
    }
    ctx_.record.ttft_ms = ms_since(ctx_.start);
    meter.feed(out);
    bool ok = co_await ctx_.out.write_chunk(egress(out));
    out.clear();
    const auto idle = p.timeouts.idle;
    while (ok && status == providers::StreamStatus::Continue && !upstream_ended) {
      bool more = co_await ex.read_some(in, min_tp(Clock::now() + idle, total_by_), err);
      if (err) break;
      if (!more) {
        at_end();
        meter.feed(out);
        if (!out.empty()) ok = co_await ctx_.out.write_chunk(egress(out));
        out.clear();
        break;
      }
      pump();
      if (!out.empty()) {
        meter.feed(out);
        ok = co_await ctx_.out.write_chunk(egress(out));
        out.clear();
      }
    }
    upstream_ms_ += ms_since(started);
    // Billed whether or not the client asked for usage, and for what a cut stream consumed.
    bill();
    if (!ok || client_gone_) {  // client gone: stop the upstream now
      ex.abort();
      co_return std::nullopt;
    }
    if (status == providers::StreamStatus::Done) {
      // Read the upstream body to its end (the chunked terminator follows the last event), so
      // the connection can go back to the pool before the client sends its next request.
      std::string rest;
      std::optional<Error> drain_err;
      auto drain_by = min_tp(Clock::now() + std::chrono::milliseconds(500), total_by_);
      while (!ex.done() && rest.size() < 65536) {
        if (!co_await ex.read_some(rest, drain_by, drain_err)) break;
      }
      std::string tail = stream_tail();
      persist_turn();  // before the terminal event reaches the client (see relay_whole)
      if (co_await ctx_.out.write_chunk(tail)) co_await ctx_.out.end_stream();
      co_return std::nullopt;
    }
    if (status != providers::StreamStatus::UpstreamError) {
      // Never a silently truncated success: tell the client the stream broke.
      Error e = err ? *err
                    : Error::upstream_protocol(p.config.name,
                                               "upstream closed the stream before it finished");
      e.message = fmt::format("Stream interrupted: {}", e.message);
      ctx_.record.error_code = e.code_str;
      std::string event = stream_error_event(e);
      co_await ctx_.out.write_chunk(event);
    } else {
      ctx_.record.error_code = "upstream_stream_error";
    }
    ex.abort();
    co_await ctx_.out.end_stream();
    co_return std::nullopt;
  }

  // Client bytes in the client's schema, from the adapter's output.
  std::string_view egress(std::string& adapter_bytes) {
    converted_.clear();
    egress_->feed(adapter_bytes, converted_);
    persist_turn();  // a native stream's terminal event is in these bytes: stored before sent
    return converted_;
  }

  // What ends a successful stream: OpenAI's [DONE], Anthropic's closing events, ...
  std::string stream_tail() {
    std::string tail;
    egress_->finish(tail);
    return tail;
  }

  // The event that ends a broken stream, in the client's schema (never a success).
  std::string stream_error_event(const Error& e) {
    std::string event;
    egress_->fail(e, event);
    return event;
  }

  // Time Tollgate itself spent so far: everything but waiting on upstreams.
  void add_overhead_header() {
    const double overhead = std::max(0.0, ms_since(ctx_.start) - upstream_ms_);
    ctx_.out.add_header("x-tollgate-overhead-ms", NumberText(overhead, 3));
  }

  // Bills a stream: the provider's usage when it came whole, else an estimate marked as such:
  // the input from the request's size and the output counted from the events relayed (a client
  // that hangs up before the usage chunk, which OpenAI-style providers send last, still pays
  // for what was generated; so does a provider that never reports usage).
  void bill_stream(const routing::ProviderRuntime& p, const routing::Candidate& d,
                   providers::Usage usage, const providers::OutputMeter& meter, bool finished) {
    bool estimated = false;
    if (!usage.present) {
      usage.present = true;
      usage.input = governance::estimate_input_tokens(ctx_.request.body().size());
      usage.output = meter.tokens();
      estimated = true;
    } else if (!finished && meter.tokens() > usage.output) {
      usage.output = meter.tokens();  // cut before the final count (Anthropic's message_delta)
      estimated = true;
    }
    record_usage(usage);
    ctx_.record.usage_estimated = estimated;
    ctx_.record.cost_nano = cost_of(d, usage);
  }

  void record_usage(const providers::Usage& u) {
    ctx_.record.input_tokens = u.input;
    ctx_.record.output_tokens = u.output;
    ctx_.record.cached_tokens = u.cached_read;
    ctx_.record.reasoning_tokens = u.reasoning;
    ctx_.record.cache_write_tokens = u.cache_write;
  }

  // Watches the client's socket while the attempts run, with a plain handler rather than a
  // coroutine raced against the attempts (a parallel group's frames, state and cancellation
  // slots on every request). A one-byte peek, not async_wait: the reactor queues a read on a
  // socket it knows is drained without a system call, where a wait re-arms epoll each time. The
  // handler reaches the call only through watch_, which the end of the attempts and ~LlmCall
  // clear: a peek that completed just before its cancel runs later.
  void watch_client() {
    if (!watch_) watch_ = std::make_shared<ClientWatch>(ClientWatch{this, 0});
    ctx_.stream.socket().async_receive(
        net::buffer(&watch_->peeked, 1), net::socket_base::message_peek,
        [w = watch_](boost::system::error_code ec, size_t n) {
          if (w->call && ec != net::error::operation_aborted) w->call->on_client_readable(ec, n);
        });
  }

  void on_client_readable(boost::system::error_code ec, size_t n) {
    if (attempts_done_) return;
    if (!ec && n > 0) return;  // a pipelined request is waiting: we cannot tell more, stop
    client_gone_ = true;       // end of stream, or a reset
    if (keep_upstream_) return;  // a non-streamed answer is arriving: it is billed, let it finish
    slot_.fire();                // the exchange in flight fails at once
    if (backoff_timer_) backoff_timer_->cancel();
  }

  void finish_client_watch() {
    attempts_done_ = true;
    if (watch_) watch_->call = nullptr;
    boost::system::error_code ec;
    ctx_.stream.socket().cancel(ec);  // ends the watcher's wait even without per-op cancellation
    ctx_.record.attempts = attempt_count_;
    ctx_.record.upstream_ms = upstream_ms_;
    if (!tried_.empty()) ctx_.record.attempt_log = attempt_log(tried_);
  }

  // "provider/model: message; ..." of the failed attempts (when none answered, all of tried_),
  // for the client's error message.
  std::string failure_list() const {
    std::string out;
    for (const auto& t : tried_) {
      if (!out.empty()) out += "; ";
      fmt::format_to(std::back_inserter(out), "{}/{}: {}", t.provider, t.model, t.message);
    }
    return out;
  }

  // One attempt, for the request log's detail.
  struct Tried {
    std::string provider, model;
    int status = 0;
    std::string error, message;  // the code and message the client would have seen
    double ms = 0;
  };

  static std::string attempt_log(const std::vector<Tried>& tried) {
    json log = json::array();
    for (const auto& t : tried) {
      json a = {{"provider", t.provider}, {"model", t.model}, {"status", t.status},
                {"ms", std::round(t.ms * 1000) / 1000}};
      if (!t.error.empty()) a["error"] = t.error;
      if (!t.message.empty()) a["message"] = t.message.substr(0, 500);
      log.push_back(std::move(a));
    }
    return log.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  RequestContext& ctx_;
  const dialects::Codec& codec_;
  providers::Endpoint endpoint_;  // for the cache key
  std::unique_ptr<dialects::Call> call_;  // the client's request, in its dialect
  routing::RoutePlan plan_;
  Clock::time_point total_by_;
  upstream::AbortSlot slot_;
  governance::Permit permit_;            // rate-limit slot of a virtual key
  governance::Reservation reservation_;  // budget reserved for this request
  std::unique_ptr<providers::json_scan::TopMembers> members_;  // the body's top-level members
  redis::Hold shared_hold_;  // or both, held across instances (store.redis)
  std::unique_ptr<dialects::Egress> egress_;  // the client side of a committed stream
  bool turn_saved_ = false;                    // persist_turn has stored this answer
  std::string converted_;
  std::string cache_key_;     // the response cache's key for this request
  bool cache_store_ = false;  // store a successful answer under cache_key_
  int attempt_count_ = 0;
  std::vector<Tried> tried_;  // kept once an attempt failed (the first answering: nothing)
  struct KnownPrice {
    uint32_t provider;
    std::string model;
    std::shared_ptr<const governance::ModelPrice> price;  // null: no price
  };
  std::vector<KnownPrice> prices_;  // price_of's lookups so far
  int64_t choices_ = 1;  // answers asked for (n, best_of)
  bool strict_ = false;  // the model entry refuses parameters a provider cannot take
  bool answered_ok_ = false;
  double answer_latency_ms_ = 0;
  double upstream_ms_ = 0;
  bool client_gone_ = false;
  bool keep_upstream_ = false;  // reading a produced answer: a gone client does not abort it
  bool attempts_done_ = false;
  struct ClientWatch {
    LlmCall* call;  // null once the attempts are done
    char peeked;    // the peek's buffer
  };
  std::shared_ptr<ClientWatch> watch_;
  net::steady_timer* backoff_timer_ = nullptr;  // while backoff() waits
};

}  // namespace

net::awaitable<void> run_llm_call(RequestContext& ctx, const dialects::Codec& codec,
                                  providers::Endpoint endpoint) {
  LlmCall call(ctx, codec, endpoint);
  co_await call.run();
}

}  // namespace tg::proxy
