// Starting the daemon: zero-config from the environment, and --check-config on a broken file.

#include <fstream>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

TEST(Startup, ZeroConfigWithOnlyAnOpenAiKeyServesOpenAiSlashModel) {
  Mock mock({"--api-key", "sk-upstream-openai"});
  std::string dir = temp_dir();
  Process gw;
  gw.start({TG_TOLLGATE_BIN, "--listen", "127.0.0.1:0", "--port-file", dir + "/port"},
           {{"OPENAI_API_KEY", "sk-upstream-openai"}, {"OPENAI_BASE_URL", mock.base_url()}});
  uint16_t port = 0;
  ASSERT_TRUE(eventually([&] {
    std::ifstream in(dir + "/port");
    int p = 0;
    if (in >> p) port = static_cast<uint16_t>(p);
    return port != 0;
  })) << gw.output();
  auto r = http(port, "POST", "/v1/chat/completions",
                R"({"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"zero config"}]})");
  ASSERT_EQ(r.status, 200) << r.body << gw.output();
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], "mock: zero config");
  EXPECT_EQ(r.header("x-tollgate-provider"), "openai");
  // The provider key never shows in the daemon's output.
  EXPECT_EQ(gw.output().find("sk-upstream-openai"), std::string::npos);
  // No master key configured: a warning says the gateway is open.
  EXPECT_NE(gw.output().find("master_key"), std::string::npos);
}

TEST(Startup, CheckConfigReportsEveryErrorWithPathAndLine) {
  std::string path = temp_dir() + "/broken.yaml";
  {
    std::ofstream out(path);
    out << "server:\n"
           "  workrs: 2\n"
           "  listen: 0.0.0.0:99999\n"
           "providers:\n"
           "  openai:\n"
           "    type: opnai\n"
           "models:\n"
           "  - name: x\n"
           "    targets: [nothere/gpt-4o]\n";
  }
  Process p;
  p.start({TG_TOLLGATE_BIN, "--check-config", path});
  EXPECT_EQ(p.wait(), 1);
  std::string out = p.output();
  EXPECT_NE(out.find("line 2: server.workrs"), std::string::npos) << out;
  EXPECT_NE(out.find("did you mean 'workers'"), std::string::npos) << out;
  EXPECT_NE(out.find("line 3: server.listen"), std::string::npos) << out;
  EXPECT_NE(out.find("line 6: providers.openai.type"), std::string::npos) << out;
  EXPECT_NE(out.find("nothere"), std::string::npos) << out;

  std::string good = temp_dir() + "/good.yaml";
  {
    std::ofstream out(good);
    out << "server:\n  workers: 2\n";
  }
  Process ok;
  ok.start({TG_TOLLGATE_BIN, "--check-config", good});
  EXPECT_EQ(ok.wait(), 0) << ok.output();
}

TEST(Startup, ShippedConfigsStartAndServeTheMock) {
  Mock mock;
  std::string dir = temp_dir();
  Process gw;
  gw.start({TG_TOLLGATE_BIN, "--config", std::string(TG_SOURCE_DIR) + "/config/config.yaml",
            "--listen", "127.0.0.1:0", "--port-file", dir + "/port"},
           {{"TOLLGATE_MOCK_URL", mock.base_url()}, {"TOLLGATE_MASTER_KEY", "sk-readme"}});
  uint16_t port = 0;
  ASSERT_TRUE(eventually([&] {
    std::ifstream in(dir + "/port");
    int p = 0;
    if (in >> p) port = static_cast<uint16_t>(p);
    return port != 0;
  })) << gw.output();
  auto r = http(port, "POST", "/v1/chat/completions",
                R"({"model":"mock-gpt","messages":[{"role":"user","content":"readme demo"}]})",
                {{"Authorization", "Bearer sk-readme"}});
  ASSERT_EQ(r.status, 200) << r.body << gw.output();
  EXPECT_EQ(r.json_body()["choices"][0]["message"]["content"], "mock: readme demo");
}

}  // namespace
}  // namespace tg::it
