#!/usr/bin/env bash
# The test command: installs what is needed (Debian 12 packages), builds, and
# runs every tier of tests under ctest. Needs root (integration tests run real
# containers). ctest's summary is the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (integration tests start real containers)" >&2; exit 1; }
bash scripts/install-deps.sh build test system
bash scripts/build.sh
build=${BUILD_DIR:-build}
exec ctest --test-dir "$build" --output-on-failure --timeout 600 "$@"
