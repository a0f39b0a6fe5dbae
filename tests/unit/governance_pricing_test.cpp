#include "tollgate/governance/pricing.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

namespace tg::governance {
namespace {

const std::string kCatalogPath = std::string(TG_SOURCE_DIR) + "/config/prices.json";

std::shared_ptr<const PriceCatalog> builtin(
    const std::map<std::string, config::PriceConfig>& overrides = {}) {
  auto r = PriceCatalog::build_from_file(kCatalogPath, overrides);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front();
  return r.catalog;
}

providers::Usage usage(int64_t input, int64_t output, int64_t cached = 0, int64_t writes = 0,
                       int64_t reasoning = 0) {
  providers::Usage u;
  u.input = input;
  u.output = output;
  u.cached_read = cached;
  u.cache_write = writes;
  u.reasoning = reasoning;
  u.present = true;
  return u;
}

ModelPrice flat(double in, double out, double cached, double write, double reasoning) {
  ModelPrice p;
  p.base = {usd_per_million_to_pico(in), usd_per_million_to_pico(out),
            usd_per_million_to_pico(cached), usd_per_million_to_pico(write),
            usd_per_million_to_pico(reasoning)};
  return p;
}

TEST(GovPricing, BuiltInCatalogLoadsCleanlyAndHasEveryProvider) {
  auto r = PriceCatalog::build_from_file(kCatalogPath);
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  ASSERT_TRUE(r.catalog);
  EXPECT_EQ(r.catalog->version(), "2026-07-24");
  for (const char* key : {"openai/gpt-4o", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-pro",
                          "groq/llama-3.3-70b-versatile", "mistral/mistral-large-latest",
                          "deepseek/deepseek-chat", "xai/grok-4",
                          "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0"}) {
    EXPECT_NE(r.catalog->entry(key), nullptr) << key;
  }
}

TEST(GovPricing, CostByKindUsesEachPrice) {
  // 1 USD/1M input, 2 output, 0.5 cache read, 4 cache write, 8 reasoning.
  ModelPrice p = flat(1, 2, 0.5, 4, 8);
  // 1000 input of which 200 cached and 100 written -> 700 uncached.
  // 700*1 + 200*0.5 + 100*4 = 1200; output 500 of which 100 reasoning: 400*2 + 100*8 = 1600.
  // Total 2800 tokens-USD/1M = 2800 µUSD = 2'800'000 nUSD.
  EXPECT_EQ(cost_of(p, usage(1000, 500, 200, 100, 100)), 2'800'000);
  EXPECT_EQ(cost_of(p, usage(1'000'000, 0)), 1'000'000'000);  // 1M input tokens at $1/1M = $1
}

TEST(GovPricing, FractionalNanosAreRoundedOnceAtTheEnd) {
  // 0.075 USD/1M: one token costs 75 nUSD, exactly (it cost a whole µUSD when money was micro).
  ModelPrice cheap = flat(0.075, 0.075, 0.075, 0.075, 0.075);
  EXPECT_EQ(cost_of(cheap, usage(3, 0)), 225);
  // 0.00015 USD/1M: 0.15 nUSD per token. One request of 10 tokens costs 1.5 nUSD -> 2 (half up),
  // not 10 * round(0.15) = 0; kinds are summed before the one rounding.
  ModelPrice p = flat(0.00015, 0.00015, 0.00015, 0.00015, 0.00015);
  EXPECT_EQ(cost_of(p, usage(10, 0)), 2);
  EXPECT_EQ(cost_of(p, usage(5, 5)), 2);  // 1.5 nUSD summed across kinds, rounded once
  EXPECT_EQ(cost_of(p, usage(3, 0)), 0);  // 0.45 nUSD
}

TEST(GovPricing, MissingUsageIsUnknownNotZero) {
  ModelPrice p = flat(1, 1, 1, 1, 1);
  providers::Usage u;  // present = false
  EXPECT_EQ(cost_of(p, u), std::nullopt);
}

TEST(GovPricing, CachedAndReasoningFallbacks) {
  auto cat = builtin();
  // groq/llama-3.3-70b-versatile has no cached price: cached tokens cost the input price.
  auto groq = cat->lookup("groq", "groq", "llama-3.3-70b-versatile");
  ASSERT_TRUE(groq);
  EXPECT_EQ(cost_of(*groq, usage(1000, 0, 1000)), cost_of(*groq, usage(1000, 0, 0)));
  // gpt-4o: cached reads at 1.25 instead of 2.50; reasoning at the output price.
  auto gpt = cat->lookup("openai", "openai", "gpt-4o");
  ASSERT_TRUE(gpt);
  EXPECT_EQ(cost_of(*gpt, usage(1000, 0, 1000)), 1'250'000);  // 1000 * 1.25
  EXPECT_EQ(cost_of(*gpt, usage(1000, 0, 0)), 2'500'000);
  EXPECT_EQ(cost_of(*gpt, usage(0, 1000, 0, 0, 600)), 10'000'000);  // reasoning is output
  // Anthropic: cache writes at 3.75 for claude-sonnet-4-5.
  auto claude = cat->lookup("anthropic", "anthropic", "claude-sonnet-4-5");
  ASSERT_TRUE(claude);
  // 1000 uncached * 3 + 1000 read * 0.30 + 1000 written * 3.75 + 100 out * 15 = 8550 µUSD
  EXPECT_EQ(cost_of(*claude, usage(3000, 100, 1000, 1000)), 8'550'000);
}

TEST(GovPricing, DeepSeekHitMissFormula) {
  auto cat = builtin();
  auto p = cat->lookup("deepseek", "deepseek", "deepseek-chat");
  ASSERT_TRUE(p);
  // hit*cr + miss*in + completion*out = 1e6*0.028 + 1e6*0.28 + 1e6*0.42 (µUSD per token * 1e6)
  EXPECT_EQ(cost_of(*p, usage(2'000'000, 1'000'000, 1'000'000)), (28'000 + 280'000 + 420'000) * 1000);
}

TEST(GovPricing, LongContextTierAppliesToWholeRequest) {
  auto cat = builtin();
  auto p = cat->lookup("anthropic", "anthropic", "claude-sonnet-4-5");
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->tier_above);
  EXPECT_EQ(*p->tier_above, 200000);
  EXPECT_EQ(cost_of(*p, usage(200000, 0)), 600'000'000);      // at the threshold: 3.00
  EXPECT_EQ(cost_of(*p, usage(200001, 0)), 1'200'006'000);    // above: 6.00 for every token
  EXPECT_EQ(cost_of(*p, usage(200001, 1000)), 1'200'006'000 + 22'500'000);
}

TEST(GovPricing, UnknownModelIsNulloptNeverZero) {
  auto cat = builtin();
  EXPECT_FALSE(cat->lookup("openai", "openai", "gpt-7-turbo"));
  EXPECT_FALSE(cat->lookup("mock", "openai-compatible", "gpt-4o-mini"));  // no namespace
  EXPECT_FALSE(cat->lookup("together", "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo"));
}

TEST(GovPricing, DateSuffixAndVersionAliases) {
  auto cat = builtin();
  auto base = cat->lookup("openai", "openai", "gpt-4o");
  ASSERT_TRUE(base);
  for (const char* m : {"gpt-4o-2024-08-06", "GPT-4o-2024-08-06", "gpt-4o-latest"}) {
    auto p = cat->lookup("openai", "openai", m);
    ASSERT_TRUE(p) << m;
    EXPECT_EQ(p->base.input, base->base.input) << m;
    EXPECT_EQ(p->key, "openai/gpt-4o") << m;
  }
  // The more specific name wins over the shorter one: gpt-4o-mini is not gpt-4o.
  auto mini = cat->lookup("openai", "openai", "gpt-4o-mini-2024-07-18");
  ASSERT_TRUE(mini);
  EXPECT_EQ(mini->key, "openai/gpt-4o-mini");
  auto claude = cat->lookup("anthropic", "anthropic", "claude-sonnet-4-5-20250929");
  ASSERT_TRUE(claude);
  EXPECT_EQ(claude->key, "anthropic/claude-sonnet-4-5");
  // Never an arbitrary prefix: a different model must not inherit a cheaper price.
  EXPECT_FALSE(cat->lookup("openai", "openai", "gpt-5-pro"));
  EXPECT_FALSE(cat->lookup("openai", "openai", "o3-pro"));
  EXPECT_FALSE(cat->lookup("anthropic", "anthropic", "claude-opus-4-20250514"));
  // An exact entry beats stripping: mistral-large-2411 has its own price.
  auto ml = cat->lookup("mistral", "mistral", "mistral-large-2411");
  ASSERT_TRUE(ml);
  EXPECT_EQ(ml->base.input, usd_per_million_to_pico(2.00));
}

TEST(GovPricing, ProviderTypeMapsToNamespace) {
  auto cat = builtin();
  config::ProviderConfig work;
  work.name = "work-openai";
  work.type = config::ProviderType::OpenAI;
  auto p = cat->lookup(work, "gpt-4o-mini");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->key, "openai/gpt-4o-mini");
  config::ProviderConfig fastgroq;
  fastgroq.name = "fast";
  fastgroq.type = config::ProviderType::OpenAICompatible;
  fastgroq.preset = "groq";
  auto g = cat->lookup(fastgroq, "openai/gpt-oss-120b");  // model ids may contain '/'
  ASSERT_TRUE(g);
  EXPECT_EQ(g->key, "groq/openai/gpt-oss-120b");
  // Azure uses OpenAI's prices; Gemini accepts the "models/" form.
  EXPECT_TRUE(cat->lookup("az", "azure", "gpt-4o"));
  EXPECT_TRUE(cat->lookup("g", "gemini", "models/gemini-2.5-flash"));
}

TEST(GovPricing, BedrockIdsAndRegionalUplift) {
  auto cat = builtin();
  auto direct = cat->lookup("anthropic", "anthropic", "claude-haiku-4-5");
  auto br = cat->lookup("aws", "bedrock", "anthropic.claude-haiku-4-5-20251001-v1:0");
  auto us = cat->lookup("aws", "bedrock", "us.anthropic.claude-haiku-4-5-20251001-v1:0");
  auto global = cat->lookup("aws", "bedrock", "global.anthropic.claude-haiku-4-5-20251001-v1:0");
  ASSERT_TRUE(direct && br && us && global);
  EXPECT_EQ(br->base.input, direct->base.input);
  EXPECT_EQ(global->base.output, direct->base.output);
  EXPECT_EQ(us->base.input, direct->base.input * 11 / 10);  // regional profile: +10%
  EXPECT_EQ(us->base.output, direct->base.output * 11 / 10);
  // The explicit entry from the reference table wins over the rule.
  auto sonnet_us = cat->lookup("aws", "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
  ASSERT_TRUE(sonnet_us);
  EXPECT_EQ(sonnet_us->base.output, usd_per_million_to_pico(16.50));
  EXPECT_FALSE(cat->lookup("aws", "bedrock", "meta.llama3-70b-instruct-v1:0"));
}

TEST(GovPricing, LocalPresetsAreFreeOthersUnknown) {
  auto cat = builtin();
  for (const char* kind : {"ollama", "vllm", "lmstudio"}) {
    auto p = cat->lookup("local", kind, "llama3.1:8b");
    ASSERT_TRUE(p) << kind;
    EXPECT_TRUE(p->free);
    EXPECT_EQ(cost_of(*p, usage(100000, 100000)), 0);
  }
  // A plain openai-compatible server is not assumed free: price it in pricing: or cost is unknown.
  EXPECT_FALSE(cat->lookup("local", "openai-compatible", "llama3.1:8b"));
}

TEST(GovPricing, OverridesMergePerField) {
  std::map<std::string, config::PriceConfig> ov;
  ov["openai/gpt-4o"].input = 2.00;                 // namespace-wide: every openai provider
  ov["work/gpt-4o-mini"].output = 0.50;             // one provider only
  ov["local/llama3.1:8b"] = {0.0, 0.0, {}, {}, {}};  // a model the catalog does not know
  ov["lan/qwen"].input = 1.0;                       // incomplete: no output price
  ov["anthropic/claude-sonnet-4-5"].output = 10.0;  // tiered model
  auto cat = builtin(ov);
  auto o = cat->lookup("openai", "openai", "gpt-4o");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->base.input, usd_per_million_to_pico(2.00));
  EXPECT_EQ(o->base.output, usd_per_million_to_pico(10.00));       // kept from the catalog
  EXPECT_EQ(o->base.cached_input, usd_per_million_to_pico(1.25));  // kept
  auto w = cat->lookup("work", "openai", "gpt-4o-mini");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->base.output, usd_per_million_to_pico(0.50));
  EXPECT_EQ(w->base.input, usd_per_million_to_pico(0.15));  // from openai/gpt-4o-mini
  auto other = cat->lookup("other", "openai", "gpt-4o-mini");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->base.output, usd_per_million_to_pico(0.60));  // not affected
  auto l = cat->lookup("local", "openai-compatible", "llama3.1:8b");
  ASSERT_TRUE(l);
  EXPECT_EQ(cost_of(*l, usage(1000, 1000)), 0);
  EXPECT_FALSE(cat->lookup("lan", "openai-compatible", "qwen"));  // output unknown -> unknown
  auto s = cat->lookup("anthropic", "anthropic", "claude-sonnet-4-5");
  ASSERT_TRUE(s && s->tier_above);
  EXPECT_EQ(s->tier.output, usd_per_million_to_pico(10.0));  // an override applies at every size
  EXPECT_EQ(s->tier.input, usd_per_million_to_pico(6.0));    // untouched tier field kept
}

// The worker's memo answers what the catalog answers, per provider, and never from another
// catalog (a reload with a changed price), and stays bounded.
TEST(GovPricing, MemoAnswersAsTheCatalogAndForgetsAReloadedOne) {
  config::ProviderConfig openai, work;
  openai.name = "openai";
  openai.type = config::ProviderType::OpenAI;
  work.name = "work";
  work.type = config::ProviderType::OpenAI;
  std::map<std::string, config::PriceConfig> ov;
  ov["work/gpt-4o-mini"].output = 0.50;
  auto cat = builtin(ov);
  PriceMemo memo;
  for (int round = 0; round < 2; ++round) {  // the second round is answered from the memo
    for (const auto* p : {&openai, &work}) {
      for (std::string_view m : {"gpt-4o-mini", "gpt-4o", "no-such-model"}) {
        auto want = cat->lookup(*p, m);
        auto got = memo.lookup(*cat, *p, m);
        ASSERT_EQ(bool(want), bool(got)) << p->name << "/" << m;
        if (want) {
          EXPECT_EQ(got->base.input, want->base.input);
          EXPECT_EQ(got->base.output, want->base.output);
          EXPECT_EQ(got->key, want->key);
        }
      }
    }
  }
  EXPECT_EQ(memo.size(), 6u);
  EXPECT_EQ(memo.lookup(*cat, work, "gpt-4o-mini")->base.output, usd_per_million_to_pico(0.50));
  // A reload with another price: the memo answers from the new catalog.
  ov["work/gpt-4o-mini"].output = 0.75;
  auto reloaded = builtin(ov);
  EXPECT_NE(reloaded->serial(), cat->serial());
  auto held = memo.lookup(*cat, work, "gpt-4o-mini");
  EXPECT_EQ(memo.lookup(*reloaded, work, "gpt-4o-mini")->base.output, usd_per_million_to_pico(0.75));
  EXPECT_EQ(memo.size(), 1u);
  EXPECT_EQ(held->base.output, usd_per_million_to_pico(0.50));  // still valid for its holder
  // Client-chosen names cannot grow it without bound.
  for (int i = 0; i < 3000; ++i) memo.lookup(*reloaded, openai, "m" + std::to_string(i));
  EXPECT_LE(memo.size(), PriceMemo::kMaxEntries);
}

TEST(GovPricing, OverrideNamingNothingWarns) {
  std::map<std::string, config::PriceConfig> ov;
  ov["opneai/gpt-4o"].input = 1;
  config::ProviderConfig p;
  p.name = "openai";
  std::vector<config::ProviderConfig> ps{p};
  auto r = PriceCatalog::build("{}", ov, ps);
  ASSERT_TRUE(r.catalog);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("opneai"), std::string::npos);
}

TEST(GovPricing, MalformedCatalogIsRefused) {
  EXPECT_FALSE(PriceCatalog::build("[1,2]").catalog);
  auto r = PriceCatalog::build(R"({"openai/x": {"input": -1, "output": 1}})");
  EXPECT_FALSE(r.catalog);
  r = PriceCatalog::build(R"({"openai/x": {"inptu": 1, "output": 1}})");
  EXPECT_FALSE(r.catalog);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].find("inptu"), std::string::npos);
  r = PriceCatalog::build(R"({"nokey": {"input": 1, "output": 1}})");
  EXPECT_FALSE(r.catalog);
}

