#pragma once
// Wiring: loads the config, builds snapshots, starts the workers, handles signals, reloads
// (SIGHUP, POST /admin/reload, a change of the file) and graceful shutdown.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tollgate/config/config.hpp"

namespace tg::app {

struct Options {
  std::string config_path;           // empty: zero-config from the environment
  std::optional<std::string> listen; // overrides server.listen
  std::optional<int> workers;        // overrides server.workers
  std::string port_file;             // written with the bound port once listening
  std::string allocator = "glibc malloc";  // what serves malloc, for the start-up line
};

// Runs the daemon until SIGTERM/SIGINT; returns the process exit code.
int run(const Options& options);

// Loads a config for the given options (file or zero-config); prints errors to stderr.
std::optional<config::Config> load_initial(const Options& options);

}  // namespace tg::app
