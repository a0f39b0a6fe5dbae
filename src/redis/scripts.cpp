// The Lua scripts for shared rate limits and budgets, their arguments and replies.

#include "tollgate/redis/scripts.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <span>

#include <fmt/format.h>

#include "tollgate/core/text.hpp"

namespace tg::redis {

namespace {

int64_t clamp_count(int64_t v) { return std::clamp<int64_t>(v, 0, kMaxCount); }
int64_t clamp_nanos(int64_t v) { return std::clamp<int64_t>(v, 0, kMaxNanos); }
int64_t limit_arg(const std::optional<uint64_t>& v) {
  return v ? static_cast<int64_t>(std::min<uint64_t>(*v, static_cast<uint64_t>(kMaxCount))) : 0;
}

// The window of the in-memory limiter: a request admitted in second s counts while now < s + 61.
// The per-second buckets are the truth; KEYS[last] holds their totals for the current second
// (summed by the second's first admission, then kept up by every script), so an admission reads
// three fields instead of both hashes whole.
constexpr std::string_view kAdmit = R"lua(
local t = redis.call('TIME')
local now_s = tonumber(t[1])
local now_ms = now_s * 1000 + math.floor(tonumber(t[2]) / 1000)
local W = 61
local rpm, tpm, par = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local test = tonumber(ARGV[4])
local hold_ttl = tonumber(ARGV[6])
local est = tonumber(ARGV[7])
local nb = tonumber(ARGV[8])
local KN = KEYS[3 * nb + 4]
local windowed = rpm > 0 or tpm > 0
local req_used, tok_used = 0, 0
local ttl_set = false  -- the hashes' expiry covers this second's bucket
local rebuilt = false  -- the totals were summed anew (the first admission of this second)
-- The buckets in the window, oldest first ({second, requests, tokens}): read only when a reset
-- time needs them (a refusal, or tokens of earlier seconds only).
local buckets = nil
-- HDEL of many fields in slices (unpack has a limit).
local function hdel(key, fields)
  for i = 1, #fields, 1000 do
    redis.call('HDEL', key, unpack(fields, i, math.min(i + 999, #fields)))
  end
end
local function load()
  if buckets then return end
  buckets = {}
  local fields = {}
  for s = now_s - W + 1, now_s do fields[#fields + 1] = s end
  local r = redis.call('HMGET', KEYS[1], unpack(fields))
  local k = redis.call('HMGET', KEYS[2], unpack(fields))
  for i, s in ipairs(fields) do
    local nr, nt = tonumber(r[i]) or 0, tonumber(k[i]) or 0
    if nr ~= 0 or nt ~= 0 then buckets[#buckets + 1] = {s, nr, nt} end
  end
end
-- The first admission of a second drops the buckets that left the window and sums the rest.
local function rebuild()
  for which, key in ipairs({KEYS[1], KEYS[2]}) do
    local flat = redis.call('HGETALL', key)
    local gone = {}
    for i = 1, #flat, 2 do
      local s = tonumber(flat[i])
      if s == nil or s <= now_s - W then
        gone[#gone + 1] = flat[i]
      elseif s <= now_s then
        local v = tonumber(flat[i + 1]) or 0
        if which == 1 then req_used = req_used + v else tok_used = tok_used + v end
      end
    end
    hdel(key, gone)
  end
end
local function until_at_most(total, target, which)
  if total <= target then return 0 end
  load()
  for _, b in ipairs(buckets) do
    total = total - b[which + 1]
    if total <= target then return (b[1] + W) * 1000 - now_ms end
  end
  return W * 1000
end
local function until_empty(which)
  load()
  for i = #buckets, 1, -1 do
    if buckets[i][which + 1] > 0 then return (buckets[i][1] + W) * 1000 - now_ms end
  end
  return 0
end
if windowed then
  local n = redis.call('HMGET', KN, 's', 'r', 't', 'e')
  if tonumber(n[1]) == now_s then
    req_used, tok_used, ttl_set = tonumber(n[2]) or 0, tonumber(n[3]) or 0, n[4] == '1'
  else
    rebuild()
    rebuilt = true
  end
end
local function keep_totals()
  if not windowed then return end
  redis.call('HSET', KN, 's', now_s, 'r', req_used, 't', tok_used, 'e', ttl_set and 1 or 0)
  if rebuilt then redis.call('PEXPIRE', KN, 2000) end
end
local hit = nil
local function note(which, limit, remaining, retry, reset)
  if not hit then
    hit = {which, limit, remaining, retry, reset}
  elseif retry > hit[4] then
    hit[4] = retry
  end
end
if rpm > 0 and req_used >= rpm then
  note(1, rpm, 0, until_at_most(req_used, rpm - 1, 1), until_empty(1))
end
if tpm > 0 then
  local need = math.max(1, math.min(test, tpm))
  if tok_used + need > tpm then
    note(2, tpm, math.max(0, tpm - tok_used), until_at_most(tok_used, tpm - need, 2), until_empty(2))
  end
end
if par > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now_ms)
  if redis.call('ZCARD', KEYS[3]) >= par then note(3, par, 0, 1000, 0) end
end
if hit then
  keep_totals()
  local re, rt = 0, 0
  if windowed then re, rt = until_empty(1), until_empty(2) end
  return {1, hit[1], hit[2], hit[3], hit[4], hit[5], req_used, tok_used, re, rt}
end
local unseeded = {3}
for b = 1, nb do
  if ARGV[8 + 3 * b - 1] == '-1' and redis.call('EXISTS', KEYS[3 * b + 3]) == 0 then
    unseeded[#unseeded + 1] = b
  end
end
if #unseeded > 1 then
  keep_totals()
  return unseeded
end
-- Each budget's reserved total is kept in KEYS[3 * nb + 4 + b] like the window's: summed from
-- the reservations by the second's first admission, then kept up by both scripts (an admission
-- costs the same however many requests are in flight).
local reserved_of = {}
for b = 1, nb do
  local kres, kamt, kspent = KEYS[3 * b + 1], KEYS[3 * b + 2], KEYS[3 * b + 3]
  local ksum = KEYS[3 * nb + 4 + b]
  local limit = tonumber(ARGV[8 + 3 * b - 2])
  local seed = ARGV[8 + 3 * b - 1]
  local spent_ttl = tonumber(ARGV[8 + 3 * b])
  local expired = redis.call('ZRANGEBYSCORE', kres, '-inf', now_ms)
  local t = redis.call('HMGET', ksum, 's', 'v')
  local fresh = tonumber(t[1]) == now_s
  local reserved = fresh and (tonumber(t[2]) or 0) or 0
  if #expired > 0 then
    if fresh then
      for i = 1, #expired, 1000 do
        local amts = redis.call('HMGET', kamt, unpack(expired, i, math.min(i + 999, #expired)))
        for _, v in ipairs(amts) do reserved = reserved - (tonumber(v) or 0) end
      end
    end
    hdel(kamt, expired)
    redis.call('ZREMRANGEBYSCORE', kres, '-inf', now_ms)
  end
  if not fresh then
    for _, v in ipairs(redis.call('HVALS', kamt)) do reserved = reserved + (tonumber(v) or 0) end
  end
  if not fresh or #expired > 0 then
    redis.call('HSET', ksum, 's', now_s, 'v', reserved)
    if not fresh then redis.call('PEXPIRE', ksum, 2000) end
  end
  reserved_of[b] = reserved
  local spent = redis.call('GET', kspent)
  if not spent then
    redis.call('SET', kspent, seed)
    if spent_ttl > 0 then redis.call('PEXPIRE', kspent, spent_ttl) end
    spent = seed
  end
  spent = tonumber(spent) or 0
  local used = spent + reserved
  if not (used < limit and used + est <= limit) then
    keep_totals()
    return {2, b, spent, reserved}
  end
end
local reset_req, reset_tok = 0, 0
if windowed then
  redis.call('HINCRBY', KEYS[1], now_s, 1)
  redis.call('HINCRBY', KEYS[2], now_s, ARGV[4])
  if not ttl_set then
    -- Once a second: no bucket of the hashes is newer than this second.
    redis.call('PEXPIRE', KEYS[1], (W + 1) * 1000)
    redis.call('PEXPIRE', KEYS[2], (W + 1) * 1000)
    ttl_set = true
  end
  req_used = req_used + 1
  tok_used = tok_used + test
  keep_totals()
  reset_req = (now_s + W) * 1000 - now_ms
  if test > 0 then
    reset_tok = reset_req
  elseif tok_used > 0 then
    reset_tok = until_empty(2)
  end
end
if par > 0 then
  redis.call('ZADD', KEYS[3], now_ms + hold_ttl, ARGV[5])
  redis.call('PEXPIRE', KEYS[3], hold_ttl + 1000)
end
for b = 1, nb do
  local kres, kamt = KEYS[3 * b + 1], KEYS[3 * b + 2]
  redis.call('ZADD', kres, now_ms + hold_ttl, ARGV[5])
  redis.call('HSET', kamt, ARGV[5], ARGV[7])
  if est ~= 0 then redis.call('HINCRBY', KEYS[3 * nb + 4 + b], 'v', ARGV[7]) end
  redis.call('PEXPIRE', kres, hold_ttl + 1000)
  redis.call('PEXPIRE', kamt, hold_ttl + 1000)
end
return {0, now_s, req_used, tok_used, reset_req, reset_tok}
)lua";

constexpr std::string_view kFinish = R"lua(
local now_s = tonumber(redis.call('TIME')[1])
local sec = tonumber(ARGV[1])
local est = tonumber(ARGV[2])
local actual = tonumber(ARGV[3])
local nb = tonumber(ARGV[7])
local KN = KEYS[3 * nb + 4]
if sec > 0 and actual >= 0 and actual ~= est then
  local diff = actual - est
  local changed = 0
  local old = sec > now_s - 61 and tonumber(redis.call('HGET', KEYS[2], ARGV[1])) or nil
  if old then
    local new = math.max(0, old + diff)
    redis.call('HSET', KEYS[2], ARGV[1], new)
    if sec <= now_s then changed = new - old end
  elseif diff > 0 then
    redis.call('HINCRBY', KEYS[2], now_s, diff)
    redis.call('PEXPIRE', KEYS[2], 62000)
    changed = diff
  end
  -- This second's totals (the admit script's) follow the bucket they count.
  if changed ~= 0 and tonumber(redis.call('HGET', KN, 's')) == now_s then
    redis.call('HINCRBY', KN, 't', changed)
  end
end
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[3], ARGV[4]) end
for b = 1, nb do
  local kres, kamt, kspent = KEYS[3 * b + 1], KEYS[3 * b + 2], KEYS[3 * b + 3]
  redis.call('ZREM', kres, ARGV[5])
  local amount = tonumber(redis.call('HGET', kamt, ARGV[5])) or 0
  redis.call('HDEL', kamt, ARGV[5])
  -- The admit script's reserved total of this second follows the reservations it sums.
  local ksum = KEYS[3 * nb + 4 + b]
  if amount ~= 0 and tonumber(redis.call('HGET', ksum, 's')) == now_s then
    redis.call('HINCRBY', ksum, 'v', -amount)
  end
  local exists = redis.call('EXISTS', kspent) == 1
  if ARGV[6] ~= '-1' and (exists or ARGV[7 + 2 * b - 1] ~= '-1') then
    if not exists then
      redis.call('SET', kspent, ARGV[7 + 2 * b - 1])
      local ttl = tonumber(ARGV[7 + 2 * b])
      if ttl > 0 then redis.call('PEXPIRE', kspent, ttl) end
    end
    redis.call('INCRBY', kspent, ARGV[6])
  end
end
return 1
)lua";

// "-1": no seed here (the admit script asks for one, the finish script leaves a missing counter).
int64_t seed_arg(const std::optional<governance::Nanos>& seed) {
  return seed ? clamp_nanos(*seed) : -1;
}

// Each key's kind and suffix, in one place for the Keys names and the scripts' commands.
struct KeyKind {
  std::string_view kind, suffix;
};
constexpr KeyKind kRequests{"rl:", ":req"}, kTokens{"rl:", ":tok"}, kParallel{"rl:", ":par"},
    kTotals{"rl:", ":now"}, kReservations{"b:", ":res"}, kAmounts{"b:", ":amt"},
    kReserved{"b:", ":rsv"}, kSpent{"b:", ":spent:"}, kCached{"c:", ""};

// "<prefix><kind><size of id>:<id><suffix><tail>": the id's length first, so no id can be read
// as the end of another key. In pieces: several such names go into each request's script, each
// written straight into the command.
class KeyName {
 public:
  KeyName(std::string_view prefix, KeyKind k, std::string_view id, std::string_view tail = {})
      : size_(id.size()), parts_{prefix, k.kind, size_.view(), ":", id, k.suffix, tail} {}
  KeyName(const KeyName&) = delete;  // parts_ views size_
  KeyName& operator=(const KeyName&) = delete;
  std::span<const std::string_view> parts() const { return parts_; }
  std::string str() const {
    size_t n = 0;
    for (auto p : parts_) n += p.size();
    std::string out;
    out.reserve(n);
    for (auto p : parts_) out.append(p);
    return out;
  }

 private:
  NumberText size_;
  std::array<std::string_view, 7> parts_;
};

void key_arg(CommandWriter& c, const Keys& keys, KeyKind k, std::string_view id,
             std::string_view tail = {}) {
  c.pieces(KeyName(keys.prefix, k, id, tail).parts());
}

void push_budget_keys(const Keys& keys, const std::vector<BudgetArg>& budgets, CommandWriter& c) {
  for (const auto& b : budgets) {
    key_arg(c, keys, kReservations, b.holder);
    key_arg(c, keys, kAmounts, b.holder);
    key_arg(c, keys, kSpent, b.holder, NumberText(b.period_start).view());
  }
}

// After the window's totals: each budget's reserved total, in the budgets' order.
void push_reserved_keys(const Keys& keys, const std::vector<BudgetArg>& budgets,
                        CommandWriter& c) {
  for (const auto& b : budgets) key_arg(c, keys, kReserved, b.holder);
}

// The keys both scripts take, in order: the key's window, its parallel slots, each budget's
// reservations, amounts and spend, the window's totals, each budget's reserved total.
void push_keys(const Keys& keys, std::string_view key_id, const std::vector<BudgetArg>& budgets,
               CommandWriter& c) {
  c.arg(static_cast<int64_t>(4 + 4 * budgets.size()));
  key_arg(c, keys, kRequests, key_id);
  key_arg(c, keys, kTokens, key_id);
  key_arg(c, keys, kParallel, key_id);
  push_budget_keys(keys, budgets, c);
  key_arg(c, keys, kTotals, key_id);
  push_reserved_keys(keys, budgets, c);
}

// Integer fields of a reply array, or nullopt when a field is missing or not an integer.
std::optional<std::vector<int64_t>> integers(const Value& v, size_t min, size_t max) {
  if (!v.is_array() || v.elements.size() < min || v.elements.size() > max) return std::nullopt;
  std::vector<int64_t> out;
  out.reserve(v.elements.size());
  for (const auto& e : v.elements) {
    if (e.type != Value::Type::Integer) return std::nullopt;
    out.push_back(e.integer);
  }
  return out;
}

}  // namespace

std::string Keys::requests(std::string_view id) const {
  return KeyName(prefix, kRequests, id).str();
}
std::string Keys::tokens(std::string_view id) const { return KeyName(prefix, kTokens, id).str(); }
std::string Keys::parallel(std::string_view id) const {
  return KeyName(prefix, kParallel, id).str();
}
std::string Keys::totals(std::string_view id) const { return KeyName(prefix, kTotals, id).str(); }
std::string Keys::reservations(std::string_view h) const {
  return KeyName(prefix, kReservations, h).str();
}
std::string Keys::amounts(std::string_view h) const { return KeyName(prefix, kAmounts, h).str(); }
std::string Keys::reserved(std::string_view h) const { return KeyName(prefix, kReserved, h).str(); }
std::string Keys::spent(std::string_view h, int64_t period_start) const {
  return KeyName(prefix, kSpent, h, NumberText(period_start).view()).str();
}
std::string Keys::cached(std::string_view k) const { return KeyName(prefix, kCached, k).str(); }

std::string encode_answer(const cache::CachedAnswer& a) {
  std::string out = fmt::format("tg1 {} {}\n", a.provider.size(), a.upstream_model.size());
  out.reserve(out.size() + a.provider.size() + a.upstream_model.size() + a.body.size());
  out += a.provider;
  out += a.upstream_model;
  out += a.body;
  return out;
}

std::optional<cache::CachedAnswer> decode_answer(std::string_view v) {
  if (!v.starts_with("tg1 ") || v.size() > kMaxSharedAnswer + 1024) return std::nullopt;
  auto nl = v.find('\n');
  if (nl == std::string_view::npos || nl > 32) return std::nullopt;
  std::string_view head = v.substr(4, nl - 4);
  auto space = head.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view d) -> std::optional<size_t> {
    if (d.empty() || d.size() > 6) return std::nullopt;
    size_t n = 0;
    for (char c : d) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + static_cast<size_t>(c - '0');
    }
    return n;
  };
  auto plen = number(head.substr(0, space)), mlen = number(head.substr(space + 1));
  std::string_view rest = v.substr(nl + 1);
  if (!plen || !mlen || *plen + *mlen > rest.size()) return std::nullopt;
  cache::CachedAnswer a;
  a.provider = std::string(rest.substr(0, *plen));
  a.upstream_model = std::string(rest.substr(*plen, *mlen));
  a.body = std::string(rest.substr(*plen + *mlen));
  if (a.body.empty()) return std::nullopt;
  return a;
}

std::string_view admit_script() { return kAdmit; }
std::string_view finish_script() { return kFinish; }

namespace {
const std::string& admit_sha() {
  static const std::string sha = sha1_hex(kAdmit);
  return sha;
}
const std::string& finish_sha() {
  static const std::string sha = sha1_hex(kFinish);
  return sha;
}
}  // namespace

std::string sha1_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < len; ++i) fmt::format_to(std::back_inserter(out), "{:02x}", md[i]);
  return out;
}

CommandWriter admit_command(const Keys& keys, const AdmitArgs& a, bool by_sha) {
  CommandWriter c;
  c.arg(by_sha ? "EVALSHA" : "EVAL").arg(by_sha ? std::string_view(admit_sha()) : kAdmit);
  push_keys(keys, a.key_id, a.budgets, c);
  c.arg(limit_arg(a.limits.rpm)).arg(limit_arg(a.limits.tpm));
  c.arg(a.limits.parallel ? static_cast<int64_t>(*a.limits.parallel) : 0);
  c.arg(clamp_count(a.token_estimate)).arg(a.hold_id);
  c.arg(std::max<int64_t>(a.hold_ttl_ms, 1000)).arg(clamp_nanos(a.estimate));
  c.arg(static_cast<int64_t>(a.budgets.size()));
  for (const auto& b : a.budgets) {
    c.arg(clamp_nanos(b.limit)).arg(seed_arg(b.seed)).arg(std::max<int64_t>(b.spent_ttl_ms, 0));
  }
  return c;
}

AdmitReply parse_admit_reply(const Value& v, size_t budgets) {
  if (v.is_error()) return BadReply{v.str.substr(0, 200)};
  auto f = integers(v, 1, 10);
  if (!f) return BadReply{"unexpected reply to the admit script"};
  const auto& n = *f;
  auto nonneg = [](int64_t x) { return std::max<int64_t>(x, 0); };
  switch (n[0]) {
    case 0: {
      if (n.size() != 6) break;
      return Admitted{n[1], 0, static_cast<uint64_t>(nonneg(n[2])), nonneg(n[3]), nonneg(n[4]),
                      nonneg(n[5])};
    }
    case 1: {
      if (n.size() != 10 || n[1] < 1 || n[1] > 3) break;
      LimitedReply l;
      l.limited.which = n[1] == 1 ? governance::LimitKind::Rpm
                        : n[1] == 2 ? governance::LimitKind::Tpm
                                    : governance::LimitKind::Parallel;
      l.limited.limit = static_cast<uint64_t>(nonneg(n[2]));
      l.limited.remaining = static_cast<uint64_t>(nonneg(n[3]));
      const int64_t retry_ms = std::clamp<int64_t>(n[4], 0, 3'600'000);
      l.limited.retry_after_seconds = std::max<int64_t>(1, (retry_ms + 999) / 1000);
      l.limited.reset = std::chrono::milliseconds{std::clamp<int64_t>(n[5], 0, 3'600'000)};
      l.requests = static_cast<uint64_t>(nonneg(n[6]));
      l.tokens = nonneg(n[7]);
      l.reset_requests_ms = std::clamp<int64_t>(n[8], 0, 3'600'000);
      l.reset_tokens_ms = std::clamp<int64_t>(n[9], 0, 3'600'000);
      return l;
    }
    case 2: {
      if (n.size() != 4 || n[1] < 1 || static_cast<uint64_t>(n[1]) > budgets) break;
      return BudgetRefused{static_cast<size_t>(n[1] - 1), nonneg(n[2]), nonneg(n[3])};
    }
    case 3: {
      if (n.size() < 2 || n.size() - 1 > budgets) break;
      SeedNeeded need;
      for (size_t i = 1; i < n.size(); ++i) {
        if (n[i] < 1 || static_cast<uint64_t>(n[i]) > budgets) {
          return BadReply{"unexpected reply to the admit script"};
        }
        need.budgets.push_back(static_cast<size_t>(n[i] - 1));
      }
      return need;
    }
    default: break;
  }
  return BadReply{"unexpected reply to the admit script"};
}

governance::RateLimitHeaders headers_of(const config::LimitsConfig& limits, uint64_t requests,
                                        int64_t tokens, int64_t reset_requests_ms,
                                        int64_t reset_tokens_ms) {
  governance::RateLimitHeaders h;
  if (limits.rpm) {
    h.limit_requests = *limits.rpm;
    h.remaining_requests = requests >= *limits.rpm ? 0 : *limits.rpm - requests;
    h.reset_requests = std::chrono::milliseconds{reset_requests_ms};
  }
  if (limits.tpm) {
    h.limit_tokens = *limits.tpm;
    const auto used = static_cast<uint64_t>(std::max<int64_t>(tokens, 0));
    h.remaining_tokens = used >= *limits.tpm ? 0 : *limits.tpm - used;
    h.reset_tokens = std::chrono::milliseconds{reset_tokens_ms};
  }
  return h;
}

CommandWriter finish_command(const Keys& keys, const FinishArgs& a, bool by_sha) {
  CommandWriter c;
  c.arg(by_sha ? "EVALSHA" : "EVAL").arg(by_sha ? std::string_view(finish_sha()) : kFinish);
  push_keys(keys, a.key_id, a.budgets, c);
  c.arg(a.windowed ? a.second : 0).arg(clamp_count(a.token_estimate));
  c.arg(a.actual_tokens ? clamp_count(*a.actual_tokens) : -1);
  c.arg(a.parallel ? std::string_view(a.hold_id) : std::string_view()).arg(a.hold_id);
  c.arg(a.cost ? clamp_nanos(*a.cost) : -1);
  c.arg(static_cast<int64_t>(a.budgets.size()));
  for (const auto& b : a.budgets) c.arg(seed_arg(b.seed)).arg(std::max<int64_t>(b.spent_ttl_ms, 0));
  return c;
}

}  // namespace tg::redis
