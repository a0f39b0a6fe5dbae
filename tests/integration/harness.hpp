#pragma once
// Integration-test harness: starts the real tollgate and tollgate-mock binaries on loopback ports
// and talks HTTP to them. Beast lives only in harness.cpp, so test files compile fast.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tg::it {

using json = nlohmann::json;

struct HttpResponse {
  int status = 0;                             // 0: connection failed or closed without answer
  std::map<std::string, std::string> headers;  // lowercased names
  std::string body;
  std::string error;                          // transport error, if any
  json json_body() const { return json::parse(body, nullptr, false); }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

HttpResponse http(uint16_t port, const std::string& method, const std::string& target,
                  const std::string& body = "", const Headers& headers = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Streams a response: on_chunk gets each body piece as it arrives; return false to disconnect.
HttpResponse http_stream(uint16_t port, const std::string& target, const std::string& body,
                         const Headers& headers,
                         const std::function<bool(const std::string& chunk)>& on_chunk,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Sends raw bytes and returns what came back until the server closed or timeout.
std::string raw_exchange(uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The data payloads of an SSE body, in order.
std::vector<std::string> sse_data(const std::string& body);

uint16_t free_port();
std::string temp_dir();

class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();
  void start(const std::vector<std::string>& argv,
             const std::vector<std::pair<std::string, std::string>>& env = {},
             bool clear_provider_env = true);
  void signal(int sig);
  // Waits for exit; returns the exit code, or -1 on timeout (the process is then killed).
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool running();
  std::string output() const;  // stdout+stderr so far
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int exit_code_cache_ = -1;
  std::string log_path_;
};

class Mock {
 public:
  explicit Mock(std::vector<std::string> extra_args = {});
  uint16_t port() const { return port_; }
  std::string base_url() const;  // http://127.0.0.1:PORT/v1
  void add_fault(const json& fault);
  json requests();
  json stats();
  void reset();
  Process& process() { return proc_; }

 private:
  Process proc_;
  uint16_t port_ = 0;
};

class Gateway {
 public:
  // Starts tollgate with this config text (written to a temp file) on a free port.
  explicit Gateway(const std::string& config_yaml,
                   const std::vector<std::pair<std::string, std::string>>& env = {},
                   std::vector<std::string> extra_args = {});
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;
  uint16_t port() const { return port_; }
  const std::string& config_path() const { return config_path_; }
  Process& process() { return proc_; }
  bool wait_healthy(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  HttpResponse post(const std::string& path, const json& body, const std::string& key = "sk-test-master",
                    Headers extra = {});
  HttpResponse get(const std::string& path, const std::string& key = "sk-test-master");

 private:
  Process proc_;
  uint16_t port_ = 0;
  std::string config_path_;
};

// A chat-completions body with one user message.
inline json chat(const std::string& model, const std::string& text, bool stream = false) {
  json body = {{"model", model}, {"messages", {{{"role", "user"}, {"content", text}}}}};
  if (stream) body["stream"] = true;
  return body;
}

// A minimal config with the mock as provider "mock" and master key sk-test-master.
std::string mock_config(const Mock& mock, const std::string& extra = "");

bool eventually(const std::function<bool()>& cond,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace tg::it