TEST(GovPricing, EstimateIsAnUpperBound) {
  auto cat = builtin();
  auto p = cat->lookup("openai", "openai", "gpt-4o");
  ASSERT_TRUE(p);
  // 1000 input * 2.50 + 4096 output * 10.00 = 2500 + 40960 µUSD
  EXPECT_EQ(estimate_cost(*p, 1000, 4096), 43'460'000);
  // One token at 0.15/1M is 150 nUSD; rounded up below a nUSD: 0.15 nUSD -> 1.
  auto mini = cat->lookup("openai", "openai", "gpt-4o-mini");
  EXPECT_EQ(estimate_cost(*mini, 1, 0), 150);
  EXPECT_EQ(estimate_cost(flat(0.00015, 0.00015, 0.00015, 0.00015, 0.00015), 1, 0), 1);
  // The estimate is never below the actual cost for the same token counts.
  for (int64_t in : {0, 7, 1000, 250000}) {
    for (int64_t out : {0, 13, 4096}) {
      auto actual = cost_of(*p, usage(in, out, in / 2, 0, out / 3));
      EXPECT_LE(*actual, estimate_cost(*p, in, out));
    }
  }
  EXPECT_EQ(estimate_input_tokens(0), 0);
  EXPECT_EQ(estimate_input_tokens(5), 2);
  EXPECT_EQ(estimate_input_tokens(4000), 1000);
}

