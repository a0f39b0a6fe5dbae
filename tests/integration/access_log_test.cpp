// The access log's text line: one line per request, its fields in order, client-chosen strings
// escaped, the timestamp to the millisecond (the line is assembled by hand in a per-thread buffer,
// with the date formatted once per second: this pins its shape).

#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace tg::it {
namespace {

std::string line_with(const std::string& output, const std::string& needle) {
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return "";
}

TEST(AccessLog, OneTextLinePerRequestWithEveryField) {
  Mock mock;
  Gateway gw(mock_config(mock));
  auto ok = gw.post("/v1/chat/completions", chat("gpt-test", "hello"), "sk-test-master",
                    {{"x-request-id", "access-ok-1"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto missing = gw.post("/v1/chat/completions", chat("no-such-model", "hello"), "sk-test-master",
                         {{"x-request-id", "access-404-1"}});
  ASSERT_EQ(missing.status, 404) << missing.body;

  std::string first, second;
  ASSERT_TRUE(eventually([&] {
    auto out = gw.process().output();
    first = line_with(out, "id=access-ok-1 ");
    second = line_with(out, "id=access-404-1 ");
    return !first.empty() && !second.empty();
  })) << gw.process().output();

  const std::string ts = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z access )";
  EXPECT_TRUE(std::regex_match(
      first, std::regex(ts + R"(id=access-ok-1 POST /chat/completions status=200 dur_ms=\d+\.\d{3} )"
                             R"(model=gpt-test provider=mock upstream_model=gpt-4o-mini attempts=1 )"
                             R"(stream=false ttft_ms=- tokens_in=[1-9]\d* tokens_out=[1-9]\d*)")))
      << first;
  EXPECT_TRUE(std::regex_match(
      second, std::regex(ts + R"(id=access-404-1 POST /chat/completions status=404 dur_ms=\d+\.\d{3} )"
                              R"(model=no-such-model provider=- upstream_model=- attempts=0 stream=false )"
                              R"(ttft_ms=- tokens_in=0 tokens_out=0 error=model_not_found)")))
      << second;
}

TEST(AccessLog, StreamedRequestHasItsTimeToFirstToken) {
  Mock mock;
  Gateway gw(mock_config(mock));
  auto r = gw.post("/v1/chat/completions", chat("gpt-test", "hello", true), "sk-test-master",
                   {{"x-request-id", "access-stream-1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::string line;
  ASSERT_TRUE(eventually([&] {
    line = line_with(gw.process().output(), "id=access-stream-1 ");
    return !line.empty();
  })) << gw.process().output();
  EXPECT_TRUE(std::regex_search(line, std::regex(R"( stream=true ttft_ms=\d+\.\d{3} )"))) << line;
}

}  // namespace
}  // namespace tg::it
