#!/usr/bin/env bash
# Instructions per request of POST /v1/responses against chat's, counted by callgrind: a figure
# that background load on a shared machine does not change (CPU time does, by +-20% and more).
#
#   bench/callgrind_ratio.sh [--requests N] [--build DIR]
#
# One Tollgate (one worker) under valgrind --tool=callgrind with collection off, a mock with 20
# content events per stream, the bench's prompt. For each case: a warm-up, then collection on,
# N requests (16 keep-alive connections, low rate), collection off, and a dump; the case's
# figure is the dump's instruction count (Ir) divided by N. Cases: chat (master key), chat with a
# virtual key that has a budget and limits (the governed path), Responses translated
# (to the mock's chat endpoint), native (to the mock's /v1/responses), translated with store:
# true; each non-streamed and streamed. Prints a table with each Responses case's ratio to chat.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
N=200; BUILD_DIR="$ROOT/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) N=$2; shift ;;
    --build) BUILD_DIR=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "callgrind_ratio.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
TOLLGATE="$BUILD_DIR/tollgate"; MOCK="$BUILD_DIR/tollgate-mock"
[[ -x $TOLLGATE && -x $MOCK ]] || { echo "no tollgate/tollgate-mock in $BUILD_DIR" >&2; exit 1; }
CXX="${CXX:-g++}"
LG_HASH=$( { cat bench/loadgen.cpp; "$CXX" --version | head -1; } | sha256sum | cut -c1-16)
LOADGEN="$BUILD_DIR/bench/loadgen-$LG_HASH"
if [[ ! -x $LOADGEN ]]; then
  mkdir -p "$BUILD_DIR/bench"
  "$CXX" -O2 -std=c++20 bench/loadgen.cpp -o "$LOADGEN.tmp" -lpthread && mv "$LOADGEN.tmp" "$LOADGEN"
fi

# shellcheck source=bench/scratch.sh
source "$ROOT/bench/scratch.sh"
scratch_init tollgate-cg

KEY=sk-bench-master
GOVERNED_KEY=sk-bench-governed-0123456789abcdef
PROMPT="The quick brown fox jumps over the lazy dog again and again"
"$MOCK" --listen 127.0.0.1:0 --port-file "$TMP/mock.port" --events 20 >"$TMP/mock.log" 2>&1 &
PIDS+=($!)
wait_file "$TMP/mock.port" 600 || { echo "mock did not start" >&2; exit 1; }
MOCK_PORT=$(cat "$TMP/mock.port")
cat >"$TMP/tg.yaml" <<EOF
store: { sqlite: "$TMP/tollgate.db" }
server: { master_key: $KEY }
providers:
  mock: { type: openai-compatible, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: mock-key }
  translate: { type: openai-compatible, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: mock-key, responses: translate }
  native: { type: openai-compatible, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: mock-key, responses: native }
$(governed_key_yaml "$GOVERNED_KEY")
pricing:
  mock/gpt-4o-mini: { input: 0.15, output: 0.60 }
EOF
(cd "$TMP" && exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/cg.out" \
  "$TOLLGATE" --config "$TMP/tg.yaml" --listen 127.0.0.1:0 --workers 1 --port-file "$TMP/tg.port" \
  >"$TMP/tg.log" 2>&1) &
TPID=$!; PIDS+=("$TPID")
wait_file "$TMP/tg.port" 600 || { echo "tollgate did not start: $(cat "$TMP/tg.log")" >&2; exit 1; }
PORT=$(cat "$TMP/tg.port")

# case name, path, body, stream flag
body_chat() { printf '{"model":"mock/gpt-4o-mini",%s"messages":[{"role":"user","content":"%s"}]}' "$1" "$PROMPT"; }
body_resp() { printf '{"model":"%s/gpt-4o-mini",%s"input":"%s","store":%s}' "$1" "$2" "$PROMPT" "$3"; }
run_case() {  # name path stream(0|1) body [key]
  local name=$1 path=$2 stream=$3 body=$4 key=${5:-$KEY} sflag=()
  [[ $stream == 1 ]] && sflag=(--stream)
  printf '%s' "$body" >"$TMP/body.json"
  local lg=("$LOADGEN" --url "http://127.0.0.1:$PORT$path" --rate 40 --connections 16
            --header "Authorization: Bearer $key" --body-file "$TMP/body.json" "${sflag[@]}" --timeout 30)
  "${lg[@]}" --requests 32 >/dev/null  # warm-up: connections, pools, caches
  callgrind_control -i on "$TPID" >/dev/null
  local res; res=$("${lg[@]}" --requests "$N")
  callgrind_control -i off "$TPID" >/dev/null
  callgrind_control -d "$name" "$TPID" >/dev/null
  local ok; ok=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['ok'])" "$res")
  [[ $ok == "$N" ]] || echo "warning: $name: $ok of $N requests ok ($res)" >&2
}
S='"stream":true,'
run_case chat_plain /v1/chat/completions 0 "$(body_chat '')"
run_case chat_stream /v1/chat/completions 1 "$(body_chat "$S")"
run_case governed_plain /v1/chat/completions 0 "$(body_chat '')" "$GOVERNED_KEY"
run_case governed_stream /v1/chat/completions 1 "$(body_chat "$S")" "$GOVERNED_KEY"
run_case translated_plain /v1/responses 0 "$(body_resp translate '' false)"
run_case translated_stream /v1/responses 1 "$(body_resp translate "$S" false)"
run_case native_plain /v1/responses 0 "$(body_resp native '' false)"
run_case native_stream /v1/responses 1 "$(body_resp native "$S" false)"
run_case stored_plain /v1/responses 0 "$(body_resp translate '' true)"
run_case stored_stream /v1/responses 1 "$(body_resp translate "$S" true)"
sleep 1
OUT_DIR="${CG_OUT_DIR:-$ROOT/bench/results/callgrind-ratio}"
rm -rf "$OUT_DIR"; mkdir -p "$OUT_DIR"
cp "$TMP"/cg.out* "$OUT_DIR"/  # for callgrind_annotate
python3 - "$OUT_DIR" "$N" <<'PY'
import glob, re, sys
tmp, n = sys.argv[1], int(sys.argv[2])
ir = {}
for f in glob.glob(tmp + "/cg.out*"):
    text = open(f, errors="replace").read()
    m = re.search(r"^desc: Trigger: (?:Client Request: |dump )(\S+)", text, re.M)
    t = re.search(r"^totals: (\d+)", text, re.M)
    if m and t: ir[m.group(1)] = int(t.group(1)) / n
print(f"Instructions (Ir) per request, {n} requests per case, one worker")
print("| case | non-streamed Ir/req | ÷ chat | streamed Ir/req | ÷ chat |")
print("|---|--:|--:|--:|--:|")
for name, label in [("chat", "chat"), ("governed", "chat, virtual key (budget + limits)"), ("translated", "Responses, translated"),
                    ("native", "Responses, native"), ("stored", "Responses, translated, store: true")]:
    cells = []
    for mode in ("plain", "stream"):
        v, c = ir.get(f"{name}_{mode}"), ir.get(f"chat_{mode}")
        cells += [f"{v:,.0f}" if v else "?", f"{v / c:.2f}×" if v and c else "?"]
    print(f"| {label} | " + " | ".join(cells) + " |")
PY
