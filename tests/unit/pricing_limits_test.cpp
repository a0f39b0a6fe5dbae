// Issue 16's money limits in the pricing module: n / best_of, and the price of a model the
// catalog does not know (pricing.default, provider/*, the free local presets).

#include "tollgate/governance/pricing.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tg::governance {
namespace {

using json = nlohmann::json;

const std::string kCatalogPath = std::string(TG_SOURCE_DIR) + "/config/prices.json";

std::shared_ptr<const PriceCatalog> catalog(const std::map<std::string, config::PriceConfig>& o) {
  auto r = PriceCatalog::build_from_file(kCatalogPath, o);
  EXPECT_TRUE(r.errors.empty());
  return r.catalog;
}

int64_t choices(const json& body) {
  auto c = requested_choices(body);
  if (auto* e = std::get_if<Error>(&c)) return -e->status;
  return std::get<int64_t>(c);
}

TEST(RequestedChoices, TheLargerOfNAndBestOfBoundedTo128) {
  EXPECT_EQ(choices(json::object()), 1);
  EXPECT_EQ(choices({{"n", nullptr}}), 1);
  EXPECT_EQ(choices({{"n", 3}}), 3);
  EXPECT_EQ(choices({{"n", 2}, {"best_of", 5}}), 5);
  EXPECT_EQ(choices({{"n", 128}}), 128);
  EXPECT_EQ(choices({{"n", 129}}), -400);
  EXPECT_EQ(choices({{"n", 0}}), -400);
  EXPECT_EQ(choices({{"n", -1}}), -400);
  EXPECT_EQ(choices({{"n", 2.0}}), -400);
  EXPECT_EQ(choices({{"n", "2"}}), -400);
  EXPECT_EQ(choices({{"best_of", 18446744073709551615ull}}), -400);
  auto e = std::get<Error>(requested_choices({{"best_of", 500}}));
  EXPECT_EQ(e.param, "best_of");
  EXPECT_NE(e.message.find("128"), std::string::npos);
}

config::ProviderConfig provider(std::string name, config::ProviderType type,
                                std::string preset = "") {
  config::ProviderConfig p;
  p.name = std::move(name);
  p.type = type;
  p.preset = std::move(preset);
  return p;
}

TEST(UnknownModelPrice, UnpricedUnlessADefaultApplies) {
  auto plain = provider("lan", config::ProviderType::OpenAICompatible);
  auto ollama = provider("home", config::ProviderType::OpenAICompatible, "ollama");
  auto openai = provider("openai", config::ProviderType::OpenAI);

  auto none = catalog({});
  EXPECT_FALSE(none->lookup(plain, "llama3"));
  EXPECT_FALSE(none->lookup(openai, "gpt-9-unknown"));
  ASSERT_TRUE(none->lookup(ollama, "llama3"));
  EXPECT_TRUE(none->lookup(ollama, "llama3")->free);

  config::PriceConfig def{3.0, 6.0, std::nullopt, std::nullopt, std::nullopt};
  config::PriceConfig lan{0.5, 1.0, std::nullopt, std::nullopt, std::nullopt};
  auto priced = catalog({{"default", def}, {"lan/*", lan}});
  auto p = priced->lookup(plain, "llama3");  // the provider's own wildcard first
  ASSERT_TRUE(p);
  EXPECT_EQ(p->base.input, usd_per_million_to_pico(0.5));
  EXPECT_EQ(p->key, "lan/*");
  p = priced->lookup(openai, "gpt-9-unknown");  // then the default
  ASSERT_TRUE(p);
  EXPECT_EQ(p->base.output, usd_per_million_to_pico(6.0));
  EXPECT_EQ(p->key, "default");
  EXPECT_TRUE(priced->lookup(ollama, "llama3")->free);  // local presets stay free
  // A catalog price always wins over the default.
  EXPECT_NE(priced->lookup(openai, "gpt-4o")->key, "default");
  // A default without both prices is not a price.
  config::PriceConfig half{3.0, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
  auto r = PriceCatalog::build_from_file(kCatalogPath, {{"default", half}});
  EXPECT_FALSE(r.warnings.empty());
  EXPECT_FALSE(r.catalog->lookup(plain, "llama3"));
}

}  // namespace
}  // namespace tg::governance
