#!/usr/bin/env bash
# Density: N long-running containers (the busybox test tree's
# `sleep 100000`, no network), started and then stopped by
#
#   berth   one `berth apply` of N declared containers (in parallel, as apply
#           does), then one `apply` with none declared; also with --jobs 1
#   crun    N sequential `crun run -d`, then N `crun kill` + `crun delete`
#   podman  N sequential `podman run -d` (crun under conmon, a private store,
#           --network none), then one `podman rm -f -t 0` of them all
#
# and, while all N run: the MemAvailable drop per container and the
# supervisor's RSS and PSS (berth's monitor, podman's conmon; crun leaves
# none). Prints a row each, the ratios to crun, and the load average.
#
# Everything runs in a mount + network namespace this script makes, with
# the cgroup v2 mount hidden (crun 1.8.1 refuses a hybrid host; berth runs
# on either), and is removed at the end.
#
# usage: bench/density.sh [N] [--no-podman]   (N default 100)
# env: BERTH_BUILD_DIR (default <repo>/build), BERTH, BERTH_TEST_ROOTFS, CRUN.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
n=100
podman_too=1
for a in "$@"; do
  case $a in
    --no-podman) podman_too=0 ;;
    '' | *[!0-9]*) echo "usage: $0 [N] [--no-podman]" >&2; exit 2 ;;
    *) n=$a ;;
  esac
done
build=${BERTH_BUILD_DIR:-$repo/build}
berth=${BERTH:-$build/berth}
rootfs=${BERTH_TEST_ROOTFS:-$build/test-rootfs}
crun=${CRUN:-$(command -v crun || true)}

if [ -z "${BERTH_BENCH_INNER:-}" ]; then
  for tool in unshare jq; do
    command -v $tool >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
  done
  [ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }
  [ -x "$berth" ] || { echo "bench: $berth not built" >&2; exit 1; }
  "$repo/tests/fixtures/make-rootfs.sh" "$rootfs"
  export BERTH_BENCH_INNER=1 BERTH="$berth" BERTH_TEST_ROOTFS="$rootfs" CRUN="$crun"
  exec unshare --net --mount --propagation private "$0" "$@"
fi

# --- inside the private network + mount namespace ---
ip link set lo up 2>/dev/null || true
umount /sys/fs/cgroup/unified 2>/dev/null || true
work=$(mktemp -d /tmp/berth-bench-density-XXXXXX)
chmod 755 "$work"
root=$work/berth
crun_root=$work/crun
pod=$work/podman
tag=bdens$$
cleanup() {
  set +e
  if [ -f "$root/etc/berth/containers.toml" ]; then
    : >"$root/etc/berth/containers.toml"
    "$berth" --root "$root" apply >/dev/null 2>&1
  fi
  for d in "$crun_root"/*/; do
    [ -d "$d" ] && "$crun" --root "$crun_root" delete --force "$(basename "$d")" >/dev/null 2>&1
  done
  if [ -d "$pod" ]; then
    podman_cmd rm -af -t 0 >/dev/null 2>&1
    podman_cmd rmi -af >/dev/null 2>&1
    umount -R "$pod/root" 2>/dev/null
  fi
  for c in /sys/fs/cgroup/*/"$tag"*; do [ -d "$c" ] && rmdir "$c"/* "$c" 2>/dev/null; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
mem_available_kb() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
settle() { sync; sleep 1; }
# Sum of RSS and PSS (kB) of the given pids.
rss_pss() {
  local rss=0 pss=0 p r s
  for p in "$@"; do
    read -r r s < <(awk '/^Rss:/ {r=$2} /^Pss:/ {s=$2} END {print r+0, s+0}' "/proc/$p/smaps_rollup" 2>/dev/null || echo "0 0")
    rss=$((rss + r)) pss=$((pss + s))
  done
  echo "$rss $pss"
}

declare -A start_s stop_s mem_kb sup_rss sup_pss
row() { # NAME START STOP MEMDROP_KB RSS PSS (totals)
  start_s[$1]=$2 stop_s[$1]=$3 mem_kb[$1]=$4 sup_rss[$1]=$5 sup_pss[$1]=$6
}

# --- berth ---
mkdir -p "$root/etc/berth"
declare_all() {
  : >"$root/etc/berth/containers.toml"
  for i in $(seq 1 "$n"); do
    cat >>"$root/etc/berth/containers.toml" <<EOF
[containers.$tag-$i]
path = "$rootfs"
command = ["/bin/sleep", "100000"]
autostart = true
EOF
  done
}
berth_round() { # LABEL JOBS
  local label=$1 jobs=$2 t0 t1 t2 m0 m1 pids
  declare_all
  settle
  m0=$(mem_available_kb)
  t0=$(now)
  "$berth" --root "$root" apply --jobs "$jobs" >/dev/null
  t1=$(now)
  settle
  m1=$(mem_available_kb)
  pids=$(cat "$root"/run/berth/"$tag"-*/status.json | jq -r '.monitor_pid')
  [ "$(echo "$pids" | wc -w)" = "$n" ] || { echo "bench: berth runs $(echo "$pids" | wc -w) of $n" >&2; exit 1; }
  read -r rss pss < <(rss_pss $pids)
  : >"$root/etc/berth/containers.toml"
  t2=$(now)
  "$berth" --root "$root" apply --jobs "$jobs" >/dev/null
  t3=$(now)
  row "$label" "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)" $((m0 - m1)) "$rss" "$pss"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
