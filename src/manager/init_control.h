// Halting and rebooting a booted container's init the way that init
// understands (decl/init.h has which signal), and seeing when a halting
// busybox init has nothing left to do.
#pragma once

#include <sys/types.h>

#include <string>

#include "decl/init.h"

namespace berth::manager {

// Sends sig to the init (pid, as the host sees it) after what that init
// needs first: runit acts on SIGCONT only when its stopit flag file has the
// owner's execute bit, and reboots rather than halts when its reboot file
// has it too (what `runit-init 0` and `runit-init 6` set); both are set in
// the container's root, /run/runit.{stopit,reboot} (Debian) or
// /etc/runit/{stopit,reboot}, whichever exist. Returns kill(2)'s result.
int signal_init(pid_t pid, decl::InitKind kind, int sig, bool reboot);

// busybox init halts in steps: shutdown actions, SIGTERM to every process,
// sync, a 1 s pause, SIGKILL to every process, a 1 s pause, reboot(2) from a
// child and one more 1 s pause. Once it pauses with no process left but
// itself, what remains is waiting: true then (it has no child but zombies
// and sleeps in nanosleep or clock_nanosleep).
bool halted_busybox_waits(pid_t pid);

}  // namespace berth::manager
