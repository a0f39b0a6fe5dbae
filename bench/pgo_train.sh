#!/usr/bin/env bash
# The training load of the profile-guided build (scripts/pgo.sh): an instrumented tollgate in front
# of tollgate-mock on loopback, one worker, the request log and access log on, sent what the
# benchmarks send: chat and streams with the master key and with a virtual key that has a budget
# and limits, and Responses API calls translated to chat. tollgate writes its profile when it exits
# (SIGTERM). About 10 s. The mock is built with the same flags: its own profile goes elsewhere
# (GCOV_PREFIX), so that only tollgate's run shapes the optimised build.
#
#   bench/pgo_train.sh TOLLGATE TOLLGATE_MOCK
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOLLGATE="$1"; MOCK="$2"
# shellcheck source=bench/scratch.sh
source "$ROOT/bench/scratch.sh"
scratch_init tollgate-pgo

"${CXX:-g++}" -O2 -std=c++20 "$ROOT/bench/loadgen.cpp" -o "$TMP/loadgen" -lpthread

GCOV_PREFIX="$TMP/mock-profile" "$MOCK" --listen 127.0.0.1:0 --port-file "$TMP/mock.port" \
  --events 20 >"$TMP/mock.log" 2>&1 &
PIDS+=($!)
wait_file "$TMP/mock.port" || { echo "pgo_train: the mock did not start" >&2; exit 1; }

MASTER=sk-pgo-train-master-0123456789
VKEY=sk-tg-pgo-train-governed-0123456789abcdef
cat >"$TMP/tollgate.yaml" <<EOF
store: { sqlite: "$TMP/tollgate.db" }
server: { master_key: $MASTER, access_log: true }
providers:
  mock: { type: openai-compatible, base_url: "http://127.0.0.1:$(cat "$TMP/mock.port")/v1",
          api_key: mock-key, responses: translate }
keys:
  - name: governed
    key: $VKEY
    budget: { usd: 1000000, period: total }
    limits: { rpm: 100000000, tpm: 100000000000, parallel: 100000 }
pricing:
  mock/gpt-4o-mini: { input: 0.15, output: 0.60 }
EOF
"$TOLLGATE" --config "$TMP/tollgate.yaml" --listen 127.0.0.1:0 --workers 1 \
  --port-file "$TMP/tollgate.port" >"$TMP/tollgate.log" 2>&1 &
TG=$!
PIDS+=("$TG")
wait_file "$TMP/tollgate.port" || { echo "pgo_train: tollgate did not start" >&2; tail "$TMP/tollgate.log" >&2; exit 1; }
PORT=$(cat "$TMP/tollgate.port")

PROMPT="The quick brown fox jumps over the lazy dog again and again"
printf '{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"%s"}]}' "$PROMPT" >"$TMP/chat.json"
printf '{"model":"mock/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"%s"}]}' "$PROMPT" >"$TMP/stream.json"
printf '{"model":"mock/gpt-4o-mini","input":"%s","store":false}' "$PROMPT" >"$TMP/responses.json"
load() {  # load PATH REQUESTS KEY BODY [--stream]
  local out
  out=$("$TMP/loadgen" --url "http://127.0.0.1:$PORT$1" --rate 2000 --requests "$2" --connections 8 \
          --header "Authorization: Bearer $3" --body-file "$4" ${5:-} --timeout 10)
  [[ $out == *"\"errors\":0,"* ]] || { echo "pgo_train: $1 failed: $out" >&2; exit 1; }
}
load /v1/chat/completions 4000 "$MASTER" "$TMP/chat.json"
load /v1/chat/completions 1500 "$MASTER" "$TMP/stream.json" --stream
load /v1/chat/completions 3000 "$VKEY" "$TMP/chat.json"
load /v1/chat/completions 1000 "$VKEY" "$TMP/stream.json" --stream
load /v1/responses 1500 "$MASTER" "$TMP/responses.json"

kill -TERM "$TG"
wait "$TG" || { echo "pgo_train: tollgate did not exit cleanly (no profile written)" >&2; exit 1; }
