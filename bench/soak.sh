#!/usr/bin/env bash
# Tollgate's soak test: open-loop mixed chat and streams with budgeted virtual keys against the real
# daemon and tollgate-mock, with real-life churn, then the books checked to the nano-dollar.
#
#   bench/soak.sh [MINUTES] [--rate N] [--kill9] [--keep]
#
#   MINUTES       how long the soak runs (default: $SOAK_MINUTES or 10)
#   --rate N      requests per second, open loop (default: $SOAK_RATE or 200)
#   --kill9       afterwards, SIGKILL the daemon under load, restart it on the same database and
#                 report the answered requests whose rows (and spend) were lost
#   --keep        keep the scratch directory (configs, daemon and mock logs, the database)
#
# Environment: TOLLGATE_BIN, MOCK_BIN (default ./build/tollgate, ./build/tollgate-mock);
# SOAK_RELOAD_EVERY (s, default 60), SOAK_KEY_EVERY (s, default 5), SOAK_FAULT_EVERY (s, default
# 20), SOAK_FAULT_DOWN (s, default 5), SOAK_KILL_AFTER (s of load before the SIGKILL, default 8),
# SOAK_SEED (default 16).
#
# During the soak: a config reload every SOAK_RELOAD_EVERY seconds, rotating between a broken file
# (must be refused) followed by its fix, POST /admin/reload, and the file rewritten (each rewrite
# adds a model alias, which must route once the file watcher has reloaded); a key created every SOAK_KEY_EVERY seconds and the
# oldest churned key deleted once there are four (a request with it must then get 401); the primary
# upstream answering 503 to everything for SOAK_FAULT_DOWN seconds every SOAK_FAULT_EVERY seconds,
# and in between a few streams cut short, ended by an error event, or reset; 12 % of requests are
# slow streams of which most are hung up on by the client part-way.
#
# Output: a markdown summary on stdout and in bench/results/soak-latest.md, the full figures in
# bench/results/soak-latest.json. Exit status 1 if a check of the books failed.
# Needs python3 (standard library only). Run it with `nice -n 10` on a shared machine.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MINUTES="${SOAK_MINUTES:-10}"
RATE="${SOAK_RATE:-200}"
KILL9=()
KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rate) RATE="$2"; shift ;;
    --kill9) KILL9=(--kill9) ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    [0-9]*) MINUTES="$1" ;;
    *) echo "soak.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

TOLLGATE_BIN="${TOLLGATE_BIN:-$ROOT/build/tollgate}"
MOCK_BIN="${MOCK_BIN:-$ROOT/build/tollgate-mock}"
for b in "$TOLLGATE_BIN" "$MOCK_BIN"; do
  [[ -x $b ]] || { echo "soak.sh: no executable at $b (set TOLLGATE_BIN / MOCK_BIN)" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "soak.sh: needs python3" >&2; exit 2; }

TMP="$(mktemp -d /tmp/tollgate-soak.XXXXXX)"
RESULTS="$ROOT/bench/results"
mkdir -p "$RESULTS"
status=0
cleanup() {
  # A failed run keeps its files too: the daemon's log says why.
  if [[ $KEEP == 1 || $status != 0 ]]; then echo "[soak] scratch files kept in $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# The driver starts and stops its own processes (by PID) and checks the books.
python3 "$ROOT/bench/soak.py" --minutes "$MINUTES" --rate "$RATE" "${KILL9[@]}" \
  --tollgate "$(realpath "$TOLLGATE_BIN")" --mock "$(realpath "$MOCK_BIN")" --tmp "$TMP" \
  --out "$RESULTS/soak-latest.json" \
  --reload-every "${SOAK_RELOAD_EVERY:-60}" --key-every "${SOAK_KEY_EVERY:-5}" \
  --fault-every "${SOAK_FAULT_EVERY:-20}" --fault-down "${SOAK_FAULT_DOWN:-5}" \
  --kill-after "${SOAK_KILL_AFTER:-8}" --seed "${SOAK_SEED:-16}" &
DRIVER=$!
trap 'kill -TERM "$DRIVER" 2>/dev/null || true' INT TERM  # the driver then stops its own processes
wait "$DRIVER" || status=$?
wait "$DRIVER" 2>/dev/null || true  # (again, if a signal interrupted the first wait)
exit "$status"
