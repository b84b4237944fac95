#!/usr/bin/env bash
# The demo: installs what is needed, builds, declares two containers in one
# file and makes the host match it with `berth apply`, shows them working and
# lists them, then stops everything. A private berth root is used, and the
# demo's "host" is a network namespace of its own (the machine's own network
# is never touched).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root" >&2; exit 1; }
bash scripts/install-deps.sh build test
bash scripts/build.sh berth berth-oci
build=$(realpath "${BUILD_DIR:-build}")
tests/fixtures/make-rootfs.sh "$build/test-rootfs"

root=$(mktemp -d /tmp/berth-demo.XXXXXX)
# The booted system runs in a user namespace (the default): its root is an
# unprivileged uid on the host and must be able to reach the berth root.
chmod 755 "$root"
mkdir -p "$root/etc/berth" "$root/www"
echo "hello from a berth container" > "$root/www/index.html"
cat > "$root/etc/berth/containers.toml" <<TOML
# A service sharing the host's read-only software: no image at all.
[containers.web]
share_host = true
command = ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/srv"]
bind_mounts."/srv" = { host_path = "$root/www" }
private_network = true
host_address = "10.233.1.1"
local_address = "10.233.1.2"
autostart = true

# A whole system with its own init and no image: the host's systemd boots
# over an empty state tree (the NixOS way); ready when it says READY=1.
[containers.sys]
share_host = true
boot = true
private_network = true
host_address = "10.233.3.1"
local_address = "10.233.3.2"
autostart = true

# A small system tree of its own (busybox), with resource limits.
[containers.box]
path = "$build/test-rootfs"
command = ["/bin/sh", "-c", "while true; do date > /tmp/now; sleep 1; done"]
private_network = true
host_address = "10.233.2.1"
local_address = "10.233.2.2"
resources = { memory = "64M", pids = 64 }
autostart = true
TOML

export BERTH_ROOT="$root" PATH="$build:$PATH"
cleanup() {
  berth stop web >/dev/null 2>&1 || true
  berth stop box >/dev/null 2>&1 || true
  berth stop sys >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap cleanup EXIT

unshare --net bash -euo pipefail -c '
ip link set lo up
say() { printf "\n\033[1m\$ %s\033[0m\n" "$*"; "$@"; }
say cat "$BERTH_ROOT/etc/berth/containers.toml"
say berth check
say berth plan
say berth apply
say berth list
say busybox wget -qO- http://10.233.1.2/
say berth run box -- sh -c "echo hostname: \$(hostname); cat /tmp/now; ip -4 -o addr show eth0; cat /sys/fs/cgroup/memory/memory.limit_in_bytes"
say berth status web
say berth run sys -- systemctl is-system-running --wait
say berth run sys -- sh -c "ps -e -o pid,comm | head -6; ip -4 -o addr show eth0"
say grep containers "$BERTH_ROOT/etc/hosts"
say berth stop web
say berth stop box
say berth stop sys
say sh -c "berth logs sys | tail -3"
say berth list
'
