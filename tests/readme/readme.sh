#!/usr/bin/env bash
# The README as a test: every command of its "Using it" section runs as printed, so the README
# cannot drift from the product.
#
#   tests/readme/readme.sh VZKIT_BINARY GUEST_DIR
#
# The commands run in a folder laid out as a clone after the two set-up commands: examples/ (the
# tree's own), build/bin/vzkit (the binary under test) and build/demo/ (the demo guest and its spec,
# as scripts/demo.sh makes them), with a $VZKIT_HOME of its own. The first block is run exactly as
# printed. The second block works with VMs made from files of the user's own: the test puts them
# where its lines name them (the demo guest's kernel, initrd and disk beside linux-direct.json, the
# demo's EFI image as debian-12.iso) and runs its lines as printed too, with `vzkit` on PATH.
set -euo pipefail

VZKIT=$(realpath "$1")
GUEST=$2
SRC=$(cd "$(dirname "$0")/../.." && pwd)

. "$SRC/tests/lib/harness.sh"
harness_start readme

# The sh blocks of the "Using it" section, one command per line, comments removed.
block() {
  awk -v n="$1" '
    /^## / { inside = ($0 == "## Using it") }
    inside && /^```sh$/ { ++count; code = 1; next }
    code && /^```$/ { code = 0; next }
    code && count == n { print }
  ' "$SRC/README.md" | sed -e 's/[[:space:]]\+#.*$//' -e '/^[[:space:]]*$/d'
}

ROOT="$WORK/clone"
mkdir -p "$ROOT/build/bin" "$ROOT/build/demo/share" "$WORK/path"
cp -r "$SRC/examples" "$ROOT/examples"
ln -s "$VZKIT" "$ROOT/build/bin/vzkit"
ln -s "$VZKIT" "$WORK/path/vzkit"
# build/demo as scripts/demo.sh leaves it.
cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$ROOT/build/demo/"
cp --sparse=always "$GUEST/disk.img" "$GUEST/usb.img" "$ROOT/build/demo/"
cp "$GUEST/share/hello.txt" "$ROOT/build/demo/share/"
cp "$SRC/examples/demo.json" "$ROOT/build/demo/demo.json"

# Each command of a block must exit 0; its output is kept for the checks that follow.
run_block() {
  local n=$1 i=0 line
  [ "$(block "$n" | wc -l)" -gt 0 ] || fail "README.md has no block $n under \"## Using it\""
  while IFS= read -r line; do
    i=$((i + 1))
    (cd "$ROOT" && PATH="$WORK/path:$PATH" bash -c "$line") > "$WORK/out-$n-$i.txt" 2>&1 < /dev/null \
      || { tail -30 "$WORK/out-$n-$i.txt" >&2; fail "block $n, line $i exits non-zero: $line"; }
    pass "runs as printed: $line"
  done < <(block "$n")
}
# expect N I PATTERN WHAT: the output of line I of block N has a line matching the regex.
expect() {
  grep -Eq -- "$3" "$WORK/out-$1-$2.txt" || { tail -30 "$WORK/out-$1-$2.txt" >&2; fail "$4"; }
  pass "$4"
}

run_block 1
grep -q 'build/bin/vzkit run build/demo/demo.json' <(block 1) || fail "the first block no longer runs the demo"
for i in $(seq 1 "$(block 1 | wc -l)"); do
  case "$(block 1 | sed -n "${i}p")" in
    *" plugins") expect 1 "$i" 'vzkit-plugin-linux-boot\.so' "plugins lists the plugins and their files";;
    *" schema "*) expect 1 "$i" '"\$schema"' "schema prints a JSON Schema";;
    *" validate "*) expect 1 "$i" ': valid' "validate finds the spec valid";;
    *"--format argv"*) expect 1 "$i" '^qemu-system-[a-z0-9_]+ -nodefaults' "plan prints the QEMU command line";;
    *"--format swift"*) expect 1 "$i" '^import Virtualization' "plan prints Swift";;
    *" run "*) expect 1 "$i" '^VZKIT done' "the demo guest booted, reported and powered off";;
  esac
done

# The second block's files: linux-direct's kernel, initrd and disk, and an installer image.
cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$ROOT/examples/"
cp --sparse=always "$GUEST/disk.img" "$ROOT/examples/"
cp --sparse=always "$GUEST/esp.img" "$ROOT/debian-12.iso"
port=$(sed -n 's/.*"host_port": \([0-9]*\).*/\1/p' "$ROOT/examples/linux-direct.json")
if [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "SKIP [readme]: the second block: host port $port, which examples/linux-direct.json forwards, is in use here"
  echo "PASS [readme]"
  exit 0
fi
run_block 2
n=$(block 2 | wc -l)
for i in $(seq 1 "$n"); do
  case "$(block 2 | sed -n "${i}p")" in
    *"screenshot "*) [ "$(head -c 8 "$ROOT/screen.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] \
                       || fail "the screenshot is not a PNG"; pass "screenshot saved a PNG";;
    *" list"*) expect 2 "$i" '^web +(running|paused|stopped) +qemu' "list shows the VM";;
    *" delete web") [ ! -e "$VZKIT_HOME/vms/web" ] || fail "delete left the VM's folder"; pass "delete removed the VM";;
  esac
done
[ -e "$VZKIT_HOME/vms/deb/disk.img" ] || fail "the installer VM has no disk of its own"
pass "the installer VM has its disk in its own folder"
echo "PASS [readme]"
