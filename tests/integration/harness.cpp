#include "harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "../support/eventually.hpp"

namespace tg::it {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

namespace {

void fill_headers(HttpResponse& out, const bhttp::response_header<>& h) {
  out.status = static_cast<int>(h.result_int());
  for (const auto& f : h) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
}

bhttp::request<bhttp::string_body> make_request(uint16_t port, const std::string& method,
                                                const std::string& target,
                                                const std::string& body, const Headers& headers) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port));
  if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  if (!body.empty() || method == "POST") req.prepare_payload();
  return req;
}

}  // namespace

HttpResponse http(uint16_t port, const std::string& method, const std::string& target,
                  const std::string& body, const Headers& headers,
                  std::chrono::milliseconds timeout) {
  HttpResponse out;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.expires_after(timeout);
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) {
    out.error = ec.message();
    return out;
  }
  auto req = make_request(port, method, target, body, headers);
  bhttp::write(stream, req, ec);
  if (ec) {
    out.error = ec.message();
    return out;
  }
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(boost::none);
  parser.skip(method == "HEAD");
  bhttp::read(stream, buf, parser, ec);
  if (ec) out.error = ec.message();
  if (parser.is_header_done()) {
    fill_headers(out, parser.get().base());
    out.body = parser.get().body();
  }
  return out;
}

HttpResponse http_stream(uint16_t port, const std::string& target, const std::string& body,
                         const Headers& headers,
                         const std::function<bool(const std::string&)>& on_chunk,
                         std::chrono::milliseconds timeout) {
  HttpResponse out;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.expires_after(timeout);
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) {
    out.error = ec.message();
    return out;
  }
  auto req = make_request(port, "POST", target, body, headers);
  bhttp::write(stream, req, ec);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(boost::none);
  bhttp::read_header(stream, buf, parser, ec);
  if (ec) {
    out.error = ec.message();
    return out;
  }
  fill_headers(out, parser.get().base());
  char tmp[8192];
  while (!parser.is_done()) {
    parser.get().body().data = tmp;
    parser.get().body().size = sizeof tmp;
    bhttp::read_some(stream, buf, parser, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    size_t n = sizeof tmp - parser.get().body().size;
    if (n > 0) {
      std::string chunk(tmp, n);
      out.body += chunk;
      if (!on_chunk(chunk)) {
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream.socket().close(ec);
        out.error = "client disconnected";
        return out;
      }
    }
    if (ec) {
      out.error = ec.message();
      break;
    }
  }
  return out;
}

std::string raw_exchange(uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.expires_after(timeout);
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return "";
  net::write(stream, net::buffer(bytes), ec);
  std::string out;
  char tmp[4096];
  for (;;) {
    size_t n = stream.read_some(net::buffer(tmp), ec);
    out.append(tmp, n);
    if (ec) break;
  }
  return out;
}

std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
  }
  return out;
}

