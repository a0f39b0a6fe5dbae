#!/usr/bin/env bash
# Runs docker/compose.scale.yaml's setup without Docker, from this machine's own binaries and
# Debian's servers, with the very files compose mounts (only host names and ports rewritten to
# loopback): PostgreSQL 15 and Redis 7 with passwords, tollgate-mock, two tollgate instances on
# docker/config.scale.yaml, nginx on docker/nginx.conf in front. Then checks:
#   - every request through nginx is answered, and both instances served some;
#   - a virtual key made through nginx works, and PostgreSQL's books balance (rows = spend);
#   - `kill -9` of one instance: every request sent through nginx afterwards is still answered
#     (nginx passes a refused connection to the other), and /lb/ready stays 200.
#
#   docker/verify-scale.sh [BUILD_DIR]      # default ./build (tollgate, tollgate-mock)
#
# Needs postgresql-15, redis-server, nginx (nginx-light) and curl. Everything it starts is stopped
# by PID at the end, and its work directory removed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build}"
PG_BIN=/usr/lib/postgresql/15/bin
WORK="$(mktemp -d /tmp/tg-verify-scale-XXXXXX)"
chmod 755 "$WORK"
PIDS=()
AS=()
[[ $(id -u) == 0 ]] && AS=(runuser -u nobody --)  # initdb refuses root

NGINX_PID=
cleanup() {
  # nginx's master first, with TERM: it stops its workers (a KILLed master would leave them).
  [[ -n $NGINX_PID ]] && { kill -TERM "$NGINX_PID" 2>/dev/null; wait "$NGINX_PID" 2>/dev/null || true; }
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  [[ -f "$WORK/pg/postmaster.pid" ]] && "${AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for WHAT COMMAND...: up to 20 s
  local what="$1"; shift
  for _ in $(seq 200); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "FAIL: $what did not come up" >&2; exit 1
}
fail() {
  echo "FAIL: $*" >&2
  for f in "$WORK"/a.log "$WORK"/b.log "$WORK"/nginx/error.log; do
    [[ -s $f ]] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
  done
  exit 1
}

export TOLLGATE_MASTER_KEY="sk-verify-$RANDOM$RANDOM" POSTGRES_PASSWORD="pg-$RANDOM$RANDOM" REDIS_PASSWORD="rd-$RANDOM$RANDOM"
PG_PORT=$(free_port) REDIS_PORT=$(free_port) MOCK_PORT=$(free_port)
A_PORT=$(free_port) B_PORT=$(free_port) NGINX_PORT=$(free_port)

