#!/usr/bin/env bash
# Codex CLI (`codex exec`, @openai/codex) pointed at Tollgate's /v1/responses (wire_api =
# "responses", its only wire format), answering through a translated target (tollgate-mock's chat
# endpoint) and through a native one (tollgate-mock's /v1/responses). Codex always sends its tools:
# the mock calls the first one (exec_command) with arguments Codex rejects, Codex sends the error
# back as a function_call_output and the mock answers "mock: tool said ...", so each run is a
# function_call round trip of two requests.
# Usage: run_codex_test.sh <tollgate-bin> <tollgate-mock-bin>
gw_bin="$1"; mock_bin="$2"
source "$(dirname "$0")/lib/stack.sh"
codex_bin="$sdk_dir/node_modules/@openai/codex/bin/codex.js"
[ -f "$codex_bin" ] || tg_fail "@openai/codex missing: run 'npm ci' in tests/sdk"

tg_start_mock
tg_responses_config codex
if tg_direct; then base_url="${mock_url}/v1"; else tg_start_gateway "$work/config.yaml"; base_url="${gw_url}/v1"; fi

# The config.toml a user writes (docs/clients.md), plus what keeps a test offline and quick:
# no analytics, no plugin sync (it reaches github.com and chatgpt.com), no retries.
mkdir -p "$work/codex-home" "$work/project"
cat >"$work/codex-home/config.toml" <<TOML
model_provider = "tollgate"
check_for_update_on_startup = false
web_search = "disabled"

[model_providers.tollgate]
name = "Tollgate"
base_url = "${base_url}"
wire_api = "responses"
env_key = "TOLLGATE_API_KEY"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[features]
plugins = false
TOML

# Codex never gives up on a connection refused ("Reconnecting... waiting for network"): `timeout`.
run_codex() {
  local model="$1" prompt="$2"
  (cd "$work/project" && env -i PATH="$PATH" HOME="$work/home" CODEX_HOME="$work/codex-home" \
      TOLLGATE_API_KEY=sk-sdk-master TERM=dumb \
      timeout 60 node "$codex_bin" exec --strict-config --skip-git-repo-check --ephemeral \
      --color never -m "$model" -o "$work/last-$model.txt" -- "$prompt" \
      </dev/null >"$work/codex-$model.log" 2>&1)
}

models=(codex-native)
tg_direct || models=(codex-translated codex-native)
for model in "${models[@]}"; do
  run_codex "$model" "Hello from Codex ✓" || tg_fail "codex exec exited $? for $model"
  out="$(cat "$work/last-$model.txt")"
  case "$out" in
    "mock: tool said "*exec_command*|"mock: tool said "*cmd*) echo "codex exec through $model: ${out%%$'\n'*}" ;;
    *) tg_fail "codex exec answered '$out' for $model" ;;
  esac
done
tg_direct && { echo "sdk.codex (direct to the mock, native only): ok"; exit 0; }

tg_check_responses_pair codex 2 all
echo "sdk.codex: ok"
