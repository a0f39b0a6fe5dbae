#include "tollgate/governance/keys.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <atomic>
#include <thread>

#include "tollgate/core/error.hpp"

#include "tollgate/core/secure.hpp"

namespace tg::governance {
namespace {

using namespace std::chrono;

const sys_seconds kNow = sys_seconds{sys_days{2026y / 3 / 10}} + 12h;

config::KeyConfig cfg_key(std::string name, std::string key) {
  config::KeyConfig k;
  k.name = std::move(name);
  k.key = std::move(key);
  return k;
}

KeySpec spec_named(std::string name) {
  KeySpec s;
  s.name = std::move(name);
  return s;
}

// Every string a record holds, to prove the plaintext is not among them.
std::vector<std::string> strings_of(const KeyRecord& r) {
  std::vector<std::string> v = {r.id, r.name, r.team, r.key_hash, r.key_hint};
  for (auto& m : r.models) v.push_back(m);
  for (auto& [k, val] : r.metadata) {
    v.push_back(k);
    v.push_back(val);
  }
  return v;
}

TEST(GovKeys, GeneratedFormatAndEntropy) {
  const std::regex shape("^sk-tg-[0-9A-Za-z]{43}$");
  std::set<std::string> seen;
  std::map<char, int> freq;
  for (int i = 0; i < 2000; ++i) {
    std::string k = generate_key();
    ASSERT_TRUE(std::regex_match(k, shape)) << k;
    EXPECT_TRUE(seen.insert(k).second) << "duplicate key";
    for (char c : k.substr(6)) freq[c]++;
  }
  // 43 base62 characters = 256 bits: all 62 symbols show up, none dominates (uniform would be
  // 2000*43/62 = 1387 each).
  EXPECT_EQ(freq.size(), 62u);
  for (auto& [c, n] : freq) {
    EXPECT_GT(n, 1100) << c;
    EXPECT_LT(n, 1700) << c;
  }
}

TEST(GovKeys, CreateStoresOnlyTheHash) {
  KeySpec spec;
  spec.name = "ci";
  spec.models = {"gpt-4o"};
  spec.metadata = {{"owner", "ops"}};
  NewKey nk = create_key(spec, kNow);
  EXPECT_TRUE(nk.plaintext.starts_with("sk-tg-"));
  EXPECT_EQ(nk.record.key_hash, sha256_hex(nk.plaintext));
  EXPECT_EQ(nk.record.key_hash.size(), 64u);
  EXPECT_TRUE(std::regex_match(nk.record.id, std::regex("^key_[0-9a-f]{12}$"))) << nk.record.id;
  EXPECT_EQ(nk.record.source, KeySource::Admin);
  EXPECT_EQ(nk.record.created_at, kNow);
  EXPECT_EQ(nk.record.key_hint, redact_key(nk.plaintext));
  const std::string secret_part = nk.plaintext.substr(6, 20);
  for (const std::string& s : strings_of(nk.record)) {
    EXPECT_EQ(s.find(secret_part), std::string::npos) << s;
  }
  // Two creations never share an id or a key.
  NewKey other = create_key(spec, kNow);
  EXPECT_NE(other.record.id, nk.record.id);
  EXPECT_NE(other.plaintext, nk.plaintext);
}

TEST(GovKeys, LookupByPresentedKey) {
  KeyIndex idx;
  NewKey nk = create_key(spec_named("app"), kNow);
  ASSERT_TRUE(idx.upsert(nk.record));
  auto snap = idx.snapshot();
  const KeyRecord* r = snap->find_by_key(nk.plaintext);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->name, "app");
  EXPECT_EQ(snap->find_by_id(nk.record.id), r);
  EXPECT_EQ(snap->find_by_key(nk.plaintext + "x"), nullptr);
  EXPECT_EQ(snap->find_by_key(""), nullptr);
  EXPECT_EQ(snap->find_by_key(nk.record.key_hash), nullptr);  // the hash is not a key
}

TEST(GovKeys, AllowsExactNamesAndProviderWildcards) {
  KeyRecord r;
  EXPECT_TRUE(r.allows("anything"));  // empty list: all models
  r.models = {"gpt-4o", "anthropic/claude-haiku-4-5", "groq/*"};
  EXPECT_TRUE(r.allows("gpt-4o"));
  EXPECT_TRUE(r.allows("anthropic/claude-haiku-4-5"));
  EXPECT_TRUE(r.allows("groq/llama-3.3-70b-versatile"));
  EXPECT_TRUE(r.allows("groq/openai/gpt-oss-120b"));
  // Bypass attempts: the same upstream under another name, case, whitespace, paths.
  EXPECT_FALSE(r.allows("openai/gpt-4o"));
  EXPECT_FALSE(r.allows("GPT-4o"));
  EXPECT_FALSE(r.allows("gpt-4o "));
  EXPECT_FALSE(r.allows("gpt-4o-mini"));
  EXPECT_FALSE(r.allows("anthropic/claude-sonnet-4-5"));
  EXPECT_FALSE(r.allows("anthropic/*"));
  EXPECT_FALSE(r.allows("groq"));
  EXPECT_FALSE(r.allows("groq/"));
  EXPECT_FALSE(r.allows("groqx/llama"));
  EXPECT_FALSE(r.allows("openai/groq/llama"));
  EXPECT_FALSE(r.allows(""));
}

TEST(GovKeys, CheckReturnsTheInterfaceErrors) {
  KeyRecord r;
  r.name = "flux";
  r.models = {"gpt-4o"};
  const system_clock::time_point now = kNow;
  EXPECT_FALSE(check(r, "gpt-4o", now));

  auto e = check(r, "openai/gpt-4o", now);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 403);
  EXPECT_EQ(e->code, ErrorCode::Forbidden);
  EXPECT_EQ(e->type, "permission_error");
  EXPECT_EQ(e->code_str, "model_not_allowed");
  EXPECT_EQ(e->param, "model");
  EXPECT_NE(e->message.find("openai/gpt-4o"), std::string::npos);

