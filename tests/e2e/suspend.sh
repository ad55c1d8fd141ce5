#!/usr/bin/env bash
# End-to-end tests of suspend, resume and snapshots: the demo guest under QEMU/TCG, observed from
# inside (its console lines, tests/e2e/README.md).
#
#   tests/e2e/suspend.sh VZKIT_BINARY GUEST_DIR CASE
#
# CASE: resume (a counting guest goes on after suspend + resume, its uptime did not restart),
# snapshot (a mark on disk comes back with a snapshot; a --running snapshot resumes the guest),
# refused (a VM with virtiofs is not suspended, names the device and runs on),
# killed (kill -9 of the supervisor during a save leaves no torn state: the next run boots afresh).
set -euo pipefail

VZKIT=$1
GUEST=$2
CASE=$3
SRC=$(cd "$(dirname "$0")/../.." && pwd)

. "$SRC/tests/lib/harness.sh"
harness_start "suspend-$CASE"

console_of() { echo "$VZKIT_HOME/vms/$1/run/console.log"; }
show() { echo "--- $1:" >&2; tr -d '\r' < "$1" 2>/dev/null | tail -${2:-20} >&2 || true; }
last_tick() { tr -d '\r' < "$1" | grep -E '^VZKIT tick [0-9]+ ' | tail -1; }
first_tick() { tr -d '\r' < "$1" | grep -E '^VZKIT tick [0-9]+ ' | head -1; }
tick_n() { echo "$1" | sed -n 's/^VZKIT tick \([0-9]*\) .*/\1/p'; }
tick_up() { echo "$1" | sed -n 's/.* uptime=\([0-9.]*\).*/\1/p'; }

# spec DIR NAME CMDLINE [EXTRA_DEVICES]: a spec run with the demo guest and its own disk.
spec() {
  local dir=$1 name=$2 cmdline=$3 extra=${4:-}
  mkdir -p "$dir/share"
  [ -e "$dir/vmlinuz" ] || cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$dir/"
  [ -e "$dir/disk.img" ] || cp --sparse=always "$GUEST/disk.img" "$dir/"
  cat > "$dir/$name.json" <<EOF
{
  "name": "$name",
  "cpus": 1,
  "memory": "512MiB",
  "devices": [
    {"plugin": "linux-boot", "kernel": "vmlinuz", "initrd": "initrd.img",
     "command_line": "console=ttyS0 quiet $cmdline"},
    {"plugin": "serial-console"},
    {"plugin": "virtio-blk", "path": "disk.img"}$extra
  ]
}
EOF
}

start() {  # start SPEC_OR_NAME: in the background, until it runs
  "$VZKIT" run "$1" --detach --accel tcg > "$WORK/run.out" 2> "$WORK/run.err" \
    || { cat "$WORK/run.out" "$WORK/run.err" >&2; fail "vzkit run $1 --detach"; }
}

