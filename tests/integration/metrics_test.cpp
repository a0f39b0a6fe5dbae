// Metric values after known traffic: the real tollgate in front of the real tollgate-mock, /metrics
// read over HTTP and parsed (a small parser of the Prometheus text format lives here), and the
// Grafana dashboard in docs/ checked against what /metrics really exports.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

// ---------------------------------------------------------------------------------------------
// The Prometheus text exposition format (0.0.4), enough of it to read values back.

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Scrape {
  std::vector<Sample> samples;
  std::map<std::string, std::string> types;  // family name -> counter | gauge | histogram ...
  std::string text;

  static bool matches(const Sample& s, const std::map<std::string, std::string>& want) {
    for (const auto& [k, v] : want) {
      auto it = s.labels.find(k);
      std::string have = it == s.labels.end() ? "" : it->second;  // absent == empty, as in PromQL
      if (have != v) return false;
    }
    return true;
  }
  // The value of the one sample with exactly these labels.
  std::optional<double> get(const std::string& name,
                            const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nullopt;
  }
  // The sum over every sample of `name` whose labels include `labels` (0 when none).
  double sum(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    double total = 0;
    for (const auto& s : samples) {
      if (s.name == name && matches(s, labels)) total += s.value;
    }
    return total;
  }
  size_t count(const std::string& name) const {
    return static_cast<size_t>(std::count_if(samples.begin(), samples.end(),
                                             [&](const Sample& s) { return s.name == name; }));
  }
  // Every name a PromQL expression may use: sample names and family names.
  std::set<std::string> names() const {
    std::set<std::string> out;
    for (const auto& s : samples) out.insert(s.name);
    for (const auto& [family, type] : types) out.insert(family);
    return out;
  }
  std::set<std::string> label_values(const std::string& label) const {
    std::set<std::string> out;
    for (const auto& s : samples) {
      if (auto it = s.labels.find(label); it != s.labels.end()) out.insert(it->second);
    }
    return out;
  }
};

// Throws std::runtime_error on anything that is not valid text format.
Scrape parse_metrics(const std::string& text) {
  Scrape out;
  out.text = text;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  auto fail = [&](const std::string& why) {
    throw std::runtime_error("line " + std::to_string(lineno) + ": " + why + ": " + line);
  };
  auto is_name_char = [](char c, bool first) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
           (!first && std::isdigit(static_cast<unsigned char>(c)));
  };
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream c(line);
      std::string hash, kind, family, type;
      c >> hash >> kind >> family;
      if (kind == "TYPE") {
        c >> type;
        if (type.empty()) fail("TYPE without a type");
        out.types[family] = type;
      }
      continue;
    }
    Sample s;
    size_t i = 0;
    while (i < line.size() && is_name_char(line[i], i == 0)) ++i;
    if (i == 0) fail("no metric name");
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      for (;;) {
        while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        size_t start = i;
        while (i < line.size() && is_name_char(line[i], i == start)) ++i;
        if (i == start) fail("bad label name");
        std::string key = line.substr(start, i - start);
        if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') fail("expected =\"");
        i += 2;
        std::string value;
        for (;;) {
          if (i >= line.size()) fail("unterminated label value");
          char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) fail("dangling escape");
            char e = line[i++];
            if (e == 'n') value += '\n';
            else if (e == '\\' || e == '"') value += e;
            else fail("bad escape");
          } else {
            value += c;
          }
        }
        if (s.labels.count(key)) fail("repeated label " + key);
        s.labels[key] = value;
      }
    }
    if (i >= line.size() || line[i] != ' ') fail("expected a space before the value");
    std::istringstream rest(line.substr(i + 1));
    std::string value;
    rest >> value;
    char* end = nullptr;
    s.value = std::strtod(value.c_str(), &end);  // also +Inf, -Inf, NaN
    if (value.empty() || *end != '\0') fail("bad value");
    out.samples.push_back(std::move(s));
  }
  return out;
}

Scrape scrape(Gateway& gw, const std::string& key = "") {
  auto r = gw.get("/metrics", key);
  if (r.status != 200) throw std::runtime_error("/metrics answered " + std::to_string(r.status) + ": " + r.body);
  return parse_metrics(r.body);
}

// A scrape once every finished request has been counted: a request's metrics are recorded just
// after its answer is sent, and only then leaves tollgate_in_flight_requests, where the scrape
// itself is the one left.
Scrape settled_scrape(Gateway& gw, const std::string& key = "") {
  Scrape m;
  eventually([&] {
    m = scrape(gw, key);
    auto in_flight = m.get("tollgate_in_flight_requests");  // the scrape is not counted
    return in_flight && *in_flight == 0;
  });
  return m;
}

json chat(const std::string& model, const std::string& text, bool stream = false) {
  json body = {{"model", model}, {"messages", {{{"role", "user"}, {"content", text}}}}};
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};  // so the test sees the mock's usage
  }
  return body;
}

// The usage a response reported to the client (the last usage chunk of a stream).
std::pair<int64_t, int64_t> usage_of(const HttpResponse& r) {
  json usage;
  if (r.header("content-type").find("text/event-stream") != std::string::npos) {
    for (const auto& d : sse_data(r.body)) {
      if (d == "[DONE]") continue;
      auto j = json::parse(d, nullptr, false);
      if (j.is_object() && j.contains("usage") && j["usage"].is_object()) usage = j["usage"];
    }
  } else {
    usage = r.json_body()["usage"];
  }
  if (!usage.is_object()) return {-1, -1};
  return {usage["prompt_tokens"].get<int64_t>(), usage["completion_tokens"].get<int64_t>()};
}

