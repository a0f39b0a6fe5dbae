#!/usr/bin/env bash
# Tollgate's macro-benchmark: tollgate-mock as the upstream; direct, via nginx (a plain keep-alive
# reverse proxy, buffering off) and via Tollgate; non-streamed and streamed; on loopback.
#
#   bench/run.sh [--quick] [--write-docs] [--skip-build]
#
#   --quick       shorter runs (about 1.5 minutes instead of about 5, plus the build); noisier
#   --write-docs  also replace the "Latest run" section of docs/benchmarks.md with this run
#   --skip-build  use the binaries already in build-bench/ (and the cached loadgen); BENCH_BUILD_TYPE=
#                 names their build type in the report when they were copied in
#   --wait-quiet  first wait (up to 10 minutes) until the machine is idle (< 10% busy)
#   --rt          run the proxy, the mocks and the load generator SCHED_FIFO (chrt -f 20, needs
#                 root): on a shared machine, other processes then cannot preempt them
#
# The proxy under test runs pinned to core 0 (taskset -c 0); the load generator (bench/loadgen.cpp,
# open loop) and the mock run pinned to core 1. Besides the open-loop cases: a saturation case
# (closed loop: 16 connections, each sending its next request as soon as the answer is in) with
# perf stat per request; a governed case (a virtual key with a budget and rpm/tpm limits); and an
# HTTPS upstream (a second nginx terminating TLS in front of the mock, on core 1). One proxy is loaded at a time. Every case is
# bounded (at most 10 s of load; the CPU runs are split into rounds taken in turn across targets). Output: a table on stdout, bench/results/latest.json, and
# bench/results/latest.md (the markdown that --write-docs puts into docs/benchmarks.md).
#
# Needs: cmake + a C++20 compiler + Boost headers (as for Tollgate itself), nginx (Debian
# nginx-light), taskset, python3. Two or more cores; results are only meaningful on a quiet machine.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

ARGS="$*"
QUICK=0
WRITE_DOCS=0
SKIP_BUILD=0
WAIT_QUIET=0
RT=()
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --write-docs) WRITE_DOCS=1 ;;
    --skip-build) SKIP_BUILD=1 ;;
    --wait-quiet) WAIT_QUIET=1 ;;
    --rt) RT=(chrt -f 20) ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
# The CPU runs are split into ROUNDS, taken in turn across the targets (direct, nginx, Tollgate,
# Tollgate without access log, then again), and each figure is the median over the rounds: a burst
# of background load then spoils one round, not one target.
if [[ $QUICK == 1 ]]; then
  MODE=quick
  WARM_N=300                         # warm-up requests per target (and half as many streamed)
  ROUNDS=2
  CPU_RATE=1000; CPU_N=1000          # non-streamed CPU run, per round: 1 s
  SCPU_RATE=500; SCPU_N=400          # streamed CPU run (also time to first event), per round: 0.8 s
  LAT_SECS=1                         # each of 100 / 500 / 2000 req/s
  HOLD_N=1000
  VARIANT_LAT=0                      # Tollgate with access_log: false: CPU runs only
  NGINX_HOLD=0                       # skip nginx's memory run
  SAT_N=6000                         # saturation: requests per target (closed loop), over all rounds
  SAT_STREAM_N=1500                  # streamed saturation (nginx and Tollgate)
  SAT_ROUNDS=2
else
  MODE=full
  WARM_N=1000
  ROUNDS=4
  CPU_RATE=1000; CPU_N=2000          # 4 x 2 s
  SCPU_RATE=500; SCPU_N=1000         # 4 x 2 s
  LAT_SECS=5
  HOLD_N=1000
  VARIANT_LAT=1
  NGINX_HOLD=1
  SAT_N=30000
  SAT_STREAM_N=6000
  SAT_ROUNDS=3                       # taken in turn across the targets, as the CPU rounds are
fi
CONNS=16               # keep-alive client connections for the rate runs
EVENTS=20              # content events per stream (mock --events)
HOLD_INTERVAL_MS=100   # slow streams for the RSS test: 20 events, 100 ms apart = 2 s each
MASTER_KEY=sk-bench-master
GOVERNED_KEY=sk-bench-governed   # a virtual key with a budget and rpm/tpm/parallel limits
[[ $(nproc) -ge 2 ]] || die "needs at least 2 cores (the proxy on core 0, load and upstream on core 1)"
for t in taskset nginx python3 openssl; do command -v "$t" >/dev/null || die "missing '$t'"; done

