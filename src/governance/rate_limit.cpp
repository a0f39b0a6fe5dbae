// Per-key rpm/tpm/parallel limits over a ring of one-second buckets.

#include "tollgate/governance/rate_limit.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

namespace tg::governance {

namespace {
constexpr int64_t kSlots = 64;   // ring size (> window)
constexpr int64_t kWindow = 61;  // a request of second s counts while now_s < s + kWindow
constexpr int64_t kNoSecond = std::numeric_limits<int64_t>::min();

int64_t slot_of(int64_t s) { return ((s % kSlots) + kSlots) % kSlots; }

int64_t ceil_seconds(int64_t ms) {
  int64_t s = ms / 1000 + (ms % 1000 > 0 ? 1 : 0);
  return std::max<int64_t>(s, 1);
}

struct Hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct Eq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};
}  // namespace

struct KeyLimiterState {
  std::shared_ptr<const RateLimiter::Clock> clock;
  std::mutex mu;
  std::array<int64_t, kSlots> sec;
  std::array<uint64_t, kSlots> req{};
  std::array<int64_t, kSlots> tok{};
  uint64_t in_flight = 0;

  KeyLimiterState() { sec.fill(kNoSecond); }

  int64_t now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>((*clock)().time_since_epoch())
        .count();
  }
  static int64_t second_of(int64_t ms) { return ms >= 0 ? ms / 1000 : (ms - 999) / 1000; }

  bool live(int64_t i, int64_t now_s) const {
    return sec[i] != kNoSecond && sec[i] <= now_s && sec[i] > now_s - kWindow;
  }
  // The live window in one pass: its totals, and the newest second holding requests / tokens.
  struct Window {
    uint64_t requests = 0;
    int64_t tokens = 0;
    int64_t newest_request = kNoSecond, newest_token = kNoSecond;
  };
  Window window(int64_t now_s) const {
    Window w;
    for (int64_t i = 0; i < kSlots; ++i) {
      if (!live(i, now_s)) continue;
      w.requests += req[i];
      w.tokens += tok[i];
      if (req[i] > 0) w.newest_request = std::max(w.newest_request, sec[i]);
      if (tok[i] > 0) w.newest_token = std::max(w.newest_token, sec[i]);
    }
    return w;
  }
  // ms until a second's slot leaves the window (0: kNoSecond, nothing in it).
  static int64_t ms_until_gone(int64_t second, int64_t now_ms) {
    return second == kNoSecond ? 0 : (second + kWindow) * 1000 - now_ms;
  }
  // Live slots, oldest first.
  std::vector<int64_t> live_slots(int64_t now_s) const {
    std::vector<int64_t> v;
    for (int64_t i = 0; i < kSlots; ++i) if (live(i, now_s)) v.push_back(i);
    std::sort(v.begin(), v.end(), [&](int64_t a, int64_t b) { return sec[a] < sec[b]; });
    return v;
  }
  int64_t& slot_for_now(int64_t now_s) {
    int64_t i = slot_of(now_s);
    if (sec[i] != now_s) {  // holds an older second (the clock is read under the lock)
      sec[i] = now_s;
      req[i] = 0;
      tok[i] = 0;
    }
    return sec[i];
  }
  // ms until the window's total of `metric` (per slot) drops to <= target.
  template <typename F>
  int64_t ms_until_at_most(int64_t now_ms, int64_t now_s, int64_t total, int64_t target, F metric) const {
    if (total <= target) return 0;
    for (int64_t i : live_slots(now_s)) {
      total -= metric(i);
      if (total <= target) return (sec[i] + kWindow) * 1000 - now_ms;
    }
    return kWindow * 1000;  // unreachable: an empty window is 0
  }
};

