#!/usr/bin/env bash
# The README's first command: install what is needed, build, start tollgate with config/config.yaml.
# Usage: ./scripts/run.sh [extra tollgate flags]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
TOLLGATE_BUILD_TESTS=OFF ./scripts/build.sh --target tollgate tollgate-mock
mkdir -p data
exec ./build/tollgate --config "${TOLLGATE_CONFIG:-config/config.yaml}" "$@"
