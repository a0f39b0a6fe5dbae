#!/usr/bin/env bash
# Profile-guided optimisation of tollgate in a Release build directory
# (docs/benchmarks.md#profile-guided-optimisation), in three steps:
#   1. an instrumented build of tollgate and tollgate-mock (TOLLGATE_PGO=generate);
#   2. the training load through it (bench/pgo_train.sh, about 10 s), which writes the profile;
#   3. the optimised build (TOLLGATE_PGO=use).
# If the training fails, the build is finished without PGO: a warning, never a failed build.
# TOLLGATE_PGO=off in the environment skips all of it (a plain build). The directory keeps its
# other cache settings (build type, OpenSSL, cross-compiling is not supported: the training runs
# the binary).
#
#   scripts/pgo.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$1"
jobs="${JOBS:-$(nproc)}"
configure() { cmake -S . -B "$dir" -DTOLLGATE_PGO="$1" >/dev/null; }
build() { cmake --build "$dir" -j"$jobs" --target tollgate tollgate-mock; }

if [[ ${TOLLGATE_PGO:-on} == off ]]; then
  configure ""
  build
  exit 0
fi
configure generate
build
profile="$dir/pgo-profile"
rm -rf "$profile"
if bench/pgo_train.sh "$dir/tollgate" "$dir/tollgate-mock"; then
  echo "pgo: trained ($(find "$profile" -name '*.gcda' | wc -l) profile files); the optimised build:"
  configure use
else
  echo "pgo: WARNING: the training failed; building without profile-guided optimisation" >&2
  configure ""
fi
build
