#!/usr/bin/env bash
# `berth image import` of a Debian-minbase-sized tarball against `tar -xf`
# of the same archive (GNU tar, as root: owners and modes kept), N runs each,
# alternating, for each format. Prints the median and worst of each, the
# ratios berth/tar of the worsts and of the medians, and the load at the
# start and the end (the 2-core VMs are noisy: ratios move less than times).
#
# The tree: the Debian guest fixture (tests/fixtures/make-debian.sh, used
# when it is already built: BERTH_TEST_DEBIAN, default <build>/test-debian),
# else the host's files of its Priority: required packages (what debootstrap
# --variant=minbase installs), copied with tar. Every run extracts into a
# fresh directory under one temporary directory, removed at the end.
#
# usage: bench/image-import.sh [N] [FORMAT...]   (default 3 runs; tar tar.gz tar.zst tar.xz)
# env: BERTH_BUILD_DIR (default <repo>/build), BERTH, BERTH_TEST_DEBIAN.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
n=${1:-3}
case $n in '' | *[!0-9]*) echo "usage: $0 [N] [FORMAT...]" >&2; exit 2 ;; esac
shift || true
formats=("$@")
[ ${#formats[@]} -gt 0 ] || formats=(tar tar.gz tar.zst tar.xz)
build=${BERTH_BUILD_DIR:-$repo/build}
berth=${BERTH:-$build/berth}
tree=${BERTH_TEST_DEBIAN:-$build/test-debian}
[ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }
[ -x "$berth" ] || { echo "bench: $berth not built" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-bench-image-XXXXXX)
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT
load0=$(cut -d' ' -f1-3 /proc/loadavg)

if [ -d "$tree/usr" ]; then
  src=$tree
  what="the Debian guest fixture ($tree)"
else
  src=$work/src
  mkdir "$src"
  pkgs=$(dpkg-query -W -f='${Package} ${Priority}\n' | awk '$2 == "required" || $2 == "important" { print $1 }')
  # Their files, once each (not again through the merged-/usr symlinks), and
  # the host's python3 library to reach a minbase's size (~130 MB, 8000 files).
  # shellcheck disable=SC2086
  dpkg -L $pkgs 2>/dev/null | python3 -c '
import os, sys
for l in sorted(set(sys.stdin.read().split("\n"))):
    if not l.startswith("/") or not os.path.lexists(l): continue
    if os.path.realpath(os.path.dirname(l)) != os.path.dirname(l): continue
    if os.path.isdir(l) and not os.path.islink(l): continue
    print(l[1:])' > "$work/files"
  tar -C / --no-recursion -cf - -T "$work/files" 2>/dev/null | tar -C "$src" -xf -
  for d in /usr/lib/python3.[0-9]*; do
    [ -d "$d" ] && tar -C / -cf - "${d#/}" | tar -C "$src" -xf -
  done
  what="the host's files of its $(echo "$pkgs" | wc -w) required and important packages and its python3 library"
fi
echo "tree: $what: $(du -sh --apparent-size "$src" | cut -f1), $(find "$src" | wc -l) entries"

make_archive() {  # FORMAT OUT
  case $1 in
    tar) tar -C "$src" -cf "$2" . ;;
    tar.gz) tar -C "$src" --gzip -cf "$2" . ;;
    tar.zst) tar -C "$src" --zstd -cf "$2" . ;;
    tar.xz) tar -C "$src" --use-compress-program='xz -T2' -cf "$2" . ;;
    *) echo "bench: unknown format $1" >&2; exit 2 ;;
  esac
}
now() { date +%s%N; }
stats() {  # median and worst (ms) of the numbers on stdin
  sort -n | awk '{ v[NR] = $1 } END { printf "%d %d\n", v[int((NR + 1) / 2)] / 1e6, v[NR] / 1e6 }'
}

printf '%-8s %10s %18s %18s %12s %12s\n' format archive "tar -xf med/worst" "berth med/worst" "ratio worst" "ratio med"
for fmt in "${formats[@]}"; do
  a=$work/rootfs.$fmt
  make_archive "$fmt" "$a"
  : >"$work/t.tar" >"$work/t.berth"
  for i in $(seq "$n"); do
    # Each run starts from the same state: neither tree there, all written back.
    "$berth" --root "$work/root" image remove img >/dev/null 2>&1 || true
    mkdir "$work/x"
    sync
    t0=$(now)
    tar -C "$work/x" -xf "$a"
    t1=$(now)
    echo $((t1 - t0)) >>"$work/t.tar"
    rm -rf "$work/x"
    sync
    t0=$(now)
    "$berth" --root "$work/root" image import --keep-setid img "$a" >/dev/null
    t1=$(now)
    echo $((t1 - t0)) >>"$work/t.berth"
  done
  read -r tmed tworst < <(stats <"$work/t.tar")
  read -r bmed bworst < <(stats <"$work/t.berth")
  printf '%-8s %9sM %10s/%-7s %10s/%-7s %12s %12s\n' "$fmt" "$(($(stat -c %s "$a") >> 20))" \
    "$tmed" "$tworst" "$bmed" "$bworst" \
    "$(echo "scale=2; $bworst / $tworst" | bc)" "$(echo "scale=2; $bmed / $tmed" | bc)"
  rm -f "$a"
done
echo "times in ms, $n runs each; load $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
