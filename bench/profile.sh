#!/usr/bin/env bash
# Where does a proxy's CPU go? Profiles Tollgate (or nginx, for comparison) under the same bounded
# load as bench/run.sh's CPU runs, with the same pinning (proxy on core 0; mock and load on core 1).
#
#   bench/profile.sh [--target tollgate|nginx] [--stream] [--seconds S] [--rate R] [--no-access-log]
#                    [--callgrind] [--rt] [--responses translate|native]
#
# Prints, per request: CPU time, context switches and system calls (perf stat + strace -c), then
# the hottest functions (perf record -e cpu-clock, flat, self time) and the user/kernel split.
# --callgrind instead runs Tollgate under valgrind --tool=callgrind (slow: use a low --rate) and
# prints callgrind_annotate's inclusive top functions. Uses build-bench/ (run bench/run.sh first).
# --rt runs the processes SCHED_FIFO, as bench/run.sh --rt does. --responses sends the same prompt
# to Tollgate's POST /v1/responses (store: false), translated to the mock's chat endpoint or passed
# through to its /v1/responses. Output also goes to bench/results/profile-<target>-<plain|stream>.txt.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

TARGET=tollgate; STREAM=0; SECS=5; RATE=""; ACCESS_LOG=true; CALLGRIND=0; RT=(); RESPONSES=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target) TARGET=$2; shift ;;
    --stream) STREAM=1 ;;
    --seconds) SECS=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --no-access-log) ACCESS_LOG=false; SUFFIX=-nolog ;;
    --callgrind) CALLGRIND=1 ;;
    --rt) RT=(chrt -f 20) ;;
    --responses) RESPONSES=$2; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[[ $TARGET == tollgate || $TARGET == nginx ]] || { echo "--target tollgate|nginx" >&2; exit 2; }
[[ -z $RESPONSES || ( $TARGET == tollgate && ( $RESPONSES == translate || $RESPONSES == native ) ) ]] ||
  { echo "--responses translate|native (tollgate only)" >&2; exit 2; }
if [[ -z $RATE ]]; then
  if [[ $CALLGRIND == 1 ]]; then RATE=50; elif [[ $STREAM == 1 ]]; then RATE=500; else RATE=1000; fi
fi
python3 -c "import sys; sys.exit(0 if 0 < float('$SECS') <= 10 else 1)" || { echo "--seconds: at most 10" >&2; exit 2; }

BUILD_DIR="${BENCH_BUILD_DIR:-$ROOT/build-bench}"
TOLLGATE="$BUILD_DIR/tollgate"; MOCK="$BUILD_DIR/tollgate-mock"
[[ -x $TOLLGATE && -x $MOCK ]] || { echo "no binaries in $BUILD_DIR: run bench/run.sh first" >&2; exit 1; }
CXX="${CXX:-g++}"
LG_HASH=$( { cat bench/loadgen.cpp; "$CXX" --version | head -1; } | sha256sum | cut -c1-16)
LOADGEN="$BUILD_DIR/bench/loadgen-$LG_HASH"
if [[ ! -x $LOADGEN ]]; then
  mkdir -p "$BUILD_DIR/bench"
  "$CXX" -O2 -std=c++20 bench/loadgen.cpp -o "$LOADGEN.tmp" -lpthread && mv "$LOADGEN.tmp" "$LOADGEN"
fi
command -v perf >/dev/null || { echo "needs perf (apt-get install linux-perf)" >&2; exit 1; }

MODE=$([[ $STREAM == 1 ]] && echo stream || echo plain)
mkdir -p "$ROOT/bench/results"
CG_SUFFIX=""; [[ $CALLGRIND == 0 ]] || CG_SUFFIX=-callgrind
OUT="$ROOT/bench/results/profile-$TARGET${RESPONSES:+-responses-$RESPONSES}-$MODE${SUFFIX:-}$CG_SUFFIX.txt"
# shellcheck source=bench/scratch.sh
source "$ROOT/bench/scratch.sh"
scratch_init tollgate-profile
chmod 755 "$TMP"
wait_http() { for _ in $(seq 200); do curl -s -o /dev/null --max-time 1 "$1" && return 0; sleep 0.05; done; return 1; }

KEY=sk-bench-master
PROMPT="The quick brown fox jumps over the lazy dog again and again"
if [[ $STREAM == 1 ]]; then
  printf '{"model":"mock/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"%s"}]}' "$PROMPT" >"$TMP/body.json"
  SFLAG=--stream
else
  printf '{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"%s"}]}' "$PROMPT" >"$TMP/body.json"
  SFLAG=
fi
if [[ -n $RESPONSES ]]; then
  printf '{"model":"%s/gpt-4o-mini",%s"input":"%s","store":false}' "$RESPONSES" \
    "$([[ $STREAM == 1 ]] && echo '"stream":true,')" "$PROMPT" >"$TMP/body.json"
fi

"${RT[@]}" taskset -c 1 "$MOCK" --listen 127.0.0.1:0 --port-file "$TMP/mock.port" --events 20 >"$TMP/mock.log" 2>&1 &
PIDS+=($!)
wait_file "$TMP/mock.port" || { echo "mock did not start" >&2; exit 1; }
MOCK_PORT=$(cat "$TMP/mock.port")

