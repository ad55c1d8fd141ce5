#!/usr/bin/env bash
# The way into a real Debian 12 cloud guest (scripts/build-cloud-guest.sh), in one boot under TCG:
# vzkit create --image --disk-size 4GiB, run --detach, then ssh (Debian 12, the root filesystem
# grown to about 4 GiB), exec (output and exit status), cp both ways (1 MiB, same checksum), ip,
# console (a login prompt on a pty; one writer at a time), and stop of a guest that ignores the
# power button, through its agent. The same VM's spec then plans for VZ (the agent on vsock) and
# passes the VZ bridge's validation against the model when vzkit-vz is built (Linux: the fake).
#
#   tests/e2e/way_in.sh VZKIT CLOUD_GUEST_DIR [VZKIT_VZ]
set -euo pipefail

VZKIT=$(readlink -f "$1")
GUEST=$(cd "$2" && pwd)
RUNNER=${3:-}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/lib/harness.sh"
harness_start way-in
unset VZKIT_PLUGIN_PATH VZKIT_VZ_RUNNER

show() { echo "--- $1:" >&2; tr -d '\r' < "$1" | tail -40 >&2; }
# run WANT OUT ARGS...: vzkit ARGS with stdout+stderr to OUT; its exit status must be WANT.
run() {
  local want=$1 out=$2 status=0
  shift 2
  "$VZKIT" "$@" < /dev/null > "$out" 2>&1 || status=$?
  [ "$status" -eq "$want" ] || { show "$out"; show "$VZKIT_HOME/vms/web/run/console.log" 2>/dev/null || true; fail "vzkit $* exited $status, not $want"; }
}
has() { grep -Eq -- "$2" "$1" || { show "$1"; fail "$3"; }; pass "$3"; }

# ---- create from the image, run detached
run 0 "$WORK/create.txt" create web --image "$GUEST/root.img" --disk-size 4GiB --cpus 1 --memory 1GiB
has "$WORK/create.txt" "created VM 'web'" "create --image makes the VM"
B="$VZKIT_HOME/vms/web"
[ "$(stat -c %a "$B/ssh_key")" = 600 ] || fail "the generated key is not mode 0600"
[ "$(stat -c %s "$B/disk.img")" -eq $((4 << 30)) ] || fail "disk.img is $(stat -c %s "$B/disk.img") bytes, not 4 GiB"
[ "$(du -k "$B/disk.img" | cut -f1)" -lt $((1 << 20)) ] || fail "disk.img is not sparse: $(du -k "$B/disk.img")"
pass "the bundle has a sparse 4 GiB copy of the image and an SSH key of mode 0600"
for f in vmlinuz initrd.img; do cmp -s "$B/$f" "$GUEST/$f" || fail "$f is not the image's own /boot file"; done
pass "the kernel and initrd were read out of the image (debugfs)"

# A VM without an agent is told what to add, and that ssh still works.
printf '{"name": "bare", "devices": [{"plugin": "linux-boot", "kernel": "%s"}]}\n' "$GUEST/vmlinuz" > "$WORK/bare.json"
run 0 "$WORK/bare-create.txt" create bare --from "$WORK/bare.json"
run 1 "$WORK/bare-exec.txt" exec bare -- true
has "$WORK/bare-exec.txt" "VM 'bare' has no guest agent: add \{\"plugin\": \"guest-agent\"\}.* or use \`vzkit ssh bare\`" \
  "exec on a VM without an agent says what to add"
run 1 "$WORK/ip-stopped.txt" ip web
has "$WORK/ip-stopped.txt" "no address yet: the VM is not running \(waited 0 s\)" "ip of a stopped VM says why there is no address"

start=$(date +%s)
run 0 "$WORK/run.txt" run web --detach --accel tcg
has "$WORK/run.txt" "VM 'web' is running in the background" "run --detach"
port=$(sed -n 's/.*"host_port":\([0-9]*\),"guest_port":22.*/\1/p' "$B/run/state.json")
[ -n "$port" ] && [ "$port" -gt 0 ] || { show "$B/run/state.json"; fail "the run state records no forwarded port for guest port 22"; }
pass "a free host port ($port) forwards to guest port 22, recorded in run/state.json"

# ---- ssh: wait for the guest, then look inside
deadline=$((start + 400))
until "$VZKIT" ssh web -- true < /dev/null > "$WORK/ssh-wait.txt" 2>&1; do
  [ "$(date +%s)" -lt $deadline ] || { show "$WORK/ssh-wait.txt"; show "$B/run/console.log"; fail "no ssh login within 400 s"; }
  sleep 2
