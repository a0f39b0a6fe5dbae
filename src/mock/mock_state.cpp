#include "mock_state.hpp"

#include <vector>

namespace tollgate::mock {
namespace {

using ojson = nlohmann::ordered_json;

Reply json_reply(int status, const ojson& j) {
  Reply r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Reply control_error(int status, std::string_view message) {
  return error_reply(status, message, "invalid_request_error", std::nullopt, std::nullopt);
}

}  // namespace

void State::log(LoggedRequest&& r) {
  std::lock_guard lock(log_mu_);
  if (log_.size() >= kMaxLoggedRequests) {
    log_.pop_front();
  }
  log_.push_back(std::move(r));
}

void State::clear_log() {
  std::lock_guard lock(log_mu_);
  log_.clear();
}

void State::reset() {
  {
    std::lock_guard lock(log_mu_);
    log_.clear();
    seq_.store(0);
  }
  faults_.clear();
  stats_.requests = 0;
  stats_.streams_started = 0;
  stats_.streams_completed = 0;
  stats_.streams_aborted_by_client = 0;
  stats_.streams_faulted = 0;
  stats_.requests_aborted_by_client = 0;
  stats_.connections_total = 0;
}

std::string State::requests_json() {
  std::vector<LoggedRequest> copy;
  {
    std::lock_guard lock(log_mu_);
    copy.assign(log_.begin(), log_.end());
  }
  ojson arr = ojson::array();
  for (const auto& r : copy) {
    ojson e;
    e["seq"] = r.seq;
    e["method"] = r.method;
    e["path"] = r.target;
    ojson h = ojson::object();
    for (const auto& [k, v] : r.headers) {
      auto it = h.find(k);
      if (it == h.end()) {
        h[k] = v;
      } else {
        it->get_ref<std::string&>() += ", " + v;
      }
    }
    e["headers"] = std::move(h);
    if (r.body.empty()) {
      e["body"] = nullptr;
    } else {
      ojson b = ojson::parse(r.body, nullptr, false);
      if (b.is_discarded()) {
        e["body"] = r.body;
      } else {
        e["body"] = std::move(b);
      }
    }
    e["fault"] = r.fault ? ojson(std::string(mode_name(*r.fault))) : ojson(nullptr);
    arr.push_back(std::move(e));
  }
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string State::stats_json() {
  ojson j;
  j["requests"] = stats_.requests.load();
  j["streams_started"] = stats_.streams_started.load();
  j["streams_completed"] = stats_.streams_completed.load();
  j["streams_aborted_by_client"] = stats_.streams_aborted_by_client.load();
  j["streams_faulted"] = stats_.streams_faulted.load();
  j["requests_aborted_by_client"] = stats_.requests_aborted_by_client.load();
  j["connections_open"] = stats_.connections_open.load();
  j["connections_total"] = stats_.connections_total.load();
  j["faults_pending"] = faults_.size();
  return j.dump();
}

Reply State::handle_control(std::string_view method, std::string_view path, std::string_view body) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto wrong_method = [&] {
    return control_error(405, "Method " + std::string(method) + " not allowed on " + std::string(path));
  };
  if (path == "/__mock/health") {
    Reply r;
    r.body = R"({"status":"ok"})";
    return r;
  }
  if (path == "/__mock/stats") {
    if (method != "GET") return wrong_method();
    Reply r;
    r.body = stats_json();
    return r;
  }
  if (path == "/__mock/requests") {
    if (method == "GET") {
      Reply r;
      r.body = requests_json();
      return r;
    }
    if (method == "DELETE") {
      clear_log();
      return json_reply(200, ojson{{"cleared", true}});
    }
    return wrong_method();
  }
  if (path == "/__mock/reset") {
    if (method != "POST") return wrong_method();
    reset();
    return json_reply(200, ojson{{"reset", true}});
  }
  if (path == "/__mock/faults") {
    if (method == "GET") {
      return json_reply(200, faults_.to_json());
    }
    if (method == "DELETE") {
      faults_.clear();
      return json_reply(200, ojson{{"cleared", true}});
    }
    if (method != "POST") return wrong_method();
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) {
      return control_error(400, "faults body is not valid JSON");
    }
    std::vector<Fault> faults;
    if (j.is_object()) {
      j = nlohmann::json::array({std::move(j)});
    }
    if (!j.is_array()) {
      return control_error(400, "faults body must be a JSON object or an array of objects");
    }
    for (std::size_t i = 0; i < j.size(); ++i) {
      Fault f;
      if (auto err = parse_fault(j[i], f)) {
        return control_error(400, "fault[" + std::to_string(i) + "]: " + *err);
      }
      faults.push_back(std::move(f));
    }
    const std::size_t n = faults.size();
    faults_.push(std::move(faults));
    ojson out;
    out["queued"] = n;
    out["pending"] = faults_.size();
    return json_reply(200, out);
  }
  return control_error(404, "Unknown mock control path " + std::string(path));
}

}  // namespace tollgate::mock