if [[ $TARGET == tollgate ]]; then
  cat >"$TMP/tg.yaml" <<EOF
store: { sqlite: "$TMP/tollgate.db" }
server: { master_key: $KEY, access_log: $ACCESS_LOG }
providers:
  mock: { type: openai-compatible, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: mock-key }
  translate: { type: openai-compatible, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: mock-key, responses: translate }
  native: { type: openai-compatible, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: mock-key, responses: native }
EOF
  if [[ $CALLGRIND == 1 ]]; then
    (cd "$TMP" && exec "${RT[@]}" taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.out" \
      "$TOLLGATE" --config "$TMP/tg.yaml" --listen 127.0.0.1:0 --workers 1 --port-file "$TMP/tg.port" \
      >"$TMP/tg.log" 2>&1) &
  else
    (cd "$TMP" && exec "${RT[@]}" taskset -c 0 "$TOLLGATE" --config "$TMP/tg.yaml" --listen 127.0.0.1:0 \
      --workers 1 --port-file "$TMP/tg.port" >"$TMP/tg.log" 2>&1) &
  fi
  TPID=$!; PIDS+=("$TPID")
  wait_file "$TMP/tg.port" || { echo "tollgate did not start: $(cat "$TMP/tg.log")" >&2; exit 1; }
  PORT=$(cat "$TMP/tg.port")
  PROF_PIDS="$TPID"
else
  [[ $CALLGRIND == 0 ]] || { echo "--callgrind is for tollgate only" >&2; exit 2; }
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$TMP/ngx/logs"
  cat >"$TMP/ngx/nginx.conf" <<EOF
$([[ $(id -u) == 0 ]] && echo "user nobody nogroup;")
worker_processes 1; daemon off; pid $TMP/ngx/nginx.pid; error_log $TMP/ngx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log $TMP/ngx/logs/access.log;
  client_body_temp_path $TMP/ngx/b; proxy_temp_path $TMP/ngx/p; fastcgi_temp_path $TMP/ngx/f;
  uwsgi_temp_path $TMP/ngx/u; scgi_temp_path $TMP/ngx/s;
  upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$PORT; keepalive_requests 1000000;
    location / { proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
  }
}
EOF
  chmod 755 "$TMP/ngx"
  "${RT[@]}" taskset -c 0 nginx -p "$TMP/ngx" -c "$TMP/ngx/nginx.conf" -e "$TMP/ngx/logs/error.log" >/dev/null 2>&1 &
  TPID=$!; PIDS+=("$TPID")
  wait_http "http://127.0.0.1:$PORT/" || { echo "nginx did not start" >&2; exit 1; }
  PROF_PIDS="$TPID $(ps -o pid= --ppid "$TPID" | tr -s ' \n' ' ')"
fi
URL="http://127.0.0.1:$PORT/v1/${RESPONSES:+responses}"; [[ -n $RESPONSES ]] || URL+=chat/completions
N=$(python3 -c "print(int($RATE * $SECS))")
load() {  # N requests at RATE on core 1
  "${RT[@]}" taskset -c 1 "$LOADGEN" --url "$URL" --rate "$RATE" --requests "$1" --connections 16 \
    --header "Authorization: Bearer $KEY" --body-file "$TMP/body.json" $SFLAG --timeout 5
}
PLIST=$(echo $PROF_PIDS | tr ' ' ',')

{
echo "# profile: $TARGET${RESPONSES:+ (POST /v1/responses, $RESPONSES)}, $MODE, $N requests at $RATE/s ($(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo ?))"
load $((N / 4 + 100)) >/dev/null   # warm-up

if [[ $CALLGRIND == 1 ]]; then
  callgrind_control -z "$TPID" >/dev/null 2>&1 || true
  load "$N"
  callgrind_control -d "$TPID" >/dev/null 2>&1 || true
  sleep 1
  f=$(ls -t "$TMP"/callgrind.out* | head -1)
  cp "$f" "$ROOT/bench/results/callgrind.out.tollgate-$MODE"  # for kcachegrind / callgrind_annotate
  total=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
  echo; echo "## callgrind: user-space instructions: ${total:-?} for $N requests ($(( ${total:-0} / N )) per request)"
  echo "## top functions (callgrind_annotate; this version lists inclusive costs)"
  callgrind_annotate --threshold=100 "$f" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | head -60 || true
  exit 0
fi

echo; echo "## perf stat (software events; this VM has no hardware counters)"
perf stat -e task-clock,context-switches,cpu-migrations,page-faults -p "$PLIST" -o "$TMP/stat.txt" &
SPID=$!
res=$(load "$N")
kill -INT "$SPID"; wait "$SPID" 2>/dev/null || true
echo "loadgen: $res"
ok=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['ok'])" "$res")
python3 - "$TMP/stat.txt" "$ok" <<'PY'
import re, sys
ok = max(int(sys.argv[2]), 1)
for line in open(sys.argv[1]):
    m = re.match(r"\s*([\d,.]+)\s+(msec\s+)?(task-clock|context-switches|cpu-migrations|page-faults)", line)
    if m:
        v = float(m.group(1).replace(",", ""))
        unit = "us" if m.group(3) == "task-clock" else ""
        per = v * 1000 / ok if m.group(3) == "task-clock" else v / ok
        print(f"  {m.group(3):<17} {v:>12.1f} total  {per:10.2f}{unit} per request")