done
pass "vzkit ssh logs in after $(( $(date +%s) - start )) s"
# cloud-init's last stages still restart services (sshd among them): wait until it is done.
run 0 "$WORK/cloud-init-wait.txt" exec web --timeout 400 -- cloud-init status --wait
has "$WORK/cloud-init-wait.txt" 'status: done' "cloud-init finished its first boot ($(( $(date +%s) - start )) s)"
run 0 "$WORK/os-release.txt" ssh web -- cat /etc/os-release
has "$WORK/os-release.txt" '^PRETTY_NAME="Debian GNU/Linux 12 \(bookworm\)"' "ssh web -- cat /etc/os-release: Debian 12"
grep -q "^vzkit-web " "$B/known_hosts" || { show "$B/known_hosts"; fail "the bundle's known_hosts has no key of the guest"; }
pass "the guest's host keys are in the bundle's known_hosts ($(wc -l < "$B/known_hosts") keys)"
# The guest's cloud-init grows the filesystem in its first boot; it has finished when ssh answers.
run 0 "$WORK/df.txt" ssh web -- df -B1 --output=size /
size=$(tail -n1 "$WORK/df.txt" | tr -d ' \r')
[ "$size" -gt $((3800 << 20)) ] && [ "$size" -le $((4 << 30)) ] || { show "$WORK/df.txt"; fail "the root filesystem is $size bytes, not about 4 GiB"; }
pass "the root filesystem grew to $((size >> 20)) MiB"
run 0 "$WORK/whoami.txt" ssh web -- sh -c 'id -un; hostname; sudo -n true && echo sudo-ok'
has "$WORK/whoami.txt" '^vzkit$' "ssh logs in as the user cloud-init made"
has "$WORK/whoami.txt" '^web$' "cloud-init set the host name"
has "$WORK/whoami.txt" '^sudo-ok$' "the user has sudo without a password"
# Host keys are checked: the same command line against a known_hosts with another key for the
# alias is refused by ssh.
"$VZKIT" ssh web --json -- true < /dev/null > "$WORK/ssh-argv.json"
has "$WORK/ssh-argv.json" '"StrictHostKeyChecking=yes"' "vzkit ssh --json: host keys are checked (StrictHostKeyChecking=yes)"
printf 'vzkit-web ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n' > "$WORK/wrong_hosts"
python3 - "$WORK/ssh-argv.json" "$WORK/wrong_hosts" > "$WORK/wrong.txt" 2>&1 <<'PY' && fail "ssh accepted a host key other than the guest's"
import json, subprocess, sys
argv = [a if not a.startswith("UserKnownHostsFile=") else "UserKnownHostsFile=" + sys.argv[2]
        for a in json.load(open(sys.argv[1]))["argv"]]
sys.exit(subprocess.run(argv, stdin=subprocess.DEVNULL).returncode)
PY
has "$WORK/wrong.txt" "Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED" "ssh refuses a host key other than the one the console reported"

# ---- exec through the agent
status=0
"$VZKIT" exec web -- sh -c 'echo $((6*7)); echo oops >&2; exit 3' < /dev/null > "$WORK/exec.out" 2> "$WORK/exec.err" || status=$?
[ "$status" -eq 3 ] || { show "$WORK/exec.err"; fail "exec exited $status, not 3"; }
[ "$(cat "$WORK/exec.out")" = 42 ] || { show "$WORK/exec.out"; fail "exec printed '$(cat "$WORK/exec.out")', not 42"; }
grep -qx oops "$WORK/exec.err" || { show "$WORK/exec.err"; fail "exec's stderr did not come back"; }
pass "exec web -- sh -c 'echo \$((6*7)); exit 3' prints 42 and exits 3 (stderr apart)"
echo "piped input" | "$VZKIT" exec web -- tr a-z A-Z > "$WORK/stdin.out"
[ "$(cat "$WORK/stdin.out")" = "PIPED INPUT" ] || fail "exec did not pass piped stdin: $(cat "$WORK/stdin.out")"
pass "exec passes piped stdin to the command"
run 0 "$WORK/exec.json" exec web --json -- uname -s
has "$WORK/exec.json" '"stdout": "Linux\\n"' "exec --json gives stdout"

# ---- cp both ways
head -c 1048576 /dev/urandom > "$WORK/random.bin"
run 0 "$WORK/cp-in.txt" cp "$WORK/random.bin" web:/tmp/random.bin
run 0 "$WORK/sum.txt" exec web -- sha256sum /tmp/random.bin
[ "$(cut -d' ' -f1 "$WORK/sum.txt")" = "$(sha256sum "$WORK/random.bin" | cut -d' ' -f1)" ] || fail "the guest's copy has another checksum"
run 0 "$WORK/cp-out.txt" cp web:/tmp/random.bin "$WORK/back.bin"
cmp -s "$WORK/random.bin" "$WORK/back.bin" || fail "the file copied back differs"
pass "cp round-trips a 1 MiB random file (sha256 equal in the guest and back on the host)"
run 1 "$WORK/cp-missing.txt" cp web:/no/such/file "$WORK/x"
has "$WORK/cp-missing.txt" "cannot open '/no/such/file' in VM 'web' for reading" "cp of a missing guest file names it"
[ ! -e "$WORK/x" ] && [ ! -e "$WORK/x.vzkit-part" ] || fail "a failed cp left a file behind"

# ---- ip
run 0 "$WORK/ip.txt" ip web --wait 30
has "$WORK/ip.txt" '^10\.0\.2\.15$' "ip web: the guest's address from its agent"
run 0 "$WORK/ip.json" ip web --json
tr -d ' \n' < "$WORK/ip.json" > "$WORK/ip.flat"
has "$WORK/ip.flat" "\"source\":\"agent\",\"ssh\":\\{\"host\":\"127.0.0.1\",\"port\":$port\\}" "ip --json: the source and where ssh connects"

