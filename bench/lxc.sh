#!/usr/bin/env bash
# berth against LXC on the same busybox system tree (busybox init from
# Debian's busybox-static with an inittab, as `lxc-create -t busybox` makes;
# tests/fixtures/make-init-guest.sh busybox), three operations side by side:
#
#   start  `berth start` (returns once the init runs: ready = started)
#          vs `lxc-start` + `lxc-wait -s RUNNING`
#   run    `berth run NAME -- /bin/true` vs `lxc-attach -- /bin/true`
#   stop   `berth stop` (busybox init's SIGUSR1) vs `lxc-stop`
#          (lxc.signal.halt = SIGUSR1, as the busybox template sets)
#
# LXC is Debian's (scripts/install-deps.sh system), with a private -P path
# and lxc.net.0.type = empty; berth's container has no private network
# either. Both run inside a network and mount namespace this script makes.
# Prints, per operation, the median and the worst of N runs of each and the
# ratio of the worsts, and the load average before and after.
#
# usage: bench/lxc.sh [N]   (N cycles each, default 10)
# env: BERTH_BUILD_DIR (default <repo>/build), BERTH, BERTH_TEST_INIT_BUSYBOX.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
n=${1:-10}
case $n in '' | *[!0-9]*) echo "usage: $0 [N]" >&2; exit 2 ;; esac
build=${BERTH_BUILD_DIR:-$repo/build}
berth=${BERTH:-$build/berth}
tree=${BERTH_TEST_INIT_BUSYBOX:-$build/test-init-busybox}

if [ -z "${BERTH_BENCH_INNER:-}" ]; then
  for tool in unshare lxc-start lxc-attach lxc-stop lxc-wait python3; do
    command -v $tool >/dev/null || { echo "bench: $tool is missing (scripts/install-deps.sh system)" >&2; exit 1; }
  done
  [ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }
  [ -x "$berth" ] || { echo "bench: $berth not built" >&2; exit 1; }
  "$repo/tests/fixtures/make-init-guest.sh" busybox "$tree"
  export BERTH_BENCH_INNER=1 BERTH="$berth" BERTH_TEST_INIT_BUSYBOX="$tree"
  exec unshare --net --mount --propagation private "$0" "$n"
fi

# --- inside the private network + mount namespace ---
ip link set lo up 2>/dev/null || true
work=$(mktemp -d /tmp/berth-bench-lxc-XXXXXX)
chmod 755 "$work"  # the user-namespaced init reaches its tree through it
root=$work/root
lxcpath=$work/lxc
name=lxcbench
cleanup() {
  "$berth" --root "$root" terminate "$name" >/dev/null 2>&1 || true
  lxc-stop -P "$lxcpath" -n "$name" -k >/dev/null 2>&1 || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# One copy of the tree each: a boot writes to it.
cp -a "$tree" "$work/tree-berth"
cp -a "$tree" "$work/tree-lxc"
chmod 755 "$work/tree-berth" "$work/tree-lxc"
mkdir -p "$root/etc/berth" "$lxcpath/$name"
cat >"$root/etc/berth/containers.toml" <<EOF
[containers.$name]
path = "$work/tree-berth"
boot = true
EOF
cat >"$lxcpath/$name/config" <<EOF
lxc.rootfs.path = dir:$work/tree-lxc
lxc.uts.name = $name
lxc.net.0.type = empty
lxc.signal.halt = SIGUSR1
lxc.signal.reboot = SIGTERM
lxc.tty.max = 1
lxc.pty.max = 1
lxc.cap.drop = sys_module mac_admin mac_override sys_time
lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed
lxc.apparmor.profile = unconfined
lxc.log.level = ERROR
lxc.log.file = $work/lxc.log
EOF
b="$berth --root $root"

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
declare -a bs br bt ls lr lt

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# One cycle of each first, untimed (as hyperfine's warm-up): berth's first
# start in a fresh root compiles the seccomp profile into <run>/.cache.
$b start $name >/dev/null && $b stop $name >/dev/null
lxc-start -P "$lxcpath" -n $name && lxc-wait -P "$lxcpath" -n $name -s RUNNING &&
  lxc-stop -P "$lxcpath" -n $name
load_before=$(loadavg)
for ((i = 0; i < n; i++)); do
  t0=$(now); $b start $name >/dev/null; t1=$(now)
  $b run $name -- /bin/true; t2=$(now)
  $b stop $name >/dev/null; t3=$(now)
  bs+=("$(ms "$t0" "$t1")"); br+=("$(ms "$t1" "$t2")"); bt+=("$(ms "$t2" "$t3")")

  t0=$(now)
  lxc-start -P "$lxcpath" -n $name
  lxc-wait -P "$lxcpath" -n $name -s RUNNING; t1=$(now)
  lxc-attach -P "$lxcpath" -n $name -- /bin/true; t2=$(now)
  lxc-stop -P "$lxcpath" -n $name; t3=$(now)
  ls+=("$(ms "$t0" "$t1")"); lr+=("$(ms "$t1" "$t2")"); lt+=("$(ms "$t2" "$t3")")
done
load_after=$(loadavg)
if $b logs $name | grep -q "stop timeout"; then
  echo "bench: berth needed SIGKILL to stop the guest (see its log)" >&2
  exit 1
fi

python3 - "$n" "${bs[*]}" "${ls[*]}" "${br[*]}" "${lr[*]}" "${bt[*]}" "${lt[*]}" "$load_before" "$load_after" <<'PY'
import statistics, sys
n = sys.argv[1]
rows = [("start (to RUNNING / ready)", 2), ("run /bin/true (attach)", 4), ("stop", 6)]
print(f"busybox system tree, N={n} cycles; load before {sys.argv[8]}, after {sys.argv[9]}")
print(f"{'':28} {'berth med':>9} {'berth max':>9} {'lxc med':>8} {'lxc max':>8} {'max ratio':>9}")
for label, i in rows:
    b = [int(x) for x in sys.argv[i].split()]
    l = [int(x) for x in sys.argv[i + 1].split()]
    print(f"{label:28} {statistics.median(b):7.0f}ms {max(b):7d}ms {statistics.median(l):6.0f}ms "
          f"{max(l):6d}ms {max(b) / max(l):9.2f}")
PY
