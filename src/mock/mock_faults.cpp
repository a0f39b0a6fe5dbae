#include "mock_faults.hpp"

#include <cmath>

#include "mock_util.hpp"

namespace tollgate::mock {
namespace {

using nlohmann::json;

struct ModeName {
  FaultMode mode;
  std::string_view name;
};
constexpr ModeName kModes[] = {
    {FaultMode::Status, "status"},
    {FaultMode::Delay, "delay"},
    {FaultMode::Drop, "drop"},
    {FaultMode::DropMidStream, "drop_mid_stream"},
    {FaultMode::ErrorMidStream, "error_mid_stream"},
    {FaultMode::Stall, "stall"},
    {FaultMode::Malformed, "malformed"},
    {FaultMode::Fragment, "fragment"},
};

std::optional<std::string> read_int(const json& j, const char* key, long long lo, long long hi,
                                    long long& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return std::nullopt;
  }
  if (!it->is_number_integer()) {
    return std::string("'") + key + "' must be an integer";
  }
  const auto v = it->get<long long>();
  if (v < lo || v > hi) {
    return std::string("'") + key + "' must be between " + std::to_string(lo) + " and " +
           std::to_string(hi);
  }
  out = v;
  return std::nullopt;
}

std::optional<std::string> read_str(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return std::nullopt;
  }
  if (!it->is_string()) {
    return std::string("'") + key + "' must be a string";
  }
  out = it->get<std::string>();
  return std::nullopt;
}

std::string go_duration_seconds(long long s) { return std::to_string(s) + "s"; }

}  // namespace

std::string_view mode_name(FaultMode m) {
  for (const auto& e : kModes) {
    if (e.mode == m) return e.name;
  }
  return "status";
}

