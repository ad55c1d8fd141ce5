#!/usr/bin/env bash
# vzkit clone, set and convert on VMs that are never booted (tests/e2e's clone case boots one):
# what is refused leaves the VM as it was, every change is validated first.
#
#   tests/disks/disks.sh VZKIT_BINARY
set -euo pipefail
VZKIT=$1
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/lib/harness.sh"
harness_start disks

# expect_fail WHAT PATTERN CMD...: the command exits 2 and says PATTERN.
expect_fail() {
  local what=$1 pattern=$2
  shift 2
  if "$@" > "$WORK/out.txt" 2>&1; then fail "$what: accepted"; fi
  grep -Eq -- "$pattern" "$WORK/out.txt" || { cat "$WORK/out.txt" >&2; fail "$what: message"; }
  pass "$what"
}

d="$WORK/vm"
mkdir -p "$d"
cp "$SRC/tests/data/vmlinuz" "$SRC/tests/data/installer.iso" "$d/"
cat > "$d/src.json" <<JSON
{"name": "src", "cpus": 1, "memory": "256MiB", "devices": [
  {"plugin": "linux-boot", "kernel": "vmlinuz"},
  {"plugin": "virtio-blk", "path": "root.img", "create_size": "1GiB"},
  {"plugin": "usb-storage", "path": "installer.iso"},
  {"plugin": "network", "mac": "02:11:22:33:44:55"}]}
JSON
"$VZKIT" create src --from "$d/src.json" > /dev/null
printf 'VZKIT-CLONE-MARKER' | dd of="$VZKIT_HOME/vms/src/root.img" bs=1 seek=$((512 << 20)) conv=notrunc 2> /dev/null

"$VZKIT" clone src web --json > "$WORK/clone.json"
grep -q '"method": "\(clone\|sparse copy\)"' "$WORK/clone.json" || fail "clone --json names how each file was copied"
spec="$VZKIT_HOME/vms/web/spec.json"
grep -q '"name": "web"' "$spec" || fail "the clone's spec has its name"
if grep -q '02:11:22:33:44:55' "$spec"; then fail "the clone kept the source's fixed MAC address"; fi
grep -Eq '"mac": "[0-9a-f][26ae](:[0-9a-f]{2}){5}"' "$spec" || fail "the clone's MAC is not a locally administered unicast address"
cmp -s "$VZKIT_HOME/vms/src/root.img" "$VZKIT_HOME/vms/web/root.img" || fail "the clone's disk differs"
[ "$(du -k "$VZKIT_HOME/vms/web/root.img" | cut -f1)" -lt 1024 ] || fail "the clone's disk is not sparse"
pass "clone: same data, sparse, a name and MAC address of its own"
expect_fail "clone onto an existing VM" "a VM named 'web' exists already" "$VZKIT" clone src web
expect_fail "clone of a VM that does not exist" "no VM named 'nope'|nope" "$VZKIT" clone nope other

expect_fail "set with nothing to change" "nothing to change" "$VZKIT" set web
cp "$spec" "$WORK/spec.before"
expect_fail "set: invalid memory, reported as validation" "spec.memory-granularity" "$VZKIT" set web --cpus 2 --memory 5
cmp -s "$spec" "$WORK/spec.before" || fail "a refused set changed the spec"
pass "a refused set writes nothing"
"$VZKIT" set web --disk-size 2GiB > /dev/null
[ "$(stat -c %s "$VZKIT_HOME/vms/web/root.img")" = $((2 << 30)) ] || fail "set --disk-size did not grow the disk"
[ "$(stat -c %s "$VZKIT_HOME/vms/src/root.img")" = $((1 << 30)) ] || fail "set --disk-size changed the source"
grep -q '"create_size": "2GiB"' "$spec" || fail "create_size does not follow the disk's size"
pass "set --disk-size grows the disk, sparse, and the spec follows"
expect_fail "shrinking without --force" "would shrink devices\[1\].*add --force" "$VZKIT" set web --disk-size 1GiB
expect_fail "--device that is not a disk" "devices\[0\] of VM 'web' is not a disk" "$VZKIT" set web --disk-size 4GiB --device 0
"$VZKIT" set web --remove-iso > "$WORK/set.txt"
grep -q 'devices\[2\] removed' "$WORK/set.txt" || fail "--remove-iso did not say what it removed"
if grep -q installer.iso "$spec"; then fail "--remove-iso left the ISO in the spec"; fi
pass "set --remove-iso detaches the installer image"
expect_fail "--remove-iso without an ISO" "has no read-only installer image" "$VZKIT" set web --remove-iso

"$VZKIT" convert web --format qcow2 > /dev/null
[ "$(head -c 3 "$VZKIT_HOME/vms/web/root.img")" = QFI ] || fail "convert --format qcow2"
"$VZKIT" plan web --format argv | grep -q 'driver=qcow2' || fail "a qcow2 disk is not planned as qcow2"
expect_fail "a qcow2 disk on vz" "qcow2-not-on-vz" "$VZKIT" validate web --engine vz
expect_fail "converting to the format it has" "is qcow2 already" "$VZKIT" convert web --format qcow2
"$VZKIT" convert web --format raw > /dev/null
[ "$(dd if="$VZKIT_HOME/vms/web/root.img" bs=1 skip=$((512 << 20)) count=18 2> /dev/null)" = VZKIT-CLONE-MARKER ] \
  || fail "the data did not survive qcow2 and back"
ls -a "$VZKIT_HOME/vms/web" | grep -q 'partial\|before-convert' && fail "convert left temporary files"
pass "convert to qcow2 and back keeps the data and leaves no temporary files"
echo "PASS [disks]"