case_resume() {
  spec "$WORK/vm" counter "vzkit.counter=1"
  start "$WORK/vm/counter.json"
  local c
  c=$(console_of counter)
  wait_for "$c" '^VZKIT tick 15 ' 60 || { show "$c"; fail "the counting guest did not count"; }
  "$VZKIT" suspend counter --json > "$WORK/suspend.json" 2> "$WORK/suspend.err" \
    || { cat "$WORK/suspend.err" >&2; fail "vzkit suspend"; }
  grep -q '"state_bytes"' "$WORK/suspend.json" || fail "suspend --json has no state_bytes"
  [ "$(state_of counter)" = stopped ] || fail "the VM is $(state_of counter) after suspend, not stopped"
  [ -s "$VZKIT_HOME/vms/counter/suspended/machine.state" ] || fail "no saved state in the VM's folder"
  pass "suspend saved $(sed -n 's/.*"state_bytes": *\([0-9]*\).*/\1/p' "$WORK/suspend.json") bytes and stopped the VM"
  local before n0 u0
  before=$(last_tick "$c")
  n0=$(tick_n "$before")
  u0=$(tick_up "$before")
  sleep 2
  "$VZKIT" run counter --detach --accel tcg > "$WORK/run2.out" 2> "$WORK/run2.err" \
    || { cat "$WORK/run2.err" >&2; fail "vzkit run after suspend"; }
  grep -q 'resuming VM .counter. from the state saved at' "$WORK/run2.err" \
    || { cat "$WORK/run2.err" >&2; fail "run does not say that it resumes"; }
  pass "run says it resumes the saved state"
  wait_for "$c" "^VZKIT tick $((n0 + 10)) " 30 || { show "$c"; fail "the resumed guest did not count on past $n0"; }
  grep -q '^VZKIT init start' "$c" && { show "$c"; fail "the guest booted again instead of resuming"; }
  local after n1 u1
  after=$(first_tick "$c")
  n1=$(tick_n "$after")
  u1=$(tick_up "$after")
  [ "$n1" -ge "$n0" ] && [ "$n1" -le $((n0 + 2)) ] || fail "the count went on from $n1, not from about $n0"
  pass "the counter went on from $n1 after $n0 (not from 0), without a new boot"
  awk -v a="$u1" -v b="$u0" 'BEGIN { exit !(a >= b && a < b + 1.5) }' \
    || fail "the guest's uptime is $u1 after resume, $u0 before: it restarted or jumped"
  pass "the guest's uptime went on from $u0 s to $u1 s (it did not restart; the 2 s suspended do not count)"
  [ ! -e "$VZKIT_HOME/vms/counter/suspended" ] || fail "the used state is still there after the resume"
  pass "the state was discarded once the guest ran again"
  "$VZKIT" suspend counter > /dev/null 2>&1 || fail "second suspend"
  "$VZKIT" run counter --fresh --detach --accel tcg > /dev/null 2> "$WORK/run3.err" || fail "run --fresh"
  grep -q resuming "$WORK/run3.err" && fail "run --fresh resumed"
  wait_for "$c" '^VZKIT tick 0 ' 60 || { show "$c"; fail "run --fresh did not boot afresh"; }
  pass "run --fresh discarded the state and booted afresh"
  "$VZKIT" suspend counter > /dev/null 2>&1 || fail "third suspend"
  sed -i 's/"512MiB"/"640MiB"/' "$WORK/vm/counter.json"
  if "$VZKIT" run "$WORK/vm/counter.json" --detach --accel tcg > /dev/null 2> "$WORK/run4.err"; then
    fail "a resume against a changed spec was not refused"
  fi
  grep -q 'memory_mib: 512, now 640' "$WORK/run4.err" || { cat "$WORK/run4.err" >&2; fail "the refusal does not name the change"; }
  pass "a resume against a changed spec is refused, naming the change (memory_mib: 512, now 640)"
}

