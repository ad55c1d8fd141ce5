#!/usr/bin/env bash
# The SDK as a third party meets it: vzkit installed into a temporary prefix, the cloud-init
# plugin's folder (plugins/cloud-init, which builds in the tree and on its own) built outside the
# tree against that prefix alone,
# found by the installed binary through VZKIT_PLUGIN_PATH, and a guest that reads its seed; and
# the example front-end (examples/frontend) built against the installed host API, booting a guest.
#
#   tests/sdk/out_of_tree.sh BUILD_DIR GUEST_DIR
#
# BUILD_DIR is a built vzkit tree; GUEST_DIR holds the demo guest (scripts/build-demo-guest.sh),
# whose /init reports a CIDATA disk as "VZKIT cidata ..." lines (tests/e2e/README.md).
set -euo pipefail

BUILD=$(cd "$1" && pwd)
GUEST=$(cd "$2" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)

. "$SRC/tests/lib/harness.sh"
harness_start sdk
PREFIX="$WORK/prefix"
VZKIT="$PREFIX/bin/vzkit"
unset VZKIT_PLUGIN_PATH

show() { echo "--- $1:" >&2; tr -d '\r' < "$1" | tail -40 >&2; }
# expect FILE PATTERN WHAT: the file has a line matching the extended regex.
expect() { grep -Eq -- "$2" "$1" || { show "$1"; fail "$3"; }; pass "$3"; }

# ---- 1. install into a temporary prefix
cmake --install "$BUILD" --prefix "$PREFIX" > "$WORK/install.txt" 2>&1 || { show "$WORK/install.txt"; fail "cmake --install"; }
for f in bin/vzkit include/vzkit/plugin.h include/vzkit/plugin.hpp include/vzkit/vz/configuration.hpp \
         include/vzkit/qemu/machine.hpp lib/vzkit/plugins/vzkit-plugin-virtio-blk.so \
         lib/vzkit/plugins/vzkit-plugin-linux-boot.so lib/cmake/vzkit/vzkitConfig.cmake \
         lib/cmake/vzkit/vzkitConfigVersion.cmake lib/cmake/vzkit/vzkitTargets.cmake \
         lib/cmake/vzkit/VzkitPlugin.cmake lib/pkgconfig/vzkit-sdk.pc include/vzkit/host.hpp lib/libvzkit_host.a; do
  [ -e "$PREFIX/$f" ] || fail "the install has no $f"
done
pass "cmake --install: binary, plugins, headers, CMake package and pkg-config file under the prefix"

# ---- 2. build the plugin from a copy of its folder, against the prefix alone. The prefix stands
# for a vzkit that does not ship it: its own build of cloud-init is removed, so the one vzkit
# finds is the third party's (docs/plugins.md).
rm "$PREFIX/lib/vzkit/plugins/vzkit-plugin-cloud-init.so"
cp -r "$SRC/plugins/cloud-init" "$WORK/cloud-init"
gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
cmake -S "$WORK/cloud-init" -B "$WORK/plugin-build" "${gen[@]}" -DCMAKE_PREFIX_PATH="$PREFIX" \
      -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
      > "$WORK/configure.txt" 2>&1 || { show "$WORK/configure.txt"; fail "configuring the plugin"; }
grep -q "vzkit_DIR:PATH=$PREFIX/lib/cmake/vzkit" "$WORK/plugin-build/CMakeCache.txt" \
  || fail "find_package(vzkit) did not use the installed package: $(grep vzkit_DIR "$WORK/plugin-build/CMakeCache.txt")"