# ---- console on a pty: a login prompt, Ctrl-] detaches, one writer at a time
python3 - "$VZKIT" "$WORK" <<'PY' || fail "console (see above)"
import os, pty, select, subprocess, sys, time
vzkit, work = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(vzkit, [vzkit, "console", "web"])
seen, deadline, poked = b"", time.time() + 60, 0
while b"login:" not in seen and time.time() < deadline:
    if time.time() > poked + 3:
        os.write(fd, b"\r")
        poked = time.time()
    r, _, _ = select.select([fd], [], [], 1)
    if r:
        try:
            seen += os.read(fd, 4096)
        except OSError:
            break
if b"login:" not in seen:
    print(seen.decode(errors="replace")[-2000:], file=sys.stderr)
    sys.exit("no login prompt on the console within 60 s")
print("ok   [way-in]: vzkit console web shows a login prompt: %r" % seen.strip().splitlines()[-1][-60:].decode(errors="replace"))
second = subprocess.run([vzkit, "console", "web"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
if second.returncode != 1 or "in use by another `vzkit console`" not in second.stderr:
    sys.exit("a second console was not refused: %d %s" % (second.returncode, second.stderr))
print("ok   [way-in]: a second vzkit console is refused while one is attached")
os.write(fd, b"\x1d")
rest, deadline = b"", time.time() + 10
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 1)
    if not r:
        continue
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    rest += chunk
_, status = os.waitpid(pid, 0)
if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or b"detached" not in rest:
    sys.exit("Ctrl-] did not detach cleanly: status %d, %r" % (status, rest[-200:]))
print("ok   [way-in]: Ctrl-] detaches the console (exit 0)")
PY

# ---- the same spec for VZ: the agent on vsock, bridged to run/qga.sock. Two things differ on a
# Mac, and only those are changed: VZ boots an arm64 Image (tests/data/Image stands in for the
# guest's own) and reaches the guest at its NAT address rather than through a forward.
python3 - "$B/spec.json" "$B" "$SRC/tests/data/Image" > "$WORK/webvz.json" <<'PY'
import json, sys
spec, bundle, image = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
spec["name"] = "webvz"
for d in spec["devices"]:
    if d["plugin"] == "linux-boot":
        d.update(kernel=image, initrd=bundle + "/initrd.img", command_line=d["command_line"].replace("ttyS0", "hvc0"))
    if d["plugin"] == "virtio-blk":
        d["path"] = bundle + "/disk.img"
    if d["plugin"] == "network":
        d.pop("forwards", None)
print(json.dumps(spec, indent=2))
PY
run 0 "$WORK/create-vz.txt" create webvz --from "$WORK/webvz.json" --engine vz
"$VZKIT" plan webvz --engine vz < /dev/null 2> "$WORK/plan-vz.err" > "$WORK/plan-vz.json" || { show "$WORK/plan-vz.err"; fail "plan --engine vz"; }
tr -d ' \n' < "$WORK/plan-vz.json" > "$WORK/plan-vz.flat"
has "$WORK/plan-vz.flat" '"socket_devices":\[\{"class":"VZVirtioSocketDeviceConfiguration"' "VZ plan: a Virtio socket device"
has "$WORK/plan-vz.flat" "\"socket_forwards\":\\[\\{\"port\":9001,\"socket_path\":\"$VZKIT_HOME/vms/webvz/run/qga\\.sock\"" \
  "VZ plan: run/qga.sock bridged to the guest's vsock port 9001"
has "$WORK/plan-vz.flat" '"VZDiskImageStorageDeviceAttachment","url":"[^"]*/cloud-init-seed\.img","read_only":true' \
  "VZ plan: the cloud-init seed as a read-only disk image"
if [ -n "$RUNNER" ] && [ -x "$RUNNER" ]; then
  "$RUNNER" --validate "$WORK/plan-vz.json" > "$WORK/model.txt" 2>&1 || { show "$WORK/model.txt"; fail "the VZ model refuses the plan"; }
  has "$WORK/model.txt" "VZ accepts the configuration" "the VZ plan passes the bridge's validation against the model ($(basename "$RUNNER"))"
fi

# ---- stop: a guest that ignores the power button powers off through its agent
run 0 "$WORK/ignore.txt" exec web -- sh -c 'mkdir -p /etc/systemd/logind.conf.d &&
  printf "[Login]\nHandlePowerKey=ignore\n" > /etc/systemd/logind.conf.d/ignore.conf && systemctl restart systemd-logind'
run 0 "$WORK/stop.txt" stop web --timeout 90
has "$WORK/stop.txt" "the guest ignores the power button; asked its guest agent to power it off" "stop falls back to the agent"
has "$WORK/stop.txt" "VM 'web' stopped \(the guest powered off\)" "the guest powered off, not stopped by force"
echo "PASS [way-in] in $(( $(date +%s) - start )) s after the start"
