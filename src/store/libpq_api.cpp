#include "libpq_api.hpp"

#include <dlfcn.h>

#include <string>

#include "tollgate/store/postgres_conn.hpp"

namespace tg::store::pg {
namespace {

// The loaded API, or why it could not be loaded (kept: every later call says the same).
struct Loaded {
  LibpqApi api{};
  std::string error;
};

template <typename F>
void bind(void* lib, const char* name, F& slot, std::string& error) {
  slot = reinterpret_cast<F>(::dlsym(lib, name));
  if (!slot && error.empty()) error = std::string("libpq.so.5 has no ") + name;
}

Loaded load() {
  Loaded out;
  // Never closed: the functions stay valid for the life of the process.
  void* lib = ::dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = ::dlerror();
    out.error = std::string("store.postgres needs libpq (Debian's libpq5): ") +
                (why ? why : "libpq.so.5 not found");
    return out;
  }
  auto& a = out.api;
  std::string& e = out.error;
#define TG_BIND(name) bind(lib, #name, a.name, e)
  TG_BIND(PQconnectdbParams); TG_BIND(PQstatus); TG_BIND(PQerrorMessage);
  TG_BIND(PQsetNoticeProcessor); TG_BIND(PQbackendPID); TG_BIND(PQfinish); TG_BIND(PQexec);
  TG_BIND(PQexecParams); TG_BIND(PQresultStatus); TG_BIND(PQresultErrorMessage); TG_BIND(PQclear);
  TG_BIND(PQntuples); TG_BIND(PQcmdTuples); TG_BIND(PQgetisnull); TG_BIND(PQgetvalue);
  TG_BIND(PQgetlength); TG_BIND(PQsocket); TG_BIND(PQconsumeInput); TG_BIND(PQnotifies);
  TG_BIND(PQfreemem);
#undef TG_BIND
  return out;
}

}  // namespace

const LibpqApi& libpq() {
  static const Loaded loaded = load();
  if (!loaded.error.empty()) throw PgError(loaded.error);
  return loaded.api;
}

}  // namespace tg::store::pg
