#include "support/escape_probe.h"

#include <sstream>

namespace berth::test {

std::string EscapeProbe::script() const {
  std::string s = "B=" + busybox + "\n" + R"SH(
try() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }
# Opens for writing and closes at once: never writes.
wopen() { $B sh -c "exec 3<>$1" 2>/dev/null; }
echo "capeff $($B grep CapEff /proc/self/status | $B cut -f2)"
)SH";
  for (auto& p : remount)
    s += "echo \"remount:" + p + " $([ -e " + p +
         " ] && try $B mount -o remount,bind,rw,dev,suid,exec " + p + " || echo missing)\"\n";
  for (auto& d : create_in)
    s += "echo \"create:" + d + " $(try $B touch " + d + "/" + marker + ")\"\n";
  s += R"SH(
echo "open:core_pattern $(try wopen /proc/sys/kernel/core_pattern)"
echo "open:drop_caches $(try wopen /proc/sys/vm/drop_caches)"
echo "open:sysrq-trigger $(try wopen /proc/sysrq-trigger)"
# Masked: reads as empty (/dev/null over it) or not at all.
echo "read:kcore $([ "$($B dd if=/proc/kcore bs=1 count=1 2>/dev/null | $B wc -c)" -eq 1 ] && echo yes || echo no)"
for f in /sys/kernel/mm/transparent_hugepage/enabled /sys/power/state /sys/kernel/uevent_helper; do
  [ -e $f ] && echo "open:$f $(try wopen $f)"
done
# New instances of proc and sysfs: refused, or nothing in them writable.
$B mkdir -p /tmp/.probe-proc /tmp/.probe-sys
if $B mount -t proc proc /tmp/.probe-proc 2>/dev/null; then
  echo "mount-proc $(try wopen /tmp/.probe-proc/sys/kernel/core_pattern)"
  $B umount /tmp/.probe-proc
else
  echo "mount-proc no"
fi
if $B mount -t sysfs sysfs /tmp/.probe-sys 2>/dev/null; then
  w=no
  for f in /tmp/.probe-sys/kernel/mm/transparent_hugepage/enabled /tmp/.probe-sys/power/state; do
    [ -e $f ] && wopen $f && w=yes
  done
  echo "mount-sysfs $w"
  $B umount /tmp/.probe-sys
else
  echo "mount-sysfs no"
fi
# A user namespace of its own, where it holds every capability.
echo "unshare:proc-sys $(try $B unshare -U -r -m $B sh -c "$B mount -o remount,rw,bind /proc/sys && exec 3<>/proc/sys/kernel/core_pattern")"
)SH";
  for (auto& d : create_in)
    s += "echo \"unshare:" + d +
         " $(try $B unshare -U -r -m $B sh -c \"$B mount -o remount,rw,bind " + d +
         " && $B touch " + d + "/" + marker + "\")\"\n";
  s += R"SH(
# The host's limits: a hard limit raised (CAP_SYS_RESOURCE of the host's
# user namespace), its own cgroup's limits written (they stay the host's).
echo "rlimit:nofile $(try $B sh -c 'ulimit -H -n $(( $(ulimit -H -n) + 1 ))')"
for f in /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids/pids.max \
         /sys/fs/cgroup/memory/memory.limit_in_bytes; do
  [ -e $f ] && echo "open:$f $(try wopen $f)"
done
# The filesystem the host's root is on, mounted by its source name.
$B mkdir -p /tmp/.probe-mnt
src=$($B awk '$5 == "/" { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 2); exit } }' /proc/1/mountinfo)
case "$src" in /dev/*) echo "mount-host-fs:$src $(try $B mount -o ro "$src" /tmp/.probe-mnt)" ;; esac
$B umount /tmp/.probe-mnt 2>/dev/null
$B rmdir /tmp/.probe-mnt
# A device node of the host's memory, made and opened.
echo "mknod:mem $(try $B sh -c "$B mknod /tmp/.probe-mem c 1 1 && exec 3</tmp/.probe-mem")"
echo "mknod:sda $(try $B sh -c "$B mknod /tmp/.probe-sda b 8 0 && exec 3</tmp/.probe-sda")"
$B rm -f /tmp/.probe-mem /tmp/.probe-sda
$B rmdir /tmp/.probe-proc /tmp/.probe-sys 2>/dev/null
echo "done yes"
)SH";
  return s;
}

std::map<std::string, std::string> parse_probe(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    m[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return m;
}

bool has_cap_sys_admin(const std::string& capeff_hex) {
  unsigned long long v = std::stoull(capeff_hex, nullptr, 16);
  return (v >> 21) & 1;
}

}  // namespace berth::test
