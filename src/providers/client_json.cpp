#include "tollgate/providers/client_json.hpp"

#include <fmt/format.h>

#include "tollgate/providers/json_build.hpp"
#include "tollgate/providers/json_scan.hpp"

namespace tg::providers {

std::optional<Error> check_json_depth(std::string_view body) {
  if (json_scan::nesting_depth(body, kMaxJsonDepth) <= kMaxJsonDepth) return std::nullopt;
  return Error::bad_request(fmt::format(
      "The JSON body nests arrays and objects more than {} levels deep, the most Tollgate "
      "accepts.",
      kMaxJsonDepth));
}

// One validating pass (bounded in depth) and the document built from it: what the parser would
// build, at a fraction of its lexer's cost. Only a refused body pays for telling depth from syntax.
std::variant<nlohmann::json, Error> parse_client_json(std::string_view body) {
  if (!json_scan::valid(body, kMaxJsonDepth)) {
    if (auto e = check_json_depth(body)) return *e;
    return Error::bad_request(
        "We could not parse the JSON body of your request. Send valid JSON with "
        "'Content-Type: application/json'.");
  }
  auto doc = json_scan::build(body);
  if (!doc.is_object()) return Error::bad_request("The request body must be a JSON object.");
  return doc;
}

std::optional<Error> check_model_name(std::string_view model) {
  if (model.size() > kMaxModelNameBytes) {
    return Error::bad_request(
        fmt::format("'model' is longer than {} bytes.", kMaxModelNameBytes), "model");
  }
  for (unsigned char c : model) {
    if (c < 0x20 || c == 0x7f) {
      return Error::bad_request("'model' must not contain control characters.", "model");
    }
  }
  for (size_t start = 0; start <= model.size();) {
    size_t end = model.find('/', start);
    if (end == std::string_view::npos) end = model.size();
    std::string_view segment = model.substr(start, end - start);
    if (segment == "." || segment == "..") {
      return Error::bad_request("'model' must not contain '.' or '..' path segments.", "model");
    }
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace tg::providers
