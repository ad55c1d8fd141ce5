#!/usr/bin/env bash
# The vz engine through the vzkit command, on Linux: `vzkit create --engine vz`, `run`, `list`,
# `pause`, `resume`, `stop`, with VZKIT_VZ_RUNNER pointing at vzkit-vz built against the recording
# fake of Virtualization.framework (tests/vz_api). What runs is the real host API, the real
# supervisor and control socket, and the bridge's VzMachine; only the framework is the fake.
#
#   bridge/vz/tests/cli_vz.sh VZKIT VZKIT_VZ SOURCE_DIR
set -euo pipefail
VZKIT=$1
RUNNER=$2
SRC=$3
WORK=$(mktemp -d /tmp/vzkit-cli-vz.XXXXXX)
export VZKIT_HOME="$WORK/home"
unset VZKIT_VZ_RUNNER VZKIT_PLUGIN_PATH
cleanup() {
  for vm in inst ros mac; do VZKIT_VZ_RUNNER="$RUNNER" "$VZKIT" stop "$vm" --force >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL [cli-vz]: $*" >&2; exit 1; }
pass() { echo "ok   [cli-vz]: $*"; }
# run EXPECTED_STATUS OUTPUT_FILE ARGS...: runs vzkit, checks its exit status.
run() {
  local want=$1 out=$2 status=0
  shift 2
  "$VZKIT" "$@" > "$out" 2>&1 || status=$?
  [ "$status" -eq "$want" ] || { cat "$out" >&2; fail "vzkit $* exited $status, not $want"; }
}
has() { grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "$3"; }; pass "$3"; }

mkdir -p "$WORK/spec"
cp "$SRC/examples/linux-installer.json" "$SRC/tests/data/installer.iso" "$WORK/spec/"

run 0 "$WORK/create.txt" create inst --from "$WORK/spec/linux-installer.json" --engine vz
run 0 "$WORK/list.txt" list --json
has "$WORK/list.txt" '"engine": "vz"' "create --engine vz makes a vz VM"

# Without a runner (no Mac): a clear refusal, and nothing is left locked.
run 1 "$WORK/refused.txt" run inst
has "$WORK/refused.txt" "is for the vz engine .* runs on a Mac with Apple silicon" "without VZ, run refuses a vz VM and says why"
DISPLAY=:99 run 2 "$WORK/gui.txt" run inst --gui
has "$WORK/gui.txt" "window \(vzkit-window\) needs a Mac" "--gui for a vz VM needs a Mac"

# A runner that dies at once is reported at once, with its status, not after a long wait.
start=$(date +%s)
VZKIT_VZ_RUNNER=/bin/false run 1 "$WORK/false.txt" run inst --detach
has "$WORK/false.txt" "VM 'inst' did not start: its supervisor exited with status 1" "a runner that exits at once is reported"
[ $(( $(date +%s) - start )) -lt 10 ] || fail "reporting a dead runner took $(( $(date +%s) - start )) s"

export VZKIT_VZ_RUNNER="$RUNNER"
# The host's bounds (from the runner) are checked when a vz spec is validated: the fake allows 1-8 CPUs.
sed 's/"cpus": 2/"cpus": 12/' "$WORK/spec/linux-installer.json" > "$WORK/spec/too-many.json"
run 2 "$WORK/bounds.txt" validate "$WORK/spec/too-many.json" --engine vz
has "$WORK/bounds.txt" "too-many.json: cpus: error: this host allows 1 to 8 CPUs, got 12 \[engine.host-bounds\]" \
  "validate --engine vz names cpus beyond what this host allows"
run 0 "$WORK/detach.txt" run inst --detach
has "$WORK/detach.txt" "VM 'inst' is running in the background" "run --detach starts the vz VM through its runner"
run 0 "$WORK/list.txt" list --json
tr -d ' \n' < "$WORK/list.txt" > "$WORK/list.flat"
has "$WORK/list.flat" '"name":"inst","state":"running","engine":"vz"' "list shows it running"
run 0 "$WORK/pause.txt" pause inst
has "$WORK/pause.txt" "VM 'inst' is paused" "pause reaches VZ through the control socket"
run 0 "$WORK/resume.txt" resume inst
has "$WORK/resume.txt" "VM 'inst' is running" "resume too"
run 1 "$WORK/again.txt" run inst
has "$WORK/again.txt" "VM 'inst' is already running: vzkit run inst \(pid [0-9]+" "a second run is refused naming the holder"
run 1 "$WORK/shot.txt" screenshot inst "$WORK/x.png"
has "$WORK/shot.txt" "offers no screenshots from outside its window" "screenshot says why the vz engine has none"
[ -e "$WORK/x.png" ] && fail "a failed screenshot left a file"
run 0 "$WORK/inspect.txt" inspect inst --json
has "$WORK/inspect.txt" '"engine": "vz"' "inspect shows the run's facts"
run 0 "$WORK/stop.txt" stop inst
has "$WORK/stop.txt" "VM 'inst' stopped \(the guest powered off\)" "stop asks the guest, which powers off"
run 0 "$WORK/list.txt" list
has "$WORK/list.txt" "^inst +stopped +vz " "list shows it stopped"
has "$VZKIT_HOME/vms/inst/run/supervisor.log" "^vzkit: the guest powered off" "the runner reported the guest's power-off"

# Attached: the runner replaces `vzkit run` (same pid); Ctrl-C asks the guest to power off.
"$VZKIT" run inst > "$WORK/attached.txt" 2>&1 &
pid=$!
for _ in $(seq 1 500); do
  grep -q '^vzkit: running' "$WORK/attached.txt" && break
  sleep 0.02
