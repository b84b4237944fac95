#!/usr/bin/env bash
# The manager's overhead on one container: `berth start` (returns once the
# container is ready) and `berth stop`, against `berth-oci run -d` and
# `berth-oci kill` + `delete` of the very spec the monitor runs (`berth spec
# NAME`: the default seccomp profile, capabilities, masks and limits
# included), N cycles each, alternating, on the busybox test tree running
# `sleep` (a command container, no network). Prints the median and worst of
# each and the ratios of the worsts and of the medians, and the load.
#
# usage: bench/start.sh [N]   (default 20)
# env: BERTH_BUILD_DIR (default <repo>/build), BERTH, BERTH_OCI, BERTH_TEST_ROOTFS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
n=${1:-20}
case $n in '' | *[!0-9]*) echo "usage: $0 [N]" >&2; exit 2 ;; esac
build=${BERTH_BUILD_DIR:-$repo/build}
berth=${BERTH:-$build/berth}
berth_oci=${BERTH_OCI:-$build/berth-oci}
rootfs=${BERTH_TEST_ROOTFS:-$build/test-rootfs}
for tool in jq unshare; do
  command -v $tool >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }
[ -x "$berth" ] && [ -x "$berth_oci" ] || { echo "bench: build berth and berth-oci first" >&2; exit 1; }
"$repo/tests/fixtures/make-rootfs.sh" "$rootfs"

work=$(mktemp -d /tmp/berth-bench-start-XXXXXX)
chmod 755 "$work"
root=$work/root
oci_root=$work/oci
name=bstart$$
cleanup() {
  "$berth" --root "$root" terminate "$name" >/dev/null 2>&1 || true
  "$berth_oci" --root "$oci_root" delete --force "$name-oci" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$root/etc/berth" "$oci_root" "$work/bundle"
cat >"$root/etc/berth/containers.toml" <<EOT
[containers.$name]
path = "$rootfs"
command = ["/bin/sleep", "100000"]
resources = { memory = "256M", pids = 256 }
EOT
# The spec the monitor would run, as a bundle of its own (another cgroup).
"$berth" --root "$root" spec "$name" |
  jq --arg cg "/berth-bench-$name-oci" '.linux.cgroupsPath = $cg' >"$work/bundle/config.json"
# Its bind sources the monitor would make (the notify socket's directory,
# which `berth stop` removes): made before each berth-oci run, untimed.
binds=$(jq -r '.mounts[] | select(.type == "bind" or (.options // [] | index("bind"))) | .source' \
  "$work/bundle/config.json")
make_binds() {
  for src in $binds; do
    case $src in "$root"/*) mkdir -p "$src" ;; esac
  done
}

ms_since() { echo "$(( ($(date +%s%N) - $1) / 1000 ))" | awk '{printf "%.1f", $1/1000}'; }
: >"$work/times"
# One untimed cycle of each, then N alternating.
"$berth" --root "$root" start "$name" >/dev/null && "$berth" --root "$root" stop "$name" >/dev/null
make_binds
"$berth_oci" --root "$oci_root" run -d --bundle "$work/bundle" "$name-oci" </dev/null >/dev/null
"$berth_oci" --root "$oci_root" kill "$name-oci" KILL && "$berth_oci" --root "$oci_root" delete --force "$name-oci"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$n"); do
  t=$(date +%s%N); "$berth" --root "$root" start "$name" >/dev/null; echo "berth-start $(ms_since "$t")" >>"$work/times"
  t=$(date +%s%N); "$berth" --root "$root" stop "$name" >/dev/null; echo "berth-stop $(ms_since "$t")" >>"$work/times"
  make_binds
  t=$(date +%s%N)
  "$berth_oci" --root "$oci_root" run -d --bundle "$work/bundle" "$name-oci" </dev/null >/dev/null 2>&1
  echo "oci-start $(ms_since "$t")" >>"$work/times"
  t=$(date +%s%N)
  "$berth_oci" --root "$oci_root" kill "$name-oci" KILL
  "$berth_oci" --root "$oci_root" delete --force "$name-oci"
  echo "oci-stop $(ms_since "$t")" >>"$work/times"
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
stat() { # KEY -> "median worst"
  awk -v k="$1" '$1 == k {print $2}' "$work/times" | sort -n |
    awk '{v[NR] = $1} END {printf "%.1f %.1f\n", v[int((NR + 1) / 2)], v[NR]}'
}
read -r bs_med bs_max < <(stat berth-start)
read -r os_med os_max < <(stat oci-start)
read -r bt_med bt_max < <(stat berth-stop)
read -r ot_med ot_max < <(stat oci-stop)
echo "N=$n, load average before: $load0, after: $load1 (ms: median / worst)"
printf '%-28s %8s %8s   %-34s %8s %8s   %s\n' "" median worst "" median worst "ratio (worst; median)"
printf '%-28s %8s %8s   %-34s %8s %8s   %.2f; %.2f\n' "berth start (ready)" "$bs_med" "$bs_max" \
  "berth-oci run -d (same spec)" "$os_med" "$os_max" "$(echo "$bs_max $os_max" | awk '{print $1/$2}')" \
  "$(echo "$bs_med $os_med" | awk '{print $1/$2}')"
printf '%-28s %8s %8s   %-34s %8s %8s   %.2f; %.2f\n' "berth stop" "$bt_med" "$bt_max" \
  "berth-oci kill + delete" "$ot_med" "$ot_max" "$(echo "$bt_max $ot_max" | awk '{print $1/$2}')" \
  "$(echo "$bt_med $ot_med" | awk '{print $1/$2}')"