// Checks the invariants of one (label-less) histogram and returns its _count.
// The observations of a histogram over all its label sets ({model, provider}), checking each
// set's buckets: cumulative, ending in +Inf, which equals that set's _count.
double histogram_count(const Scrape& m, const std::string& name,
                       const std::map<std::string, std::string>& labels = {}) {
  auto key = [](std::map<std::string, std::string> l) {
    l.erase("le");
    std::string k;
    for (const auto& [n, v] : l) k += n + "=" + v + ",";
    return k;
  };
  std::map<std::string, std::vector<std::pair<double, double>>> sets;  // le, cumulative count
  std::map<std::string, double> counts;
  double total = 0;
  bool any = false;
  for (const auto& s : m.samples) {
    if (!m.matches(s, labels)) continue;
    if (s.name == name + "_bucket") {
      sets[key(s.labels)].emplace_back(std::strtod(s.labels.at("le").c_str(), nullptr), s.value);
    } else if (s.name == name + "_count") {
      counts[key(s.labels)] = s.value;
      total += s.value;
      any = true;
    } else if (s.name == name + "_sum") {
      EXPECT_GE(s.value, 0) << name;
    }
  }
  EXPECT_TRUE(any) << name << "_count missing";
  for (auto& [k, buckets] : sets) {
    std::sort(buckets.begin(), buckets.end());
    EXPECT_GE(buckets.size(), 2u) << name << "{" << k << "}";
    for (size_t i = 1; i < buckets.size(); ++i) {
      EXPECT_LE(buckets[i - 1].second, buckets[i].second) << name << " buckets must be cumulative";
    }
    EXPECT_TRUE(std::isinf(buckets.back().first)) << name << " has no le=\"+Inf\" bucket";
    EXPECT_EQ(buckets.back().second, counts[k]) << name << "{" << k << "}: +Inf bucket != _count";
  }
  return any ? total : -1;
}

std::string random_token() {
  std::random_device rd;
  std::mt19937_64 g(rd());
  return "rnd" + std::to_string(g() % 1'000'000'000'000ULL);
}

// ---------------------------------------------------------------------------------------------

TEST(Metrics, ParserReadsTheTextFormat) {
  auto m = parse_metrics(
      "# HELP a_total A counter\n# TYPE a_total counter\n"
      "a_total{x=\"1\",y=\"q\\\"uo\\\\te\\n\"} 3\n"
      "a_total{x=\"2\"} 4.5e+00\n"
      "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n"
      "g 1 1700000000000\n");
  EXPECT_EQ(m.types.at("a_total"), "counter");
  EXPECT_EQ(m.get("a_total", {{"x", "1"}, {"y", "q\"uo\\te\n"}}), 3);
  EXPECT_EQ(m.sum("a_total"), 7.5);
  EXPECT_EQ(histogram_count(m, "h"), 2);
  EXPECT_EQ(m.get("g"), 1);
  EXPECT_THROW(parse_metrics("a{x=\"1} 2\n"), std::runtime_error);
  EXPECT_THROW(parse_metrics("a 1x\n"), std::runtime_error);
}

TEST(Metrics, RequestsTokensAndHistogramsMatchTheTrafficSent) {
  Mock mock;
  Gateway gw(mock_config(mock));
  const int kPlain = 6, kStreamed = 4;
  int64_t input = 0, output = 0;
  std::vector<std::string> texts = {"one", "two words", "three little words", "Grüße, 世界!",
                                    "a b c d e f g h i j k l m n o p q r s t u v w x y z"};
  for (int i = 0; i < kPlain + kStreamed; ++i) {
    bool stream = i >= kPlain;
    auto r = gw.post("/v1/chat/completions", chat("gpt-test", texts[i % texts.size()], stream));
    ASSERT_EQ(r.status, 200) << r.body;
    auto [in, out] = usage_of(r);
    ASSERT_GT(in, 0) << r.body;
    ASSERT_GT(out, 0) << r.body;
    input += in;
    output += out;
    // Time spent in the gateway itself, before the response head.
    auto overhead = r.header("x-tollgate-overhead-ms");
    ASSERT_FALSE(overhead.empty());
    EXPECT_GE(std::stod(overhead), 0.0);
    EXPECT_LT(std::stod(overhead), 1000.0);
  }
  auto m = settled_scrape(gw);
  const int n = kPlain + kStreamed;
  EXPECT_EQ(m.get("tollgate_requests_total", {{"model", "gpt-test"}, {"provider", "mock"}, {"status", "200"}}), n)
      << m.text;
  EXPECT_EQ(m.sum("tollgate_requests_total"), n) << "no other request may be counted";
  EXPECT_EQ(m.get("tollgate_tokens_total", {{"model", "gpt-test"}, {"provider", "mock"}, {"kind", "input"}}),
            input);
  EXPECT_EQ(m.get("tollgate_tokens_total", {{"model", "gpt-test"}, {"provider", "mock"}, {"kind", "output"}}),
            output);
  // The mock reports 0 cached and 0 reasoning tokens: nothing is added for those kinds.
  EXPECT_EQ(m.sum("tollgate_tokens_total", {{"kind", "cached"}}), 0);
  EXPECT_EQ(m.sum("tollgate_tokens_total", {{"kind", "reasoning"}}), 0);

  EXPECT_EQ(histogram_count(m, "tollgate_request_duration_seconds"), n);
  EXPECT_EQ(histogram_count(m, "tollgate_overhead_duration_seconds"), n);
  EXPECT_EQ(histogram_count(m, "tollgate_upstream_duration_seconds"), n);
  EXPECT_EQ(histogram_count(m, "tollgate_time_to_first_token_seconds"), kStreamed);
  // Latency per model and provider, as the request counter's labels.
  const std::map<std::string, std::string> gpt_test = {{"model", "gpt-test"}, {"provider", "mock"}};
  EXPECT_EQ(histogram_count(m, "tollgate_request_duration_seconds", gpt_test), n);
  EXPECT_EQ(histogram_count(m, "tollgate_time_to_first_token_seconds", gpt_test), kStreamed);
  // The gateway's own time is a part of the whole.
  EXPECT_LE(m.sum("tollgate_overhead_duration_seconds_sum"),
            m.sum("tollgate_request_duration_seconds_sum"));
  EXPECT_GT(m.sum("tollgate_request_duration_seconds_sum"), 0);

  EXPECT_EQ(m.types.at("tollgate_requests_total"), "counter");
  EXPECT_EQ(m.types.at("tollgate_tokens_total"), "counter");
  EXPECT_EQ(m.types.at("tollgate_request_duration_seconds"), "histogram");
  EXPECT_EQ(m.types.at("tollgate_in_flight_requests"), "gauge");
  EXPECT_EQ(m.get("tollgate_deployment_up", {{"provider", "mock"}, {"model", "gpt-4o-mini"}}), 1);
  auto build = m.label_values("version");
  ASSERT_EQ(build.size(), 1u);
  EXPECT_FALSE(build.begin()->empty());
  EXPECT_EQ(m.sum("tollgate_build_info"), 1);
  // No failover, no retry happened.
  EXPECT_EQ(m.sum("tollgate_failovers_total"), 0);
  EXPECT_EQ(m.sum("tollgate_retries_total"), 0);
  EXPECT_EQ(*m.get("tollgate_in_flight_requests"), 0);
  EXPECT_GE(*m.get("tollgate_open_connections"), 1);  // this scrape's connection
}

