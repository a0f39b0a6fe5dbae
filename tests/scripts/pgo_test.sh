#!/usr/bin/env bash
# scripts/pgo.sh's three paths, with a stub cmake that records its calls (no real build), then
# bench/pgo_train.sh for real against the built daemon and mock: the training load must run
# without an error and tollgate must exit cleanly (else a Release build silently loses its
# profile).
#   tests/scripts/pgo_test.sh TOLLGATE TOLLGATE_MOCK
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TMP="$(mktemp -d /tmp/tollgate-pgo-test.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$TMP/bin" "$TMP/bd"
printf '#!/bin/sh\necho "cmake $*" >>"%s/calls"\n' "$TMP" >"$TMP/bin/cmake"
chmod +x "$TMP/bin/cmake"
run() { rm -f "$TMP/calls"; PATH="$TMP/bin:$PATH" "$ROOT/scripts/pgo.sh" "$TMP/bd" >"$TMP/out" 2>&1; }
calls() { grep -c . "$TMP/calls" || true; }

# A directory whose last profile-guided build had these sources: only the build runs.
echo 'TOLLGATE_PGO:STRING=use' >"$TMP/bd/CMakeCache.txt"
"$ROOT/scripts/pgo.sh" --sources-hash >"$TMP/bd/pgo-sources.sha256"
run
[[ $(calls) == 1 ]] && grep -q -- '--build' "$TMP/calls" || fail "unchanged sources: $(cat "$TMP/calls")"

# Changed sources, and a training that cannot start (the stub built nothing): the three steps
# fall back to a plain build, with a warning, and no error.
echo stale >"$TMP/bd/pgo-sources.sha256"
run || fail "a failed training failed the build: $(cat "$TMP/out")"
grep -q 'DTOLLGATE_PGO=generate' "$TMP/calls" || fail "no instrumented build: $(cat "$TMP/calls")"
tail -2 "$TMP/calls" | head -1 | grep -q 'DTOLLGATE_PGO=$' || fail "no plain build after the failure: $(cat "$TMP/calls")"
grep -q 'WARNING: the training failed' "$TMP/out" || fail "no warning: $(cat "$TMP/out")"
[[ ! -f $TMP/bd/pgo-sources.sha256 ]] || fail "a failed training left a stamp"

# TOLLGATE_PGO=off: one plain configure and build.
rm -f "$TMP/calls"
TOLLGATE_PGO=off PATH="$TMP/bin:$PATH" "$ROOT/scripts/pgo.sh" "$TMP/bd" >/dev/null
[[ $(calls) == 2 ]] && ! grep -q generate "$TMP/calls" || fail "TOLLGATE_PGO=off: $(cat "$TMP/calls")"

# The training load itself, for real.
"$ROOT/bench/pgo_train.sh" "$1" "$2" || fail "the training load failed"
echo "pgo: all paths as expected"
