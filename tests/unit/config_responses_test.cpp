// providers.*.responses: native | translate, its defaults per type and preset, its errors.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_util.hpp"

namespace tg::config {
namespace {

using testing::fake_env;
using testing::load;
using testing::rendered;
using ::testing::HasSubstr;

ResponsesMode mode_of(const Config& c, std::string_view name) {
  const ProviderConfig* p = c.find_provider(name);
  EXPECT_NE(p, nullptr) << name;
  return p ? p->responses : ResponsesMode::Translate;
}

TEST(ConfigResponses, DefaultsPerTypeAndPreset) {
  std::string yaml = "providers:\n";
  for (std::string_view name : {"groq", "mistral", "deepseek", "together", "fireworks", "openrouter",
                                "xai", "ollama", "vllm", "lmstudio"}) {
    yaml += "  " + std::string(name) + ":\n    type: " + std::string(name) + "\n    api_key: k\n";
  }
  yaml +=
      "  openai:\n    type: openai\n    api_key: k\n"
      "  local:\n    type: openai-compatible\n    base_url: http://127.0.0.1:9/v1\n"
      "  anthropic:\n    type: anthropic\n    api_key: k\n"
      "  gemini:\n    type: gemini\n    api_key: k\n"
      "  bedrock:\n    type: bedrock\n    api_key: k\n"
      "  az-classic:\n    type: azure\n    base_url: https://r.openai.azure.com\n    api_key: k\n"
      "  az-v1:\n    type: azure\n    base_url: https://r.openai.azure.com/openai/v1/\n    api_key: k\n";
  auto r = load(yaml);
  ASSERT_TRUE(r.config) << ::testing::PrintToString(rendered(r));
  const Config& c = *r.config;
  for (std::string_view native : {"openai", "groq", "openrouter", "xai", "ollama", "vllm", "az-v1"}) {
    EXPECT_EQ(mode_of(c, native), ResponsesMode::Native) << native;
  }
  for (std::string_view translated : {"mistral", "deepseek", "together", "fireworks", "lmstudio",
                                      "local", "anthropic", "gemini", "bedrock", "az-classic"}) {
    EXPECT_EQ(mode_of(c, translated), ResponsesMode::Translate) << translated;
  }
}

TEST(ConfigResponses, WrittenValuesWin) {
  auto r = load(
      "providers:\n"
      "  groq:\n    type: groq\n    api_key: k\n    responses: translate\n"
      "  local:\n    type: openai-compatible\n    base_url: http://127.0.0.1:9/v1\n"
      "    responses: native\n"
      "  openai:\n    type: openai\n    api_key: k\n    responses: translate\n"
      "  az:\n    type: azure\n    base_url: https://r.openai.azure.com/openai/v1\n"
      "    api_key: k\n    responses: translate\n");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(rendered(r));
  EXPECT_EQ(mode_of(*r.config, "groq"), ResponsesMode::Translate);
  EXPECT_EQ(mode_of(*r.config, "local"), ResponsesMode::Native);
  EXPECT_EQ(mode_of(*r.config, "openai"), ResponsesMode::Translate);
  EXPECT_EQ(mode_of(*r.config, "az"), ResponsesMode::Translate);
  EXPECT_EQ(to_string(ResponsesMode::Native), "native");
  EXPECT_EQ(to_string(ResponsesMode::Translate), "translate");
}

TEST(ConfigResponses, ErrorsNameTheirPathAndLine) {
  auto r = load(
      "providers:\n"
      "  groq:\n"
      "    type: groq\n"
      "    api_key: k\n"
      "    responses: nativ\n"                                   // 5
      "  claude:\n"
      "    type: anthropic\n"
      "    api_key: k\n"
      "    responses: native\n"                                  // 9
      "  az:\n"
      "    type: azure\n"
      "    base_url: https://r.openai.azure.com\n"
      "    api_key: k\n"
      "    responses: native\n"                                  // 14
      "  odd:\n"
      "    type: openai\n"
      "    api_key: k\n"
      "    responses: [native]\n");                              // 18
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 4u) << ::testing::PrintToString(rendered(r));
  EXPECT_EQ(r.errors[0].to_string(),
            "line 5: providers.groq.responses: invalid value 'nativ' (did you mean 'native'?); "
            "expected one of native, translate");
  EXPECT_EQ(r.errors[1].path, "providers.claude.responses");
  EXPECT_EQ(r.errors[1].line, 9);
  EXPECT_THAT(r.errors[1].message,
              HasSubstr("'responses' only applies to types openai, azure and openai-compatible"));
  EXPECT_EQ(r.errors[2].path, "providers.az.responses");
  EXPECT_EQ(r.errors[2].line, 14);
  EXPECT_THAT(r.errors[2].message, HasSubstr("needs Azure's v1 API"));
  EXPECT_EQ(r.errors[3].path, "providers.odd.responses");
  EXPECT_EQ(r.errors[3].line, 18);
}

TEST(ConfigResponses, ZeroConfigUsesTheSameDefaults) {
  Config c = zero_config(fake_env({{"OPENAI_API_KEY", "a"},
                                   {"GROQ_API_KEY", "b"},
                                   {"MISTRAL_API_KEY", "c"},
                                   {"ANTHROPIC_API_KEY", "d"},
                                   {"OLLAMA_BASE_URL", "http://127.0.0.1:11434"},
                                   {"AZURE_OPENAI_API_KEY", "e"},
                                   {"AZURE_OPENAI_ENDPOINT", "https://r.openai.azure.com/openai/v1"}}));
  EXPECT_EQ(mode_of(c, "openai"), ResponsesMode::Native);
  EXPECT_EQ(mode_of(c, "groq"), ResponsesMode::Native);
  EXPECT_EQ(mode_of(c, "mistral"), ResponsesMode::Translate);
  EXPECT_EQ(mode_of(c, "anthropic"), ResponsesMode::Translate);
  EXPECT_EQ(mode_of(c, "ollama"), ResponsesMode::Native);
  EXPECT_EQ(mode_of(c, "azure"), ResponsesMode::Native);
}

}  // namespace
}  // namespace tg::config
