#!/usr/bin/env bash
# Configures and builds vzkit into build/ (set BUILD_DIR to change it).
#
#   scripts/build.sh [TARGET...]     default: everything; e.g. `scripts/build.sh vzkit` builds the
#                                    command and its plugins only (what the demo needs)
#
# BUILD_TYPE sets CMAKE_BUILD_TYPE (default RelWithDebInfo). Parts whose packages are missing
# (the benchmarks, the VZ engine's contract tests) are skipped with a note at configure time;
# `scripts/setup.sh all` installs everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
mkdir -p "$BUILD_DIR"
log="$BUILD_DIR/configure.log"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >"$log" 2>&1 || {
  cat "$log" >&2
  exit 1
}
grep -E '^-- vzkit: skipping' "$log" | sed 's/^-- //' >&2 || true
if [ $# -gt 0 ]; then
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target "$@"
else
  cmake --build "$BUILD_DIR" -j"$(nproc)"
fi
