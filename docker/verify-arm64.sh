#!/usr/bin/env bash
# Builds the arm64 image's tree as docker/Dockerfile does for --platform linux/arm64 (the build
# stage cross-compiles with Debian's multiarch toolchain), then runs the arm64 binaries in it
# under QEMU user emulation and checks them, without Docker and without an ARM machine.
#
#   sudo docker/verify-arm64.sh [--keep] [--reuse-build] [--no-cache]
#
#   --keep         keep the build and runtime roots under the work dir (default: removed at the end)
#   --reuse-build  skip the build stage, use the one a --keep run left
#   --no-cache     rebuild the debootstrap base and the cross build-deps layer
#   --deps-only    stop once the cross build-deps layer is cached (no compile)
#
# Steps:
#   1. base     debootstrap --variant=minbase bookworm for this machine (amd64; shared with
#               docker/verify-rootfs.sh's cache)
#   2. build    TARGETARCH=arm64 build-stage.sh deps (dpkg --add-architecture arm64,
#               crossbuild-essential-arm64 and the -dev:arm64 libraries; cached like a layer),
#               COPY . /src, TARGETARCH=arm64 build-stage.sh build /src /out
#   3. runtime  FROM scratch + /out/rootfs: the arm64 image's tree; its size; every ELF in it
#               must be AArch64
#   4. run      qemu-aarch64-static (from Debian's qemu-user-static, copied into the root for the
#               test only, as binfmt_misc would supply it) runs the arm64 tollgate-mock and tollgate
#               in a chroot of that tree as uid 10001: --version, /health, `tollgate healthcheck`,
#               a chat, a streamed chat, /metrics, `tollgate backup` of /data/tollgate.db, SIGTERM
#               -> drained, exit 0. The arm64 loader and libraries are the image's own.
#               (The entrypoint's exec of the daemon needs binfmt_misc, which a container host
#               has and this check does not use: verify-rootfs.sh checks the entrypoint on amd64.)
#
# Needs root and Debian's mirror; installs debootstrap, qemu-user-static, curl and sqlite3 on the
# host if missing. Environment: TOLLGATE_DEBOOTSTRAP_CACHE (default /var/cache/tollgate-debootstrap),
# TOLLGATE_VERIFY_WORK (default build-docker/ in the repo, gitignored), DEBIAN_MIRROR,
# DEBIAN_SECURITY_MIRROR, BUILD_JOBS (default 2).
set -euo pipefail

KEEP=0
NO_CACHE=0
REUSE=0
DEPS_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    --no-cache) NO_CACHE=1 ;;
    --reuse-build) REUSE=1 ;;
    --deps-only) DEPS_ONLY=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "verify-arm64: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${TOLLGATE_DEBOOTSTRAP_CACHE:-/var/cache/tollgate-debootstrap}
WORK=${TOLLGATE_VERIFY_WORK:-$REPO/build-docker}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
JOBS=${BUILD_JOBS:-2}
HOST_ARCH=$(dpkg --print-architecture)
BUILD=$WORK/arm64-build-root
RUNTIME=$WORK/arm64-runtime-root
LOGS=$WORK/logs-arm64
T0=$(date +%s)

say() { printf '\n== %s (%ds)\n' "$*" "$(( $(date +%s) - T0 ))"; }
die() { echo "verify-arm64: FAIL: $*" >&2; exit 1; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
[ "$HOST_ARCH" = amd64 ] || die "this script cross-compiles from amd64 (this machine is $HOST_ARCH)"

missing=()
for tool in debootstrap:debootstrap qemu-aarch64-static:qemu-user-static curl:curl sqlite3:sqlite3 \
            readelf:binutils unshare:util-linux; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing host tools: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
QEMU=$(command -v qemu-aarch64-static)

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "$KEEP" = 0 ] && [ "$REUSE" = 0 ] && [ -d "$WORK" ]; then rm -rf "$BUILD" "$RUNTIME"; fi
}
trap cleanup EXIT

# Runs a command in ROOT: its own mount namespace (Docker's /dev bound in, gone with it), a clean
# environment; host env and chroot (the runtime root has neither). NAME=VALUE words first.
# IN_ROOT_USER=UID:GID runs it as that user.
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