done
grep -q '^vzkit: running' "$WORK/attached.txt" || { cat "$WORK/attached.txt" >&2; fail "the attached run did not report running"; }
kill -INT "$pid"
status=0
wait "$pid" || status=$?
[ "$status" -eq 0 ] || { cat "$WORK/attached.txt" >&2; fail "the attached run exited $status after Ctrl-C"; }
has "$WORK/attached.txt" "asking the guest to power off" "Ctrl-C asks the guest to power off"
has "$WORK/attached.txt" "^vzkit: stopped" "and the attached run ends when it has"
# Rosetta: status, install, and the offer when a VM needs it (the fake host's Rosetta state comes
# from VZKIT_FAKE_ROSETTA, read by the Linux build of vzkit-vz).
run 0 "$WORK/rstatus.txt" rosetta status
has "$WORK/rstatus.txt" "^installed$" "rosetta status: installed"
VZKIT_FAKE_ROSETTA=not-installed run 0 "$WORK/rstatus.txt" rosetta status
has "$WORK/rstatus.txt" "install it with: vzkit rosetta install" "rosetta status: not installed, and how to install it"
VZKIT_FAKE_ROSETTA=not-installed run 0 "$WORK/rinstall.txt" rosetta install
has "$WORK/rinstall.txt" "Rosetta for Linux guests is installed" "rosetta install installs it"
VZKIT_FAKE_ROSETTA=not-supported run 1 "$WORK/rinstall.txt" rosetta install
has "$WORK/rinstall.txt" "not supported on this Mac" "rosetta install says when the Mac cannot have it"
cp "$SRC/examples/linux-rosetta.json" "$WORK/spec/"
cp "$SRC/tests/data/Image" "$SRC/tests/data/initrd.img" "$SRC/tests/data/disk.img" "$WORK/spec/"
cp -r "$SRC/tests/data/share" "$WORK/spec/share"
run 0 "$WORK/create2.txt" create ros --from "$WORK/spec/linux-rosetta.json" --engine vz
VZKIT_FAKE_ROSETTA=not-installed run 1 "$WORK/offer.txt" run ros --detach < /dev/null
has "$WORK/offer.txt" "VM 'ros' uses Rosetta, which is not installed on this Mac" "a VM that needs Rosetta is refused when it is missing"
has "$WORK/offer.txt" "install it with \`vzkit rosetta install\`" "and the refusal says how to install it"
run 0 "$WORK/ros.txt" run ros --detach
has "$WORK/ros.txt" "VM 'ros' is running" "with Rosetta installed, the VM with its Rosetta share runs"
run 0 "$WORK/ros-stop.txt" stop ros --force
has "$WORK/ros-stop.txt" "VM 'ros' stopped" "stop --force stops it at once"
# macOS: `vzkit create --macos IPSW` runs the installer through vzkit-vz (a stand-in restore image
# for the fake: a small JSON file, see tests/vz_api/include/VZFake/VZFake.h).
printf '{"build_version": "23A344", "os": [13, 0, 0], "min_cpus": 2, "min_memory": 4294967296, "supported": true}' \
  > "$WORK/restore.ipsw"
run 0 "$WORK/mac.txt" create mac --macos "$WORK/restore.ipsw" --disk 32GiB
has "$WORK/mac.txt" "installed macOS 23A344" "create --macos runs Apple's installer through the runner"
has "$WORK/mac.txt" "created VM 'mac'" "and makes the VM"
for f in hardware-model.bin machine-id.bin aux.img disk.img spec.json; do
  [ -s "$VZKIT_HOME/vms/mac/$f" ] || fail "the macOS VM has no $f"
done
[ "$(stat -c %s "$VZKIT_HOME/vms/mac/disk.img")" = $((32 << 30)) ] || fail "disk.img is not 32 GiB"
[ "$(du -k "$VZKIT_HOME/vms/mac/disk.img" | cut -f1)" -lt 1024 ] || fail "disk.img is not sparse"
pass "the VM holds its identity, auxiliary storage and a sparse 32 GiB disk"
tr -d ' \n' < "$VZKIT_HOME/vms/mac/spec.json" > "$WORK/mac-spec.flat"
has "$WORK/mac-spec.flat" '"cpus":4,"memory":"8192MiB"' "the image's minimums raised to 4 CPUs and 8 GiB"
has "$WORK/mac-spec.flat" '\{"plugin":"mac-platform"\}' "the spec uses the mac-platform plugin's default files"
cp "$VZKIT_HOME/vms/mac/hardware-model.bin" "$WORK/hw.before"
run 0 "$WORK/mac-run.txt" run mac --detach
has "$WORK/mac-run.txt" "VM 'mac' is running" "the macOS VM runs"
run 0 "$WORK/mac-stop.txt" stop mac
cmp -s "$WORK/hw.before" "$VZKIT_HOME/vms/mac/hardware-model.bin" || fail "running changed the hardware model"
pass "running keeps the VM's identity"
run 2 "$WORK/mac-again.txt" create mac2 --macos "$WORK/missing.ipsw"
[ -d "$VZKIT_HOME/vms/mac2" ] && fail "a refused create left a VM behind"
printf '{"build_version": "99A1", "os": [99, 0, 0], "min_cpus": 2, "min_memory": 4294967296, "supported": false}' \
  > "$WORK/future.ipsw"
run 1 "$WORK/mac-future.txt" create mac3 --macos "$WORK/future.ipsw"
has "$WORK/mac-future.txt" "this Mac cannot run the macOS in" "an image this Mac cannot run is refused"
ls -a "$VZKIT_HOME/vms" | grep -q 'mac3' && fail "a failed install left files behind: $(ls -a "$VZKIT_HOME/vms")"
pass "a failed install leaves nothing behind"
echo "PASS [cli-vz]"
