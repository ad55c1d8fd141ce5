#!/usr/bin/env bash
# How long `vzkit clone` takes for a VM with a 64 GiB sparse disk (docs/images.md):
#   - on btrfs (a loop-mounted image; needs root), where the disk is a copy-on-write clone: the
#     time should not depend on the disk at all (target < 100 ms);
#   - on the filesystem of $TMPDIR (ext4 here), where the disk is a sparse copy: the time grows
#     with the data the disk holds (256 MiB and 1 GiB), not with its 64 GiB size.
# Each is the mean of hyperfine runs of the whole command, in one run of this script; each run
# starts after `sync`, so that none pays for writing back the copy the one before it made.
#
#   benchmarks/clone_time.sh [VZKIT_BINARY]    (default build/bin/vzkit)
set -euo pipefail
cd "$(dirname "$0")/.."
VZKIT=$(realpath "${1:-build/bin/vzkit}")
W=$(mktemp -d "${TMPDIR:-/tmp}/vzkit-clone-bench.XXXXXX")
cleanup() {
  mountpoint -q "$W/btrfs" 2>/dev/null && umount "$W/btrfs"
  rm -rf "$W"
}
trap cleanup EXIT

# make_vm HOME MIB: a VM 'src' in HOME with a 64 GiB disk holding MIB MiB of data in 64 places.
make_vm() {
  local home=$1 mib=$2 dir="$1/files"
  mkdir -p "$dir"
  cp tests/data/vmlinuz "$dir/"
  truncate -s 64G "$dir/disk.img"
  local piece=$((mib / 64))
  for i in $(seq 0 63); do
    dd if=/dev/urandom of="$dir/disk.img" bs=1M count=$piece seek=$((i * 1024)) conv=notrunc status=none
  done
  printf '{"name": "src", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"}, {"plugin": "virtio-blk", "path": "disk.img"}]}' > "$dir/src.json"
  # The VM's own disk: `vzkit clone` of a VM made from this spec copies it into the clone.
  VZKIT_HOME=$home "$VZKIT" create src --from "$dir/src.json" > /dev/null
}

time_clone() {  # HOME LABEL
  local out="$W/$2.json"
  VZKIT_HOME=$1 hyperfine --style none --warmup 1 --runs "${RUNS:-10}" --export-json "$out" \
    --prepare "VZKIT_HOME=$1 $VZKIT delete copy > /dev/null 2>&1; sync" "VZKIT_HOME=$1 $VZKIT clone src copy" > /dev/null
  python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; print('%-44s %8.1f ms (+- %.1f)' % (sys.argv[2], r['mean']*1000, r['stddev']*1000))" "$out" "$2"
}

if [ "$(id -u)" = 0 ] && command -v mkfs.btrfs > /dev/null; then
  truncate -s 4G "$W/btrfs.img"
  mkfs.btrfs -q "$W/btrfs.img" > /dev/null
  mkdir -p "$W/btrfs"
  if mount -o loop "$W/btrfs.img" "$W/btrfs"; then
    make_vm "$W/btrfs/home" 1024
    time_clone "$W/btrfs/home" "btrfs, 64 GiB disk with 1 GiB of data (clone)"
    VZKIT_HOME="$W/btrfs/home" "$VZKIT" clone src check --json | grep -q '"method": "clone"' \
      || echo "  (btrfs did not clone: the disk was copied)"
  else
    echo "btrfs: cannot loop-mount here; skipped"
  fi
else
  echo "btrfs: needs root and btrfs-progs; skipped"
fi
fs=$(df -T "$W" | awk 'NR == 2 { print $2 }')
for mib in 256 1024; do
  make_vm "$W/plain-$mib" "$mib"
  time_clone "$W/plain-$mib" "$fs, 64 GiB disk with $mib MiB of data"
  rm -rf "$W/plain-$mib"
done
