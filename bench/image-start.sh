#!/usr/bin/env bash
# A container on an image against the same tree as `path` (#13): `berth
# start` of a busybox command container whose root is the image under its
# own layer (an overlay the monitor mounts) against one whose root is the
# tree itself, without and with a user namespace (`private_users = "pick"`:
# the image and the layer idmapped, the overlay mounted in that namespace).
# Each round starts and stops each container N times, alternating, and takes
# the medians; the ratio image/path is printed per round and pair, and the
# worst round is the figure to quote (target: <= 1.1), with the load average
# at the start and the end.
#
# usage: bench/image-start.sh [N] [ROUNDS]   (default 20 starts each, 3 rounds)
# env: BERTH_BUILD_DIR (default <repo>/build), BERTH, BERTH_TEST_ROOTFS.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
bench_args 20 3 "$@"
rootfs=${BERTH_TEST_ROOTFS:-$build/test-rootfs}
[ -x "$rootfs/bin/busybox" ] || { echo "bench: no test rootfs at $rootfs (build it first)" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-bench-image-XXXXXX)
root=$work/root
names="iplain pplain iuserns puserns"
cleanup() {
  for c in $names; do "$berth" --root "$root" terminate "$c" >/dev/null 2>&1 || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
chmod 755 "$work"
mkdir -p "$root/etc/berth"
# The same tree both ways: imported from a copy, and that copy as the path.
cp -a "$rootfs" "$work/tree"
tar -C "$work/tree" -cf "$work/tree.tar" .
"$berth" --root "$root" image import bb "$work/tree.tar" >/dev/null
{
  for c in iplain:image:no pplain:path:no iuserns:image:pick puserns:path:pick; do
    IFS=: read -r name kind users <<<"$c"
    echo "[containers.$name]"
    if [ "$kind" = image ]; then echo 'image = "bb"'; else echo "path = \"$work/tree\""; fi
    echo "private_users = \"$users\""
    echo "command = [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]"
  done
} >"$root/etc/berth/containers.toml"

worst=0
for r in $(seq "$rounds"); do
  for c in $names; do : >"$work/$c.t"; done
  for _ in $(seq "$n"); do
    for c in $names; do
      t0=$(bench_ns)
      "$berth" --root "$root" start "$c" >/dev/null
      t1=$(bench_ns)
      echo $(((t1 - t0) / 1000)) >>"$work/$c.t"
      "$berth" --root "$root" stop "$c" >/dev/null
    done
  done
  line="round $r:"
  for pair in plain userns; do
    i=$(bench_median <"$work/i$pair.t")
    p=$(bench_median <"$work/p$pair.t")
    ratio=$(echo "scale=2; $i / $p" | bc)
    line="$line $pair: image $(bench_ms "$i"), path $(bench_ms "$p"), ratio $ratio;"
    if [ "$(echo "$ratio > $worst" | bc)" = 1 ]; then worst=$ratio; fi
  done
  echo "$line"
done
echo "worst ratio image/path: $worst ($(bench_load))"
