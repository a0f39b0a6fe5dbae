// load_config_string / load_config_file: decoding, errors with path and line, env expansion,
// provider resolution, model targets, keys, and the shipped config files.

#include "config_test_util.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace tg::config {
namespace {

using testing::load;
using testing::rendered;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> provider_names(const Config& c) {
  std::vector<std::string> out;
  for (const auto& p : c.providers) out.push_back(p.name);
  return out;
}

std::vector<std::string> model_names(const Config& c) {
  std::vector<std::string> out;
  for (const auto& m : c.models) out.push_back(m.name);
  return out;
}

// ---- errors ----

TEST(ConfigErrors, RendersLinePathAndMessage) {
  EXPECT_EQ((ConfigError{"providers.openai.typ", 12, "unknown key 'typ' (did you mean 'type'?)"}).to_string(),
            "line 12: providers.openai.typ: unknown key 'typ' (did you mean 'type'?)");
  EXPECT_EQ((ConfigError{"", 0, "cannot read"}).to_string(), "cannot read");
}

TEST(ConfigErrors, UnknownKeysSuggestTheClosestValidKey) {
  auto r = load(
      "server:\n"
      "  workrs: 4\n"
      "providers:\n"
      "  openai:\n"
      "    typ: openai\n"
      "    api_key: sk-x\n"
      "rooter: {}\n");
  EXPECT_FALSE(r.config);
  EXPECT_THAT(rendered(r), ElementsAre("line 2: server.workrs: unknown key 'workrs' (did you mean 'workers'?)",
                                       "line 5: providers.openai.typ: unknown key 'typ' (did you mean 'type'?)",
                                       "line 7: rooter: unknown key 'rooter' (did you mean 'router'?)"));
}

TEST(ConfigErrors, SuggestionByPrefixAndNoneWhenNothingIsClose) {
  auto r = load("server:\n  max_req: 1MiB\n  zzzzzz: 1\n");
  EXPECT_THAT(rendered(r),
              ElementsAre("line 2: server.max_req: unknown key 'max_req' (did you mean 'max_request_body'?)",
                          "line 3: server.zzzzzz: unknown key 'zzzzzz'"));
}

TEST(ConfigErrors, AllErrorsAreReportedAtOnceInFileOrder) {
  auto r = load(
      "server:\n"
      "  workers: many\n"                 // 2
      "  listen: [a, b]\n"                // 3
      "  log_format: jsn\n"               // 4
      "  max_request_body: 16XB\n"        // 5
      "  header_timeout: soon\n"          // 6
      "  access_log: maybe\n"             // 7
      "router:\n"
      "  retries: 11\n"                   // 9
      "models: { name: x }\n"             // 10
      "store:\n"
      "  sqlite: [x]\n");                 // 12
  EXPECT_FALSE(r.config);
  EXPECT_THAT(rendered(r),
              ElementsAre("line 2: server.workers: expected an integer, got 'many'",
                          "line 3: server.listen: expected a string, got a list",
                          "line 4: server.log_format: invalid value 'jsn' (did you mean 'json'?); expected one of text, json",
                          "line 5: server.max_request_body: expected a size like 16MiB, 512KB or a byte count, got '16XB'",
                          "line 6: server.header_timeout: expected a duration like 250ms, 30s, 5m, 1h or 1m30s, got 'soon'",
                          "line 7: server.access_log: expected true or false, got 'maybe'",
                          "line 9: router.retries: must be between 0 and 10, got 11",
                          "line 10: models: expected a list, got a mapping",
                          "line 12: store.sqlite: expected a string, got a list"));
}

TEST(ConfigErrors, RangeChecks) {
  auto r = load(
      "server:\n"
      "  listen: 0.0.0.0:70000\n"
      "  workers: -1\n"
      "  admin_listen: \"::1:9090\"\n"
      "router:\n"
      "  retries: -1\n");
  EXPECT_THAT(rendered(r), ElementsAre("line 2: server.listen: port must be between 1 and 65535, got 70000",
                                       "line 3: server.workers: must be between 0 and 1024, got -1",
                                       "line 4: server.admin_listen: an IPv6 address needs brackets, e.g. [::1]:8080",
                                       "line 6: router.retries: must be between 0 and 10, got -1"));
}

TEST(ConfigErrors, DuplicateMappingKeys) {
  auto r = load("server:\n  workers: 1\n  workers: 2\n");
  EXPECT_THAT(rendered(r), ElementsAre("line 3: server.workers: duplicate key 'workers' (first on line 2)"));
}

TEST(ConfigErrors, YamlSyntaxErrorHasItsLine) {
  auto r = load("server:\n  workers: 1\nproviders: [a, b\n\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "");
  EXPECT_GE(r.errors[0].line, 3);
  EXPECT_THAT(r.errors[0].message, HasSubstr("YAML syntax error"));
  EXPECT_FALSE(r.config);
}

TEST(ConfigErrors, TopLevelMustBeAMapping) {
  auto r = load("- a\n- b\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].message, HasSubstr("top level must be a mapping"));
}

TEST(ConfigErrors, MissingFileIsAnErrorWithoutPath) {
  auto r = load_config_file("/nonexistent/tollgate.yaml", testing::fake_env({}));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "");
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_THAT(r.errors[0].message, HasSubstr("cannot read config file '/nonexistent/tollgate.yaml'"));
  EXPECT_FALSE(r.config);
}

TEST(ConfigErrors, UnterminatedVariableReference) {
  auto r = load("server:\n  master_key: ${TOLLGATE_MASTER_KEY\n");
  EXPECT_THAT(rendered(r), ElementsAre("line 2: server.master_key: unterminated '${' (missing '}')"));
}

// ---- basics ----

TEST(ConfigLoad, EmptyFileGivesDefaults) {
  auto r = load("");
  ASSERT_TRUE(r.config) << rendered(r).front();
  EXPECT_EQ(r.config->server.listen_port, 8080);
  EXPECT_EQ(r.config->server.listen_host, "0.0.0.0");
  EXPECT_EQ(r.config->router.retries, 1);
  EXPECT_EQ(r.config->router.allowed_fails, 3);
  EXPECT_EQ(r.config->router.retry_after_cap, std::chrono::seconds(60));
  EXPECT_TRUE(r.config->providers.empty());
}

TEST(ConfigLoad, ServerSection) {
  auto r = load(
      "server:\n"
      "  listen: \"[::1]:9000\"\n"
      "  admin_listen: 127.0.0.1:9091\n"
      "  workers: 4\n"
      "  master_key: sk-master\n"
      "  metrics_key: scrape\n"
      "  max_request_body: 1MiB\n"
      "  max_header_size: 32KB\n"
      "  header_timeout: 5s\n"
      "  body_timeout: 1m30s\n"
      "  keepalive_timeout: 2500\n"
      "  drain_timeout: 1h\n"
      "  max_connections: 100\n"
      "  log_format: json\n"
      "  log_level: debug\n"
      "  access_log: false\n");
  ASSERT_TRUE(r.config) << rendered(r).front();
  const ServerConfig& s = r.config->server;
  EXPECT_EQ(s.listen_host, "::1");
  EXPECT_EQ(s.listen_port, 9000);
  EXPECT_EQ(s.admin_listen, "127.0.0.1:9091");
  EXPECT_EQ(s.workers, 4);
  EXPECT_EQ(s.master_key, "sk-master");
  EXPECT_EQ(s.metrics_key, "scrape");
  EXPECT_EQ(s.max_request_body, 1u << 20);
  EXPECT_EQ(s.max_header_bytes, 32'000u);
  EXPECT_EQ(s.header_timeout, std::chrono::seconds(5));
  EXPECT_EQ(s.body_timeout, std::chrono::seconds(90));
  EXPECT_EQ(s.keepalive_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(s.drain_timeout, std::chrono::hours(1));
  EXPECT_EQ(s.max_connections, 100u);
  EXPECT_EQ(s.log_format, "json");
  EXPECT_EQ(s.log_level, "debug");
  EXPECT_FALSE(s.access_log);
}

TEST(ConfigLoad, ListenWithoutHostMeansAllInterfaces) {
  auto r = load("server:\n  listen: \":9090\"\n");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->server.listen_host, "0.0.0.0");
  EXPECT_EQ(r.config->server.listen_port, 9090);
}

TEST(ConfigLoad, RouterAndTimeoutOrdering) {
  auto r = load(
      "router:\n"
      "  retries: 3\n"
      "  cooldown: 10s\n"
      "  allowed_fails: 5\n"
      "  retry_after_cap: 2m\n"
      "  timeouts: { connect: 2s, first_token: 20s, total: 5m }\n");
  ASSERT_TRUE(r.config) << rendered(r).front();
  const RouterConfig& rt = r.config->router;
  EXPECT_EQ(rt.retries, 3);
  EXPECT_EQ(rt.cooldown, std::chrono::seconds(10));
  EXPECT_EQ(rt.allowed_fails, 5);
  EXPECT_EQ(rt.retry_after_cap, std::chrono::minutes(2));
  EXPECT_EQ(rt.timeouts.connect, std::chrono::seconds(2));
  EXPECT_EQ(rt.timeouts.first_token, std::chrono::seconds(20));
  EXPECT_EQ(rt.timeouts.idle, std::chrono::seconds(60));  // default kept
  EXPECT_EQ(rt.timeouts.total, std::chrono::minutes(5));
  EXPECT_EQ(rt.timeouts.keepalive, std::chrono::seconds(30));  // default kept

  // keepalive: the router's, overridden per provider like the others.
  auto ka = load("router:\n  timeouts: { keepalive: 5s }\n"
                 "providers:\n"
                 "  a: {type: openai-compatible, base_url: \"http://127.0.0.1:1/v1\", api_key: k}\n"
                 "  b: {type: openai-compatible, base_url: \"http://127.0.0.1:1/v1\", api_key: k,\n"
                 "      timeouts: { keepalive: 90s }}\n");
  ASSERT_TRUE(ka.config) << rendered(ka).front();
  EXPECT_EQ(ka.config->router.timeouts.keepalive, std::chrono::seconds(5));
  ASSERT_EQ(ka.config->providers.size(), 2u);
  EXPECT_FALSE(ka.config->providers[0].timeouts);
  ASSERT_TRUE(ka.config->providers[1].timeouts);
  EXPECT_EQ(ka.config->providers[1].timeouts->keepalive, std::chrono::seconds(90));
  EXPECT_EQ(ka.config->providers[1].timeouts->idle, std::chrono::seconds(60));
  EXPECT_FALSE(load("router:\n  timeouts: { keepalive: 0s }\n").config);

  auto bad = load("router:\n  timeouts:\n    connect: 10m\n    first_token: 20m\n    total: 5m\n");
  EXPECT_THAT(rendered(bad),
              ElementsAre("line 3: router.timeouts: connect (600000ms) must not exceed total (300000ms)",
                          "line 3: router.timeouts: first_token (1200000ms) must not exceed total (300000ms)"));
}

// ---- env expansion ----

TEST(ConfigEnv, ExpandsInQuotedUnquotedAndFlowScalars) {
  auto r = load(
      "server:\n"
      "  master_key: ${MASTER}\n"
      "  metrics_key: \"$${NOT_EXPANDED}\"\n"
      "  workers: ${WORKERS:-3}\n"
      "providers:\n"
      "  openai:\n"
      "    api_keys: [ ${OPENAI_API_KEY}, \"${SECOND:-sk-second}\", { key: ${THIRD}, weight: 2 } ]\n"
      "    base_url: ${BASE:-http://127.0.0.1:9001/v1}\n",
      {{"MASTER", "sk-m"}, {"OPENAI_API_KEY", "sk-first"}, {"THIRD", "sk-third"}});
  ASSERT_TRUE(r.config) << rendered(r).front();
  EXPECT_EQ(r.config->server.master_key, "sk-m");
  EXPECT_EQ(r.config->server.metrics_key, "${NOT_EXPANDED}");
  EXPECT_EQ(r.config->server.workers, 3);
  const ProviderConfig* p = r.config->find_provider("openai");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->api_keys.size(), 3u);
  EXPECT_EQ(p->api_keys[0].key, "sk-first");
  EXPECT_EQ(p->api_keys[1].key, "sk-second");
  EXPECT_EQ(p->api_keys[2].key, "sk-third");
  EXPECT_EQ(p->api_keys[2].weight, 2u);
  EXPECT_EQ(p->base_url, "http://127.0.0.1:9001/v1");
}

TEST(ConfigEnv, UnsetVariableInAPlainFieldIsAWarning) {
  auto r = load("server:\n  master_key: ${TOLLGATE_MASTER_KEY}\n");
  ASSERT_TRUE(r.config);
  EXPECT_EQ(r.config->server.master_key, "");
  EXPECT_THAT(r.warnings, ElementsAre("server.master_key: TOLLGATE_MASTER_KEY is not set"));
  EXPECT_EQ(r.config->warnings, r.warnings);
}

// ---- providers ----

TEST(ConfigProviders, UnsetKeySkipsTheProviderWithAWarning) {
  auto r = load(
      "providers:\n"
      "  openai:\n"
      "    api_key: ${OPENAI_API_KEY}\n"
      "  anthropic:\n"
      "    type: anthropic\n"
      "    api_keys: [ \"${ANTHROPIC_API_KEY}\" ]\n"
      "models:\n"
      "  - name: smart\n"
      "    targets: [ anthropic/claude-sonnet-4-5, openai/gpt-4o ]\n"
      "  - name: claude\n"
      "    targets: [ anthropic/claude-haiku-4-5 ]\n"
      "  - name: backup\n"
      "    targets: [ anthropic/claude-haiku-4-5 ]\n"
      "    fallbacks: [ openai/gpt-4o-mini ]\n",
      {{"OPENAI_API_KEY", "sk-o"}});
  ASSERT_TRUE(r.config) << rendered(r).front();
  EXPECT_THAT(provider_names(*r.config), ElementsAre("openai"));
  EXPECT_THAT(model_names(*r.config), ElementsAre("smart", "backup"));
  const ModelConfig* smart = r.config->find_model("smart");
  ASSERT_EQ(smart->targets.size(), 1u);
  EXPECT_EQ(smart->targets[0].provider, "openai");
  const ModelConfig* backup = r.config->find_model("backup");
  ASSERT_EQ(backup->targets.size(), 1u);  // fallbacks promoted
  EXPECT_EQ(backup->targets[0].model, "gpt-4o-mini");
  EXPECT_TRUE(backup->fallbacks.empty());
  EXPECT_THAT(r.warnings,
              ElementsAre("providers.anthropic: ANTHROPIC_API_KEY is not set; provider skipped",
                          "models[0].targets[0]: provider 'anthropic' was skipped; target anthropic/claude-sonnet-4-5 dropped",
                          "models[1].targets[0]: provider 'anthropic' was skipped; target anthropic/claude-haiku-4-5 dropped",
                          "models[1] (claude): no usable targets left; model skipped",
                          "models[2].targets[0]: provider 'anthropic' was skipped; target anthropic/claude-haiku-4-5 dropped",
                          "models[2] (backup): no usable targets left; using its fallbacks"));
}

TEST(ConfigProviders, EmptyKeysAreDroppedAndTheRestKept) {
  auto r = load(
      "providers:\n"
      "  openai:\n"
      "    api_keys:\n"
      "      - ${K1}\n"
      "      - { key: \"${K2}\", weight: 2 }\n"
      "  both_missing:\n"
      "    type: openai\n"
      "    api_keys: [ \"${K3}\", \"${K4}\" ]\n",
      {{"K2", "sk-two"}, {"K4", ""}});
  ASSERT_TRUE(r.config) << rendered(r).front();
  const ProviderConfig* p = r.config->find_provider("openai");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->api_keys.size(), 1u);
  EXPECT_EQ(p->api_keys[0].key, "sk-two");
  EXPECT_EQ(p->api_keys[0].weight, 2u);
  EXPECT_EQ(r.config->find_provider("both_missing"), nullptr);
  EXPECT_THAT(r.warnings, ElementsAre("providers.openai.api_keys[0]: K1 is not set; key dropped",
                                      "providers.both_missing: K3 and K4 are not set; provider skipped"));
}

TEST(ConfigProviders, TypesPresetsAndDefaultUrls) {
  auto r = load(
      "providers:\n"
      "  groq:\n"
      "    api_key: gsk-1\n"
      "  fast:\n"
      "    type: groq\n"
      "    api_key: gsk-2\n"
      "  box:\n"
      "    type: ollama\n"
      "  lm:\n"
      "    type: lmstudio\n"
      "    base_url: http://10.0.0.5:1234/v1/\n"
      "  openai:\n"
      "    api_key: sk-1\n"
      "  claude:\n"
      "    type: anthropic\n"
      "    api_key: sk-ant\n"
      "  g:\n"
      "    type: gemini\n"
      "    api_key: g-1\n"
      "    headers: { x-team: ml }\n"
      "    tls_verify: false\n"
      "    models: [ gemini-2.5-pro ]\n");
  ASSERT_TRUE(r.config) << rendered(r).front();
  const Config& c = *r.config;
  EXPECT_THAT(provider_names(c), ElementsAre("groq", "fast", "box", "lm", "openai", "claude", "g"));
  for (const char* name : {"groq", "fast"}) {
    const ProviderConfig* p = c.find_provider(name);
    EXPECT_EQ(p->type, ProviderType::OpenAICompatible) << name;
    EXPECT_EQ(p->preset, "groq") << name;
    EXPECT_EQ(p->base_url, "https://api.groq.com/openai/v1") << name;
  }
  EXPECT_EQ(c.find_provider("box")->base_url, "http://localhost:11434/v1");
  EXPECT_TRUE(c.find_provider("box")->api_keys.empty());  // key optional for local servers
  EXPECT_EQ(c.find_provider("lm")->base_url, "http://10.0.0.5:1234/v1");  // trailing '/' stripped
  EXPECT_EQ(c.find_provider("openai")->type, ProviderType::OpenAI);
  EXPECT_EQ(c.find_provider("openai")->preset, "");
  EXPECT_EQ(c.find_provider("openai")->base_url, "https://api.openai.com/v1");
  EXPECT_EQ(c.find_provider("claude")->base_url, "https://api.anthropic.com");
  const ProviderConfig* g = c.find_provider("g");
  EXPECT_EQ(g->base_url, "https://generativelanguage.googleapis.com");
  EXPECT_EQ(g->headers.at("x-team"), "ml");
  EXPECT_FALSE(g->tls_verify);
  EXPECT_THAT(g->models, ElementsAre("gemini-2.5-pro"));
  EXPECT_THAT(r.warnings, IsEmpty());
}

TEST(ConfigProviders, OmittedKeysComeFromTheUsualVariable) {
  auto r = load("providers:\n  groq: {}\n  mistral:\n  deepseek: {}\n", {{"GROQ_API_KEY", "gsk-env"}, {"MISTRAL_API_KEY", "m"}});
  ASSERT_TRUE(r.config) << rendered(r).front();
  EXPECT_THAT(provider_names(*r.config), ElementsAre("groq", "mistral"));
  EXPECT_EQ(r.config->find_provider("groq")->api_keys.at(0).key, "gsk-env");
  EXPECT_THAT(r.warnings, ElementsAre("providers.deepseek: DEEPSEEK_API_KEY is not set; provider skipped"));
}

TEST(ConfigProviders, AzureAndBedrockFields) {
  auto r = load(
      "providers:\n"
      "  az:\n"
      "    type: azure\n"
      "    base_url: https://r.openai.azure.com\n"
      "    api_key: az-key\n"
      "    deployments: { gpt-4o: prod-4o }\n"
      "  br:\n"
      "    type: bedrock\n"
      "    region: eu-west-1\n"
      "    aws_access_key_id: AKIA\n"
      "    aws_secret_access_key: ${AWS_SECRET}\n",
      {{"AWS_SECRET", "s3cr3t"}});
  ASSERT_TRUE(r.config) << rendered(r).front();
  const ProviderConfig* az = r.config->find_provider("az");
  EXPECT_EQ(az->api_version, "2024-10-21");
  EXPECT_EQ(az->deployments.at("gpt-4o"), "prod-4o");
  const ProviderConfig* br = r.config->find_provider("br");
  EXPECT_EQ(br->region, "eu-west-1");
  EXPECT_EQ(br->aws_access_key_id, "AKIA");
  EXPECT_EQ(br->aws_secret_access_key, "s3cr3t");
  EXPECT_EQ(br->base_url, "https://bedrock-runtime.eu-west-1.amazonaws.com");

  auto skipped = load("providers:\n  br:\n    type: bedrock\n");
  ASSERT_TRUE(skipped.config);
  EXPECT_THAT(skipped.warnings,
              ElementsAre("providers.br: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; provider skipped"));
}

TEST(ConfigProviders, ProviderErrors) {
  auto r = load(
      "providers:\n"
      "  a:\n"
      "    type: opneai\n"                     // 3
      "  mystery: {}\n"                        // 4
      "  local:\n"                             // 5
      "    type: openai-compatible\n"
      "  az:\n"                                // 7
      "    type: azure\n"
      "    api_key: k\n"
      "  ftp:\n"
      "    type: openai\n"
      "    base_url: ftp://example.com\n"      // 12
      "    api_key: k\n"
      "  o:\n"
      "    type: openai\n"
      "    api_key: k\n"
      "    region: us-east-1\n"                // 17
      "  two:\n"
      "    type: openai\n"
      "    api_key: k\n"
      "    api_keys: [k2]\n");                 // 21
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 7u) << ::testing::PrintToString(rendered(r));
  EXPECT_EQ(r.errors[0].path, "providers.a.type");
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_THAT(r.errors[0].message, HasSubstr("unknown provider type 'opneai' (did you mean 'openai'?); expected openai, anthropic"));
  EXPECT_THAT(r.errors[0].message, HasSubstr("groq"));
  EXPECT_EQ(r.errors[1].path, "providers.mystery");
  EXPECT_EQ(r.errors[1].line, 4);
  EXPECT_THAT(r.errors[1].message, HasSubstr("missing 'type'"));
  EXPECT_EQ(r.errors[2].path, "providers.local");
  EXPECT_EQ(r.errors[2].line, 5);
  EXPECT_THAT(r.errors[2].message, HasSubstr("openai-compatible needs base_url"));
  EXPECT_EQ(r.errors[3].path, "providers.az");
  EXPECT_THAT(r.errors[3].message, HasSubstr("azure needs base_url"));
  EXPECT_EQ(r.errors[4].to_string(), "line 12: providers.ftp.base_url: must be an http:// or https:// URL, got 'ftp://example.com'");
  EXPECT_EQ(r.errors[5].to_string(), "line 17: providers.o.region: 'region' only applies to type bedrock");
  EXPECT_EQ(r.errors[6].to_string(), "line 21: providers.two.api_keys: use either api_key or api_keys, not both");
}

