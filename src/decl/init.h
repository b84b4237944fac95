// Which init a booted tree runs, and what that init understands: when it is
// ready (systemd says READY=1; the others are ready once exec'd) and which
// signals halt and reboot it (as LXC's lxc.signal.halt/lxc.signal.reboot).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "decl/decl.h"
#include "decl/paths.h"

namespace berth::decl {

enum class InitKind { Unknown, Systemd, Busybox, Sysvinit, OpenrcInit, RunitInit };
std::string_view init_name(InitKind k);  // "systemd", "busybox", ..., "unknown"

struct InitInfo {
  InitKind kind = InitKind::Unknown;
  std::string path;  // the program /sbin/init resolves to, inside the tree
};

// Resolves `init` (default /sbin/init) inside the tree at root, every
// symlink (absolute ones too) resolved within the root, and identifies it:
// first by the resolved name (.../systemd, busybox, openrc-init,
// runit-init or runit), then by what the file says of itself ("BusyBox v",
// "OpenRC init", sysvinit's "INIT_VERSION", runit's "runit: ",
// "systemd"). An error when the program cannot be opened.
Result<InitInfo> detect_init(const std::string& root, const std::string& init = "/sbin/init");

// The tree a container's /sbin/init is read from: its path, its image's
// tree, or the host's own root for share_host (its /usr is the host's).
InitInfo container_init(const Container& c, const Paths& paths);

// What an init is sent by default (a declared halt_signal/reboot_signal
// wins): systemd SIGRTMIN+4 / SIGINT, busybox SIGUSR1 / SIGTERM, sysvinit
// SIGPWR / SIGINT, openrc-init SIGTERM / SIGINT, runit SIGCONT / SIGCONT
// (with its stopit and reboot flag files set first, as runit-init 0/6 does),
// an unknown init SIGTERM / SIGINT.
int default_halt_signal(InitKind k);
int default_reboot_signal(InitKind k);
int halt_signal_of(const Container& c, InitKind k);
int reboot_signal_of(const Container& c, InitKind k);
// READY=1 for ready = notify, or auto with systemd.
bool waits_for_notify(const Container& c, InitKind k);

// "SIGUSR1", "USR1", "sigusr1", "SIGRTMIN+4", "RTMAX-2", "10" -> number.
std::optional<int> parse_signal(std::string_view text);
std::string signal_name(int sig);  // "SIGUSR1", "SIGRTMIN+4"

}  // namespace berth::decl
