#!/usr/bin/env bash
# End-to-end tests: real guests booted by the real engine (QEMU under TCG), observed from inside.
# The guest (scripts/build-demo-guest.sh) prints "VZKIT ..." lines on its console; see README.md.
#
#   tests/e2e/e2e.sh VZKIT_BINARY GUEST_DIR CASE
#
# CASE is one of: devices, efi, lifecycle, crash, conflicts, display, clone. Each case uses its own $VZKIT_HOME and folder.
set -euo pipefail

VZKIT=$1
GUEST=$2
CASE=$3
SRC=$(cd "$(dirname "$0")/../.." && pwd)

. "$SRC/tests/lib/harness.sh"
harness_start "$CASE"

# expect FILE PATTERN WHAT: the file has a line matching the extended regex.
expect() { grep -Eq -- "$2" "$1" || { echo "--- $1:" >&2; tr -d '\r' < "$1" | tail -40 >&2; fail "$3"; }; pass "$3"; }

# A folder with the guest's files and a spec, as a user would have it.
setup_vm_folder() {
  local dir=$1
  mkdir -p "$dir/share"
  cp "$GUEST/vmlinuz" "$GUEST/initrd.img" "$dir/"
  cp --sparse=always "$GUEST/disk.img" "$GUEST/usb.img" "$dir/"
  cp "$GUEST/share/hello.txt" "$dir/share/"
}

case_devices() {
  local dir="$WORK/vm"
  setup_vm_folder "$dir"
  local extra=""
  if [ -e /dev/vhost-vsock ]; then
    extra=', {"plugin": "vsock"}'
  else
    echo "SKIP [devices]: vsock: this host has no /dev/vhost-vsock (QEMU's vhost-vsock needs it)"
  fi
  sed "s|{\"plugin\": \"balloon\"}|{\"plugin\": \"balloon\"}$extra|" "$SRC/examples/demo.json" > "$dir/demo.json"
  local mac
  mac=$("$VZKIT" plan "$dir/demo.json" --engine qemu --format argv | grep -o 'mac=[0-9a-f:]*' | cut -d= -f2)
  "$VZKIT" run "$dir/demo.json" --accel tcg > "$WORK/console.txt" 2> "$WORK/stderr.txt" \
    || { cat "$WORK/stderr.txt" >&2; fail "vzkit run exited non-zero"; }
  local c="$WORK/console.txt"
  expect "$c" '^VZKIT init start' "serial console carries the guest's first userspace line"
  expect "$c" '^VZKIT virtio virtio[0-9]+ id=2 driver=virtio_blk' "virtio-blk device bound"
  expect "$c" '^VZKIT blk vda .*ro=0 .*marker=VZKIT-DISK-MARKER' "virtio-blk disk readable with its content"
  expect "$c" '^VZKIT blk sda .*ro=1 removable=1 marker=VZKIT-USB-MARKER' "usb-storage: read-only removable disk with its content"
  expect "$c" '^VZKIT share read hello from the host' "virtiofs: guest reads a host file"
  expect "$c" '^VZKIT share write ok' "virtiofs: guest writes a file"
  grep -q '^written by the guest$' "$dir/share/from-guest.txt" || fail "the guest's file is not on the host"
  pass "virtiofs: the guest's file is on the host"
  expect "$c" '^VZKIT gpu fb=fb0 size=1280,720' "virtio-gpu: 1280x720 framebuffer"
  expect "$c" '^VZKIT gpu drm=card0-Virtual-1 status=connected modes=1280x720' "virtio-gpu: connected display"
  expect "$c" "^VZKIT net eth0 mac=$mac addr=10\.0\.2\.15/24" "network: up with an address and the planned MAC $mac"
  expect "$c" '^VZKIT rng current=virtio_rng\.0 bytes=[0-9a-f]{32}' "entropy: /dev/hwrng gives bytes"
  expect "$c" '^VZKIT balloon present' "balloon bound"
  if [ -n "$extra" ]; then expect "$c" '^VZKIT virtio virtio[0-9]+ id=19 ' "vsock device present"; fi
  expect "$c" '^VZKIT done' "guest finished its report"
  expect "$WORK/stderr.txt" 'the guest powered off' "guest shutdown event reported"
  if grep -q '^VZKIT error' "$c"; then grep '^VZKIT error' "$c" >&2; fail "the guest reported errors"; fi
}

