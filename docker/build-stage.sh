#!/usr/bin/env bash
# The build stage of docker/Dockerfile, as a script so that docker/verify-rootfs.sh runs exactly the
# same steps without Docker. Runs as root in a Debian bookworm root.
#
#   build-stage.sh deps                 # install the build dependencies (one cached layer)
#   build-stage.sh build SRC OUT        # build SRC, stage the runtime files under OUT
#
# OUT gets:
#   OUT/rootfs/...                      # copied as-is over the runtime stage's /
#   OUT/rootfs/usr/local/lib/tollgate/runtime-packages.txt
#                                       # the Debian packages the binary's shared libraries come from
#   OUT/tollgate-mock                   # the mock provider (demo image stage and verify-rootfs.sh only)
#
# Environment: BUILD_JOBS (default 2: a C++20 Beast translation unit can take 1-2 GB of memory,
# which matters on a NAS), TOLLGATE_STATIC_OPENSSL (default 1: link libssl/libcrypto statically so
# the runtime stage needs neither libssl3 nor the openssl/ca-certificates packages; the CA bundle is
# copied from this stage instead).
set -euo pipefail

# Everything the daemon and the mock need to build: scripts/install-deps.sh's PKGS minus what only
# tests and benchmarks use (gtest, gmock, nodejs, git, curl). Keep the two lists in step.
BUILD_PKGS=(
  build-essential cmake pkg-config ca-certificates
  libboost1.81-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libsqlite3-dev prometheus-cpp-dev
)

deps() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${BUILD_PKGS[@]}" >/dev/null
  rm -rf /var/lib/apt/lists/*
}

# Prints the Debian packages that ship the shared libraries BINARY loads (ldd, then dpkg -S).
runtime_packages() {
  local bin="$1" lib pkg
  if ldd "$bin" | grep -q 'not found'; then
    ldd "$bin" >&2
    echo "build-stage: $bin has unresolved shared libraries" >&2
    return 1
  fi
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    # usrmerge: ldd may say /lib/... where dpkg knows /usr/lib/..., or the other way round.
    pkg=""
    for cand in "$lib" "/usr$lib" "${lib#/usr}"; do
      pkg=$(dpkg -S "$cand" 2>/dev/null | grep -v '^diversion' | cut -d: -f1 | head -n1) || true
      [ -z "$pkg" ] || break
    done
    if [ -z "$pkg" ]; then
      echo "build-stage: no Debian package ships $lib" >&2
      return 1
    fi
    echo "$pkg"
  done | sort -u
}

build() {
  local src="$1" out="$2"
  local jobs="${BUILD_JOBS:-2}" bdir="$src/build-docker-stage"
  local cmake_args=(-DCMAKE_BUILD_TYPE=Release -DTOLLGATE_BUILD_TESTS=OFF)
  if [ "${TOLLGATE_STATIC_OPENSSL:-1}" = 1 ]; then
    cmake_args+=(-DOPENSSL_USE_STATIC_LIBS=TRUE)
  fi
  cmake -S "$src" -B "$bdir" "${cmake_args[@]}" >/dev/null
  cmake --build "$bdir" -j"$jobs" --target tollgate tollgate-mock

  local root="$out/rootfs"
  rm -rf "$out"
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/tollgate" "$root/etc/tollgate" \
           "$root/etc/ssl/certs" "$root/usr/lib/ssl"
  install -m 0755 -s "$bdir/tollgate" "$root/usr/local/bin/tollgate"
  install -m 0755 -s "$bdir/tollgate-mock" "$out/tollgate-mock"
  install -m 0755 "$src/docker/entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  install -m 0755 "$src/docker/healthcheck.sh" "$root/usr/local/bin/tollgate-healthcheck"
  install -m 0755 "$src/docker/runtime-setup.sh" "$root/usr/local/lib/tollgate/runtime-setup.sh"
  install -m 0644 "$src/config/config.yaml" "$root/etc/tollgate/config.yaml"
  install -m 0644 "$src/config/demo.yaml" "$root/etc/tollgate/demo.yaml"
  runtime_packages "$root/usr/local/bin/tollgate" > "$root/usr/local/lib/tollgate/runtime-packages.txt"
  if [ "${TOLLGATE_STATIC_OPENSSL:-1}" = 1 ]; then
    # The static libcrypto looks for CAs where Debian's does (OPENSSLDIR=/usr/lib/ssl); point its
    # default file at the bundle, as Debian's openssl package does with its certs/ link.
    install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    ln -sf /etc/ssl/certs/ca-certificates.crt "$root/usr/lib/ssl/cert.pem"
    ln -sfn /etc/ssl/certs "$root/usr/lib/ssl/certs"
  else
    echo ca-certificates >> "$root/usr/local/lib/tollgate/runtime-packages.txt"
  fi
  # The mock must run on the same runtime packages (it is copied into the demo stage).
  local extra
  extra=$(comm -13 "$root/usr/local/lib/tollgate/runtime-packages.txt" \
                   <(runtime_packages "$out/tollgate-mock"))
  if [ -n "$extra" ]; then
    echo "build-stage: tollgate-mock needs packages tollgate does not: $extra" >&2
    return 1
  fi
  rm -rf "$bdir"
  echo "build-stage: tollgate $(stat -c %s "$root/usr/local/bin/tollgate") bytes (stripped);" \
       "runtime packages: $(tr '\n' ' ' < "$root/usr/local/lib/tollgate/runtime-packages.txt")"
}

case "${1:-}" in
  deps) deps ;;
  build) build "${2:?SRC}" "${3:?OUT}" ;;
  *) echo "usage: $0 deps | build SRC OUT" >&2; exit 2 ;;
esac
