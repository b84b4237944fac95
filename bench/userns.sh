#!/usr/bin/env bash
# What the user-namespaced default costs at start: `berth start` (invoke to
# the guest's READY=1) of the same booted container, the default
# (private_users = "pick": a user namespace, the tree and the host's /usr
# idmapped, the cgroup handed to the guest's root) against the privileged
# opt-in (private_users = "no"), side by side.
#
# Two containers: the Debian 12 guest (systemd as PID 1, a private network)
# and the host's own systemd over share_host. Each round boots each variant
# N times, alternating, and takes the medians; the ratio userns/privileged
# is printed per round and the worst round is the figure to quote, with the
# load average at the start and the end (2-core VMs shared with other work
# are noisy: absolute times drift, ratios much less).
#
# Everything runs inside a network and mount namespace this script makes.
#
# usage: bench/userns.sh [N] [ROUNDS]   (default 5 boots each, 3 rounds)
# env: BERTH_BUILD_DIR (default <repo>/build), BERTH, BERTH_TEST_DEBIAN.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
n=${1:-5}
rounds=${2:-3}
for v in "$n" "$rounds"; do
  case $v in '' | *[!0-9]*) echo "usage: $0 [N] [ROUNDS]" >&2; exit 2 ;; esac
done
build=${BERTH_BUILD_DIR:-$repo/build}
berth=${BERTH:-$build/berth}
tree=${BERTH_TEST_DEBIAN:-$build/test-debian}

if [ -z "${BERTH_BENCH_INNER:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }
  [ -x "$berth" ] || { echo "bench: $berth not built" >&2; exit 1; }
  "$repo/tests/fixtures/make-debian.sh" "$tree"
  export BERTH_BENCH_INNER=1 BERTH="$berth" BERTH_TEST_DEBIAN="$tree"
  exec unshare --net --mount --propagation private "$0" "$n" "$rounds"
fi

# --- inside the private network + mount namespace ---
ip link set lo up
load0=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/berth-bench-userns-XXXXXX)
root=$work/root
names="dguser dgpriv shuser shpriv"
cleanup() {
  for c in $names; do "$berth" --root "$root" terminate "$c" >/dev/null 2>&1 || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

cp -a "$tree" "$work/tree-user"
cp -a "$tree" "$work/tree-priv"
chmod 755 "$work" "$work/tree-user" "$work/tree-priv"
mkdir -p "$root/etc/berth"
: >"$root/etc/hosts"
{
  i=0
  for c in dguser:tree-user:pick dgpriv:tree-priv:no; do
    IFS=: read -r name t users <<<"$c"
    i=$((i + 1))
    printf '[containers.%s]\npath = "%s"\nboot = true\nprivate_users = "%s"\n' "$name" "$work/$t" "$users"
    printf 'private_network = true\nhost_address = "10.233.9%d.1"\nlocal_address = "10.233.9%d.2"\n' "$i" "$i"
  done
  if [ -x /lib/systemd/systemd ]; then
    printf '[containers.shuser]\nshare_host = true\nboot = true\nprivate_users = "pick"\n'
    printf '[containers.shpriv]\nshare_host = true\nboot = true\nprivate_users = "no"\n'
  fi
} >"$root/etc/berth/containers.toml"
b="$berth --root $root"

# Milliseconds of one `berth start NAME` (to READY=1), then stop it.
start_ms() {
  local t0 t1
  t0=$(date +%s%N)
  $b start "$1" >/dev/null 2>&1
  t1=$(date +%s%N)
  $b stop "$1" >/dev/null
  awk -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f\n", (z - a) / 1e6 }'
}
median() { sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}'; }

pairs="dguser:dgpriv"
[ -x /lib/systemd/systemd ] && pairs="$pairs shuser:shpriv"
# Sanity (and first boots: machine ids, host keys): each boots and runs.
for p in $pairs; do
  for c in ${p%:*} ${p#*:}; do
    $b start "$c" >/dev/null 2>&1
    [ "$($b run "$c" -- systemctl is-system-running --wait 2>/dev/null)" = running ] ||
      echo "bench: note: $c is not 'running' after READY" >&2
    $b stop "$c" >/dev/null
  done
done

echo "== berth start -> READY=1: user namespace (default) vs private_users = \"no\" =="
echo "== $n boots each per round, alternating, $rounds rounds =="
for p in $pairs; do
  u=${p%:*} v=${p#*:}
  worst=0
  for r in $(seq "$rounds"); do
    : >"$work/u.txt"
    : >"$work/v.txt"
    for i in $(seq "$n"); do
      start_ms "$u" >>"$work/u.txt"
      start_ms "$v" >>"$work/v.txt"
    done
    um=$(median <"$work/u.txt")
    vm=$(median <"$work/v.txt")
    ratio=$(awk -v a="$um" -v z="$vm" 'BEGIN { printf "%.2f", a / z }')
    echo "$u round $r: userns ${um} ms, privileged ${vm} ms, ratio ${ratio}"
    worst=$(awk -v a="$worst" -v z="$ratio" 'BEGIN { print (z > a) ? z : a }')
  done
  echo "$u: worst ratio userns/privileged over $rounds rounds: $worst"
done
echo "load: $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end, on $(nproc) cpus"
