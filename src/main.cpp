// tollgate: the daemon's entry point. Flags -> options -> app::run. Nothing else lives here.

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>

#include "tollgate/app/app.hpp"
#include "tollgate/app/container_cli.hpp"
#include "tollgate/app/keys_cli.hpp"
#include "tollgate/store/postgres_store.hpp"

#ifdef TG_MIMALLOC
#include <fmt/format.h>
#include <mimalloc.h>
#endif

namespace {

// What serves malloc. With TG_MIMALLOC, mimalloc is linked first so that the dynamic linker binds
// malloc to it; an allocation it does not own means something else was bound first, which the
// start-up line says rather than hides.
std::string allocator_name() {
#ifdef TG_MIMALLOC
  void* probe = std::calloc(1, 64);  // (calloc: GCC warns of passing malloc's bytes unread)
  const bool bound = mi_is_in_heap_region(probe);
  std::free(probe);
  const int v = mi_version();  // e.g. 209 for 2.0.9
  return fmt::format("mimalloc {}.{}.{}{}", v / 100, v / 10 % 10, v % 10,
                     bound ? "" : " (linked, but malloc is bound elsewhere)");
#else
  return "glibc malloc";
#endif
}

// tollgate store migrate --from FILE --to URL (docs/scaling.md).
int store_cli(int argc, char** argv) {
  std::string from, to;
  if (argc < 1 || std::string(argv[0]) != "migrate") {
    std::cerr << "usage: tollgate store migrate --from ./data/tollgate.db --to postgresql://...\n";
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--from" || arg == "--to") && i + 1 < argc) {
      (arg == "--from" ? from : to) = argv[++i];
    } else {
      std::cerr << "error: unknown argument '" << arg << "'\n";
      return 2;
    }
  }
  if (from.empty() || to.empty()) {
    std::cerr << "usage: tollgate store migrate --from ./data/tollgate.db --to postgresql://...\n"
                 "(the password may come from PGPASSWORD instead of the URL)\n";
    return 2;
  }
  return tg::store::migrate_sqlite_to_postgres(from, to, std::cout, std::cerr);
}

constexpr const char* kUsage = R"(tollgate - a fast AI gateway (OpenAI-compatible LLM proxy)

Usage:
  tollgate [--config FILE] [--listen HOST:PORT] [--workers N] [--port-file FILE]
  tollgate --check-config FILE
  tollgate keys create|list|revoke ...   (manage virtual keys of the running daemon)
  tollgate store migrate --from FILE.db --to postgresql://...   (SQLite -> PostgreSQL, once)
  tollgate backup [--config FILE | --db FILE] DEST   (online copy of the SQLite store; not store.postgres)
  tollgate healthcheck [--ready] [PORT | HOST:PORT]   (GET /health or /ready: exit 0 on HTTP 200)
  tollgate entrypoint [CMD ARGS...]       (the container image's entrypoint: docs/nas.md)
  tollgate --version | --help

Config: --config FILE, else $TOLLGATE_CONFIG, else a zero-config start that creates providers
from the well-known key variables (OPENAI_API_KEY, ANTHROPIC_API_KEY, GROQ_API_KEY, ...).
Docs: README.md and docs/config.md.
)";

}  // namespace

int main(int argc, char** argv) {
  const std::string sub = argc >= 2 ? argv[1] : "";
  if (sub == "keys") return tg::app::keys_cli(argc - 2, argv + 2);
  if (sub == "backup") return tg::app::backup_cli(argc - 2, argv + 2);
  if (sub == "healthcheck") return tg::app::healthcheck_cli(argc - 2, argv + 2);
  if (sub == "entrypoint") return tg::app::entrypoint_cli(argc - 2, argv + 2);
  if (sub == "store") return store_cli(argc - 2, argv + 2);
  tg::app::Options options;
  options.allocator = allocator_name();
  if (const char* env = std::getenv("TOLLGATE_CONFIG"); env && *env) options.config_path = env;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "error: " << name << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--version") {
      std::cout << "tollgate " << TOLLGATE_VERSION << " (" << allocator_name() << ")\n";
      return 0;
    } else if (arg == "--config" || arg == "-c") {
      options.config_path = value("--config");
    } else if (arg == "--check-config") {
      tg::app::Options check;
      check.config_path = value("--check-config");
      auto cfg = tg::app::load_initial(check);
      if (!cfg) return 1;
      std::cout << check.config_path << ": OK (" << cfg->providers.size() << " provider(s), "
                << cfg->models.size() << " model(s))\n";
      return 0;
    } else if (arg == "--listen") {
      options.listen = value("--listen");
    } else if (arg == "--port-file") {
      options.port_file = value("--port-file");
    } else if (arg == "--workers") {
      options.workers = std::atoi(value("--workers").c_str());
    } else {
      std::cerr << "error: unknown argument '" << arg << "'\n\n" << kUsage;
      return 2;
    }
  }
  return tg::app::run(options);
}