TEST(Metrics, UnknownModelsAreFoldedIntoOtherSoLabelsStayBounded) {
  Mock mock;
  Gateway gw(mock_config(mock));
  std::set<std::string> asked;
  for (int i = 0; i < 3; ++i) {
    std::string name = "nope-" + random_token();
    asked.insert(name);
    auto r = gw.post("/v1/chat/completions", chat(name, "who are you?"));
    ASSERT_EQ(r.status, 404) << r.body;
  }
  // provider/model is routable for any model name: the label must not carry it either.
  for (int i = 0; i < 2; ++i) {
    std::string model = random_token();
    asked.insert(model);
    asked.insert("mock/" + model);
    auto r = gw.post("/v1/chat/completions", chat("mock/" + model, "dynamic model"));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  auto m = settled_scrape(gw);
  EXPECT_EQ(m.get("tollgate_requests_total", {{"model", "other"}, {"provider", "none"}, {"status", "404"}}), 3)
      << m.text;
  EXPECT_EQ(m.get("tollgate_requests_total", {{"model", "other"}, {"provider", "mock"}, {"status", "200"}}), 2)
      << m.text;
  for (const auto& label : {"model", "provider", "status", "kind", "param"}) {
    for (const auto& v : m.label_values(label)) {
      EXPECT_EQ(asked.count(v), 0u) << "label " << label << " carries a client-chosen value " << v;
    }
  }
  for (const auto& a : asked) {
    EXPECT_EQ(m.text.find(a), std::string::npos) << a << " leaked into /metrics";
  }
  // The model label takes only configured names (and "other"); the request id never appears.
  // The model label takes only configured names and "other" (gpt-4o-mini comes from
  // tollgate_deployment_up{provider,model}).
  for (const auto& v : m.label_values("model")) {
    EXPECT_TRUE(v == "gpt-test" || v == "gpt-4o-mini" || v == "other") << v;
  }
}

// A model name (and a deployment) dropped from the config by a reload loses its series, so a
// config generated with new names on every reload does not grow /metrics or the memory behind it
// (about 10 KB a name). Its traffic folds into "other" from then on; the names kept keep their
// counts. Then reloads back and forth under traffic on both workers: the removal waits for the
// observations in flight, and the daemon keeps serving (the ASan run checks no series was freed
// while in use).
TEST(Metrics, AModelRemovedByAReloadLosesItsSeries) {
  Mock mock;
  const std::string with_old = "  - name: old-name\n    targets: [mock/gpt-4o]\n";
  Gateway gw(mock_config(mock, with_old));
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("old-name", "before")).status, 200);
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "before")).status, 200);
  auto before = settled_scrape(gw);
  ASSERT_EQ(before.sum("tollgate_requests_total", {{"model", "old-name"}}), 1) << before.text;
  ASSERT_EQ(before.get("tollgate_deployment_up", {{"provider", "mock"}, {"model", "gpt-4o"}}), 1);
  auto reload = [&](const std::string& extra) {
    {
      std::ofstream out(gw.config_path());
      out << mock_config(mock, extra);
    }
    return gw.post("/admin/reload", json::object()).status;
  };
  ASSERT_EQ(reload(""), 200);
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "after")).status, 200);
  auto after = settled_scrape(gw);
  EXPECT_EQ(after.label_values("model").count("old-name"), 0u) << after.text;
  EXPECT_EQ(after.text.find("old-name"), std::string::npos) << after.text;
  EXPECT_FALSE(after.get("tollgate_deployment_up", {{"provider", "mock"}, {"model", "gpt-4o"}}))
      << after.text;
  EXPECT_EQ(after.sum("tollgate_requests_total", {{"model", "gpt-test"}}), 2) << after.text;
  EXPECT_EQ(after.get("tollgate_failovers_total", {{"model", "gpt-test"}}), 0);
  // The removed name is now unknown: 404, counted under "other".
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("old-name", "gone")).status, 404);

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      while (!stop) {
        auto r = gw.post("/v1/chat/completions", chat(c % 2 ? "old-name" : "gpt-test", "churn", c == 3));
        (r.status == 200 || r.status == 404 ? ok : bad)++;
      }
    });
  }
  for (int i = 0; i < 40; ++i) ASSERT_EQ(reload(i % 2 ? "" : with_old), 200);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(bad, 0);
  EXPECT_GT(ok, 40);
  EXPECT_EQ(gw.get("/health").status, 200);
  auto last = settled_scrape(gw);  // the last reload (i = 39) removed old-name again
  EXPECT_EQ(last.label_values("model").count("old-name"), 0u) << last.text;
  EXPECT_GT(last.sum("tollgate_requests_total", {{"model", "gpt-test"}}), 2);
}

