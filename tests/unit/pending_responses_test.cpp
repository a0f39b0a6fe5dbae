// The stores' read-your-writes map for stored Responses not yet committed.

#include <gtest/gtest.h>

#include "tollgate/store/pending_responses.hpp"

namespace tg::store {
namespace {

ResponseRow row(std::string id, std::string scope, std::string response) {
  ResponseRow r;
  r.id = std::move(id);
  r.scope = std::move(scope);
  r.response = std::move(response);
  return r;
}

TEST(PendingResponses, ReadableInItsScopeOnlyUntilCommitted) {
  PendingResponses p;
  auto saved = p.add(row("resp_1", "key:a", "{\"v\":1}"));
  auto mine = p.find("resp_1", "key:a");
  ASSERT_TRUE(mine.pending);
  ASSERT_TRUE(mine.row);
  EXPECT_EQ(mine.row->response, "{\"v\":1}");
  auto theirs = p.find("resp_1", "key:b");  // pending, but not the caller's: not found either
  EXPECT_TRUE(theirs.pending);
  EXPECT_FALSE(theirs.row);
  EXPECT_FALSE(p.find("resp_2", "key:a").pending);
  p.committed({saved});
  EXPECT_FALSE(p.find("resp_1", "key:a").pending);  // the database answers now
}

TEST(PendingResponses, ANewerSaveOfTheSameIdOutlivesTheOlderCommit) {
  PendingResponses p;
  auto older = p.add(row("resp_1", "key:a", "old"));
  p.add(row("resp_1", "key:a", "new"));
  p.committed({older});
  auto found = p.find("resp_1", "key:a");
  ASSERT_TRUE(found.pending);
  EXPECT_EQ(found.row->response, "new");
}

TEST(PendingResponses, DropOnlyInTheSameScope) {
  PendingResponses p;
  p.add(row("resp_1", "key:a", "{}"));
  EXPECT_FALSE(p.drop("resp_1", "key:b"));
  EXPECT_TRUE(p.find("resp_1", "key:a").pending);
  EXPECT_TRUE(p.drop("resp_1", "key:a"));
  EXPECT_FALSE(p.find("resp_1", "key:a").pending);
  EXPECT_FALSE(p.drop("resp_1", "key:a"));
}

}  // namespace
}  // namespace tg::store
