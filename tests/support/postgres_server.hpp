#pragma once
// A real PostgreSQL 15 server for tests: initdb into a fresh temporary directory, started on a free
// loopback port, stopped and removed by the destructor (RAII). initdb refuses to run as root, so
// under uid 0 the server runs as `nobody` (runuser) in a directory owned by it.
//
//   if (!tg::test::PostgresServer::available()) GTEST_SKIP() << "...";
//   tg::test::PostgresServer pg;            // throws std::runtime_error if it cannot start
//   auto url = pg.create_database();        // postgresql://tollgate@127.0.0.1:PORT/tg1
//   pg.stop(); pg.start();                  // an outage, same port and data

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "tollgate/store/postgres_conn.hpp"

namespace tg::test {

class PostgresServer {
 public:
  // $TG_POSTGRES_BIN, else Debian's postgresql-15.
  static std::string bin_dir() {
    if (const char* env = std::getenv("TG_POSTGRES_BIN"); env && *env) return env;
    return "/usr/lib/postgresql/15/bin";
  }
  static bool available() {
    return ::access((bin_dir() + "/initdb").c_str(), X_OK) == 0 &&
           ::access((bin_dir() + "/pg_ctl").c_str(), X_OK) == 0;
  }

  PostgresServer() {
    char tmpl[] = "/tmp/tg-pg-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("nobody");
      if (!pw) throw std::runtime_error("running as root and there is no user 'nobody'");
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown failed");
      as_ = "runuser -u nobody -- ";
    }
    // initdb takes seconds; it runs once per machine into a template that each server copies.
    const std::string tmpl_dir = template_dir();
    run(as_ + "cp -a " + tmpl_dir + "/data " + dir_ + "/data", "copying the initdb template");
    port_ = free_port();
    start();
  }

  ~PostgresServer() {
    if (running_) {
      std::system((as_ + bin() + "pg_ctl -D " + dir_ + "/data -m immediate -w stop >/dev/null 2>&1").c_str());
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  void start() {
    // fsync off: a test's data need not survive a power loss, and the disk is shared.
    run(as_ + bin() + "pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -w -t 60 -o \"-p " +
            std::to_string(port_) + " -k " + dir_ +
            " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
            " -c max_connections=100\" start >/dev/null 2>&1",
        "pg_ctl start");
    running_ = true;
  }

  // mode: fast (clients are disconnected, a clean shutdown) or immediate (as a crash).
  void stop(const std::string& mode = "fast") {
    run(as_ + bin() + "pg_ctl -D " + dir_ + "/data -m " + mode + " -w stop >/dev/null 2>&1",
        "pg_ctl stop");
    running_ = false;
  }

  uint16_t port() const { return port_; }
  std::string url(const std::string& db = "postgres") const {
    return "postgresql://tollgate@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  // A new, empty database on this server; returns its URL.
  std::string create_database() {
    static std::atomic<int> n{0};
    std::string name = "tg" + std::to_string(++n);
    store::pg::Conn c;
    std::string err;
    if (!c.connect(url(), 10, &err)) throw std::runtime_error("connect: " + err);
    c.exec("CREATE DATABASE " + name);
    return url(name);
  }

  std::string log() const {
    std::ifstream in(dir_ + "/server.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string bin() const { return bin_dir() + "/"; }

  // /tmp/tg-pg-template-<uid>: an initdb'd data directory, made under a lock by the first test
  // that needs it (tests run in parallel processes) and marked ready once complete.
  std::string template_dir() {
    const std::string base = "/tmp/tg-pg-template-" + std::to_string(::geteuid());
    int lock = ::open((base + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock < 0 || ::flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + base);
    struct Unlock {
      int fd;
      ~Unlock() { ::close(fd); }
    } unlock{lock};
    if (::access((base + "/ready").c_str(), F_OK) == 0) return base;
    std::error_code ec;
    std::filesystem::remove_all(base, ec);
    std::filesystem::create_directories(base);
    if (const passwd* pw = ::getpwnam("nobody"); pw && !as_.empty()) {
      if (::chown(base.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown failed");
    }
    run(as_ + bin() + "initdb -D " + base + "/data -U tollgate -A trust -E UTF8 --locale=C "
            "--no-sync --no-instructions > " + dir_ + "/initdb.log 2>&1",
        "initdb");
    std::ofstream(base + "/ready") << "ok\n";
    return base;
  }

  void run(const std::string& cmd, const char* what) {
    if (std::system(cmd.c_str()) != 0) {
      std::ifstream in(dir_ + "/initdb.log");
      std::stringstream ss;
      ss << in.rdbuf() << log();
      throw std::runtime_error(std::string(what) + " failed: " + cmd + "\n" + ss.str());
    }
  }

  static uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      if (fd >= 0) ::close(fd);
      throw std::runtime_error("no free port");
    }
    ::close(fd);
    return ntohs(a.sin_port);
  }

  std::string dir_;
  std::string as_;  // "runuser -u nobody -- " under root
  uint16_t port_ = 0;
  bool running_ = false;
};

}  // namespace tg::test
