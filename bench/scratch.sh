# Sourced by the bench scripts: a scratch directory and the processes started here, of which only
# these are ever stopped (on exit, Ctrl-C included).
#   scratch_init NAME    TMP=/tmp/NAME.XXXXXX, PIDS=(); KEEP_TMP=1 keeps the directory at exit
#   PIDS+=($!)           after starting a process to be stopped at exit
#   wait_file FILE [N]   until FILE is non-empty, N times 50 ms at most (default 200: 10 s)
#   governed_key_yaml KEY  the `keys:` section of the governed case (run.sh, callgrind_ratio.sh)
scratch_init() {
  TMP="$(mktemp -d "/tmp/$1.XXXXXX")"
  PIDS=()
  trap scratch_cleanup EXIT
  trap 'exit 130' INT TERM
}

scratch_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "scratch files kept in $TMP" >&2; else rm -rf "$TMP"; fi
}

wait_file() {
  local _
  for _ in $(seq "${2:-200}"); do [[ -s $1 ]] && return 0; sleep 0.05; done
  return 1
}

# The governed case's virtual key: a budget and limits it never reaches, so every request is
# priced, reserved, settled and rate-counted, and none refused.
governed_key_yaml() {
  cat <<YAML
keys:
  - name: bench-governed
    key: $1
    budget: { usd: 1000000000, period: total }
    limits: { rpm: 100000000, tpm: 100000000000, parallel: 100000 }
YAML
}
