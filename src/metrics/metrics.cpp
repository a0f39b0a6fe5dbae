#include "tollgate/metrics/metrics.hpp"

#include <array>
#include <atomic>
#include <map>
#include <thread>
#include <unordered_map>
#include <utility>

#include <prometheus/text_serializer.h>

namespace tg::metrics {
namespace {

using prometheus::Histogram;

// From 100 µs (gateway overhead) to 10 min (long streams).
const Histogram::BucketBoundaries kLatencyBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                      0.005,  0.01,    0.025,  0.05,  0.1,
                                                      0.25,   0.5,     1,      2.5,   5,
                                                      10,     30,      60,     120,   300,
                                                      600};
const Histogram::BucketBoundaries kOverheadBuckets = {0.00001, 0.000025, 0.00005, 0.0001,
                                                       0.00025, 0.0005,   0.001,   0.0025,
                                                       0.005,   0.01,     0.05,    0.1};

std::string status_label(int status) { return std::to_string(status); }

// Request parameters a provider may not take. A dropped name outside this list came from the
// client's body and would make one series per made-up key: it is counted as "other".
constexpr std::string_view kKnownParams[] = {
    "audio", "best_of", "dimensions", "echo", "encoding_format", "frequency_penalty",
    "function_call", "functions", "logit_bias", "logprobs", "max_completion_tokens",
    "max_tokens", "metadata", "modalities", "n", "parallel_tool_calls", "prediction",
    "presence_penalty", "reasoning_effort", "response_format", "seed", "service_tier", "stop",
    "store", "stream_options", "suffix", "temperature", "tool_choice", "tools", "top_k",
    "top_logprobs", "top_p", "user", "web_search_options", "thinking", "image_url",
    "input_audio", "file", "refusal", "system", "stop_sequences"};

std::string_view param_label(std::string_view param) {
  for (auto known : kKnownParams) {
    if (known == param) return known;
  }
  return "other";
}

std::atomic<uint64_t> next_instance{1};

enum TokenKind { kInput, kOutput, kCached, kReasoning, kCacheWrite, kTokenKinds };
constexpr const char* kTokenKindNames[kTokenKinds] = {"input", "output", "cached", "reasoning",
                                                      "cache_write"};

struct TransparentHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Removing a model's or a provider's series (a name dropped from the config) must not free a
// child that another thread is incrementing, or one that it keeps in its cache of children
// (Metrics::series). Each thread that observes publishes the epoch it reads under while it does
// (a store and a load, no lock: two workers never contend); set_known publishes the new names,
// moves the epoch on, waits until no thread still reads under an older epoch (an observation
// lasts microseconds), and only then removes. A thread starting an observation afterwards sees
// the new names (the removed ones fold into "other") and empties its cache of children first.
struct ReaderSlot {
  std::atomic<uint64_t> active{0};  // the epoch read under; 0 outside an observation
};
std::atomic<uint64_t> g_epoch{1};
std::mutex& readers_mu() {
  static std::mutex mu;
  return mu;
}
std::vector<std::shared_ptr<ReaderSlot>>& readers() {  // a slot per thread that ever observed
  static std::vector<std::shared_ptr<ReaderSlot>> all;
  return all;
}
ReaderSlot& my_slot() {
  thread_local std::shared_ptr<ReaderSlot> slot = [] {
    auto s = std::make_shared<ReaderSlot>();
    std::lock_guard lock(readers_mu());
    readers().push_back(s);
    return s;
  }();
  return *slot;
}

// Returns once every thread that was observing under an epoch before `epoch` has finished.
void wait_for_readers(uint64_t epoch) {
  std::lock_guard lock(readers_mu());
  auto& all = readers();
  std::erase_if(all, [](const auto& s) { return s.use_count() == 1; });  // their threads ended
  for (const auto& s : all) {
    for (;;) {
      const uint64_t a = s->active.load(std::memory_order_seq_cst);
      if (a == 0 || a >= epoch) break;
      std::this_thread::yield();
    }
  }
}

}  // namespace

