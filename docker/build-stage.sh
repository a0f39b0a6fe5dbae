#!/usr/bin/env bash
# The build stage of docker/Dockerfile, as a script so that docker/verify-rootfs.sh and
# docker/verify-arm64.sh run exactly the same steps without Docker. Runs as root in a Debian
# bookworm root of the build machine's architecture; builds for TARGETARCH (amd64 or arm64, as
# Docker names them; default: this machine's), cross-compiling with Debian's multiarch toolchain
# when it differs, so an arm64 image needs no QEMU to compile.
#
#   build-stage.sh deps                 # install the build dependencies (one cached layer)
#   build-stage.sh build SRC OUT        # build SRC, stage the runtime image's whole tree under OUT
#   build-stage.sh stage SRC BDIR OUT   # stage only, from tollgate and tollgate-mock built in BDIR
#
# OUT gets:
#   OUT/rootfs/...      the runtime image, copied as-is into an empty (FROM scratch) stage: the
#                       stripped daemon, the shared libraries it loads (its ELF NEEDED closure,
#                       from this root) and the dynamic loader, the CA bundle, zoneinfo,
#                       /etc/passwd and /etc/group with the tollgate user (10001), /data, /tmp
#   OUT/tollgate-mock   the mock provider (the demo stage and the verify scripts); it must need
#                       no library the daemon does not
#
# Environment: TARGETARCH; BUILD_JOBS (default 2: a C++20 Beast translation unit can take 1-2 GB
# of memory, which matters on a NAS); TOLLGATE_STATIC_OPENSSL (default 1: libssl/libcrypto linked
# in, so the image carries no libssl3; the CA bundle is copied from this stage). When a library
# the daemon links loads the shared OpenSSL itself (libpq does), the daemon is relinked against the
# shared one: one OpenSSL in the process, not a static copy interposing on libssl.so.3's own.
set -euo pipefail

HOST_ARCH=$(dpkg --print-architecture)
TARGET_ARCH=${TARGETARCH:-$HOST_ARCH}
case "$TARGET_ARCH" in
  amd64) TRIPLET=x86_64-linux-gnu ;;
  arm64) TRIPLET=aarch64-linux-gnu ;;
  *) echo "build-stage: unsupported TARGETARCH '$TARGET_ARCH' (amd64 or arm64)" >&2; exit 2 ;;
esac
CROSS=0
[ "$TARGET_ARCH" = "$HOST_ARCH" ] || CROSS=1

# >>> deps (docker/verify-*.sh cache the deps layer keyed by this section)
# Everything the daemon and the mock need to build: scripts/install-deps.sh's PKGS minus what only
# tests and benchmarks use (gtest, gmock, nodejs, git, curl). Keep the two lists in step.
# Libraries: for the target architecture (":arm64" when cross-compiling).
TOOL_PKGS=(cmake pkg-config ca-certificates binutils tzdata)
LIB_PKGS=(
  libboost1.81-dev libssl-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libsqlite3-dev
  prometheus-cpp-dev libpq-dev libhiredis-dev libmimalloc-dev
)
ARCH_ALL_PKGS=(nlohmann-json3-dev)

