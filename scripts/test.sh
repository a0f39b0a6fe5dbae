#!/usr/bin/env bash
# The README's second command (and CI's): install what is needed, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# The real clients of tests/sdk (openai, Anthropic and AI SDKs, Codex CLI, Claude Code; pinned in package-lock).
if command -v npm >/dev/null 2>&1; then
  (cd tests/sdk && npm ci --no-audit --no-fund --loglevel=error)
fi
BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" ./scripts/build.sh
cd build
ctest --output-on-failure -j"${TEST_JOBS:-2}" --timeout 300 "$@"
