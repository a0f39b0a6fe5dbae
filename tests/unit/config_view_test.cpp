// GET /admin/config: the file's text and the effective config with every secret redacted.

#include <algorithm>
#include <cstring>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config_test_util.hpp"
#include "tollgate/admin/config_view.hpp"

namespace tg::admin {
namespace {

const char* kYaml = R"(server:
  master_key: sk-master-literal-123
  metrics_key: ${METRICS_KEY}
  workers: 2
providers:
  openai:
    type: openai
    api_keys: [ ${OPENAI_API_KEY} ]
  backup:
    type: openai-compatible
    base_url: http://127.0.0.1:9/v1
    headers:
      X-Custom: hdr-secret-value-9
    api_keys:
      - sk-literal-one-456
      - key: sk-literal-two-789
        weight: 2
      - ${OTHER_KEY}
  local:
    type: openai-compatible
    base_url: http://127.0.0.1:8/v1
router:
  timeouts: { connect: 5s, first_token: 30s }
models:
  - name: fast
    targets: [ backup/gpt-4o-mini ]
keys:
  - name: kid
    key: sk-tg-kid-literal-key-0123456789
    budget: { usd: 5, period: monthly }
)";

config::Config loaded() {
  auto r = config::testing::load(kYaml, {{"OPENAI_API_KEY", "sk-from-env-abcdef"},
                                         {"METRICS_KEY", "metrics-env-secret"},
                                         {"OTHER_KEY", "sk-other-env-xyz"}});
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0].to_string());
  return *r.config;
}

TEST(ConfigView, YamlKeepsReferencesAndRedactsLiteralSecrets) {
  auto c = loaded();
  std::string out = redact_yaml(kYaml, secrets_of(c));
  for (const char* secret : {"sk-master-literal-123", "sk-literal-one-456", "sk-literal-two-789",
                             "hdr-secret-value-9", "sk-tg-kid-literal-key-0123456789"}) {
    EXPECT_EQ(out.find(secret), std::string::npos) << secret << "\n" << out;
  }
  EXPECT_NE(out.find("metrics_key: ${METRICS_KEY}"), std::string::npos) << out;
  EXPECT_NE(out.find("api_keys: [ ${OPENAI_API_KEY} ]"), std::string::npos) << out;
  EXPECT_NE(out.find("      - ${OTHER_KEY}"), std::string::npos) << out;
  EXPECT_NE(out.find("        weight: 2"), std::string::npos) << out;
  EXPECT_NE(out.find("  master_key: [redacted]"), std::string::npos) << out;
  EXPECT_NE(out.find("first_token: 30s"), std::string::npos) << "not a secret: " << out;
  EXPECT_NE(out.find("base_url: http://127.0.0.1:8/v1"), std::string::npos);
  EXPECT_NE(out.find("  - name: fast"), std::string::npos);
  EXPECT_NE(out.find("    budget: { usd: 5, period: monthly }"), std::string::npos);
  // Same number of lines: the UI can point at a line the errors name.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'),
            std::count(kYaml, kYaml + std::strlen(kYaml), '\n'));
}

TEST(ConfigView, AKnownSecretIsRedactedWhereverItAppears) {
  std::string out = redact_yaml("# my key is sk-sneaky-1234 (do not share)\nx: 1\n",
                                {"sk-sneaky-1234"});
  EXPECT_EQ(out, "# my key is [redacted] (do not share)\nx: 1\n");
}

TEST(ConfigView, EffectiveConfigHoldsNoSecret) {
  auto c = loaded();
  std::string dumped = effective_config_text(c);
  for (const auto& s : secrets_of(c)) {
    EXPECT_EQ(dumped.find(s), std::string::npos) << s;
  }
  EXPECT_GE(secrets_of(c).size(), 7u);
  auto j = nlohmann::json::parse(dumped);
  EXPECT_EQ(j["server"]["master_key"], "[redacted]");
  EXPECT_EQ(j["server"]["workers"], 2);
  EXPECT_EQ(j["providers"]["backup"]["api_keys"], 3);
  EXPECT_EQ(j["providers"]["backup"]["headers"]["X-Custom"], "[redacted]");
  EXPECT_EQ(j["keys"][0]["key"], "[redacted]");
  EXPECT_EQ(j["keys"][0]["budget"]["usd"], 5.0);
  EXPECT_EQ(j["models"][0]["targets"][0]["target"], "backup/gpt-4o-mini");
}

TEST(ConfigView, ReloadErrorsAsJson) {
  JsonWriter w;
  write_errors(w, {config::ConfigError{"server.workrs", 3, "unknown key 'workrs'"},
                   config::ConfigError{"", 0, "TLS setup failed"}});
  auto j = nlohmann::json::parse(w.text());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["path"], "server.workrs");
  EXPECT_EQ(j[0]["line"], 3);
  EXPECT_EQ(j[0]["message"], "unknown key 'workrs'");
  EXPECT_TRUE(j[1]["line"].is_null());
}

}  // namespace
}  // namespace tg::admin