class Metrics::Reading {
 public:
  Reading() : slot_(my_slot()) {
    uint64_t e = g_epoch.load(std::memory_order_seq_cst);
    for (;;) {  // published, then checked: either the remover sees us, or we see its epoch
      slot_.active.store(e, std::memory_order_seq_cst);
      const uint64_t now = g_epoch.load(std::memory_order_seq_cst);
      if (now == e) break;
      e = now;
    }
    epoch_ = e;
  }
  ~Reading() { slot_.active.store(0, std::memory_order_release); }
  Reading(const Reading&) = delete;
  Reading& operator=(const Reading&) = delete;
  uint64_t epoch() const { return epoch_; }

 private:
  ReaderSlot& slot_;
  uint64_t epoch_ = 0;
};

// Family::Add takes the family's mutex, builds a label map and hashes it: ten of them per
// request were measurable. So each thread resolves a series' children once per (registry,
// model, provider) and keeps the pointers, until set_known removes a model's or a provider's
// series (the epoch moves on and every thread's cache is emptied before its next use: see
// Reading). Labels are bounded (configured models or "other", configured providers or "other"),
// and so is this cache. Children created lazily (a status, a token kind, a team) keep the old
// behaviour: a series appears on its first observation.
struct Metrics::Series {
  prometheus::Histogram* duration = nullptr;
  prometheus::Histogram* overhead = nullptr;
  prometheus::Histogram* ttft = nullptr;
  prometheus::Histogram* upstream = nullptr;
  std::array<prometheus::Counter*, kTokenKinds> tokens{};
  prometheus::Counter* failovers = nullptr;
  prometheus::Counter* cost_unknown = nullptr;
  std::vector<std::pair<int, prometheus::Counter*>> requests;                 // by status
  std::unordered_map<std::string, prometheus::Counter*, TransparentHash, std::equal_to<>>
      cost_by_team;
  std::string model, provider;  // the labels, for the children created later
};

namespace {
prometheus::Histogram* child(prometheus::Histogram*& slot,
                             prometheus::Family<prometheus::Histogram>* family,
                             const std::string& model, const std::string& provider,
                             const prometheus::Histogram::BucketBoundaries& buckets) {
  if (!slot) slot = &family->Add({{"model", model}, {"provider", provider}}, buckets);
  return slot;
}
}  // namespace

Metrics::Series& Metrics::series(const Reading& reading, std::string_view asked,
                                 std::string_view provider) {
  thread_local std::unordered_map<std::string, Series, TransparentHash, std::equal_to<>> cache;
  thread_local uint64_t cache_epoch = 0;
  thread_local std::string key;
  if (cache_epoch != reading.epoch()) {  // series may have been removed since: resolve again
    cache.clear();
    cache_epoch = reading.epoch();
  }
  // Read after the epoch is published (see Reading): a name removed since folds into "other".
  const std::string_view model =
      known_models_.load()->contains(asked) ? asked : std::string_view("other");
  provider = known_provider(provider);
  key.assign(reinterpret_cast<const char*>(&id_), sizeof id_);
  key.append(model).push_back('\x1f');
  key.append(provider);
  if (auto it = cache.find(std::string_view(key)); it != cache.end()) return it->second;
  Series& s = cache[key];
  s.model = model;
  s.provider = provider;
  return s;
}

