#!/usr/bin/env bash
# Installs every Debian bookworm package Tollgate needs to build, test and benchmark.
# Safe to run again: apt skips what is already installed.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
PKGS=(
  build-essential cmake pkg-config git ca-certificates curl
  libboost1.81-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libsqlite3-dev libpq-dev prometheus-cpp-dev libgtest-dev libgmock-dev
  postgresql-15  # a real server for the store.postgres tests (tests/support/postgres_server.hpp)
  libhiredis-dev redis-server  # store.redis: the client's parser; a real server for its tests
  libmimalloc-dev  # the daemon's allocator (TOLLGATE_MIMALLOC)
  prometheus  # promtool + a real server for tests/integration/prometheus_test.cpp
  chromium    # the admin web UI's browser test (tests/sdk/browser_ui_test.mjs, playwright-core)
)
# libFuzzer (clang) for fuzzing tests/fuzz for real (docs/fuzzing.md); the test suite only replays
# the corpora, with g++, so CI does without it.
FUZZ=(clang-16 libclang-rt-16-dev)
# Extra tools for tests and benchmarks (npm for the openai SDK check, nginx + wrk for bench/).
EXTRA=(nginx-light wrk)
missing=()
for p in "${PKGS[@]}" ${TOLLGATE_WITH_BENCH:+"${EXTRA[@]}"} ${TOLLGATE_WITH_FUZZ:+"${FUZZ[@]}"}; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# Node.js (for the openai npm SDK end-to-end test): Debian's nodejs+npm unless a node is present.
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
