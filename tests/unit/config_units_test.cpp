// parse_size, parse_duration, expand_env, presets, zero_config.

#include "config_test_util.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tg::config {
namespace {

using testing::fake_env;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ConfigUnits, ParseSizeTable) {
  struct Case {
    std::string_view in;
    std::optional<uint64_t> want;
  };
  const Case cases[] = {
      {"0", 0},
      {"1048576", 1048576},
      {"512B", 512},
      {"1KB", 1000},
      {"1KiB", 1024},
      {"16MiB", 16ull << 20},
      {"16MB", 16'000'000},
      {"2GiB", 2ull << 30},
      {"3GB", 3'000'000'000},
      {"16 MiB", 16ull << 20},
      {"16mib", 16ull << 20},
      {"1.5KiB", 1536},
      {"", std::nullopt},
      {"MiB", std::nullopt},
      {"16TiB", std::nullopt},
      {"-1", std::nullopt},
      {"1.5", std::nullopt},  // no fractional bytes
      {"12abc", std::nullopt},
      {"99999999999999999999", std::nullopt},
      {"20000000000GiB", std::nullopt},  // overflows uint64
  };
  for (const Case& c : cases) EXPECT_EQ(parse_size(c.in), c.want) << "input: '" << c.in << "'";
}

TEST(ConfigUnits, ParseDurationTable) {
  using std::chrono::milliseconds;
  struct Case {
    std::string_view in;
    std::optional<milliseconds> want;
  };
  const Case cases[] = {
      {"250ms", milliseconds{250}},
      {"30s", milliseconds{30'000}},
      {"5m", milliseconds{300'000}},
      {"1h", milliseconds{3'600'000}},
      {"1500", milliseconds{1500}},  // bare integer = ms
      {"0", milliseconds{0}},
      {"1m30s", milliseconds{90'000}},
      {"1h30m15s", milliseconds{5'415'000}},
      {"1s500ms", milliseconds{1'500}},
      {"1.5s", milliseconds{1'500}},
      {"", std::nullopt},
      {"s", std::nullopt},
      {"10x", std::nullopt},
      {"-5s", std::nullopt},
      {"-5", std::nullopt},
      {"5 m 3", std::nullopt},
      {"1d", std::nullopt},
      // One bound whatever the spelling (found by fuzz_config_units: a bare integer had none).
      {"1000000000000000", milliseconds{1'000'000'000'000'000}},
      {"1000000000000000ms", milliseconds{1'000'000'000'000'000}},
      {"1000000000000001", std::nullopt},
      {"9223372036854775807", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(parse_duration(c.in), c.want) << "input: '" << c.in << "'";
}

TEST(ConfigEnv, ExpandsVariablesDefaultsAndDollarEscape) {
  auto env = fake_env({{"A", "alpha"}, {"EMPTY", ""}});
  std::vector<std::string> unset;
  EXPECT_EQ(expand_env("x-${A}-y", env, &unset), "x-alpha-y");
  EXPECT_EQ(expand_env("${MISSING:-fallback}", env, &unset), "fallback");
  EXPECT_EQ(expand_env("${EMPTY:-fallback}", env, &unset), "fallback");  // ":-" also covers empty
  EXPECT_EQ(expand_env("${A:-fallback}", env, &unset), "alpha");
  EXPECT_EQ(expand_env("${MISSING:-${A}}", env, &unset), "alpha");  // nested default
  EXPECT_EQ(expand_env("${MISSING:-}", env, &unset), "");
  EXPECT_EQ(expand_env("cost: $$5 and $${A}", env, &unset), "cost: $5 and ${A}");
  EXPECT_EQ(expand_env("lone $ sign", env, &unset), "lone $ sign");
  EXPECT_TRUE(unset.empty());

  EXPECT_EQ(expand_env("[${MISSING}][${EMPTY}][${MISSING}]", env, &unset), "[][][]");
  EXPECT_THAT(unset, ElementsAre("MISSING", "EMPTY"));  // each name once, in order
}

TEST(ConfigEnv, ValuesAreNotExpandedTwice) {
  auto env = fake_env({{"A", "${B}"}, {"B", "bad"}});
  EXPECT_EQ(expand_env("${A}", env), "${B}");
}

TEST(ConfigPresets, TableHasTheDocumentedEntries) {
  const Preset* groq = find_preset("groq");
  ASSERT_NE(groq, nullptr);
  EXPECT_EQ(groq->base_url, "https://api.groq.com/openai/v1");
  EXPECT_EQ(groq->key_env, "GROQ_API_KEY");
  EXPECT_EQ(groq->type, ProviderType::OpenAICompatible);
  EXPECT_FALSE(groq->key_optional);

  const Preset* ollama = find_preset("ollama");
  ASSERT_NE(ollama, nullptr);
  EXPECT_EQ(ollama->base_url, "http://localhost:11434/v1");
  EXPECT_TRUE(ollama->key_optional);
  EXPECT_EQ(ollama->key_env, "");

  ASSERT_NE(find_preset("fireworks"), nullptr);
  EXPECT_EQ(find_preset("fireworks")->base_url, "https://api.fireworks.ai/inference/v1");
  ASSERT_NE(find_preset("anthropic"), nullptr);
  EXPECT_EQ(find_preset("anthropic")->type, ProviderType::Anthropic);
  EXPECT_EQ(find_preset("nope"), nullptr);
  EXPECT_EQ(presets().size(), 13u);
}

TEST(ConfigPresets, ProviderTypeNames) {
  EXPECT_EQ(to_string(ProviderType::OpenAI), "openai");
  EXPECT_EQ(to_string(ProviderType::OpenAICompatible), "openai-compatible");
  EXPECT_EQ(to_string(ProviderType::Anthropic), "anthropic");
  EXPECT_EQ(to_string(ProviderType::Gemini), "gemini");
  EXPECT_EQ(to_string(ProviderType::Azure), "azure");
  EXPECT_EQ(to_string(ProviderType::Bedrock), "bedrock");
}

TEST(ConfigZero, OneProviderPerSetVariable) {
  Config c = zero_config(fake_env({
      {"OPENAI_API_KEY", "sk-o"},
      {"OPENAI_BASE_URL", "http://127.0.0.1:9001/v1/"},
      {"ANTHROPIC_API_KEY", "sk-a"},
      {"GOOGLE_API_KEY", "g-key"},
      {"GROQ_API_KEY", "gsk"},
      {"MISTRAL_API_KEY", ""},  // empty counts as unset
      {"OLLAMA_BASE_URL", "http://gpu-box:11434"},
      {"TOLLGATE_MASTER_KEY", "sk-master"},
  }));
  std::vector<std::string> names;
  for (const auto& p : c.providers) names.push_back(p.name);
  EXPECT_THAT(names, ElementsAre("openai", "anthropic", "gemini", "groq", "ollama"));
  EXPECT_EQ(c.server.master_key, "sk-master");
  EXPECT_TRUE(c.models.empty());
  EXPECT_TRUE(c.source_path.empty());

  const ProviderConfig* openai = c.find_provider("openai");
  ASSERT_NE(openai, nullptr);
  EXPECT_EQ(openai->base_url, "http://127.0.0.1:9001/v1");
  ASSERT_EQ(openai->api_keys.size(), 1u);
  EXPECT_EQ(openai->api_keys[0].key, "sk-o");

  const ProviderConfig* gemini = c.find_provider("gemini");
  ASSERT_NE(gemini, nullptr);
  EXPECT_EQ(gemini->type, ProviderType::Gemini);
  EXPECT_EQ(gemini->api_keys.at(0).key, "g-key");  // GOOGLE_API_KEY as the fallback name

  const ProviderConfig* groq = c.find_provider("groq");
  ASSERT_NE(groq, nullptr);
  EXPECT_EQ(groq->type, ProviderType::OpenAICompatible);
  EXPECT_EQ(groq->preset, "groq");
  EXPECT_EQ(groq->base_url, "https://api.groq.com/openai/v1");

  const ProviderConfig* ollama = c.find_provider("ollama");
  ASSERT_NE(ollama, nullptr);
  EXPECT_EQ(ollama->base_url, "http://gpu-box:11434/v1");  // /v1 appended
  EXPECT_TRUE(ollama->api_keys.empty());
}

TEST(ConfigZero, AzureNeedsEndpointAndBedrockNeedsBothKeys) {
  Config c = zero_config(fake_env({{"AZURE_OPENAI_API_KEY", "az"}, {"AWS_ACCESS_KEY_ID", "AKIA"}}));
  EXPECT_TRUE(c.providers.empty());
  EXPECT_THAT(c.warnings, ::testing::Contains(HasSubstr("AZURE_OPENAI_ENDPOINT is not set")));

  c = zero_config(fake_env({{"AZURE_OPENAI_API_KEY", "az"},
                            {"AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com/"},
                            {"AWS_ACCESS_KEY_ID", "AKIA"},
                            {"AWS_SECRET_ACCESS_KEY", "secret"},
                            {"OLLAMA_BASE_URL", "http://h:11434/v1"}}));
  ASSERT_EQ(c.providers.size(), 3u);
  EXPECT_EQ(c.providers[0].type, ProviderType::Azure);
  EXPECT_EQ(c.providers[0].base_url, "https://r.openai.azure.com");
  EXPECT_FALSE(c.providers[0].api_version.empty());
  EXPECT_EQ(c.providers[1].type, ProviderType::Bedrock);
  EXPECT_EQ(c.providers[1].region, "us-east-1");
  EXPECT_EQ(c.providers[1].aws_secret_access_key, "secret");
  EXPECT_EQ(c.providers[1].base_url, "https://bedrock-runtime.us-east-1.amazonaws.com");
  EXPECT_EQ(c.providers[2].base_url, "http://h:11434/v1");  // not doubled
}

TEST(ConfigZero, NothingSetGivesNoProvidersAndAWarning) {
  Config c = zero_config(fake_env({}));
  EXPECT_TRUE(c.providers.empty());
  EXPECT_TRUE(c.server.master_key.empty());
  EXPECT_EQ(c.warnings.size(), 1u);
}

}  // namespace
}  // namespace tg::config
