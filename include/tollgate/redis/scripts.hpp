#pragma once
// Rate limits and budget reservations shared by several instances through Redis: the key names,
// the two Lua scripts (admit, finish), their arguments and their replies. Pure: no I/O.
//
// admit: in one atomic script (one round trip), checks rpm/tpm/parallel with the same sliding
// window as the in-memory RateLimiter (one-second buckets, a request counts for 61 s), then every
// budget with the BudgetLedger's rule (spent + reserved < limit and spent + reserved + estimate <=
// limit), and only when everything passes counts the request, takes a parallel slot and reserves
// the estimate. The clock is Redis's own (TIME), so instances agree on the window. Parallel slots
// and reservations carry an expiry: a crashed instance's holds disappear by themselves. The
// window's totals are summed from the buckets once a second and kept in a small hash, and so is
// each budget's reserved total: an admission costs the same whatever the window holds and however
// many requests are in flight.
//
// finish: replaces the token estimate with the actual tokens, frees the parallel slot, drops the
// reservation and charges the actual cost to each budget's spend counter of the current period.
//
// Spend counters (one per holder and period) are created from a seed when missing (SET NX
// semantics): at first use, and again after Redis lost its data. With store.postgres the seed is
// the shared figure (PostgreSQL's committed spend plus this instance's not yet committed): admit
// is sent without seeds first and answers SeedNeeded when a counter is missing, then again with
// them; finish leaves a missing counter to that next admission. With SQLite the seed is the
// instance's own figure (the store's at start plus what it settled since), sent every time.
//
// Numbers: Lua holds them as doubles, so nUSD are exact up to 2^53 (about $9M per period), and
// token estimates and limits are clamped to 2^40 so no client-sent max_tokens can overflow a
// counter.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tollgate/cache/response_cache.hpp"
#include "tollgate/config/config.hpp"
#include "tollgate/governance/ledger.hpp"
#include "tollgate/governance/money.hpp"
#include "tollgate/governance/rate_limit.hpp"
#include "tollgate/redis/protocol.hpp"

namespace tg::redis {

constexpr int64_t kMaxCount = int64_t{1} << 40;   // tokens, limits
constexpr int64_t kMaxNanos = int64_t{1} << 53;   // nUSD

// Key names. A key id or holder is written with its length ("tg:rl:7:abc1234:req"), so no id can
// produce another's key whatever characters it holds.
struct Keys {
  std::string prefix = "tg:";
  std::string requests(std::string_view key_id) const;      // hash: second -> requests
  std::string tokens(std::string_view key_id) const;        // hash: second -> tokens
  std::string parallel(std::string_view key_id) const;      // zset: hold id -> expiry (ms)
  // hash: s (a second), r, t (the window's requests and tokens as of s), e (the hashes' expiry
  // covers s); a cache of the two hashes' sums, rebuilt by the first admission of each second
  std::string totals(std::string_view key_id) const;
  std::string reservations(std::string_view holder) const;  // zset: reservation id -> expiry (ms)
  std::string amounts(std::string_view holder) const;       // hash: reservation id -> nUSD
  // hash: s (a second), v (the amounts' sum as of s); a cache like totals()
  std::string reserved(std::string_view holder) const;
  std::string spent(std::string_view holder, int64_t period_start) const;  // string: nUSD
  std::string cached(std::string_view cache_key) const;     // string: encode_answer()
};

// The response cache shared through Redis (store.redis with cache.enabled): an answer as one
// string value, "tg1 <provider length> <model length>\n<provider><model><body>".
constexpr size_t kMaxSharedAnswer = 512 * 1024;  // under the reader's limit, with room to spare
std::string encode_answer(const cache::CachedAnswer& a);
// nullopt for anything that is not exactly such a value (a foreign or damaged key).
std::optional<cache::CachedAnswer> decode_answer(std::string_view v);

std::string_view admit_script();
std::string_view finish_script();
std::string sha1_hex(std::string_view text);  // for EVALSHA

// A budget the admission checks (only holders with a budget).
struct BudgetArg {
  std::string holder;            // "key:<id>" / "team:<id>"
  governance::Nanos limit = 0;
  int64_t period_start = 0;      // unix seconds; 0 for total
  int64_t spent_ttl_ms = 0;      // the spend counter's lifetime (0: none, for total)
  // Used when Redis has no counter. nullopt: none sent (admit answers SeedNeeded, finish leaves
  // the counter missing).
  std::optional<governance::Nanos> seed = 0;
};

struct AdmitArgs {
  std::string key_id;
  config::LimitsConfig limits;
  int64_t token_estimate = 0;
  std::string hold_id;           // unique per request (instance id + counter)
  int64_t hold_ttl_ms = 0;       // a parallel slot or a reservation outlives no request longer
  governance::Nanos estimate = 0;
  std::vector<BudgetArg> budgets;  // 0 to 2 (key, team)
};

// The EVALSHA (or EVAL, with the script text) command, written in RESP.
CommandWriter admit_command(const Keys& keys, const AdmitArgs& a, bool by_sha);

struct Admitted {
  int64_t second = 0;            // the admission bucket (Redis time), for finish
  int64_t token_estimate = 0;    // as counted (clamped)
  uint64_t requests = 0;         // in the window, this request included
  int64_t tokens = 0;
  int64_t reset_requests_ms = 0;
  int64_t reset_tokens_ms = 0;
};
struct BudgetRefused {
  size_t budget = 0;             // index into AdmitArgs::budgets
  governance::Nanos spent = 0;
  governance::Nanos reserved = 0;
};
struct LimitedReply {
  governance::Limited limited;
  uint64_t requests = 0;
  int64_t tokens = 0;
  int64_t reset_requests_ms = 0;
  int64_t reset_tokens_ms = 0;
};
// Budgets (indexes into AdmitArgs::budgets) sent without a seed whose counter is missing:
// nothing was counted or reserved; send again with their seeds.
struct SeedNeeded {
  std::vector<size_t> budgets;
};
// A reply that is not what the script returns (or Redis's error): the message.
struct BadReply {
  std::string message;
};
using AdmitReply = std::variant<Admitted, LimitedReply, BudgetRefused, SeedNeeded, BadReply>;
AdmitReply parse_admit_reply(const Value& v, size_t budgets);

// x-ratelimit-* values from what the script saw (the same rules as RateLimiter::headers).
governance::RateLimitHeaders headers_of(const config::LimitsConfig& limits, uint64_t requests,
                                        int64_t tokens, int64_t reset_requests_ms,
                                        int64_t reset_tokens_ms);

struct FinishArgs {
  std::string key_id;
  bool windowed = false;                  // rpm or tpm was counted
  int64_t second = 0;
  int64_t token_estimate = 0;
  std::optional<int64_t> actual_tokens;   // nullopt: keep the estimate
  std::string hold_id;                    // the admission's (reservation and parallel slot)
  bool parallel = false;                  // a parallel slot was taken
  std::optional<governance::Nanos> cost;  // nullopt: release without charging
  std::vector<BudgetArg> budgets;         // period_start / seed as of now
};
CommandWriter finish_command(const Keys& keys, const FinishArgs& a, bool by_sha);

}  // namespace tg::redis