cmake --build "$WORK/plugin-build" > "$WORK/build.txt" 2>&1 || { show "$WORK/build.txt"; fail "building the plugin"; }
PLUGIN="$WORK/plugin-build/vzkit-plugin-cloud-init.so"
[ -f "$PLUGIN" ] || fail "no $PLUGIN after the build"
grep -Eq -- "-(I|isystem ?)$PREFIX/include" "$WORK/plugin-build/compile_commands.json" || fail "the plugin was not compiled against $PREFIX/include"
grep -q -- "$SRC/sdk" "$WORK/plugin-build/compile_commands.json" && fail "the plugin build reached into the source tree"
# Strong symbols only: header-only Boost and the standard library add weak ones (V/W/u), as in
# the tree's own plugins.
exported=$(nm -D --defined-only "$PLUGIN" | awk '$2 ~ /^[TDBR]$/ {print $3}')
[ "$exported" = vzkit_plugin_entry ] || fail "the plugin exports more than its entry symbol: $exported"
pass "find_package(vzkit) + vzkit_add_plugin: built out of tree against the installed SDK; vzkit_plugin_entry is its only strong export"
"$VZKIT" plugin check "$PLUGIN" > "$WORK/check.txt" 2>&1 || { show "$WORK/check.txt"; fail "vzkit plugin check finds the plugin non-conforming"; }
expect "$WORK/check.txt" '^cloud-init: conforms \(7 checks passed\)' "vzkit plugin check: the out-of-tree plugin passes every conformance check"

# ---- 3. pkg-config
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
cflags=$(pkg-config --cflags vzkit-sdk) || fail "pkg-config does not know vzkit-sdk"
cflags=$(printf '%s' "$cflags" | sed 's/ *$//')  # pkgconf ends its output with a space
[ "$cflags" = "-I$PREFIX/include" ] || fail "pkg-config --cflags vzkit-sdk gave '$cflags'"
[ "$(pkg-config --variable=plugindir vzkit-sdk)" = "$PREFIX/lib/vzkit/plugins" ] || fail "pkg-config plugindir is wrong"
printf '#include <vzkit/plugin.h>\nint main(void) { return VZKIT_ABI_MAJOR == 1 ? 0 : 1; }\n' > "$WORK/abi.c"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror $(pkg-config --cflags vzkit-sdk) -fsyntax-only "$WORK/abi.c" || fail "plugin.h does not compile with pkg-config's flags"
pass "pkg-config --cflags vzkit-sdk: $cflags (plugin.h compiles as plain C with it)"

# ---- 4. the installed binary lists the plugin from VZKIT_PLUGIN_PATH, beside its own
export VZKIT_PLUGIN_PATH="$WORK/plugin-build"
"$VZKIT" plugins > "$WORK/plugins.txt" 2>&1 || { show "$WORK/plugins.txt"; fail "vzkit plugins"; }
expect "$WORK/plugins.txt" '^cloud-init +1\.1\.0 +vz,qemu ' "vzkit plugins lists cloud-init (vz, qemu)"
expect "$WORK/plugins.txt" "from $PLUGIN \(VZKIT_PLUGIN_PATH\)" "cloud-init comes from VZKIT_PLUGIN_PATH"
expect "$WORK/plugins.txt" "from $PREFIX/lib/vzkit/plugins/vzkit-plugin-virtio-blk\.so \(installed beside the binary\)" \
  "the installed binary finds its own plugins in ../lib/vzkit/plugins"

# ---- 5. a front-end built against the installed host API alone boots the demo guest
cp -r "$SRC/examples/frontend" "$WORK/frontend"
cmake -S "$WORK/frontend" -B "$WORK/frontend-build" "${gen[@]}" -DCMAKE_PREFIX_PATH="$PREFIX" \
      -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
      > "$WORK/fe-configure.txt" 2>&1 || { show "$WORK/fe-configure.txt"; fail "configuring the front-end"; }
cmake --build "$WORK/frontend-build" > "$WORK/fe-build.txt" 2>&1 || { show "$WORK/fe-build.txt"; fail "building the front-end"; }
grep -q -- "$SRC/" "$WORK/frontend-build/compile_commands.json" && fail "the front-end build reached into the source tree"
pass "find_package(vzkit) + vzkit::host: the example front-end builds out of tree against the installed host API"
VZKIT_PLUGIN_PATH="$PREFIX/lib/vzkit/plugins" "$WORK/frontend-build/tiny-run" "$GUEST/vmlinuz" "$GUEST/initrd.img" \
  > "$WORK/fe-console.txt" 2> "$WORK/fe-stderr.txt" || { show "$WORK/fe-stderr.txt"; fail "tiny-run exited non-zero"; }
