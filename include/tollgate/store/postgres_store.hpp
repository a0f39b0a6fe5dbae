#pragma once
// The PostgreSQL store (store.postgres): what SqliteStore holds, in a server several gateway
// instances share. Nothing here runs on an event loop: a writer thread commits request rows and
// spend in batches (multi-row INSERT, spend as additive upserts so instances add up exactly), a
// small pool of reader threads answers queries, and a listener thread receives other instances'
// key and team changes (LISTEN/NOTIFY) for Store::on_change.

#include <iosfwd>
#include <memory>
#include <string>

#include "tollgate/store/store.hpp"

namespace tg::store {

struct PostgresOptions {
  int readers = 2;          // reader connections (admin queries, stored Responses)
  int connect_timeout_s = 5;
};

// Connects, applies the schema migrations and starts the threads. Returns nullptr and sets
// *error when the server cannot be reached at start or the schema cannot be brought up to date
// (later outages are survived: rows queue, see StoreOptions::max_queued_rows).
std::unique_ptr<Store> open_postgres_store(const std::string& url, StoreOptions options,
                                           std::string* error, PostgresOptions pg = {});

// `tollgate store migrate`: copies an SQLite store (keys, teams, spend, request log, rollups,
// stored Responses) into a PostgreSQL database whose tables are empty, in one transaction, and
// prints the counts to `out`. Refuses a target that already holds data. Returns 0 on success.
int migrate_sqlite_to_postgres(const std::string& sqlite_path, const std::string& url,
                               std::ostream& out, std::ostream& err);

}  // namespace tg::store
