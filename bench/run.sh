#!/usr/bin/env bash
# Container start-to-exit latency: N sequential `RUNTIME run` of the spec
# default running /bin/true, for berth-oci, crun and runc on one bundle and the
# busybox test rootfs, timed with hyperfine.
#
# usage: bench/run.sh [N] [--secure | --seccomp | --limits]
#   N         runs per runtime (default 100)
#   --secure  also apply a seccomp profile and memory/pids/cpu cgroup limits
#             (--seccomp or --limits: only one of the two, to see each cost).
#             The profile (a runtime-spec LinuxSeccomp object) comes from
#             $BERTH_BENCH_SECCOMP, else `berth-oci spec --seccomp-default`,
#             else an allowlist of every syscall in <asm/unistd_64.h> minus a
#             podman-like deny list (default action ENOSYS).
# env: BERTH_BUILD_DIR (default <repo>/build), BERTH_OCI (default
#      $BERTH_BUILD_DIR/berth-oci), BERTH_TEST_ROOTFS, CRUN, RUNC.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
n=100
secure=0 want_seccomp=0 want_limits=0
for a in "$@"; do
  case $a in
    --secure) secure=1 want_seccomp=1 want_limits=1 ;;
    --seccomp) secure=1 want_seccomp=1 ;;
    --limits) secure=1 want_limits=1 ;;
    ''|*[!0-9]*) echo "usage: $0 [N] [--secure | --seccomp | --limits]" >&2; exit 2 ;;
    *) n=$a ;;
  esac
done
build=${BERTH_BUILD_DIR:-$repo/build}
berth_oci=${BERTH_OCI:-$build/berth-oci}
crun=${CRUN:-$(command -v crun || true)}
runc=${RUNC:-$(command -v runc || true)}
rootfs=${BERTH_TEST_ROOTFS:-$build/test-rootfs}