TEST(GovPricing, RequestedMaxOutput) {
  using nlohmann::json;
  EXPECT_EQ(requested_max_output(json{{"max_tokens", 100}}), 100);
  EXPECT_EQ(requested_max_output(json{{"max_tokens", 100}, {"max_completion_tokens", 50}}), 50);
  EXPECT_EQ(requested_max_output(json{{"max_output_tokens", 70}}), 70);
  EXPECT_EQ(requested_max_output(json{{"max_tokens", 0}}), std::nullopt);
  EXPECT_EQ(requested_max_output(json{{"max_tokens", "9"}}), std::nullopt);
  EXPECT_EQ(requested_max_output(json::object()), std::nullopt);
}

// Issue 16: a 1.32M-request soak was charged +1.4 % when each cost was rounded to a whole µUSD.
// A million requests of a cheap model, each costed alone, must sum to sum(tokens x price) to the
// cent (to the µUSD, in fact: the per-request rounding is at most 0.5 nUSD).
TEST(GovMoney, AMillionCostsSumToTokensTimesPrice) {
  // gpt-4o-mini-like prices: 0.15 in, 0.60 out, 0.075 cached (USD per 1M tokens).
  ModelPrice p = flat(0.15, 0.60, 0.075, 0.15, 0.60);
  int64_t sum_nanos = 0;
  // Exact reference in pUSD (prices are whole pUSD per token): 150'000 in, 600'000 out, 75'000 cached.
  __int128 exact_pico = 0;
  for (int64_t i = 0; i < 1'000'000; ++i) {
    int64_t in = 5 + i % 37, out = 1 + i % 11, cached = i % 3;
    auto c = cost_of(p, usage(in, out, cached));
    ASSERT_TRUE(c);
    sum_nanos += *c;
    exact_pico += __int128(in - cached) * 150'000 + __int128(cached) * 75'000 + __int128(out) * 600'000;
  }
  const double exact_usd = double(exact_pico) / 1e12;
  const double charged_usd = double(sum_nanos) / 1e9;
  EXPECT_NEAR(charged_usd, exact_usd, 0.005) << "charged " << charged_usd << " for " << exact_usd;
  // Tighter: every request is within 0.5 nUSD, so the sum is within 0.5 mUSD.
  EXPECT_LE(std::abs(double(sum_nanos) * 1000 - double(exact_pico)), 0.5e9);
}

