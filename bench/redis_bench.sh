#!/usr/bin/env bash
# The two-instance case (store.redis): what the Redis round trip of a virtual key's limits and
# budget adds per request, against the same key on one instance (in-process limits and budget).
#
#   bench/redis_bench.sh [--requests N] [--rate R] [--rounds K]
#
# One mock, one redis-server (Debian's, no persistence), and Tollgate with one worker each:
#   one: one instance, key with rpm + tpm + parallel + budget, all in-process;
#   split: two instances without Redis (per-instance limits), the load split evenly: the same
#          event-loop load per instance as `two`, so `two` - `split` is what Redis itself costs;
#   two: two instances on store.redis with the same key, the load split evenly between them.
# Each round runs both cases in turn (rate R, N requests in all, open loop, bench/loadgen.cpp);
# the figures are medians over the rounds. CPU per request = the gateways' CPU time (utime +
# stime) / requests; Redis's own CPU is shown apart. Uses the binaries in build/ (or BUILD_DIR).
# PERF_TWO=FILE also records instance A (perf record -g, 2 s) during each two-instance run.
# INFO commandstats of the two-instance runs goes to stderr: usec_per_call of EVALSHA is the time
# Redis spends in a script (admit and finish alike), the other lines the commands they call.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
N=4000
RATE=1000
ROUNDS=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) N=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "redis_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
TOLLGATE="$BUILD_DIR/tollgate"
MOCK="$BUILD_DIR/tollgate-mock"
[[ -x $TOLLGATE && -x $MOCK ]] || { echo "no binaries in $BUILD_DIR" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 1; }
LOADGEN="$BUILD_DIR/bench/loadgen"
if [[ ! -x $LOADGEN || bench/loadgen.cpp -nt $LOADGEN ]]; then
  mkdir -p "$BUILD_DIR/bench"
  "${CXX:-g++}" -O2 -std=c++20 bench/loadgen.cpp -o "$LOADGEN" -lpthread
fi

