#!/usr/bin/env bash
# The SQLite store benchmark (bench/store_bench.cpp): 1,000,000 request rows over 90 days, 50 keys,
# 10 models, written through Store::record; then /admin/spend and /admin/logs queries and a
# retention run, timed. The figures in docs/observability.md come from it. Under 2 minutes.
#
#   bench/store_bench.sh [BUILD_DIR] [-- store_bench args: --rows N --days D --keys K --models M
#                                                          --retention-days R --db PATH --keep]
#
# BUILD_DIR (default: build) must hold libtg_core.a; it is built there (cmake, RelWithDebInfo)
# when missing. The benchmark links tg_core by hand, nothing is added to CMake. It writes to a
# temporary directory (removed afterwards) unless --db is given; put it on the disk you care about
# with --db (e.g. --db /data/bench/tollgate.db).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build}"
[ "$#" -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift

if [ ! -f "$BUILD/libtg_core.a" ]; then
  echo "building tg_core in $BUILD ..."
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target tg_core
fi

BIN="$BUILD/store_bench"
if [ ! -x "$BIN" ] || [ "$BIN" -ot "$ROOT/bench/store_bench.cpp" ] || [ "$BIN" -ot "$BUILD/libtg_core.a" ]; then
  echo "compiling $BIN ..."
  # shellcheck disable=SC2046
  g++ -O2 -std=c++20 -I "$ROOT/include" $(pkg-config --cflags spdlog fmt) \
    "$ROOT/bench/store_bench.cpp" "$BUILD/libtg_core.a" \
    $(pkg-config --libs spdlog fmt sqlite3) -lpthread -o "$BIN"
fi

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
fs="$(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}')"
echo "machine: $(nproc) core(s), $cpu, SQLite $(pkg-config --modversion sqlite3), tmp on $fs"
exec "$BIN" "$@"
