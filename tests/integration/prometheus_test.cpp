// /metrics against the real Prometheus tools: `promtool check metrics` accepts the output, and a
// real Prometheus server scrapes the gateway and answers PromQL with the traffic sent.
// Both tools come from Debian's `prometheus` package (scripts/install-deps.sh installs it); when
// they are missing these tests fail, they do not skip.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

// The absolute path of `name` on $PATH (and the usual Debian places), or "".
std::string find_tool(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/bin:/usr/local/bin:/usr/sbin";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string require_tool(const std::string& name) {
  std::string p = find_tool(name);
  if (p.empty()) {
    ADD_FAILURE() << name
                  << " is not installed: run scripts/install-deps.sh (it installs Debian's "
                     "`prometheus` package, which gives prometheus and promtool; CI installs it)";
  }
  return p;
}

// Runs a shell command line; returns its exit code and its stdout+stderr.
std::pair<int, std::string> run(const std::string& cmdline) {
  std::string out;
  FILE* f = ::popen((cmdline + " 2>&1").c_str(), "r");
  if (!f) return {-1, "popen failed"};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int st = ::pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A gateway with a dead first target, so the failover and retry families have samples too.
std::string config_for(const Mock& mock, const std::string& server_extra = "") {
  return "server:\n  master_key: sk-test-master\n  workers: 2\n" + server_extra +
         "providers:\n"
         "  mock:\n    type: openai-compatible\n    base_url: " + mock.base_url() + "\n"
         "    api_key: k1\n"
         "  dead:\n    type: openai-compatible\n    base_url: http://127.0.0.1:" +
         std::to_string(free_port()) + "/v1\n    api_key: k2\n"
         "models:\n"
         "  - name: gpt-test\n    targets: [mock/gpt-4o-mini]\n"
         "  - name: chain\n    targets: [dead/gpt-4o-mini, mock/gpt-4o-mini]\n"
         "router:\n  retries: 0\n  allowed_fails: 1000\n";
}

TEST(Prometheus, PromtoolAcceptsTheMetricsOutput) {
  std::string promtool = require_tool("promtool");
  if (promtool.empty()) return;
  Mock mock;
  Gateway gw(config_for(mock));
  // Every family with samples: successes (plain and streamed), a 404, a failover, a 502.
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "plain")).status, 200);
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "streamed", true)).status, 200);
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("nope", "unknown")).status, 404);
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("chain", "fail over")).status, 200);
  auto m = gw.get("/metrics", "");
  ASSERT_EQ(m.status, 200);
  ASSERT_NE(m.body.find("tollgate_failovers_total{"), std::string::npos) << m.body;

  std::string file = temp_dir() + "/metrics.txt";
  {
    std::ofstream out(file, std::ios::binary);
    out << m.body;
  }
  // promtool reads the exposition on stdin.
  auto [code, output] = run("'" + promtool + "' check metrics < '" + file + "'");
  EXPECT_EQ(code, 0) << "promtool check metrics complained:\n" << output << "\n--- /metrics ---\n"
                     << m.body;
  std::printf("promtool check metrics: exit %d%s%s\n", code, output.empty() ? "" : ", ",
              output.c_str());
}

