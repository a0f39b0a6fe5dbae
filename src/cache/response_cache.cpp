#include "tollgate/cache/response_cache.hpp"

#include "tollgate/core/secure.hpp"

namespace tg::cache {

void ResponseCache::set_limits(Limits limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
  evict_to(limits_.max_entries, limits_.max_bytes);
}

std::shared_ptr<const CachedAnswer> ResponseCache::get(const std::string& key,
                                                        Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  if (it->second->expires <= now) {
    erase(it->second);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->answer;
}

void ResponseCache::put(const std::string& key, CachedAnswer answer, Clock::time_point now) {
  const uint64_t size = key.size() + answer.body.size() + answer.provider.size() +
                        answer.upstream_model.size() + sizeof(Entry);
  std::lock_guard lock(mu_);
  if (limits_.max_entries == 0 || size > limits_.max_bytes / 16) return;
  if (auto it = index_.find(key); it != index_.end()) erase(it->second);
  evict_to(limits_.max_entries - 1, limits_.max_bytes - size);
  lru_.push_front(Entry{key, std::make_shared<const CachedAnswer>(std::move(answer)),
                        now + limits_.ttl, size});
  index_.emplace(lru_.front().key, lru_.begin());
  bytes_ += size;
}

size_t ResponseCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

uint64_t ResponseCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

void ResponseCache::evict_to(uint64_t entries, uint64_t bytes) {
  while (!lru_.empty() && (lru_.size() > entries || bytes_ > bytes)) erase(std::prev(lru_.end()));
}

void ResponseCache::erase(std::list<Entry>::iterator it) {
  bytes_ -= it->bytes;
  index_.erase(it->key);
  lru_.erase(it);
}

std::string ResponseCache::key_of(std::string_view scope, std::string_view endpoint,
                                  std::string_view body) {
  std::string material;
  material.reserve(scope.size() + endpoint.size() + body.size() + 2);
  material.append(scope).append(1, '\0').append(endpoint).append(1, '\0').append(body);
  return sha256_hex(material);
}

}  // namespace tg::cache