// A provider dropped by a reload loses its series too, in every family labelled by provider
// (the model it served stays configured, on another provider). An answer it gave that is served
// afterwards (a cache hit) counts under provider "other", so the series stay removed.
TEST(Metrics, AProviderRemovedByAReloadLosesItsSeries) {
  Mock mock;
  auto config = [&](bool with_spare) {
    std::string c = "server:\n  master_key: sk-test-master\n  workers: 2\n"
                    "cache:\n  enabled: true\n"
                    "providers:\n  mock:\n    type: openai-compatible\n    base_url: " +
                    mock.base_url() + "\n    api_key: k1\n";
    if (with_spare) {
      c += "  spare:\n    type: openai-compatible\n    base_url: " + mock.base_url() +
           "\n    api_key: k2\n";
    }
    return c + "models:\n  - name: gpt-test\n    targets: [" +
           (with_spare ? "spare" : "mock") + "/gpt-4o-mini]\n";
  };
  Gateway gw(config(true));
  json cached = chat("gpt-test", "remember me");
  ASSERT_EQ(gw.post("/v1/chat/completions", cached).status, 200);
  auto before = settled_scrape(gw);
  ASSERT_EQ(before.sum("tollgate_requests_total", {{"provider", "spare"}}), 1) << before.text;
  {
    std::ofstream out(gw.config_path());
    out << config(false);
  }
  ASSERT_EQ(gw.post("/admin/reload", json::object()).status, 200);
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "after")).status, 200);
  auto hit = gw.post("/v1/chat/completions", cached);  // the answer spare gave, from the cache
  ASSERT_EQ(hit.status, 200);
  EXPECT_EQ(hit.header("x-tollgate-cache"), "hit");
  auto after = settled_scrape(gw);
  EXPECT_EQ(after.label_values("provider").count("spare"), 0u) << after.text;
  EXPECT_EQ(after.text.find("provider=\"spare\""), std::string::npos) << after.text;
  EXPECT_EQ(after.sum("tollgate_requests_total", {{"provider", "mock"}}), 1) << after.text;
  EXPECT_EQ(after.sum("tollgate_requests_total", {{"provider", "other"}}), 1) << after.text;
  EXPECT_EQ(after.sum("tollgate_requests_total", {{"model", "gpt-test"}}), 2) << after.text;
}

std::string failover_config(const Mock& mock, uint16_t dead_port,
                            const std::string& more_providers = "") {
  return "server:\n  master_key: sk-test-master\n  workers: 2\n"
         "providers:\n" + more_providers +
         "  mock:\n    type: openai-compatible\n    base_url: " + mock.base_url() + "\n"
         "    api_key: k1\n"
         "  dead:\n    type: openai-compatible\n    base_url: http://127.0.0.1:" +
         std::to_string(dead_port) + "/v1\n    api_key: k2\n"
         "models:\n"
         "  - name: chain\n    targets: [dead/gpt-4o-mini, mock/gpt-4o-mini]\n"
         "  - name: all-dead\n    targets: [dead/gpt-4o-mini]\n"
         // One retry per target; the dead target never cools down, so every request tries it.
         "router:\n  retries: 1\n  allowed_fails: 1000\n";
}

TEST(Metrics, FailoversAndRetriesAreCountedByTheRightAmounts) {
  Mock mock;
  Gateway gw(failover_config(mock, free_port()));
  const int kChain = 3;
  for (int i = 0; i < kChain; ++i) {
    auto r = gw.post("/v1/chat/completions", chat("chain", "fail over", i == 2));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-tollgate-provider"), "mock");
    // dead, dead again (the retry), then mock.
    EXPECT_EQ(r.header("x-tollgate-attempts"), "3");
  }
  auto bad = gw.post("/v1/chat/completions", chat("all-dead", "nobody home"));
  ASSERT_EQ(bad.status, 502) << bad.body;
  EXPECT_EQ(bad.header("x-tollgate-attempts"), "2");

  auto m = settled_scrape(gw);
  // Each chain request: 2 attempts beyond the first. The all-dead one: 1.
  EXPECT_EQ(m.get("tollgate_retries_total"), kChain * 2 + 1) << m.text;
  // A failover is a request answered by another deployment than the first tried: not the 502.
  EXPECT_EQ(m.get("tollgate_failovers_total", {{"model", "chain"}}), kChain) << m.text;
  EXPECT_EQ(m.sum("tollgate_failovers_total"), kChain);
  EXPECT_EQ(m.get("tollgate_requests_total", {{"model", "chain"}, {"provider", "mock"}, {"status", "200"}}),
            kChain);
  // The provider of a failed request is the last one tried.
  EXPECT_EQ(m.get("tollgate_requests_total", {{"model", "all-dead"}, {"provider", "dead"}, {"status", "502"}}), 1);
  EXPECT_EQ(histogram_count(m, "tollgate_request_duration_seconds"), kChain + 1);
  EXPECT_EQ(histogram_count(m, "tollgate_time_to_first_token_seconds"), 1);
  EXPECT_EQ(m.get("tollgate_deployment_up", {{"provider", "mock"}, {"model", "gpt-4o-mini"}}), 1);
}

