#!/usr/bin/env bash
# A Node client of Tollgate's /v1/responses against a translated target (tollgate-mock's chat
# endpoint) and a native one (tollgate-mock's /v1/responses), then the request-log checks.
# Usage: run_responses_sdk_test.sh <openai_responses|ai_sdk|agents> <tollgate-bin> <tollgate-mock-bin>
#   openai_responses: openai_responses_test.mjs (the `openai` package's client.responses)
#   ai_sdk:           ai_sdk_test.mjs (the Vercel AI SDK's default openai() provider)
#   agents:           agents_test.mjs (the OpenAI Agents SDK)
client="$1"; gw_bin="$2"; mock_bin="$3"
source "$(dirname "$0")/lib/stack.sh"
case "$client" in
  openai_responses) script="openai_responses_test.mjs"; dep=openai ;;
  ai_sdk) script="ai_sdk_test.mjs"; dep=ai ;;
  agents) script="agents_test.mjs"; dep=@openai/agents ;;
  *) echo "unknown client $client" >&2; exit 2 ;;
esac
[ -d "$sdk_dir/node_modules/$dep" ] || tg_fail "node_modules/$dep missing: run 'npm ci' in tests/sdk"

tg_start_mock
if tg_direct; then
  # Only the native path exists without the gateway; any model name reaches the mock.
  node "$sdk_dir/$script" "${mock_url}/v1" upstream-key "$client-native-up" direct || tg_fail "$client"
  echo "sdk.$client (direct to the mock): ok"; exit 0
fi
tg_responses_config "$client"
tg_start_gateway "$work/config.yaml"
for model in "$client-translated" "$client-native"; do
  node "$sdk_dir/$script" "${gw_url}/v1" sk-sdk-master "$model" || tg_fail "$client through $model"
done
# openai_responses makes requests that must fail (unknown model, deleted response): only its own
# rows are checked; the SDKs that only chat must have every request answered 200.
if [ "$client" = openai_responses ]; then tg_check_responses_pair "$client" 4; else tg_check_responses_pair "$client" 4 all; fi
echo "sdk.$client: ok"