namespace {
// headers()'s values from a window read under the key's lock.
RateLimitHeaders headers_of(const KeyLimiterState::Window& w, int64_t now_ms,
                            const config::LimitsConfig& limits) {
  RateLimitHeaders h;
  if (limits.rpm) {
    h.limit_requests = *limits.rpm;
    h.remaining_requests = w.requests >= *limits.rpm ? 0 : *limits.rpm - w.requests;
    h.reset_requests = std::chrono::milliseconds{KeyLimiterState::ms_until_gone(w.newest_request, now_ms)};
  }
  if (limits.tpm) {
    h.limit_tokens = *limits.tpm;
    uint64_t used = static_cast<uint64_t>(std::max<int64_t>(w.tokens, 0));
    h.remaining_tokens = used >= *limits.tpm ? 0 : *limits.tpm - used;
    h.reset_tokens = std::chrono::milliseconds{KeyLimiterState::ms_until_gone(w.newest_token, now_ms)};
  }
  return h;
}
}  // namespace

std::string_view to_string(LimitKind k) {
  switch (k) {
    case LimitKind::Rpm: return "rpm";
    case LimitKind::Tpm: return "tpm";
    case LimitKind::Parallel: return "parallel";
  }
  return "?";
}

Error rate_limit_error(const Limited& l, std::string_view key_name) {
  Error e;
  e.code = ErrorCode::RateLimited;
  e.status = 429;
  e.type = "rate_limit_error";
  e.code_str = "rate_limit_exceeded";
  e.retryable = false;
  e.retry_after = std::to_string(std::max<int64_t>(l.retry_after_seconds, 1));
  std::string what;
  switch (l.which) {
    case LimitKind::Rpm: what = fmt::format("{} requests per minute (rpm)", l.limit); break;
    case LimitKind::Tpm: what = fmt::format("{} tokens per minute (tpm)", l.limit); break;
    case LimitKind::Parallel: what = fmt::format("{} requests in parallel", l.limit); break;
  }
  e.message = fmt::format("Rate limit reached for key '{}': {}. Retry after {}s.", key_name, what,
                          e.retry_after);
  return e;
}