PY

echo; echo "## system calls per request (strace -c -f; strace slows the process, so counts only)"
timeout 30 strace -c -f -q -p "$PLIST" -o "$TMP/strace.txt" &
TRPID=$!
sleep 0.5
res=$(load $((N / 4)))
kill -INT "$TRPID" 2>/dev/null || true; wait "$TRPID" 2>/dev/null || true
ok=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['ok'])" "$res")
python3 - "$TMP/strace.txt" "$ok" <<'PY'
import sys
ok = max(int(sys.argv[2]), 1)
rows = []
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) >= 5 and p[0].replace(".", "").isdigit() and p[-1] not in ("total",):
        calls = int(p[3]); name = p[-1]
        rows.append((calls, name))
rows.sort(reverse=True)
total = sum(c for c, _ in rows)
print(f"  total {total / ok:.1f} syscalls per request ({ok} requests)")
for c, n in rows[:12]:
    print(f"  {n:<18} {c / ok:8.2f}")
PY

echo; echo "## perf record -e cpu-clock (self time; top symbols)"
perf record -q -e cpu-clock -F 20000 -p "$PLIST" -o "$TMP/perf.data" 2>/dev/null &
RPID=$!
sleep 0.3
load "$N" >/dev/null
kill -INT "$RPID"; wait "$RPID" 2>/dev/null || true
echo "### by shared object"
perf report -i "$TMP/perf.data" --stdio --no-children --sort dso 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12 || true
echo "### by category (self time, share of all samples of the process)"
perf report -i "$TMP/perf.data" --stdio --no-children --sort dso,sym 2>/dev/null | python3 -c '
import re, sys
cats = [
  ("kernel: scheduler, wake-ups, context switches", r"\[k\] (finish_task_switch|_raw_spin_unlock_irq|schedule|__schedule|try_to_wake_up|ttwu|enqueue_|dequeue_|update_curr|pick_next|psi_|select_task_rq|futex|hrtimer|timerfd|do_timerfd)"),
  ("kernel: TCP/IP over loopback", r"\[k\] .*(tcp|ip_|__ip|inet|skb|loopback|net_rx|netif|__dev_queue|dev_hard|sk_|sock_def|_copy_(to|from)_iter|__skb|napi|rps_|process_backlog|__kfree_skb|kfree_skbmem|datagram)"),
  ("kernel: syscall entry, epoll, files", r"\[k\] .*(syscall|epoll|ep_|fdget|fput|sock_poll|__fget|entry_|_copy_from_user|_copy_to_user|__check_object_size|__virt_addr_valid|vfs_|ksys_|__sys_|sockfd|rw_verify|do_writev|import_iovec)"),
  ("kernel: other", r"\[k\] "),
  ("JSON (nlohmann)", r"nlohmann"),
  ("malloc/free", r"\[\.\] (malloc|_int_malloc|_int_free|cfree|free|malloc_consolidate|unlink_chunk|operator new|operator delete|__libc_malloc|__libc_free|tcache|realloc|_int_realloc)"),
  ("HTTP parsing/serialising (Beast)", r"boost::beast"),
  ("event loop (Asio, epoll_wait)", r"boost::asio|epoll_wait|awaitable"),
  ("SQLite request log", r"libsqlite3|sqlite3"),
  ("logging (spdlog/fmt)", r"libspdlog|libfmt|spdlog|fmt::"),
  ("metrics (prometheus-cpp)", r"prometheus"),
  ("mem*/str* (libc)", r"__mem|__str|memchr|memcpy|memmove|memset|strlen|memcmp"),
  ("locks (pthread)", r"pthread_"),
  ("Tollgate code (tg::)", r"tg::"),
  ("other", r""),
]
tot = {c: 0.0 for c, _ in cats}
left = {}
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+(.*)$", line)
    if not m: continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
    text = dso + " " + sym
    for c, rx in cats:
        if re.search(rx, text):
            tot[c] += pct
            if c in ("kernel: other", "other"): left[sym[:70]] = left.get(sym[:70], 0) + pct
            break
for c, _ in cats:
    if tot[c] >= 0.05: print(f"  {tot[c]:6.1f}%  {c}")
print("  (largest in the other rows: " + ", ".join(f"{k.strip()} {v:.1f}%" for k, v in sorted(left.items(), key=lambda x: -x[1])[:8]) + ")")
'
echo "### by symbol"
perf report -i "$TMP/perf.data" --stdio --no-children --sort sym 2>/dev/null | grep -v '^#' | grep -v '^$' | head -45 || true
} 2>&1 | tee "$OUT"
echo "(saved to $OUT)"
