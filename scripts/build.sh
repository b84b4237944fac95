#!/usr/bin/env bash
# Configures and builds berth into ${BUILD_DIR:-build} (Release with debug info).
# Usage: scripts/build.sh [TARGET...]   (default: everything, tests included)
# BERTH_CMAKE_ARGS adds cmake options (test.sh's sanitizer tree:
# BUILD_DIR=build-san BERTH_CMAKE_ARGS="-DBERTH_SANITIZE=ON ...").
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
read -r -a extra <<< "${BERTH_CMAKE_ARGS:-}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${extra[@]}" >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "$(nproc)" "${targets[@]}"