# PostgreSQL, as the postgres image sets it up: user and database tollgate, password auth.
mkdir -p "$WORK/pg"
[[ ${#AS[@]} -gt 0 ]] && chown nobody "$WORK/pg"
printf '%s\n' "$POSTGRES_PASSWORD" > "$WORK/pgpass" && chmod 644 "$WORK/pgpass"
"${AS[@]}" "$PG_BIN/initdb" -D "$WORK/pg" -U tollgate --pwfile="$WORK/pgpass" -A scram-sha-256 \
  -E UTF8 --locale=C --no-sync >/dev/null
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/server.log" -w \
  -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
PGPASSWORD="$POSTGRES_PASSWORD" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U tollgate tollgate
psql_q() { PGPASSWORD="$POSTGRES_PASSWORD" "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U tollgate -d tollgate -Atc "$1"; }

# Redis, as compose.scale.yaml starts it.
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --requirepass "$REDIS_PASSWORD" --save '' \
  --appendonly yes --appendfsync everysec --maxmemory-policy noeviction --dir "$WORK" --logfile "$WORK/redis.log" &
PIDS+=($!)
wait_for redis env REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p "$REDIS_PORT" ping

"$BUILD/tollgate-mock" --listen "127.0.0.1:$MOCK_PORT" >"$WORK/mock.log" 2>&1 &
PIDS+=($!)

# The instances: config.scale.yaml with the service names pointed at loopback.
sed -e "s/@postgres:5432/@127.0.0.1:$PG_PORT/" -e "s/@redis:6379/@127.0.0.1:$REDIS_PORT/" \
    -e "s/workers: 0 /workers: 2 /" docker/config.scale.yaml > "$WORK/scale.yaml"
grep -q "127.0.0.1:$PG_PORT" "$WORK/scale.yaml" && grep -q "127.0.0.1:$REDIS_PORT" "$WORK/scale.yaml" ||
  fail "config.scale.yaml: the store URLs are not where this script expects them"
start_instance() {  # start_instance NAME PORT
  TOLLGATE_MOCK_URL="http://127.0.0.1:$MOCK_PORT/v1" "$BUILD/tollgate" --config "$WORK/scale.yaml" \
    --listen "127.0.0.1:$2" >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  eval "${1}_PID=$!"
}
start_instance a "$A_PORT"
start_instance b "$B_PORT"
# As compose's healthcheck asks it.
wait_for "instance a" "$BUILD/tollgate" healthcheck --ready "127.0.0.1:$A_PORT"
wait_for "instance b" "$BUILD/tollgate" healthcheck --ready "127.0.0.1:$B_PORT"

# nginx: nginx.conf with the upstreams, its port and its files rewritten.
mkdir -p "$WORK/nginx/logs"
sed -e "s/tollgate-a:8080/127.0.0.1:$A_PORT/" -e "s/tollgate-b:8080/127.0.0.1:$B_PORT/" \
    -e "s/listen 8080;/listen 127.0.0.1:$NGINX_PORT;/" -e "s|/tmp/nginx|$WORK/nginx/nginx|" \
    -e "s|error_log /dev/stderr|error_log $WORK/nginx/error.log|" docker/nginx.conf > "$WORK/nginx/nginx.conf"
nginx -t -q -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
LB="http://127.0.0.1:$NGINX_PORT"
wait_for nginx curl -sf "$LB/lb/ready"

chat() {  # chat KEY TEXT -> HTTP status (the body of the last one in $WORK/last.json)
  curl -s -o "$WORK/last.json" -w '%{http_code}' "$LB/v1/chat/completions" -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' \
    -d "{\"model\":\"mock-gpt\",\"max_tokens\":20,\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}]}"
}
served() {  # served PORT -> this instance's answered chat requests
  curl -s "http://127.0.0.1:$1/metrics" | awk '/^tollgate_requests_total\{.*status="200"/ {n += $2} END {print n + 0}'
}

# A key with a budget in a team, made through nginx (so on either instance).
created=$(curl -sf "$LB/admin/keys" -H "Authorization: Bearer $TOLLGATE_MASTER_KEY" \
  -d '{"name":"verify","team":"eng","budget":{"usd":5}}')
KEY=$(sed -E 's/.*"key":"([^"]+)".*/\1/' <<<"$created")
KEY_ID=$(sed -E 's/.*"id":"([^"]+)".*/\1/' <<<"$created")
for port in "$A_PORT" "$B_PORT"; do  # made on one, known to the other through NOTIFY
  wait_for "the key on :$port" curl -sf "http://127.0.0.1:$port/admin/keys/$KEY_ID" \
    -H "Authorization: Bearer $TOLLGATE_MASTER_KEY"
done
bad=0
for i in $(seq 40); do [[ $(chat "$KEY" "before $i") == 200 ]] || bad=$((bad + 1)); done
[[ $bad == 0 ]] || fail "$bad of 40 requests through nginx not answered 200: $(cat "$WORK/last.json")"
a_served=$(served "$A_PORT") b_served=$(served "$B_PORT")
echo "40 requests through nginx: all 200; instance a answered $a_served, b $b_served"
(( a_served > 0 && b_served > 0 )) || fail "nginx did not spread the requests over both instances"

# kill -9 of a: every later request through nginx is still answered (by b).
kill -9 "$a_PID"
bad=0
for i in $(seq 40); do [[ $(chat "$KEY" "after $i") == 200 ]] || bad=$((bad + 1)); done
[[ $bad == 0 ]] || fail "$bad of 40 requests through nginx after kill -9 of a not answered 200"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$LB/lb/ready") == 200 ]] || fail "/lb/ready not 200 with b up"
echo "kill -9 of instance a: 40 more requests through nginx, all 200 (b answered $(served "$B_PORT") in all)"

# The books in PostgreSQL (b flushes within its 100 ms interval): rows = key spend = team spend.
for _ in $(seq 50); do
  rows=$(psql_q "SELECT COALESCE(SUM(cost_nano), 0) FROM requests WHERE key_id = '$KEY_ID'")
  key_spend=$(psql_q "SELECT COALESCE(MAX(spent_nano), 0) FROM spend_total WHERE holder = 'key:$KEY_ID'")
  team_spend=$(psql_q "SELECT COALESCE(MAX(spent_nano), 0) FROM spend_total WHERE holder = 'team:eng'")
  n=$(psql_q "SELECT count(*) FROM requests WHERE key_id = '$KEY_ID'")
  [[ $rows == "$key_spend" && $rows == "$team_spend" && $rows -gt 0 ]] && break
  sleep 0.1
done
echo "PostgreSQL: $n request rows, Σ cost $rows nUSD = key spend $key_spend = team spend $team_spend"
[[ $rows == "$key_spend" && $rows == "$team_spend" ]] || fail "the books do not balance"
echo "verify-scale: OK"
