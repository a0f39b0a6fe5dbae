#!/usr/bin/env bash
# Configures and builds Tollgate into ./build (Release by default).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_TYPE="${BUILD_TYPE:-Release}"
JOBS="${JOBS:-$(nproc)}"
cmake -S . -B build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DTOLLGATE_BUILD_TESTS="${TOLLGATE_BUILD_TESTS:-ON}" >/dev/null
cmake --build build -j"$JOBS" "$@"