berth_round "berth apply" 0
berth_round "berth apply -j1" 1

# --- crun ---
if [ -n "$crun" ] && [ -x "$crun" ]; then
  bundle=$work/bundle
  mkdir -p "$bundle" "$crun_root"
  (cd "$bundle" && "$crun" spec)
  jq --arg rootfs "$rootfs" '.ociVersion = "1.0.2" | .root.path = $rootfs | .root.readonly = true |
    .process.terminal = false | .process.args = ["/bin/sleep", "100000"]' \
    "$bundle/config.json" >"$bundle/c.json" && mv "$bundle/c.json" "$bundle/config.json"
  settle
  m0=$(mem_available_kb)
  t0=$(now)
  for i in $(seq 1 "$n"); do
    jq --arg cg "/$tag-crun/$i" '.linux.cgroupsPath = $cg' "$bundle/config.json" >"$bundle/config-$i.json"
  done
  t0=$(now)
  for i in $(seq 1 "$n"); do
    "$crun" --root "$crun_root" run -d --bundle "$bundle" --config "$bundle/config-$i.json" "$tag-$i" \
      </dev/null >/dev/null 2>&1 || { echo "bench: crun run -d failed" >&2; break; }
  done
  t1=$(now)
  settle
  m1=$(mem_available_kb)
  t2=$(now)
  for i in $(seq 1 "$n"); do
    "$crun" --root "$crun_root" kill "$tag-$i" KILL >/dev/null 2>&1 || true
    "$crun" --root "$crun_root" delete --force "$tag-$i" >/dev/null 2>&1 || true
  done
  t3=$(now)
  row crun "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)" $((m0 - m1)) 0 0
else
  echo "bench: skipping crun: not installed"
fi

# --- podman (crun under conmon) ---
podman_cmd() {
  CONTAINERS_CONF=$pod/containers.conf XDG_RUNTIME_DIR=$pod/xdg podman --root "$pod/root" \
    --runroot "$pod/runroot" --tmpdir "$pod/tmp" --storage-driver overlay \
    --cgroup-manager cgroupfs --events-backend file "$@"
}
if [ $podman_too = 1 ] && command -v podman >/dev/null; then
  mkdir -p "$pod/xdg"
  nofile=$(ulimit -Hn)
  cat >"$pod/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$pod/events.log"
[network]
network_config_dir = "$pod/networks"
EOF
  tar -C "$rootfs" -c . | podman_cmd import - "$tag/busybox:latest" >/dev/null
  settle
  m0=$(mem_available_kb)
  t0=$(now)
  for i in $(seq 1 "$n"); do
    podman_cmd run -d --network none --cgroup-parent "/$tag-podman" --name "$tag-$i" \
      "$tag/busybox:latest" /bin/sleep 100000 >/dev/null || { echo "bench: podman run -d failed" >&2; break; }
  done
  t1=$(now)
  settle
  m1=$(mem_available_kb)
  # shellcheck disable=SC2046
  conmons=$(podman_cmd inspect --format '{{.State.ConmonPid}}' $(podman_cmd ps -q) 2>/dev/null || true)
  # shellcheck disable=SC2086
  read -r rss pss < <(rss_pss $conmons)
  t2=$(now)
  podman_cmd rm -af -t 0 >/dev/null
  t3=$(now)
  row podman "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)" $((m0 - m1)) "$rss" "$pss"
fi
load1=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "N=$n containers (busybox sleep), load average before: $load0, after: $load1"
printf '%-16s %9s %9s %9s %12s %12s %12s\n' "" "start s" "stop s" "ms each" "MemAvail/ct" "sup RSS/ct" "sup PSS/ct"
for k in "berth apply" "berth apply -j1" crun podman; do
  [ -n "${start_s[$k]:-}" ] || continue
  printf '%-16s %9.2f %9.2f %9.1f %9.0f kB %9.0f kB %9.0f kB\n' "$k" "${start_s[$k]}" "${stop_s[$k]}" \
    "$(echo "${start_s[$k]} * 1000 / $n" | bc -l)" "$(echo "${mem_kb[$k]} / $n" | bc -l)" \
    "$(echo "${sup_rss[$k]} / $n" | bc -l)" "$(echo "${sup_pss[$k]} / $n" | bc -l)"
done
echo
ratio() {
  if [ -n "${2:-}" ] && [ -n "${3:-}" ] && [ "$3" != 0 ]; then
    printf '%s: %.2f\n' "$1" "$(echo "$2 / $3" | bc -l)"
  else
    echo "$1: n/a"
  fi
}
if [ -n "${start_s[crun]:-}" ]; then
  ratio "berth apply start / crun run -d start" "${start_s[berth apply]}" "${start_s[crun]}"
  ratio "berth apply stop / crun kill+delete" "${stop_s[berth apply]}" "${stop_s[crun]}"
fi
if [ -n "${start_s[podman]:-}" ]; then
  ratio "berth MemAvailable drop / podman's" "${mem_kb[berth apply]}" "${mem_kb[podman]}"
  ratio "berth monitor PSS / conmon PSS" "${sup_pss[berth apply]}" "${sup_pss[podman]}"
fi