std::string_view go_duration(std::chrono::milliseconds d, NumberBuffer& buf) {
  char* p = buf.data();
  char* const end = buf.data() + buf.size();
  auto num = [&](int64_t v) { p = std::to_chars(p, end, v).ptr; };
  auto text = [&](std::string_view t) { p = std::copy(t.begin(), t.end(), p); };
  const int64_t ms = d.count();
  if (ms <= 0) {
    text("0s");
  } else if (ms < 1000) {
    num(ms);
    text("ms");
  } else {
    const int64_t h = ms / 3'600'000, m = (ms / 60'000) % 60, s = (ms / 1000) % 60;
    const int64_t frac = ms % 1000;
    if (h) {
      num(h);
      text("h");
    }
    if (h || m) {
      num(m);
      text("m");
    }
    num(s);
    if (frac) {  // three digits, trailing zeros dropped: 250 -> ".25", 5 -> ".005"
      *p++ = '.';
      *p++ = static_cast<char>('0' + frac / 100);
      if (frac % 100) *p++ = static_cast<char>('0' + frac / 10 % 10);
      if (frac % 10) *p++ = static_cast<char>('0' + frac % 10);
    }
    text("s");
  }
  return {buf.data(), static_cast<size_t>(p - buf.data())};
}

std::string go_duration(std::chrono::milliseconds d) {
  NumberBuffer buf;
  return std::string(go_duration(d, buf));
}

std::vector<std::pair<std::string, std::string>> RateLimitHeaders::to_headers() const {
  std::vector<std::pair<std::string, std::string>> h;
  each([&](HeaderName name, std::string_view value) { h.emplace_back(name.text(), value); });
  return h;
}

// ---- Permit ----

Permit::Permit(Permit&& o) noexcept
    : state_(std::move(o.state_)),
      second_(o.second_),
      token_estimate_(o.token_estimate_),
      counted_(o.counted_),
      parallel_(o.parallel_),
      tokens_settled_(o.tokens_settled_) {
  o.state_.reset();
  o.counted_ = o.parallel_ = false;
}

Permit& Permit::operator=(Permit&& o) noexcept {
  if (this != &o) {
    release();
    state_ = std::move(o.state_);
    o.state_.reset();
    second_ = o.second_;
    token_estimate_ = o.token_estimate_;
    counted_ = o.counted_;
    parallel_ = o.parallel_;
    tokens_settled_ = o.tokens_settled_;
    o.counted_ = o.parallel_ = false;
  }
  return *this;
}

Permit::~Permit() { release(); }

void Permit::release() {
  if (!state_ || !parallel_) return;
  std::lock_guard lk(state_->mu);
  if (state_->in_flight > 0) --state_->in_flight;
  parallel_ = false;
}

void Permit::settle_tokens(int64_t actual) {
  if (!state_ || !counted_ || tokens_settled_) return;
  if (actual < 0) actual = 0;
  KeyLimiterState& st = *state_;
  std::lock_guard lk(st.mu);  // the clock is read under the lock: slots never go backwards
  const int64_t now_s = KeyLimiterState::second_of(st.now_ms());
  tokens_settled_ = true;
  int64_t i = slot_of(second_);
  if (st.sec[i] == second_ && st.live(i, now_s)) {
    st.tok[i] = std::max<int64_t>(0, st.tok[i] + actual - token_estimate_);
    token_estimate_ = actual;  // what this permit now has in its bucket (for refund)
  } else if (actual > token_estimate_) {
    st.slot_for_now(now_s);
    st.tok[slot_of(now_s)] += actual - token_estimate_;
    counted_ = false;  // its own bucket is gone: nothing left to refund
  } else {
    counted_ = false;
  }
}

void Permit::refund() {
  if (!state_) return;
  KeyLimiterState& st = *state_;
  {
    std::lock_guard lk(st.mu);
    const int64_t now_s = KeyLimiterState::second_of(st.now_ms());
    int64_t i = slot_of(second_);
    if (counted_ && st.sec[i] == second_ && st.live(i, now_s)) {
      if (st.req[i] > 0) --st.req[i];
      st.tok[i] = std::max<int64_t>(0, st.tok[i] - token_estimate_);
    }
    counted_ = false;
    if (parallel_ && st.in_flight > 0) --st.in_flight;
    parallel_ = false;
  }
  state_.reset();
}

// ---- RateLimiter ----

struct RateLimiter::Impl {
  static constexpr size_t kShards = 16;
  std::shared_ptr<const Clock> clock;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<KeyLimiterState>, Hash, Eq> keys;
  };
  std::array<Shard, kShards> shards;

  Shard& shard_for(std::string_view k) { return shards[Hash{}(k) % kShards]; }
  const Shard& shard_for(std::string_view k) const { return shards[Hash{}(k) % kShards]; }

  std::shared_ptr<KeyLimiterState> get_or_create(std::string_view key) {
    Shard& s = shard_for(key);
    std::lock_guard lk(s.mu);
    auto it = s.keys.find(key);
    if (it != s.keys.end()) return it->second;
    auto st = std::make_shared<KeyLimiterState>();
    st->clock = clock;
    s.keys.emplace(std::string(key), st);
    return st;
  }
  std::shared_ptr<KeyLimiterState> get(std::string_view key) const {
    const Shard& s = shard_for(key);
    std::lock_guard lk(s.mu);
    auto it = s.keys.find(key);
    return it == s.keys.end() ? nullptr : it->second;
  }
};

RateLimiter::RateLimiter(Clock clock) : impl_(std::make_unique<Impl>()) {
  impl_->clock = std::make_shared<const Clock>(
      clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); }));
}

RateLimiter::~RateLimiter() = default;

