#include "tollgate/core/text.hpp"

#include <gtest/gtest.h>

#include <random>

namespace tg {
namespace {

// find_text (memmem) must answer exactly as std::string_view::find, whose place it takes on the
// streaming path: every start position, needles at the edges, absent, longer than the rest.
TEST(FindText, AgreesWithStringViewFind) {
  const std::string hay = R"({"id":"c1","choices":[{"delta":{"content":"\"usage\""}}],"usage":null})";
  for (std::string_view needle : {"\"usage\"", "\"usage\":null", "{", "}", "\"id\"", "nope", "",
                                  "\"tool_calls\""}) {
    for (size_t from = 0; from <= hay.size() + 1; ++from) {
      EXPECT_EQ(find_text(hay, needle, from), std::string_view(hay).find(needle, from))
          << needle << " from " << from;
    }
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> letter('a', 'c');
  for (int round = 0; round < 2000; ++round) {
    std::string h(rng() % 40, 'a'), n(1 + rng() % 4, 'a');
    for (auto& c : h) c = static_cast<char>(letter(rng));
    for (auto& c : n) c = static_cast<char>(letter(rng));
    const size_t from = rng() % (h.size() + 2);
    ASSERT_EQ(find_text(h, n, from), std::string_view(h).find(n, from)) << h << " / " << n;
  }
}

}  // namespace
}  // namespace tg
