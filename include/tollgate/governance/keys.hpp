#pragma once
// Virtual keys: generation, hashing, the key record, access checks, and the index the request path
// reads. Pure, thread-safe where stated.
//
// A virtual key is "sk-tg-" + 43 base62 characters drawn uniformly with OpenSSL RAND_bytes
// (43 * log2(62) = 256 bits). Only its SHA-256 hex is kept (KeyRecord::key_hash); the plaintext
// exists once, in the NewKey returned at creation. Lookup hashes the presented key and finds the
// hash in a hash map: the map's timing depends only on SHA-256 outputs, which an attacker cannot
// steer toward a valid key's hash, so no constant-time compare is needed there.
//
// Model access (KeyRecord::allows): an empty list allows every model. Otherwise the name the
// client asked for must equal an entry exactly (case-sensitive), or match an entry "provider/*"
// by starting with "provider/". Nothing else: a key allowed "gpt-4o" (a models: name) may not ask
// for "openai/gpt-4o", and "openai/*" does not allow "gpt-4o". Check the name as asked, before any
// routing.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tollgate/config/config.hpp"
#include "tollgate/core/error.hpp"

namespace tg::governance {

enum class KeySource { Config, Admin };
std::string_view to_string(KeySource s);  // "config" | "admin"

inline constexpr std::string_view kVirtualKeyPrefix = "sk-tg-";

struct KeyRecord {
  std::string id;        // "key_" + 12 hex; stable across restarts for config keys
  std::string name;
  std::string team;      // team id/name; empty = none
  std::string key_hash;  // SHA-256 hex of the key; the plaintext is never stored
  std::string key_hint;  // redact_key(): "sk-...wxyz", for listings
  std::vector<std::string> models;  // empty = all; exact names or "provider/*"
  std::optional<config::BudgetConfig> budget;
  config::LimitsConfig limits;
  std::optional<std::chrono::sys_seconds> expires_at;
  bool enabled = true;
  std::map<std::string, std::string> metadata;
  std::chrono::sys_seconds created_at{};
  KeySource source = KeySource::Admin;

  bool allows(std::string_view model_asked) const;
  bool expired(std::chrono::system_clock::time_point now) const {
    return expires_at && now >= *expires_at;
  }
};

// "sk-tg-" + 43 base62 chars (256 bits from RAND_bytes). Throws std::runtime_error if the RNG
// fails (never returns a weak key).
std::string generate_key();
// SHA-256 hex of a presented key (tg::sha256_hex).
std::string hash_key(std::string_view key);
// "key_" + first 12 hex of SHA-256("tollgate-key-id\n" + key_hash): a pure function of the key, so
// a config key keeps its id (and its spend rows) across restarts and reloads.
std::string key_id_from_hash(std::string_view key_hash);
// "key_" + 12 random hex (admin-created keys).
std::string random_key_id();

// A config.yaml key: hashed here, id derived from the hash, source = Config.
KeyRecord record_from_config(const config::KeyConfig& k, std::chrono::sys_seconds now);

// The fields of POST /admin/keys (same shapes as keys: in the file).
struct KeySpec {
  std::string name;
  std::string team;
  std::vector<std::string> models;
  std::optional<config::BudgetConfig> budget;
  config::LimitsConfig limits;
  std::optional<std::chrono::sys_seconds> expires_at;
  std::map<std::string, std::string> metadata;
  bool enabled = true;
};
struct NewKey {
  std::string plaintext;  // show once, never store
  KeyRecord record;
};
// Generates a key and its record (random id, source = Admin, created_at = now).
NewKey create_key(KeySpec spec, std::chrono::sys_seconds now);

// The 403 errors of interface.md (permission_error): key_disabled, key_expired, model_not_allowed
// (param "model"), checked in that order. nullopt = allowed.
std::optional<Error> check(const KeyRecord& record, std::string_view model_asked,
                           std::chrono::system_clock::time_point now);
Error key_disabled_error(const KeyRecord& r);
Error key_expired_error(const KeyRecord& r);
Error model_not_allowed_error(const KeyRecord& r, std::string_view model_asked);

// An immutable view of every key. Readers hold it as shared_ptr<const KeyIndexSnapshot>.
class KeyIndexSnapshot {
 public:
  // Hashes the presented key; nullptr when unknown (-> 401 invalid_api_key).
  const KeyRecord* find_by_key(std::string_view presented) const;
  const KeyRecord* find_by_hash(std::string_view key_hash) const;
  const KeyRecord* find_by_id(std::string_view id) const;
  std::shared_ptr<const KeyRecord> get(std::string_view id) const;  // shares ownership
  // Every record, sorted by name then id.
  std::vector<std::shared_ptr<const KeyRecord>> all() const;
  size_t size() const { return by_id_.size(); }

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  };
  using Map = std::unordered_map<std::string, std::shared_ptr<const KeyRecord>, Hash, Eq>;

 private:
  friend class KeyIndex;
  Map by_id_;
  Map by_hash_;
};

// The key index: readers take snapshot() (a shared_ptr copy under a mutex held only for that
// copy); writers (admin API, config reload; rare) copy the maps of pointers, change them and
// publish the new snapshot with a pointer swap. Readers never wait for a writer's copy. Thread-safe.
class KeyIndex {
 public:
  KeyIndex();
  std::shared_ptr<const KeyIndexSnapshot> snapshot() const;

  // Replaces every Config-sourced key with the ones of this config (admin keys are kept). A config
  // key whose hash or id is already an admin key's is skipped with a warning. Call at start and on
  // each reload. Runtime changes to config keys (update()) last until the next reload.
  std::vector<std::string> set_config_keys(const std::vector<config::KeyConfig>& keys,
                                           std::chrono::sys_seconds now);
  // Adds or replaces (by id) an admin key. False (and nothing changes) when another record already
  // has this key hash.
  bool upsert(KeyRecord record);
  // Adds many admin keys at start (from the store); returns how many were refused (hash clash).
  size_t load(std::vector<KeyRecord> records);
  // Copy, mutate, republish (PATCH). nullopt when the id is unknown. The callback must not
  // change id or key_hash.
  template <typename F>
  std::optional<KeyRecord> update(std::string_view id, F&& mutate) {
    return update_impl(id, [&](KeyRecord& r) { mutate(r); });
  }
  bool remove(std::string_view id);  // revoke: the key then gets 401

 private:
  std::optional<KeyRecord> update_impl(std::string_view id,
                                       const std::function<void(KeyRecord&)>& mutate);
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tg::governance