std::variant<Permit, Limited> RateLimiter::acquire(std::string_view key_id,
                                                   const config::LimitsConfig& limits,
                                                   int64_t token_estimate,
                                                   RateLimitHeaders* headers) {
  if (!limits.rpm && !limits.tpm && !limits.parallel) {
    if (headers) *headers = {};
    return Permit{};
  }
  if (token_estimate < 0) token_estimate = 0;
  auto st = impl_->get_or_create(key_id);
  const bool windowed = limits.rpm || limits.tpm;
  std::lock_guard lk(st->mu);
  const int64_t now_ms = st->now_ms();  // under the lock: slots never go backwards
  const int64_t now_s = KeyLimiterState::second_of(now_ms);
  auto w = st->window(now_s);
  std::optional<Limited> out;
  auto hit = [&](LimitKind k, uint64_t limit, uint64_t remaining, int64_t retry_ms, int64_t reset_ms) {
    int64_t retry = ceil_seconds(retry_ms);
    if (!out) {
      out = Limited{k, retry, limit, remaining, std::chrono::milliseconds{std::max<int64_t>(reset_ms, 0)}};
    } else {
      out->retry_after_seconds = std::max(out->retry_after_seconds, retry);
    }
  };
  auto req_metric = [&](int64_t i) { return static_cast<int64_t>(st->req[i]); };
  auto tok_metric = [&](int64_t i) { return st->tok[i]; };
  if (limits.rpm) {
    const uint64_t rpm = *limits.rpm;
    if (w.requests >= rpm) {
      int64_t retry = st->ms_until_at_most(now_ms, now_s, static_cast<int64_t>(w.requests),
                                           static_cast<int64_t>(rpm) - 1, req_metric);
      hit(LimitKind::Rpm, rpm, 0, retry, KeyLimiterState::ms_until_gone(w.newest_request, now_ms));
    }
  }
  if (limits.tpm) {
    const int64_t tpm = static_cast<int64_t>(std::min<uint64_t>(*limits.tpm, INT64_MAX / 2));
    int64_t need = std::max<int64_t>(1, std::min(token_estimate, tpm));
    if (w.tokens + need > tpm) {
      int64_t retry = st->ms_until_at_most(now_ms, now_s, w.tokens, tpm - need, tok_metric);
      hit(LimitKind::Tpm, static_cast<uint64_t>(tpm),
          static_cast<uint64_t>(std::max<int64_t>(0, tpm - w.tokens)), retry,
          KeyLimiterState::ms_until_gone(w.newest_token, now_ms));
    }
  }
  if (limits.parallel && st->in_flight >= *limits.parallel) {
    hit(LimitKind::Parallel, *limits.parallel, 0, 1000, 0);
  }
  if (out) {
    if (headers) *headers = headers_of(w, now_ms, limits);
    return *out;
  }

  Permit p;
  p.state_ = st;
  p.second_ = now_s;
  p.token_estimate_ = token_estimate;
  if (windowed) {
    st->slot_for_now(now_s);
    int64_t i = slot_of(now_s);
    st->req[i] += 1;
    st->tok[i] += token_estimate;
    p.counted_ = true;
    // This request is in the window now, in the newest second.
    w.requests += 1;
    w.tokens += token_estimate;
    w.newest_request = now_s;
    if (token_estimate > 0) w.newest_token = now_s;
  }
  if (limits.parallel) {
    ++st->in_flight;
    p.parallel_ = true;
  }
  if (headers) *headers = headers_of(w, now_ms, limits);
  return p;
}

RateLimitHeaders RateLimiter::headers(std::string_view key_id,
                                      const config::LimitsConfig& limits) const {
  if (!limits.rpm && !limits.tpm) return {};
  auto st = impl_->get(key_id);
  if (!st) return headers_of({}, 0, limits);
  std::lock_guard lk(st->mu);
  const int64_t now_ms = st->now_ms();
  return headers_of(st->window(KeyLimiterState::second_of(now_ms)), now_ms, limits);
}

void RateLimiter::forget(std::string_view key_id) {
  auto& s = impl_->shard_for(key_id);
  std::lock_guard lk(s.mu);
  if (auto it = s.keys.find(key_id); it != s.keys.end()) s.keys.erase(it);
}

size_t RateLimiter::tracked_keys() const {
  size_t n = 0;
  for (const auto& s : impl_->shards) {
    std::lock_guard lk(s.mu);
    n += s.keys.size();
  }
  return n;
}

}  // namespace tg::governance
