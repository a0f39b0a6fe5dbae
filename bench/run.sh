#!/usr/bin/env bash
# Tollgate's macro-benchmark: tollgate-mock as the upstream; direct, via nginx (a plain keep-alive
# reverse proxy, buffering off) and via Tollgate; non-streamed and streamed; on loopback.
#
#   bench/run.sh [--quick] [--write-docs] [--skip-build]
#
#   --quick       shorter runs (about a minute instead of about four); noisier figures
#   --write-docs  also replace the "Latest run" section of docs/benchmarks.md with this run
#   --skip-build  use the binaries already in build-bench/ (and the cached loadgen)
#   --wait-quiet  first wait (up to 10 minutes) until the machine is idle (< 10% busy)
#
# The proxy under test runs pinned to core 0 (taskset -c 0); the load generator (bench/loadgen.cpp,
# open loop) and the mock run pinned to core 1. One proxy is loaded at a time. Every case is
# bounded (at most 10 s of load). Output: a table on stdout, bench/results/latest.json, and
# bench/results/latest.md (the markdown that --write-docs puts into docs/benchmarks.md).
#
# Needs: cmake + a C++20 compiler + Boost headers (as for Tollgate itself), nginx (Debian
# nginx-light), taskset, python3. Two or more cores; results are only meaningful on a quiet machine.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

QUICK=0
WRITE_DOCS=0
SKIP_BUILD=0
WAIT_QUIET=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --write-docs) WRITE_DOCS=1 ;;
    --skip-build) SKIP_BUILD=1 ;;
    --wait-quiet) WAIT_QUIET=1 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$a'" >&2; exit 2 ;;
  esac
done

BUILD_DIR="${BENCH_BUILD_DIR:-$ROOT/build-bench}"
RESULTS_DIR="$ROOT/bench/results"
mkdir -p "$RESULTS_DIR"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ------------------------------------------------------------------------------------------------
# Sizes. CPU runs: a fixed number of requests at a moderate fixed rate. Latency runs: fixed rates.
if [[ $QUICK == 1 ]]; then
  MODE=quick
  WARM_N=500            # warm-up requests per target (non-streamed; half as many streamed)
  CPU_RATE=1000; CPU_N=2500          # non-streamed CPU run: 2.5 s
  SCPU_RATE=500; SCPU_N=1000         # streamed CPU run (also time to first event): 2 s
  LAT_SECS=1.5                       # each of 100 / 500 / 2000 req/s
  HOLD_N=1000
  VARIANT_CASES="cpu"                # Tollgate with access_log: false: CPU runs only
else
  MODE=full
  WARM_N=2000
  CPU_RATE=1000; CPU_N=8000          # 8 s
  SCPU_RATE=500; SCPU_N=4000         # 8 s
  LAT_SECS=5
  HOLD_N=1000
  VARIANT_CASES="cpu lat"
fi
CONNS=16               # keep-alive client connections for the rate runs
EVENTS=20              # content events per stream (mock --events)
HOLD_INTERVAL_MS=100   # slow streams for the RSS test: 20 events, 100 ms apart = 2 s each
MASTER_KEY=sk-bench-master
[[ $(nproc) -ge 2 ]] || die "needs at least 2 cores (the proxy on core 0, load and upstream on core 1)"
for t in taskset nginx python3; do command -v "$t" >/dev/null || die "missing '$t'"; done

# ------------------------------------------------------------------------------------------------
# Build: Tollgate (Release) and the load generator (cached by source hash).
if [[ $SKIP_BUILD == 0 ]]; then
  log "building Tollgate (Release) in $BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DTOLLGATE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD_DIR" -j2 --target tollgate tollgate-mock >/dev/null
fi
TOLLGATE="$BUILD_DIR/tollgate"
MOCK="$BUILD_DIR/tollgate-mock"
[[ -x $TOLLGATE && -x $MOCK ]] || die "no binaries in $BUILD_DIR (run without --skip-build)"