# An arm64 program of the runtime root under QEMU, as uid 10001 (the image's tollgate user).
arm64() {
  IN_ROOT_USER=10001:10001 in_root "$RUNTIME" PATH=/usr/local/bin TOLLGATE_MASTER_KEY=$KEY \
    "$@"
}

wait_port_file() {
  local file="$1" pid="$2" what="$3"
  for _ in $(seq 1 300); do
    if [ -s "$file" ]; then cat "$file"; return 0; fi
    kill -0 "$pid" 2>/dev/null || die "$what exited before listening (see $LOGS)"
    sleep 0.1
  done
  die "$what did not listen within 30 s (see $LOGS)"
}

# The PID (host namespace) of PID 1 in the namespace under PID: the process to signal.
ns_init_of() {
  local queue=("$1") pid kids
  for _ in $(seq 1 50); do
    queue=("$1")
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
    sleep 0.1
  done
  die "cannot find PID 1 under $1"
}

mkdir -p "$CACHE" "$WORK" "$LOGS"
if [ "$REUSE" = 1 ]; then
  [ -s "$BUILD/out/rootfs/usr/local/bin/tollgate" ] || die "--reuse-build: no build stage kept in $BUILD"
else
  rm -rf "$BUILD"
fi
rm -rf "$RUNTIME"

# --- 1. base (the same cache as verify-rootfs.sh) ---------------------------------------------
BASE_TAR=$CACHE/bookworm-minbase-$HOST_ARCH.tar
if [ "$NO_CACHE" = 1 ] || [ ! -s "$BASE_TAR" ]; then
  say "debootstrap --variant=minbase bookworm ($HOST_ARCH) from $MIRROR"
  tmp=$CACHE/base.tmp
  rm -rf "$tmp"
  debootstrap --variant=minbase --arch="$HOST_ARCH" bookworm "$tmp" "$MIRROR" > "$LOGS/debootstrap.log" 2>&1 ||
    { tail -n 20 "$LOGS/debootstrap.log" >&2; die "debootstrap failed"; }
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

prepare_root() {
  mkdir -p "$1"
  tar -C "$1" -xf "$2"
  cp /etc/resolv.conf "$1/etc/resolv.conf"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$1/etc/hosts"
}

# --- 2. build stage, cross-compiling for arm64 --------------------------------------------------
BUILD_SECONDS=0
if [ "$REUSE" = 1 ]; then
  say "build stage: reused from $BUILD (--reuse-build)"
else
  # Keyed like a layer, by what it installs: build-stage.sh's deps section and the base.
  key=$( { sed -n '/^# >>> deps/,/^# <<< deps/p' "$REPO/docker/build-stage.sh" | sha256sum
           stat -c '%s %Y' "$BASE_TAR"; } | sha256sum | cut -c1-16)
  DEPS_TAR=$CACHE/build-deps-arm64-on-$HOST_ARCH-$key.tar
  if [ "$NO_CACHE" = 0 ] && [ -s "$DEPS_TAR" ]; then
    say "build stage: TARGETARCH=arm64 build-stage.sh deps from cache ($DEPS_TAR)"
    prepare_root "$BUILD" "$DEPS_TAR"
  else
    say "build stage: TARGETARCH=arm64 build-stage.sh deps (crossbuild-essential-arm64, -dev:arm64)"
    prepare_root "$BUILD" "$BASE_TAR"
    install -D -m 0755 "$REPO/docker/build-stage.sh" "$BUILD/usr/local/sbin/build-stage.sh"
    in_root "$BUILD" TARGETARCH=arm64 /usr/local/sbin/build-stage.sh deps > "$LOGS/build-deps.log" 2>&1 ||
      { tail -n 30 "$LOGS/build-deps.log" >&2; die "build-stage.sh deps failed"; }
    rm -f "$CACHE"/build-deps-arm64-on-"$HOST_ARCH"-*.tar
    tar -C "$BUILD" -cf "$DEPS_TAR.part" . && mv "$DEPS_TAR.part" "$DEPS_TAR"
  fi

  if [ "$DEPS_ONLY" = 1 ]; then say "--deps-only: cached in $DEPS_TAR"; exit 0; fi
  say "build stage: COPY . /src; TARGETARCH=arm64 build-stage.sh build /src /out (BUILD_JOBS=$JOBS)"
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
  in_root "$BUILD" TARGETARCH=arm64 BUILD_JOBS="$JOBS" TOLLGATE_STATIC_OPENSSL=1 \
    /usr/local/sbin/build-stage.sh build /src /out > "$LOGS/build.log" 2>&1 ||
    { tail -n 40 "$LOGS/build.log" >&2; die "build-stage.sh build failed"; }
  BUILD_SECONDS=$(( SECONDS - t ))
  grep '^build-stage:' "$LOGS/build.log" || true
  echo "cross-compile + stage: ${BUILD_SECONDS} s"
