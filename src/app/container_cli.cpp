// The container image's helpers (include/tollgate/app/container_cli.hpp). The runtime image is
// FROM scratch: no shell, no id/find/chown/setpriv, no bash /dev/tcp, no sqlite3 shell, so the
// entrypoint, the HEALTHCHECK and the online backup live here. Plain POSIX and blocking I/O: these
// run as short-lived processes of their own, never on the daemon's event loop.

#include "tollgate/app/container_cli.hpp"

#include <grp.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "tollgate/config/config.hpp"

namespace tg::app {
namespace {

namespace fs = std::filesystem;

constexpr unsigned kImageId = 10001;  // the image's tollgate user and group (/etc/passwd, /etc/group)
constexpr const char* kData = "/data";
constexpr const char* kDefaultConfig = "/etc/tollgate/config.yaml";

void log(const std::string& line) { std::cerr << "entrypoint: " << line << std::endl; }

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// "10001" -> 10001; nullopt for a non-number or one past uid_t's range (-1 means "unchanged").
std::optional<unsigned> parse_id(std::string_view text) {
  if (!all_digits(text) || text.size() > 10) return std::nullopt;
  unsigned long long v = std::strtoull(std::string(text).c_str(), nullptr, 10);
  if (v >= 0xffffffffULL) return std::nullopt;
  return static_cast<unsigned>(v);
}

// Where to probe a listen address "HOST:PORT" from inside the container.
std::optional<std::pair<std::string, std::string>> probe_address(std::string_view listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string host(listen.substr(0, colon));
  std::string port(listen.substr(colon + 1));
  if (!all_digits(port) || port.size() > 5) return std::nullopt;
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "*") host = "127.0.0.1";
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::make_pair(host, port);
}

// The command to run: none or flags only -> the daemon; for the daemon (not a subcommand such as
// `tollgate keys list`), --listen LISTEN in front unless --listen is given (TOLLGATE_LISTEN
// overrides the config's server.listen).
std::vector<std::string> command_line(std::vector<std::string> args, const std::string& listen) {
  if (args.empty() || args.front().starts_with("-")) args.insert(args.begin(), "tollgate");
  if (args.front() != "tollgate" || listen.empty()) return args;
  if (args.size() > 1 && !args[1].starts_with("-")) return args;  // a subcommand
  for (const auto& a : args)
    if (a == "--listen") return args;
  args.insert(args.begin() + 1, {"--listen", listen});
  return args;
}

// True when something under DIR (DIR included, not crossing into other file systems, symlinks
// not followed) belongs to another uid or gid; with CHOWN, gives all of it to uid:gid.
bool walk_owner(const fs::path& dir, unsigned uid, unsigned gid, bool chown, bool& chown_failed) {
  struct stat top{};
  if (::lstat(dir.c_str(), &top) != 0) return false;
  auto visit = [&](const fs::path& p, const struct stat& st) {
    if (st.st_uid == uid && st.st_gid == gid) return false;
    if (chown && ::lchown(p.c_str(), uid, gid) != 0) chown_failed = true;
    return true;
  };
  bool differs = visit(dir, top);
  if (differs && !chown) return true;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st{};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode) && st.st_dev != top.st_dev) it.disable_recursion_pending();  // -xdev
    if (visit(it->path(), st)) {
      differs = true;
      if (!chown) return true;
    }
  }
  return differs;
}

// setgroups + setresgid + setresuid: the drop setpriv --reuid --regid --clear-groups made.
bool become(unsigned uid, unsigned gid) {
  return ::setgroups(0, nullptr) == 0 && ::setresgid(gid, gid, gid) == 0 &&
         ::setresuid(uid, uid, uid) == 0;
}

// Whether uid:gid may write to PATH: asked in a child that has become that user.
bool writable_as(const char* path, unsigned uid, unsigned gid) {
  pid_t pid = ::fork();
  if (pid < 0) return true;  // cannot tell: no warning
  if (pid == 0) _exit(become(uid, gid) && ::access(path, W_OK) == 0 ? 0 : 1);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/usr/local/bin/tollgate") : p.string();
}

}  // namespace

