#!/usr/bin/env bash
# vzkit pull and push against skopeo, the reference OCI client, on the same image and the same
# registry (Debian's docker-registry on 127.0.0.1), measured in one run.
#
#   benchmarks/image_transfer.sh [ROUNDS]        (after scripts/build.sh vzkit; default 5 rounds)
#
# The image is a VM with a 2 GiB sparse disk holding about 500 MB of data (half random, half
# text), pushed by vzkit as tart's format (64 MiB LZ4 chunks). Each round, interleaved:
#   pull:  `vzkit clone REF vm` into an empty store (the pull and the VM made from it, one
#          command: what a user runs), and `vzkit pull REF` on its own, against
#          `skopeo copy docker://REF dir:D` (the same blobs, stored as they come). vzkit writes
#          the disk decoded (the data, about 477 MiB here), skopeo the compressed blobs (about
#          250 MiB), and a clone on a filesystem without reflinks copies the data once more;
#   push:  `vzkit push VM REF` to an empty registry, against `skopeo copy dir:D docker://REF2`
#          (blobs already compressed) to another empty registry.
# Every timed command starts after `sync`, so that none pays for writing back what the one
# before it left in the page cache (all of them, skopeo too, flush their own files to disk).
# Prints the medians and the ratios vzkit/skopeo of wall-clock and CPU time, and the load average
# (a busy machine skews wall-clock times). Targets: pull into a VM <= 1.0, push <= 1.0.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
ROUNDS=${1:-5}
BUILD_DIR=${BUILD_DIR:-build}
VZKIT="$PWD/$BUILD_DIR/bin/vzkit"
[ -x "$VZKIT" ] || { echo "build vzkit first: scripts/build.sh vzkit" >&2; exit 1; }
command -v skopeo >/dev/null && command -v docker-registry >/dev/null ||
  { echo "needs skopeo and docker-registry (scripts/setup.sh test)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/vzkit-image-bench.XXXXXX)
fail() { echo "image_transfer: $*" >&2; exit 1; }
. "$SRC/tests/lib/registry.sh"
trap 'registry_cleanup; rm -rf "$WORK"' EXIT
export REGISTRY_AUTH_FILE="$WORK/auth.json" DOCKER_CONFIG="$WORK/docker"

# The VM: 8 regions of 62.5 MB spread over 2 GiB, alternately random and text.
vm="$WORK/vm"
mkdir -p "$vm"
cp "$SRC/tests/data/vmlinuz" "$SRC/tests/data/initrd.img" "$vm/"
truncate -s 2G "$vm/disk.img"
for i in 0 1 2 3 4 5 6 7; do
  if [ $((i % 2)) = 0 ]; then
    head -c 62500000 /dev/urandom
  else
    (yes "line $i of a log file the guest wrote, with a counter and some words in it" || true) | head -c 62500000
  fi | dd of="$vm/disk.img" bs=1M seek=$((i * 256 + 3)) conv=notrunc status=none
done
cat >"$vm/spec.json" <<'EOF'
{"name": "bench", "cpus": 1, "memory": "512MiB", "devices": [
  {"plugin": "linux-boot", "kernel": "vmlinuz", "initrd": "initrd.img", "command_line": "console=ttyS0"},
  {"plugin": "serial-console"},
  {"plugin": "virtio-blk", "path": "disk.img"},
  {"plugin": "network", "mac": "02:00:00:00:be:ec"}]}
EOF
export VZKIT_HOME="$WORK/home"
"$VZKIT" create bench --from "$vm/spec.json" >/dev/null
echo "image: 2 GiB disk, $(du -m "$vm/disk.img" | cut -f1) MiB allocated"

# elapsed CMD...: seconds (wall clock) the command took; its output is discarded. The CPU
# seconds (user + system, children included) go to $WORK/cpu.
elapsed() {
  sync
  /usr/bin/time -f "%e %U %S" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; fail "failed: $*"; }
  read -r wall user sys <"$WORK/time"
  echo "$user + $sys" | bc -l >"$WORK/cpu"
  echo "$wall"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

vpush=() spush=() vpull=() spull=() vinto=() cvpush=() cspush=() cvpull=() cspull=() cvinto=()
for r in $(seq 1 "$ROUNDS"); do
  registry_start "v$r"
  ref="$REG_ADDR/bench/vm:v1"
  vpush+=("$(elapsed "$VZKIT" push bench "$ref" --insecure)") && cvpush+=("$(cat "$WORK/cpu")")
  rm -rf "$WORK/dir"
  spull+=("$(elapsed skopeo copy --src-tls-verify=false "docker://$ref" "dir:$WORK/dir")") && cspull+=("$(cat "$WORK/cpu")")
  pull_home="$WORK/pull-home"
  rm -rf "$pull_home"
  vpull+=("$(elapsed env VZKIT_HOME="$pull_home" "$VZKIT" pull "$ref" --insecure)") && cvpull+=("$(cat "$WORK/cpu")")
  rm -rf "$pull_home"
  vinto+=("$(elapsed env VZKIT_HOME="$pull_home" "$VZKIT" clone "$ref" copy --insecure)") && cvinto+=("$(cat "$WORK/cpu")")
  cmp -s "$pull_home/vms/copy/disk.img" "$vm/disk.img" || fail "the pulled disk differs from the pushed one"
  [ "$(du -m "$pull_home/vms/copy/disk.img" | cut -f1)" -lt 600 ] || fail "the pulled disk is not sparse"
  first_pid=$REG_PID
  registry_start "s$r"
  spush+=("$(elapsed skopeo copy --dest-tls-verify=false "dir:$WORK/dir" "docker://$REG_ADDR/bench/vm:v1")") &&
    cspush+=("$(cat "$WORK/cpu")")
  { kill -9 "$REG_PID" "$first_pid" && wait "$REG_PID" "$first_pid"; } 2>/dev/null || true
  rm -rf "$WORK/registry-v$r" "$WORK/registry-s$r" "$pull_home"
  echo "round $r: vzkit push ${vpush[-1]} s, skopeo push ${spush[-1]} s, vzkit pull ${vpull[-1]} s, vzkit clone REF (pull into a VM) ${vinto[-1]} s, skopeo pull ${spull[-1]} s"
done
mvpush=$(median "${vpush[@]}") mspush=$(median "${spush[@]}") mvpull=$(median "${vpull[@]}") mspull=$(median "${spull[@]}")
mvinto=$(median "${vinto[@]}")
printf 'pull into a VM: vzkit clone REF %.2f s, skopeo %.2f s, ratio %.2f (target <= 1.0)\n' "$mvinto" "$mspull" "$(echo "$mvinto / $mspull" | bc -l)"
printf 'pull into the store: vzkit pull %.2f s, ratio %.2f\n' "$mvpull" "$(echo "$mvpull / $mspull" | bc -l)"
printf 'push: vzkit %.2f s, skopeo %.2f s, ratio %.2f (target <= 1.0)\n' "$mvpush" "$mspush" "$(echo "$mvpush / $mspush" | bc -l)"
# CPU time says how much work each does, whatever else the machine runs meanwhile.
c1=$(median "${cvinto[@]}") c2=$(median "${cspull[@]}") c3=$(median "${cvpush[@]}") c4=$(median "${cspush[@]}")
printf 'CPU (user+sys): pull into a VM vzkit %.2f s, skopeo %.2f s, ratio %.2f; push vzkit %.2f s, skopeo %.2f s, ratio %.2f\n' \
  "$c1" "$c2" "$(echo "$c1 / $c2" | bc -l)" "$c3" "$c4" "$(echo "$c3 / $c4" | bc -l)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
