#!/usr/bin/env bash
# Boot latency of a Debian 12 guest (systemd as PID 1): the time from
# invoking the tool until the guest's systemd has sent READY=1 (its startup
# has finished), `berth start` against `systemd-nspawn --boot` of the same
# tree, reported side by side as a ratio of medians.
#
#   berth:  `berth start NAME` returns when the guest's READY=1 reaches the
#           monitor's notify socket; the guest has a private network (veth,
#           addresses, routes, hosts entry) and a console pty.
#   nspawn: `systemd-nspawn --boot --notify-ready=yes --network-veth
#           --console=read-only` forwards the guest's READY=1 to the
#           NOTIFY_SOCKET this script gives it; the time is taken when it
#           arrives (nspawn leaves its veth unaddressed).
# After each boot the guest is powered off (berth stop; SIGTERM to nspawn,
# which asks the guest to power off) and the next run starts from the same
# tree.
#
# Everything runs inside a network and mount namespace this script makes
# (nspawn creates its ve- link in the caller's namespace), with a tmpfs over
# /run/systemd so nspawn's state stays private; no systemd as PID 1 here, so
# nspawn runs with --register=no --keep-unit.
#
# usage: bench/boot.sh [N]   (N boots each, default 10)
# env: BERTH_BUILD_DIR (default <repo>/build), BERTH, BERTH_TEST_DEBIAN.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
n=${1:-10}
case $n in '' | *[!0-9]*) echo "usage: $0 [N]" >&2; exit 2 ;; esac
build=${BERTH_BUILD_DIR:-$repo/build}
berth=${BERTH:-$build/berth}
tree=${BERTH_TEST_DEBIAN:-$build/test-debian}

if [ -z "${BERTH_BENCH_INNER:-}" ]; then
  for tool in python3 unshare systemd-nspawn debootstrap; do
    command -v $tool >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
  done
  [ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }
  [ -x "$berth" ] || { echo "bench: $berth not built" >&2; exit 1; }
  "$repo/tests/fixtures/make-debian.sh" "$tree"
  export BERTH_BENCH_INNER=1 BERTH="$berth" BERTH_TEST_DEBIAN="$tree"
  exec unshare --net --mount --propagation private "$0" "$n"
fi

# --- inside the private network + mount namespace ---
ip link set lo up
[ -d /run/systemd ] && mount -t tmpfs -o mode=755 berth-bench /run/systemd

work=$(mktemp -d /tmp/berth-bench-boot-XXXXXX)
chmod 755 "$work"  # a user-namespaced init reaches its tree through it
root=$work/root
name=bootbench
cleanup() {
  "$berth" --root "$root" terminate "$name" >/dev/null 2>&1 || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

cp -a "$tree" "$work/tree"
chmod 755 "$work/tree"
mkdir -p "$root/etc/berth"
: >"$root/etc/hosts"
cat >"$root/etc/berth/containers.toml" <<EOF
[containers.$name]
path = "$work/tree"
boot = true
private_network = true
host_address = "10.233.98.1"
local_address = "10.233.98.2"
EOF
b="$berth --root $root"

# One nspawn boot: prints milliseconds from exec to READY=1, then powers
# the guest off and waits for nspawn to exit.
nspawn_boot() {
  python3 - "$work/tree" "$work/notify.sock" <<'PY'
import os, signal, socket, subprocess, sys, time
tree, sock_path = sys.argv[1], sys.argv[2]
try:
    os.unlink(sock_path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
env = dict(os.environ, NOTIFY_SOCKET=sock_path)
t0 = time.monotonic()
p = subprocess.Popen(["systemd-nspawn", "-q", "-D", tree, "--boot", "--register=no",
                      "--keep-unit", "--notify-ready=yes", "--network-veth",
                      "--console=read-only", "--machine=bootbench"],
                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
s.settimeout(120)
ready = None
try:
    while ready is None:
        msg = s.recv(4096).decode(errors="replace")
        if "READY=1" in msg.split("\n"):
            ready = time.monotonic() - t0
except socket.timeout:
    pass
p.send_signal(signal.SIGTERM)
try:
    p.wait(timeout=60)
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
if ready is None:
    sys.exit("bench: nspawn's guest never sent READY=1")
print(f"{ready * 1000:.1f}")
PY
}

# Sanity: both boot the tree to READY and power it off.
$b start $name >/dev/null
[ "$($b run $name -- systemctl is-system-running)" = running ] ||
  echo "bench: note: berth's guest is not 'running' after READY" >&2
$b stop $name
nspawn_boot >/dev/null
ip -o link | grep -q 've-' && { echo "bench: a ve- link was left behind" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%.1f", m}'; }
: >"$work/b.txt"
: >"$work/n.txt"
echo "== invoke -> guest's READY=1 ($n boots each, alternating) =="
for i in $(seq "$n"); do
  t0=$(date +%s%N)
  $b start $name >/dev/null
  t1=$(date +%s%N)
  awk -v a="$t0" -v z="$t1" 'BEGIN { printf "%.1f\n", (z - a) / 1e6 }' >>"$work/b.txt"
  $b stop $name
  nspawn_boot >>"$work/n.txt"
done
bm=$(median <"$work/b.txt")
nm=$(median <"$work/n.txt")
echo "berth start:          median ${bm} ms  (all: $(sort -n "$work/b.txt" | tr '\n' ' '))"
echo "systemd-nspawn --boot: median ${nm} ms  (all: $(sort -n "$work/n.txt" | tr '\n' ' '))"
awk -v b="$bm" -v n="$nm" 'BEGIN { printf "ratio berth/nspawn: %.2f\n", b / n }'
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cpus (other work on the machine skews both)"