  r.expires_at = kNow;  // expires exactly now
  e = check(r, "gpt-4o", now);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 403);
  EXPECT_EQ(e->code_str, "key_expired");
  EXPECT_NE(e->message.find("2026-03-10T12:00:00Z"), std::string::npos) << e->message;
  EXPECT_FALSE(check(r, "gpt-4o", now - 1s));  // one second before: fine

  r.enabled = false;  // disabled wins over expired
  e = check(r, "gpt-4o", now);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code_str, "key_disabled");
  EXPECT_EQ(e->type, "permission_error");
  EXPECT_NE(render_error_body(*e).find("\"code\":\"key_disabled\""), std::string::npos);
}

TEST(GovKeys, ConfigKeyIdsAreStableAndHashOnly) {
  auto a = record_from_config(cfg_key("flux", "sk-flux-secret-0123456789"), kNow);
  auto b = record_from_config(cfg_key("flux-renamed", "sk-flux-secret-0123456789"), kNow + 24h);
  auto c = record_from_config(cfg_key("flux", "sk-flux-secret-0123456780"), kNow);
  EXPECT_EQ(a.id, b.id);  // same key -> same id, on every restart
  EXPECT_NE(a.id, c.id);
  EXPECT_TRUE(std::regex_match(a.id, std::regex("^key_[0-9a-f]{12}$"))) << a.id;
  EXPECT_EQ(a.id, key_id_from_hash(sha256_hex("sk-flux-secret-0123456789")));
  EXPECT_NE(a.id, "key_" + a.key_hash.substr(0, 12));  // the id does not reveal the hash
  EXPECT_EQ(a.source, KeySource::Config);
  for (const std::string& s : strings_of(a)) {
    EXPECT_EQ(s.find("secret-0123456789"), std::string::npos) << s;
  }
}