int entrypoint_cli(int argc, char** argv) {
  const bool root = ::geteuid() == 0;
  unsigned uid = ::geteuid(), gid = ::getegid();
  const std::string puid = env_or("PUID", ""), pgid = env_or("PGID", "");
  if (root) {
    auto u = puid.empty() ? std::optional<unsigned>(kImageId) : parse_id(puid);
    auto g = pgid.empty() ? std::optional<unsigned>(kImageId) : parse_id(pgid);
    if (!u || !g) {
      log("PUID and PGID must be numbers (got PUID='" + puid + "' PGID='" + pgid + "')");
      return 64;
    }
    uid = *u;
    gid = *g;
    if (uid == 0) log("warning: PUID=0, tollgate runs as root");
  } else if (!puid.empty() || !pgid.empty()) {
    log("warning: started as uid " + std::to_string(uid) + " (docker --user); PUID/PGID are ignored");
  }

  auto args = command_line(std::vector<std::string>(argv, argv + argc), env_or("TOLLGATE_LISTEN", ""));
  const bool daemon = args.front() == "tollgate";
  if (daemon) {
    const char* cfg_env = std::getenv("TOLLGATE_CONFIG");
    const std::string cfg = cfg_env ? cfg_env : std::string(kData) + "/config.yaml";
    std::error_code ec;
    if (cfg.empty()) {
      ::unsetenv("TOLLGATE_CONFIG");
      log("TOLLGATE_CONFIG is empty: zero-config start from the provider key variables");
    } else if (!fs::exists(cfg, ec)) {
      auto parent = fs::path(cfg).parent_path();
      if (!parent.empty()) fs::create_directories(parent, ec);
      if (ec || !fs::copy_file(kDefaultConfig, cfg, ec) || ec) {
        log("cannot create " + cfg + " as uid " + std::to_string(::geteuid()) +
            ": make its folder writable (see docs/nas.md)");
        return 1;
      }
      log("created " + cfg + " from the image's default config (edit it, then restart or send SIGHUP)");
    }
    if (!cfg.empty()) ::setenv("TOLLGATE_CONFIG", cfg.c_str(), 1);

    // Give /data (and everything in it) to the user the daemon runs as, when it is not already.
    bool failed = false;
    if (root && fs::is_directory(kData, ec) && walk_owner(kData, uid, gid, false, failed)) {
      log("chown -R " + std::to_string(uid) + ":" + std::to_string(gid) + " " + kData);
      walk_owner(kData, uid, gid, true, failed);
      if (failed) log("warning: cannot chown /data (read-only or root-squashed share?)");
    }
    if ((root && uid != 0) ? !writable_as(kData, uid, gid) : ::access(kData, W_OK) != 0)
      log("warning: uid " + std::to_string(uid) +
          " cannot write to /data: the database cannot be created (see docs/nas.md)");
  }

  if (root && uid != 0) {
    if (!become(uid, gid) || ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      log("cannot drop to " + std::to_string(uid) + ":" + std::to_string(gid) + ": " +
          std::strerror(errno));
      return 1;
    }
  }
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  if (daemon) {
    const std::string exe = self_exe();
    ::execv(exe.c_str(), cargv.data());
  } else {
    ::execvp(cargv[0], cargv.data());
  }
  log("cannot run " + args.front() + ": " + std::strerror(errno));
  return 127;
}

int healthcheck_cli(int argc, char** argv) {
  namespace net = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  std::string listen = env_or("TOLLGATE_LISTEN", "");
  if (listen.empty()) listen = "0.0.0.0:8080";
  // --ready asks /ready (serving and its stores reachable) instead of /health (serving): for a
  // healthcheck that a load balancer or `depends_on: service_healthy` should act on.
  const char* path = "/health";
  if (argc >= 1 && std::string_view(argv[0]) == "--ready") {
    path = "/ready";
    --argc;
    ++argv;
  }
  if (argc >= 1) listen = all_digits(argv[0]) ? listen.substr(0, listen.rfind(':') + 1) + argv[0] : argv[0];
  auto addr = probe_address(listen);
  if (!addr) {
    std::cerr << "healthcheck: cannot probe '" << listen << "' (want HOST:PORT)\n";
    return 1;
  }
  try {
    net::io_context ioc;
    net::ip::tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(4));
    stream.connect(resolver.resolve(addr->first, addr->second));
    http::request<http::empty_body> req{http::verb::get, path, 11};
    req.set(http::field::host, addr->first);
    req.set(http::field::connection, "close");
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    http::read(stream, buf, parser);
    const auto status = parser.get().result_int();
    if (status == 200) return 0;
    std::cerr << "unhealthy: HTTP " << status << "\n";
  } catch (const boost::system::system_error& e) {
    std::cerr << "unhealthy: " << addr->first << ":" << addr->second << ": " << e.code().message() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "unhealthy: " << e.what() << "\n";
  }
  return 1;
}

