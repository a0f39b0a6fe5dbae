#pragma once
// The container image's helpers, built into the daemon so that the runtime image needs no shell
// and no coreutils (docker/Dockerfile is FROM scratch): the entrypoint, the HEALTHCHECK and an
// online backup of the SQLite store. Each takes argv after its subcommand and returns the exit code.

namespace tg::app {

// `tollgate entrypoint [CMD ARGS...]`: PUID/PGID, /data/config.yaml on first start, chown of
// /data, then drops to the user and execs CMD (default: the daemon). docs/nas.md section 3.
int entrypoint_cli(int argc, char** argv);

// `tollgate healthcheck [--ready] [PORT | HOST:PORT]`: GET /health (or /ready) on
// $TOLLGATE_LISTEN; 0 on HTTP 200.
int healthcheck_cli(int argc, char** argv);

// `tollgate backup [--config FILE | --db FILE] DEST`: SQLite's online backup API (WAL-safe).
int backup_cli(int argc, char** argv);

}  // namespace tg::app