TEST(GovKeys, ConfigReloadReplacesConfigKeysAndKeepsAdminKeys) {
  KeyIndex idx;
  NewKey admin = create_key(spec_named("admin-made"), kNow);
  ASSERT_TRUE(idx.upsert(admin.record));
  auto w = idx.set_config_keys({cfg_key("a", "sk-aaaaaaaaaaaaaaaa"), cfg_key("b", "sk-bbbbbbbbbbbbbbbb")},
                               kNow);
  EXPECT_TRUE(w.empty());
  auto s1 = idx.snapshot();
  EXPECT_EQ(s1->size(), 3u);
  const std::string id_a = s1->find_by_key("sk-aaaaaaaaaaaaaaaa")->id;
  // Reload: b removed, a kept (same id, original created_at), c added.
  idx.set_config_keys({cfg_key("a", "sk-aaaaaaaaaaaaaaaa"), cfg_key("c", "sk-cccccccccccccccc")},
                      kNow + 1h);
  auto s2 = idx.snapshot();
  EXPECT_EQ(s2->size(), 3u);
  ASSERT_NE(s2->find_by_key("sk-aaaaaaaaaaaaaaaa"), nullptr);
  EXPECT_EQ(s2->find_by_key("sk-aaaaaaaaaaaaaaaa")->id, id_a);
  EXPECT_EQ(s2->find_by_key("sk-aaaaaaaaaaaaaaaa")->created_at, kNow);
  EXPECT_EQ(s2->find_by_key("sk-bbbbbbbbbbbbbbbb"), nullptr);
  EXPECT_NE(s2->find_by_key("sk-cccccccccccccccc"), nullptr);
  EXPECT_NE(s2->find_by_key(admin.plaintext), nullptr);
  // The old snapshot a reader still holds is unchanged.
  EXPECT_NE(s1->find_by_key("sk-bbbbbbbbbbbbbbbb"), nullptr);
  // A config entry that is an admin key's secret is refused with a warning.
  w = idx.set_config_keys({cfg_key("dup", admin.plaintext)}, kNow);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(idx.snapshot()->find_by_key(admin.plaintext)->name, "admin-made");
}

TEST(GovKeys, UpdateAndRemove) {
  KeyIndex idx;
  NewKey nk = create_key(spec_named("x"), kNow);
  idx.upsert(nk.record);
  auto before = idx.snapshot();
  auto updated = idx.update(nk.record.id, [](KeyRecord& r) {
    r.enabled = false;
    r.id = "key_hijacked";  // identity is not editable
  });
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->id, nk.record.id);
  EXPECT_FALSE(idx.snapshot()->find_by_key(nk.plaintext)->enabled);
  EXPECT_TRUE(before->find_by_key(nk.plaintext)->enabled);  // copy-on-write
  EXPECT_EQ(idx.snapshot()->find_by_id("key_hijacked"), nullptr);
  EXPECT_FALSE(idx.update("key_000000000000", [](KeyRecord&) {}));
  EXPECT_TRUE(idx.remove(nk.record.id));
  EXPECT_EQ(idx.snapshot()->find_by_key(nk.plaintext), nullptr);  // revoked -> 401
  EXPECT_FALSE(idx.remove(nk.record.id));
  // A second record with the same hash is refused.
  KeyRecord clash = nk.record;
  clash.id = "key_111111111111";
  idx.upsert(nk.record);
  EXPECT_FALSE(idx.upsert(clash));
  EXPECT_EQ(idx.load({clash}), 1u);
}

TEST(GovKeys, ReadersAndWritersConcurrently) {
  KeyIndex idx;
  NewKey stable = create_key(spec_named("stable"), kNow);
  idx.upsert(stable.record);
  std::atomic<bool> stop{false};
  std::atomic<int> misses{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto snap = idx.snapshot();
        if (!snap->find_by_key(stable.plaintext)) misses++;
      }
    });
  }
  for (int i = 0; i < 300; ++i) {
    NewKey nk = create_key(spec_named("k" + std::to_string(i)), kNow);
    idx.upsert(nk.record);
    if (i % 2) idx.remove(nk.record.id);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(misses.load(), 0);
  EXPECT_EQ(idx.snapshot()->size(), 151u);
  auto all = idx.snapshot()->all();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const auto& a, const auto& b) { return a->name < b->name; }));
}

}  // namespace
}  // namespace tg::governance