TEST(Prometheus, RealServerScrapesTheGatewayAndAnswersPromQL) {
  std::string prometheus = require_tool("prometheus");
  if (prometheus.empty()) return;
  Mock mock;
  // Scraped with server.metrics_key, as in the commented variant of docs/prometheus.yml.
  Gateway gw(config_for(mock, "  metrics_key: sk-scrape-secret\n"));
  ASSERT_EQ(gw.get("/metrics", "").status, 401);

  std::string dir = temp_dir();
  uint16_t prom_port = free_port();
  {
    std::ofstream out(dir + "/prometheus.yml");
    out << "global:\n"
           "  scrape_interval: 1s\n"
           "  evaluation_interval: 1s\n"
           "scrape_configs:\n"
           "  - job_name: tollgate\n"
           "    metrics_path: /metrics\n"
           "    authorization:\n"
           "      credentials: sk-scrape-secret\n"
           "    static_configs:\n"
           "      - targets: [\"127.0.0.1:" << gw.port() << "\"]\n";
  }
  Process prom;
  prom.start({prometheus, "--config.file=" + dir + "/prometheus.yml",
              "--storage.tsdb.path=" + dir + "/data",
              "--web.listen-address=127.0.0.1:" + std::to_string(prom_port),
              "--log.level=warn"});
  ASSERT_TRUE(eventually(
      [&] {
        if (!prom.running()) return false;
        return http(prom_port, "GET", "/-/ready", "", {}, std::chrono::milliseconds(500)).status == 200;
      },
      std::chrono::seconds(10)))
      << "prometheus did not become ready:\n" << prom.output();

  const int kPlain = 5, kStreamed = 2;
  for (int i = 0; i < kPlain + kStreamed; ++i) {
    ASSERT_EQ(gw.post("/v1/chat/completions", chat("gpt-test", "scrape me", i >= kPlain)).status, 200);
  }
  ASSERT_EQ(gw.post("/v1/chat/completions", chat("chain", "fail over")).status, 200);

  auto query = [&](const std::string& promql) -> json {
    auto r = http(prom_port, "GET", "/api/v1/query?query=" + url_encode(promql), "", {},
                  std::chrono::seconds(2));
    auto j = r.json_body();
    if (r.status != 200 || !j.is_object() || j["status"] != "success") return json();
    return j["data"]["result"];
  };
  auto scalar = [&](const std::string& promql) -> std::optional<double> {
    json result = query(promql);
    if (!result.is_array() || result.empty()) return std::nullopt;
    return std::stod(result[0]["value"][1].get<std::string>());
  };

  const std::string promql = R"(sum(tollgate_requests_total{model="gpt-test"}))";
  std::optional<double> seen;
  bool reached = eventually(
      [&] {
        seen = scalar(promql);
        return seen && *seen == kPlain + kStreamed;
      },
      std::chrono::seconds(12));
  ASSERT_TRUE(reached) << promql << " = " << (seen ? std::to_string(*seen) : "no result")
                       << ", want " << kPlain + kStreamed << "\nprometheus output:\n"
                       << prom.output();
  std::printf("Prometheus: %s = %g\n", promql.c_str(), *seen);

  EXPECT_EQ(scalar(R"(up{job="tollgate"})"), 1.0);
  EXPECT_EQ(scalar(R"(sum(tollgate_failovers_total))"), 1.0);
  EXPECT_EQ(scalar(R"(sum(tollgate_time_to_first_token_seconds_count))"), kStreamed);
  // A histogram quantile over the scraped buckets is a number (PromQL on real data works).
  auto p99 = scalar("histogram_quantile(0.99, sum by (le) (tollgate_request_duration_seconds_bucket))");
  ASSERT_TRUE(p99.has_value());
  EXPECT_GT(*p99, 0);
  EXPECT_LT(*p99, 600);

  // Every PromQL expression of docs/grafana-dashboard.json parses and runs on real data (with
  // the dashboard's variables as Grafana would fill them for "All").
  std::ifstream in(std::string(TG_SOURCE_DIR) + "/docs/grafana-dashboard.json");
  std::stringstream ss;
  ss << in.rdbuf();
  json dash = json::parse(ss.str(), nullptr, false);
  ASSERT_TRUE(dash.is_object()) << "docs/grafana-dashboard.json is not valid JSON";
  std::vector<std::string> exprs;
  std::function<void(const json&)> walk = [&](const json& j) {
    if (j.is_object()) {
      if (j.contains("expr") && j["expr"].is_string()) exprs.push_back(j["expr"]);
      for (const auto& [k, v] : j.items()) walk(v);
    } else if (j.is_array()) {
      for (const auto& v : j) walk(v);
    }
  };
  walk(dash["panels"]);
  ASSERT_GE(exprs.size(), 10u);
  auto fill = [](std::string e) {
    for (auto [var, value] : {std::pair<std::string, std::string>{"$__rate_interval", "1m"},
                              {"$job", ".*"}, {"$model", ".*"}, {"$provider", ".*"}}) {
      for (size_t p; (p = e.find(var)) != std::string::npos;) e.replace(p, var.size(), value);
    }
    return e;
  };
  for (const auto& e : exprs) {
    auto r = http(prom_port, "GET", "/api/v1/query?query=" + url_encode(fill(e)), "", {},
                  std::chrono::seconds(2));
    EXPECT_EQ(r.status, 200) << fill(e) << "\n" << r.body;
    EXPECT_EQ(r.json_body()["status"], "success") << fill(e) << "\n" << r.body;
  }

  prom.signal(SIGTERM);
  EXPECT_EQ(prom.wait(std::chrono::seconds(10)), 0) << prom.output();
}

}  // namespace
}  // namespace tg::it
