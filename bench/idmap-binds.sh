#!/usr/bin/env bash
# What idmapped bind_mounts cost at start (#14): `berth start` of the same
# user-namespaced busybox command container with four writable binds,
# idmapped (the default) against `idmap = false`, side by side. Each round
# starts and stops each variant N times, alternating, and takes the medians;
# the ratio idmapped/plain is printed per round, and the worst round is the
# figure to quote, with the load average at the start and the end.
#
# usage: bench/idmap-binds.sh [N] [ROUNDS]   (default 20 starts each, 3 rounds)
# env: BERTH_BUILD_DIR (default <repo>/build), BERTH, BERTH_TEST_ROOTFS.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
bench_args 20 3 "$@"
rootfs=${BERTH_TEST_ROOTFS:-$build/test-rootfs}
[ -x "$rootfs/bin/busybox" ] || { echo "bench: no test rootfs at $rootfs (build it first)" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-bench-idmap-XXXXXX)
root=$work/root
cleanup() {
  for c in bmapped bplain; do "$berth" --root "$root" terminate "$c" >/dev/null 2>&1 || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
chmod 755 "$work"
mkdir -p "$root/etc/berth"
for i in 1 2 3 4; do mkdir -p "$work/data$i"; done
{
  for c in bmapped:true bplain:false; do
    IFS=: read -r name idmap <<<"$c"
    echo "[containers.$name]"
    echo "path = \"$rootfs\""
    echo "private_users = \"pick\""
    echo "command = [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]"
    for i in 1 2 3 4; do
      echo "bind_mounts.\"/data$i\" = { host_path = \"$work/data$i\", read_only = false, idmap = $idmap }"
    done
  done
} >"$root/etc/berth/containers.toml"

worst=0
for r in $(seq "$rounds"); do
  : >"$work/bmapped.t"
  : >"$work/bplain.t"
  for _ in $(seq "$n"); do
    for c in bmapped bplain; do
      t0=$(bench_ns)
      "$berth" --root "$root" start "$c" >/dev/null
      t1=$(bench_ns)
      echo $(((t1 - t0) / 1000)) >>"$work/$c.t"
      "$berth" --root "$root" stop "$c" >/dev/null
    done
  done
  m=$(bench_median <"$work/bmapped.t")
  p=$(bench_median <"$work/bplain.t")
  ratio=$(echo "scale=2; $m / $p" | bc)
  echo "round $r: idmapped $((m / 1000)).$(((m % 1000) / 100)) ms, plain $((p / 1000)).$(((p % 1000) / 100)) ms, ratio $ratio"
  if [ "$(echo "$ratio > $worst" | bc)" = 1 ]; then worst=$ratio; fi
done
echo "worst ratio idmapped/plain: $worst ($(bench_load))"
