#!/usr/bin/env bash
# How long a newcomer and a plugin author wait for the build, on this machine (docs/build.md):
#   1. a clean build of what the demo needs (`scripts/build.sh vzkit`: the command and its plugins)
#   2. a clean build of everything (`scripts/build.sh`)
#   3. each in-tree plugin recompiled after an edit of its source (touch + ninja that plugin)
#   4. the cloud-init plugin built out of tree (plugins/cloud-init) configured and built against
#      an installed vzkit
# Targets (issue 11): 2 ≤ 180 s, 3 ≤ 3 s each, 4 ≤ 10 s.
#
#   benchmarks/build_time.sh          (after scripts/setup.sh; uses temporary build folders)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
W=$(mktemp -d /tmp/vzkit-build-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

t=$(now)
BUILD_DIR="$W/demo" scripts/build.sh vzkit > "$W/demo.log" 2>&1
echo "clean build, demo targets (scripts/build.sh vzkit): $(since "$t") s"

t=$(now)
BUILD_DIR="$W/all" scripts/build.sh > "$W/all.log" 2>&1
echo "clean build, everything (scripts/build.sh): $(since "$t") s"
awk 'NR > 1 { s += ($2 - $1) / 1000 } END { printf "  compile and link jobs: %.0f s of CPU\n", s }' "$W/all/.ninja_log"

worst=0
for dir in plugins/*/; do
  name=$(basename "$dir")
  src=$(ls "$dir"*.cpp | head -n 1)
  touch "$src"
  t=$(now)
  ninja -C "$W/all" "vzkit-plugin-$name" > /dev/null
  s=$(since "$t")
  echo "  recompile after an edit: $name $s s"
  worst=$(awk -v a="$worst" -v b="$s" 'BEGIN { print (b > a) ? b : a }')
done
echo "one plugin after an edit of its source: at most $worst s"

cmake --install "$W/all" --prefix "$W/prefix" > /dev/null
cp -r plugins/cloud-init "$W/cloud-init"
t=$(now)
cmake -S "$W/cloud-init" -B "$W/cloud-init-build" -G Ninja -DCMAKE_PREFIX_PATH="$W/prefix" > /dev/null
cmake --build "$W/cloud-init-build" > /dev/null
echo "out-of-tree plugin, configure + build: $(since "$t") s"
