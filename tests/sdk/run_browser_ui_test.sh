#!/usr/bin/env bash
# The admin web UI in a real browser: starts tollgate-mock and tollgate (master key, a priced mock
# model, a config file the test rewrites to exercise reload) and runs browser_ui_test.mjs, which
# drives Debian's chromium with playwright-core and the openai SDK against them.
# Usage: run_browser_ui_test.sh <tollgate-bin> <tollgate-mock-bin>
#   TG_UI_SHOTS=DIR  also keep the screenshots in DIR (docs/ui to refresh the docs' pictures)
#   TG_CHROMIUM=PATH another chromium binary (default /usr/bin/chromium)
gw_bin="$1"; mock_bin="$2"
source "$(dirname "$0")/lib/stack.sh"
[ -d "$sdk_dir/node_modules/playwright-core" ] || tg_fail "node_modules/playwright-core missing: run 'npm ci' in tests/sdk"
[ -d "$sdk_dir/node_modules/openai" ] || tg_fail "node_modules/openai missing: run 'npm ci' in tests/sdk"
chromium="${TG_CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || tg_fail "$chromium missing: scripts/install-deps.sh installs Debian's chromium"

tg_start_mock
cat >"$work/config.yaml" <<YAML
store:
  sqlite: $work/tollgate.db
server:
  master_key: sk-ui-master-0123456789
providers:
  mock:
    type: openai-compatible
    base_url: ${mock_url}/v1
    api_key: sk-upstream-secret-do-not-show
logs:
  bodies: true
pricing:
  mock/*: { input: 0.15, output: 0.60 }
models:
  - name: gpt-home
    targets: [mock/gpt-4o-mini]
  - name: gpt-fast
    targets: [mock/gpt-4.1-nano]
YAML
tg_start_gateway "$work/config.yaml"
shots="${TG_UI_SHOTS:-$work/shots}"
mkdir -p "$shots"
node "$sdk_dir/browser_ui_test.mjs" "$gw_url" sk-ui-master-0123456789 "$work/config.yaml" "$shots" "$chromium" \
  || tg_fail "browser test"
echo "browser.ui: ok"
