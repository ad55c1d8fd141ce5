#!/usr/bin/env bash
# The demo: installs what is missing, builds vzkit, builds a tiny Linux guest from Debian packages
# (a Debian kernel and a busybox initramfs) and boots it with vzkit. The guest reports what it
# sees on its console (disks, the USB stick, the shared folder, the GPU, entropy, the network)
# and powers off; the command exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh demo
scripts/build.sh vzkit  # the command and its plugins: no tests, benchmarks or VZ contract tests
BUILD_DIR=${BUILD_DIR:-build}
DEMO="$BUILD_DIR/demo"
VZKIT_GUEST_ESP=0 scripts/build-demo-guest.sh "$DEMO"
cp examples/demo.json "$DEMO/demo.json"
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: note: Debian 12's virtiofsd needs root; run this script as root if the share fails" >&2
fi
echo "demo: booting the guest with: $BUILD_DIR/bin/vzkit run $DEMO/demo.json" >&2
exec "$BUILD_DIR/bin/vzkit" run "$DEMO/demo.json" "$@"