TEST(Metrics, DeploymentUpDropsToZeroWhileItCoolsDown) {
  Mock mock;
  uint16_t dead = free_port();
  std::string config = failover_config(mock, dead);
  config.replace(config.find("allowed_fails: 1000"), 19, "allowed_fails: 1\n  cooldown: 60s");
  Gateway gw(config);
  auto before = scrape(gw);
  EXPECT_EQ(before.get("tollgate_deployment_up", {{"provider", "dead"}, {"model", "gpt-4o-mini"}}), 1);
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("chain", "cool it down")).status, 200);
  auto after = settled_scrape(gw);
  EXPECT_EQ(after.get("tollgate_deployment_up", {{"provider", "dead"}, {"model", "gpt-4o-mini"}}), 0)
      << after.text;
  EXPECT_EQ(after.get("tollgate_deployment_up", {{"provider", "mock"}, {"model", "gpt-4o-mini"}}), 1);
}

TEST(Metrics, InFlightRisesDuringRequestsAndReturnsToItsRestingValue) {
  Mock mock({"--latency-ms", "1500"});
  Gateway gw(mock_config(mock));
  const double resting = *scrape(gw).get("tollgate_in_flight_requests");
  EXPECT_EQ(resting, 0);
  const int kSlow = 3;
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < kSlow; ++i) {
    clients.emplace_back([&] {
      if (gw.post("/v1/chat/completions", chat("gpt-test", "slow")).status == 200) ++ok;
    });
  }
  EXPECT_TRUE(eventually(
      [&] { return *scrape(gw).get("tollgate_in_flight_requests") == resting + kSlow; },
      std::chrono::milliseconds(1400)));
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kSlow);
  // A request leaves in_flight just after its answer is sent (once it is recorded).
  EXPECT_TRUE(eventually([&] { return *scrape(gw).get("tollgate_in_flight_requests") == resting; }));
}

// /metrics, /health and /ready are not requests in flight: a quiet gateway reads 0.
TEST(Metrics, InFlightDoesNotCountTheScrapeItself) {
  Mock mock;
  Gateway gw(mock_config(mock));
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "x")).status, 200);
  // The chat leaves the gauge just after its last bytes went out, so the first scrape may still
  // see it; the scrape itself never counts, so the gauge reaches 0 (were it counted: never).
  EXPECT_TRUE(eventually([&] { return scrape(gw).get("tollgate_in_flight_requests") == 0; }));
}

// A retry that succeeds on the same deployment is a retry, not a failover.
TEST(Metrics, RetryOnTheSameDeploymentIsNotAFailover) {
  Mock mock;
  Gateway gw(mock_config(mock, "router:\n  retries: 2\n  allowed_fails: 10\n"));
  mock.add_fault({{"mode", "status"}, {"status", 500}, {"count", 1}});
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "second time lucky"));
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.header("x-tollgate-attempts"), "2");
  auto m = settled_scrape(gw);
  EXPECT_EQ(m.get("tollgate_retries_total"), 1);
  EXPECT_EQ(m.sum("tollgate_failovers_total"), 0) << m.text;
}

// Requests refused before the model is known (bad key, broken body) are counted too: an auth
// attack or a broken client shows on the dashboard.
TEST(Metrics, RejectedRequestsAreCounted) {
  Mock mock;
  Gateway gw(mock_config(mock));
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "x"), "sk-wrong").status, 401);
  EXPECT_EQ(http(gw.port(), "POST", "/v1/chat/completions", "{not json",
                 {{"Authorization", "Bearer sk-test-master"}}).status, 400);
  auto m = settled_scrape(gw);
  EXPECT_EQ(m.get("tollgate_requests_total", {{"model", "other"}, {"provider", "none"}, {"status", "401"}}), 1)
      << m.text;
  EXPECT_EQ(m.get("tollgate_requests_total", {{"model", "other"}, {"provider", "none"}, {"status", "400"}}), 1);
  // The request log has them too, with the error body's code; so has an unknown model's 404.
  EXPECT_EQ(gw.post("/v1/chat/completions", chat("no-such-model", "x")).status, 404);
  json rows;
  ASSERT_TRUE(eventually([&] {
    rows = gw.get("/admin/logs", "sk-test-master").json_body()["data"];
    return rows.size() == 3;
  })) << rows.dump();
  std::map<int, json> by_status;  // (rows are in the order requests finished)
  for (const auto& row : rows) by_status[row["status"].get<int>()] = row;
  EXPECT_EQ(by_status[404]["error_code"], "model_not_found");
  EXPECT_EQ(by_status[404]["model"], "no-such-model");
  EXPECT_EQ(by_status[400]["error_code"], "invalid_request_error");
  EXPECT_EQ(by_status[401]["error_code"], "invalid_api_key");
}

