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
  down:  # nothing listens there: a failover to show in the log
    type: openai-compatible
    base_url: http://127.0.0.1:1/v1
    api_key: sk-down-secret-do-not-show
logs:
  bodies: true
pricing:
  mock/*: { input: 0.15, output: 0.60 }
models:
  - name: gpt-home
    targets: [mock/gpt-4o-mini]
  - name: gpt-fast
    targets: [mock/gpt-4.1-nano]
  - name: gpt-safe
    targets: [down/gpt-4o-mini, mock/gpt-4o-mini]
YAML
tg_start_gateway "$work/config.yaml"
# A second daemon with server.admin_listen: the UI lives on its admin port only.
admin_port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
sed -e "s|^server:|server:\n  admin_listen: 127.0.0.1:${admin_port}|" -e "s|tollgate.db|admin.db|" \
  "$work/config.yaml" >"$work/admin.yaml"
"$gw_bin" --config "$work/admin.yaml" --listen 127.0.0.1:0 --port-file "$work/gw2.port" >"$work/gw2.log" 2>&1 &
gw2_pid=$!
trap '[ -n "${gw2_pid:-}" ] && kill "$gw2_pid" 2>/dev/null; tg_cleanup' EXIT
gw2_port="$(tg_wait_port "$work/gw2.port" "$gw2_pid" | tr -d '[:space:]')" || tg_fail "the admin_listen tollgate did not start"
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:${admin_port}/health" && break; sleep 0.05; done
shots="${TG_UI_SHOTS:-$work/shots}"
mkdir -p "$shots"
node "$sdk_dir/browser_ui_test.mjs" "$gw_url" sk-ui-master-0123456789 "$work/config.yaml" "$shots" "$chromium" \
  "http://127.0.0.1:${gw2_port}" "http://127.0.0.1:${admin_port}" || tg_fail "browser test"
echo "browser.ui: ok"