std::optional<std::string> parse_fault(const json& j, Fault& f) {
  if (!j.is_object()) {
    return "a fault must be a JSON object";
  }
  f = Fault{};
  static constexpr std::string_view kKnown[] = {
      "mode", "count", "match_model", "match_path", "status", "retry_after", "retry_after_ms",
      "headers", "body", "message", "type", "code", "delay_ms", "after_events", "rst",
      "fragment_delay_ms"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (auto k : kKnown) known = known || it.key() == k;
    if (!known) {
      return "unknown fault field '" + it.key() + "'";
    }
  }
  std::string mode;
  if (auto e = read_str(j, "mode", mode)) return e;
  if (mode.empty()) {
    if (j.contains("status")) {
      mode = "status";
    } else if (j.contains("delay_ms")) {
      mode = "delay";
    } else {
      return "missing 'mode' (one of status, delay, drop, drop_mid_stream, error_mid_stream, "
             "stall, malformed, fragment)";
    }
  }
  bool found = false;
  for (const auto& e : kModes) {
    if (e.name == mode) {
      f.mode = e.mode;
      found = true;
    }
  }
  if (!found) {
    return "unknown mode '" + mode +
           "' (one of status, delay, drop, drop_mid_stream, error_mid_stream, stall, malformed, "
           "fragment)";
  }
  if (auto e = read_int(j, "count", -1, 1000000000, f.count)) return e;
  if (f.count == 0) return "'count' must be >= 1 (or -1 for unlimited)";
  if (auto e = read_str(j, "match_model", f.match_model)) return e;
  std::string path;
  if (auto e = read_str(j, "match_path", path)) return e;
  if (!path.empty()) f.match_path = std::string(normalize_route(path));
  long long status = f.mode == FaultMode::Status ? -1 : 500;
  if (auto e = read_int(j, "status", 100, 599, status)) return e;
  if (status < 0) return "mode 'status' requires 'status' (an HTTP status code)";
  f.status = static_cast<int>(status);
  if (auto e = read_int(j, "retry_after", 0, 86400, f.retry_after)) return e;
  if (auto it = j.find("retry_after_ms"); it != j.end() && !it->is_null()) {
    if (!it->is_number() || it->get<double>() < 0) return "'retry_after_ms' must be a number >= 0";
    f.retry_after_ms = it->get<double>();
  }
  if (auto it = j.find("headers"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return "'headers' must be an object";
    for (auto h = it->begin(); h != it->end(); ++h) {
      const std::string& name = h.key();
      if (name.empty() || name.find_first_of(" :\r\n") != std::string::npos) {
        return "invalid header name '" + name + "'";
      }
      std::string value = h->is_string() ? h->get<std::string>() : h->dump();
      if (value.find_first_of("\r\n") != std::string::npos) {
        return "header values must not contain CR or LF";
      }
      f.headers.emplace_back(name, std::move(value));
    }
  }
  if (auto it = j.find("body"); it != j.end() && !it->is_null()) {
    f.body = it->is_string() ? it->get<std::string>() : it->dump();
  }
  std::string s;
  if (auto e = read_str(j, "message", s)) return e;
  if (j.contains("message") && j["message"].is_string()) f.message = s;
  s.clear();
  if (auto e = read_str(j, "type", s)) return e;
  if (j.contains("type") && j["type"].is_string()) f.type = s;
  if (auto it = j.find("code"); it != j.end()) {
    if (!it->is_string() && !it->is_null()) return "'code' must be a string or null";
    f.code = *it;
  }
  if (auto e = read_int(j, "delay_ms", 0, 3600000, f.delay_ms)) return e;
  if (auto e = read_int(j, "after_events", 0, 1000000, f.after_events)) return e;
  if (auto it = j.find("rst"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return "'rst' must be a boolean";
    f.rst = it->get<bool>();
  }
  if (auto e = read_int(j, "fragment_delay_ms", 0, 60000, f.fragment_delay_ms)) return e;
  return std::nullopt;
}

nlohmann::ordered_json fault_to_json(const Fault& f) {
  nlohmann::ordered_json j;
  j["mode"] = mode_name(f.mode);
  j["count"] = f.count;
  j["match_model"] = f.match_model.empty() ? json(nullptr) : json(f.match_model);
  j["match_path"] = f.match_path.empty() ? json(nullptr) : json(f.match_path);
  if (f.mode == FaultMode::Status || f.mode == FaultMode::ErrorMidStream) j["status"] = f.status;
  if (f.retry_after >= 0) j["retry_after"] = f.retry_after;
  if (f.retry_after_ms >= 0) j["retry_after_ms"] = f.retry_after_ms;
  if (!f.headers.empty()) {
    nlohmann::ordered_json h = nlohmann::ordered_json::object();
    for (const auto& [k, v] : f.headers) h[k] = v;
    j["headers"] = h;
  }
  if (f.body) j["body"] = *f.body;
  if (f.message) j["message"] = *f.message;
  if (f.type) j["type"] = *f.type;
  if (f.code) j["code"] = *f.code;
  if (f.delay_ms > 0) j["delay_ms"] = f.delay_ms;
  if (f.mode == FaultMode::DropMidStream || f.mode == FaultMode::ErrorMidStream ||
      f.mode == FaultMode::Stall) {
    j["after_events"] = f.after_events;
  }
  if (f.rst) j["rst"] = true;
  if (f.mode == FaultMode::Fragment) j["fragment_delay_ms"] = f.fragment_delay_ms;
  return j;
}

Reply fault_status_reply(const Fault& f, std::string_view model) {
  const int st = f.status;
  std::string message;
  std::string type = "invalid_request_error";
  std::optional<std::string> code;
  const std::string model_s = model.empty() ? std::string("gpt-4o-mini") : std::string(model);
  switch (st) {
    case 400:
      message = "Mock fault: invalid request.";
      break;
    case 401:
      message = "Incorrect API key provided: sk-mock...0000. You can find your API key at "
                "https://platform.openai.com/account/api-keys.";
      code = "invalid_api_key";
      break;
    case 403:
      message = "Country, region, or territory not supported";
      type = "request_forbidden";
      code = "unsupported_country_region_territory";
      break;
    case 404:
      message = "The model `" + model_s + "` does not exist or you do not have access to it.";
      code = "model_not_found";
      break;
    case 429: {
      const long long ra = f.retry_after >= 0 ? f.retry_after : 1;
      message = "Rate limit reached for " + model_s +
                " in organization org-mock on requests per min (RPM): Limit 10000, Used 10000, "
                "Requested 1. Please try again in " +
                go_duration_seconds(ra) +
                ". Visit https://platform.openai.com/account/rate-limits to learn more.";
      type = "requests";
      code = "rate_limit_exceeded";
      break;
    }
    case 500:
      message = "The server had an error while processing your request. Sorry about that!";
      type = "server_error";
      break;
    case 502:
      message = "Bad gateway.";
      type = "server_error";
      break;
    case 503:
      message = "That model is currently overloaded with other requests. You can retry your "
                "request, or contact us through our help center at help.openai.com if the error "
                "persists.";
      type = "server_error";
      break;
    case 504:
      message = "Gateway timeout.";
      type = "server_error";
      break;
    default:
      message = "Mock fault: HTTP " + std::to_string(st) + ".";
      type = st >= 500 ? "server_error" : "invalid_request_error";
      break;
  }
  if (f.message) message = *f.message;
  if (f.type) type = *f.type;
  std::optional<std::string_view> code_v;
  if (f.code) {
    if (f.code->is_string()) code_v = f.code->get_ref<const std::string&>();
  } else if (code) {
    code_v = *code;
  }
  Reply r = error_reply(st, message, type, std::nullopt, code_v);
  if (st == 429) {
    r.rate = RateLimitHeaders::Exhausted;
  }
  if (st == 429 || f.retry_after >= 0) {
    r.extra_headers.emplace_back("retry-after",
                                 std::to_string(f.retry_after >= 0 ? f.retry_after : 1));
  }
  if (f.retry_after_ms >= 0) {
    std::string v;
    if (f.retry_after_ms == std::floor(f.retry_after_ms)) {
      v = std::to_string(static_cast<long long>(f.retry_after_ms));
    } else {
      v = std::to_string(f.retry_after_ms);
    }
    r.extra_headers.emplace_back("retry-after-ms", std::move(v));
  }
  if (f.body) {
    r.body = *f.body;
  }
  for (const auto& h : f.headers) {
    r.extra_headers.push_back(h);
  }
  return r;
}

void FaultQueue::push(std::vector<Fault> faults) {
  std::lock_guard lock(mu_);
  for (auto& f : faults) {
    queue_.push_back(std::move(f));
  }
}

std::optional<Fault> FaultQueue::take(std::string_view model, std::string_view route) {
  std::lock_guard lock(mu_);
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (!it->match_model.empty() && it->match_model != model) continue;
    if (!it->match_path.empty() && it->match_path != route) continue;
    Fault out = *it;
    if (it->count > 0 && --it->count == 0) {
      queue_.erase(it);
    }
    return out;
  }
  return std::nullopt;
}

void FaultQueue::clear() {
  std::lock_guard lock(mu_);
  queue_.clear();
}

std::size_t FaultQueue::size() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

nlohmann::ordered_json FaultQueue::to_json() const {
  std::lock_guard lock(mu_);
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& f : queue_) arr.push_back(fault_to_json(f));
  return arr;
}

}  // namespace tollgate::mock