CXX="${CXX:-g++}"
LG_HASH=$( { cat bench/loadgen.cpp; "$CXX" --version | head -1; } | sha256sum | cut -c1-16)
LOADGEN="$BUILD_DIR/bench/loadgen-$LG_HASH"
if [[ ! -x $LOADGEN ]]; then
  log "compiling bench/loadgen.cpp"
  mkdir -p "$BUILD_DIR/bench"
  "$CXX" -O2 -std=c++20 bench/loadgen.cpp -o "$LOADGEN.tmp" -lpthread
  mv "$LOADGEN.tmp" "$LOADGEN"
fi

# ------------------------------------------------------------------------------------------------
# Scratch directory and process bookkeeping: only the processes started here are ever stopped.
TMP="$(mktemp -d /tmp/tollgate-bench.XXXXXX)"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ ${KEEP_TMP:-0} == 1 ]]; then log "scratch files kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {  # stop one process started here, and forget it
  local pid=$1 p keep=()
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

wait_port_file() {  # FILE PID -> prints the port
  local f=$1 pid=$2
  for _ in $(seq 100); do
    if [[ -s $f ]]; then cat "$f"; return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

wait_http() {  # URL: wait until something answers
  for _ in $(seq 100); do
    if curl -s -o /dev/null --max-time 1 "$1"; then return 0; fi
    sleep 0.05
  done
  return 1
}

# CPU time of a set of processes: utime+stime from /proc/PID/stat (clock ticks, summed over all
# threads by the kernel) and, for finer resolution, the sum of /proc/PID/task/*/schedstat (ns).
cpu_ticks() {
  local total=0 p rest
  for p in "$@"; do
    rest=$(sed 's/^.*) //' "/proc/$p/stat")  # the fields after "(comm) "
    read -r -a f <<<"$rest"
    total=$((total + f[11] + f[12]))        # fields 14 (utime) and 15 (stime)
  done
  echo "$total"
}
cpu_ns() {
  local total=0 p t v
  for p in "$@"; do
    for t in /proc/"$p"/task/*/schedstat; do
      read -r v _ <"$t" 2>/dev/null || continue
      total=$((total + v))
    done
  done
  echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)

# Idle share of the machine over one second, so a busy machine shows in the results.
machine_busy_pct() {
  local a b
  read -r _ a1 a2 a3 a4 a5 a6 a7 a8 _ </proc/stat
  sleep 1
  read -r _ b1 b2 b3 b4 b5 b6 b7 b8 _ </proc/stat
  local tot=$(( (b1+b2+b3+b4+b5+b6+b7+b8) - (a1+a2+a3+a4+a5+a6+a7+a8) ))
  local idle=$(( (b4+b5) - (a4+a5) ))
  (( tot > 0 )) && echo $(( 100 * (tot - idle) / tot )) || echo 0
}

# ------------------------------------------------------------------------------------------------
# Request bodies.
PROMPT="The quick brown fox jumps over the lazy dog again and again"
printf '{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"%s"}]}' "$PROMPT" >"$TMP/plain.json"
printf '{"model":"mock/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"%s"}]}' "$PROMPT" >"$TMP/stream.json"
printf '{"model":"slow/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"%s"}]}' "$PROMPT" >"$TMP/slow.json"

CASES="$TMP/cases.jsonl"
: >"$CASES"

# Busy CPU time of the whole machine, in clock ticks (everything but idle and iowait).
machine_busy_ticks() {
  local _c u n sy id io irq sirq st _rest
  read -r _c u n sy id io irq sirq st _rest </proc/stat
  echo $((u + n + sy + irq + sirq + st))
}

# run_case TARGET CASE URL "PIDS" LOADGEN-ARGS...: one bounded loadgen run with the CPU time of
# PIDS (the process(es) under test) read before and after; appends one JSON line to $CASES.
# "other_cpu_pct" is the CPU used meanwhile by anything but the proxy, the mocks and the load
# generator, as a share of the whole machine: if it is not near 0, the case was disturbed.
run_case() {
  local target=$1 name=$2 url=$3 pids=$4
  shift 4
  local t0 n0 t1 n1 out m0 m1 b0 b1 w0 w1 ours
  ours="$pids"; [[ " $pids " == *" $MOCK_PID "* ]] || ours="$pids $MOCK_PID"
  ours="$ours $SLOW_PID"
  # shellcheck disable=SC2086
  t0=$(cpu_ticks $pids); n0=$(cpu_ns $pids); m0=$(cpu_ticks $ours); b0=$(machine_busy_ticks); w0=$(date +%s%N)
  out=$(timeout 40 taskset -c 1 "$LOADGEN" --url "$url" --connections "$CONNS" \
          --header "Authorization: Bearer $MASTER_KEY" --timeout 5 "$@") || true
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $pids); n1=$(cpu_ns $pids); m1=$(cpu_ticks $ours); b1=$(machine_busy_ticks); w1=$(date +%s%N)
  [[ -n $out ]] || out='{"sent":0,"ok":0,"errors":1}'
  local other
  other=$(python3 -c '
import json, sys
out = json.loads(sys.argv[1]); hz = int(sys.argv[2]); busy, ours, wall_ns, cores = (int(x) for x in sys.argv[3:7])
lg_ms = out.get("self_cpu_ms", 0.0)
other_s = busy / hz - ours / hz - lg_ms / 1e3
print("%.1f" % max(0.0, 100.0 * other_s / (wall_ns / 1e9 * cores)))
' "$out" "$CLK_TCK" $((b1 - b0)) $((m1 - m0)) $((w1 - w0)) "$(nproc)")
  printf '{"target":"%s","case":"%s","cpu_ticks":%d,"clk_tck":%d,"cpu_ns":%d,"other_cpu_pct":%s,"loadgen":%s}\n' \
    "$target" "$name" $((t1 - t0)) "$CLK_TCK" $((n1 - n0)) "$other" "$out" >>"$CASES"
  python3 - "$target" "$name" "$out" $((t1 - t0)) "$CLK_TCK" $((n1 - n0)) "$other" <<'PY' >&2
import json, sys
t, n, out, ticks, hz, ns, other = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
ok = max(out.get("ok", 0), 1)
s = f"  {t:<14} {n:<13} ok={out.get('ok',0):<5} err={out.get('errors',0):<2} p50={out.get('p50_ms',0):.3f} p99={out.get('p99_ms',0):.3f} ms"
if out.get("events_per_stream"):
    s += f" ttfe50={out['ttfe_p50_ms']:.3f} ms ev={out['events_per_stream']:.0f}"
s += f" cpu/req={ticks*1e6/hz/ok:.1f} us ({ns/1e3/ok:.1f} schedstat) rps={out.get('achieved_rps',0):.0f}"
s += f" other={other:.0f}%" + (" DISTURBED" if other > 5 else "")
print(s)
PY
  sleep 0.3
}

# run_target TARGET URL "PIDS" CASES: warm up, then the CPU runs and/or the latency runs.
run_target() {
  local target=$1 url=$2 pids=$3 which=$4
  log "$target: warm-up"
  run_case "$target" warmup "$url" "$pids" --rate 1000 --requests "$WARM_N" --body-file "$TMP/plain.json"
  run_case "$target" warmup_stream "$url" "$pids" --rate 500 --requests $((WARM_N / 2)) \
    --body-file "$TMP/stream.json" --stream
  if [[ " $which " == *" cpu "* ]]; then
    log "$target: CPU per request ($CPU_N non-streamed at $CPU_RATE/s, $SCPU_N streamed at $SCPU_RATE/s)"
    run_case "$target" cpu_plain "$url" "$pids" --rate "$CPU_RATE" --requests "$CPU_N" --body-file "$TMP/plain.json"
    run_case "$target" cpu_stream "$url" "$pids" --rate "$SCPU_RATE" --requests "$SCPU_N" \
      --body-file "$TMP/stream.json" --stream
  fi
  if [[ " $which " == *" lat "* ]]; then
    log "$target: latency at 100, 500 and 2000 req/s ($LAT_SECS s each)"
    local r
    for r in 100 500 2000; do
      run_case "$target" "lat_$r" "$url" "$pids" --rate "$r" --duration "$LAT_SECS" --body-file "$TMP/plain.json"
    done
  fi
}

proc_kb() {  # PID FIELD -> kB (VmHWM, VmRSS)
  awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}

# ------------------------------------------------------------------------------------------------
BUSY=$(machine_busy_pct)
if [[ $WAIT_QUIET == 1 ]] && (( BUSY >= 10 )); then
  log "waiting for the machine to be idle (now ${BUSY}% busy)"
  for _ in $(seq 600); do BUSY=$(machine_busy_pct); (( BUSY < 10 )) && break; done
fi
log "mode: $MODE; machine busy before start: ${BUSY}% (of all cores)"
(( BUSY < 15 )) || log "warning: the machine is busy (${BUSY}%); figures will be noisy"
START_TS=$(date +%s)

# The upstream: one mock, pinned to core 1, answering instantly (20 events per stream).
taskset -c 1 "$MOCK" --listen 127.0.0.1:0 --port-file "$TMP/mock.port" --events "$EVENTS" \
  >"$TMP/mock.log" 2>&1 &
MOCK_PID=$!; PIDS+=("$MOCK_PID")
MOCK_PORT=$(wait_port_file "$TMP/mock.port" "$MOCK_PID") || die "the mock did not start: $(cat "$TMP/mock.log")"
MOCK_URL="http://127.0.0.1:$MOCK_PORT/v1/chat/completions"

# The slow mock, for the 1,000 concurrent streams (Tollgate does not forward x-mock-* headers).
taskset -c 1 "$MOCK" --listen 127.0.0.1:0 --port-file "$TMP/slowmock.port" --events "$EVENTS" \
  --interval-ms "$HOLD_INTERVAL_MS" >"$TMP/slowmock.log" 2>&1 &
SLOW_PID=$!; PIDS+=("$SLOW_PID")
SLOW_PORT=$(wait_port_file "$TMP/slowmock.port" "$SLOW_PID") || die "the slow mock did not start"

# --- 1. direct to the mock ---------------------------------------------------------------------
run_target direct "$MOCK_URL" "$MOCK_PID" "cpu lat"

# --- 2. nginx ----------------------------------------------------------------------------------
NGX="$TMP/nginx"
mkdir -p "$NGX/logs"
NGX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NGX_USER=""
[[ $(id -u) == 0 ]] && NGX_USER="user nobody nogroup;"
cat >"$NGX/nginx.conf" <<EOF
# generated by bench/run.sh: a plain keep-alive reverse proxy, no buffering
$NGX_USER
worker_processes 1;
daemon off;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log $NGX/logs/access.log;
  client_body_temp_path $NGX/tmp_body;
  proxy_temp_path $NGX/tmp_proxy;
  fastcgi_temp_path $NGX/tmp_fastcgi;
  uwsgi_temp_path $NGX/tmp_uwsgi;
  scgi_temp_path $NGX/tmp_scgi;
  upstream mock {
    server 127.0.0.1:$MOCK_PORT;
    keepalive 64;
  }
  upstream slowmock {
    server 127.0.0.1:$SLOW_PORT;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$NGX_PORT backlog=4096;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
    location /slow/ {
      proxy_pass http://slowmock/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
EOF
chmod 755 "$TMP" "$NGX"
taskset -c 0 nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/logs/error.log" >"$NGX/stdout.log" 2>&1 &
NGX_PID=$!; PIDS+=("$NGX_PID")
NGX_URL="http://127.0.0.1:$NGX_PORT/v1/chat/completions"
wait_http "http://127.0.0.1:$NGX_PORT/" || die "nginx did not start: $(cat "$NGX/logs/error.log")"
NGX_PIDS="$NGX_PID $(ps -o pid= --ppid "$NGX_PID" | tr -s ' \n' ' ')"
NGX_IDLE_HWM=0; for p in $NGX_PIDS; do NGX_IDLE_HWM=$((NGX_IDLE_HWM + $(proc_kb "$p" VmHWM))); done
log "nginx $(nginx -v 2>&1 | sed 's/.*\///') on :$NGX_PORT (pids $NGX_PIDS)"
run_target nginx "$NGX_URL" "$NGX_PIDS" "cpu lat"
# nginx under the same 1,000 slow streams, for context
NGX_HWM0=0; for p in $NGX_PIDS; do NGX_HWM0=$((NGX_HWM0 + $(proc_kb "$p" VmHWM))); done
log "nginx: $HOLD_N concurrent slow streams"
NGX_HOLD=$(timeout 40 taskset -c 1 "$LOADGEN" --url "http://127.0.0.1:$NGX_PORT/slow/v1/chat/completions" \
  --concurrency-hold "$HOLD_N" --body-file "$TMP/slow.json" --stream --timeout 5) || true
NGX_HWM1=0; for p in $NGX_PIDS; do NGX_HWM1=$((NGX_HWM1 + $(proc_kb "$p" VmHWM))); done
printf '{"target":"nginx","case":"rss","idle_vmhwm_kb":%d,"vmhwm_before_kb":%d,"hold_vmhwm_kb":%d,"loadgen":%s}\n' \
  "$NGX_IDLE_HWM" "$NGX_HWM0" "$NGX_HWM1" "${NGX_HOLD:-null}" >>"$CASES"
stop_pid "$NGX_PID"

# --- 3. Tollgate -------------------------------------------------------------------------------
start_tollgate() {  # NAME ACCESS_LOG(true|false) -> sets TG_PID, TG_PORT
  local name=$1 access=$2
  cat >"$TMP/$name.yaml" <<EOF
# generated by bench/run.sh
server:
  master_key: $MASTER_KEY
  access_log: $access
  log_level: info
providers:
  mock:
    type: openai-compatible
    base_url: http://127.0.0.1:$MOCK_PORT/v1
    api_key: mock-key
  slow:
    type: openai-compatible
    base_url: http://127.0.0.1:$SLOW_PORT/v1
    api_key: mock-key
EOF
  rm -f "$TMP/$name.port"
  taskset -c 0 "$TOLLGATE" --config "$TMP/$name.yaml" --listen 127.0.0.1:0 --workers 1 \
    --port-file "$TMP/$name.port" >"$TMP/$name.log" 2>&1 &
  TG_PID=$!; PIDS+=("$TG_PID")
  TG_PORT=$(wait_port_file "$TMP/$name.port" "$TG_PID") || die "tollgate did not start: $(cat "$TMP/$name.log")"
  wait_http "http://127.0.0.1:$TG_PORT/health" || die "tollgate is not healthy"
}

start_tollgate tollgate true
TG_URL="http://127.0.0.1:$TG_PORT/v1/chat/completions"
sleep 1
TG_IDLE_HWM=$(proc_kb "$TG_PID" VmHWM); TG_IDLE_RSS=$(proc_kb "$TG_PID" VmRSS)
log "tollgate on :$TG_PORT (pid $TG_PID, $(ls /proc/"$TG_PID"/task | wc -l) threads); idle VmHWM ${TG_IDLE_HWM} kB"
# Memory first, on the fresh process: 1,000 keep-alive connections, one slow stream each.
log "tollgate: $HOLD_N concurrent slow streams ($EVENTS events, ${HOLD_INTERVAL_MS} ms apart)"
(
  peak=0
  while kill -0 "$TG_PID" 2>/dev/null && [[ ! -e $TMP/hold.done ]]; do
    r=$(proc_kb "$TG_PID" VmRSS); (( r > peak )) && peak=$r
    echo "$peak" >"$TMP/hold.rss"; sleep 0.1
  done
) &
SAMPLER=$!
TG_HOLD=$(timeout 40 taskset -c 1 "$LOADGEN" --url "$TG_URL" --concurrency-hold "$HOLD_N" \
  --header "Authorization: Bearer $MASTER_KEY" --body-file "$TMP/slow.json" --stream --timeout 5) || true
touch "$TMP/hold.done"; wait "$SAMPLER" 2>/dev/null || true
TG_HOLD_HWM=$(proc_kb "$TG_PID" VmHWM); TG_AFTER_RSS=$(proc_kb "$TG_PID" VmRSS)
printf '{"target":"tollgate","case":"rss","idle_vmhwm_kb":%d,"idle_vmrss_kb":%d,"hold_vmhwm_kb":%d,"hold_peak_vmrss_kb":%d,"after_vmrss_kb":%d,"threads":%d,"loadgen":%s}\n' \
  "$TG_IDLE_HWM" "$TG_IDLE_RSS" "$TG_HOLD_HWM" "$(cat "$TMP/hold.rss" 2>/dev/null || echo 0)" "$TG_AFTER_RSS" \
  "$(ls /proc/"$TG_PID"/task | wc -l)" "${TG_HOLD:-null}" >>"$CASES"
log "tollgate: VmHWM idle ${TG_IDLE_HWM} kB, with $HOLD_N streams ${TG_HOLD_HWM} kB; $(echo "$TG_HOLD" | cut -c1-120)"
# Then the speed runs. (A fresh process, so the 1,000 streams' memory does not skew anything.)
stop_pid "$TG_PID"
start_tollgate tollgate true
TG_URL="http://127.0.0.1:$TG_PORT/v1/chat/completions"
run_target tollgate "$TG_URL" "$TG_PID" "cpu lat"
stop_pid "$TG_PID"

# --- 4. Tollgate without the access log ----------------------------------------------------------
start_tollgate tollgate_nolog false
run_target tollgate_nolog "http://127.0.0.1:$TG_PORT/v1/chat/completions" "$TG_PID" "$VARIANT_CASES"
stop_pid "$TG_PID"

END_TS=$(date +%s)
BUSY_END=$(machine_busy_pct)

# ------------------------------------------------------------------------------------------------
# Report.
COMMIT=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
DIRTY=$([[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]] && echo true || echo false)
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
META=$(python3 - <<PY
import json, platform
print(json.dumps({
  "mode": "$MODE", "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "commit": "$COMMIT", "dirty": "$DIRTY" == "true",
  "cpu": "$CPU_MODEL", "cores": $(nproc), "kernel": platform.release(),
  "os": "$(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-unknown}")",
  "compiler": "$("$CXX" --version | head -1)", "nginx": "$(nginx -v 2>&1 | sed 's/^nginx version: //')",
  "busy_before_pct": $BUSY, "busy_after_pct": $BUSY_END, "wall_s": $((END_TS - START_TS)),
  "settings": {"connections": $CONNS, "events": $EVENTS, "cpu_rate": $CPU_RATE, "cpu_requests": $CPU_N,
               "stream_cpu_rate": $SCPU_RATE, "stream_cpu_requests": $SCPU_N, "latency_seconds": $LAT_SECS,
               "hold_streams": $HOLD_N, "hold_interval_ms": $HOLD_INTERVAL_MS},
}))
PY
)
REPORT_ARGS=(--cases "$CASES" --meta "$META" --json "$RESULTS_DIR/latest.json" --markdown "$RESULTS_DIR/latest.md")
[[ $WRITE_DOCS == 1 ]] && REPORT_ARGS+=(--write-docs "$ROOT/docs/benchmarks.md")
python3 "$ROOT/bench/report.py" "${REPORT_ARGS[@]}"
log "done in $((END_TS - START_TS)) s; results in bench/results/latest.json and latest.md"
