#!/usr/bin/env bash
# The README's second command (and CI's): install what is needed, build, run every test; then the
# same suites again under the sanitizers:
#   1. build/       the normal build: unit, integration, SDK tests and the fuzz corpora replayed
#   2. build-asan/  ASan+UBSan (-O1 -g1): the unit and integration tests (the daemon and the mock
#                   they start are ASan builds too)
#   3. build-tsan/  TSan: the threaded parts of the core (the SQLite and PostgreSQL stores' threads,
#                   the ledger, the rate limiter, the key index, the health table, the cache)
#                   through their unit tests
# (CI's budget is 45 minutes on 2 cores: three builds fit, a third full one for TSan would not.)
# Any sanitizer report fails the run, even one from a child process (the daemon, the mock) in a
# test that otherwise passed: reports go to files, and a file there is a failure.
# SANITIZERS="asan tsan" (the default) picks the sanitizer parts; SANITIZERS="" runs only part 1.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# The real clients of tests/sdk (openai, Anthropic and AI SDKs, Codex CLI, Claude Code; pinned in package-lock).
if command -v npm >/dev/null 2>&1; then
  (cd tests/sdk && npm ci --no-audit --no-fund --loglevel=error)
fi
JOBS="${JOBS:-$(nproc)}"
TEST_JOBS="${TEST_JOBS:-2}"
SANITIZERS="${SANITIZERS-asan tsan}"

timed() {  # timed LABEL COMMAND...: runs it and prints how long it took
  local label="$1" start=$SECONDS
  shift
  "$@"
  echo "== ${label}: $((SECONDS - start)) s"
}

# Fails when a sanitizer wrote a report into $1 (reports go there through *SAN_OPTIONS log_path).
no_reports() {
  if compgen -G "$1/*" >/dev/null; then
    echo "sanitizer reports in $1:" >&2
    head -n 60 "$1"/* >&2
    return 1
  fi
}

# 1. The normal build.
timed "build" env BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" JOBS="$JOBS" ./scripts/build.sh
(cd build && timed "tests" ctest --output-on-failure -j"$TEST_JOBS" --timeout 300 "$@")

# The targets a sanitizer part builds (the integration tests bring tollgate and tollgate-mock).
sanitizer_build() {  # sanitizer_build DIR CMAKE_OPTION TARGETS...
  local dir="$1" option="$2"
  shift 2
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
        -D"$option"=ON >/dev/null
  cmake --build "$dir" -j"$JOBS" --target "$@"
}

# 2. ASan+UBSan: every unit and integration test.
if [[ " $SANITIZERS " == *" asan "* ]]; then
  reports="$PWD/build-asan/sanitizer-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  timed "asan build" sanitizer_build build-asan TOLLGATE_SANITIZE tg_unit_tests tg_integration_tests
  (cd build-asan &&
   ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:log_path=$reports/asan" \
   UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan" \
   timed "asan tests" ctest --output-on-failure -j"$TEST_JOBS" --timeout 600 -E '^(sdk|fuzz)\.' "$@")
  no_reports "$reports"
fi

# 3. TSan: the threaded parts.
if [[ " $SANITIZERS " == *" tsan "* ]]; then
  reports="$PWD/build-tsan/sanitizer-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  timed "tsan build" sanitizer_build build-tsan TOLLGATE_TSAN tg_unit_tests
  threaded='^(Store|PostgresStore|GovLedger|GovRateLimit|GovKeys|HealthTable|ResponseCache)'
  (cd build-tsan &&
   TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan" \
   timed "tsan tests" ctest --output-on-failure -j"$TEST_JOBS" --timeout 600 -R "$threaded" "$@")
  no_reports "$reports"
fi