case_efi() {
  local dir="$WORK/vm"
  mkdir -p "$dir"
  cp --sparse=always "$GUEST/esp.img" "$dir/"
  cat > "$dir/efi.json" <<'EOF'
{
  "name": "efivm",
  "cpus": 1,
  "memory": "512MiB",
  "devices": [
    {"plugin": "efi-boot"},
    {"plugin": "virtio-blk", "path": "esp.img", "read_only": true},
    {"plugin": "serial-console"}
  ]
}
EOF
  "$VZKIT" create efivm --from "$dir/efi.json" > "$WORK/create.txt" || fail "vzkit create"
  [ -s "$VZKIT_HOME/vms/efivm/efi-vars.fd" ] || fail "create made no per-VM variable store"
  cmp -s "$VZKIT_HOME/vms/efivm/efi-vars.fd" /usr/share/OVMF/OVMF_VARS_4M.fd || fail "the store is not a copy of the 4M template"
  pass "create made a per-VM copy of the 4M variable store template"
  "$VZKIT" run efivm --accel tcg --quiet > "$WORK/boot1.txt" 2>&1 || fail "first EFI boot failed"
  expect "$WORK/boot1.txt" '^VZKIT efi booted=yes' "booted through OVMF"
  expect "$WORK/boot1.txt" '^VZKIT efi wrote' "first boot wrote an EFI variable"
  "$VZKIT" run efivm --accel tcg --quiet > "$WORK/boot2.txt" 2>&1 || fail "second EFI boot failed"
  expect "$WORK/boot2.txt" '^VZKIT efi var=persisted' "the variable persisted in the per-VM store"
}

lifecycle_spec() {
  local dir=$1 name=$2 wait=${3:-1}
  setup_vm_folder "$dir"
  cat > "$dir/$name.json" <<EOF
{
  "name": "$name",
  "cpus": 1,
  "memory": "512MiB",
  "devices": [
    {"plugin": "linux-boot", "kernel": "vmlinuz", "initrd": "initrd.img",
     "command_line": "console=ttyS0 quiet vzkit.wait=$wait vzkit.share=host"},
    {"plugin": "serial-console"},
    {"plugin": "virtiofs", "tag": "host", "path": "share"},
    {"plugin": "virtio-gpu", "width": 800, "height": 600}
  ]
}
EOF
}

