#pragma once
// A thin RAII layer over libpq for the PostgreSQL store and `tollgate store migrate`: one
// blocking connection (used only from the store's own threads, never an event loop), queries
// with text parameters, results read by row and column. Errors throw PgError.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace tg::store::pg {

struct PgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A query parameter in text form; nullopt is SQL NULL.
using Param = std::optional<std::string>;
inline Param p(std::string_view s) { return std::string(s); }
inline Param p(const char* s) { return std::string(s); }  // not the bool overload
inline Param p(const std::string& s) { return s; }
Param p(int64_t v);
Param p(double v);
inline Param p(int v) { return p(int64_t(v)); }
inline Param p(bool v) { return std::string(v ? "t" : "f"); }
inline Param null() { return std::nullopt; }

// Text PostgreSQL accepts: valid UTF-8 without NUL (anything else becomes U+FFFD), so that a
// hostile byte in a logged body can never make a batch fail for ever.
std::string clean_text(std::string_view s);

class Result {
 public:
  explicit Result(pg_result* r) : r_(r) {}
  Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Result& operator=(Result&&) = delete;
  Result(const Result&) = delete;
  ~Result();
  int rows() const;
  int64_t affected() const;  // rows changed by an INSERT/UPDATE/DELETE
  bool is_null(int row, int col) const;
  std::string text(int row, int col) const;
  int64_t i64(int row, int col) const;
  double f64(int row, int col) const;
  bool boolean(int row, int col) const;

 private:
  pg_result* r_;
};

struct Notification {
  int backend_pid = 0;  // the session that sent it
  std::string payload;
};

class Conn {
 public:
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn();
  // Connects (closing any previous connection); false and *error on failure. TCP keepalives and
  // a user timeout bound how long a query can wait on a server that vanished.
  bool connect(const std::string& url, int connect_timeout_s, std::string* error);
  void close();
  bool ok() const;  // connected and not known broken
  int backend_pid() const;
  // For LISTEN: the socket to poll, reading what arrived (false and *error when the connection
  // is lost), and the notifications read so far.
  int socket() const;
  bool consume_input(std::string* error);
  std::vector<Notification> notifications();

  Result exec(std::string_view sql, const std::vector<Param>& params = {});
  // BEGIN ... COMMIT around f; ROLLBACK (best effort) and rethrow on any error.
  template <typename F>
  void transaction(F&& f) {
    exec("BEGIN");
    try {
      f();
      exec("COMMIT");
    } catch (...) {
      rollback();
      throw;
    }
  }
  void rollback() noexcept;

 private:
  pg_conn* c_ = nullptr;
};

// The URL with its password replaced by "***", for logs and messages.
std::string redact_url(std::string_view url);

// Applies the numbered schema migrations that are missing (a schema_migrations table records
// them). Serialised across instances that start at once by a session advisory lock. Throws.
void migrate(Conn& c);
int latest_schema_version();

}  // namespace tg::store::pg
