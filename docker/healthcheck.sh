#!/bin/bash
# Docker HEALTHCHECK: GET /health on the port tollgate listens on ($TOLLGATE_LISTEN, default
# 0.0.0.0:8080, or the port given as $1), healthy on HTTP 200. Uses bash's /dev/tcp: the image
# needs no curl or wget.
set -u
listen=${TOLLGATE_LISTEN:-0.0.0.0:8080}
port=${1:-${listen##*:}}
host=${listen%:*}
case "$host" in
  ""|0.0.0.0|"[::]"|"*") host=127.0.0.1 ;;
  \[*\]) host=${host#[}; host=${host%]} ;;
esac
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET /health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" >&3
IFS= read -r -t 4 status <&3 || exit 1
case "$status" in
  "HTTP/1."?" 200 "*) exit 0 ;;
  *) echo "unhealthy: $status" >&2; exit 1 ;;
esac