// tollgate_dropped_params_total{param} never carries a client-chosen name (the Mistral
// embeddings quirk drops unknown top-level keys by name): unknown names count as "other".
TEST(Metrics, DroppedParamLabelsStayBounded) {
  Mock mock;
  Gateway gw(failover_config(mock, free_port(),
                             "  mistral:\n    type: mistral\n    base_url: " + mock.base_url() +
                                 "\n    api_key: k3\n"));
  std::set<std::string> sent;
  for (int i = 0; i < 5; ++i) {
    std::string key = "x_" + random_token();
    sent.insert(key);
    json body = {{"model", "mistral/mistral-embed"}, {"input", "hello"}, {key, 1}};
    auto r = gw.post("/v1/embeddings", body);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  auto m = settled_scrape(gw);
  ASSERT_GT(m.sum("tollgate_dropped_params_total", {{"provider", "mistral"}}), 0) << m.text;
  for (const auto& v : m.label_values("param")) {
    EXPECT_EQ(sent.count(v), 0u) << "param label carries the client-chosen name " << v;
  }
}

TEST(Metrics, EndpointNeedsNoKeyByDefault) {
  Mock mock;
  Gateway gw(mock_config(mock));  // master key set, no metrics_key
  EXPECT_EQ(gw.get("/metrics", "").status, 200);
  EXPECT_EQ(gw.get("/metrics", "sk-anything").status, 200);
  auto r = gw.get("/metrics", "");
  EXPECT_NE(r.header("content-type").find("text/plain"), std::string::npos);
  EXPECT_NO_THROW(parse_metrics(r.body));
}

TEST(Metrics, MetricsKeyIsRequiredWhenSet) {
  Mock mock;
  std::string config = mock_config(mock);
  config.insert(config.find("  master_key:"), "  metrics_key: sk-scrape-secret\n");
  Gateway keyed(config);
  auto none = keyed.get("/metrics", "");
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(none.json_body()["error"]["type"].is_string(), true) << none.body;
  EXPECT_EQ(keyed.get("/metrics", "sk-wrong").status, 401);
  // The metrics key is its own key: the master key does not open /metrics.
  EXPECT_EQ(keyed.get("/metrics", "sk-test-master").status, 401);
  auto ok = keyed.get("/metrics", "sk-scrape-secret");
  ASSERT_EQ(ok.status, 200);
  EXPECT_NO_THROW(parse_metrics(ok.body));
  EXPECT_EQ(http(keyed.port(), "GET", "/metrics", "", {{"x-api-key", "sk-scrape-secret"}}).status, 200);
  // The metrics key is not an API key.
  EXPECT_EQ(keyed.post("/v1/chat/completions", chat("gpt-test", "x"), "sk-scrape-secret").status, 401);
}

// Anthropic prompt caching: the first request writes the marked prefix to the provider's cache
// (kind="cache_write"), the second reads it (kind="cached"); the request log has both columns.
TEST(Metrics, PromptCacheWritesAndReadsAreCountedAndLogged) {
  Mock mock;
  std::string config = mock_config(mock);
  config.replace(config.find("providers:\n"), 11,
                 "providers:\n  claude:\n    type: anthropic\n    base_url: http://127.0.0.1:" +
                     std::to_string(mock.port()) + "\n    api_key: k\n");
  Gateway gw(config);
  json body = {{"model", "claude/claude-sonnet-4-5"},
               {"max_tokens", 50},
               {"messages",
                {{{"role", "user"},
                  {"content",
                   {{{"type", "text"},
                     {"text", "a long shared preamble of exactly nine words here " + random_token()},
                     {"cache_control", {{"type", "ephemeral"}}}},
                    {{"type", "text"}, {"text", "and a question"}}}}}}}};
  auto first = gw.post("/v1/chat/completions", body);
  ASSERT_EQ(first.status, 200) << first.body;
  auto second = gw.post("/v1/chat/completions", body);
  ASSERT_EQ(second.status, 200) << second.body;
  // OpenAI's shape: cached tokens within prompt_tokens.
  EXPECT_EQ(second.json_body()["usage"]["prompt_tokens_details"]["cached_tokens"], 10)
      << second.body;
  auto m = settled_scrape(gw);
  EXPECT_EQ(m.sum("tollgate_tokens_total", {{"provider", "claude"}, {"kind", "cache_write"}}), 10)
      << m.text;
  EXPECT_EQ(m.sum("tollgate_tokens_total", {{"provider", "claude"}, {"kind", "cached"}}), 10);
  std::vector<json> rows;
  ASSERT_TRUE(eventually([&] {
    auto r = gw.get("/admin/logs?model=claude%2Fclaude-sonnet-4-5", "sk-test-master");
    rows = r.json_body()["data"].get<std::vector<json>>();
    return rows.size() == 2;
  }));
  // One row wrote the prefix to the cache, the other read it (rows are in the order requests
  // finished, which need not be the order they were sent).
  int writes = 0, reads = 0;
  for (const auto& row : rows) {
    writes += row["tokens"]["cache_write"] == 10 && row["tokens"]["cached"] == 0;
    reads += row["tokens"]["cached"] == 10 && row["tokens"]["cache_write"] == 0;
  }
  EXPECT_EQ(writes, 1) << json(rows).dump();
  EXPECT_EQ(reads, 1);
}

// server.admin_listen splits /metrics and /admin/* off the API port: each port answers only its
// own paths (404 for the others), /health on both.
TEST(Metrics, AdminListenServesMetricsAndAdminOnItsOwnPortOnly) {
  Mock mock;
  uint16_t admin = free_port();
  std::string config = mock_config(mock);
  config.insert(config.find("  master_key:"),
                "  admin_listen: 127.0.0.1:" + std::to_string(admin) + "\n");
  Gateway gw(config);
  const Headers master = {{"Authorization", "Bearer sk-test-master"}};
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "api on the main port")).status, 200);
  EXPECT_EQ(gw.get("/metrics", "").status, 404);
  EXPECT_EQ(http(gw.port(), "GET", "/admin/keys", "", master).status, 404);
  EXPECT_EQ(gw.get("/health", "").status, 200);

  auto m = http(admin, "GET", "/metrics", "", {});
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_TRUE(eventually([&] {
    return parse_metrics(http(admin, "GET", "/metrics", "", {}).body)
               .get("tollgate_requests_total",
                    {{"model", "gpt-test"}, {"provider", "mock"}, {"status", "200"}}) == 1;
  }));
  EXPECT_EQ(http(admin, "GET", "/admin/keys", "", master).status, 200);
  EXPECT_EQ(http(admin, "GET", "/admin/keys", "", {}).status, 401);
  EXPECT_EQ(http(admin, "GET", "/health", "", {}).status, 200);
  auto api = http(admin, "POST", "/v1/chat/completions", chat("gpt-test", "not here").dump(), master);
  EXPECT_EQ(api.status, 404) << api.body;
  EXPECT_EQ(mock.requests().size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// docs/grafana-dashboard.json cannot rot: every metric its PromQL uses must be exported.

void collect_exprs(const json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if ((it.key() == "expr" || it.key() == "query") && it->is_string()) out.push_back(*it);
      else if (it.key() == "query" && it->is_object() && it->contains("query") &&
               (*it)["query"].is_string()) {
        out.push_back((*it)["query"]);
      } else {
        collect_exprs(*it, out);
      }
    }
  } else if (j.is_array()) {
    for (const auto& e : j) collect_exprs(e, out);
  }
}