// ---- models ----

TEST(ConfigModels, TargetsSplitAtTheFirstSlash) {
  auto r = load(
      "providers:\n"
      "  openrouter:\n"
      "    api_key: or-key\n"
      "models:\n"
      "  - name: llama\n"
      "    strategy: weighted\n"
      "    strict: true\n"
      "    targets:\n"
      "      - openrouter/meta-llama/llama-3.1-70b-instruct\n"
      "      - { target: \"openrouter/anthropic/claude-3.5-sonnet\", weight: 2 }\n"
      "    context_window_fallbacks: openrouter/google/gemini-2.5-pro\n");
  ASSERT_TRUE(r.config) << rendered(r).front();
  const ModelConfig* m = r.config->find_model("llama");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->strategy, "weighted");
  EXPECT_TRUE(m->strict);
  EXPECT_EQ(m->line, 5);
  ASSERT_EQ(m->targets.size(), 2u);
  EXPECT_EQ(m->targets[0].provider, "openrouter");
  EXPECT_EQ(m->targets[0].model, "meta-llama/llama-3.1-70b-instruct");
  EXPECT_EQ(m->targets[0].weight, 1u);
  EXPECT_EQ(m->targets[1].model, "anthropic/claude-3.5-sonnet");
  EXPECT_EQ(m->targets[1].weight, 2u);
  ASSERT_EQ(m->context_window_fallbacks.size(), 1u);
  EXPECT_EQ(m->context_window_fallbacks[0].model, "google/gemini-2.5-pro");
  EXPECT_EQ(r.config->find_model("nope"), nullptr);
}

