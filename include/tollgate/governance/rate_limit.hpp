#pragma once
// Per-key rate limits: requests per minute (rpm), tokens per minute (tpm), requests in parallel.
// Pure, thread-safe (one small mutex per key), injectable steady clock.
//
// Window: a sliding window of one-second buckets. A request admitted in second s counts until the
// start of second s + 61, i.e. for 60 to 61 seconds: so no 60-second interval ever holds more than
// `rpm` admitted requests (or more than `tpm` tokens, estimates corrected by settle_tokens), at the
// cost of up to one extra second of waiting. Admission is a check-and-count under the key's lock:
// 100 concurrent requests against rpm=10 admit exactly 10.
//
// tpm counts each request's token estimate at admission (OpenAI's own rule: prompt estimate +
// max_tokens), then settle_tokens() replaces it with the actual total tokens. A single request
// estimated above tpm is admitted only into an empty window (so it is not refused forever).

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tollgate/config/config.hpp"
#include "tollgate/core/error.hpp"
#include "tollgate/core/header_name.hpp"
#include "tollgate/core/text.hpp"

namespace tg::governance {

enum class LimitKind { Rpm, Tpm, Parallel };
std::string_view to_string(LimitKind k);  // "rpm" | "tpm" | "parallel"

struct Limited {
  LimitKind which = LimitKind::Rpm;  // the first limit hit, in the order rpm, tpm, parallel
  int64_t retry_after_seconds = 1;   // >= 1; when every limit hit would admit this request
  uint64_t limit = 0;                // of `which`
  uint64_t remaining = 0;            // of `which`, now
  std::chrono::milliseconds reset{0};  // until `which` is back to its full limit
};

// The 429 rate_limit_error / rate_limit_exceeded of interface.md, naming the key and the limit;
// retry_after set (seconds, for Retry-After), retryable = false.
Error rate_limit_error(const Limited& l, std::string_view key_name);

struct KeyLimiterState;  // internal

// An admitted request. Move-only; its destructor frees the parallel slot.
class Permit {
 public:
  Permit() = default;
  Permit(Permit&& o) noexcept;
  Permit& operator=(Permit&& o) noexcept;
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;
  ~Permit();

  // Replaces this request's token estimate with the actual total (input + output) tokens. Once;
  // later calls are ignored. When the admission second has left the window, only the excess over
  // the estimate is counted, in the current second.
  void settle_tokens(int64_t actual_tokens);
  // Un-counts the request and its tokens (refused before any upstream call, e.g. by the budget)
  // and frees the parallel slot. The Permit is then empty.
  void refund();
  // Frees the parallel slot now (same as destruction).
  void release();

  bool active() const { return state_ != nullptr; }

 private:
  friend class RateLimiter;
  std::shared_ptr<KeyLimiterState> state_;
  int64_t second_ = 0;         // the admission bucket
  int64_t token_estimate_ = 0;
  bool counted_ = false;       // counted in the rpm/tpm window
  bool parallel_ = false;      // holds a parallel slot
  bool tokens_settled_ = false;
};

// OpenAI-style x-ratelimit-* values; request fields are set iff rpm is, token fields iff tpm is.
struct RateLimitHeaders {
  std::optional<uint64_t> limit_requests, remaining_requests;
  std::optional<std::chrono::milliseconds> reset_requests;
  std::optional<uint64_t> limit_tokens, remaining_tokens;
  std::optional<std::chrono::milliseconds> reset_tokens;
  // ("x-ratelimit-limit-requests", "600"), ..., resets as Go durations ("6m0s", "12ms", "1s").
  std::vector<std::pair<std::string, std::string>> to_headers() const;
  // The same pairs, in the same order, handed to add(name, value) without allocating: the value
  // lives in a buffer that the next call reuses (the request path's form of to_headers).
  template <class Add>
  void each(Add&& add) const;
};

// Go's time.Duration.String() at millisecond resolution: 0 -> "0s", 12ms -> "12ms",
// 1500ms -> "1.5s", 360000ms -> "6m0s", 3723000ms -> "1h2m3s".
std::string go_duration(std::chrono::milliseconds d);
using NumberBuffer = std::array<char, 32>;  // any int64 duration or uint64 count fits
std::string_view go_duration(std::chrono::milliseconds d, NumberBuffer& buf);

template <class Add>
void RateLimitHeaders::each(Add&& add) const {
  NumberBuffer buf;
  if (limit_requests) {
    add(HeaderName("x-ratelimit-limit-requests"), NumberText(*limit_requests));
    add(HeaderName("x-ratelimit-remaining-requests"), NumberText(remaining_requests.value_or(0)));
    add(HeaderName("x-ratelimit-reset-requests"),
        go_duration(reset_requests.value_or(std::chrono::milliseconds{0}), buf));
  }
  if (limit_tokens) {
    add(HeaderName("x-ratelimit-limit-tokens"), NumberText(*limit_tokens));
    add(HeaderName("x-ratelimit-remaining-tokens"), NumberText(remaining_tokens.value_or(0)));
    add(HeaderName("x-ratelimit-reset-tokens"),
        go_duration(reset_tokens.value_or(std::chrono::milliseconds{0}), buf));
  }
}

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit RateLimiter(Clock clock = {});  // default: steady_clock::now
  ~RateLimiter();
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Checks every limit set in `limits` and, when all pass, counts the request (and its token
  // estimate) and takes a parallel slot, atomically. Unset limits are not checked; with no limit
  // at all this returns an empty Permit without touching any state.
  // `headers`, when given, gets what headers() would return right after this call, read under
  // the same lock (one lookup and one pass over the window instead of two).
  std::variant<Permit, Limited> acquire(std::string_view key_id, const config::LimitsConfig& limits,
                                        int64_t token_estimate, RateLimitHeaders* headers = nullptr);

  // The header values for the key now ("remaining" = after the requests already admitted, so
  // called right after acquire() it is what is left after this request, as OpenAI does; also
  // right for the 429). reset = time until the window holds none of the current requests/tokens.
  RateLimitHeaders headers(std::string_view key_id, const config::LimitsConfig& limits) const;

  // Drops a key's state (revoked key). Outstanding Permits stay valid.
  void forget(std::string_view key_id);
  size_t tracked_keys() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tg::governance
