#include "tollgate/providers/client_json.hpp"

#include <fmt/format.h>

#include "tollgate/core/json_writer.hpp"
#include "tollgate/providers/adapter.hpp"
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
std::optional<Error> check_client_json(std::string_view body, json_scan::TopMembers* members) {
  const bool valid = members ? json_scan::valid(body, kMaxJsonDepth, *members)
                             : json_scan::valid(body, kMaxJsonDepth);
  if (!valid) {
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

std::variant<nlohmann::json, Error> parse_client_json(std::string_view body,
                                                     json_scan::TopMembers* members) {
  if (auto e = check_client_json(body, members)) return *e;
  return json_scan::build(body);
}

std::optional<ClientRequest::RawSpans> plain_model_spans(std::string_view raw,
                                                         const json_scan::TopMembers& members) {
  if (!members.object || members.more || json_scan::bom_size(raw) > 0) return std::nullopt;
  std::optional<ClientRequest::RawSpans> at;
  for (size_t k = 0; k < members.count; ++k) {
    const auto& m = members.at[k];
    const std::string_view key = raw.substr(m.key_begin, m.key_end - m.key_begin);
    if (key.find('\\') != std::string_view::npos) return std::nullopt;
    for (size_t j = 0; j < k; ++j) {
      const auto& o = members.at[j];
      if (raw.substr(o.key_begin, o.key_end - o.key_begin) == key) return std::nullopt;
    }
    if (key == "model") at = ClientRequest::RawSpans{m.value_begin, m.value_end, members.close};
  }
  return at;
}

std::string splice_model(std::string_view raw, const ClientRequest::RawSpans& at,
                         std::string_view model, std::string_view extra) {
  std::string out;
  out.reserve(at.close + model.size() + extra.size() + 8);
  out.append(raw.substr(0, at.model_begin));
  append_json_string(out, model);
  out.append(raw.substr(at.model_end, at.close - at.model_end));
  out.append(extra);
  out += '}';
  return out;
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
