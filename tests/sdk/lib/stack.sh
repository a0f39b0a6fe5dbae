# Sourced by the real-client test scripts: starts tollgate-mock and tollgate on loopback ports read
# back from --port-file, stops both (by PID) and removes the work directory on exit.
#   tg_start_mock                 sets mock_port, mock_url (http://127.0.0.1:PORT)
#   tg_start_gateway CONFIG_FILE  sets gw_port, gw_url
#   tg_responses_config PREFIX    writes $work/config.yaml: models PREFIX-translated (the mock's
#                                 chat endpoint, upstream model PREFIX-chat-up) and PREFIX-native
#                                 (the mock's /v1/responses, upstream model PREFIX-native-up)
#   tg_fail MESSAGE               prints the message and both logs, exits 1
# TG_SDK_DIRECT=1 skips the gateway: the scripts point the clients straight at the mock (to check
# a client script against the mock's own endpoints; the request-log checks are skipped).
set -euo pipefail
sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
gw_pid=""; mock_pid=""
tg_cleanup() {
  [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
  rm -rf "$work"
}
trap tg_cleanup EXIT

tg_fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $(basename "$f") ---"; tail -n 60 "$f"; }; done >&2
  exit 1
}

# Waits for a --port-file (written atomically by both binaries) while the process lives.
tg_wait_port() {
  local file="$1" pid="$2"
  for _ in $(seq 200); do
    [ -s "$file" ] && { cat "$file"; return 0; }
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

tg_start_mock() {
  "$mock_bin" --listen 127.0.0.1:0 --port-file "$work/mock.port" >"$work/mock.log" 2>&1 &
  mock_pid=$!
  mock_port="$(tg_wait_port "$work/mock.port" "$mock_pid" | tr -d '[:space:]')" || tg_fail "tollgate-mock did not start"
  mock_url="http://127.0.0.1:${mock_port}"
}

tg_start_gateway() {
  "$gw_bin" --config "$1" --listen 127.0.0.1:0 --port-file "$work/gw.port" >"$work/gw.log" 2>&1 &
  gw_pid=$!
  gw_port="$(tg_wait_port "$work/gw.port" "$gw_pid" | tr -d '[:space:]')" || tg_fail "tollgate did not start"
  gw_url="http://127.0.0.1:${gw_port}"
}

tg_direct() { [ "${TG_SDK_DIRECT:-0}" = 1 ]; }

tg_responses_config() {
  cat >"$work/config.yaml" <<YAML
store:
  sqlite: $work/tollgate.db
server:
  master_key: sk-sdk-master
providers:
  mock-chat:
    type: openai-compatible
    base_url: ${mock_url}/v1
    api_key: upstream-key
    responses: translate
  mock-native:
    type: openai-compatible
    base_url: ${mock_url}/v1
    api_key: upstream-key
    responses: native
models:
  - name: $1-translated
    targets: [mock-chat/$1-chat-up]
  - name: $1-native
    targets: [mock-native/$1-native-up]
YAML
}

# Runs after a client: each model has at least MIN rows in the request log that are 200s with
# tokens, and the mock got the translated model's requests on chat, the native one's on responses.
# With a third argument `all`, every row of the log must be a 200 with tokens (checks.mjs log).
tg_check_responses_pair() {
  local prefix="$1" min="$2" all="${3:-}"
  node "$sdk_dir/lib/checks.mjs" log "$gw_url" sk-sdk-master "$prefix-translated" "$min" $all || tg_fail "request log"
  node "$sdk_dir/lib/checks.mjs" log "$gw_url" sk-sdk-master "$prefix-native" "$min" $all || tg_fail "request log"
  node "$sdk_dir/lib/checks.mjs" mock-paths "$mock_url" "$prefix-chat-up" /v1/chat/completions || tg_fail "translated target"
  node "$sdk_dir/lib/checks.mjs" mock-paths "$mock_url" "$prefix-native-up" /v1/responses || tg_fail "native target"
}