fi

# --- 3. runtime tree ----------------------------------------------------------------------------
say "runtime stage: FROM scratch, COPY --from=build /out/rootfs/ / (arm64)"
mkdir -p "$RUNTIME"
cp -a "$BUILD/out/rootfs/." "$RUNTIME/"
RUNTIME_BYTES=$(du -s --apparent-size -B1 -x "$RUNTIME" | cut -f1)
GZ_BYTES=$(tar -C "$RUNTIME" -cf - . | gzip -6 | wc -c)
# Docker mounts /etc/hosts and /etc/resolv.conf into every container (not part of the image).
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$RUNTIME/etc/hosts"
cp /etc/resolv.conf "$RUNTIME/etc/resolv.conf"
elves=0
while IFS= read -r f; do
  machine=$(readelf -h "$f" 2>/dev/null | sed -n 's/^ *Machine: *//p' || true)  # "" if not ELF
  [ -n "$machine" ] || continue
  [ "$machine" = AArch64 ] || die "$f is $machine, not AArch64"
  elves=$((elves + 1))
done < <(find "$RUNTIME" -type f)
echo "$elves ELF files, all AArch64; interpreter: $(readelf -lW "$RUNTIME/usr/local/bin/tollgate" |
  sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')"
echo "arm64 image tree: $(mib "$RUNTIME_BYTES") unpacked, $(mib "$GZ_BYTES") as one gzip'ed tar"

# --- 4. run under QEMU ----------------------------------------------------------------------------
say "run: the arm64 tollgate-mock and tollgate under $QEMU, in the arm64 root, as uid 10001"
install -m 0755 "$QEMU" "$RUNTIME/qemu-aarch64-static"          # the test's, not the image's
install -m 0755 "$BUILD/out/tollgate-mock" "$RUNTIME/usr/local/bin/tollgate-mock"
KEY=sk-verify-arm64
echo "tollgate --version (arm64, under QEMU):"
arm64 /qemu-aarch64-static /usr/local/bin/tollgate --version | sed 's/^/  /' ||
  die "the arm64 tollgate does not start under QEMU"

