#pragma once
// Logging setup: spdlog, asynchronous (a background thread does the writes, so an event loop
// never blocks on stdout), text or JSON lines; access lines batched per thread. Never log a key
// or a body.

#include <string_view>

#include <spdlog/logger.h>

namespace tg::app {

// Installs the default logger ("tollgate") and the access logger. Safe to call again on reload
// (changes level and format).
void setup_logging(std::string_view format, std::string_view level);
// One access-log line (the message: "k=v ..." text, or the JSON fields without braces). The
// caller's thread appends it to its own buffer (no lock contention, no wake-up, no syscall); a
// background thread writes every buffer to stdout every 100 ms in one write.
void access_log(std::string_view message);
void flush_logs();  // everything logged so far is on stdout when this returns

}  // namespace tg::app