TEST(GovMoney, Formatting) {
  EXPECT_EQ(usd_to_nanos(50), 50'000'000'000);
  EXPECT_EQ(usd_to_nanos(12.345678912), 12'345'678'912);
  EXPECT_EQ(usd_to_nanos(-1), 0);
  EXPECT_EQ(nanos_to_usd_string(1234), "0.000001234");
  EXPECT_EQ(nanos_to_usd_string(50'000'000'000), "50.000000000");
  EXPECT_EQ(nanos_to_usd_string(0), "0.000000000");
  EXPECT_EQ(nanos_to_usd_string(-1'500'000'001), "-1.500000001");
  EXPECT_EQ(nanos_to_usd_string(INT64_MAX), "9223372036.854775807");
  EXPECT_EQ(nanos_to_usd_string(INT64_MIN), "-9223372036.854775808");
  EXPECT_EQ(format_usd(50'000'000'000), "$50");
  EXPECT_EQ(format_usd(12'500'000'000), "$12.50");
  EXPECT_EQ(format_usd(1234), "$0.000001234");
  EXPECT_DOUBLE_EQ(nanos_to_usd(1234), 1.234e-6);
  using namespace std::chrono;
  EXPECT_EQ(iso8601_utc(sys_days{2026y / 9 / 1} + 5h + 7min + 9s), "2026-09-01T05:07:09Z");
}

}  // namespace
}  // namespace tg::governance
