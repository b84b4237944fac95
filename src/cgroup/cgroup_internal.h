// Pieces of the cgroup module that unit tests reach directly: path
// resolution, cpuset initialisation, unit translations and the v2 device
// program (assembled here, checked by an interpreter in the tests).
#pragma once

#include <linux/bpf.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"

namespace berth::cgroup::internal {

std::string trim(const std::string& s);
// A one-value cgroup file, trimmed.
Result<std::string> read_value(const std::string& path);
// "key value" lines (memory.stat, cpu.stat, memory.events, cgroup.events).
std::map<std::string, uint64_t> parse_flat_keyed(const std::string& text);
// The v2 controller that does a v1 controller's job: cpuacct -> cpu, blkio -> io.
std::string v2_controller_name(const std::string& v1);
// Enables ctrls in cgroup.subtree_control of every cgroup from the v2 mount
// down to dir's parent, so that dir gets their files. best_effort ignores
// refusals (the caller's own cgroup may hold processes).
Result<void> enable_v2_controllers(const std::string& mount, const std::string& dir,
                                   const std::vector<std::string>& ctrls, bool best_effort,
                                   Files& files = real_files());

// /proc/<pid>/cgroup: hierarchy key -> path. The key is the controller list
// as written there ("cpu,cpuacct", "name=systemd"), "" for the v2 line.
std::map<std::string, std::string> parse_proc_cgroup(const std::string& text);

// The key /proc/self/cgroup uses for a v1 mount's controllers (sorted, comma-joined).
std::string hierarchy_key(std::vector<std::string> controllers);

// cgroups_path -> for every mount point of layout, the cgroup's path
// relative to that hierarchy's root. proc_self_cgroup is only read for a
// relative cgroups_path.
Result<std::map<std::string, std::string>> resolve(const Layout& layout,
                                                   const std::string& cgroups_path,
                                                   const std::string& id,
                                                   const std::string& proc_self_cgroup);

// v1 cpuset: a new cgroup starts with empty cpus and mems, and adding a
// process to it fails until they are set, so copy the parent's.
Result<void> init_cpuset(const std::string& dir);

// OCI memory.swap is memory+swap (the v1 memsw meaning); v2's
// memory.swap.max is swap alone. Returns the value for memory.swap.max.
Result<std::string> v2_swap_max(int64_t oci_swap, int64_t limit);
// pids.max for OCI pids.limit (<= 0: unlimited).
std::string pids_max(int64_t limit);

// "c 1:3 rwm", "a" for v1 devices.allow/deny.
std::string v1_device_line(const oci::DeviceRule& r);
// The v1 writes for a rule list, in order: (file, line), starting with
// devices.deny "a". Rules are the spec's followed by the defaults.
std::vector<std::pair<std::string, std::string>> v1_device_writes(
    const std::vector<oci::DeviceRule>& rules);
// runc's default allowed devices, appended after the spec's rules.
std::vector<oci::DeviceRule> default_device_rules();
// A BPF_PROG_TYPE_CGROUP_DEVICE program: default deny, the last matching
// rule wins (the v1 semantics of the same rule list after "deny all").
std::vector<bpf_insn> device_program(const std::vector<oci::DeviceRule>& rules);
// Loads prog and attaches it to the v2 cgroup dir (BPF_F_ALLOW_MULTI),
// detaching the programs that were there before.
Result<void> install_device_filter(const std::string& dir, const std::vector<bpf_insn>& prog);
// Unit tests replace the installer to record the program (no root, no bpf(2)).
using DeviceFilterInstaller =
    std::function<Result<void>(const std::string& dir, const std::vector<bpf_insn>& prog)>;
void set_device_filter_installer(DeviceFilterInstaller f);  // empty: the real one

}  // namespace berth::cgroup::internal