expect "$WORK/fe-console.txt" '^VZKIT done' "the out-of-tree front-end ran the guest to completion"
expect "$WORK/fe-stderr.txt" '^\[stopped\]' "the front-end saw the machine stop"

# ---- 6. validation, and plans that name the seed without writing it
VM="$WORK/vm"
mkdir -p "$VM"
cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$VM/"
cp --sparse=always "$GUEST/disk.img" "$VM/"
KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g test@vzkit"
spec() {  # spec NAME CLOUD_INIT_ENTRY
  cat <<EOF
{
  "name": "$1",
  "cpus": 1,
  "memory": "512MiB",
  "devices": [
    {"plugin": "linux-boot", "kernel": "vmlinuz", "initrd": "initrd.img", "command_line": "console=ttyS0 quiet"},
    {"plugin": "serial-console"},
    {"plugin": "virtio-blk", "path": "disk.img"},
    $2
  ]
}
EOF
}
spec seeded "{\"plugin\": \"cloud-init\", \"ssh_authorized_keys\": [\"$KEY\"], \"instance_id\": \"iid-sdk-test\", \"hostname\": \"sdk-guest\"}" > "$VM/seeded.json"
"$VZKIT" validate "$VM/seeded.json" > "$WORK/validate.txt" 2>&1 || { show "$WORK/validate.txt"; fail "the spec does not validate"; }
pass "a spec using cloud-init validates"

spec bad "{\"plugin\": \"cloud-init\", \"user\": \"root\", \"ssh_authorized_keys\": [\"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\"], \"user_data\": \"missing.yaml\"}" > "$VM/bad.json"
status=0
"$VZKIT" validate "$VM/bad.json" > "$WORK/bad.txt" 2>&1 || status=$?
[ $status -eq 2 ] || { show "$WORK/bad.txt"; fail "an invalid cloud-init entry gave exit $status, not 2"; }
expect "$WORK/bad.txt" "devices\[3\]\.user: error: 'root' cannot be a user of its own \[cloud-init\.user-reserved, plugin cloud-init\]" \
  "user root is refused at devices[3].user"
expect "$WORK/bad.txt" 'devices\[3\]\.ssh_authorized_keys\[0\]: error: .*not a ssh-rsa key.*\[cloud-init\.ssh-key-invalid' \
  "a key whose data does not match its type is refused at ssh_authorized_keys[0]"
expect "$WORK/bad.txt" "devices\[3\]\.user_data: error: user_data file 'missing.yaml' does not exist \[cloud-init\.file-missing" \
  "a missing user_data file is refused"

# The seed is a file the VM owns: the plan names it in the folder `vzkit run SPEC` keeps it in.
"$VZKIT" plan "$VM/seeded.json" --engine qemu --format argv > "$WORK/plan-qemu.txt" 2>&1 || { show "$WORK/plan-qemu.txt"; fail "plan --engine qemu"; }
expect "$WORK/plan-qemu.txt" "driver=file,node-name=cidata-file3,filename=$VZKIT_HOME/vms/seeded/cloud-init-seed\.img,read-only=on" \
  "QEMU plan: the seed as a read-only file node in the VM's folder"
expect "$WORK/plan-qemu.txt" 'driver=raw,node-name=cidata3,file=cidata-file3,read-only=on' "QEMU plan: a read-only raw node"
expect "$WORK/plan-qemu.txt" 'virtio-blk-pci,drive=cidata3' "QEMU plan: on virtio-blk-pci"
# VZ boots no x86 bzImage, so its plan comes from an EFI spec.
cat > "$VM/seeded-vz.json" <<EOF
{"name": "seeded-vz", "cpus": 1, "memory": "1GiB", "devices": [
  {"plugin": "efi-boot"},
  {"plugin": "cloud-init", "ssh_authorized_keys": ["$KEY"]}]}
EOF
"$VZKIT" plan "$VM/seeded-vz.json" --engine vz > "$WORK/plan-vz.txt" 2>&1 || { show "$WORK/plan-vz.txt"; fail "plan --engine vz"; }
tr -d ' \n' < "$WORK/plan-vz.txt" > "$WORK/plan-vz.flat"
expect "$WORK/plan-vz.flat" "\"VZDiskImageStorageDeviceAttachment\",\"url\":\"$VZKIT_HOME/vms/seeded-vz/cloud-init-seed\.img\",\"read_only\":true" \
  "VZ plan: a read-only disk image attachment on a Virtio block device"
