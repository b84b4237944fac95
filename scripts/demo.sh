#!/usr/bin/env bash
# The demo: installs what is needed, builds, and runs a container from a tiny
# busybox rootfs with berth-oci, showing its hostname and its view of /proc.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root" >&2; exit 1; }
bash scripts/install-deps.sh build test
bash scripts/build.sh berth-oci
build=$(realpath "${BUILD_DIR:-build}")
tests/fixtures/make-rootfs.sh "$build/test-rootfs"

work=$(mktemp -d /tmp/berth-demo.XXXXXX)
state=$(mktemp -d /run/berth-demo.XXXXXX)
trap 'rm -rf "$work" "$state"' EXIT
cd "$work"
"$build/berth-oci" spec
python3 - "$build/test-rootfs" <<'PY'
import json, sys
c = json.load(open("config.json"))
c["root"]["path"] = sys.argv[1]
c["hostname"] = "berth-demo"
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/sh", "-c",
    "echo \"hostname: $(hostname)\"; echo 'processes it can see:'; ps -o pid,user,comm; "
    "echo \"/proc/self/status:\"; grep -E '^(Pid|NSpid|CapEff|NoNewPrivs|Seccomp)' /proc/self/status; "
    "echo \"/proc/1/cgroup:\"; head -3 /proc/1/cgroup; echo \"masked /proc/keys: $(wc -c < /proc/keys) bytes (the host's has $(wc -l < /proc/keys 2>/dev/null) lines)\""]
json.dump(c, open("config.json", "w"), indent=2)
PY
echo "== berth-oci run demo (bundle $work) =="
"$build/berth-oci" --root "$state" run demo
echo "== exit status $?; nothing left: $("$build/berth-oci" --root "$state" list --quiet | wc -l) containers listed =="
