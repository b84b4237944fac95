#!/usr/bin/env python3
"""Checks the layering of src/ (docs/ARCHITECTURE.md): which module may
include which, and that the command lines use only the engine's public
headers. Prints each violation as FILE:LINE: ... and exits 1 on any."""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"

# module -> the modules its files may include (itself always).
ALLOWED = {
    "base": set(),
    "oci": {"base"},
    "cgroup": {"base", "oci"},
    "seccomp": {"base", "oci"},
    "net": {"base"},
    "engine": {"base", "oci", "cgroup", "seccomp"},
    "decl": {"base", "oci", "cgroup"},
    "image": {"base", "decl"},
    "manager": {"base", "oci", "cgroup", "seccomp", "engine", "net", "decl", "image"},
    # The command lines parse, call one layer, and print.
    "cli/oci": {"base", "oci", "seccomp", "engine", "cli/doc"},
    "cli/berth": {"base", "oci", "decl", "image", "manager", "cli/doc"},
    "cli/doc": set(),
}
# What of the engine a command line may use: its operations, state, process
# description, the mount options it knows (features) and the sealed binary.
ENGINE_PUBLIC = {"container.h", "state.h", "process.h", "mount_options.h", "sealed_exe.h"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of(rel: str) -> str:
    parts = rel.split("/")
    return "/".join(parts[:2]) if parts[0] == "cli" else parts[0]


def main() -> int:
    bad = []
    for f in sorted(SRC.rglob("*")):
        if f.suffix not in (".h", ".cpp"):
            continue
        rel = f.relative_to(SRC).as_posix()
        mod = module_of(rel)
        if mod not in ALLOWED:
            bad.append(f"src/{rel}: module {mod} has no layering rule in scripts/check-layers.py")
            continue
        for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m or "/" not in m.group(1):
                continue
            target = m.group(1)
            tmod = module_of(target)
            if tmod == mod:
                continue
            if tmod not in ALLOWED[mod]:
                bad.append(f"src/{rel}:{n}: {mod} may not include {target}")
            elif mod.startswith("cli/") and tmod == "engine" and target.split("/")[-1] not in ENGINE_PUBLIC:
                bad.append(f"src/{rel}:{n}: {target} is an engine internal; the command line uses "
                           f"only {', '.join(sorted(ENGINE_PUBLIC))}")
    for b in bad:
        print(b)
    if bad:
        print(f"check-layers: {len(bad)} violation(s)")
        return 1
    print("check-layers: every include follows the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
