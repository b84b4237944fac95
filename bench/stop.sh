#!/usr/bin/env bash
# `berth stop` of N containers running `/bin/sleep 100000` (the busybox test
# tree; no SIGTERM handler), with the stub init (the default) and with
# `stub_init = false`. Without the stub, sleep is PID 1 of its pid namespace,
# where a signal without a handler is ignored: each stop waits for the whole
# timeout_stop and ends in SIGKILL. With it, berth-init forwards SIGTERM and
# sleep dies at once.
#
# Times: the wall time of starting all N (sequentially), of stopping all N
# (sequentially), and the mean stop. timeout_stop is the default 10 s unless
# STOP_TIMEOUT is set (e.g. STOP_TIMEOUT=2s to shorten the no-stub run).
#
# usage: bench/stop.sh [N]   (default 10)
# env: BERTH_BUILD_DIR (default <repo>/build), BERTH, BERTH_TEST_ROOTFS, STOP_TIMEOUT.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
n=${1:-10}
case $n in ''|*[!0-9]*) echo "usage: $0 [N]" >&2; exit 2 ;; esac
build=${BERTH_BUILD_DIR:-$repo/build}
berth=${BERTH:-$build/berth}
rootfs=${BERTH_TEST_ROOTFS:-$build/test-rootfs}
[ -x "$berth" ] || { echo "no berth at $berth (build it first)" >&2; exit 1; }
[ -d "$rootfs" ] || { echo "no test tree at $rootfs (ctest -R fixture_rootfs)" >&2; exit 1; }

root=$(mktemp -d /tmp/berth-bench-stop.XXXXXX)
cleanup() {
  for f in "$root"/etc/berth/containers.toml; do
    [ -e "$f" ] || continue
    for c in $(sed -n 's/^\[containers\.\(.*\)\]$/\1/p' "$f"); do
      "$berth" --root "$root" terminate "$c" >/dev/null 2>&1 || true
    done
  done
  rm -rf "$root"
}
trap cleanup EXIT
mkdir -p "$root/etc/berth"

now() { date +%s.%N; }

# one MODE: "stub" or "nostub"
one() {
  local mode=$1 extra=""
  [ "$mode" = nostub ] && extra="stub_init = false"
  : > "$root/etc/berth/containers.toml"
  for i in $(seq 1 "$n"); do
    cat >> "$root/etc/berth/containers.toml" <<EOF
[containers.bstop-$mode-$i]
path = "$rootfs"
command = ["/bin/sleep", "100000"]
$extra
${STOP_TIMEOUT:+timeout_stop = \"$STOP_TIMEOUT\"}
EOF
  done
  local t0 t1 t2
  t0=$(now)
  for i in $(seq 1 "$n"); do "$berth" --root "$root" start "bstop-$mode-$i" >/dev/null; done
  t1=$(now)
  for i in $(seq 1 "$n"); do "$berth" --root "$root" stop "bstop-$mode-$i" >/dev/null; done
  t2=$(now)
  local killed
  killed=$(cat "$root"/var/log/berth/bstop-"$mode"-*.log | grep -c "stop timeout" || true)
  awk -v m="$mode" -v n="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v k="$killed" 'BEGIN {
    printf "%-7s N=%d  start all %7.2f s   stop all %7.2f s   mean stop %8.1f ms   SIGKILLed %d\n",
      m, n, b - a, c - b, (c - b) * 1000 / n, k }'
}

one stub
one nostub
