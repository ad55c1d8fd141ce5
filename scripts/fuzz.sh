#!/usr/bin/env bash
# Builds the fuzz targets (tests/fuzz: libFuzzer, ASan + UBSan, in the build folder of
# scripts/sanitize.sh) and runs each for SECONDS (default 60), one after the other.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: spec qmp bundle (default: all three)
#
# Per target it prints the inputs run (libFuzzer's execs), the corpus size and what it found. It
# exits non-zero on any crash, leak, sanitizer report or timeout; the input that did it is kept
# as <build>/fuzz/<target>/crash-* (or leak-*, timeout-*), with libFuzzer's log beside it. The
# corpus grows in <build>/fuzz/<target>/corpus across runs; its seeds are made afresh each time
# from the examples and the plugins' schemas (vzkit-fuzz-seeds) and tests/fuzz/seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec qmp bundle)
case "$seconds" in
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  ''|*[!0-9]*) echo "fuzz: SECONDS must be a whole number, got '$seconds'" >&2; exit 2 ;;
esac
for t in "${targets[@]}"; do
  case "$t" in spec|qmp|bundle) ;; *) echo "fuzz: unknown target '$t'; use spec, qmp or bundle" >&2; exit 2 ;; esac
done

dir=${SANITIZE_BUILD_DIR:-build-sanitize}
scripts/sanitize.sh build vzkit-fuzz >"${TMPDIR:-/tmp}/vzkit-fuzz-build.log" 2>&1 || {
  tail -n 40 "${TMPDIR:-/tmp}/vzkit-fuzz-build.log" >&2
  echo "fuzz: the build failed (log: ${TMPDIR:-/tmp}/vzkit-fuzz-build.log)" >&2
  exit 1
}
dir=$(cd "$dir" && pwd)
work=$dir/fuzz
mkdir -p "$work"

# Everything the targets write stays in a VZKIT_HOME of their own.
export VZKIT_HOME=$work/home
rm -rf "$VZKIT_HOME"
mkdir -p "$VZKIT_HOME"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer-14)
fi

# Seeds: generated from the tree as it is now.
seeds=$work/seeds
rm -rf "$seeds"
mkdir -p "$seeds/qmp"
"$dir/bin/vzkit-fuzz-seeds" "$seeds"
cp tests/fuzz/seeds/qmp/* "$seeds/qmp/"
# What a real QEMU says on QMP: its greeting, replies, an error and the SHUTDOWN event.
if command -v qemu-system-x86_64 >/dev/null; then
  printf '%s\n' '{"execute": "qmp_capabilities"}' '{"execute": "query-status", "id": 1}' \
    '{"execute": "query-version", "id": 2}' '{"execute": "query-name", "id": 3}' '{"execute": "bogus", "id": 4}' \
    '{"execute": "query-commands", "id": 5}' '{"execute": "quit", "id": 6}' |
    timeout 20 qemu-system-x86_64 -machine none -nodefaults -no-user-config -display none -qmp stdio \
      >"$seeds/qmp/qemu-session" 2>/dev/null || true
fi

# The bundle target's explanation of QEMU's errors binds the host port a log names, to tell
# "in use" from "needs root": in a network namespace of its own (as root), nothing else sees it.
isolate=()
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && unshare --net true 2>/dev/null; then
  isolate=(unshare --net)
fi

declare -A max_len=([spec]=16384 [qmp]=8192 [bundle]=65536)
declare -A dict=([spec]=$seeds/spec.dict [qmp]=$src/tests/fuzz/qmp.dict [bundle]=$seeds/bundle.dict)
failed=0
summary=()
for t in "${targets[@]}"; do
  out=$work/$t
  mkdir -p "$out/corpus"
  rm -f "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-*
  echo "fuzz: $t for $seconds s ..."
  status=0
  (cd "$out" && "${isolate[@]}" "$dir/bin/vzkit-fuzz-$t" corpus "$seeds/$t" -dict="${dict[$t]}" \
    -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=25 -rss_limit_mb=3072 \
    -print_final_stats=1 -artifact_prefix="$out/" >"$out/log" 2>&1) || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -n 1)
  corpus=$(find "$out/corpus" -type f | wc -l)
  artifacts=$(find "$out" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  reports=$(grep -c -E '^==[0-9]+==ERROR|runtime error:|^SUMMARY: ' "$out/log" || true)
  if [ "$status" -ne 0 ] || [ "$artifacts" -gt 0 ] || [ "$reports" -gt 0 ]; then
    failed=1
    verdict="FOUND SOMETHING (exit $status, $artifacts inputs kept, $reports reports; see $out/log)"
    grep -E -A 12 '^==[0-9]+==ERROR|runtime error:|deadly signal|uncaught exception' "$out/log" | head -n 40 >&2 || true
  else
    verdict="nothing found"
  fi
  line="fuzz: $t: ${seconds} s, ${execs:-?} inputs run, corpus $corpus files: $verdict"
  echo "$line"
  summary+=("$line")
done
printf '%s\n' "${summary[@]}" >"$work/summary.txt"
bad=$(grep -c 'FOUND SOMETHING' "$work/summary.txt" || true)
echo "fuzz: $((${#targets[@]} - bad)) passed, $bad failed"
exit "$failed"