Metrics::Metrics()
    : id_(next_instance.fetch_add(1, std::memory_order_relaxed)),
      registry_(std::make_shared<prometheus::Registry>()) {
  using namespace prometheus;
  requests_ = &BuildCounter()
                   .Name("tollgate_requests_total")
                   .Help("Requests answered, by model asked, provider used and HTTP status")
                   .Register(*registry_);
  tokens_ = &BuildCounter()
                 .Name("tollgate_tokens_total")
                 .Help("Tokens by model, provider and kind (input, output, cached, reasoning, cache_write)")
                 .Register(*registry_);
  failovers_ = &BuildCounter()
                    .Name("tollgate_failovers_total")
                    .Help("Requests answered by another deployment than the first tried")
                    .Register(*registry_);
  retries_ = &BuildCounter()
                  .Name("tollgate_retries_total")
                  .Help("Upstream attempts beyond the first")
                  .Register(*registry_);
  deployment_up_ = &BuildGauge()
                        .Name("tollgate_deployment_up")
                        .Help("1 when a configured deployment can take requests, 0 while it cools "
                              "down")
                        .Register(*registry_);
  dropped_params_ = &BuildCounter()
                         .Name("tollgate_dropped_params_total")
                         .Help("Request parameters a provider cannot take, left out with a warning")
                         .Register(*registry_);
  cost_ = &BuildCounter()
               .Name("tollgate_cost_usd_total")
               .Help("Spend in USD by model asked, provider and team")
               .Register(*registry_);
  cost_unknown_ = &BuildCounter()
                       .Name("tollgate_cost_unknown_requests_total")
                       .Help("Requests whose model has no price: recorded as cost unknown, never 0")
                       .Register(*registry_);
  budget_remaining_ = &BuildGauge()
                           .Name("tollgate_key_budget_remaining_usd")
                           .Help("Budget left in the current period, per virtual key with a budget")
                           .Register(*registry_);
  duration_ = &BuildHistogram()
                   .Name("tollgate_request_duration_seconds")
                   .Help("Time from request received to last byte sent")
                   .Register(*registry_);
  overhead_ = &BuildHistogram()
                   .Name("tollgate_overhead_duration_seconds")
                   .Help("Time spent in Tollgate itself (total minus upstream wait)")
                   .Register(*registry_);
  ttft_ = &BuildHistogram()
               .Name("tollgate_time_to_first_token_seconds")
               .Help("Time from request received to first streamed event sent")
               .Register(*registry_);
  upstream_ = &BuildHistogram()
                   .Name("tollgate_upstream_duration_seconds")
                   .Help("Time spent waiting on upstream providers")
                   .Register(*registry_);
  in_flight_ = &BuildGauge()
                    .Name("tollgate_in_flight_requests")
                    .Help("Requests being processed")
                    .Register(*registry_)
                    .Add({});
  cache_hits_ = &BuildCounter()
                     .Name("tollgate_cache_hits_total")
                     .Help("Requests answered from the response cache (cache.enabled)")
                     .Register(*registry_)
                     .Add({});
  cache_misses_ = &BuildCounter()
                       .Name("tollgate_cache_misses_total")
                       .Help("Cacheable requests not found in the response cache")
                       .Register(*registry_)
                       .Add({});
  store_backlog_ = &BuildGauge()
                       .Name("tollgate_store_backlog_rows")
                       .Help("Request rows waiting for the disk (queued or being retried)")
                       .Register(*registry_)
                       .Add({});
  store_accepting_ = &BuildGauge()
                         .Name("tollgate_store_accepting")
                         .Help("0 while the store's backlog is over store.max_queued_rows and new "
                               "API requests get 503 store_unavailable")
                         .Register(*registry_)
                         .Add({});
  store_accepting_->Set(1);
  store_commit_failures_ = &BuildCounter()
                               .Name("tollgate_store_commit_failures_total")
                               .Help("Store batch commits that failed and were retried (no row is dropped)")
                               .Register(*registry_)
                               .Add({});
  store_refused_ = &BuildCounter()
                       .Name("tollgate_store_refused_requests_total")
                       .Help("API requests refused with 503 store_unavailable (store back-pressure)")
                       .Register(*registry_)
                       .Add({});
  connections_ = &BuildGauge()
                      .Name("tollgate_open_connections")
                      .Help("Client connections open")
                      .Register(*registry_)
                      .Add({});
  BuildGauge()
      .Name("tollgate_build_info")
      .Help("Build information")
      .Register(*registry_)
      .Add({{"version", TOLLGATE_VERSION}})
      .Set(1);
  // Label-less series exist from the start (a rate() over them needs no first event).
  retries_total_ = &retries_->Add({});
  known_models_.store(std::make_shared<const NameSet>());
  known_providers_.store(std::make_shared<const NameSet>());
}

void Metrics::set_known(std::unordered_set<std::string> models,
                        std::unordered_set<std::string> providers) {
  for (const auto& name : models) failovers_->Add({{"model", name}});
  failovers_->Add({{"model", "other"}});
  // The names dropped since the last call: `before` minus `now`.
  auto publish = [](std::atomic<std::shared_ptr<const NameSet>>& known,
                    const std::unordered_set<std::string>& names) {
    auto now = std::make_shared<const NameSet>(names.begin(), names.end());
    auto before = known.exchange(now);
    NameSet gone;
    for (const auto& name : *before) {
      if (!now->contains(name)) gone.insert(name);
    }
    return gone;
  };
  const NameSet gone_models = publish(known_models_, models);
  const NameSet gone_providers = publish(known_providers_, providers);
  if (gone_models.empty() && gone_providers.empty()) return;
  wait_for_readers(g_epoch.fetch_add(1, std::memory_order_seq_cst) + 1);
  remove_series("model", gone_models);
  remove_series("provider", gone_providers);
}