TEST(ConfigModels, BadTargetsDuplicatesAndUnknownProviders) {
  auto r = load(
      "providers:\n"
      "  openai: { api_key: sk-1 }\n"
      "models:\n"
      "  - name: gpt\n"                                     // 4
      "    targets: [ openai/gpt-4o ]\n"
      "  - name: gpt\n"                                     // 6
      "    targets: [ openai/gpt-4o-mini ]\n"
      "  - name: typo\n"
      "    targets: [ opnai/gpt-4o ]\n"                     // 9
      "  - name: bad\n"
      "    strategy: random\n"                              // 11
      "    targets: [ gpt-4o, /x, { target: openai/x, weight: 0 } ]\n"  // 12
      "  - name: empty\n"                                   // 13
      "    targets: []\n"
      "  - targets: [ openai/a ]\n");                       // 15
  EXPECT_FALSE(r.config);
  EXPECT_THAT(rendered(r),
              ElementsAre("line 6: models[1].name: duplicate model name 'gpt' (first defined on line 4)",
                          "line 9: models[2].targets[0]: unknown provider 'opnai' (did you mean 'openai'?)",
                          "line 11: models[3].strategy: invalid value 'random'; expected one of failover, weighted, least-latency, least-busy",
                          "line 12: models[3].targets[0]: expected 'provider/model', got 'gpt-4o'",
                          "line 12: models[3].targets[1]: expected 'provider/model', got '/x'",
                          "line 12: models[3].targets[2].weight: must be between 1 and 1000000, got 0",
                          "line 13: models[4].targets: needs at least one target",
                          "line 15: models[5]: missing 'name'"));
}

