#!/usr/bin/env bash
# The image round trip with a real guest: the demo VM (examples/demo.json and the demo guest,
# tests/e2e/README.md) with a disk marker of its own is pushed to a registry on 127.0.0.1,
# deleted with its files, pulled and cloned back, and booted; its guest reports the same marker
# and the clone's new MAC address.
#
#   tests/images/roundtrip.sh VZKIT_BINARY GUEST_DIR
set -euo pipefail

VZKIT=$1
GUEST=$2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/lib/harness.sh"
. "$SRC/tests/lib/registry.sh"
harness_start images-roundtrip
trap 'registry_cleanup; harness_cleanup' EXIT
export REGISTRY_AUTH_FILE="$WORK/auth.json" DOCKER_CONFIG="$WORK/docker"

dir="$WORK/demo"
mkdir -p "$dir/share"
cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$dir/"
cp --sparse=always "$GUEST/disk.img" "$GUEST/usb.img" "$dir/"
cp "$GUEST/share/hello.txt" "$dir/share/"
cp "$SRC/examples/demo.json" "$dir/demo.json"
# 17 printable bytes the guest reports as the disk's marker, new for every run.
mark="RT-$(head -c 64 /dev/urandom | sha256sum | cut -c1-14)"
printf '%s' "$mark" | dd of="$dir/disk.img" conv=notrunc status=none
"$VZKIT" create demo --from "$dir/demo.json" >/dev/null || fail "vzkit create demo"

registry_start roundtrip
ref="$REG_ADDR/demo/demo:v1"
"$VZKIT" push demo "$ref" --insecure >"$WORK/push.txt" || fail "vzkit push demo"
pass "the demo VM pushed to $ref ($(head -1 "$WORK/push.txt" | sed 's/.*: //'))"
"$VZKIT" delete demo >/dev/null || fail "vzkit delete demo"
rm -rf "$dir"
pass "the VM and every file it was made from deleted"

"$VZKIT" clone "$ref" back --insecure >/dev/null || fail "vzkit clone $ref back"
mac=$(tr -d ' \n' <"$VZKIT_HOME/vms/back/spec.json" | sed -n 's/.*"plugin":"network","mac":"\([0-9a-f:]*\)".*/\1/p')
[ -n "$mac" ] || fail "the clone's spec has no MAC: $(cat "$VZKIT_HOME/vms/back/spec.json")"
"$VZKIT" run back --accel tcg >"$WORK/console.txt" 2>"$WORK/stderr.txt" || { cat "$WORK/stderr.txt" >&2; fail "vzkit run back"; }
c="$WORK/console.txt"
grep -Eq "^VZKIT blk vda .*marker=$mark" "$c" || { tail -30 "$c" >&2; fail "the guest does not report the marker $mark"; }
pass "the clone boots and its guest reports the disk marker $mark"
grep -Eq "^VZKIT net eth0 mac=$mac " "$c" || fail "the guest's MAC is not the clone's new one ($mac)"
grep -q '^VZKIT blk sda .*marker=VZKIT-USB-MARKER' "$c" || fail "the USB disk did not come back"
grep -q '^VZKIT done' "$c" || fail "the guest did not finish"
pass "the guest sees the clone's new MAC $mac, the USB disk, and finishes"
