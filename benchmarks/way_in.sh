#!/usr/bin/env bash
# The way in, measured on the Debian 12 cloud guest (scripts/build-cloud-guest.sh) under TCG:
#
#   (a) boot to ssh: from `vzkit run web --detach` to the first successful `vzkit ssh web -- true`,
#       against raw QEMU started with the same argv (`vzkit plan --format argv` of an identical
#       fresh VM, its free forward port fixed) and a loop polling the system ssh on that port.
#       Both are first boots of fresh copies of the image; both loops poll every 0.5 s.
#       Target: ratio <= 1.05.
#   (b) a command's round trip on the same running guest: `vzkit exec web -- true` (guest agent)
#       against `ssh ... true` (the command line `vzkit ssh web --json` gives, run directly),
#       timed by hyperfine. Target: ratio <= 0.5.
#
#   benchmarks/way_in.sh VZKIT CLOUD_GUEST_DIR
set -euo pipefail
VZKIT=$(readlink -f "$1")
GUEST=$(cd "$2" && pwd)
WORK=$(mktemp -d /tmp/vzkit-bench-way-in.XXXXXX)
export VZKIT_HOME="$WORK/home"
RAW_PID=
cleanup() {
  "$VZKIT" stop web --force > /dev/null 2>&1 || true
  [ -n "$RAW_PID" ] && kill "$RAW_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
command -v hyperfine > /dev/null || { echo "way_in: hyperfine is missing (scripts/setup.sh all)" >&2; exit 1; }
now() { date +%s.%N; }

for vm in web raw; do
  "$VZKIT" create "$vm" --image "$GUEST/root.img" --disk-size 4GiB --cpus 1 --memory 1GiB > /dev/null 2>&1
done

# ---- (a) raw QEMU first (it leaves nothing running), then vzkit
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mapfile -t argv < <("$VZKIT" plan raw --format argv --accel tcg 2>/dev/null | python3 -c '
import shlex, sys
print("\n".join(shlex.split(sys.stdin.read())))')
argv=("${argv[@]/127.0.0.1:0-:22/127.0.0.1:$port-:22}")
mkdir -p "$VZKIT_HOME/vms/raw/run"
RAW_SSH=(ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10
         -i "$VZKIT_HOME/vms/raw/ssh_key" -o IdentitiesOnly=yes -p "$port" vzkit@127.0.0.1)
t0=$(now)
"${argv[@]}" -display none < /dev/null > "$WORK/raw-console.txt" 2>&1 &
RAW_PID=$!
until "${RAW_SSH[@]}" true < /dev/null > /dev/null 2>&1; do sleep 0.5; done
raw=$(python3 -c "print($(now) - $t0)")
kill "$RAW_PID"; wait "$RAW_PID" 2>/dev/null || true
RAW_PID=

t0=$(now)
"$VZKIT" run web --detach --accel tcg > /dev/null
until "$VZKIT" ssh web -- true < /dev/null > /dev/null 2>&1; do sleep 0.5; done
ours=$(python3 -c "print($(now) - $t0)")

# ---- (b) exec through the agent against ssh, on the running guest
mapfile -t ssh_argv < <("$VZKIT" ssh web --json -- true | python3 -c '
import json, sys
print("\n".join(json.load(sys.stdin)["argv"]))')
printf -v ssh_line '%q ' "${ssh_argv[@]}"
hyperfine -N --warmup 3 --runs 20 --export-json "$WORK/rt.json" \
  -n exec "$VZKIT exec web -- true" -n ssh "$ssh_line" > "$WORK/hyperfine.txt" 2>&1 \
  || { cat "$WORK/hyperfine.txt" >&2; exit 1; }
read -r exec_s ssh_s < <(python3 -c "
import json; r = {x['command']: x['mean'] for x in json.load(open('$WORK/rt.json'))['results']}
print(r['exec'], r['ssh'])")

python3 - "$raw" "$ours" "$exec_s" "$ssh_s" <<'PY'
import sys
raw, ours, ex, ssh = map(float, sys.argv[1:])
print(f"(a) boot to ssh: vzkit run --detach + vzkit ssh {ours:.1f} s, raw QEMU + ssh loop {raw:.1f} s: "
      f"ratio {ours / raw:.3f} (target <= 1.05)")
print(f"(b) round trip: vzkit exec -- true {ex * 1000:.0f} ms, ssh true {ssh * 1000:.0f} ms: "
      f"ratio {ex / ssh:.3f} (target <= 0.5)")
PY
