#include "tollgate/providers/client_json.hpp"

#include <memory>

#include <fmt/format.h>

#include "tollgate/providers/adapter.hpp"

#include "tollgate/providers/json_build.hpp"
#include "tollgate/providers/json_scan.hpp"

namespace tg::providers {

const nlohmann::json& ClientRequest::doc() const {
  if (!doc_) {
    // raw_body was validated when the request was parsed; the document is what the parser makes.
    built_ = std::make_shared<const nlohmann::json>(raw_body.empty() ? nlohmann::json::object()
                                                                     : json_scan::build(raw_body));
    doc_ = built_.get();
  }
  return *doc_;
}

std::optional<Error> check_json_depth(std::string_view body) {
  if (json_scan::nesting_depth(body, kMaxJsonDepth) <= kMaxJsonDepth) return std::nullopt;
  return Error::bad_request(fmt::format(
      "The JSON body nests arrays and objects more than {} levels deep, the most Tollgate "
      "accepts.",
      kMaxJsonDepth));
}

// One validating pass (bounded in depth) and the document built from it: what the parser would
// build, at a fraction of its lexer's cost. Only a refused body pays for telling depth from syntax.
std::optional<Error> check_client_json(std::string_view body, json_scan::TopMembers* members) {
  if (!(members ? json_scan::valid(body, kMaxJsonDepth, *members) : json_scan::valid(body, kMaxJsonDepth))) {
    if (auto e = check_json_depth(body)) return *e;
    return Error::bad_request(
        "We could not parse the JSON body of your request. Send valid JSON with "
        "'Content-Type: application/json'.");
  }
  const size_t i = json_scan::skip_ws(body, json_scan::bom_size(body));
  if (i >= body.size() || body[i] != '{') {
    return Error::bad_request("The request body must be a JSON object.");
  }
  return std::nullopt;
}

std::variant<nlohmann::json, Error> parse_client_json(std::string_view body) {
  if (auto e = check_client_json(body)) return *e;
  return json_scan::build(body);
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
