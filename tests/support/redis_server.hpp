#pragma once
// A real redis-server (Debian's) for tests: started on a free loopback port in its own temp
// directory, with no persistence, stopped (SIGKILL) when the fixture goes. restart() starts it
// again on the same port, empty. command() is a small blocking client on the project's own RESP
// code, for looking at what the gateway wrote.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tollgate/redis/protocol.hpp"

namespace tg::testing {

class RedisServer {
 public:
  RedisServer() {
    char tmpl[] = "/tmp/tg-redis-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    // A port picked free may be taken before redis binds it (tests run in parallel): try again.
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = pick_port();
      if (try_start()) return;
    }
    throw std::runtime_error("redis-server did not start (see " + dir_ + "/redis.log)");
  }
  ~RedisServer() {
    kill(SIGKILL);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url(int db = 0) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
  }

  void start() {
    if (!try_start()) throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
  }

  // Starts it on port_; false when it exited or did not answer PING within 10 s.
  bool try_start() {
    if (pid_ > 0) return true;
    std::vector<std::string> args = {"redis-server", "--port", std::to_string(port_),
                                     "--bind", "127.0.0.1", "--dir", dir_, "--save", "",
                                     "--appendonly", "no", "--daemonize", "no",
                                     "--logfile", dir_ + "/redis.log", "--protected-mode", "no"};
    std::vector<char*> argv;  // built before fork: the child of a threaded process only execs
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_RDWR);
      if (null >= 0) {
        dup2(null, 1);
        dup2(null, 2);
      }
      execvp("redis-server", argv.data());
      _exit(127);
    }
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: the port was taken
        pid_ = -1;
        return false;
      }
      // Ours, not another test's server on a port that was taken meanwhile.
      auto r = command({"INFO", "server"});
      if (r && r->type == redis::Value::Type::String &&
          r->str.find("process_id:" + std::to_string(pid_) + "\r\n") != std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(SIGKILL);
    return false;
  }

  // SIGKILL (no save: the data is gone) or SIGSTOP/SIGCONT to freeze it.
  void kill(int sig = SIGKILL) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    if (sig == SIGKILL || sig == SIGTERM) {
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  void restart() {
    kill(SIGKILL);
    start();
  }

  // One command on a fresh connection; nullopt when Redis does not answer within `timeout`.
  std::optional<redis::Value> command(const std::vector<std::string>& args,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(2)) const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return std::nullopt;
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::optional<redis::Value> out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      std::string req;
      redis::encode_command(req, args);
      if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
        redis::Reader reader;
        char buf[4096];
        for (;;) {
          ssize_t n = ::recv(fd, buf, sizeof buf, 0);
          if (n <= 0 || !reader.feed(buf, static_cast<size_t>(n))) break;
          if ((out = reader.next()) || !reader.error().empty()) break;
        }
      }
    }
    ::close(fd);
    return out;
  }

 private:
  static uint16_t pick_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace tg::testing
