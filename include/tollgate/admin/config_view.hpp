#pragma once
// GET /admin/config and POST /admin/reload's answer: the running configuration as the web UI
// shows it, with every secret redacted (the file's text and the effective values), and the
// outcome of the last reload. Pure: no Asio, no disk (the caller hands in the file's text).

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tollgate/config/config.hpp"
#include "tollgate/core/json_writer.hpp"

namespace tg::admin {

inline constexpr std::string_view kRedacted = "[redacted]";

// Every secret value the config holds (master and metrics keys, provider keys and credentials,
// header values, virtual keys), for redact_text.
std::vector<std::string> secrets_of(const config::Config& c);

// The config file's text with secrets replaced by [redacted]: the values of secret-named fields
// (and of the lists under them) unless they are only ${VAR} references, and every occurrence
// of a known secret value wherever it appears.
std::string redact_yaml(std::string_view text, const std::vector<std::string>& secrets);

// The effective configuration (defaults filled in), secrets redacted: one JSON object.
void write_effective_config(JsonWriter& w, const config::Config& c);
std::string effective_config_text(const config::Config& c);

// A reload's outcome.
struct ReloadOutcome {
  bool ok = true;
  int64_t at_ms = 0;
  std::string why;                           // "admin API", "SIGHUP", "file changed"
  std::vector<config::ConfigError> errors;   // why it was refused (path "" for a non-file reason)
};
// [{line, message, path}], line null when unknown.
void write_errors(JsonWriter& w, const std::vector<config::ConfigError>& errors);

// What /admin/config reports beyond the snapshot: the source, when it was loaded, its text
// (redacted when set) and the last reload. Thread-safe.
class ConfigStatus {
 public:
  void loaded(std::string source, std::string redacted_text, int64_t at_ms);
  void reloaded(ReloadOutcome outcome);
  struct View {
    std::string source;
    int64_t loaded_at_ms = 0;
    std::string yaml;
    std::optional<ReloadOutcome> last_reload;
  };
  View get() const;

 private:
  mutable std::mutex mu_;
  View v_;
};

}  // namespace tg::admin
