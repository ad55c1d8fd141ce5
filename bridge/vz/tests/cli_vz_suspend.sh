#!/usr/bin/env bash
# `vzkit suspend` and the resume of a vz VM on Linux, through the real host API, supervisor and
# control socket, with VZKIT_VZ_RUNNER pointing at vzkit-vz built against the recording fake of
# Virtualization.framework (its saveMachineStateToURL: writes a stand-in state file).
#
#   bridge/vz/tests/cli_vz_suspend.sh VZKIT VZKIT_VZ
set -euo pipefail
VZKIT=$1
export VZKIT_VZ_RUNNER=$2
WORK=$(mktemp -d /tmp/vzkit-cli-vz-suspend.XXXXXX)
export VZKIT_HOME="$WORK/home"
unset VZKIT_PLUGIN_PATH
cleanup() {
  for vm in saved blocked; do "$VZKIT" stop "$vm" --force >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL [cli-vz-suspend]: $*" >&2; exit 1; }
pass() { echo "ok   [cli-vz-suspend]: $*"; }
run() {  # run EXPECTED_STATUS OUTPUT_FILE ARGS...
  local want=$1 out=$2 status=0
  shift 2
  "$VZKIT" "$@" > "$out" 2>&1 || status=$?
  [ "$status" -eq "$want" ] || { cat "$out" >&2; fail "vzkit $* exited $status, not $want"; }
}
has() { grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "$3"; }; pass "$3"; }
spec() {  # spec NAME EXTRA_DEVICES
  cat > "$WORK/$1.json" <<SPEC
{
  "name": "$1", "cpus": 2, "memory": "2GiB",
  "devices": [
    {"plugin": "efi-boot", "variable_store": "efi-vars.fd", "create": true},
    {"plugin": "virtio-blk", "path": "disk.img", "create_size": "1GiB"},
    {"plugin": "network"},
    {"plugin": "serial-console"}$2
  ]
}
SPEC
}

spec saved ""
run 0 "$WORK/c.txt" create saved --from "$WORK/saved.json" --engine vz
run 0 "$WORK/r.txt" run saved --detach
run 0 "$WORK/s.txt" suspend saved --json
has "$WORK/s.txt" '"state_bytes": [1-9]' "suspend saves the vz VM's state"
[ -s "$VZKIT_HOME/vms/saved/suspended/machine.state" ] || fail "no state file in the VM's folder"
run 0 "$WORK/l.txt" list --json
has "$WORK/l.txt" '"state": "stopped"' "the suspended VM is stopped"
run 0 "$WORK/r2.txt" run saved --detach
has "$WORK/r2.txt" "resuming VM 'saved' from the state saved at" "the next run resumes it"
[ ! -e "$VZKIT_HOME/vms/saved/suspended" ] || fail "the used state is still there"
pass "the state is gone once the VM runs again"
run 0 "$WORK/stop.txt" stop saved --force

# The fake's validateSaveRestoreSupportWithError: refuses an entropy device, which the manifests
# allow: the engine's refusal names the device's spec path too.
spec blocked ', {"plugin": "entropy"}'
run 0 "$WORK/c2.txt" create blocked --from "$WORK/blocked.json" --engine vz
run 0 "$WORK/r3.txt" run blocked --detach
run 1 "$WORK/refused.txt" suspend blocked
has "$WORK/refused.txt" 'devices\[4\]: error: the vz engine cannot save this device: .*entropy.* \[suspend.engine-blocked, plugin entropy\]' \
  "VZ's refusal is mapped to the entropy device's spec path"
run 0 "$WORK/l2.txt" list --json
tr -d ' \n' < "$WORK/l2.txt" > "$WORK/l2.flat"
has "$WORK/l2.flat" '"name":"blocked","state":"running"' "the refused VM runs on"
