// Virtual keys: generation, hashing, records, access checks, the copy-on-write index.

#include "tollgate/governance/keys.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "tollgate/core/secure.hpp"
#include "tollgate/governance/money.hpp"

namespace tg::governance {

namespace {

constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr size_t kKeyChars = 43;  // 43 * log2(62) = 256.0 bits

void random_bytes(unsigned char* buf, size_t n) {
  if (RAND_bytes(buf, static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed: cannot generate a key");
  }
}

Error forbidden(std::string code, std::string message) {
  Error e;
  e.code = ErrorCode::Forbidden;
  e.status = 403;
  e.type = "permission_error";
  e.code_str = std::move(code);
  e.message = std::move(message);
  return e;
}

}  // namespace

std::string_view to_string(KeySource s) { return s == KeySource::Config ? "config" : "admin"; }

bool KeyRecord::allows(std::string_view model) const {
  if (models.empty()) return true;
  for (const std::string& m : models) {
    if (m == model) return true;
    if (m.size() >= 3 && m.ends_with("/*")) {
      std::string_view prefix(m.data(), m.size() - 1);  // "provider/"
      if (model.size() > prefix.size() && model.starts_with(prefix)) return true;
    }
  }
  return false;
}

std::string generate_key() {
  std::string out(kVirtualKeyPrefix);
  out.reserve(kVirtualKeyPrefix.size() + kKeyChars);
  unsigned char buf[64];
  while (out.size() < kVirtualKeyPrefix.size() + kKeyChars) {
    random_bytes(buf, sizeof buf);
    for (unsigned char b : buf) {
      if (b >= 248) continue;  // 248 = 4 * 62: rejection keeps every character equally likely
      out += kBase62[b % 62];
      if (out.size() == kVirtualKeyPrefix.size() + kKeyChars) break;
    }
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return out;
}

std::string hash_key(std::string_view key) { return sha256_hex(key); }

std::string key_id_from_hash(std::string_view key_hash) {
  return "key_" + sha256_hex("tollgate-key-id\n" + std::string(key_hash)).substr(0, 12);
}

std::string random_key_id() {
  unsigned char b[6];
  random_bytes(b, sizeof b);
  return fmt::format("key_{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3], b[4], b[5]);
}

KeyRecord record_from_config(const config::KeyConfig& k, std::chrono::sys_seconds now) {
  KeyRecord r;
  r.key_hash = hash_key(k.key);
  r.id = key_id_from_hash(r.key_hash);
  r.key_hint = redact_key(k.key);
  r.name = k.name;
  r.team = k.team;
  r.models = k.models;
  r.budget = k.budget;
  r.limits = k.limits;
  r.expires_at = k.expires_at;
  r.enabled = k.enabled;
  r.metadata = k.metadata;
  r.created_at = now;
  r.source = KeySource::Config;
  return r;
}

NewKey create_key(KeySpec spec, std::chrono::sys_seconds now) {
  NewKey nk;
  nk.plaintext = generate_key();
  KeyRecord& r = nk.record;
  r.key_hash = hash_key(nk.plaintext);
  r.key_hint = redact_key(nk.plaintext);
  r.id = random_key_id();
  r.name = std::move(spec.name);
  r.team = std::move(spec.team);
  r.models = std::move(spec.models);
  r.budget = spec.budget;
  r.limits = spec.limits;
  r.expires_at = spec.expires_at;
  r.enabled = spec.enabled;
  r.metadata = std::move(spec.metadata);
  r.created_at = now;
  r.source = KeySource::Admin;
  return nk;
}

Error key_disabled_error(const KeyRecord& r) {
  return forbidden("key_disabled", fmt::format("The key '{}' is disabled.", r.name));
}

Error key_expired_error(const KeyRecord& r) {
  return forbidden("key_expired",
                   fmt::format("The key '{}' expired at {}.", r.name,
                               r.expires_at ? iso8601_utc(*r.expires_at) : std::string("?")));
}

Error model_not_allowed_error(const KeyRecord& r, std::string_view model) {
  Error e = forbidden("model_not_allowed",
                      fmt::format("The key '{}' may not use the model `{}`.", r.name, model));
  e.param = "model";
  return e;
}

std::optional<Error> check(const KeyRecord& r, std::string_view model,
                           std::chrono::system_clock::time_point now) {
  if (!r.enabled) return key_disabled_error(r);
  if (r.expired(now)) return key_expired_error(r);
  if (!r.allows(model)) return model_not_allowed_error(r, model);
  return std::nullopt;
}

// ---- snapshot ----

const KeyRecord* KeyIndexSnapshot::find_by_key(std::string_view presented) const {
  if (presented.empty()) return nullptr;
  return find_by_hash(hash_key(presented));
}

const KeyRecord* KeyIndexSnapshot::find_by_hash(std::string_view h) const {
  auto it = by_hash_.find(h);
  return it == by_hash_.end() ? nullptr : it->second.get();
}

const KeyRecord* KeyIndexSnapshot::find_by_id(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second.get();
}

std::shared_ptr<const KeyRecord> KeyIndexSnapshot::get(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const KeyRecord>> KeyIndexSnapshot::all() const {
  std::vector<std::shared_ptr<const KeyRecord>> v;
  v.reserve(by_id_.size());
  for (const auto& [id, r] : by_id_) v.push_back(r);
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a->name != b->name ? a->name < b->name : a->id < b->id;
  });
  return v;
}

// ---- index ----

struct KeyIndex::Impl {
  std::mutex writer;         // serialises writers (copy + change + publish)
  mutable std::mutex ptr_mu;  // guards `current` only: held for a pointer copy or swap
  std::shared_ptr<const KeyIndexSnapshot> current;

  std::shared_ptr<const KeyIndexSnapshot> load() const {
    std::lock_guard lk(ptr_mu);
    return current;
  }

  // Copies the current maps (pointers only), lets `change` edit them, publishes the result.
  template <typename F>
  auto write(F&& change) {
    std::lock_guard lk(writer);
    auto next = std::make_shared<KeyIndexSnapshot>(*load());
    auto result = change(*next);
    std::shared_ptr<const KeyIndexSnapshot> old = std::move(next);
    {
      std::lock_guard plk(ptr_mu);
      current.swap(old);
    }
    return result;  // `old` (the previous snapshot) is released outside ptr_mu
  }
};

namespace {
bool insert_record(KeyIndexSnapshot::Map& by_id, KeyIndexSnapshot::Map& by_hash, KeyRecord rec) {
  if (auto it = by_hash.find(rec.key_hash); it != by_hash.end() && it->second->id != rec.id) {
    return false;
  }
  if (auto it = by_id.find(rec.id); it != by_id.end()) by_hash.erase(it->second->key_hash);
  auto p = std::make_shared<const KeyRecord>(std::move(rec));
  by_hash[p->key_hash] = p;
  by_id[p->id] = p;
  return true;
}
}  // namespace

KeyIndex::KeyIndex() : impl_(std::make_shared<Impl>()) {
  impl_->current = std::make_shared<const KeyIndexSnapshot>();
}

std::shared_ptr<const KeyIndexSnapshot> KeyIndex::snapshot() const { return impl_->load(); }

std::vector<std::string> KeyIndex::set_config_keys(const std::vector<config::KeyConfig>& keys,
                                                   std::chrono::sys_seconds now) {
  return impl_->write([&](KeyIndexSnapshot& s) {
    std::vector<std::string> warnings;
    // Keep the created_at of config keys that survive a reload.
    std::unordered_map<std::string, std::chrono::sys_seconds> created;
    for (auto it = s.by_id_.begin(); it != s.by_id_.end();) {
      if (it->second->source == KeySource::Config) {
        created[it->first] = it->second->created_at;
        s.by_hash_.erase(it->second->key_hash);
        it = s.by_id_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& k : keys) {
      KeyRecord r = record_from_config(k, now);
      if (auto c = created.find(r.id); c != created.end()) r.created_at = c->second;
      if (s.by_hash_.contains(r.key_hash) || s.by_id_.contains(r.id)) {
        warnings.push_back(fmt::format(
            "keys: '{}' is the same key as one created through the admin API; the config entry is "
            "ignored",
            k.name));
        continue;
      }
      insert_record(s.by_id_, s.by_hash_, std::move(r));
    }
    return warnings;
  });
}

bool KeyIndex::upsert(KeyRecord record) {
  return impl_->write(
      [&](KeyIndexSnapshot& s) { return insert_record(s.by_id_, s.by_hash_, std::move(record)); });
}

size_t KeyIndex::load(std::vector<KeyRecord> records) {
  return impl_->write([&](KeyIndexSnapshot& s) {
    size_t refused = 0;
    for (auto& r : records) {
      if (!insert_record(s.by_id_, s.by_hash_, std::move(r))) ++refused;
    }
    return refused;
  });
}

std::optional<KeyRecord> KeyIndex::update_impl(std::string_view id,
                                               const std::function<void(KeyRecord&)>& mutate) {
  return impl_->write([&](KeyIndexSnapshot& s) -> std::optional<KeyRecord> {
    auto it = s.by_id_.find(id);
    if (it == s.by_id_.end()) return std::nullopt;
    KeyRecord copy = *it->second;
    const std::string id_before = copy.id, hash_before = copy.key_hash;
    mutate(copy);
    copy.id = id_before;  // identity is not editable
    copy.key_hash = hash_before;
    auto p = std::make_shared<const KeyRecord>(copy);
    it->second = p;
    s.by_hash_[p->key_hash] = p;
    return copy;
  });
}

bool KeyIndex::remove(std::string_view id) {
  return impl_->write([&](KeyIndexSnapshot& s) {
    auto it = s.by_id_.find(id);
    if (it == s.by_id_.end()) return false;
    s.by_hash_.erase(it->second->key_hash);
    s.by_id_.erase(it);
    return true;
  });
}

}  // namespace tg::governance