int backup_cli(int argc, char** argv) {
  constexpr const char* kUsage =
      "usage: tollgate backup [--config FILE | --db FILE] DEST\n"
      "Copies the SQLite store (the config's store.sqlite; --config defaults to $TOLLGATE_CONFIG)\n"
      "to DEST with SQLite's online backup API: consistent and safe while tollgate runs.\n";
  std::string config_path = env_or("TOLLGATE_CONFIG", "");
  std::string db, dest;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--db" || a == "--config") && i + 1 < argc) {
      (a == "--db" ? db : config_path) = argv[++i];
    } else if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (dest.empty() && !a.starts_with("-")) {
      dest = a;
    } else {
      std::cerr << kUsage;
      return 2;
    }
  }
  if (dest.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  if (db.empty()) {
    // Only store.sqlite is wanted: errors matter, warnings (a provider key not set) do not.
    config::StoreConfig store;
    if (!config_path.empty()) {
      auto loaded = config::load_config_file(config_path, config::process_env());
      if (!loaded.errors.empty() || !loaded.config) {
        std::cerr << "backup: " << config_path << " has errors (tollgate --check-config "
                  << config_path << ")\n";
        return 1;
      }
      store = loaded.config->store;
    }
    if (!store.postgres.empty()) {  // store.sqlite may still name a file: a stale one
      std::cerr << "backup: the store is PostgreSQL (store.postgres): back it up with pg_dump\n";
      return 1;
    }
    db = store.sqlite;
    if (db.empty()) {
      std::cerr << "backup: the config has no SQLite store (store.sqlite)\n";
      return 1;
    }
  }

  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  const std::string part = dest + ".part";
  auto fail = [&](const std::string& what, sqlite3* h) {
    std::cerr << "backup: " << what << ": " << (h ? sqlite3_errmsg(h) : "out of memory") << "\n";
    sqlite3_close(dst);
    sqlite3_close(src);
    std::remove(part.c_str());
    return 1;
  };
  // Read-write, never create: a mistyped path fails instead of backing up a new empty file.
  if (sqlite3_open_v2(db.c_str(), &src, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
    return fail("cannot open " + db, src);
  sqlite3_busy_timeout(src, 5000);
  std::remove(part.c_str());
  if (sqlite3_open_v2(part.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
    return fail("cannot create " + part, dst);
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (!b) return fail("cannot start the backup", dst);
  int rc = SQLITE_OK;
  for (int tries = 0; tries < 100; ++tries) {  // a writer's lock: retry for up to ~10 s
    rc = sqlite3_backup_step(b, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const int pages = sqlite3_backup_pagecount(b);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return fail("copy of " + db + " failed", dst);
  sqlite3_stmt* check = nullptr;
  std::string verdict;
  if (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &check, nullptr) == SQLITE_OK &&
      sqlite3_step(check) == SQLITE_ROW)
    verdict = reinterpret_cast<const char*>(sqlite3_column_text(check, 0));
  sqlite3_finalize(check);
  if (verdict != "ok") return fail("the copy failed its quick_check (" + verdict + ")", dst);
  sqlite3_close(dst);
  sqlite3_close(src);
  dst = src = nullptr;
  if (std::rename(part.c_str(), dest.c_str()) != 0) {
    std::cerr << "backup: cannot rename " << part << " to " << dest << ": " << std::strerror(errno) << "\n";
    std::remove(part.c_str());
    return 1;
  }
  std::cout << "backup: " << db << " -> " << dest << " (" << pages << " pages, quick_check ok)\n";
  return 0;
}

}  // namespace tg::app
