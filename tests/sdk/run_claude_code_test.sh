#!/usr/bin/env bash
# Claude Code (`claude -p`, @anthropic-ai/claude-code) pointed at Tollgate's /v1/messages, answering
# through an Anthropic target and through an OpenAI-compatible (chat) one, both on tollgate-mock.
# Every request Claude Code makes must be answered 200: its first request of a session carries
# {"role":"system"} entries inside `messages`, which must not cost a 400 and a retry.
# Usage: run_claude_code_test.sh <tollgate-bin> <tollgate-mock-bin>
gw_bin="$1"; mock_bin="$2"
source "$(dirname "$0")/lib/stack.sh"
claude_bin="$sdk_dir/node_modules/@anthropic-ai/claude-code/bin/claude.exe"
# The package's postinstall copies the native binary over bin/claude.exe; without install scripts
# the platform package still has it.
if ! "$claude_bin" --version >/dev/null 2>&1; then
  claude_bin="$sdk_dir/node_modules/@anthropic-ai/claude-code-linux-x64/claude"
fi
"$claude_bin" --version >/dev/null 2>&1 || tg_fail "claude binary missing: run 'npm ci' in tests/sdk"

tg_start_mock
cat >"$work/config.yaml" <<YAML
store:
  sqlite: $work/tollgate.db
server:
  master_key: sk-sdk-master
providers:
  mock-anthropic:
    type: anthropic
    base_url: ${mock_url}
    api_key: upstream-key
  mock:
    type: openai-compatible
    base_url: ${mock_url}/v1
    api_key: upstream-key
models:
  - name: claude-mock
    targets: [mock-anthropic/claude-up]
  - name: claude-via-chat
    targets: [mock/claude-chat-up]
YAML
tg_start_gateway "$work/config.yaml"

mkdir -p "$work/home" "$work/project"
# A fresh HOME (no ~/.claude state), no traffic to any host but the gateway, no prompts.
run_claude() {
  local model="$1"; shift
  (cd "$work/project" && env -i PATH="$PATH" HOME="$work/home" TERM=dumb \
      ANTHROPIC_BASE_URL="$gw_url" ANTHROPIC_API_KEY=sk-sdk-master \
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 \
      DISABLE_ERROR_REPORTING=1 \
      timeout 60 "$claude_bin" -p --model "$model" "$@" </dev/null 2>>"$work/claude.log")
}

# Without tools the mock's answer is "mock: " + the text of the last user message, which is the
# prompt after the <system-reminder> blocks Claude Code puts before it.
out="$(run_claude claude-mock --tools "" -- "Hello from Claude Code ✓")" || tg_fail "claude -p exited $?: $out"
case "$out" in
  "mock: "*"Hello from Claude Code ✓") echo "claude -p, no tools, through claude-mock: ...${out: -24}" ;;
  *) tg_fail "claude -p answered '$out'" ;;
esac

# With its default tools the mock calls the first one (Agent) with arguments Claude Code rejects;
# Claude Code sends the error back as a tool_result and the mock answers "mock: tool said ...":
# a tool_use / tool_result round trip, through each kind of target.
for model in claude-mock claude-via-chat; do
  out="$(run_claude "$model" -- "Hello again")" || tg_fail "claude -p exited $? for $model: $out"
  case "$model:$out" in
    *":mock: tool said "*InputValidationError*) echo "claude -p, tools, through $model: ${out%%$'\n'*}" ;;
    # Claude Code's {"role":"system"} entry comes after the user turn; a chat target gets it in
    # place, so the last chat message is a system one and the mock answers text, not a tool call.
    "claude-via-chat:mock: "*"Hello again") echo "claude -p, tools, through $model: text answer" ;;
    *) tg_fail "claude -p answered '$out' for $model" ;;
  esac
done

node "$sdk_dir/lib/checks.mjs" log "$gw_url" sk-sdk-master claude-mock 3 all || tg_fail "request log"
node "$sdk_dir/lib/checks.mjs" log "$gw_url" sk-sdk-master claude-via-chat 1 all || tg_fail "request log"
node "$sdk_dir/lib/checks.mjs" mock-paths "$mock_url" claude-up /v1/messages || tg_fail "anthropic target"
node "$sdk_dir/lib/checks.mjs" mock-paths "$mock_url" claude-chat-up /v1/chat/completions || tg_fail "chat target"
echo "sdk.claude_code: ok"