uint16_t free_port() {
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

std::string temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "tollgate-it-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

// ---------------------------------------------------------------------------------------------

namespace {
// A test's scratch directory goes with it, unless the test failed (its logs are then kept).
void remove_scratch(const std::string& dir) {
  if (dir.empty() || ::testing::Test::HasFailure()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
}  // namespace

Process::~Process() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
  }
  if (!log_path_.empty()) remove_scratch(std::filesystem::path(log_path_).parent_path().string());
}

Gateway::~Gateway() {
  if (!config_path_.empty()) {
    remove_scratch(std::filesystem::path(config_path_).parent_path().string());
  }
}

void Process::start(const std::vector<std::string>& argv,
                    const std::vector<std::pair<std::string, std::string>>& env,
                    bool clear_provider_env) {
  log_path_ = temp_dir() + "/output.log";
  std::string workdir = std::filesystem::path(log_path_).parent_path().string();
  pid_ = ::fork();
  if (pid_ == 0) {
    // Each process runs in its own temporary directory, so ./data/tollgate.db never collides.
    if (::chdir(workdir.c_str()) != 0) ::_exit(126);
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (clear_provider_env) {
      for (const char* v : {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY",
                            "GOOGLE_API_KEY", "GROQ_API_KEY", "MISTRAL_API_KEY",
                            "DEEPSEEK_API_KEY", "OPENROUTER_API_KEY", "XAI_API_KEY",
                            "TOGETHER_API_KEY", "FIREWORKS_API_KEY", "AZURE_OPENAI_API_KEY",
                            "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                            "OLLAMA_BASE_URL",
                            "TOLLGATE_CONFIG", "TOLLGATE_MASTER_KEY", "OPENAI_BASE_URL",
                            "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"}) {
        ::unsetenv(v);
      }
    }
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

void Process::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

bool Process::running() {
  if (pid_ <= 0) return false;
  int st;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    pid_ = -pid_;  // reaped; remember it ended
    exit_code_cache_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return r == 0;
}

int Process::wait(std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (!running()) return exit_code_cache_;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  return -1;
}

std::string Process::output() const {
  std::ifstream in(log_path_);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  return test::eventually(cond, timeout);
}

// ---------------------------------------------------------------------------------------------

// The port a process started on port 0 wrote to its --port-file (0 if it exited or timed out).
static uint16_t read_port_file(const std::string& path, Process& proc) {
  uint16_t port = 0;
  test::eventually(
      [&] {
        std::ifstream in(path);
        int p = 0;
        if (in >> p && p > 0 && p < 65536) port = static_cast<uint16_t>(p);
        return port != 0 || !proc.running();
      },
      std::chrono::seconds(30));
  return port;
}

Mock::Mock(std::vector<std::string> extra_args) {
  std::string port_file = temp_dir() + "/port";
  std::vector<std::string> argv = {TG_MOCK_BIN, "--listen", "127.0.0.1:0", "--port-file",
                                   port_file};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  proc_.start(argv);
  port_ = read_port_file(port_file, proc_);
  if (port_ == 0) throw std::runtime_error("tollgate-mock did not start: " + proc_.output());
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(port_file).parent_path(), ec);  // read: done
}

std::string Mock::base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

void Mock::add_fault(const json& fault) {
  auto r = http(port_, "POST", "/__mock/faults", fault.dump());
  if (r.status != 200) throw std::runtime_error("mock refused fault: " + r.body);
}

json Mock::requests() { return http(port_, "GET", "/__mock/requests").json_body(); }
json Mock::stats() { return http(port_, "GET", "/__mock/stats").json_body(); }
void Mock::reset() { http(port_, "POST", "/__mock/reset"); }

Gateway::Gateway(const std::string& config_yaml,
                 const std::vector<std::pair<std::string, std::string>>& env,
                 std::vector<std::string> extra_args) {
  config_path_ = temp_dir() + "/config.yaml";
  {
    std::ofstream out(config_path_);
    out << config_yaml;
  }
  // Port 0 and the port read back from --port-file: a port picked in advance could be taken by
  // another test's gateway in between, and with SO_REUSEPORT both would then share it silently.
  const std::string port_file = std::filesystem::path(config_path_).parent_path() / "port";
  std::vector<std::string> argv = {TG_TOLLGATE_BIN, "--config", config_path_, "--listen",
                                   "127.0.0.1:0", "--port-file", port_file};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  proc_.start(argv, env);
  port_ = read_port_file(port_file, proc_);
  if (port_ == 0) throw std::runtime_error("tollgate did not start: " + proc_.output());
  if (!wait_healthy()) throw std::runtime_error("tollgate is not healthy: " + proc_.output());
}

bool Gateway::wait_healthy(std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        if (!proc_.running()) return false;
        return http(port_, "GET", "/health", "", {}, std::chrono::milliseconds(500)).status == 200;
      },
      timeout);
}

HttpResponse Gateway::post(const std::string& path, const json& body, const std::string& key,
                           Headers extra) {
  if (!key.empty()) extra.emplace_back("Authorization", "Bearer " + key);
  return http(port_, "POST", path, body.dump(), extra);
}

HttpResponse Gateway::get(const std::string& path, const std::string& key) {
  Headers h;
  if (!key.empty()) h.emplace_back("Authorization", "Bearer " + key);
  return http(port_, "GET", path, "", h);
}

std::string mock_config(const Mock& mock, const std::string& extra) {
  return "server:\n"
         "  master_key: sk-test-master\n"
         "  workers: 2\n"
         "  log_level: debug\n"
         "providers:\n"
         "  mock:\n"
         "    type: openai-compatible\n"
         "    base_url: " + mock.base_url() + "\n"
         "    api_key: mock-upstream-key\n"
         "models:\n"
         "  - name: gpt-test\n"
         "    targets: [mock/gpt-4o-mini]\n" + extra;
}

}  // namespace tg::it