[ -e "$VM/cloud-init-seed.img" ] && fail "plan wrote the seed image"
[ -d "$VZKIT_HOME/vms" ] && find "$VZKIT_HOME/vms" -name cloud-init-seed.img | grep -q . && fail "plan wrote a seed image"
pass "plan and validate write nothing"

# ---- 7. boot: the guest finds the CIDATA disk and reads both files
"$VZKIT" run "$VM/seeded.json" --accel tcg > "$WORK/console.txt" 2> "$WORK/stderr.txt" \
  || { show "$WORK/stderr.txt"; show "$WORK/console.txt"; fail "vzkit run exited non-zero"; }
c="$WORK/console.txt"
expect "$c" '^VZKIT blk vdb .*ro=1 ' "the seed is the guest's read-only vdb"
expect "$c" '^VZKIT cidata dev=vdb' "the guest finds vdb by its vfat label CIDATA"
expect "$c" '^VZKIT cidata meta-data instance-id: "iid-sdk-test"' "the guest reads meta-data (instance_id)"
expect "$c" '^VZKIT cidata user-data #cloud-config' "the guest reads user-data (#cloud-config)"
expect "$c" '^VZKIT done' "the guest finished its report"
if grep -q '^VZKIT error' "$c"; then grep '^VZKIT error' "$c" >&2; fail "the guest reported errors"; fi

SEED="$VZKIT_HOME/vms/seeded/cloud-init-seed.img"
[ -f "$SEED" ] || fail "the run made no $SEED"
pass "the seed image is in the VM's bundle"
if command -v blkid >/dev/null 2>&1; then
  [ "$(blkid -o value -s LABEL "$SEED")" = CIDATA ] && [ "$(blkid -o value -s TYPE "$SEED")" = vfat ] \
    || fail "blkid does not see a vfat labelled CIDATA: $(blkid "$SEED")"
  pass "blkid: vfat, LABEL=CIDATA"
fi
if command -v fsck.fat >/dev/null 2>&1; then
  fsck.fat -n "$SEED" > "$WORK/fsck.txt" 2>&1 || { show "$WORK/fsck.txt"; fail "fsck.fat finds the seed damaged"; }
  pass "fsck.fat -n: the seed's FAT is clean"
fi

# ---- 8. user_data and meta_data given as text and as a file, through `vzkit create`
printf 'instance-id: iid-from-file\nlocal-hostname: filed\n' > "$VM/meta-data.yaml"
spec filed '{"plugin": "cloud-init", "user_data": "#cloud-config\nruncmd: [[echo, hello]]\n", "meta_data": "meta-data.yaml"}' > "$VM/filed.json"
"$VZKIT" create filed --from "$VM/filed.json" > "$WORK/create.txt" 2>&1 || { show "$WORK/create.txt"; fail "vzkit create"; }
SEED2="$VZKIT_HOME/vms/filed/cloud-init-seed.img"
[ -f "$SEED2" ] || fail "create made no $SEED2"
if command -v mtype >/dev/null 2>&1; then
  MTOOLS_SKIP_CHECK=1 mtype -i "$SEED2" ::/meta-data > "$WORK/meta.out" || fail "mtype meta-data"
  cmp -s "$WORK/meta.out" "$VM/meta-data.yaml" || fail "the seed's meta-data differs from meta-data.yaml"
  MTOOLS_SKIP_CHECK=1 mtype -i "$SEED2" ::/user-data > "$WORK/user.out" || fail "mtype user-data"
  printf '#cloud-config\nruncmd: [[echo, hello]]\n' | cmp -s - "$WORK/user.out" || fail "the seed's user-data differs from the spec's text"
  pass "vzkit create: the seed holds meta-data from a file and user-data from the spec's text, byte for byte"
else
  pass "vzkit create made the seed (mtools absent: contents not compared)"
fi

echo "PASS [sdk]"
