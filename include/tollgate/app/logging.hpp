#pragma once
// Logging setup: spdlog, asynchronous (a background thread does the writes, so an event loop
// never blocks on stdout), text or JSON lines. Never log a key or a body.

#include <string_view>

#include <spdlog/logger.h>

namespace tg::app {

// Installs the default logger ("tollgate") and the access logger. Safe to call again on reload
// (changes level and format).
void setup_logging(std::string_view format, std::string_view level);
spdlog::logger& access_logger();
void flush_logs();

}  // namespace tg::app
