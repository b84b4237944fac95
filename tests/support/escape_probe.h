// What root inside a container tries in order to take over the host, as one
// busybox shell script that only probes: each attempt is reported as
// "KEY yes" (it worked) or "KEY no"; files are opened for writing but never
// written, and every probe file it makes lives in the container's own /tmp
// or is looked for on the host by the test.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace berth::test {

struct EscapeProbe {
  std::string busybox = "/bin/busybox";  // inside the container
  // Remounted read-write one by one, clearing nodev, nosuid and noexec too
  // ("remount:/usr yes|no", or "missing": a probe of nothing proves
  // nothing): a mount whose flags are locked refuses, also one that is
  // writable already (a container's own tree, whose locked nodev it cannot
  // clear). /proc/keys and /sys/firmware are masked (a file and a directory).
  std::vector<std::string> remount = {"/",    "/usr",       "/proc/sys",
                                      "/sys", "/proc/keys", "/sys/firmware"};
  // Directories where a file named `marker` is created after the remounts
  // ("create:/usr yes|no"); the test checks the host side too.
  std::vector<std::string> create_in;
  std::string marker = ".berth-escape-probe";
  // The script: run it as `busybox sh -c SCRIPT`.
  std::string script() const;
};

// "KEY VALUE" lines -> map.
std::map<std::string, std::string> parse_probe(const std::string& out);
// Whether the hex CapEff of /proc/PID/status holds CAP_SYS_ADMIN (bit 21).
bool has_cap_sys_admin(const std::string& capeff_hex);

}  // namespace berth::test
