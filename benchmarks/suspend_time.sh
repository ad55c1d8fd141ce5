#!/usr/bin/env bash
# Suspend + resume of a 512 MiB guest with vzkit against raw QEMU, measured in one run, and the
# size of the saved state against the memory the guest uses.
#
#   benchmarks/suspend_time.sh [ROUNDS] [FILL_MIB]   (after scripts/build.sh; builds the demo guest)
#
# The guest (scripts/build-demo-guest.sh, vzkit.counter=1 vzkit.fill=FILL_MIB, default 128) keeps
# FILL_MIB MiB of non-zero data in memory and prints a tick every 100 ms. Each round, interleaved:
#   vzkit:   `vzkit suspend bench` (saves the state, the VM stops), then `vzkit run bench --detach`,
#            until the guest prints its next tick;
#   raw:     QEMU with the same argv (`vzkit plan --format argv`, console to a file, QMP on stdio):
#            stop, migrate-set-parameters max-bandwidth (as vzkit sets it), migrate to
#            `exec:cat > FILE`, quit; then the same argv with `-incoming defer`, migrate-incoming
#            from `exec:cat FILE`, cont, until the next tick.
# Both are timed from the start of the save to the first tick after the resume. Prints medians, the
# ratio (target <= 1.1) and state size / used memory (MemTotal - MemFree in the guest).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
FILL=${2:-128}
BUILD_DIR=${BUILD_DIR:-build}
VZKIT="$PWD/$BUILD_DIR/bin/vzkit"
GUEST="$PWD/$BUILD_DIR/demo-guest"
scripts/build-demo-guest.sh "$GUEST" >/dev/null 2>&1

W=$(mktemp -d /tmp/vzkit-suspend-bench.XXXXXX)
export VZKIT_HOME="$W/home"
cleanup() {
  "$VZKIT" stop bench --force >/dev/null 2>&1 || true
  [ -n "${QPID:-}" ] && kill "$QPID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$W/"
cp --sparse=always "$GUEST/disk.img" "$W/"
cat > "$W/bench.json" <<SPEC
{
  "name": "bench",
  "cpus": 1,
  "memory": "512MiB",
  "devices": [
    {"plugin": "linux-boot", "kernel": "vmlinuz", "initrd": "initrd.img",
     "command_line": "console=ttyS0 quiet vzkit.fill=$FILL vzkit.counter=1"},
    {"plugin": "serial-console"},
    {"plugin": "virtio-blk", "path": "disk.img", "read_only": true},
    {"plugin": "entropy"}
  ]
}
SPEC
# The raw command line: the plan's argv, its stdio console written to a file instead.
mapfile -t RAW < <("$VZKIT" plan "$W/bench.json" --engine qemu --format argv | xargs -n1 printf '%s\n' |
  sed "s|^stdio,|file,path=$W/raw-console.log,|")
RAW+=(-display none -qmp stdio)

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_tick FILE AFTER: waits for a tick line after line number AFTER; prints its line number
wait_tick() {
  local n
  for _ in $(seq 1 3000); do
    n=$(tr -d '\r' < "$1" 2>/dev/null | awk -v a="$2" 'NR > a && /^VZKIT tick / {print NR; exit}')
    [ -n "$n" ] && { echo "$n"; return 0; }
    sleep 0.005
  done
  echo "benchmark: no tick in $1" >&2
  exit 1
}
lines() { tr -d '\r' < "$1" 2>/dev/null | wc -l; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# qmp LINE: sends a command to the raw QEMU (a coprocess) and prints its answer.
qmp() {
  echo "$1" >&"${Q[1]}"
  local line
  while read -r -t 60 line <&"${Q[0]}"; do
    case "$line" in *'"return"'* | *'"error"'*) echo "$line"; return 0 ;; esac
  done
  echo "benchmark: no answer from QEMU to $1" >&2
  exit 1
}
raw_start() {  # raw_start [EXTRA ARGS...]
  coproc Q { exec "${RAW[@]}" "$@" 2>>"$W/raw.err"; }
  QPID=$Q_PID
  read -r -t 30 _ <&"${Q[0]}"  # the greeting
  qmp '{"execute": "qmp_capabilities"}' >/dev/null
}
raw_until() {  # raw_until COMMAND FIELD VALUE: polls until the answer has "FIELD": "VALUE"
  for _ in $(seq 1 6000); do
    qmp "$1" | grep -q "\"$2\": \"$3\"" && return 0
    sleep 0.005
  done
  echo "benchmark: QEMU never reported $2 $3" >&2
  exit 1
}

vz_ms=(); raw_ms=()
"$VZKIT" run "$W/bench.json" --detach --accel tcg >/dev/null 2>&1
c="$VZKIT_HOME/vms/bench/run/console.log"
wait_tick "$c" 0 >/dev/null
used_kib=$(tr -d '\r' < "$c" | sed -n 's/^VZKIT counter start .*used_kib=\([0-9]*\).*/\1/p' | head -1)
state_bytes=0
for i in $(seq "$ROUNDS"); do
  # vzkit
  sleep 0.5
  t0=$(now_ms)
  "$VZKIT" suspend bench --json > "$W/suspend.json"
  "$VZKIT" run bench --detach --accel tcg >/dev/null 2>&1
  wait_tick "$c" 0 >/dev/null  # a new run writes a new console.log
  vz_ms+=($(($(now_ms) - t0)))
  state_bytes=$(sed -n 's/.*"state_bytes": *\([0-9]*\).*/\1/p' "$W/suspend.json")

  # raw QEMU, same argv
  rm -f "$W/raw-console.log" "$W/raw.state"
  raw_start
  qmp '{"execute": "cont"}' >/dev/null
  wait_tick "$W/raw-console.log" 0 >/dev/null
  sleep 0.5
  t0=$(now_ms)
  qmp '{"execute": "stop"}' >/dev/null
  qmp '{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 1099511627776}}' >/dev/null
  qmp "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:cat > $W/raw.state\"}}" >/dev/null
  raw_until '{"execute": "query-migrate"}' status completed
  qmp '{"execute": "quit"}' >/dev/null || true
  wait "$QPID" 2>/dev/null || true
  before=$(lines "$W/raw-console.log")
  raw_start -incoming defer
  qmp "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"exec:cat $W/raw.state\"}}" >/dev/null
  raw_until '{"execute": "query-status"}' status paused
  qmp '{"execute": "cont"}' >/dev/null
  wait_tick "$W/raw-console.log" "$before" >/dev/null
  raw_ms+=($(($(now_ms) - t0)))
  raw_bytes=$(stat -c %s "$W/raw.state")
  qmp '{"execute": "quit"}' >/dev/null || true
  wait "$QPID" 2>/dev/null || true
  QPID=
  echo "round $i: vzkit ${vz_ms[-1]} ms, raw qemu ${raw_ms[-1]} ms (state: vzkit $state_bytes bytes, raw $raw_bytes bytes)"
done
vz=$(printf '%s\n' "${vz_ms[@]}" | median)
raw=$(printf '%s\n' "${raw_ms[@]}" | median)
awk -v v="$vz" -v r="$raw" -v s="$state_bytes" -v u="$used_kib" -v n="$ROUNDS" 'BEGIN {
  printf "suspend + resume of a 512 MiB guest, median of %d: vzkit %d ms, raw qemu %d ms, ratio %.3f (target <= 1.1)\n", n, v, r, v / r
  printf "state file %.1f MiB, guest memory in use %.1f MiB (MemTotal - MemFree): ratio %.2f\n", s / 1048576, u / 1024, s / (u * 1024)
}'