case_lifecycle() {
  local dir="$WORK/vm"
  lifecycle_spec "$dir" life
  "$VZKIT" create life --from "$dir/life.json" >/dev/null || fail "vzkit create"
  "$VZKIT" run life --detach --accel tcg > "$WORK/detach.txt" 2>&1 || { cat "$WORK/detach.txt" >&2; fail "run --detach"; }
  pass "run --detach returned with the VM running"
  local run="$VZKIT_HOME/vms/life/run"
  wait_for "$run/console.log" '^VZKIT wait power-button' 60 || fail "guest did not reach its wait point"
  pass "guest booted and waits for the power button"
  [ "$(state_of life)" = running ] || fail "list does not say running"
  "$VZKIT" screenshot life "$WORK/screen.png" > /dev/null || fail "screenshot"
  [ "$(head -c 8 "$WORK/screen.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "screenshot is not a PNG"
  pass "screenshot of the virtio-gpu screen saved as PNG"
  "$VZKIT" pause life > /dev/null || fail "pause"
  [ "$(state_of life)" = paused ] || fail "list does not say paused after pause"
  pass "pause: state paused"
  "$VZKIT" resume life > /dev/null || fail "resume"
  [ "$(state_of life)" = running ] || fail "list does not say running after resume"
  pass "resume: state running"
  "$VZKIT" stop life --timeout 30 > "$WORK/stop.txt" || fail "stop"
  expect "$WORK/stop.txt" 'the guest powered off' "request stop: the guest powered off in order"
  expect "$run/console.log" '^VZKIT done' "the guest saw the power button and finished"
  [ "$(state_of life)" = stopped ] || fail "list does not say stopped"
  local log="$run/supervisor.log"
  expect "$log" '^vzkit: running' "event: running"
  expect "$log" '^vzkit: paused' "event: paused"
  expect "$log" '^vzkit: the guest powered off' "event: guest shutdown"
  expect "$log" '^vzkit: stopped' "event: stopped"

  # Forced stop: the guest gets no say.
  "$VZKIT" run life --detach --accel tcg > /dev/null 2>&1 || fail "second run --detach"
  wait_for "$run/console.log" '^VZKIT wait power-button' 60 || fail "guest did not reach its wait point (2)"
  local t0=$SECONDS
  "$VZKIT" stop life --force > /dev/null || fail "stop --force"
  [ $((SECONDS - t0)) -le 5 ] || fail "stop --force took $((SECONDS - t0)) s"
  grep -q '^VZKIT done' "$run/console.log" && fail "the guest ran its shutdown despite --force"
  [ "$(state_of life)" = stopped ] || fail "not stopped after --force"
  pass "forced stop: stopped at once, without the guest's shutdown"

  # Each start keeps the logs of the runs before.
  "$VZKIT" logs life > "$WORK/logs0.txt" || fail "vzkit logs"
  "$VZKIT" logs life --previous 1 > "$WORK/logs1.txt" || fail "vzkit logs --previous 1"
  expect "$WORK/logs1.txt" '^VZKIT done' "logs --previous 1: the first run's console, kept by the second run"
  grep -q '^VZKIT done' "$WORK/logs0.txt" && fail "logs shows the first run's console for the second"
  expect "$WORK/logs0.txt" '^VZKIT wait power-button' "logs: the last run's console"
  [ -s "$run/console.log.1" ] && [ -e "$run/qemu.log.1" ] || fail "run/ keeps no console.log.1 and qemu.log.1"
  pass "run/ keeps console.log.1 and qemu.log.1"

  # A guest that ignores the power button: stop says it waits, for how long, then that it forces.
  local spec="$WORK/deaf/deaf.json"
  lifecycle_spec "$WORK/deaf" deaf ignore
  "$VZKIT" run "$spec" --detach --accel tcg > /dev/null 2>&1 || fail "run --detach of a spec file"
  wait_for "$VZKIT_HOME/vms/deaf/run/console.log" '^VZKIT wait ignoring power-button' 60 || fail "deaf guest did not boot"
  t0=$SECONDS
  "$VZKIT" stop deaf --timeout 3 > "$WORK/stop-deaf.txt" 2> "$WORK/stop-deaf.err" || fail "stop of a deaf guest"
  expect "$WORK/stop-deaf.err" "waiting up to 3 s for the guest to power off, then stopping it by force" \
    "stop says that it waits, and for how long"
  expect "$WORK/stop-deaf.err" 'did not power off within 3 s; stopping it by force' "stop says that it forces"
  expect "$WORK/stop-deaf.txt" "VM 'deaf' stopped by force" "stop: stopped by force"
  [ $((SECONDS - t0)) -le 10 ] || fail "stop --timeout 3 took $((SECONDS - t0)) s"

  # A spec run made VM 'deaf'; its runs reuse it; another spec named 'deaf' is refused.
  "$VZKIT" inspect deaf | grep -q "made by running: $spec" || fail "inspect does not name the spec that made 'deaf'"
  "$VZKIT" run "$spec" --detach --accel tcg > /dev/null 2>&1 || fail "second run of the same spec file"
  "$VZKIT" stop deaf --force > /dev/null || fail "stop --force of the second run"
  [ -s "$VZKIT_HOME/vms/deaf/run/console.log.1" ] || fail "the second spec run did not reuse the VM"
  pass "a second run of the same spec file reuses its VM"
  mkdir -p "$WORK/other"
  sed 's/"memory": "512MiB"/"memory": "256MiB"/' "$spec" > "$WORK/other/deaf.json"
  cp "$VZKIT_HOME/vms/deaf/spec.json" "$WORK/spec-before.json"
  if "$VZKIT" run "$WORK/other/deaf.json" --accel tcg > "$WORK/other.txt" 2>&1; then fail "another spec of that name ran"; fi
  expect "$WORK/other.txt" "VM 'deaf' already exists \(made by running $spec\)" "a spec run never changes another spec's VM"
  cmp -s "$WORK/spec-before.json" "$VZKIT_HOME/vms/deaf/spec.json" || fail "the refused run changed the VM's spec"
  pass "the refused run left the VM as it was"
}

case_crash() {
  local dir="$WORK/vm"
  lifecycle_spec "$dir" crash
  "$VZKIT" create crash --from "$dir/crash.json" >/dev/null || fail "vzkit create"
  "$VZKIT" run crash --detach --accel tcg > /dev/null 2>&1 || fail "run --detach"
  local run="$VZKIT_HOME/vms/crash/run"
  wait_for "$run/console.log" '^VZKIT wait power-button' 60 || fail "guest did not boot"
  local sup qemu
  sup=$(sed -n 's/.*"supervisor_pid":\([0-9]*\).*/\1/p' "$run/state.json")
  qemu=$(sed -n 's/.*"qemu_pid":\([0-9]*\).*/\1/p' "$run/state.json")
  [ -n "$sup" ] && [ -n "$qemu" ] || fail "no pids in state.json"
  local helper
  helper=$(pgrep -f "virtiofsd --socket-path=$VZKIT_HOME/vms/crash/run/" | head -n1 || true)
  [ -n "$helper" ] || fail "virtiofsd is not running"

  # A second run is refused and names the holder.
  if "$VZKIT" run crash --accel tcg > "$WORK/second.txt" 2>&1; then fail "a second run was accepted"; fi
  expect "$WORK/second.txt" "already running: vzkit run crash \(pid $sup," "a second run is refused, naming the holder"

  # kill -9 of the supervisor takes QEMU and virtiofsd with it.
  kill -9 "$sup"
  local end=$((SECONDS + 10))
  while [ $SECONDS -lt $end ] && { kill -0 "$qemu" 2>/dev/null || kill -0 "$helper" 2>/dev/null; }; do sleep 0.1; done
  kill -0 "$qemu" 2>/dev/null && fail "QEMU (pid $qemu) outlived its supervisor"
  kill -0 "$helper" 2>/dev/null && fail "virtiofsd (pid $helper) outlived its supervisor"
  pass "kill -9 of the supervisor leaves no QEMU or virtiofsd behind"
  [ "$(state_of crash)" = stopped ] || fail "the lock was not released"
  pass "the lock of the killed supervisor is gone"

  # The bundle is usable: the next run boots and stops normally.
  "$VZKIT" run crash --detach --accel tcg > /dev/null 2>&1 || fail "run after the crash"
  wait_for "$run/console.log" '^VZKIT wait power-button' 60 || fail "guest did not boot after the crash"
  "$VZKIT" stop crash > /dev/null || fail "stop after the crash"
  pass "the bundle runs again after the crash"
}

# An installer VM's display has a framebuffer for EFI programs; a plain Virtio GPU has none.
case_display() {
  local dir="$WORK/vm"
  mkdir -p "$dir"
  cp --sparse=always "$GUEST/esp.img" "$dir/"
  # The ESP (a UKI at \EFI\BOOT\BOOTX64.EFI) stands in for an installer image on USB.
  "$VZKIT" create inst --iso "$dir/esp.img" --disk 64MiB > /dev/null 2> "$WORK/create.txt" || fail "create --iso"
  grep -q . "$WORK/create.txt" && { cat "$WORK/create.txt" >&2; fail "create --iso warned"; }
  grep -q '"model": "vga"' "$VZKIT_HOME/vms/inst/spec.json" || fail "the installer VM's display is not model vga"
  "$VZKIT" run inst --accel tcg --quiet > "$WORK/inst.txt" 2>&1 || fail "the installer VM did not run"
  expect "$WORK/inst.txt" '^VZKIT efi booted=yes' "installer VM: booted the image on USB through OVMF"
  expect "$WORK/inst.txt" '^VZKIT efi framebuffer=yes' "installer VM (virtio-vga): the firmware has a framebuffer"
  expect "$WORK/inst.txt" '^VZKIT gpu drm=card0-Virtual-1 status=connected modes=1280x720' \
    "installer VM: Linux drives the same display as virtio-gpu"
  cat > "$dir/plain.json" <<'EOF'
{
  "name": "plain",
  "cpus": 1,
  "memory": "512MiB",
  "devices": [
    {"plugin": "efi-boot"},
    {"plugin": "virtio-blk", "path": "esp.img", "read_only": true},
    {"plugin": "virtio-gpu"},
    {"plugin": "serial-console"}
  ]
}
EOF
  "$VZKIT" run "$dir/plain.json" --accel tcg --quiet > "$WORK/plain.txt" 2>&1 || fail "the plain VM did not run"
  expect "$WORK/plain.txt" '^VZKIT efi framebuffer=no' "model virtio (virtio-gpu-pci): no framebuffer for EFI programs"
}

# A clone is a VM of its own: grown and converted to qcow2, it boots with the source's data, and
# writing to it leaves the source alone.
case_clone() {
  local dir="$WORK/vm"
  setup_vm_folder "$dir"
  sed -e 's|"name": "demo"|"name": "golden"|' "$SRC/examples/demo.json" > "$dir/golden.json"
  "$VZKIT" create golden --from "$dir/golden.json" > /dev/null || fail "vzkit create golden"
  "$VZKIT" clone golden copy > "$WORK/clone.txt" || fail "vzkit clone"
  expect "$WORK/clone.txt" "devices\[[0-9]+\]\.path: its own copy of $dir/disk.img" "clone: the writable disk is copied"
  expect "$WORK/clone.txt" "shares the read-only image $dir/usb.img" "clone: the read-only image is shared"
  local before
  before=$(stat -c %s "$dir/disk.img")
  "$VZKIT" set copy --disk-size 256MiB > "$WORK/set.txt" || fail "vzkit set --disk-size"
  [ "$(stat -c %s "$VZKIT_HOME/vms/copy/disk.img")" = $((256 << 20)) ] || fail "the clone's disk did not grow"
  [ "$(stat -c %s "$dir/disk.img")" = "$before" ] || fail "growing the clone changed the source's disk"
  pass "set --disk-size grows the clone's disk only"
  "$VZKIT" convert copy --format qcow2 > /dev/null || fail "vzkit convert --format qcow2"
  [ "$(head -c 4 "$VZKIT_HOME/vms/copy/disk.img" | od -An -c | tr -d ' \n')" = 'QFI373' ] || fail "not qcow2"
  "$VZKIT" run copy --accel tcg > "$WORK/console.txt" 2> "$WORK/stderr.txt" \
    || { cat "$WORK/stderr.txt" >&2; fail "vzkit run copy"; }
  expect "$WORK/console.txt" "^VZKIT blk vda size512=$((256 << 11)) ro=0 .*marker=VZKIT-DISK-MARKER" \
    "the clone boots from its grown qcow2 disk with the source's data"
  cmp -s "$dir/disk.img" "$GUEST/disk.img" || fail "the source's disk changed"
  pass "the source's disk is unchanged"
}

# QEMU that cannot start says why in the user's terms: a host port or a disk another VM has.
case_conflicts() {
  local dir="$WORK/vm" port=$((20000 + RANDOM % 20000))
  setup_vm_folder "$dir"
  cp --sparse=always "$dir/disk.img" "$dir/other.img"
  # The shipped example, as a user runs it: its forward and its disk, with a guest that stays up.
  conflict_spec() {  # NAME PORT DISK
    sed -e "s/\"name\": \"linux-direct\"/\"name\": \"$1\"/" -e "s/2222/$2/" -e "s/\"disk.img\"/\"$3\"/" \
      -e 's/console=ttyS0 quiet/console=ttyS0 quiet vzkit.wait=ignore/' "$SRC/examples/linux-direct.json" > "$dir/$1.json"
    grep -q "\"name\": \"$1\"" "$dir/$1.json" && grep -q "\"host_port\": $2" "$dir/$1.json" \
      || fail "examples/linux-direct.json changed shape"
  }
  conflict_spec first "$port" disk.img
  conflict_spec same-port "$port" other.img
  conflict_spec same-disk $((port + 1)) disk.img
  "$VZKIT" run "$dir/first.json" --detach --accel tcg > /dev/null 2>&1 || fail "the first VM did not start"
  pass "the first VM runs with host port $port and disk.img"

  if "$VZKIT" run "$dir/same-port.json" --accel tcg > "$WORK/port.txt" 2>&1; then fail "a second VM got the same port"; fi
  expect "$WORK/port.txt" "QEMU did not start: devices\[3\] \(network\): host port $port is in use by VM 'first' \(QEMU pid [0-9]+\)" \
    "port in use: the cause, the device and who holds the port"
  expect "$WORK/port.txt" "hint: port $port is in use: change devices\[3\]\.forwards\[0\]\.host_port" "port in use: the key to change"
  expect "$WORK/port.txt" "log: $VZKIT_HOME/vms/same-port/run/qemu.log" "port in use: the log file"
  grep -q 'Connection reset by peer' "$WORK/port.txt" && fail "the message is still 'Connection reset by peer'"

  if "$VZKIT" run "$dir/same-disk.json" --detach --accel tcg > "$WORK/disk.txt" 2>&1; then fail "a second VM got the same disk"; fi
  expect "$WORK/disk.txt" "QEMU did not start: devices\[2\] \(virtio-blk\): disk image $dir/disk.img is in use by VM 'first'" \
    "locked disk (detached run): the cause, the device and the VM that has it"
  expect "$WORK/disk.txt" "hint: stop that VM first \(.vzkit stop first.\), or give this VM a disk of its own in devices\[2\]\.path" \
    "locked disk: the key to change"
  "$VZKIT" list --json | tr -d '\n ' | grep -q '"name":"same-disk","state":"stopped"' || fail "the failed VM is not stopped"
  "$VZKIT" stop first --force > /dev/null || fail "stop the first VM"
}

"case_$CASE"
echo "PASS [$CASE]"