deps() {
  export DEBIAN_FRONTEND=noninteractive
  local pkgs=("${TOOL_PKGS[@]}" "${ARCH_ALL_PKGS[@]}")
  if [ "$CROSS" = 1 ]; then
    dpkg --add-architecture "$TARGET_ARCH"
    pkgs+=("crossbuild-essential-$TARGET_ARCH" "${LIB_PKGS[@]/%/:$TARGET_ARCH}")
  else
    pkgs+=(build-essential "${LIB_PKGS[@]}")
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  rm -rf /var/lib/apt/lists/*
}
# <<< deps

# Libraries the daemon loads itself (dlopen) when a feature needs them, staged like the linked
# ones: libpq, for store.postgres (src/store/libpq_api.cpp).
DLOPENED=(libpq.so.5)

# Prints the absolute paths of the ELF interpreter and every shared library BINARY... load
# (DT_NEEDED, transitively, and DLOPENED with what they need), resolved in the target's multiarch
# directories of this root. readelf, not ldd: it works for a cross-compiled binary too, and runs
# nothing.
lib_closure() {
  local -A seen=()
  local queue=("$@") f need dir found interp first=1
  local dirs=("/usr/lib/$TRIPLET" "/lib/$TRIPLET" /usr/lib /lib)
  interp=$(readelf -lW "$1" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
  [ -n "$interp" ] || { echo "build-stage: $1 has no ELF interpreter" >&2; return 1; }
  echo "$interp"
  while [ ${#queue[@]} -gt 0 ]; do
    f=${queue[0]}
    queue=("${queue[@]:1}")
    local needs
    needs=$(readelf -dW "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
    [ "$first" = 0 ] || needs="$needs ${DLOPENED[*]}"
    first=0
    for need in $needs; do
      [ -z "${seen[$need]:-}" ] || continue
      found=""
      for dir in "${dirs[@]}"; do
        if [ -e "$dir/$need" ]; then found="$dir/$need"; break; fi
      done
      [ -n "$found" ] || { echo "build-stage: $f needs $need, not found for $TRIPLET" >&2; return 1; }
      # The loader's own name (libc's NEEDED) is the interpreter, staged once under its path.
      [ "$found" -ef "$interp" ] && { seen[$need]=1; continue; }
      seen[$need]=$found
      echo "$found"
      queue+=("$found")
    done
  done
}

# Copies the closure into ROOT: libraries to ROOT/usr/lib/TRIPLET/NAME (a merged /usr: ROOT/lib and
# ROOT/lib64 are links into usr/, as on Debian), the loader to its own path; real files, no links.
stage_libs() {
  local root="$1" path
  shift
  mkdir -p "$root/usr/lib/$TRIPLET"
  ln -sfn usr/lib "$root/lib"
  while read -r path; do
    case "$path" in
      /lib64/*) mkdir -p "$root/usr/lib64"; ln -sfn usr/lib64 "$root/lib64"
                install -m 0755 "$(readlink -f "$path")" "$root/usr$path" ;;
      /lib/*) install -m 0755 "$(readlink -f "$path")" "$root/usr$path" ;;
      *) install -m 0755 "$(readlink -f "$path")" "$root/usr/lib/$TRIPLET/$(basename "$path")" ;;
    esac
  done < <(lib_closure "$@")
}

build() {
  local src="$1" out="$2"
  local jobs="${BUILD_JOBS:-2}" bdir="$src/build-docker-stage-$TARGET_ARCH"
  local cmake_args=(-DCMAKE_BUILD_TYPE=Release -DTOLLGATE_BUILD_TESTS=OFF)
  if [ "${TOLLGATE_STATIC_OPENSSL:-1}" = 1 ]; then
    cmake_args+=(-DOPENSSL_USE_STATIC_LIBS=TRUE)
  fi
  if [ "$CROSS" = 1 ]; then
    cmake_args+=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR="${TRIPLET%%-*}"
                 -DCMAKE_C_COMPILER="$TRIPLET-gcc" -DCMAKE_CXX_COMPILER="$TRIPLET-g++"
                 -DCMAKE_LIBRARY_ARCHITECTURE="$TRIPLET"
                 -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER
                 -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY
                 -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY
                 -DCMAKE_FIND_ROOT_PATH=/)
    export PKG_CONFIG_LIBDIR="/usr/lib/$TRIPLET/pkgconfig:/usr/share/pkgconfig"
  fi
  cmake -S "$src" -B "$bdir" "${cmake_args[@]}" >/dev/null
  if [ "$CROSS" = 0 ]; then
    # Profile-guided (the training runs the binary, so native builds only; TOLLGATE_PGO=off skips it).
    JOBS="$jobs" "$src/scripts/pgo.sh" "$bdir"
  else
    cmake --build "$bdir" -j"$jobs" --target tollgate tollgate-mock
  fi
  if [ "${TOLLGATE_STATIC_OPENSSL:-1}" = 1 ] &&
     lib_closure "$bdir/tollgate" | grep -Eq '/lib(ssl|crypto)\.so'; then
    echo "build-stage: a linked library loads the shared OpenSSL: relinking with it (one OpenSSL)"
    cmake -S "$src" -B "$bdir" -U 'OPENSSL_*' -DOPENSSL_USE_STATIC_LIBS=FALSE >/dev/null
    cmake --build "$bdir" -j"$jobs" --target tollgate tollgate-mock
  fi
  stage "$src" "$bdir" "$out"
  rm -rf "$bdir"
}

stage() {
  local src="$1" bdir="$2" out="$3" strip=strip
  [ "$CROSS" = 0 ] || strip=$TRIPLET-strip
  local root="$out/rootfs"
  rm -rf "$out"
  mkdir -p "$root/usr/local/bin" "$root/etc/tollgate" "$root/etc/ssl/certs" "$root/usr/lib/ssl" \
           "$root/data" "$root/tmp" "$root/usr/share"
  install -m 0755 "$bdir/tollgate" "$root/usr/local/bin/tollgate"
  install -m 0755 "$bdir/tollgate-mock" "$out/tollgate-mock"
  "$strip" "$root/usr/local/bin/tollgate" "$out/tollgate-mock"
  install -m 0644 "$src/config/config.yaml" "$root/etc/tollgate/config.yaml"
  install -m 0644 "$src/config/demo.yaml" "$root/etc/tollgate/demo.yaml"
  stage_libs "$root" "$root/usr/local/bin/tollgate"
  local missing
  missing=$(comm -13 <(lib_closure "$root/usr/local/bin/tollgate" | xargs -n1 basename | sort) \
                     <(lib_closure "$out/tollgate-mock" | xargs -n1 basename | sort))
  if [ -n "$missing" ]; then
    echo "build-stage: tollgate-mock needs libraries tollgate does not: $missing" >&2
    return 1
  fi

  # Licences: each Debian package a staged library comes from keeps its copyright file.
  local lib cand pkg
  while read -r lib; do
    for cand in "$lib" "$(readlink -f "$lib")" "/usr$lib" "${lib#/usr}"; do
      pkg=$(dpkg -S "$cand" 2>/dev/null | grep -v '^diversion' | head -n1 | cut -d: -f1) || true
      [ -z "$pkg" ] || break
    done
    [ -n "$pkg" ] || { echo "build-stage: no Debian package ships $lib" >&2; return 1; }
    install -D -m 0644 "/usr/share/doc/$pkg/copyright" "$root/usr/share/doc/$pkg/copyright"
  done < <(lib_closure "$root/usr/local/bin/tollgate")

  # HTTPS: the static libcrypto looks where Debian's does (OPENSSLDIR=/usr/lib/ssl); its default
  # file points at the bundle, as Debian's openssl package does with its certs/ link.
  install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  ln -sf /etc/ssl/certs/ca-certificates.crt "$root/usr/lib/ssl/cert.pem"
  ln -sfn /etc/ssl/certs "$root/usr/lib/ssl/certs"
  # Time zones, for TZ=Europe/Berlin in log timestamps (UTC without TZ): not the right/ zones,
  # which count leap seconds and which nothing here uses.
  cp -a /usr/share/zoneinfo "$root/usr/share/zoneinfo"
  rm -rf "$root/usr/share/zoneinfo/right"

  # Users and name lookups (glibc's files and dns are built in: no libnss_* needed).
  printf 'root:x:0:0:root:/root:/sbin/nologin\ntollgate:x:10001:10001:tollgate:/data:/sbin/nologin\n' \
    > "$root/etc/passwd"
  printf 'root:x:0:\ntollgate:x:10001:\n' > "$root/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$root/etc/nsswitch.conf"
  chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/etc/nsswitch.conf"
  chown 10001:10001 "$root/data"
  chmod 0750 "$root/data"
  chmod 1777 "$root/tmp"

  echo "build-stage: $TARGET_ARCH; tollgate $(stat -c %s "$root/usr/local/bin/tollgate") bytes (stripped);" \
       "libraries: $(lib_closure "$root/usr/local/bin/tollgate" | xargs -n1 basename | tr '\n' ' ')"
}

case "${1:-}" in
  deps) deps ;;
  build) build "${2:?SRC}" "${3:?OUT}" ;;
  stage) stage "${2:?SRC}" "${3:?BDIR}" "${4:?OUT}" ;;
  *) echo "usage: $0 deps | build SRC OUT | stage SRC BDIR OUT" >&2; exit 2 ;;
esac