void collect_panels(const json& panels, std::vector<json>& out) {
  for (const auto& p : panels) {
    out.push_back(p);
    if (p.contains("panels")) collect_panels(p["panels"], out);
  }
}

TEST(Metrics, GrafanaDashboardUsesOnlyExportedMetrics) {
  std::ifstream in(std::string(TG_SOURCE_DIR) + "/docs/grafana-dashboard.json");
  ASSERT_TRUE(in) << "docs/grafana-dashboard.json missing";
  std::stringstream ss;
  ss << in.rdbuf();
  json dash = json::parse(ss.str(), nullptr, false);
  ASSERT_FALSE(dash.is_discarded()) << "docs/grafana-dashboard.json is not valid JSON";
  ASSERT_TRUE(dash.is_object());
  EXPECT_GE(dash.value("schemaVersion", 0), 36);
  EXPECT_FALSE(dash.value("title", "").empty());
  EXPECT_FALSE(dash.value("uid", "").empty());
  // A $datasource variable of type datasource (Prometheus), used by every panel.
  bool has_ds = false;
  for (const auto& v : dash["templating"]["list"]) {
    if (v["name"] == "datasource" && v["type"] == "datasource" && v["query"] == "prometheus") {
      has_ds = true;
    }
  }
  EXPECT_TRUE(has_ds) << "no $datasource variable";
  std::vector<json> panels;
  collect_panels(dash["panels"], panels);
  ASSERT_GE(panels.size(), 10u);
  std::set<int> ids;
  for (const auto& p : panels) {
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << "duplicate panel id " << p["id"];
    ASSERT_TRUE(p.contains("gridPos")) << p.dump();
    if (p["type"] == "row") continue;
    EXPECT_EQ(p["datasource"]["uid"], "${datasource}") << p["title"];
    ASSERT_TRUE(p.contains("targets")) << p["title"];
    for (const auto& t : p["targets"]) {
      EXPECT_EQ(t["datasource"]["uid"], "${datasource}") << p["title"];
      EXPECT_FALSE(t.value("expr", "").empty()) << p["title"];
    }
  }
  std::vector<std::string> exprs;
  collect_exprs(dash, exprs);
  ASSERT_FALSE(exprs.empty());

  // Traffic that makes every family show samples (a family without samples is not exported):
  // successes, a stream, a 404, a failover, and a parameter the groq preset drops.
  Mock mock;
  Gateway gw(failover_config(mock, free_port(),
                             "  groq:\n    type: groq\n    base_url: " + mock.base_url() +
                                 "\n    api_key: k3\n"));
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("chain", "fail over")).status, 200);
  json dropped = chat("groq/llama-3.3-70b-versatile", "drop logit_bias");
  dropped["logit_bias"] = {{"1234", 5}};
  auto dr = gw.post("/v1/chat/completions", dropped);
  ASSERT_EQ(dr.status, 200) << dr.body;
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("chain", "stream", true)).status, 200);
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("nope", "404")).status, 404);
  auto names = settled_scrape(gw).names();  // each request is counted just after its answer

  std::regex metric_re("tollgate_[a-zA-Z0-9_:]+");
  std::set<std::string> used;
  for (const auto& e : exprs) {
    for (std::sregex_iterator it(e.begin(), e.end(), metric_re), end; it != end; ++it) {
      used.insert(it->str());
    }
  }
  EXPECT_GE(used.size(), 8u);
  for (const auto& name : used) {
    EXPECT_TRUE(names.count(name)) << "the dashboard uses " << name
                                   << ", which /metrics does not export";
  }
  // The dashboard covers what its documentation promises.
  for (const char* must : {"tollgate_requests_total", "tollgate_request_duration_seconds_bucket",
                           "tollgate_overhead_duration_seconds_bucket",
                           "tollgate_time_to_first_token_seconds_bucket", "tollgate_tokens_total",
                           "tollgate_failovers_total", "tollgate_deployment_up",
                           "tollgate_in_flight_requests"}) {
    EXPECT_TRUE(used.count(must)) << "the dashboard has no panel on " << must;
  }
}

