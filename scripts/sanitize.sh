#!/usr/bin/env bash
# The sanitizer build (docs/fuzzing.md): everything built with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (any report ends the process) and libFuzzer's coverage, in a build
# folder of its own.
#
#   scripts/sanitize.sh build [TARGET...]   configure and build (default: everything, which is the
#                                           test programs, what they run, and the fuzz targets)
#   scripts/sanitize.sh test [CTEST-ARG...] build, then run the unit tests there (ctest -LE e2e)
#
# SANITIZE_BUILD_DIR sets the folder (default build-sanitize); scripts/fuzz.sh builds its targets
# in the same one. The sanitizers' settings for the run are in this file (ASAN_OPTIONS, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${SANITIZE_BUILD_DIR:-build-sanitize}
mode=${1:-test}
[ $# -gt 0 ] && shift

case "$mode" in
  build|test) ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "sanitize: unknown mode '$mode'; use build or test" >&2; exit 2 ;;
esac

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "sanitize: $tool is missing (scripts/setup.sh test installs it)" >&2; exit 1; }
done

mkdir -p "$dir"
log="$dir/configure.log"
# -O1 and line tables only: fast enough to run, quick to build, and every report has file:line.
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" \
  -DVZKIT_SANITIZE=address,undefined -DVZKIT_FUZZ=ON \
  -DVZKIT_BUILD_BENCHMARKS=OFF -DVZKIT_BUILD_VZ_BRIDGE=OFF >"$log" 2>&1 || {
  cat "$log" >&2
  exit 1
}

# The settings every sanitized process of a run gets (the tests' children too).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer-14)
fi

if [ "$mode" = build ]; then
  if [ $# -gt 0 ]; then cmake --build "$dir" -j"$(nproc)" --target "$@"; else cmake --build "$dir" -j"$(nproc)"; fi
  exit 0
fi

# Everything: ctest runs every test program the tree defines (an unbuilt one fails as NOT_BUILT).
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure -j"$(nproc)" -LE e2e "$@"