namespace {
// Every child of `family` labelled <label>=<one of names>. Family::Add returns the existing
// child for labels it has (the arguments build a throwaway one).
template <typename T, typename Names, typename... Args>
void remove_labelled(prometheus::Family<T>* family, std::string_view label, const Names& names,
                     const Args&... args) {
  for (const auto& collected : family->Collect()) {
    for (const auto& metric : collected.metric) {
      prometheus::Labels labels;
      bool hit = false;
      for (const auto& l : metric.label) {
        labels.emplace(l.name, l.value);
        hit = hit || (l.name == label && names.contains(l.value));
      }
      if (hit) family->Remove(&family->Add(labels, args...));
    }
  }
}
}  // namespace

void Metrics::remove_series(std::string_view label, const NameSet& names) {
  if (names.empty()) return;
  remove_labelled(requests_, label, names);
  remove_labelled(tokens_, label, names);
  remove_labelled(failovers_, label, names);
  remove_labelled(cost_, label, names);
  remove_labelled(cost_unknown_, label, names);
  remove_labelled(dropped_params_, label, names);
  remove_labelled(duration_, label, names, kLatencyBuckets);
  remove_labelled(overhead_, label, names, kOverheadBuckets);
  remove_labelled(ttft_, label, names, kLatencyBuckets);
  remove_labelled(upstream_, label, names, kLatencyBuckets);
}

void Metrics::observe(const RequestSample& s) {
  Reading reading;
  std::string_view provider = s.provider.empty() ? std::string_view("none") : s.provider;
  Series& series = this->series(reading, s.model, provider);
  prometheus::Counter* requests = nullptr;
  for (auto& [status, counter] : series.requests) {
    if (status == s.status) requests = counter;
  }
  if (!requests) {
    requests = &requests_->Add({{"model", series.model},
                                {"provider", series.provider},
                                {"status", status_label(s.status)}});
    series.requests.emplace_back(s.status, requests);
  }
  requests->Increment();
  const auto& m = series.model;
  const auto& p = series.provider;
  child(series.duration, duration_, m, p, kLatencyBuckets)->Observe(s.duration_s);
  if (s.overhead_s >= 0) child(series.overhead, overhead_, m, p, kOverheadBuckets)->Observe(s.overhead_s);
  if (s.ttft_s >= 0) child(series.ttft, ttft_, m, p, kLatencyBuckets)->Observe(s.ttft_s);
  if (s.upstream_s >= 0) child(series.upstream, upstream_, m, p, kLatencyBuckets)->Observe(s.upstream_s);
  const int64_t tokens[kTokenKinds] = {s.input_tokens, s.output_tokens, s.cached_tokens,
                                       s.reasoning_tokens, s.cache_write_tokens};
  for (int k = 0; k < kTokenKinds; ++k) {
    if (tokens[k] <= 0) continue;
    auto*& counter = series.tokens[k];
    if (!counter) {
      counter = &tokens_->Add({{"model", m}, {"provider", p}, {"kind", kTokenKindNames[k]}});
    }
    counter->Increment(static_cast<double>(tokens[k]));
  }
  if (s.attempts > 1) retries_total_->Increment(s.attempts - 1);
  if (s.failover && s.status < 400) {
    if (!series.failovers) series.failovers = &failovers_->Add({{"model", m}});
    series.failovers->Increment();
  }
}

