#!/bin/sh
# Tollgate's container entrypoint (PID 1 until it execs the daemon, which then is PID 1 itself and
# handles SIGTERM/SIGINT (drain, exit 0) and SIGHUP (reload); no init process is needed).
#
#   PUID / PGID       run as this uid / gid (either may be given alone); default: the image's
#                     tollgate user (10001:10001). /data is chowned to it when needed.
#   TOLLGATE_CONFIG   the config file (image default /data/config.yaml). Created from
#                     /etc/tollgate/config.yaml on first start when missing. Set it to the empty
#                     string for a zero-config start from the provider key variables.
#   TOLLGATE_LISTEN   passed as --listen (image default 0.0.0.0:8080) unless --listen is given.
#
# Started as root (the default), it prepares /data and drops to that user with setpriv. Started
# as another user (docker run --user), it does what that user can and runs as it.
set -eu

log() { echo "entrypoint: $*" >&2; }

case "${1:-tollgate}" in
  -*) set -- tollgate "$@" ;;
esac
[ $# -gt 0 ] || set -- tollgate

data=/data
uid=$(id -u)
gid=$(id -g)
if [ "$uid" = 0 ]; then
  uid=${PUID:-10001}
  gid=${PGID:-10001}
  case "$uid$gid" in
    *[!0-9]*) log "PUID and PGID must be numbers (got PUID='${PUID:-}' PGID='${PGID:-}')"; exit 64 ;;
  esac
  [ "$uid" != 0 ] || log "warning: PUID=0, tollgate runs as root"
elif [ -n "${PUID:-}${PGID:-}" ]; then
  log "warning: started as uid $uid (docker --user); PUID/PGID are ignored"
fi

if [ "$1" = tollgate ]; then
  shift
  cfg=${TOLLGATE_CONFIG-$data/config.yaml}
  if [ -z "$cfg" ]; then
    unset TOLLGATE_CONFIG
    log "TOLLGATE_CONFIG is empty: zero-config start from the provider key variables"
  elif [ ! -e "$cfg" ]; then
    if ! { mkdir -p "$(dirname "$cfg")" && cp /etc/tollgate/config.yaml "$cfg"; }; then
      log "cannot create $cfg as uid $(id -u): make its folder writable (see docs/nas.md)"
      exit 1
    fi
    log "created $cfg from the image's default config (edit it, then restart or send SIGHUP)"
  fi
  [ -z "$cfg" ] || export TOLLGATE_CONFIG="$cfg"

  # Give /data (and everything in it) to the user the daemon runs as, when it is not already.
  if [ "$(id -u)" = 0 ] && [ -d "$data" ] &&
     [ -n "$(find "$data" -xdev \( ! -user "$uid" -o ! -group "$gid" \) -print -quit)" ]; then
    log "chown -R $uid:$gid $data"
    chown -R "$uid:$gid" "$data" || log "warning: cannot chown $data (read-only or root-squashed share?)"
  fi

  listen_given=0
  for a in "$@"; do
    case "$a" in --listen) listen_given=1 ;; esac
  done
  if [ -n "${TOLLGATE_LISTEN:-}" ] && [ "$listen_given" = 0 ]; then
    set -- --listen "$TOLLGATE_LISTEN" "$@"
  fi
  set -- /usr/local/bin/tollgate "$@"
  if [ "$(id -u)" = 0 ] && [ "$uid" != 0 ] &&
     ! setpriv --reuid="$uid" --regid="$gid" --clear-groups test -w "$data"; then
    log "warning: uid $uid cannot write to $data: the database cannot be created (see docs/nas.md)"
  elif [ "$(id -u)" != 0 ] && [ ! -w "$data" ]; then
    log "warning: uid $uid cannot write to $data: the database cannot be created (see docs/nas.md)"
  fi
fi

if [ "$(id -u)" = 0 ] && [ "$uid" != 0 ]; then
  exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs "$@"
fi
exec "$@"
