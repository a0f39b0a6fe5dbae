#!/usr/bin/env bash
# Starts tollgate-mock and tollgate on free loopback ports and runs the openai-node SDK checks.
# Usage: run_openai_sdk_test.sh <tollgate-bin> <tollgate-mock-bin>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
gw_bin="$1"; mock_bin="$2"
if [ ! -d "$here/node_modules/openai" ]; then
  echo "node_modules/openai missing: run 'npm ci' in tests/sdk (scripts/test.sh does)" >&2
  exit 1
fi
work="$(mktemp -d)"
cleanup() { [ -n "${gw_pid:-}" ] && kill "$gw_pid" 2>/dev/null; [ -n "${mock_pid:-}" ] && kill "$mock_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$mock_bin" --listen 127.0.0.1:0 --port-file "$work/mock.port" >"$work/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 100); do [ -s "$work/mock.port" ] && break; sleep 0.05; done
mock_port="$(cat "$work/mock.port")"
cat >"$work/config.yaml" <<YAML
store:
  sqlite: $work/tollgate.db
server:
  master_key: sk-sdk-master
providers:
  mock:
    type: openai-compatible
    base_url: http://127.0.0.1:${mock_port}/v1
    api_key: upstream-key
models:
  - name: gpt-sdk
    targets: [mock/gpt-4o-mini]
  - name: whisper-sdk
    targets: [mock/whisper-1]
  - name: voice-sdk
    targets: [mock/tts-1]
  - name: painter-sdk
    targets: [mock/dall-e-3]
  - name: omni-moderation-latest
    targets: [mock/omni-moderation-latest]
YAML
"$gw_bin" --config "$work/config.yaml" --listen 127.0.0.1:0 --port-file "$work/gw.port" >"$work/gw.log" 2>&1 &
gw_pid=$!
for _ in $(seq 200); do [ -s "$work/gw.port" ] && break; sleep 0.05; done
gw_port="$(cat "$work/gw.port")"
if ! node "$here/openai_sdk_test.mjs" "http://127.0.0.1:${gw_port}/v1" sk-sdk-master gpt-sdk; then
  echo "--- tollgate log ---"; cat "$work/gw.log"; exit 1
fi
if ! node "$here/openai_media_sdk_test.mjs" "http://127.0.0.1:${gw_port}/v1" sk-sdk-master; then
  echo "--- tollgate log ---"; cat "$work/gw.log"; exit 1
fi
if ! node "$here/anthropic_sdk_test.mjs" "http://127.0.0.1:${gw_port}" sk-sdk-master gpt-sdk; then
  echo "--- tollgate log ---"; cat "$work/gw.log"; exit 1
fi
