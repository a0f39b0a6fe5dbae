// Fault injection for tollgate-mock: the fault description, its JSON parser, the FIFO queue and the
// error replies of the "status" mode. No Asio here.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mock_api.hpp"

namespace tollgate::mock {

enum class FaultMode {
  Status,          // respond with `status` and an OpenAI-shaped error body
  Delay,           // wait `delay_ms` before the head, then answer normally
  Drop,            // close the connection without any response
  DropMidStream,   // stream: `after_events` events then close; non-stream: head + half the body
  ErrorMidStream,  // stream: `after_events` events, an error event, end without [DONE]
  Stall,           // stream: `after_events` events then silence; non-stream: never answer
  Malformed,       // 200 with invalid JSON (stream: one invalid data event then [DONE])
  Fragment,        // every event split across two TCP writes `fragment_delay_ms` apart
};

std::string_view mode_name(FaultMode m);

struct Fault {
  FaultMode mode = FaultMode::Status;
  long long count = 1;  // applications left; -1 = unlimited
  std::string match_model;
  std::string match_path;  // normalised route ("/chat/completions"); empty = any
  int status = 500;
  long long retry_after = -1;     // seconds; -1 = default (1 for 429, absent otherwise)
  double retry_after_ms = -1;     // -1 = absent
  HeaderList headers;             // extra response headers
  std::optional<std::string> body;  // raw body replacing the error body
  std::optional<std::string> message;
  std::optional<std::string> type;
  std::optional<nlohmann::json> code;  // string or null
  long long delay_ms = 0;              // pre-head delay, honoured in every mode
  long long after_events = 3;
  bool rst = false;                    // close with a TCP reset instead of FIN
  long long fragment_delay_ms = 5;
};

// Parses one fault object. Returns an error message on failure.
std::optional<std::string> parse_fault(const nlohmann::json& j, Fault& out);

nlohmann::ordered_json fault_to_json(const Fault& f);

// The reply of a "status" fault (and of the non-stream variant of "error_mid_stream").
Reply fault_status_reply(const Fault& f, std::string_view model);

class FaultQueue {
 public:
  void push(std::vector<Fault> faults);
  // Takes the first fault matching (model, route): decrements it and removes it when used up.
  std::optional<Fault> take(std::string_view model, std::string_view route);
  void clear();
  std::size_t size() const;
  nlohmann::ordered_json to_json() const;

 private:
  mutable std::mutex mu_;
  std::deque<Fault> queue_;
};

}  // namespace tollgate::mock
