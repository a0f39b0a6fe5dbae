#!/usr/bin/env bash
# Configures and builds Tollgate into ./build (Release by default). A Release build of the daemon
# is profile-guided (scripts/pgo.sh: an instrumented build, a 10 s training load, the optimised
# build); TOLLGATE_PGO=off skips that.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_TYPE="${BUILD_TYPE:-Release}"
JOBS="${JOBS:-$(nproc)}"
cmake -S . -B build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DTOLLGATE_BUILD_TESTS="${TOLLGATE_BUILD_TESTS:-ON}" >/dev/null
if [[ $BUILD_TYPE == Release ]]; then
  JOBS="$JOBS" ./scripts/pgo.sh build
else
  cmake -S . -B build -DTOLLGATE_PGO= >/dev/null
fi
cmake --build build -j"$JOBS" "$@"