for tool in hyperfine jq unshare; do
  command -v $tool >/dev/null || { echo "bench: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }
"$repo/tests/fixtures/make-rootfs.sh" "$rootfs"

work=$(mktemp -d /tmp/berth-bench-XXXXXX)
cleanup() {
  for rt in "${!roots[@]}"; do
    for d in "${roots[$rt]}"/*/; do
      [ -d "$d" ] && "${bins[$rt]}" --root "${roots[$rt]}" delete --force "$(basename "$d")" >/dev/null 2>&1 || true
    done
  done
  rm -rf "$work"
}
declare -A roots bins
trap cleanup EXIT

# Which runtimes can take part.
order=()
if [ -x "$berth_oci" ]; then order+=(berth-oci); bins[berth-oci]=$berth_oci
else echo "bench: skipping berth-oci: $berth_oci not built"; fi
if [ -n "$crun" ] && [ -x "$crun" ]; then order+=(crun); bins[crun]=$crun
else echo "bench: skipping crun: not installed"; fi
if [ -n "$runc" ] && [ -x "$runc" ]; then order+=(runc); bins[runc]=$runc
else echo "bench: skipping runc: not installed"; fi
[ ${#order[@]} -gt 0 ] || { echo "bench: no runtime to measure" >&2; exit 1; }

# One bundle for everyone: the spec default of berth-oci (else runc, else crun),
# with an ociVersion every runtime accepts (crun 1.8.1 refuses newer ones).
bundle=$work/bundle
mkdir -p "$bundle"
spec_from=${order[0]}
(cd "$bundle" && "${bins[$spec_from]}" spec)
id=berth-test-bench-$$
jq --arg rootfs "$rootfs" --arg cg "/$id" '
  .ociVersion = "1.0.2" | .root.path = $rootfs | .root.readonly = true |
  .process.terminal = false | .process.args = ["/bin/true"] |
  .linux.cgroupsPath = $cg' "$bundle/config.json" > "$bundle/c.json"
mv "$bundle/c.json" "$bundle/config.json"

if [ $secure = 1 ]; then
  profile=$work/seccomp.json
  if [ -n "${BERTH_BENCH_SECCOMP:-}" ]; then
    jq 'if has("linux") then .linux.seccomp elif has("defaultAction") then . else error("no seccomp object") end' \
      "$BERTH_BENCH_SECCOMP" > "$profile"
    echo "bench: seccomp profile from $BERTH_BENCH_SECCOMP"
  elif [ -x "$berth_oci" ] && (cd "$work" && mkdir -p s && cd s && "$berth_oci" spec --seccomp-default >/dev/null 2>&1); then
    jq '.linux.seccomp' "$work/s/config.json" > "$profile"
    echo "bench: seccomp profile from berth-oci spec --seccomp-default"
  else
    deny='["kexec_load","kexec_file_load","reboot","swapon","swapoff","init_module","finit_module",
           "delete_module","userfaultfd","vmsplice","open_by_handle_at","bpf","perf_event_open",
           "lookup_dcookie","acct","quotactl","ptrace","process_vm_readv","process_vm_writev",
           "settimeofday","clock_settime","adjtimex","iopl","ioperm","create_module","get_kernel_syms",
           "query_module","nfsservctl","uselib","_sysctl","mount","umount2","pivot_root","unshare","setns"]'
    grep -oE '^#define __NR_[a-z0-9_]+' /usr/include/x86_64-linux-gnu/asm/unistd_64.h | sed 's/#define __NR_//' |
      jq -R . | jq -s --argjson deny "$deny" '{
        defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 38,
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        syscalls: [
          {names: [.[] | select(. as $s | $deny | index($s) | not)], action: "SCMP_ACT_ALLOW"},
          {names: $deny, action: "SCMP_ACT_ERRNO", errnoRet: 1}]}' > "$profile"
    echo "bench: seccomp profile: built-in allowlist of $(jq '.syscalls[0].names | length' "$profile") syscalls"
  fi
  jq --slurpfile sc "$profile" --argjson s $want_seccomp --argjson l $want_limits '
    if $s == 1 then .linux.seccomp = $sc[0] else del(.linux.seccomp) end |
    if $l == 1 then
      .linux.resources.memory = {limit: 536870912} |
      .linux.resources.pids = {limit: 1024} |
      .linux.resources.cpu = {shares: 512, quota: 50000, period: 100000}
    else . end' "$bundle/config.json" > "$bundle/c.json"
  mv "$bundle/c.json" "$bundle/config.json"
  # The probe: the same config, reading from inside what the runtime set up.
  probe=$work/probe
  mkdir -p "$probe"
  jq '.process.args = ["/bin/sh", "-c",
        "echo seccomp=$(grep ^Seccomp: /proc/self/status | cut -f2) memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max) pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max) quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d\\  -f1 /sys/fs/cgroup/cpu.max)"] |
      .linux.cgroupsPath += "-probe"' "$bundle/config.json" > "$probe/config.json"
fi

echo "bench: $n runs each of '<runtime> run --bundle $bundle $id' ($(case $want_seccomp$want_limits in 11) echo 'seccomp + cgroup limits' ;; 10) echo 'seccomp' ;;
  01) echo 'cgroup limits' ;; *) echo 'spec default' ;; esac))"
for rt in "${order[@]}"; do
  roots[$rt]=$work/root-$rt
  mkdir -p "${roots[$rt]}"
  cmd="${bins[$rt]} --root ${roots[$rt]} run --bundle $bundle $id"
  # Check once that it works, so a failure shows the runtime's own message.
  check=$cmd
  if [ $rt = crun ]; then
    # crun 1.8.1 refuses the hybrid cgroup layout unless the v2 mount is hidden.
    wrap=(unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh)
  else
    wrap=()
  fi
  if ! out=$("${wrap[@]}" $check 2>&1); then
    echo "bench: $rt cannot run the bundle, skipping it: $out"
    unset "roots[$rt]"
    continue
  fi
  if [ $secure = 1 ]; then
    # Show that this runtime applied the profile and the limits: the same
    # bundle with a shell reading them from inside.
    seen=$("${wrap[@]}" "${bins[$rt]}" --root "${roots[$rt]}" run --bundle "$probe" "$id-probe" 2>&1 || true)
    echo "bench: $rt applies: $seen"
    want="seccomp=$([ $want_seccomp = 1 ] && echo 2 || echo 0)"
    [ $want_limits = 1 ] && want="$want memory=536870912 pids=1024 quota=50000"
    case $seen in
      *"$want"*) ;;
      *) echo "bench: $rt did not apply the profile and limits; its row is not comparable" ;;
    esac
  fi
  "${wrap[@]}" hyperfine --shell=none --warmup 3 --runs "$n" --style basic \
    --export-json "$work/$rt.json" "$cmd" >"$work/$rt.log" 2>&1 || {
    echo "bench: $rt failed during the runs:"; tail -5 "$work/$rt.log"; continue; }
done

printf '\n%-10s %10s %10s %10s %6s\n' runtime mean_ms stddev_ms min_ms runs
declare -A mean
for rt in "${order[@]}"; do
  f=$work/$rt.json
  [ -f "$f" ] || { printf '%-10s %10s\n' "$rt" "-"; continue; }
  read -r m s mi c < <(jq -r '.results[0] | "\(.mean*1000) \(.stddev*1000) \(.min*1000) \(.times|length)"' "$f")
  mean[$rt]=$m
  printf '%-10s %10.2f %10.2f %10.2f %6d\n' "$rt" "$m" "$s" "$mi" "$c"
done
echo
for other in crun runc; do
  if [ -n "${mean[berth-oci]:-}" ] && [ -n "${mean[$other]:-}" ]; then
    printf 'berth-oci/%s: %.2f\n' "$other" "$(echo "${mean[berth-oci]} ${mean[$other]}" | awk '{print $1/$2}')"
  else
    echo "berth-oci/$other: n/a"
  fi
done
