#!/usr/bin/env bash
# Profile-guided optimisation of tollgate in a Release build directory
# (docs/benchmarks.md#profile-guided-optimisation), in three steps:
#   1. an instrumented build of tollgate and tollgate-mock (TOLLGATE_PGO=generate);
#   2. the training load through it (bench/pgo_train.sh, about 10 s), which writes the profile;
#   3. the optimised build (TOLLGATE_PGO=use).
# When the sources are those of the directory's last profile-guided build, only step 3 runs
# (nothing to rebuild: a second scripts/run.sh starts at once).
# If the training fails, the build is finished without PGO: a warning, never a failed build.
# TOLLGATE_PGO=off in the environment skips all of it (a plain build). The directory keeps its
# other cache settings (build type, OpenSSL). Not for cross-compiling: the training runs the binary.
#
#   scripts/pgo.sh BUILD_DIR
#   scripts/pgo.sh --sources-hash     prints the hash a directory's last build is compared with
set -euo pipefail
cd "$(dirname "$0")/.."
# What the profile is trained on: every input of the build and of the training.
sources_hash() {
  { find src include cmake ui config/prices.json CMakeLists.txt bench/pgo_train.sh bench/scratch.sh \
      bench/loadgen.cpp -type f -print0 | sort -z | xargs -0 sha256sum; "${CXX:-g++}" --version | head -1; } |
    sha256sum | cut -d' ' -f1
}
if [[ ${1:-} == --sources-hash ]]; then
  sources_hash
  exit 0
fi
dir="${1:?usage: scripts/pgo.sh BUILD_DIR | --sources-hash}"
jobs="${JOBS:-$(nproc)}"
configure() { cmake -S . -B "$dir" -DTOLLGATE_PGO="$1" >/dev/null; }
build() { cmake --build "$dir" -j"$jobs" --target tollgate tollgate-mock; }

if [[ ${TOLLGATE_PGO:-on} == off ]]; then
  configure ""
  build
  exit 0
fi
profile="$dir/pgo-profile"
stamp="$dir/pgo-sources.sha256"
sources=$(sources_hash)
if [[ -f $stamp && $(cat "$stamp") == "$sources" ]] &&
   grep -qx 'TOLLGATE_PGO:STRING=use' "$dir/CMakeCache.txt" 2>/dev/null; then
  build
  exit 0
fi
rm -f "$stamp"
configure generate
build
rm -rf "$profile"
if bench/pgo_train.sh "$dir/tollgate" "$dir/tollgate-mock"; then
  echo "pgo: trained ($(find "$profile" -name '*.gcda' | wc -l) profile files); the optimised build:"
  configure use
  build
  echo "$sources" >"$stamp"
else
  echo "pgo: WARNING: the training failed; building without profile-guided optimisation" >&2
  configure ""
  build
fi