void Metrics::set_deployments(const std::vector<std::string>& labels,
                               const std::unordered_set<std::string>& down) {
  std::lock_guard lock(deployments_mu_);  // scrapes may come in on two workers at once
  decltype(deployment_series_) now;
  for (const auto& label : labels) {
    auto it = deployment_series_.find(label);
    prometheus::Gauge* g = nullptr;
    if (it != deployment_series_.end()) {
      g = it->second;
    } else {
      size_t slash = label.find('/');
      g = &deployment_up_->Add({{"provider", label.substr(0, slash)}, {"model", label.substr(slash + 1)}});
    }
    g->Set(down.count(label) ? 0 : 1);
    now.emplace(label, g);
  }
  for (const auto& [label, g] : deployment_series_) {
    if (!now.contains(label)) deployment_up_->Remove(g);  // no longer configured
  }
  deployment_series_ = std::move(now);
}

std::string_view Metrics::known_provider(std::string_view provider) const {
  // "none": answered before any provider was chosen. A provider removed by a reload while its
  // request was in flight (or a cached answer it gave) is "other": its series stay removed.
  if (provider == "none" || known_providers_.load()->contains(provider)) return provider;
  return "other";
}

void Metrics::dropped_param(std::string_view provider, std::string_view param) {
  Reading reading;  // the child may be removed with its provider (set_known)
  dropped_params_
      ->Add({{"provider", std::string(known_provider(provider))},
             {"param", std::string(param_label(param))}})
      .Increment();
}

void Metrics::add_cost(std::string_view model, std::string_view provider, std::string_view team,
                       double usd) {
  Reading reading;
  Series& series = this->series(reading, model, provider);
  auto it = series.cost_by_team.find(team);
  if (it == series.cost_by_team.end()) {
    auto* counter = &cost_->Add(
        {{"model", series.model}, {"provider", series.provider}, {"team", std::string(team)}});
    it = series.cost_by_team.emplace(std::string(team), counter).first;
  }
  it->second->Increment(usd);
}

void Metrics::cost_unknown(std::string_view model, std::string_view provider) {
  Reading reading;
  Series& series = this->series(reading, model, provider);
  if (!series.cost_unknown) {
    series.cost_unknown =
        &cost_unknown_->Add({{"model", series.model}, {"provider", series.provider}});
  }
  series.cost_unknown->Increment();
}

void Metrics::set_budgets(const std::vector<std::pair<std::string, double>>& remaining) {
  std::lock_guard lock(budgets_mu_);
  decltype(budget_series_) now;
  for (const auto& [name, usd] : remaining) {
    auto* g = &budget_remaining_->Add({{"key_name", name}});
    g->Set(usd);
    now.emplace(name, g);
  }
  for (const auto& [name, g] : budget_series_) {
    if (!now.contains(name)) budget_remaining_->Remove(g);
  }
  budget_series_ = std::move(now);
}

void Metrics::in_flight_add(int delta) { in_flight_->Increment(delta); }
void Metrics::cache_lookup(bool hit) { (hit ? cache_hits_ : cache_misses_)->Increment(); }
void Metrics::connection_add(int delta) { connections_->Increment(delta); }

void Metrics::set_store(const store::StoreHealth& h) {
  store_backlog_->Set(static_cast<double>(h.backlog_rows));
  store_accepting_->Set(h.accepting ? 1 : 0);
  std::lock_guard lock(store_mu_);
  double seen = store_commit_failures_->Value();
  if (static_cast<double>(h.commit_failures) > seen) {
    store_commit_failures_->Increment(static_cast<double>(h.commit_failures) - seen);
  }
}

void Metrics::store_refused() { store_refused_->Increment(); }

void Metrics::set_redis(uint64_t errors, bool up) {
  std::lock_guard lock(store_mu_);
  if (!redis_errors_) {  // registered only when store.redis is set
    redis_errors_ = &prometheus::BuildCounter()
                         .Name("tollgate_redis_errors_total")
                         .Help("Redis round trips that failed (timeout, lost connection, bad reply)")
                         .Register(*registry_)
                         .Add({});
    redis_up_ = &prometheus::BuildGauge()
                     .Name("tollgate_redis_up")
                     .Help("1 while at least one worker is connected to store.redis")
                     .Register(*registry_)
                     .Add({});
  }
  double seen = redis_errors_->Value();
  if (static_cast<double>(errors) > seen) redis_errors_->Increment(static_cast<double>(errors) - seen);
  redis_up_->Set(up ? 1 : 0);
}

std::string Metrics::serialize() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry_->Collect());
}

}  // namespace tg::metrics