case_snapshot() {
  local dir="$WORK/vm"
  spec "$dir" marked "vzkit.mark=AAAA"
  "$VZKIT" run "$dir/marked.json" --accel tcg --quiet > "$WORK/b1.txt" 2>&1 || { cat "$WORK/b1.txt" >&2; fail "boot 1"; }
  grep -q '^VZKIT mark wrote=VZKIT-MARK-AAAA' <(tr -d '\r' < "$WORK/b1.txt") || { show "$WORK/b1.txt"; fail "boot 1 wrote no mark"; }
  "$VZKIT" snapshot marked create first --json > "$WORK/create.json" || fail "snapshot create"
  grep -q '"tag": "first"' "$WORK/create.json" || fail "snapshot create --json"
  pass "snapshot 'first' taken with the mark AAAA on disk ($(sed -n 's/.*"method": "\([^"]*\)".*/\1/p' "$WORK/create.json"))"
  spec "$dir" marked "vzkit.mark=BBBB"
  "$VZKIT" run "$dir/marked.json" --accel tcg --quiet > "$WORK/b2.txt" 2>&1 || fail "boot 2"
  grep -q '^VZKIT mark was=VZKIT-MARK-AAAA' <(tr -d '\r' < "$WORK/b2.txt") || { show "$WORK/b2.txt"; fail "boot 2 did not see AAAA"; }
  grep -q '^VZKIT mark wrote=VZKIT-MARK-BBBB' <(tr -d '\r' < "$WORK/b2.txt") || fail "boot 2 did not write BBBB"
  pass "the guest changed the mark to BBBB"
  "$VZKIT" snapshot marked restore first > "$WORK/restore.txt" || fail "snapshot restore"
  spec "$dir" marked "vzkit.mark=read"
  "$VZKIT" run "$dir/marked.json" --accel tcg --quiet > "$WORK/b3.txt" 2>&1 || fail "boot 3"
  grep -q '^VZKIT mark was=VZKIT-MARK-AAAA' <(tr -d '\r' < "$WORK/b3.txt") || { show "$WORK/b3.txt"; fail "the mark is not back"; }
  pass "after restoring the snapshot the guest reads the mark AAAA again"
  "$VZKIT" snapshot marked list --json > "$WORK/list.json"
  grep -q '"running": false' "$WORK/list.json" || fail "list does not say that 'first' holds no running state"
  "$VZKIT" snapshot marked list | grep -Eq '^first +[0-9-]+ [0-9:]+ +[0-9.]+ MiB +no$' \
    || { "$VZKIT" snapshot marked list >&2; fail "list shows no tag, time, size, running state"; }
  pass "list shows tag, time, size on disk and running state"

  # A running snapshot: restoring it resumes the guest where it was.
  spec "$dir" marked "vzkit.counter=1"
  start "$dir/marked.json"
  local c
  c=$(console_of marked)
  wait_for "$c" '^VZKIT tick 10 ' 60 || { show "$c"; fail "the counting guest did not count"; }
  "$VZKIT" snapshot marked create live --running > "$WORK/live.txt" 2>&1 || { cat "$WORK/live.txt" >&2; fail "snapshot create --running"; }
  local at
  at=$(tick_n "$(last_tick "$c")")
  wait_for "$c" "^VZKIT tick $((at + 10)) " 30 || { show "$c"; fail "the guest did not run on after the --running snapshot"; }
  pass "the guest ran on after a --running snapshot at tick $at"
  "$VZKIT" stop marked --force > /dev/null || fail "stop"
  "$VZKIT" snapshot marked restore live > /dev/null || fail "restore live"
  "$VZKIT" snapshot marked list | grep -Eq '^live .* yes$' || fail "list does not show the running state of 'live'"
  "$VZKIT" run marked --detach --accel tcg > /dev/null 2> "$WORK/r.err" || { cat "$WORK/r.err" >&2; fail "run after restore live"; }
  grep -q resuming "$WORK/r.err" || fail "run after restoring 'live' does not resume"
  wait_for "$c" '^VZKIT tick [0-9]+ ' 30 || { show "$c"; fail "no tick after resuming 'live'"; }
  local n
  n=$(tick_n "$(first_tick "$c")")
  [ "$n" -ge "$at" ] && [ "$n" -le $((at + 3)) ] || fail "resumed 'live' at tick $n, taken at $at"
  pass "restoring the --running snapshot resumed the guest at tick $n (taken at $at)"
  "$VZKIT" stop marked --force > /dev/null
  "$VZKIT" snapshot marked delete first > /dev/null || fail "snapshot delete"
  "$VZKIT" snapshot marked list --json | grep -q '"first"' && fail "deleted snapshot still listed"
  pass "snapshot delete"
}

case_refused() {
  spec "$WORK/vm" shared "vzkit.counter=1" ', {"plugin": "virtiofs", "tag": "host", "path": "share"}'
  start "$WORK/vm/shared.json"
  local c
  c=$(console_of shared)
  wait_for "$c" '^VZKIT tick 5 ' 60 || { show "$c"; fail "the guest did not count"; }
  if "$VZKIT" suspend shared > "$WORK/s.out" 2> "$WORK/s.err"; then fail "a VM with virtiofs was suspended"; fi
  grep -q 'devices\[3\]' "$WORK/s.err" && grep -q 'virtiofs' "$WORK/s.err" \
    || { cat "$WORK/s.err" >&2; fail "the refusal does not name the device's spec path and plugin"; }
  pass "suspend refused: $(grep -m1 'devices\[3\]' "$WORK/s.err" | sed 's/^ *//')"
  [ ! -e "$VZKIT_HOME/vms/shared/suspended" ] && ! ls -d "$VZKIT_HOME"/vms/shared/.suspended.* > /dev/null 2>&1 \
    || fail "a refused suspend left files"
  [ "$(state_of shared)" = running ] || fail "the VM is $(state_of shared) after the refusal"
  local at
  at=$(tick_n "$(last_tick "$c")")
  wait_for "$c" "^VZKIT tick $((at + 10)) " 20 || { show "$c"; fail "the guest stopped counting after the refusal"; }
  pass "nothing was written and the guest runs on (tick $at, then $((at + 10)))"
  "$VZKIT" suspend shared --json > "$WORK/s.json" 2> /dev/null && fail "suspend --json succeeded"
  grep -q '"suspend.device-not-saveable"' "$WORK/s.json" || { cat "$WORK/s.json" >&2; fail "--json has no diagnostic"; }
  pass "suspend --json gives the diagnostics"
}

case_killed() {
  spec "$WORK/vm" big "vzkit.fill=320 vzkit.counter=1"
  start "$WORK/vm/big.json"
  local c bundle
  c=$(console_of big)
  bundle="$VZKIT_HOME/vms/big"
  wait_for "$c" '^VZKIT tick 3 ' 120 || { show "$c"; fail "the guest did not fill its memory and count"; }
  local sup
  sup=$(sed -n 's/.*"supervisor_pid":\([0-9]*\).*/\1/p' "$bundle/run/state.json")
  [ -n "$sup" ] || fail "no supervisor pid in run/state.json"
  "$VZKIT" suspend big > "$WORK/s.out" 2> "$WORK/s.err" &
  local client=$! seen=""
  for _ in $(seq 1 1000); do
    for f in "$bundle"/.suspended.partial-*/machine.state; do
      if [ -s "$f" ]; then seen=$f; break 2; fi
    done
    sleep 0.01
  done
  [ -n "$seen" ] || { wait $client || true; cat "$WORK/s.err" >&2; fail "never saw the state being written"; }
  kill -9 "$sup"
  local size
  size=$(stat -c %s "$seen" 2>/dev/null || echo gone)
  if wait $client; then fail "suspend succeeded although its supervisor was killed"; fi
  pass "killed the supervisor while the state was being written ($size bytes of it so far)"
  if [ -e "$bundle/suspended" ]; then
    fail "a state appeared in suspended/ although the save was killed before it completed"
  fi
  pass "no torn state in the VM's folder: suspended/ does not exist"
  for _ in $(seq 1 100); do [ "$(state_of big)" = stopped ] && break; sleep 0.1; done
  "$VZKIT" run big --detach --accel tcg > /dev/null 2> "$WORK/r.err" || { cat "$WORK/r.err" >&2; fail "the next run"; }
  grep -q resuming "$WORK/r.err" && fail "the next run resumed a state"
  wait_for "$c" '^VZKIT init start' 60 || { show "$c"; fail "the next run did not boot"; }
  pass "the next run booted afresh"
  ! ls -d "$bundle"/.suspended.partial-* > /dev/null 2>&1 || fail "the partial state is still there"
  pass "what the killed save left was removed"
}

"case_$CASE"
