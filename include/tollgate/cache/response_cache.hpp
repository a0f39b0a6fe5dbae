#pragma once
// The response cache (cache: in the config): exact-match answers to non-streamed requests, kept in
// memory for `ttl`, bounded by entries and bytes, least recently used evicted first. Pure and
// thread-safe (one mutex: a lookup is a hash-map find and a list splice).

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tg::cache {

using Clock = std::chrono::steady_clock;

struct CachedAnswer {
  std::string body;            // as sent to the client
  std::string provider;        // that answered when it was stored
  std::string upstream_model;
};

struct Limits {
  std::chrono::milliseconds ttl{3'600'000};
  uint64_t max_entries = 10'000;
  uint64_t max_bytes = 64ull << 20;  // bodies and keys together
};

class ResponseCache {
 public:
  explicit ResponseCache(Limits limits = {}) : limits_(limits) {}

  // Start and reload: new limits apply at once (evicting down to them).
  void set_limits(Limits limits);

  // The answer stored under `key` and not expired at `now`, or nullptr (and a miss).
  std::shared_ptr<const CachedAnswer> get(const std::string& key, Clock::time_point now);
  // Stores an answer; one larger than a sixteenth of max_bytes is not kept (it would evict
  // many small ones).
  void put(const std::string& key, CachedAnswer answer, Clock::time_point now);

  size_t size() const;
  uint64_t bytes() const;

  // The key of a request: who may see the answer (`scope`: a team, a key, or the master key),
  // the endpoint, and the body's exact bytes, hashed (SHA-256, hex).
  static std::string key_of(std::string_view scope, std::string_view endpoint,
                            std::string_view body);

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const CachedAnswer> answer;
    Clock::time_point expires;
    uint64_t bytes = 0;
  };
  void evict_to(uint64_t entries, uint64_t bytes);  // mu_ held
  void erase(std::list<Entry>::iterator it);        // mu_ held

  mutable std::mutex mu_;
  Limits limits_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views into lru_
  uint64_t bytes_ = 0;
};

}  // namespace tg::cache
