#!/usr/bin/env bash
# Start latency of a container with a private network (a veth pair, IPv4
# addresses): `berth start` against `systemd-nspawn --network-veth`, both on
# a private copy of the busybox test tree, reported side by side as a ratio.
#
# Two intervals, defined identically for both tools:
#  1. cycle: wall time of one full life, timed by hyperfine:
#       berth:  `berth start B && berth stop B`  (start returns once the
#               command runs; stop sends SIGTERM and waits for the teardown)
#       nspawn: `systemd-nspawn ... /bin/sh -c 'ip ...; exit 0'` (returns
#               once the command has exited and the machine is torn down)
#     each container's command brings its veth end up with 10.233.99.2/32.
#  2. first command: from just before the tool is invoked until the
#     container's first command has written a line into a FIFO the script
#     reads (busybox date has no %N); the median of N runs.
# What each tool does in that time differs, and is printed: berth also gives
# the host side its address and routes, adds the hosts entry and a cgroup,
# and its container is already addressed when the command starts; nspawn
# (without networkd) leaves the host side down and unaddressed, so its
# command configures the container side itself.
#
# Everything runs inside a network and mount namespace this script makes
# (nspawn creates its ve- link in the caller's namespace), with a tmpfs over
# /run/systemd so nspawn's state stays private. No systemd as PID 1 here, so
# nspawn runs with --register=no --keep-unit.
#
# usage: bench/net-start.sh [N]   (N runs each, default 30)
# env: BERTH_BUILD_DIR (default <repo>/build), BERTH, BERTH_TEST_ROOTFS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
n=${1:-30}
case $n in ''|*[!0-9]*) echo "usage: $0 [N]" >&2; exit 2 ;; esac
build=${BERTH_BUILD_DIR:-$repo/build}
berth=${BERTH:-$build/berth}
rootfs=${BERTH_TEST_ROOTFS:-$build/test-rootfs}

if [ -z "${BERTH_BENCH_INNER:-}" ]; then
  for tool in hyperfine jq unshare systemd-nspawn; do
    command -v $tool >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
  done
  [ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }
  [ -x "$berth" ] || { echo "bench: $berth not built" >&2; exit 1; }
  "$repo/tests/fixtures/make-rootfs.sh" "$rootfs" >/dev/null
  export BERTH_BENCH_INNER=1 BERTH="$berth" BERTH_TEST_ROOTFS="$rootfs"
  exec unshare --net --mount --propagation private "$0" "$n"
fi

# --- inside the private network + mount namespace ---
ip link set lo up
[ -d /run/systemd ] && mount -t tmpfs -o mode=755 berth-bench /run/systemd

work=$(mktemp -d /tmp/berth-bench-net-XXXXXX)
chmod 755 "$work"  # a user-namespaced init reaches its tree through it
root=$work/root
name=netbench
cleanup() {
  "$berth" --root "$root" terminate "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cp -a "$rootfs" "$work/tree"
mkdir -p "$root/etc/berth" "$work/out"
: >"$root/etc/hosts"
up='ip link set $IF up && ip addr add 10.233.99.2/32 dev $IF'
cat >"$root/etc/berth/containers.toml" <<EOF
[containers.$name]
path = "$work/tree"
command = ["/bin/sh", "-c", "[ -p /out/fifo ] && echo go >/out/fifo; trap 'exit 0' TERM; while :; do sleep 1 & wait; done"]
private_network = true
host_address = "10.233.99.1"
local_address = "10.233.99.2"
timeout_stop = "5s"
bind_mounts."/out" = { host_path = "$work/out", read_only = false }
EOF
b="$berth --root $root"
nspawn="systemd-nspawn -q -D $work/tree --network-veth --register=no --keep-unit --bind=$work/out:/out"

# Sanity: both work, and do what the header says.
$b start $name >/dev/null
$b run $name -- ip -4 -o addr show eth0 | grep -q 10.233.99.2 || { echo "bench: berth container has no address" >&2; exit 1; }
$b stop $name
$nspawn /bin/sh -c "IF=host0; $up && ip -4 -o addr show host0" | grep -q 10.233.99.2 ||
  { echo "bench: nspawn container has no address" >&2; exit 1; }
ip -o link | grep -q 've-' && { echo "bench: a ve- link was left behind" >&2; exit 1; }

echo "== 1. cycle: start, first command in its private network, stop ($n runs each) =="
hyperfine --warmup 3 --runs "$n" --export-json "$work/cycle.json" \
  -n berth "$b start $name && $b stop $name" \
  -n nspawn "$nspawn /bin/sh -c 'IF=host0; $up; exit 0'" >/dev/null
jq -r '.results[] | "\(.command): mean \(.mean*1000|floor) ms  stddev \(.stddev*1000|floor) ms  median \(.median*1000|floor) ms"' "$work/cycle.json"
jq -r '"ratio berth/nspawn (mean): " + ((.results[0].mean / .results[1].mean * 100 | floor) / 100 | tostring)' "$work/cycle.json"

echo "== 2. first command: tool invoked -> container's first command wrote to a FIFO (median of $n) =="
median() { sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.1f", m/1e6}'; }
: >"$work/b.txt"; : >"$work/n.txt"
mkfifo "$work/out/fifo"
# Times one command line; the container's first act is `echo go >/out/fifo`.
first() {
  ( read -r _ <"$work/out/fifo"; date +%s%N >"$work/t1" ) &
  local r=$! t0
  t0=$(date +%s%N)
  eval "$1" >/dev/null
  wait $r
  echo $(($(cat "$work/t1") - t0))
}
for i in $(seq "$n"); do
  first "$b start $name" >>"$work/b.txt"
  $b stop $name
  first "$nspawn /bin/sh -c 'echo go >/out/fifo; IF=host0; $up'" >>"$work/n.txt"
done
bm=$(median <"$work/b.txt"); nm=$(median <"$work/n.txt")
echo "berth: ${bm} ms   (its container's eth0 is already addressed and routed)"
echo "nspawn: ${nm} ms  (its host0 is still down, unaddressed)"
awk -v b="$bm" -v n="$nm" 'BEGIN { printf "ratio berth/nspawn: %.2f\n", b / n }'
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cpus (other work on the machine skews both)"
