#!/usr/bin/env bash
# What the admin web UI adds to the Release binary (docs/ui.md#size). Builds `tollgate` twice,
# Release, with and without the UI (-DTOLLGATE_WITH_UI=OFF leaves out ui/'s embedded files, the
# UI's C++ and the admin API views written for it, and their routes), strips both and reports:
#   total    the stripped Release binary, with the UI (what ships)
#   growth   total minus the same build without the UI
#   assets   the embedded ui/ files as stored (gzip -9n bytes, or the file when gzip is no smaller)
#   C++      growth minus assets: the code (and its tables and strings) that exists for the UI
# Usage: bench/ui_size.sh [build-dir-prefix]   (default: build-size; JOBS=2 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-build-size}"
jobs="${JOBS:-2}"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

build() {  # dir, WITH_UI
  mkdir -p "$1"
  if ! { cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=Release -DTOLLGATE_BUILD_TESTS=OFF \
          -DTOLLGATE_WITH_UI="$2" "${launcher[@]}" &&
        cmake --build "$1" -j"$jobs" --target tollgate; } >"$1/ui_size.log" 2>&1; then
    tail -30 "$1/ui_size.log"
    exit 1
  fi
  strip -o "$1/tollgate.stripped" "$1/tollgate"
}
build "$prefix" ON
build "$prefix-noui" OFF

with=$(stat -c %s "$prefix/tollgate.stripped")
without=$(stat -c %s "$prefix-noui/tollgate.stripped")
# The embedded arrays (cmake/EmbedUi.cmake's g<i>/f<i>), each with one trailing NUL.
assets=0
while read -r _ size _ name; do
  [[ "$name" =~ ^tg::admin::ui::\(anonymous\ namespace\)::[gf][0-9]+$ ]] && assets=$((assets + 16#$size - 1))
done < <(nm -C -S "$prefix/tollgate")
growth=$((with - without))
code=$((growth - assets))
# The file moves in 4 KB steps (segment alignment): the loaded sections' sum is finer.
loaded() { size -A -d "$1" | awk '$3 > 0 { s += $2 } END { print s }'; }
with_l=$(loaded "$prefix/tollgate.stripped")
without_l=$(loaded "$prefix-noui/tollgate.stripped")

kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1024 }'; }
printf '%-34s %10d bytes (%s)\n' "stripped Release binary, with UI" "$with" "$(kb "$with")"
printf '%-34s %10d bytes (%s)\n' "stripped Release binary, no UI" "$without" "$(kb "$without")"
printf '%-34s %10d bytes (%s)\n' "growth (the UI's whole cost)" "$growth" "$(kb "$growth")"
printf '%-34s %10d bytes (%s)\n' "  embedded assets (compressed)" "$assets" "$(kb "$assets")"
printf '%-34s %10d bytes (%s)\n' "  UI-only C++" "$code" "$(kb "$code")"
printf '%-34s %10d bytes (%s), UI-only C++ %d bytes\n' "growth, loaded sections only" \
  "$((with_l - without_l))" "$(kb $((with_l - without_l)))" "$((with_l - without_l - assets))"
if ((growth <= assets)); then
  echo "growth <= assets' compressed size: met"
else
  echo "growth <= assets' compressed size: not met, by $((growth - assets)) bytes ($(kb $((growth - assets))))"
fi
if [[ -n "${TOP:-}" ]]; then  # TOP=20: the largest symbols found only in the UI build
  echo "largest symbols only in the UI build (bytes):"
  python3 - "$prefix-noui/tollgate" "$prefix/tollgate" "$TOP" <<'PY'
import re, subprocess, sys
def syms(path):  # name -> bytes (defined symbols with a size)
    out = {}
    for line in subprocess.run(["nm", "-C", "-S", path], capture_output=True, text=True).stdout.splitlines():
        m = re.match(r"[0-9a-f]+ ([0-9a-f]+) \S (.*)", line)
        if m:
            out[m[2]] = out.get(m[2], 0) + int(m[1], 16)
    return out
without, with_ui = syms(sys.argv[1]), syms(sys.argv[2])
only = sorted(((s, n) for n, s in with_ui.items() if n not in without), reverse=True)
for size, name in only[: int(sys.argv[3])]:
    print(f"{size:8d}  {name[:160]}")
PY
fi