// ---------------------------------------------------------------------------------------------
// Cost metrics: tollgate_cost_usd_total{model,provider,team},
// tollgate_cost_unknown_requests_total{model,provider} and tollgate_key_budget_remaining_usd
// {key_name} (interface.md "Metrics").

std::string priced_config(const Mock& mock) {
  return mock_config(mock) +
         "pricing:\n  mock/gpt-4o-mini: {input: 1.0, output: 2.0}\n"  // USD per 1M tokens
         "teams:\n  - {name: blue, budget: {usd: 10, period: monthly}}\n"
         "keys:\n"
         "  - {name: app-one, key: sk-app-one-0123456789, team: blue,"
         " budget: {usd: 1, period: monthly}}\n";
}

TEST(Metrics, CostUsdTotalIsTheSumOfPricedUsage) {
  Mock mock;
  Gateway gw(priced_config(mock));
  double expected = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = gw.post("/v1/chat/completions", chat("gpt-test", "what does this cost", i == 4),
                     "sk-app-one-0123456789");
    ASSERT_EQ(r.status, 200) << r.body;
    auto [in, out] = usage_of(r);
    expected += (in * 1.0 + out * 2.0) / 1e6;
  }
  auto m = settled_scrape(gw);
  EXPECT_EQ(m.types["tollgate_cost_usd_total"], "counter") << m.text;
  EXPECT_NEAR(m.sum("tollgate_cost_usd_total", {{"model", "gpt-test"}, {"provider", "mock"}, {"team", "blue"}}),
              expected, 1e-9);
  EXPECT_NEAR(m.sum("tollgate_cost_usd_total"), expected, 1e-9);
  // A model without a price: its cost is unknown, counted as such, never as 0 USD. (A key
  // with a budget is refused such a model: the master key has none.)
  auto u = gw.post("/v1/chat/completions", chat("mock/unpriced-model", "no price"));
  ASSERT_EQ(u.status, 200) << u.body;
  auto m2 = settled_scrape(gw);  // the unpriced request is counted just after its answer
  EXPECT_EQ(m2.get("tollgate_cost_unknown_requests_total", {{"model", "other"}, {"provider", "mock"}}), 1)
      << m2.text;
  EXPECT_NEAR(m2.sum("tollgate_cost_usd_total"), expected, 1e-9);
}

TEST(Metrics, CostKeyBudgetRemainingFollowsSpend) {
  Mock mock;
  Gateway gw(priced_config(mock));
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "spend a little"), "sk-app-one-0123456789");
  ASSERT_EQ(r.status, 200) << r.body;
  auto [in, out] = usage_of(r);
  double cost = (in * 1.0 + out * 2.0) / 1e6;
  auto after = settled_scrape(gw);
  EXPECT_EQ(after.types["tollgate_key_budget_remaining_usd"], "gauge") << after.text;
  EXPECT_NEAR(after.sum("tollgate_key_budget_remaining_usd", {{"key_name", "app-one"}}), 1.0 - cost, 1e-9);
  // Never the raw key in a label.
  EXPECT_EQ(after.text.find("sk-app-one-0123456789"), std::string::npos);
}

// A key's remaining budget is there from the start (an alert on it needs no traffic first).
TEST(Metrics, CostKeyBudgetRemainingIsExportedBeforeAnyRequest) {
  Mock mock;
  Gateway gw(priced_config(mock));
  auto before = scrape(gw);
  EXPECT_EQ(before.types["tollgate_key_budget_remaining_usd"], "gauge") << before.text;
  EXPECT_EQ(before.get("tollgate_key_budget_remaining_usd", {{"key_name", "app-one"}}), 1.0);
}

// The gauge is read from the ledger at each scrape: a key the admin API creates shows its full
// budget, its spend since, and its series goes once the key is deleted.
TEST(Metrics, CostKeyBudgetRemainingFollowsTheAdminApi) {
  Mock mock;
  Gateway gw(priced_config(mock));
  auto created = gw.post("/admin/keys", {{"name", "app-two"}, {"budget", {{"usd", 2}, {"period", "monthly"}}}},
                         "sk-test-master");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string key = created.json_body()["key"], id = created.json_body()["id"];
  EXPECT_EQ(scrape(gw).get("tollgate_key_budget_remaining_usd", {{"key_name", "app-two"}}), 2.0);
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "spend a little"), key);
  ASSERT_EQ(r.status, 200) << r.body;
  auto [in, out] = usage_of(r);
  const double cost = (in * 1.0 + out * 2.0) / 1e6;
  ASSERT_GT(cost, 0);
  auto spent = settled_scrape(gw);
  EXPECT_NEAR(spent.sum("tollgate_key_budget_remaining_usd", {{"key_name", "app-two"}}), 2.0 - cost, 1e-9)
      << spent.text;
  auto del = http(gw.port(), "DELETE", "/admin/keys/" + id, "", {{"Authorization", "Bearer sk-test-master"}});
  ASSERT_EQ(del.status, 200) << del.body;
  auto gone = scrape(gw);
  EXPECT_FALSE(gone.get("tollgate_key_budget_remaining_usd", {{"key_name", "app-two"}})) << gone.text;
  EXPECT_TRUE(gone.get("tollgate_key_budget_remaining_usd", {{"key_name", "app-one"}}));
}

}  // namespace
}  // namespace tg::it
