#!/usr/bin/env bash
# The Mac features through the vzkit command, on Linux, with VZKIT_VZ_RUNNER pointing at vzkit-vz
# built against the recording fake (as bridge/vz/tests/cli_vz.sh): `vzkit run --recovery`, the
# NVMe disk and nested virtualization validated against the host's facts, and the signing hint
# when the runner lacks the virtualization entitlement. The fake host is set through the
# runner's environment (VZKIT_FAKE_MACOS, VZKIT_FAKE_NESTED, VZKIT_FAKE_ENTITLED).
#
#   bridge/vz/tests/cli_mac_path.sh VZKIT VZKIT_VZ SOURCE_DIR
set -euo pipefail
VZKIT=$1
RUNNER=$2
SRC=$3
WORK=$(mktemp -d /tmp/vzkit-cli-mac-path.XXXXXX)
export VZKIT_HOME="$WORK/home" VZKIT_VZ_RUNNER="$RUNNER"
unset VZKIT_PLUGIN_PATH VZKIT_FAKE_MACOS VZKIT_FAKE_NESTED VZKIT_FAKE_ENTITLED
cleanup() {
  for vm in mac lin; do "$VZKIT" stop "$vm" --force >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
passed=0
fail() { echo "FAIL [cli-mac-path]: $*" >&2; echo "$passed passed, 1 failed"; exit 1; }
pass() { echo "ok   [cli-mac-path]: $*"; passed=$((passed + 1)); }
run() {
  local want=$1 out=$2 status=0
  shift 2
  "$VZKIT" "$@" > "$out" 2>&1 || status=$?
  [ "$status" -eq "$want" ] || { cat "$out" >&2; fail "vzkit $* exited $status, not $want"; }
}
has() { grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "$3"; }; pass "$3"; }

mkdir -p "$WORK/spec"
cp "$SRC/tests/data/Image" "$SRC/tests/data/initrd.img" "$SRC/tests/data/disk.img" "$WORK/spec/"
linux() {  # linux DEVICES...: a Linux spec with these extra device entries
  local extra=""
  for d in "$@"; do extra="$extra, $d"; done
  printf '{"name": "lin", "cpus": 2, "memory": "2GiB", "devices": [
  {"plugin": "linux-boot", "kernel": "Image", "initrd": "initrd.img", "command_line": "console=hvc0"},
  {"plugin": "serial-console"}%s]}\n' "$extra"
}

# ---- NVMe: "bus": "nvme" needs macOS 14, and says which macOS this Mac has.
linux '{"plugin": "virtio-blk", "path": "disk.img", "bus": "nvme"}' > "$WORK/spec/nvme.json"
run 0 "$WORK/nvme.txt" validate "$WORK/spec/nvme.json" --engine vz
pass "an NVMe disk validates on macOS 15"
VZKIT_FAKE_MACOS=13 run 2 "$WORK/nvme13.txt" validate "$WORK/spec/nvme.json" --engine vz
has "$WORK/nvme13.txt" 'devices\[2\]\.bus: error: an NVMe disk needs macOS 14 or later on the Mac, and this Mac runs macOS 13 \[virtio-blk\.nvme-needs-macos-14' \
  "on macOS 13 validate names the version NVMe needs and the Mac's"
run 0 "$WORK/nvme-plan.txt" plan "$WORK/spec/nvme.json" --engine vz
has "$WORK/nvme-plan.txt" '"class": "VZNVMExpressControllerDeviceConfiguration"' "the vz plan has the NVMe controller"
run 0 "$WORK/nvme-argv.txt" plan "$WORK/spec/nvme.json" --engine qemu --accel tcg --format argv
has "$WORK/nvme-argv.txt" '^nvme,drive=disk2,serial=vzkit-disk2$|-device nvme,drive=disk2,serial=vzkit-disk2' \
  "the QEMU plan has -device nvme with a serial"

# ---- nested virtualization: a platform setting, refused where the Mac lacks it.
linux '{"plugin": "generic-platform", "nested_virtualization": true}' > "$WORK/spec/nested.json"
run 2 "$WORK/nested.txt" validate "$WORK/spec/nested.json" --engine vz
has "$WORK/nested.txt" 'this Mac does not support nested virtualization .*\[generic-platform\.nested-unsupported' \
  "a Mac without nested virtualization is named as such"