TEST(ConfigModels, TargetOnAProviderWithErrorsIsNotReportedTwice) {
  auto r = load(
      "providers:\n"
      "  broken: { type: nope }\n"
      "models:\n"
      "  - name: m\n"
      "    targets: [ broken/x ]\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "providers.broken.type");
}

// ---- keys, teams, pricing, logs, cache ----

TEST(ConfigKeys, FullShape) {
  auto r = load(
      "keys:\n"
      "  - name: flux\n"
      "    key: ${FLUX_KEY}\n"
      "    models: [ gpt-4o, fast ]\n"
      "    budget: { usd: 50, period: weekly }\n"
      "    limits: { rpm: 600, tpm: 200000, parallel: 20 }\n"
      "    team: research\n"
      "    expires_at: 2026-12-31T12:00:00+02:00\n"
      "    metadata: { owner: ana }\n"
      "    enabled: false\n"
      "  - name: gone\n"
      "    key: ${GONE_KEY}\n"
      "teams:\n"
      "  - name: research\n"
      "    budget: { usd: 500.5 }\n"
      "pricing:\n"
      "  local/llama3.1:8b: { input: 0, output: 0 }\n"
      "  openai/gpt-4.1: { input: 2, output: 8, cached_input: 0.5 }\n"
      "logs: { retention_days: 7, bodies: true, max_body_bytes: 8KiB }\n"
      "cache: { enabled: true, ttl: 10m, max_entries: 500 }\n",
      {{"FLUX_KEY", "sk-tg-flux"}});
  ASSERT_TRUE(r.config) << rendered(r).front();
  const Config& c = *r.config;
  ASSERT_EQ(c.keys.size(), 1u);
  const KeyConfig& k = c.keys[0];
  EXPECT_EQ(k.name, "flux");
  EXPECT_EQ(k.key, "sk-tg-flux");
  EXPECT_THAT(k.models, ElementsAre("gpt-4o", "fast"));
  ASSERT_TRUE(k.budget);
  EXPECT_DOUBLE_EQ(k.budget->usd, 50);
  EXPECT_EQ(k.budget->period, BudgetPeriod::Weekly);
  EXPECT_EQ(k.limits.rpm, 600u);
  EXPECT_EQ(k.limits.tpm, 200000u);
  EXPECT_EQ(k.limits.parallel, 20u);
  EXPECT_EQ(k.team, "research");
  using namespace std::chrono;
  ASSERT_TRUE(k.expires_at);
  EXPECT_EQ(*k.expires_at, sys_days{2026y / 12 / 31} + 10h);
  EXPECT_EQ(k.metadata.at("owner"), "ana");
  EXPECT_FALSE(k.enabled);
  EXPECT_THAT(r.warnings, ElementsAre("keys[1] (gone): GONE_KEY is not set; key skipped"));

  ASSERT_EQ(c.teams.size(), 1u);
  EXPECT_EQ(c.teams[0].name, "research");
  EXPECT_EQ(c.teams[0].budget->period, BudgetPeriod::Monthly);  // default period
  EXPECT_DOUBLE_EQ(c.teams[0].budget->usd, 500.5);

  ASSERT_EQ(c.pricing.size(), 2u);
  EXPECT_EQ(c.pricing.at("local/llama3.1:8b").input, 0.0);
  EXPECT_EQ(c.pricing.at("openai/gpt-4.1").cached_input, 0.5);
  EXPECT_FALSE(c.pricing.at("openai/gpt-4.1").reasoning);

  EXPECT_EQ(c.logs.retention_days, 7);
  EXPECT_TRUE(c.logs.bodies);
  EXPECT_EQ(c.logs.max_body_bytes, 8192u);
  EXPECT_TRUE(c.cache.enabled);
  EXPECT_EQ(c.cache.ttl, minutes(10));
  EXPECT_EQ(c.cache.max_entries, 500u);
}

TEST(ConfigKeys, KeyErrors) {
  auto r = load(
      "server: { master_key: sk-master }\n"
      "keys:\n"
      "  - name: bad\n"
      "    key: tg-123\n"                       // 4
      "  - name: a\n"
      "    key: sk-1\n"
      "  - name: a\n"                           // 7
      "    key: sk-2\n"
      "  - name: b\n"
      "    key: sk-1\n"                         // 10
      "  - name: m\n"
      "    key: sk-master\n"                    // 12
      "  - name: c\n"
      "    key: sk-3\n"
      "    budget: { usd: -1, period: yearly }\n"  // 15
      "    expires_at: tomorrow\n"              // 16
      "pricing:\n"
      "  gpt-4o: { input: 1 }\n"                // 18
      "  openai/gpt-4o: { inputt: 1, output: -2 }\n");  // 19
  EXPECT_THAT(rendered(r),
              ElementsAre("line 4: keys[0].key: a virtual key must start with 'sk-'",
                          "line 7: keys[2].name: duplicate key name 'a' (first defined on line 5)",
                          "line 10: keys[3].key: the same key is already declared on line 6",
                          "line 12: keys[4].key: must differ from server.master_key",
                          "line 15: keys[5].budget.usd: must be at least 0, got -1",
                          "line 15: keys[5].budget.period: invalid value 'yearly'; expected one of daily, weekly, monthly, total",
                          "line 16: keys[5].expires_at: expected a date like 2026-12-31 or 2026-12-31T23:59:59Z, got 'tomorrow'",
                          "line 18: pricing.gpt-4o: pricing keys are 'provider/model', 'provider/*' or "
                          "'default', got 'gpt-4o'",
                          "line 19: pricing.openai/gpt-4o.inputt: unknown key 'inputt' (did you mean 'input'?)",
                          "line 19: pricing.openai/gpt-4o.output: must be at least 0, got -2"));
}

// ---- the shipped files ----

TEST(ConfigFiles, DefaultConfigLoadsWithAnEmptyEnvironment) {
  auto r = load_config_file(std::string(TG_SOURCE_DIR) + "/config/config.yaml", testing::fake_env({}));
  ASSERT_TRUE(r.config) << ::testing::PrintToString(rendered(r));
  const Config& c = *r.config;
  EXPECT_THAT(provider_names(c), ElementsAre("local", "mock"));
  EXPECT_EQ(c.find_provider("local")->base_url, "http://127.0.0.1:11434/v1");
  EXPECT_EQ(c.find_provider("mock")->base_url, "http://127.0.0.1:9001/v1");
  EXPECT_EQ(c.find_provider("mock")->api_keys.at(0).key, "mock-key");
  ASSERT_NE(c.find_model("mock-gpt"), nullptr);
  EXPECT_EQ(c.find_model("mock-gpt")->targets.at(0).model, "gpt-4o-mini");
  EXPECT_EQ(c.find_model("gpt-4o"), nullptr);  // both its providers are skipped
  EXPECT_EQ(c.server.master_key, "");
  EXPECT_EQ(c.store.sqlite, "./data/tollgate.db");
  EXPECT_THAT(c.warnings, Contains("providers.openai: OPENAI_API_KEY is not set; provider skipped"));
  EXPECT_THAT(c.source_path, HasSubstr("config/config.yaml"));
}

TEST(ConfigFiles, DefaultConfigUsesKeysFromTheEnvironment) {
  auto r = load_config_file(std::string(TG_SOURCE_DIR) + "/config/config.yaml",
                            testing::fake_env({{"OPENAI_API_KEY", "sk-o"}, {"TOLLGATE_MOCK_URL", "http://127.0.0.1:4567/v1"}}));
  ASSERT_TRUE(r.config) << ::testing::PrintToString(rendered(r));
  EXPECT_THAT(provider_names(*r.config), ElementsAre("openai", "local", "mock"));
  EXPECT_EQ(r.config->find_provider("mock")->base_url, "http://127.0.0.1:4567/v1");
  const ModelConfig* gpt = r.config->find_model("gpt-4o");
  ASSERT_NE(gpt, nullptr);
  ASSERT_EQ(gpt->targets.size(), 1u);
  EXPECT_EQ(gpt->targets[0].provider, "openai");
}

TEST(ConfigFiles, DemoConfigLoadsWithAnEmptyEnvironment) {
  auto r = load_config_file(std::string(TG_SOURCE_DIR) + "/config/demo.yaml", testing::fake_env({}));
  ASSERT_TRUE(r.config) << ::testing::PrintToString(rendered(r));
  EXPECT_THAT(r.warnings, IsEmpty());
  EXPECT_EQ(r.config->server.master_key, "sk-demo-master");
  EXPECT_THAT(provider_names(*r.config), ElementsAre("mock"));
  EXPECT_THAT(model_names(*r.config), ElementsAre("demo"));
  EXPECT_EQ(r.config->find_model("demo")->targets.at(0).provider, "mock");
}

}  // namespace
}  // namespace tg::config
