#!/usr/bin/env bash
# Boot time and memory of `vzkit run` against raw QEMU with the same plan, measured in one run.
#
#   benchmarks/boot_time.sh [ROUNDS]        (after scripts/build.sh; builds the demo guest if needed)
#
# For each round, interleaved: `vzkit run SPEC --accel tcg` and `qemu-system-x86_64 <the plan's
# argv>` (printed by `vzkit plan --format argv`), each timed from exec to the guest's first
# userspace line ("VZKIT init start"), and the peak RSS (VmHWM) of the supervising vzkit process
# sampled while the guest runs; the planning step before it (which loads the plugins) is measured
# on its own with GNU time. Prints medians and the ratio. Targets: ratio <= 1.03, RSS <= 8 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
BUILD_DIR=${BUILD_DIR:-build}
VZKIT="$PWD/$BUILD_DIR/bin/vzkit"
GUEST="$PWD/$BUILD_DIR/demo-guest"
scripts/build-demo-guest.sh "$GUEST" >/dev/null 2>&1

W=$(mktemp -d /tmp/vzkit-boot-bench.XXXXXX)
export VZKIT_HOME="$W/home"
trap 'rm -rf "$W"' EXIT
cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$W/"
cp --sparse=always "$GUEST/disk.img" "$W/"
cat > "$W/bench.json" <<'SPEC'
{
  "name": "bench",
  "cpus": 1,
  "memory": "512MiB",
  "devices": [
    {"plugin": "linux-boot", "kernel": "vmlinuz", "initrd": "initrd.img", "command_line": "console=ttyS0 quiet"},
    {"plugin": "serial-console"},
    {"plugin": "virtio-blk", "path": "disk.img", "read_only": true},
    {"plugin": "network"},
    {"plugin": "entropy"}
  ]
}
SPEC
mapfile -t RAW < <("$VZKIT" plan "$W/bench.json" --engine qemu --format argv | xargs -n1 printf '%s\n')

# measure CMD...: prints "<ms to first userspace line> <peak RSS KiB of CMD's process>"
measure() {
  local out="$W/out.$RANDOM" t0 first="" hwm=0 h pid
  t0=$(date +%s%N)
  "$@" > "$out" 2>/dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [ -z "$first" ] && grep -q 'VZKIT init start' "$out"; then first=$((($(date +%s%N) - t0) / 1000000)); fi
    # vzkit plans (loading plugins), then execs its supervisor, which loads none: the peak that
    # counts is the supervisor's, sampled once the process runs "__supervise".
    if [ "$1" != "$VZKIT" ] || tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q __supervise; then
      h=$(awk '/^VmHWM/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
      [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
    fi
    sleep 0.005
  done
  wait "$pid" || { echo "benchmark: $1 failed" >&2; exit 1; }
  [ -n "$first" ] || { echo "benchmark: no 'VZKIT init start' from $1" >&2; exit 1; }
  echo "$first $hwm"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

vz_ms=(); raw_ms=(); rss=()
"$VZKIT" run "$W/bench.json" --accel tcg --quiet >/dev/null 2>&1  # warm the page cache and the bundle
for i in $(seq "$ROUNDS"); do
  read -r ms kib < <(measure "$VZKIT" run "$W/bench.json" --accel tcg --quiet)
  vz_ms+=("$ms"); rss+=("$kib")
  read -r ms _ < <(measure "${RAW[@]}")
  raw_ms+=("$ms")
  echo "round $i: vzkit ${vz_ms[-1]} ms (supervisor peak RSS ${rss[-1]} KiB), raw qemu ${raw_ms[-1]} ms"
done
plan_kib=$( { /usr/bin/time -f '%M' "$VZKIT" plan "$W/bench.json" --engine qemu >/dev/null; } 2>&1 | tail -n1)
vz=$(printf '%s\n' "${vz_ms[@]}" | median)
raw=$(printf '%s\n' "${raw_ms[@]}" | median)
peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -n1)
awk -v v="$vz" -v r="$raw" -v p="$peak" 'BEGIN {
  printf "time to first userspace line, median of %d: vzkit %d ms, raw qemu %d ms, ratio %.3f (target <= 1.03)\n", '"$ROUNDS"', v, r, v / r
  printf "supervising vzkit process, peak RSS over all rounds: %d KiB = %.2f MiB (target <= 8 MiB)\n", p, p / 1024
}'
echo "planning step (vzkit plan, all plugins loaded), peak RSS: $plan_kib KiB"