TMP=$(mktemp -d /tmp/tg-redis-bench-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

wait_port_file() {  # FILE PID
  for _ in $(seq 200); do
    [[ -s $1 ]] && { cat "$1"; return 0; }
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
cpu_ticks() {
  local total=0 p rest
  for p in "$@"; do
    read -r rest <"/proc/$p/stat"
    rest=${rest##*) }
    read -r -a f <<<"$rest"
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)

"$MOCK" --listen 127.0.0.1:0 --port-file "$TMP/mock.port" >"$TMP/mock.log" 2>&1 &
MOCK_PID=$!; PIDS+=("$MOCK_PID")
MOCK_PORT=$(wait_port_file "$TMP/mock.port" "$MOCK_PID")
REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$TMP" --save "" --appendonly no \
  --logfile "$TMP/redis.log" &
REDIS_PID=$!; PIDS+=("$REDIS_PID")
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done

KEY=sk-tg-bench-0123456789abcdef0123456789abcd
config() {  # DB [REDIS_URL]
  cat <<EOF
server: {master_key: sk-bench-master, workers: 1, log_level: warn, access_log: false}
store:
  sqlite: $1
${2:+  redis: $2}
providers:
  mock: {type: openai-compatible, base_url: http://127.0.0.1:$MOCK_PORT/v1, api_key: x}
models:
  - {name: gpt-bench, targets: [mock/gpt-4o-mini]}
pricing:
  mock/gpt-4o-mini: {input: 1.0, output: 2.0}
keys:
  - name: bench
    key: $KEY
    limits: {rpm: 100000000, tpm: 100000000000, parallel: 10000}
    budget: {usd: 1000000, period: monthly}
EOF
}
start_tg() {  # NAME CONFIG-TEXT -> sets TG_PID TG_PORT
  printf '%s\n' "$2" >"$TMP/$1.yaml"
  "$TOLLGATE" --config "$TMP/$1.yaml" --listen 127.0.0.1:0 --port-file "$TMP/$1.port" \
    >"$TMP/$1.log" 2>&1 &
  TG_PID=$!; PIDS+=("$TG_PID")
  TG_PORT=$(wait_port_file "$TMP/$1.port" "$TG_PID") || { cat "$TMP/$1.log" >&2; exit 1; }
}
start_tg one "$(config "$TMP/one.db")"; ONE_PID=$TG_PID; ONE_PORT=$TG_PORT
start_tg a "$(config "$TMP/a.db" "redis://127.0.0.1:$REDIS_PORT/0")"; A_PID=$TG_PID; A_PORT=$TG_PORT
start_tg b "$(config "$TMP/b.db" "redis://127.0.0.1:$REDIS_PORT/0")"; B_PID=$TG_PID; B_PORT=$TG_PORT
start_tg c "$(config "$TMP/c.db")"; C_PID=$TG_PID; C_PORT=$TG_PORT
start_tg d "$(config "$TMP/d.db")"; D_PID=$TG_PID; D_PORT=$TG_PORT
echo '{"model":"gpt-bench","messages":[{"role":"user","content":"hello"}],"max_tokens":16}' >"$TMP/body.json"
sleep 0.5

run() {  # PORT RATE N -> loadgen JSON
  "$LOADGEN" --url "http://127.0.0.1:$1/v1/chat/completions" --rate "$2" --requests "$3" \
    --connections 8 --body-file "$TMP/body.json" --header "Authorization: Bearer $KEY" --timeout 10
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$2'])" "$1"; }

# Warm up (connections, scripts, caches).
run "$ONE_PORT" 500 500 >/dev/null
for p in "$A_PORT" "$B_PORT" "$C_PORT" "$D_PORT"; do run "$p" 250 250 >/dev/null; done

redis-cli -p "$REDIS_PORT" config resetstat >/dev/null
results=()
for r in $(seq "$ROUNDS"); do
  c0=$(cpu_ticks "$ONE_PID")
  one=$(run "$ONE_PORT" "$RATE" "$N")
  c1=$(cpu_ticks "$ONE_PID")
  one_cpu=$(python3 -c "print(($c1-$c0)/$CLK_TCK*1e6/$N)")
  c0=$(cpu_ticks "$C_PID" "$D_PID")
  run "$C_PORT" $((RATE / 2)) $((N / 2)) >"$TMP/jc" &
  jc=$!
  run "$D_PORT" $((RATE / 2)) $((N / 2)) >"$TMP/jd"
  wait "$jc"
  c1=$(cpu_ticks "$C_PID" "$D_PID")
  split_cpu=$(python3 -c "print(($c1-$c0)/$CLK_TCK*1e6/$N)")
  c0=$(cpu_ticks "$A_PID" "$B_PID"); r0=$(cpu_ticks "$REDIS_PID")
  if [[ -n ${PERF_TWO:-} ]]; then perf record -q -g -p "$A_PID" -o "$PERF_TWO" -- sleep 2 2>/dev/null & fi
  run "$A_PORT" $((RATE / 2)) $((N / 2)) >"$TMP/ja" &
  ja=$!
  run "$B_PORT" $((RATE / 2)) $((N / 2)) >"$TMP/jb"
  wait "$ja"
  c1=$(cpu_ticks "$A_PID" "$B_PID"); r1=$(cpu_ticks "$REDIS_PID")
  two_cpu=$(python3 -c "print(($c1-$c0)/$CLK_TCK*1e6/$N)")
  redis_cpu=$(python3 -c "print(($r1-$r0)/$CLK_TCK*1e6/$N)")
  a=$(cat "$TMP/ja"); b=$(cat "$TMP/jb"); c=$(cat "$TMP/jc"); d=$(cat "$TMP/jd")
  results+=("$(python3 - "$one" "$a" "$b" "$c" "$d" "$one_cpu" "$two_cpu" "$redis_cpu" "$split_cpu" <<'EOF'
import json, sys
one, a, b, c, d = (json.loads(x) for x in sys.argv[1:6])
for j in (one, a, b, c, d):
    if j["errors"]:
        sys.exit(f"errors in a run: {j}")
print(json.dumps({"one_p50": one["p50_ms"], "one_p99": one["p99_ms"],
                  "split_p50": (c["p50_ms"] + d["p50_ms"]) / 2, "split_p99": max(c["p99_ms"], d["p99_ms"]),
                  "two_p50": (a["p50_ms"] + b["p50_ms"]) / 2, "two_p99": max(a["p99_ms"], b["p99_ms"]),
                  "one_cpu_us": float(sys.argv[6]), "two_cpu_us": float(sys.argv[7]),
                  "redis_cpu_us": float(sys.argv[8]), "split_cpu_us": float(sys.argv[9])}))
EOF
)")
  echo "round $r: ${results[-1]}" >&2
done

# Redis's own time inside the commands (the scripts: EVALSHA), per call, over every round's
# two-instance runs (the one-instance and split runs send nothing to Redis).
redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' | grep '^cmdstat_' >&2 || true

python3 - "$N" "$RATE" "${results[@]}" <<'EOF'
import json, statistics, sys
n, rate = sys.argv[1], sys.argv[2]
rs = [json.loads(x) for x in sys.argv[3:]]
m = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
print(f"| case ({rate} req/s, {n} requests, median of {len(rs)} rounds) | p50 ms | p99 ms | gateway CPU µs/request | Redis CPU µs/request |")
print("| --- | --- | --- | --- | --- |")
print(f"| one instance, in-process limits + budget | {m['one_p50']:.3f} | {m['one_p99']:.3f} | {m['one_cpu_us']:.0f} | - |")
print(f"| two instances, no Redis (per-instance limits, load split) | {m['split_p50']:.3f} | {m['split_p99']:.3f} | {m['split_cpu_us']:.0f} | - |")
print(f"| two instances on store.redis (load split) | {m['two_p50']:.3f} | {m['two_p99']:.3f} | {m['two_cpu_us']:.0f} | {m['redis_cpu_us']:.0f} |")
print()
print(f"store.redis vs one instance: p50 {m['two_p50'] - m['one_p50']:+.3f} ms, gateway CPU per request {m['two_cpu_us'] / m['one_cpu_us']:.2f}x")
print(f"store.redis vs two instances without it: p50 {m['two_p50'] - m['split_p50']:+.3f} ms, gateway CPU per request {m['two_cpu_us'] / m['split_cpu_us']:.2f}x")
EOF
