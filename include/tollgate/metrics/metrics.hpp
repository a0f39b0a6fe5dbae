#pragma once
// Prometheus metrics (prometheus-cpp core; /metrics is served by our own server). Thread-safe.
// Labels are bounded: model names come from the config or are folded into "other".

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "tollgate/store/store.hpp"

namespace tg::metrics {

struct RequestSample {
  std::string_view model;     // as asked: observe() folds it into a bounded label
  std::string_view provider;  // "" when none was reached
  int status = 0;
  double duration_s = 0;
  double overhead_s = -1;     // < 0: unknown
  double ttft_s = -1;         // < 0: not a stream or no token
  double upstream_s = -1;
  int64_t input_tokens = 0, output_tokens = 0, cached_tokens = 0, reasoning_tokens = 0;
  int64_t cache_write_tokens = 0;
  int attempts = 0;
  bool failover = false;  // answered by another target than the first tried
};

class Metrics {
 public:
  Metrics();
  void observe(const RequestSample& s);
  void in_flight_add(int delta);
  void cache_lookup(bool hit);  // tollgate_cache_hits_total / tollgate_cache_misses_total
  void connection_add(int delta);
  // The param label takes OpenAI's parameter names; any other (client-chosen) name is "other".
  void dropped_param(std::string_view provider, std::string_view param);
  // `model` as asked, folded here as observe() does.
  void add_cost(std::string_view model, std::string_view provider, std::string_view team, double usd);
  void cost_unknown(std::string_view model, std::string_view provider);
  // Every key with a budget, as it stands (set when /metrics is scraped): keys no longer listed
  // lose their series.
  void set_budgets(const std::vector<std::pair<std::string, double>>& remaining);
  // The configured model names and provider names (start, reload). The models' failover series
  // exist from the start, at 0. A model or a provider no longer configured loses its series
  // (removed once no thread is still observing under the old names: see Reading in
  // metrics.cpp); what is observed for it afterwards counts under "other". Not called
  // concurrently.
  void set_known(std::unordered_set<std::string> models, std::unordered_set<std::string> providers);
  // tollgate_deployment_up{provider,model}: 1, or 0 while every key of it cools down.
  // `labels` are the configured "provider/model" pairs; `down` those cooling now. A deployment
  // no longer configured loses its series.
  void set_deployments(const std::vector<std::string>& labels,
                       const std::unordered_set<std::string>& down);
  // tollgate_store_backlog_rows, tollgate_store_commit_failures_total, tollgate_store_accepting
  // (set at scrape time) and tollgate_store_refused_requests_total (503 store_unavailable).
  void set_store(const store::StoreHealth& h);
  void store_refused();
  // store.redis: errors so far (timeouts, lost connections, bad replies) and whether it is up.
  void set_redis(uint64_t errors, bool up);
  std::string serialize() const;  // Prometheus text format

 private:
  struct Series;  // the children of one (model, provider), resolved once per thread
  class Reading;  // marks a thread as observing, for set_known's removal
  // The children for `asked` (a model name as asked, folded into "other" unless configured)
  // and `provider`, from this thread's cache.
  Series& series(const Reading& reading, std::string_view asked, std::string_view provider);
  const uint64_t id_;  // tells this registry's cached children from another instance's
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Counter>* tokens_;
  prometheus::Family<prometheus::Counter>* failovers_;
  prometheus::Family<prometheus::Counter>* retries_;
  prometheus::Counter* retries_total_;
  prometheus::Family<prometheus::Gauge>* deployment_up_;
  prometheus::Family<prometheus::Counter>* dropped_params_;
  prometheus::Family<prometheus::Counter>* cost_;
  prometheus::Family<prometheus::Counter>* cost_unknown_;
  prometheus::Family<prometheus::Gauge>* budget_remaining_;
  // Histograms by {model, provider}, as tollgate_requests_total.
  prometheus::Family<prometheus::Histogram>* duration_;
  prometheus::Family<prometheus::Histogram>* overhead_;
  prometheus::Family<prometheus::Histogram>* ttft_;
  prometheus::Family<prometheus::Histogram>* upstream_;
  prometheus::Gauge* in_flight_;
  prometheus::Counter* cache_hits_;
  prometheus::Counter* cache_misses_;
  prometheus::Gauge* connections_;
  prometheus::Gauge* store_backlog_;
  prometheus::Gauge* store_accepting_;
  prometheus::Counter* store_commit_failures_;  // mirrors the store's count (under store_mu_)
  std::mutex store_mu_;
  prometheus::Counter* store_refused_;
  prometheus::Counter* redis_errors_ = nullptr;
  prometheus::Gauge* redis_up_ = nullptr;
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using NameSet = std::unordered_set<std::string, NameHash, std::equal_to<>>;
  std::mutex budgets_mu_;
  // Each key's budget series, found by name per request (Family::Add builds a label map and
  // hashes it); removed together with the series by set_budgets.
  std::unordered_map<std::string, prometheus::Gauge*, NameHash, std::equal_to<>> budget_series_;
  std::atomic<std::shared_ptr<const NameSet>> known_models_;  // read per request, without a lock
  std::atomic<std::shared_ptr<const NameSet>> known_providers_;  // the same, for providers
  // `provider` if configured (or "none"), else "other".
  std::string_view known_provider(std::string_view provider) const;
  // Removes every series whose `label` is one of `names` (no thread observes under them any more).
  void remove_series(std::string_view label, const NameSet& names);
  std::mutex deployments_mu_;
  std::unordered_map<std::string, prometheus::Gauge*> deployment_series_;  // by "provider/model"
};

}  // namespace tg::metrics
