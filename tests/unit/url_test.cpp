#include "tollgate/core/url.hpp"

#include "tollgate/core/text.hpp"

#include <gtest/gtest.h>

namespace tg {
namespace {

TEST(ParseUrl, SchemesPortsAndPaths) {
  auto u = parse_url("https://api.openai.com/v1/");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "api.openai.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/v1");
  auto l = parse_url("http://192.168.1.20:11434/v1");
  ASSERT_TRUE(l);
  EXPECT_FALSE(l->tls);
  EXPECT_EQ(l->port, 11434);
  EXPECT_EQ(l->authority(), "192.168.1.20:11434");
  auto v6 = parse_url("http://[::1]:8000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->path, "");
  EXPECT_EQ(v6->authority(), "[::1]:8000");
  EXPECT_FALSE(parse_url("ftp://x"));
  EXPECT_FALSE(parse_url("http://:80"));
  EXPECT_FALSE(parse_url("http://host:99999"));
  EXPECT_FALSE(parse_url("http://host:12ab"));
}

TEST(ProxySettings, NoProxyRules) {
  auto s = make_proxy_settings("http://proxy.lan:3128", "", "localhost, .internal,10.0.0.5,example.com:443");
  auto via = [&](const char* url) { return s.proxy_for(*parse_url(url)) != nullptr; };
  EXPECT_TRUE(via("https://api.openai.com/v1"));
  EXPECT_FALSE(via("https://localhost:8443"));
  EXPECT_FALSE(via("https://svc.internal"));
  EXPECT_FALSE(via("https://10.0.0.5"));
  EXPECT_FALSE(via("https://api.example.com"));
  EXPECT_TRUE(via("https://notexample.com"));
  EXPECT_FALSE(via("http://api.openai.com"));  // no HTTP_PROXY set
  auto all = make_proxy_settings("proxy:3128", "", "*");
  EXPECT_EQ(all.proxy_for(*parse_url("https://x.com")), nullptr);
  ASSERT_TRUE(all.https_proxy);
  EXPECT_EQ(all.https_proxy->port, 3128);
}

}  // namespace
}  // namespace tg

namespace tg {
namespace {

TEST(QueryParam, DecodesPercentEscapesAndPlus) {
  EXPECT_EQ(percent_decode("a%20b+c%2Fd"), "a b c/d");
  EXPECT_EQ(percent_decode("%e2%82%AC"), "\xe2\x82\xac");
  // A malformed escape stays as it is rather than eating the following bytes.
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
}

TEST(QueryParam, FindsTheNamedParameterOnly) {
  std::string_view q = "model=openai%2Fgpt-4o&xmodel=no&team=a+b&empty=&flag";
  EXPECT_EQ(query_param(q, "model"), "openai/gpt-4o");
  EXPECT_EQ(query_param(q, "team"), "a b");
  EXPECT_EQ(query_param(q, "empty"), "");
  EXPECT_EQ(query_param(q, "flag"), "");
  EXPECT_EQ(query_param(q, "odel"), std::nullopt);
  EXPECT_EQ(query_param(q, "missing"), std::nullopt);
  EXPECT_EQ(query_param("", "model"), std::nullopt);
  // The name is decoded too (a client may escape it).
  EXPECT_EQ(query_param("key%5Fid=k1", "key_id"), "k1");
}

}  // namespace
}  // namespace tg

namespace tg {
namespace {

TEST(SplitList, TrimsItemsAndLeavesOutEmptyOnes) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(split_list(" a, b\t,,c "), (V{"a", "b", "c"}));
  EXPECT_EQ(split_list(""), V{});
  EXPECT_EQ(split_list(" , "), V{});
  EXPECT_EQ(split_list("x&y", '&'), (V{"x", "y"}));
}

}  // namespace
}  // namespace tg