rm -f "$RUNTIME"/tmp/*.port
arm64 /qemu-aarch64-static /usr/local/bin/tollgate-mock --listen 127.0.0.1:0 --port-file /tmp/mock.port \
  > "$LOGS/mock.log" 2>&1 &
MOCK_UP=$!
PIDS+=("$MOCK_UP")
MOCK_PORT=$(wait_port_file "$RUNTIME/tmp/mock.port" "$MOCK_UP" tollgate-mock)
MOCK_INIT=$(ns_init_of "$MOCK_UP")
PIDS+=("$MOCK_INIT")
echo "arm64 tollgate-mock on 127.0.0.1:$MOCK_PORT"

# The first start the entrypoint would make: the image's default config in /data.
install -o 10001 -g 10001 -m 0644 "$RUNTIME/etc/tollgate/config.yaml" "$RUNTIME/data/config.yaml"
arm64 TOLLGATE_CONFIG=/data/config.yaml TOLLGATE_MOCK_URL="http://127.0.0.1:$MOCK_PORT/v1" \
  /qemu-aarch64-static /usr/local/bin/tollgate --listen 127.0.0.1:0 --port-file /tmp/tollgate.port \
  > "$LOGS/tollgate.log" 2>&1 &
UP=$!
PIDS+=("$UP")
PORT=$(wait_port_file "$RUNTIME/tmp/tollgate.port" "$UP" tollgate)
INIT=$(ns_init_of "$UP")
PIDS+=("$INIT")
base=http://127.0.0.1:$PORT
echo "arm64 tollgate on 127.0.0.1:$PORT (PID 1 in its namespace: $(cat "/proc/$INIT/comm"), uid $(awk '/^Uid:/ {print $2}' "/proc/$INIT/status"))"
grep -m1 'listening' "$LOGS/tollgate.log" | sed 's/^/  log: /' || true

chat() {
  curl -sS --max-time 30 -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    "$base/v1/chat/completions" -d "$1"
}
health=$(curl -sS --max-time 10 -w ' HTTP %{http_code}' "$base/health")
echo "GET /health -> $health"
[ "$health" = '{"status":"ok"} HTTP 200' ] || die "/health answered '$health'"
arm64 TOLLGATE_LISTEN="0.0.0.0:$PORT" /qemu-aarch64-static /usr/local/bin/tollgate healthcheck ||
  die "tollgate healthcheck (arm64) failed"
echo "tollgate healthcheck (arm64, TOLLGATE_LISTEN=0.0.0.0:$PORT) -> exit 0"
answer=$(chat '{"model":"mock-gpt","messages":[{"role":"user","content":"Hello from arm64"}]}')
echo "POST /v1/chat/completions -> $answer"
grep -q '"content":"mock: Hello from arm64"' <<<"$answer" || die "unexpected chat answer"
stream=$(chat '{"model":"mock-gpt","stream":true,"messages":[{"role":"user","content":"Stream it on arm64"}]}')
events=$(grep -c '^data: ' <<<"$stream" || true)
grep -q '^data: \[DONE\]' <<<"$stream" || die "streamed chat did not end with [DONE]: $stream"
echo "POST /v1/chat/completions (stream) -> $events data events, ends with [DONE]; first: $(grep -m1 '^data: ' <<<"$stream" | cut -c1-160)"
metrics=$(curl -sS --max-time 10 "$base/metrics" | grep '^tollgate_requests_total' | head -n 3)
[ -n "$metrics" ] || die "/metrics has no tollgate_requests_total"
echo "GET /metrics ->"; sed 's/^/  /' <<<"$metrics"
[ -f "$RUNTIME/data/tollgate.db" ] || die "the store is not at /data/tollgate.db"
arm64 TOLLGATE_CONFIG=/data/config.yaml /qemu-aarch64-static /usr/local/bin/tollgate backup /data/backup.db \
  > "$LOGS/backup.log" 2>&1 || { cat "$LOGS/backup.log" >&2; die "tollgate backup (arm64) failed"; }
check=$(sqlite3 "$RUNTIME/data/backup.db" "PRAGMA integrity_check" 2>&1)
[ "$check" = ok ] || die "the arm64 backup is not a sound database: $check"
echo "tollgate backup (arm64) while running -> $(grep '^backup:' "$LOGS/backup.log"); host sqlite3 integrity_check: ok"

t=$SECONDS
kill -TERM "$INIT"
rc=0
wait "$UP" || rc=$?
PIDS=("$MOCK_UP" "$MOCK_INIT")
[ "$rc" = 0 ] || die "tollgate exited $rc after SIGTERM (see $LOGS/tollgate.log)"
grep -q 'received SIGTERM' "$LOGS/tollgate.log" || die "no 'received SIGTERM' in the log"
grep -q 'tollgate stopped' "$LOGS/tollgate.log" || die "no 'tollgate stopped' in the log"
echo "SIGTERM: drained and exited 0 in $(( SECONDS - t )) s"
rm -f "$RUNTIME/qemu-aarch64-static" "$RUNTIME/usr/local/bin/tollgate-mock" "$RUNTIME/data/backup.db"

say "report"
echo "arm64 image tree (FROM scratch, uncompressed): $(mib "$RUNTIME_BYTES"); gzip'ed: $(mib "$GZ_BYTES")"
echo "cross-compile: ${BUILD_SECONDS} s with -j$JOBS; total: $(( $(date +%s) - T0 )) s; logs: $LOGS"
echo "verify-arm64: OK"
