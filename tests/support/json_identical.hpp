#pragma once
// Two documents equal node for node, number types included (nlohmann's == calls 1 and 1.0 equal,
// and an unsigned 5 equal to a signed 5): for checking json_scan::build against the parser.

#include <cmath>

#include <nlohmann/json.hpp>

namespace tg::test {

inline bool json_identical(const nlohmann::json& a, const nlohmann::json& b) {
  using t = nlohmann::json::value_t;
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case t::object: {
      if (a.size() != b.size()) return false;
      for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y) {
        if (x.key() != y.key() || !json_identical(*x, *y)) return false;
      }
      return true;
    }
    case t::array: {
      if (a.size() != b.size()) return false;
      for (size_t k = 0; k < a.size(); ++k) {
        if (!json_identical(a[k], b[k])) return false;
      }
      return true;
    }
    case t::number_float: {
      const double x = a.get<double>(), y = b.get<double>();
      return x == y && std::signbit(x) == std::signbit(y);
    }
    default:
      return a == b;
  }
}

}  // namespace tg::test
