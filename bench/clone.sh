#!/usr/bin/env bash
# `berth clone` against `cp -a` of the same system tree (#13): a clone of a
# container on an image copies only its own layer (the image is shared), a
# clone of a `path` container copies its whole tree (reflinked where the
# filesystem can, as `cp -a --reflink=auto` would not by default). Each
# round times N clones of each (each destroyed again) and N `cp -a` of the
# tree, takes the medians and prints the ratios clone/cp; the worst round is
# the figure to quote (target for the image clone: <= 0.1), with the load.
#
# usage: bench/clone.sh [N] [ROUNDS]   (default 5 of each, 3 rounds)
# env: BERTH_BUILD_DIR (default <repo>/build), BERTH, BERTH_BENCH_TREE (the
# system tree: default the Debian test guest <build>/test-debian when built,
# else the busybox test rootfs).
set -euo pipefail

. "$(dirname "$0")/lib.sh"
bench_args 5 3 "$@"
tree=${BERTH_BENCH_TREE:-}
if [ -z "$tree" ]; then
  tree=$build/test-debian
  [ -x "$tree/sbin/init" ] || tree=$build/test-rootfs
fi
[ -d "$tree/etc" ] || { echo "bench: no system tree at $tree" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-bench-clone-XXXXXX)
root=$work/root
cleanup() {
  for c in isrc psrc; do "$berth" --root "$root" terminate "$c" >/dev/null 2>&1 || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
chmod 755 "$work"
mkdir -p "$root/etc/berth"
cp -a "$tree" "$work/tree"
tar -C "$work/tree" -cf "$work/tree.tar" .
"$berth" --root "$root" image import sys "$work/tree.tar" >/dev/null
rm "$work/tree.tar"
cat >"$root/etc/berth/containers.toml" <<TOML
[containers.isrc]
image = "sys"
command = ["/bin/sh", "-c", "echo 0123456789abcdef0123456789abcdef > /etc/machine-id; mkdir -p /srv/data; head -c 1048576 /dev/urandom > /srv/data/blob"]
restart = "no"

[containers.psrc]
path = "$work/tree"
command = ["/bin/true"]
restart = "no"
TOML
# Each source has run once: the image one has a layer of its own (1 MiB).
for c in isrc psrc; do
  "$berth" --root "$root" start "$c" >/dev/null
  for _ in $(seq 100); do "$berth" --root "$root" status "$c" | grep -q ': up' || break; sleep 0.1; done
  "$berth" --root "$root" stop "$c" >/dev/null 2>&1 || true
done
echo "tree: $tree ($(du -sh "$work/tree" | cut -f1)), image layer: $(du -sh "$root/var/lib/berth/containers/isrc/layer" | cut -f1)"

worst=0
for r in $(seq "$rounds"); do
  : >"$work/i.t"
  : >"$work/p.t"
  : >"$work/cp.t"
  for k in $(seq "$n"); do
    sync
    t0=$(bench_ns); "$berth" --root "$root" clone isrc "idst$k" >/dev/null 2>&1; t1=$(bench_ns)
    echo $(((t1 - t0) / 1000)) >>"$work/i.t"
    sync
    t0=$(bench_ns); "$berth" --root "$root" clone psrc "pdst$k" >/dev/null 2>&1; t1=$(bench_ns)
    echo $(((t1 - t0) / 1000)) >>"$work/p.t"
    sync
    t0=$(bench_ns); cp -a "$work/tree" "$work/copy$k"; t1=$(bench_ns)
    echo $(((t1 - t0) / 1000)) >>"$work/cp.t"
    "$berth" --root "$root" destroy "idst$k" >/dev/null
    "$berth" --root "$root" destroy "pdst$k" >/dev/null
    rm -rf --one-file-system "$work/copy$k"
  done
  i=$(bench_median <"$work/i.t")
  p=$(bench_median <"$work/p.t")
  c=$(bench_median <"$work/cp.t")
  ri=$(echo "scale=3; $i / $c" | bc)
  rp=$(echo "scale=2; $p / $c" | bc)
  echo "round $r: clone on image $(bench_ms "$i"), clone of path $(bench_ms "$p"), cp -a $(bench_ms "$c"); ratios image $ri, path $rp"
  if [ "$(echo "$ri > $worst" | bc)" = 1 ]; then worst=$ri; fi
done
echo "worst ratio clone-on-image/cp -a: $worst ($(bench_load))"
