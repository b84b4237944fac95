#!/usr/bin/env bash
# Installs every Debian 12 package berth needs to build, test and benchmark.
# Usage: scripts/install-deps.sh [build|test|system|sanitize]...  (default: build test)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

build=(build-essential cmake ninja-build pkg-config git
       libseccomp-dev libcap-dev libnl-3-dev libnl-route-3-dev libmnl-dev
       libnftables-dev nlohmann-json3-dev libtomlplusplus-dev libcli11-dev
       libfmt-dev libgtest-dev libgmock-dev
       libarchive-dev libcurl4-openssl-dev)  # berth image (dlopen'd at run time: libarchive13, libcurl4, libssl3)
test=(busybox-static iproute2 procps util-linux crun runc hyperfine nftables tmux
      iputils-ping socat python3 jq bc strace clang-format-14
      xz-utils zstd  # the image tests' archives (tests/integration/image)
      dnsmasq-base  # the DNS servers of the resolv_conf tests (tests/integration/manager/net_options_test.cpp)
      zsh man-db  # the generated completion and man pages (tests/integration/cli/docs_test.cpp)
      uidmap slirp4netns  # a rootless berth's ids and network (tests/integration/rootless)
      systemd)  # the host's systemd, booted over an empty tree (share_host + boot) by the demo and tests
system=(debootstrap mmdebstrap lxc systemd-container podman containerd fuse-overlayfs catatonit iptables
        openssh-client)
sanitize=(clang-14 libclang-rt-14-dev)  # the ASan+UBSan tree and the libFuzzer targets (scripts/test.sh)

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build test)
pkgs=()
for g in "${groups[@]}"; do
  case "$g" in
    build) pkgs+=("${build[@]}") ;;
    test) pkgs+=("${test[@]}") ;;
    system) pkgs+=("${system[@]}") ;;
    sanitize) pkgs+=("${sanitize[@]}") ;;
    *) echo "install-deps: unknown group '$g' (expected build, test, system or sanitize)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
