#!/usr/bin/env bash
# `vzkit plan` as a whole process (load every plugin, parse, validate, assemble, print) against
# `qemu-system-x86_64 --version`, in the same hyperfine run. Target: no slower.
#
#   benchmarks/cli_time.sh            (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
VZKIT="$PWD/${BUILD_DIR:-build}/bin/vzkit"
W=$(mktemp -d /tmp/vzkit-cli-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
cp tests/data/vmlinuz tests/data/initrd.img "$W/"
truncate -s 1M "$W/disk.img"
cp examples/linux-direct.json "$W/"
hyperfine --warmup 3 --runs 30 -N --export-json "$W/h.json" \
  "$VZKIT plan $W/linux-direct.json --engine qemu --format argv" \
  "qemu-system-x86_64 --version"
python3 - "$W/h.json" <<'PY' 2>/dev/null || true
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("ratio vzkit plan / qemu --version (means): %.2f" % (r[0]["mean"] / r[1]["mean"]))
PY
