#pragma once
// Shared by the Responses translator tests: golden fixtures under tests/fixtures/responses/ and a
// deterministic id source. TG_UPDATE_GOLDEN=1 rewrites a fixture's expected member from what the
// code produces (review the diff before committing it).

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tollgate/dialects/responses.hpp"

namespace tg::dialects::responses::testing {

using json = nlohmann::json;

inline std::string fixture_path(const std::string& name) {
  return std::string(TG_SOURCE_DIR) + "/tests/fixtures/responses/" + name;
}

inline std::string read_text(const std::string& name) {
  std::ifstream f(fixture_path(name), std::ios::binary);
  EXPECT_TRUE(f.good()) << "missing fixture " << name;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline json load(const std::string& name) { return json::parse(read_text(name)); }

// Compares `got` with fixture[key]; in update mode writes it there instead.
inline void expect_golden(const std::string& name, json& fixture, const std::string& key,
                          const json& got) {
  if (std::getenv("TG_UPDATE_GOLDEN")) {
    fixture[key] = got;
    std::ofstream(fixture_path(name), std::ios::binary) << fixture.dump(2) << "\n";
    return;
  }
  EXPECT_EQ(got, fixture[key]) << name << " " << key << "\ngot:      " << got.dump()
                               << "\nexpected: " << fixture[key].dump();
}

// 1, 2, 3...: ids become prefix + hex digits of a counter, stable across runs.
inline Random counter() {
  return [n = uint64_t{0}]() mutable { return ++n; };
}

}  // namespace tg::dialects::responses::testing
