#!/bin/sh
# The runtime stage of docker/Dockerfile (one RUN, one layer), as a script so that
# docker/verify-rootfs.sh runs the same steps without Docker. Runs as root on debian:bookworm-slim,
# after the build stage's OUT/rootfs was copied over /.
#
# Installs only the packages the binary's shared libraries come from (found by the build stage
# with ldd, in runtime-packages.txt), plus the sqlite3 shell for WAL-safe online backups unless
# TOLLGATE_SQLITE3_CLI=0; creates the tollgate user (uid/gid 10001) and /data.
set -eu
here=/usr/local/lib/tollgate
pkgs=$(cat "$here/runtime-packages.txt")
if [ "${TOLLGATE_SQLITE3_CLI:-1}" = 1 ]; then pkgs="$pkgs sqlite3"; fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086  # one word per package
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
       /var/cache/debconf/*-old

groupadd --system --gid 10001 tollgate
useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin tollgate
mkdir -p /data
chown tollgate:tollgate /data
chmod 0750 /data
rm -f "$here/runtime-setup.sh"

# The binary must start here: every shared library resolved, --version answers.
if ldd /usr/local/bin/tollgate | grep 'not found'; then exit 1; fi
/usr/local/bin/tollgate --version