VZKIT_FAKE_NESTED=1 run 0 "$WORK/nested-ok.txt" validate "$WORK/spec/nested.json" --engine vz
pass "a Mac with nested virtualization accepts it"
VZKIT_FAKE_NESTED=1 VZKIT_FAKE_MACOS=14 run 2 "$WORK/nested14.txt" validate "$WORK/spec/nested.json" --engine vz
has "$WORK/nested14.txt" 'needs macOS 15 or later on the Mac, and this Mac runs macOS 14' "on macOS 14 the version is named"
VZKIT_FAKE_NESTED=1 run 0 "$WORK/nested-plan.txt" plan "$WORK/spec/nested.json" --engine vz
tr -d ' \n' < "$WORK/nested-plan.txt" > "$WORK/nested-plan.flat"
has "$WORK/nested-plan.flat" '"platform":\{"class":"VZGenericPlatformConfiguration","nested_virtualization_enabled":true' \
  "the vz plan's generic platform enables it"
sed 's/"name": "lin", /"name": "lin", "arch": "x86_64", /; s/"Image"/"vmlinuz"/' "$WORK/spec/nested.json" > "$WORK/spec/nested-x86.json"
cp "$SRC/tests/data/vmlinuz" "$WORK/spec/"
run 1 "$WORK/nested-tcg.txt" plan "$WORK/spec/nested-x86.json" --engine qemu --accel tcg
has "$WORK/nested-tcg.txt" 'devices\[2\].*nested virtualization needs KVM, and this VM runs under tcg' \
  "on QEMU under TCG: a clear refusal at the device"

# ---- the entitlement: a runner without it gets Apple's reason and the signing hint.
linux '{"plugin": "virtio-blk", "path": "disk.img"}' > "$WORK/spec/lin.json"
run 0 "$WORK/create-lin.txt" create lin --from "$WORK/spec/lin.json" --engine vz
VZKIT_FAKE_ENTITLED=0 run 1 "$WORK/unentitled.txt" run lin < /dev/null
has "$WORK/unentitled.txt" 'com\.apple\.security\.virtualization. entitlement' "Apple's reason names the entitlement"
has "$WORK/unentitled.txt" 'hint: sign the binary with the com\.apple\.security\.virtualization entitlement' \
  "and vzkit says how to sign"

# ---- macOS Recovery: only for a macOS guest, only on vz.
run 2 "$WORK/rec-linux.txt" run lin --recovery
has "$WORK/rec-linux.txt" "VM 'lin' is not a macOS guest \(it has no mac-platform device\)" "--recovery refuses a Linux guest"
run 0 "$WORK/list.txt" list
has "$WORK/list.txt" '^lin +stopped' "and leaves it stopped"
cp "$SRC/tests/data/vmlinuz" "$WORK/spec/"
linux > "$WORK/spec/q.json"
sed -i 's/"name": "lin"/"name": "q", "arch": "x86_64"/; s/"Image"/"vmlinuz"/' "$WORK/spec/q.json"
run 2 "$WORK/rec-qemu.txt" run "$WORK/spec/q.json" --engine qemu --recovery
has "$WORK/rec-qemu.txt" "--recovery starts a macOS guest from macOS Recovery, which only the vz engine does" "--recovery refuses QEMU"
[ -d "$VZKIT_HOME/vms/q" ] && fail "a refused --recovery run left VM 'q' behind"
pass "and makes no VM"
printf '{"build_version": "23A344", "os": [13, 0, 0], "min_cpus": 2, "min_memory": 4294967296, "supported": true}' \
  > "$WORK/restore.ipsw"
run 0 "$WORK/mac.txt" create mac --macos "$WORK/restore.ipsw" --disk 32GiB
run 0 "$WORK/rec.txt" run mac --recovery --detach
has "$WORK/rec.txt" "VM 'mac' is running" "--recovery runs the macOS guest"
tr -d ' \n' < "$VZKIT_HOME/vms/mac/run/state.json" > "$WORK/state.flat"
has "$WORK/state.flat" '"recovery":true' "its runner started it from macOS Recovery"
run 0 "$WORK/rec-stop.txt" stop mac --force
run 0 "$WORK/plain.txt" run mac --detach
tr -d ' \n' < "$VZKIT_HOME/vms/mac/run/state.json" > "$WORK/state.flat"
grep -q '"recovery":true' "$WORK/state.flat" && fail "a run without --recovery started from Recovery"
pass "the next run without --recovery starts macOS as usual"
run 0 "$WORK/plain-stop.txt" stop mac --force
echo "$passed passed, 0 failed"
