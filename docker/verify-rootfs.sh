#!/usr/bin/env bash
# Verifies docker/Dockerfile without Docker: runs its build and runtime steps in clean Debian
# bookworm roots made with debootstrap, then starts the result as the image would and checks it.
#
#   sudo docker/verify-rootfs.sh [--keep] [--no-cache]
#
#   --keep       keep the build and runtime roots under the work dir (default: removed at the end)
#   --no-cache   rebuild the debootstrap base and the build-deps layer
#   --reuse-build  skip the build stage, use the one a --keep run left (for work on steps 3-4)
#   --binaries DIR  skip the compile: stage tollgate and tollgate-mock from DIR (e.g. ./build, a
#                  build of this tree for this machine) with build-stage.sh stage; checks the
#                  image's assembly and behaviour in minutes, not the Dockerfile's compile
#
# Steps, as Docker would run them:
#   1. base     debootstrap --variant=minbase bookworm (~ debian:bookworm; cached as a tarball)
#   2. build    FROM debian:bookworm: build-stage.sh deps (cached like a layer, keyed by the
#               script), COPY . /src (with Dockerfile.dockerignore's exclusions), build-stage.sh build
#   3. runtime  FROM scratch: an empty root, COPY --from=build /out/rootfs/ /; its size, its
#               libraries and its largest parts are reported; no shell may be in it
#   4. run      tollgate-mock copied in (as the Dockerfile's mock stage does), then the image's
#               ENTRYPOINT/CMD/ENV run in a chroot with their own PID and mount namespaces (so the
#               daemon is PID 1, as in a container; Docker's /dev bound in) on the host network:
#               PUID=abc refused (64); first start (config created, runs as tollgate), HEALTHCHECK
#               (`tollgate healthcheck`), /health, chat (plain and streamed), /metrics,
#               /data/tollgate.db and a `tollgate backup` of it while running (as docker exec -u
#               tollgate would), SIGTERM with a request in flight -> it is answered, exit 0,
#               then the HEALTHCHECK fails (exit 1); then with
#               PUID/PGID (chown of /data, config kept) and the mock behind TLS (socat): refused
#               while its test CA is not in the image's CA bundle, answered once it is (the static
#               OpenSSL finds the bundle and verifies); SIGTERM.
#
# Needs root and Debian's mirror; installs debootstrap, curl, socat and openssl on the host if
# missing (sqlite3 checks the backup from outside). Environment: TOLLGATE_DEBOOTSTRAP_CACHE (default /var/cache/tollgate-debootstrap),
# TOLLGATE_VERIFY_WORK (default build-docker/ in the repo, gitignored), DEBIAN_MIRROR,
# DEBIAN_SECURITY_MIRROR, BUILD_JOBS (default 2).
set -euo pipefail

KEEP=0
NO_CACHE=0
REUSE=0
BINARIES=""
while [ $# -gt 0 ]; do
  arg=$1
  shift
  case "$arg" in
    --binaries) BINARIES=$(cd "${1:?--binaries DIR}" && pwd); shift ;;
    --keep) KEEP=1 ;;
    --no-cache) NO_CACHE=1 ;;
    --reuse-build) REUSE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "verify-rootfs: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${TOLLGATE_DEBOOTSTRAP_CACHE:-/var/cache/tollgate-debootstrap}
WORK=${TOLLGATE_VERIFY_WORK:-$REPO/build-docker}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
JOBS=${BUILD_JOBS:-2}
ARCH=$(dpkg --print-architecture)
BUILD=$WORK/build-root
RUNTIME=$WORK/runtime-root
LOGS=$WORK/logs
T0=$(date +%s)