# ------------------------------------------------------------------------------------------------
# Build: Tollgate (Release) and the load generator (cached by source hash).
if [[ $SKIP_BUILD == 0 ]]; then
  log "building Tollgate (Release, profile-guided as scripts/build.sh builds it) in $BUILD_DIR"
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DTOLLGATE_BUILD_TESTS=OFF >/dev/null
  JOBS=2 ./scripts/pgo.sh "$BUILD_DIR" >/dev/null
fi
TOLLGATE="$BUILD_DIR/tollgate"
MOCK="$BUILD_DIR/tollgate-mock"
[[ -x $TOLLGATE && -x $MOCK ]] || die "no binaries in $BUILD_DIR (run without --skip-build)"
# The build type, for the report: BENCH_BUILD_TYPE (for binaries copied in), else build-bench's cache.
BUILD_TYPE=${BENCH_BUILD_TYPE:-$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null)}
if [[ -z ${BENCH_BUILD_TYPE:-} && $(sed -n 's/^TOLLGATE_PGO:STRING=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null) == use ]]; then
  BUILD_TYPE+=", profile-guided"
fi

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
# shellcheck source=bench/scratch.sh
source "$ROOT/bench/scratch.sh"
scratch_init tollgate-bench

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
    read -r rest <"/proc/$p/stat"
    rest=${rest##*) }                       # the fields after "(comm) "
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
NCORES=$(nproc)

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
# Failover: model entries whose first target fails fast (a mock answering 503, or a port where
# nothing listens) and whose second is the healthy mock. Every request pays one failover.
declare -A FO_MODEL=([tollgate_failover]=failover-503 [tollgate_refused]=failover-refused)
FO_TARGETS="tollgate_failover tollgate_refused"
for t in $FO_TARGETS; do
  printf '{"model":"%s","messages":[{"role":"user","content":"%s"}]}' "${FO_MODEL[$t]}" "$PROMPT" >"$TMP/$t.plain.json"
  printf '{"model":"%s","stream":true,"messages":[{"role":"user","content":"%s"}]}' "${FO_MODEL[$t]}" "$PROMPT" >"$TMP/$t.stream.json"
done
# The Responses API (POST /v1/responses) with the same prompt: translated to the mock's chat
# endpoint (provider "mock", responses: translate), passed through natively to the mock's own
# /v1/responses (provider "native", responses: native), and translated with store: true.
declare -A RESP_MODEL=([tollgate_resp_translate]=mock/gpt-4o-mini [tollgate_resp_native]=native/gpt-4o-mini
                       [tollgate_resp_stored]=mock/gpt-4o-mini)
declare -A RESP_STORE=([tollgate_resp_translate]=false [tollgate_resp_native]=false [tollgate_resp_stored]=true)
RESP_TARGETS="tollgate_resp_translate tollgate_resp_native tollgate_resp_stored"
for t in $RESP_TARGETS; do
  printf '{"model":"%s","input":"%s","store":%s}' "${RESP_MODEL[$t]}" "$PROMPT" "${RESP_STORE[$t]}" >"$TMP/$t.plain.json"
  printf '{"model":"%s","stream":true,"input":"%s","store":%s}' "${RESP_MODEL[$t]}" "$PROMPT" "${RESP_STORE[$t]}" >"$TMP/$t.stream.json"
done

# The governed path (same body, a virtual key) and the HTTPS upstream (Tollgate's provider
# "secure"; nginx's /tls/ location), through the same processes as the plain cases.
cp "$TMP/plain.json" "$TMP/tollgate_governed.plain.json"; cp "$TMP/stream.json" "$TMP/tollgate_governed.stream.json"
cp "$TMP/plain.json" "$TMP/nginx_tls.plain.json"; cp "$TMP/stream.json" "$TMP/nginx_tls.stream.json"
sed 's#"mock/#"secure/#' "$TMP/plain.json" >"$TMP/tollgate_tls.plain.json"
sed 's#"mock/#"secure/#' "$TMP/stream.json" >"$TMP/tollgate_tls.stream.json"
declare -A KEY=([tollgate_governed]=$GOVERNED_KEY)

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
  ours="$ours $SLOW_PID $FAIL_PID ${TLSF_PIDS:-}"
  # shellcheck disable=SC2086
  t0=$(cpu_ticks $pids); n0=$(cpu_ns $pids); m0=$(cpu_ticks $ours); b0=$(machine_busy_ticks); w0=${EPOCHREALTIME/./}
  out=$(timeout 40 "${RT[@]}" taskset -c 1 "$LOADGEN" --url "$url" --connections "$CONNS" \
          --header "Authorization: Bearer ${KEY[$target]:-$MASTER_KEY}" --timeout 5 "$@") || true
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $pids); n1=$(cpu_ns $pids); m1=$(cpu_ticks $ours); b1=$(machine_busy_ticks); w1=${EPOCHREALTIME/./}
  [[ -n $out ]] || out='{"sent":0,"ok":0,"errors":1}'
  local line
  line=$(awk -v out="$out" -v target="$target" -v name="$name" -v ticks=$((t1 - t0)) -v hz="$CLK_TCK" \
             -v ns=$((n1 - n0)) -v busy=$((b1 - b0)) -v ours=$((m1 - m0)) -v wall=$(((w1 - w0) * 1000)) \
             -v cores="$NCORES" '
    function field(k,   m) {  # a number from the loadgen JSON
      if (match(out, "\"" k "\":[-0-9.]+")) return substr(out, RSTART + length(k) + 3, RLENGTH - length(k) - 3) + 0
      return 0
    }
    BEGIN {
      ok = field("ok"); okd = ok > 0 ? ok : 1
      other = (busy / hz - ours / hz - field("self_cpu_ms") / 1e3) / (wall / 1e9 * cores) * 100
      if (other < 0) other = 0
      printf "%.1f\t  %-14s %-13s ok=%-5d err=%-2d p50=%.3f p99=%.3f ms", other, target, name, ok, field("errors"), field("p50_ms"), field("p99_ms")
      if (field("events_per_stream") > 0) printf " ttfe50=%.3f ms ev=%d", field("ttfe_p50_ms"), field("events_per_stream")
      printf " cpu/req=%.1f us (%.1f schedstat) rps=%d other=%d%%%s\n", ticks * 1e6 / hz / okd, ns / 1e3 / okd, field("achieved_rps"), other, (other > 5 ? " DISTURBED" : "")
    }')
  printf '{"target":"%s","case":"%s","cpu_ticks":%d,"clk_tck":%d,"cpu_ns":%d,"other_cpu_pct":%s,"loadgen":%s}\n' \
    "$target" "$name" $((t1 - t0)) "$CLK_TCK" $((n1 - n0)) "${line%%$'\t'*}" "$out" >>"$CASES"
  printf '%s\n' "${line#*$'\t'}" >&2
  sleep 0.2
}

warm_up() {  # TARGET URL "PIDS" [BODY-PREFIX]
  local b=${4:-$TMP/}
  run_case "$1" warmup "$2" "$3" --rate 1000 --requests "$WARM_N" --body-file "${b}plain.json"
  run_case "$1" warmup_stream "$2" "$3" --rate 500 --requests $((WARM_N / 2)) \
    --body-file "${b}stream.json" --stream
}

proc_kb() {  # PID FIELD -> kB (VmHWM, VmRSS)
  awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}

# ------------------------------------------------------------------------------------------------
BUSY=$(machine_busy_pct)
if [[ $WAIT_QUIET == 1 ]] && (( BUSY >= 10 )); then
  log "waiting for the machine to be idle (now ${BUSY}% busy)"
  quiet=0
  for _ in $(seq 600); do  # 3 idle seconds in a row, for at most 10 minutes
    BUSY=$(machine_busy_pct)
    if (( BUSY < 10 )); then quiet=$((quiet + 1)); else quiet=0; fi
    (( quiet >= 3 )) && break
  done
fi
log "mode: $MODE${RT:+ (SCHED_FIFO)}; machine busy before start: ${BUSY}% (of all cores)"
(( BUSY < 15 )) || log "warning: the machine is busy (${BUSY}%); figures will be noisy"
START_TS=$(date +%s)

# The upstream: one mock, pinned to core 1, answering instantly (20 events per stream).
"${RT[@]}" taskset -c 1 "$MOCK" --listen 127.0.0.1:0 --port-file "$TMP/mock.port" --events "$EVENTS" \
  >"$TMP/mock.log" 2>&1 &
MOCK_PID=$!; PIDS+=("$MOCK_PID")
MOCK_PORT=$(wait_port_file "$TMP/mock.port" "$MOCK_PID") || die "the mock did not start: $(cat "$TMP/mock.log")"
MOCK_URL="http://127.0.0.1:$MOCK_PORT/v1/chat/completions"

# The slow mock, for the 1,000 concurrent streams (Tollgate does not forward x-mock-* headers).
"${RT[@]}" taskset -c 1 "$MOCK" --listen 127.0.0.1:0 --port-file "$TMP/slowmock.port" --events "$EVENTS" \
  --interval-ms "$HOLD_INTERVAL_MS" >"$TMP/slowmock.log" 2>&1 &
SLOW_PID=$!; PIDS+=("$SLOW_PID")
SLOW_PORT=$(wait_port_file "$TMP/slowmock.port" "$SLOW_PID") || die "the slow mock did not start"

# The failing primary of the failover cases: a mock that answers every API request 503 at once.
"${RT[@]}" taskset -c 1 "$MOCK" --listen 127.0.0.1:0 --port-file "$TMP/failmock.port" \
  --fail-status 503 --fail-count 1000000000 >"$TMP/failmock.log" 2>&1 &
FAIL_PID=$!; PIDS+=("$FAIL_PID")
FAIL_PORT=$(wait_port_file "$TMP/failmock.port" "$FAIL_PID") || die "the failing mock did not start"
# ... and a port where nothing listens (connection refused).
DEAD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NGX_USER=""
[[ $(id -u) == 0 ]] && NGX_USER="user nobody nogroup;"  # as root, nginx's worker drops to nobody

# The HTTPS upstream: a second nginx on core 1 terminating TLS (TLS 1.3, session tickets) in front
# of the mock, as every cloud provider is HTTPS. Its CPU is the upstream's and is not counted.
TLSF="$TMP/tlsfront"
mkdir -p "$TLSF/logs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TLSF/key.pem" -out "$TLSF/cert.pem" >/dev/null 2>&1 ||
  die "openssl could not make the TLS front's certificate"
chmod 644 "$TLSF/key.pem"
TLS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$TLSF/nginx.conf" <<EOF
# generated by bench/run.sh: TLS termination in front of the mock
$NGX_USER
worker_processes 1;
daemon off;
pid $TLSF/nginx.pid;
error_log $TLSF/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $TLSF/tmp_body;
  proxy_temp_path $TLSF/tmp_proxy;
  fastcgi_temp_path $TLSF/tmp_fastcgi;
  uwsgi_temp_path $TLSF/tmp_uwsgi;
  scgi_temp_path $TLSF/tmp_scgi;
  upstream mock {
    server 127.0.0.1:$MOCK_PORT;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$TLS_PORT ssl backlog=4096;
    ssl_certificate $TLSF/cert.pem;
    ssl_certificate_key $TLSF/key.pem;
    ssl_session_cache shared:tls:1m;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
EOF
chmod 755 "$TMP" "$TLSF"
"${RT[@]}" taskset -c 1 nginx -p "$TLSF" -c "$TLSF/nginx.conf" -e "$TLSF/logs/error.log" >"$TLSF/stdout.log" 2>&1 &
TLSF_PID=$!; PIDS+=("$TLSF_PID")
for _ in $(seq 100); do
  curl -s -o /dev/null --max-time 1 --cacert "$TLSF/cert.pem" "https://127.0.0.1:$TLS_PORT/" && break
  sleep 0.05
done
TLSF_PIDS="$TLSF_PID $(ps -o pid= --ppid "$TLSF_PID" | tr -s ' \n' ' ')"

# --- Tollgate's memory, on a fresh process -----------------------------------------------------
start_tollgate() {  # NAME ACCESS_LOG(true|false) -> sets TG_PID, TG_PORT
  local name=$1 access=$2
  cat >"$TMP/$name.yaml" <<EOF
# generated by bench/run.sh
store:
  sqlite: $TMP/$name.db
server:
  master_key: $MASTER_KEY
  access_log: $access
  log_level: info
providers:
  mock:
    type: openai-compatible
    base_url: http://127.0.0.1:$MOCK_PORT/v1
    api_key: mock-key
    responses: translate
  native:
    type: openai-compatible
    base_url: http://127.0.0.1:$MOCK_PORT/v1
    api_key: mock-key
    responses: native
  slow:
    type: openai-compatible
    base_url: http://127.0.0.1:$SLOW_PORT/v1
    api_key: mock-key
  failing:
    type: openai-compatible
    base_url: http://127.0.0.1:$FAIL_PORT/v1
    api_key: mock-key
  refused:
    type: openai-compatible
    base_url: http://127.0.0.1:$DEAD_PORT/v1
    api_key: mock-key
  secure:
    type: openai-compatible
    base_url: https://127.0.0.1:$TLS_PORT/v1
    api_key: mock-key
    ca_file: $TLSF/cert.pem
$(governed_key_yaml "$GOVERNED_KEY")
pricing:
  mock/gpt-4o-mini: { input: 0.15, output: 0.60 }
  secure/gpt-4o-mini: { input: 0.15, output: 0.60 }
models:
  - name: failover-503
    targets: [failing/gpt-4o-mini, mock/gpt-4o-mini]
  - name: failover-refused
    targets: [refused/gpt-4o-mini, mock/gpt-4o-mini]
# No retry on the failing target; its cooldown (after 1,000 failures in a row) is 1 ms, so every
# request pays exactly one failover.
router:
  retries: 0
  allowed_fails: 1000
  cooldown: 1ms
EOF
  rm -f "$TMP/$name.port"
  # (from the scratch directory, so nothing relative lands in the tree; exec keeps the PID)
  (cd "$TMP" && exec "${RT[@]}" taskset -c 0 "$TOLLGATE" --config "$TMP/$name.yaml" --listen 127.0.0.1:0 \
     --workers 1 --port-file "$TMP/$name.port" >"$TMP/$name.log" 2>&1) &
  TG_PID=$!; PIDS+=("$TG_PID")
  TG_PORT=$(wait_port_file "$TMP/$name.port" "$TG_PID") || die "tollgate did not start: $(cat "$TMP/$name.log")"
  wait_http "http://127.0.0.1:$TG_PORT/health" || die "tollgate is not healthy"
}

start_tollgate tollgate_rss true
sleep 1
TG_IDLE_HWM=$(proc_kb "$TG_PID" VmHWM); TG_IDLE_RSS=$(proc_kb "$TG_PID" VmRSS)
log "tollgate (pid $TG_PID, $(ls /proc/"$TG_PID"/task | wc -l) threads): idle VmHWM ${TG_IDLE_HWM} kB;" \
    "now $HOLD_N concurrent slow streams ($EVENTS events, ${HOLD_INTERVAL_MS} ms apart)"
(
  peak=0
  while kill -0 "$TG_PID" 2>/dev/null && [[ ! -e $TMP/hold.done ]]; do
    r=$(proc_kb "$TG_PID" VmRSS); (( r > peak )) && peak=$r
    echo "$peak" >"$TMP/hold.rss"; sleep 0.1
  done
) &
SAMPLER=$!
TG_HOLD=$(timeout 40 "${RT[@]}" taskset -c 1 "$LOADGEN" --url "http://127.0.0.1:$TG_PORT/v1/chat/completions" \
  --concurrency-hold "$HOLD_N" --header "Authorization: Bearer $MASTER_KEY" --body-file "$TMP/slow.json" \
  --stream --timeout 5) || true
touch "$TMP/hold.done"; wait "$SAMPLER" 2>/dev/null || true
TG_HOLD_HWM=$(proc_kb "$TG_PID" VmHWM); TG_AFTER_RSS=$(proc_kb "$TG_PID" VmRSS)
printf '{"target":"tollgate","case":"rss","idle_vmhwm_kb":%d,"idle_vmrss_kb":%d,"hold_vmhwm_kb":%d,"hold_peak_vmrss_kb":%d,"after_vmrss_kb":%d,"threads":%d,"loadgen":%s}\n' \
  "$TG_IDLE_HWM" "$TG_IDLE_RSS" "$TG_HOLD_HWM" "$(cat "$TMP/hold.rss" 2>/dev/null || echo 0)" "$TG_AFTER_RSS" \
  "$(ls /proc/"$TG_PID"/task | wc -l)" "${TG_HOLD:-null}" >>"$CASES"
log "tollgate: VmHWM with $HOLD_N streams ${TG_HOLD_HWM} kB; $(echo "$TG_HOLD" | cut -c1-100)..."
stop_pid "$TG_PID"

# --- The proxies: nginx, Tollgate, Tollgate without access log (all idle until their turn) --------
NGX="$TMP/nginx"
mkdir -p "$NGX/logs"
NGX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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
  upstream tlsfront {
    server 127.0.0.1:$TLS_PORT;
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
    location /tls/ {
      proxy_pass https://tlsfront/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_ssl_verify on;
      proxy_ssl_name localhost;
      proxy_ssl_trusted_certificate $TLSF/cert.pem;
      proxy_ssl_session_reuse on;
    }
  }
}
EOF
chmod 755 "$TMP" "$NGX"
"${RT[@]}" taskset -c 0 nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/logs/error.log" >"$NGX/stdout.log" 2>&1 &
NGX_PID=$!; PIDS+=("$NGX_PID")
wait_http "http://127.0.0.1:$NGX_PORT/" || die "nginx did not start: $(cat "$NGX/logs/error.log")"
NGX_PIDS="$NGX_PID $(ps -o pid= --ppid "$NGX_PID" | tr -s ' \n' ' ')"
NGX_IDLE_HWM=0; for p in $NGX_PIDS; do NGX_IDLE_HWM=$((NGX_IDLE_HWM + $(proc_kb "$p" VmHWM))); done

start_tollgate tollgate true
TG_PIDS=$TG_PID
start_tollgate tollgate_nolog false
NL_PIDS=$TG_PID; NL_PORT=$TG_PORT
TG_PORT=$(cat "$TMP/tollgate.port")
log "nginx $(nginx -v 2>&1 | sed 's/.*\///') on :$NGX_PORT (pids $NGX_PIDS); tollgate on :$TG_PORT" \
    "(pid $TG_PIDS, $(ls /proc/"$TG_PIDS"/task | wc -l) threads); tollgate without access log on :$NL_PORT"

declare -A URL=(
  [direct]="$MOCK_URL"
  [nginx]="http://127.0.0.1:$NGX_PORT/v1/chat/completions"
  [tollgate]="http://127.0.0.1:$TG_PORT/v1/chat/completions"
  [tollgate_nolog]="http://127.0.0.1:$NL_PORT/v1/chat/completions"
)
declare -A PROCS=([direct]="$MOCK_PID" [nginx]="$NGX_PIDS" [tollgate]="$TG_PIDS" [tollgate_nolog]="$NL_PIDS")
ALL="direct nginx tollgate tollgate_nolog"
for t in $FO_TARGETS; do URL[$t]=${URL[tollgate]}; PROCS[$t]=$TG_PIDS; done
for t in $RESP_TARGETS; do URL[$t]="http://127.0.0.1:$TG_PORT/v1/responses"; PROCS[$t]=$TG_PIDS; done
URL[tollgate_governed]=${URL[tollgate]}; PROCS[tollgate_governed]=$TG_PIDS
URL[tollgate_tls]=${URL[tollgate]}; PROCS[tollgate_tls]=$TG_PIDS
URL[nginx_tls]="http://127.0.0.1:$NGX_PORT/tls/v1/chat/completions"; PROCS[nginx_tls]=$NGX_PIDS
GOV_TLS_TARGETS="tollgate_governed nginx_tls tollgate_tls"
EXTRA_TARGETS="$FO_TARGETS $RESP_TARGETS $GOV_TLS_TARGETS"  # with their own bodies ($TMP/TARGET.*)

log "warm-up"
for t in $ALL; do warm_up "$t" "${URL[$t]}" "${PROCS[$t]}"; done
for t in $EXTRA_TARGETS; do warm_up "$t" "${URL[$t]}" "${PROCS[$t]}" "$TMP/$t."; done

log "CPU per request: $ROUNDS rounds of $CPU_N non-streamed at $CPU_RATE/s and $SCPU_N streamed at $SCPU_RATE/s"
for ((r = 1; r <= ROUNDS; r++)); do
  for t in $ALL; do
    run_case "$t" "cpu_plain.$r" "${URL[$t]}" "${PROCS[$t]}" --rate "$CPU_RATE" --requests "$CPU_N" \
      --body-file "$TMP/plain.json"
  done
  for t in $ALL; do
    run_case "$t" "cpu_stream.$r" "${URL[$t]}" "${PROCS[$t]}" --rate "$SCPU_RATE" --requests "$SCPU_N" \
      --body-file "$TMP/stream.json" --stream
  done
  for t in $EXTRA_TARGETS; do  # Tollgate's CPU only: the failing mock's is the upstream's
    run_case "$t" "cpu_plain.$r" "${URL[$t]}" "${PROCS[$t]}" --rate "$CPU_RATE" --requests "$CPU_N" \
      --body-file "$TMP/$t.plain.json"
    run_case "$t" "cpu_stream.$r" "${URL[$t]}" "${PROCS[$t]}" --rate "$SCPU_RATE" --requests "$SCPU_N" \
      --body-file "$TMP/$t.stream.json" --stream
  done
done

LAT_TARGETS="direct nginx tollgate"
[[ $VARIANT_LAT == 1 ]] && LAT_TARGETS="$ALL"
for rate in 100 500 2000; do
  log "latency at $rate req/s ($LAT_SECS s each)"
  for t in $LAT_TARGETS; do
    run_case "$t" "lat_$rate" "${URL[$t]}" "${PROCS[$t]}" --rate "$rate" --duration "$LAT_SECS" \
      --body-file "$TMP/plain.json"
  done
  if [[ $rate == 500 ]]; then
    for t in $EXTRA_TARGETS; do
      run_case "$t" "lat_$rate" "${URL[$t]}" "${PROCS[$t]}" --rate "$rate" --duration "$LAT_SECS" \
        --body-file "$TMP/$t.plain.json"
    done
  fi
done

# Saturation: closed loop (every request due at once; each of the 16 connections sends its next as
# soon as its answer is in), one worker on one core. The proxy's CPU per request and req/s, and
# perf stat's task-clock, context switches and system calls per request beside them.
SAT_TARGETS="nginx tollgate tollgate_governed nginx_tls tollgate_tls"
PERF_EVENTS=task-clock,context-switches
# (grep reads all of perf list's output: with -q, pipefail would see perf list's SIGPIPE)
if perf list 2>/dev/null | grep 'raw_syscalls:sys_enter' >/dev/null; then PERF_EVENTS+=,raw_syscalls:sys_enter; fi
log "saturation: $SAT_N requests per target in $SAT_ROUNDS round(s), closed loop over $CONNS connections"
sat_case() {  # sat_case TARGET CASE N BODY [--stream]: one closed-loop run under perf stat
  local t="$1" case="$2" n="$3" b="$4" perf_out=""
  shift 4
  local round=""; [[ $case == *.* ]] && round=".${case##*.}"
  if command -v perf >/dev/null; then
    # shellcheck disable=SC2086
    perf stat -x, -e "$PERF_EVENTS" -p "$(echo ${PROCS[$t]} | tr ' ' ',')" -o "$TMP/perf.$t.txt" &
    perf_out=$!
    sleep 0.3
  fi
  run_case "$t" "$case" "${URL[$t]}" "${PROCS[$t]}" --rate 10000000 --requests "$n" --body-file "$b" "$@"
  if [[ -n $perf_out ]]; then
    kill -INT "$perf_out" 2>/dev/null || true; wait "$perf_out" 2>/dev/null || true
    python3 - "$TMP/perf.$t.txt" "$t" "${case%.*}" "$round" >>"$CASES" <<'PY'
import json, sys
vals = {}
for line in open(sys.argv[1]):
    f = line.strip().split(",")
    if len(f) > 2 and f[2] and f[0] and f[0][0].isdigit():
        vals[f[2]] = float(f[0])
print(json.dumps({"target": sys.argv[2], "case": sys.argv[3] + "_perf" + sys.argv[4], "perf": vals}))
PY
  fi
}
# Each round runs every target once, in turn, so a burst of background load spoils one round of
# one target, not a target; the report takes the median over the rounds.
for r in $(seq 1 "$SAT_ROUNDS"); do
  for t in $SAT_TARGETS; do
    b="$TMP/plain.json"; [[ -f $TMP/$t.plain.json ]] && b="$TMP/$t.plain.json"
    sat_case "$t" "sat.$r" $((SAT_N / SAT_ROUNDS)) "$b"
  done
done
log "streamed saturation: $SAT_STREAM_N streams per target ($EVENTS events each) in $SAT_ROUNDS round(s)"
for r in $(seq 1 "$SAT_ROUNDS"); do
  for t in nginx tollgate; do
    sat_case "$t" "sat_stream.$r" $((SAT_STREAM_N / SAT_ROUNDS)) "$TMP/stream.json" --stream
  done
done

stop_pid "$TG_PIDS"
stop_pid "$NL_PIDS"
NGX_HWM0=0; for p in $NGX_PIDS; do NGX_HWM0=$((NGX_HWM0 + $(proc_kb "$p" VmHWM))); done
NGX_HWM1=0
NGX_HOLD=null
if [[ $NGINX_HOLD == 1 ]]; then  # nginx under the same 1,000 slow streams, for context
  log "nginx: $HOLD_N concurrent slow streams"
  NGX_HOLD=$(timeout 40 "${RT[@]}" taskset -c 1 "$LOADGEN" --url "http://127.0.0.1:$NGX_PORT/slow/v1/chat/completions" \
    --concurrency-hold "$HOLD_N" --body-file "$TMP/slow.json" --stream --timeout 5) || NGX_HOLD=null
  for p in $NGX_PIDS; do NGX_HWM1=$((NGX_HWM1 + $(proc_kb "$p" VmHWM))); done
fi
printf '{"target":"nginx","case":"rss","idle_vmhwm_kb":%d,"vmhwm_before_kb":%d,"hold_vmhwm_kb":%d,"loadgen":%s}\n' \
  "$NGX_IDLE_HWM" "$NGX_HWM0" "$NGX_HWM1" "${NGX_HOLD:-null}" >>"$CASES"
stop_pid "$NGX_PID"

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
  "mode": "$MODE", "command": "bench/run.sh${ARGS:+ $ARGS}", "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "commit": "$COMMIT", "dirty": "$DIRTY" == "true",
  "cpu": "$CPU_MODEL", "cores": $(nproc), "kernel": platform.release(),
  "os": "$(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-unknown}")",
  "compiler": "$("$CXX" --version | head -1)", "nginx": "$(nginx -v 2>&1 | sed 's/^nginx version: //')",
  "sched": "${RT:+SCHED_FIFO (chrt -f 20)}" or "SCHED_OTHER", "built": $([[ $SKIP_BUILD == 0 ]] && echo True || echo False), "build_type": "${BUILD_TYPE:-unknown}",
  "binary_time": "$(date -u -r "$TOLLGATE" +%Y-%m-%dT%H:%M:%SZ)", "busy_before_pct": $BUSY, "busy_after_pct": $BUSY_END, "wall_s": $((END_TS - START_TS)),
  "settings": {"connections": $CONNS, "events": $EVENTS, "rounds": $ROUNDS, "cpu_rate": $CPU_RATE, "cpu_requests": $CPU_N,
               "stream_cpu_rate": $SCPU_RATE, "stream_cpu_requests": $SCPU_N, "latency_seconds": $LAT_SECS,
               "hold_streams": $HOLD_N, "hold_interval_ms": $HOLD_INTERVAL_MS, "sat_requests": $SAT_N, "sat_stream_requests": $SAT_STREAM_N, "sat_rounds": $SAT_ROUNDS},
}))
PY
)
REPORT_ARGS=(--cases "$CASES" --meta "$META" --json "$RESULTS_DIR/latest.json" --markdown "$RESULTS_DIR/latest.md")
[[ $WRITE_DOCS == 1 ]] && REPORT_ARGS+=(--write-docs "$ROOT/docs/benchmarks.md")
python3 "$ROOT/bench/report.py" "${REPORT_ARGS[@]}"
log "done in $((END_TS - START_TS)) s; results in bench/results/latest.json and latest.md"