say() { printf '\n== %s (%ds)\n' "$*" "$(( $(date +%s) - T0 ))"; }
die() { echo "verify-rootfs: FAIL: $*" >&2; exit 1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
bytes() { du -s --apparent-size -B1 -x "$1" | cut -f1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"

# --- host tools ------------------------------------------------------------------------------
missing=()
for tool in debootstrap:debootstrap curl:curl socat:socat openssl:openssl unshare:util-linux \
            sqlite3:sqlite3; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing host tools: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- processes we start, ended by PID on exit ------------------------------------------------
PIDS=()
cleanup() {
  local pid init all=()
  # A container's PID 1 outlives unshare once it changed uid: end it by its own PID.
  for pid in "${PIDS[@]}"; do
    [ -n "$pid" ] || continue
    init=$(ns_init_of "$pid")
    all+=(${init:+"$init"} "$pid")
  done
  PIDS=("${all[@]}")
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$KEEP" = 0 ] && [ "$REUSE" = 0 ] && [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
    rm -rf "$BUILD" "$RUNTIME"
  fi
}
trap cleanup EXIT

# Runs a command in ROOT the way a container does: its own mount and PID namespaces (a private
# /proc and Docker's /dev, gone with the namespace: nothing stays mounted on the host), a clean
# environment. The first process is PID 1 there. Extra environment as NAME=VALUE words before the
# command. A root without a shell or env (the runtime image): env and chroot are the host's.
# IN_ROOT_USER=UID:GID runs the command as that user (docker exec -u).
CHROOT=$(command -v chroot)  # by path: the command's own PATH may be the image's
in_root() {
  local root="$1" envs=()
  shift
  while [ $# -gt 0 ] && [[ "$1" == [A-Za-z_]*=* ]]; do envs+=("$1"); shift; done
  mkdir -p "$root/proc" "$root/dev"
  unshare --mount --pid --fork --mount-proc="$root/proc" \
    /bin/sh -c 'mount --rbind /dev "$0/dev" && exec "$@"' "$root" \
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root HOSTNAME=tollgate "${envs[@]}" \
      "$CHROOT" ${IN_ROOT_USER:+--userspec="$IN_ROOT_USER" --groups=} "$root" "$@"
}

# Waits for FILE to hold a port number; prints it.
wait_port_file() {
  local file="$1" pid="$2" what="$3"
  for _ in $(seq 1 100); do
    if [ -s "$file" ]; then cat "$file"; return 0; fi
    kill -0 "$pid" 2>/dev/null || die "$what exited before listening (see $LOGS)"
    sleep 0.1
  done
  die "$what did not listen within 10 s (see $LOGS)"
}

# The PID (in the host's namespace) of the container's PID 1 under PID (a background job: a
# subshell, then unshare): the first descendant whose own PID namespace numbers it 1; "" if none.
ns_init_of() {
  local queue=("$1") pid kids
  while [ ${#queue[@]} -gt 0 ]; do
    pid=${queue[0]}
    queue=("${queue[@]:1}")
    if [ "$(awk '/^NSpid:/ {print (NF > 2 ? $NF : "")}' "/proc/$pid/status" 2>/dev/null)" = 1 ]; then
      echo "$pid"
      return 0
    fi
    kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)
    # shellcheck disable=SC2206  # PIDs, one word each
    queue+=($kids)
  done
}

ns_init_pid() {
  local pid
  for _ in $(seq 1 50); do
    pid=$(ns_init_of "$1")
    if [ -n "$pid" ]; then echo "$pid"; return 0; fi
    sleep 0.1
  done
  die "cannot find the container's PID 1 under $1"
}

# Sends SIGTERM to the container's PID 1 and checks that it drained and exited 0.
stop_and_check() {
  local up="$1" init="$2" log="$3" rc=0
  local t=$SECONDS
  kill -TERM "$init"
  wait "$up" || rc=$?
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$up" ] || [ "$p" = "$init" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
  [ "$rc" = 0 ] || die "tollgate exited $rc after SIGTERM (see $log)"
  grep -q 'received SIGTERM' "$log" || die "no 'received SIGTERM' in $log"
  grep -q 'tollgate stopped' "$log" || die "no 'tollgate stopped' in $log"
  echo "SIGTERM: drained and exited 0 in $(( SECONDS - t )) s"
}

mkdir -p "$CACHE" "$WORK" "$LOGS"
if [ "$REUSE" = 1 ]; then
  [ -s "$BUILD/out/rootfs/usr/local/bin/tollgate" ] || die "--reuse-build: no build stage kept in $BUILD"
else
  rm -rf "$BUILD"
fi
rm -rf "$RUNTIME"

# --- 1. base: debootstrap minbase, cached -----------------------------------------------------
BASE_TAR=$CACHE/bookworm-minbase-$ARCH.tar
if [ "$NO_CACHE" = 1 ] || [ ! -s "$BASE_TAR" ]; then
  say "debootstrap --variant=minbase bookworm ($ARCH) from $MIRROR"
  tmp=$CACHE/base.tmp
  rm -rf "$tmp"
  debootstrap --variant=minbase --arch="$ARCH" bookworm "$tmp" "$MIRROR" > "$LOGS/debootstrap.log" 2>&1 ||
    { tail -n 20 "$LOGS/debootstrap.log" >&2; die "debootstrap failed"; }
  # As Docker's debian images: bookworm, -updates and -security; no downloaded debs or lists.
  cat > "$tmp/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY_MIRROR bookworm-security main
EOF
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* "$tmp"/var/log/*.log
  tar -C "$tmp" -cf "$BASE_TAR.part" . && mv "$BASE_TAR.part" "$BASE_TAR"
  rm -rf "$tmp"
else
  say "debootstrap base from cache: $BASE_TAR"
fi

# Docker provides /etc/hosts and /etc/resolv.conf to a container; so do we.
prepare_root() {
  local root="$1"
  mkdir -p "$root"
  tar -C "$root" -xf "$2"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
}

# --- 2. build stage ---------------------------------------------------------------------------
BUILD_SECONDS=0
if [ "$REUSE" = 1 ]; then
  say "build stage: reused from $BUILD (--reuse-build)"
else
  # Keyed like a layer, by what it installs: build-stage.sh's deps section and the base.
  key=$( { sed -n '/^# >>> deps/,/^# <<< deps/p' "$REPO/docker/build-stage.sh" | sha256sum
           stat -c '%s %Y' "$BASE_TAR"; } | sha256sum | cut -c1-16)
  DEPS_TAR=$CACHE/build-deps-$ARCH-$key.tar
  if [ "$NO_CACHE" = 0 ] && [ -s "$DEPS_TAR" ]; then
    say "build stage: build-stage.sh deps from cache ($DEPS_TAR)"
    prepare_root "$BUILD" "$DEPS_TAR"
  else
    say "build stage: build-stage.sh deps (apt-get install of the build dependencies)"
    prepare_root "$BUILD" "$BASE_TAR"
    install -D -m 0755 "$REPO/docker/build-stage.sh" "$BUILD/usr/local/sbin/build-stage.sh"
    in_root "$BUILD" /usr/local/sbin/build-stage.sh deps > "$LOGS/build-deps.log" 2>&1 ||
      { tail -n 30 "$LOGS/build-deps.log" >&2; die "build-stage.sh deps failed"; }
    rm -f "$CACHE"/build-deps-"$ARCH"-*.tar
    tar -C "$BUILD" -cf "$DEPS_TAR.part" . && mv "$DEPS_TAR.part" "$DEPS_TAR"
  fi

  if [ -n "$BINARIES" ]; then
    say "build stage: COPY . /src; build-stage.sh stage /src /prebuilt /out (--binaries $BINARIES)"
  else
    say "build stage: COPY . /src; build-stage.sh build /src /out (BUILD_JOBS=$JOBS)"
  fi
  excludes=()
  while IFS= read -r pat; do
    case "$pat" in ''|'#'*) continue ;; esac
    excludes+=("--exclude=./$pat")
  done < "$REPO/docker/Dockerfile.dockerignore"
  # The deps layer is keyed by the deps section only: the build step runs today's script.
  install -D -m 0755 "$REPO/docker/build-stage.sh" "$BUILD/usr/local/sbin/build-stage.sh"
  mkdir -p "$BUILD/src"
  tar -C "$REPO" --anchored --no-wildcards-match-slash "${excludes[@]}" -cf - . | tar -C "$BUILD/src" -xf -
  t=$SECONDS
  if [ -n "$BINARIES" ]; then
    install -D -m 0755 "$BINARIES/tollgate" "$BUILD/prebuilt/tollgate"
    install -D -m 0755 "$BINARIES/tollgate-mock" "$BUILD/prebuilt/tollgate-mock"
    in_root "$BUILD" /usr/local/sbin/build-stage.sh stage /src /prebuilt /out > "$LOGS/build.log" 2>&1 ||
      { tail -n 40 "$LOGS/build.log" >&2; die "build-stage.sh stage failed"; }
  else
    in_root "$BUILD" BUILD_JOBS="$JOBS" TOLLGATE_STATIC_OPENSSL=1 \
      /usr/local/sbin/build-stage.sh build /src /out > "$LOGS/build.log" 2>&1 ||
      { tail -n 40 "$LOGS/build.log" >&2; die "build-stage.sh build failed"; }
  fi
  BUILD_SECONDS=$(( SECONDS - t ))
  grep '^build-stage:' "$LOGS/build.log" || true
  echo "compile + stage: ${BUILD_SECONDS} s"
fi

# --- 3. runtime stage -------------------------------------------------------------------------
say "runtime stage: FROM scratch, COPY --from=build /out/rootfs/ /"
mkdir -p "$RUNTIME"
cp -a "$BUILD/out/rootfs/." "$RUNTIME/"
RUNTIME_BYTES=$(bytes "$RUNTIME")
BIN_BYTES=$(stat -c %s "$RUNTIME/usr/local/bin/tollgate")
LIB_BYTES=$(du -s --apparent-size -B1 -x "$RUNTIME/usr/lib" "$RUNTIME/usr/lib64" 2>/dev/null |
            awk '{s += $1} END {print s}')
GZ_BYTES=$(tar -C "$RUNTIME" -cf - . | gzip -6 | wc -c)
# Docker mounts /etc/hosts and /etc/resolv.conf into every container (not part of the image).
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$RUNTIME/etc/hosts"
cp /etc/resolv.conf "$RUNTIME/etc/resolv.conf"
for sh in bin/sh bin/bash usr/bin/sh usr/bin/env; do
  [ ! -e "$RUNTIME/$sh" ] || die "the runtime image has /$sh: it should hold no shell or tools"
done
in_root "$RUNTIME" /usr/local/bin/tollgate --version || die "tollgate does not start in the runtime root"
echo "shared libraries (the build stage's ELF closure; the loader resolves them in the root):"
(cd "$RUNTIME" && find usr/lib usr/lib64 -type f -name '*.so*' -printf '/%p %s\n' 2>/dev/null | sort |
  awk '{printf "  %-48s %5.0f KiB\n", $1, $2 / 1024}')
echo "largest parts:"
(cd "$RUNTIME" && du -s --apparent-size -B1 usr/local/bin/tollgate usr/lib usr/share/zoneinfo etc/ssl \
  2>/dev/null | awk '{printf "  /%-40s %6.1f MiB\n", $2, $1 / 1048576}')

# --- 4. run it as the image would ---------------------------------------------------------------
say "run: tollgate-mock + tollgate via the entrypoint, in the runtime root"
install -m 0755 "$BUILD/out/tollgate-mock" "$RUNTIME/usr/local/bin/tollgate-mock"
# The Dockerfile's ENV (PATH replaces in_root's), ENTRYPOINT and HEALTHCHECK.
IMAGE_ENV=(PATH=/usr/local/bin TOLLGATE_CONFIG=/data/config.yaml TOLLGATE_LISTEN=0.0.0.0:8080)
ENTRYPOINT=(/usr/local/bin/tollgate entrypoint)
HEALTHCHECK=(/usr/local/bin/tollgate healthcheck)
grep -q '^ENV PATH=/usr/local/bin \\$' "$REPO/docker/Dockerfile" &&
  grep -q '^    TOLLGATE_CONFIG=/data/config.yaml \\$' "$REPO/docker/Dockerfile" &&
  grep -q '^    TOLLGATE_LISTEN=0.0.0.0:8080$' "$REPO/docker/Dockerfile" &&
  grep -q '^ENTRYPOINT \["/usr/local/bin/tollgate", "entrypoint"\]$' "$REPO/docker/Dockerfile" &&
  grep -q '^    CMD \["/usr/local/bin/tollgate", "healthcheck"\]$' "$REPO/docker/Dockerfile" ||
  die "the Dockerfile's ENV/ENTRYPOINT/HEALTHCHECK changed: update verify-rootfs.sh to match"
KEY=sk-verify-master

# The mock, run as the Dockerfile's mock stage runs it (through the entrypoint, as tollgate).
rm -f "$RUNTIME/tmp/"*.port
in_root "$RUNTIME" "${IMAGE_ENV[@]}" "${ENTRYPOINT[@]}" \
  tollgate-mock --listen 127.0.0.1:0 --port-file /tmp/mock.port > "$LOGS/mock.log" 2>&1 &
MOCK_UP=$!
PIDS+=("$MOCK_UP")
MOCK_PORT=$(wait_port_file "$RUNTIME/tmp/mock.port" "$MOCK_UP" tollgate-mock)
MOCK_INIT=$(ns_init_pid "$MOCK_UP")
PIDS+=("$MOCK_INIT")
echo "tollgate-mock on 127.0.0.1:$MOCK_PORT"

# Starts tollgate as `docker run [-e NAME=VALUE...] IMAGE ARGS...` would, on a free loopback port
# (0.0.0.0:8080 may be taken on this host): start_tollgate LOG NAME=VALUE... -- ARGS...
# Sets UP (the background job), INIT (the container's PID 1), PORT and base.
start_tollgate() {
  local log="$1" envs=()
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  rm -f "$RUNTIME/tmp/tollgate.port"
  in_root "$RUNTIME" "${IMAGE_ENV[@]}" TOLLGATE_LISTEN=127.0.0.1:0 TOLLGATE_MASTER_KEY=$KEY \
    "${envs[@]}" "${ENTRYPOINT[@]}" "$@" --port-file /tmp/tollgate.port \
    > "$log" 2>&1 &
  UP=$!
  PIDS+=("$UP")
  PORT=$(wait_port_file "$RUNTIME/tmp/tollgate.port" "$UP" tollgate)
  INIT=$(ns_init_pid "$UP")
  PIDS+=("$INIT")
  base=http://127.0.0.1:$PORT
}

chat() {
  curl -sS --max-time 10 -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    "$base/v1/chat/completions" -d "$1"
}

# A PUID that is not a number: refused before anything is touched.
rc=0
in_root "$RUNTIME" "${IMAGE_ENV[@]}" PUID=abc "${ENTRYPOINT[@]}" > "$LOGS/puid-abc.log" 2>&1 || rc=$?
[ "$rc" = 64 ] && grep -q 'PUID and PGID must be numbers' "$LOGS/puid-abc.log" ||
  die "PUID=abc: exit $rc, not 64 with a message (see $LOGS/puid-abc.log)"
[ ! -e "$RUNTIME/data/config.yaml" ] || die "PUID=abc: /data/config.yaml was created anyway"
echo "PUID=abc -> exit 64: $(cat "$LOGS/puid-abc.log")"

# First start, an empty /data: docker run -e TOLLGATE_MASTER_KEY=... IMAGE --port-file FILE
# (flags alone: the entrypoint puts tollgate in front, as for the image's CMD).
start_tollgate "$LOGS/tollgate-1.log" TOLLGATE_MOCK_URL="http://127.0.0.1:$MOCK_PORT/v1" --
echo "tollgate on 127.0.0.1:$PORT"
uid_line=$(awk '/^Uid:/ {print $2}' "/proc/$INIT/status")
nspid=$(awk '/^NSpid:/ {print $NF}' "/proc/$INIT/status")
comm_name=$(cat "/proc/$INIT/comm")
[ "$comm_name" = tollgate ] || die "PID 1 is '$comm_name', not tollgate (the entrypoint must exec it)"
[ "$nspid" = 1 ] || die "tollgate is PID $nspid in its namespace, not 1"
[ "$uid_line" = 10001 ] || die "tollgate runs as uid $uid_line, not 10001 (tollgate)"
echo "process: $comm_name is PID 1 in its namespace, uid $uid_line (tollgate)"
[ -f "$RUNTIME/data/config.yaml" ] || die "/data/config.yaml was not created on first start"
cmp -s "$RUNTIME/data/config.yaml" "$RUNTIME/etc/tollgate/config.yaml" ||
  die "/data/config.yaml differs from the image's default"
echo "first start: /data/config.yaml created, owner $(stat -c %u:%g "$RUNTIME/data/config.yaml")"
grep 'entrypoint:' "$LOGS/tollgate-1.log" | sed 's/^/  /'

in_root "$RUNTIME" "${IMAGE_ENV[@]}" TOLLGATE_LISTEN="127.0.0.1:$PORT" "${HEALTHCHECK[@]}" ||
  die "HEALTHCHECK command failed"
echo "HEALTHCHECK (tollgate healthcheck): exit 0"

health=$(curl -sS -w ' HTTP %{http_code}' "$base/health")
echo "GET /health -> $health"
[ "$health" = '{"status":"ok"} HTTP 200' ] || die "/health answered '$health'"
answer=$(chat '{"model":"mock-gpt","messages":[{"role":"user","content":"Hello from the rootfs"}]}')
echo "POST /v1/chat/completions -> $answer"
grep -q '"content":"mock: Hello from the rootfs"' <<<"$answer" || die "unexpected chat answer"
stream=$(chat '{"model":"mock-gpt","stream":true,"messages":[{"role":"user","content":"Stream it"}]}')
events=$(grep -c '^data: ' <<<"$stream" || true)
grep -q '^data: \[DONE\]' <<<"$stream" || die "streamed chat did not end with [DONE]"
echo "POST /v1/chat/completions (stream) -> $events data events, ends with [DONE]"
status=$(curl -sS -o /dev/null -w '%{http_code}' "$base/v1/chat/completions" \
  -d '{"model":"mock-gpt","messages":[{"role":"user","content":"no key"}]}')
[ "$status" = 401 ] || die "a request without the master key got $status, not 401"
echo "without the master key -> 401"
metrics=$(curl -sS "$base/metrics" | grep '^tollgate_requests_total' | head -n 3)
[ -n "$metrics" ] || die "/metrics has no tollgate_requests_total"
echo "GET /metrics ->"; sed 's/^/  /' <<<"$metrics"
# The store: ./data/tollgate.db from WORKDIR / is /data/tollgate.db, and docs/nas.md's online
# backup works while tollgate runs (docker exec -u tollgate tollgate tollgate backup FILE: the
# image's environment, WORKDIR /); the copy is checked with the host's sqlite3.
[ -f "$RUNTIME/data/tollgate.db" ] || die "the store is not at /data/tollgate.db"
IN_ROOT_USER=10001:10001 in_root "$RUNTIME" "${IMAGE_ENV[@]}" TOLLGATE_MASTER_KEY=$KEY \
  /usr/local/bin/tollgate backup /data/backup.db > "$LOGS/backup.log" 2>&1 ||
  { cat "$LOGS/backup.log" >&2; die "tollgate backup failed"; }
sed 's/^/  /' "$LOGS/backup.log"
check=$(sqlite3 "$RUNTIME/data/backup.db" "PRAGMA integrity_check" 2>&1)
[ "$check" = ok ] || die "the backup is not a sound database: $check"
tables=$(sqlite3 "$RUNTIME/data/backup.db" "SELECT count(*) FROM sqlite_schema WHERE type='table'")
[ "$(stat -c %u "$RUNTIME/data/backup.db")" = 10001 ] || die "the backup does not belong to tollgate"
echo "store: /data/tollgate.db; tollgate backup while running -> /data/backup.db, integrity ok, $tables tables"
rm -f "$RUNTIME/data/backup.db"
# docker stop with a request in flight (the provider takes 1.5 s): answered before the exit.
curl -sS -o /dev/null -X POST "http://127.0.0.1:$MOCK_PORT/__mock/faults" \
  -d '{"mode":"delay","delay_ms":1500,"count":1}' || die "the mock refused the delay fault"
chat '{"model":"mock-gpt","messages":[{"role":"user","content":"In flight at SIGTERM"}]}' \
  > "$LOGS/inflight.json" 2>&1 &
INFLIGHT=$!
sleep 0.5
stop_and_check "$UP" "$INIT" "$LOGS/tollgate-1.log"
wait "$INFLIGHT" || die "the request in flight at SIGTERM failed: $(cat "$LOGS/inflight.json")"
grep -q '"content":"mock: In flight at SIGTERM"' "$LOGS/inflight.json" ||
  die "the request in flight at SIGTERM was not answered: $(cat "$LOGS/inflight.json")"
echo "the request in flight at SIGTERM (provider delay 1.5 s) -> answered before the exit"
rc=0
in_root "$RUNTIME" "${IMAGE_ENV[@]}" TOLLGATE_LISTEN="127.0.0.1:$PORT" "${HEALTHCHECK[@]}" \
  > "$LOGS/healthcheck-stopped.log" 2>&1 || rc=$?
[ "$rc" = 1 ] || die "HEALTHCHECK with tollgate stopped: exit $rc, not 1"
echo "HEALTHCHECK with tollgate stopped: exit 1 ($(cat "$LOGS/healthcheck-stopped.log"))"

# Second and third starts: PUID/PGID (chown of /data), the user's config kept, the mock behind TLS
# with a test CA: refused while the CA is not in the image's bundle, accepted once it is.
say "run: PUID=1234 PGID=1234, an edited config, the mock behind TLS"
tls=$LOGS/tls
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=verify-rootfs test CA' \
  -addext basicConstraints=critical,CA:TRUE -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout "$tls/srv.key" \
  -out "$tls/srv.csr" 2>/dev/null
openssl x509 -req -in "$tls/srv.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
  -days 2 -extfile <(printf 'subjectAltName=DNS:localhost\n') -out "$tls/srv.pem" 2>/dev/null
cat "$tls/srv.key" "$tls/srv.pem" > "$tls/srv-full.pem"
TLS_PORT=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  p=$(( 20000 + RANDOM % 40000 ))
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
  socat "OPENSSL-LISTEN:$p,bind=127.0.0.1,reuseaddr,fork,cert=$tls/srv-full.pem,verify=0" \
    "TCP:127.0.0.1:$MOCK_PORT" > "$LOGS/socat.log" 2>&1 &
  SOCAT=$!
  sleep 0.3
  if kill -0 "$SOCAT" 2>/dev/null; then PIDS+=("$SOCAT"); TLS_PORT=$p; break; fi
done
[ -n "$TLS_PORT" ] || die "cannot start the TLS terminator (socat)"
echo "tollgate-mock behind TLS (socat, a certificate from a test CA) on localhost:$TLS_PORT"

echo "# edited by the user" >> "$RUNTIME/data/config.yaml"
start_tollgate "$LOGS/tollgate-2.log" PUID=1234 PGID=1234 \
  TOLLGATE_MOCK_URL="https://localhost:$TLS_PORT/v1" -- tollgate
ids=$(awk '/^Uid:/ {u=$2} /^Gid:/ {g=$2} END {print u ":" g}' "/proc/$INIT/status")
[ "$ids" = 1234:1234 ] || die "with PUID/PGID=1234 tollgate runs as $ids"
owner=$(stat -c %u:%g "$RUNTIME/data" "$RUNTIME/data/config.yaml" | sort -u)
[ "$owner" = 1234:1234 ] || die "/data was not chowned to 1234:1234 ($owner)"
tail -n 1 "$RUNTIME/data/config.yaml" | grep -q '^# edited by the user' ||
  die "the second start replaced the user's /data/config.yaml"
echo "process: uid:gid $ids; /data chowned to $owner; the edited config.yaml kept"
grep 'entrypoint:' "$LOGS/tollgate-2.log" | sed 's/^/  /'
answer=$(chat '{"model":"mock-gpt","messages":[{"role":"user","content":"Hello over TLS"}]}')
grep -q 'certificate verify failed' <<<"$answer" ||
  die "a provider certificate from an unknown CA was not refused: $answer"
echo "provider over TLS, test CA not in the bundle -> refused: certificate verify failed"
stop_and_check "$UP" "$INIT" "$LOGS/tollgate-2.log"

# The test CA joins the runtime root's bundle (the one the build stage copied), nothing else.
cat "$tls/ca.pem" >> "$RUNTIME/etc/ssl/certs/ca-certificates.crt"
start_tollgate "$LOGS/tollgate-3.log" PUID=1234 PGID=1234 \
  TOLLGATE_MOCK_URL="https://localhost:$TLS_PORT/v1" -- tollgate
answer=$(chat '{"model":"mock-gpt","messages":[{"role":"user","content":"Hello over TLS"}]}')
echo "POST /v1/chat/completions (provider over TLS, test CA in the bundle) -> $answer"
grep -q '"content":"mock: Hello over TLS"' <<<"$answer" ||
  die "chat through the TLS provider failed (see $LOGS/tollgate-3.log)"
stop_and_check "$UP" "$INIT" "$LOGS/tollgate-3.log"

# --- report -----------------------------------------------------------------------------------
say "report"
echo "runtime image (FROM scratch, uncompressed):     $(mib "$RUNTIME_BYTES")  [before tollgate-mock was copied in]"
echo "  tollgate binary (stripped):                   $(mib "$BIN_BYTES")"
echo "  shared libraries and the loader:              $(mib "$LIB_BYTES")"
echo "runtime image as one gzip'ed tar (~ pull size): $(mib "$GZ_BYTES")"
echo "compile: ${BUILD_SECONDS} s with -j$JOBS; total: $(( $(date +%s) - T0 )) s; logs: $LOGS"
echo "verify-rootfs: OK"
