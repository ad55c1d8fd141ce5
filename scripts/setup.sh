#!/usr/bin/env bash
# Installs, from Debian 12's archive, what vzkit needs for one job. Safe to run again.
#
#   scripts/setup.sh [demo|test|all]      (default: all)
#
#   demo   build vzkit and boot the demo guest: compilers, CMake, the libraries, QEMU, and the
#          tools that make the guest's initramfs
#   test   demo + what the test suite uses: OVMF and the tools for the EFI guest, qemu-img,
#          clang and GNUstep for the VZ engine's contract tests, mmdebstrap for the Debian cloud
#          guest, mtools (cloud-init seeds), debugfs, ssh and python3 for the way-in test
#   all    test + the benchmarks: Google Benchmark, hyperfine, GNU time
#
# It prints one line per step; apt's own output goes to a log file, shown when a step fails.
set -euo pipefail

profile=${1:-all}
demo=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-filesystem1.81-dev
  libspdlog-dev libcli11-dev libvalijson-dev libcurl4-openssl-dev liblz4-dev libssl-dev
  qemu-system-x86 busybox-static cpio kmod util-linux
)
test=(
  libgtest-dev libgmock-dev
  qemu-utils ovmf systemd-boot-efi dosfstools mtools binutils procps btrfs-progs
  clang libgnustep-base-dev libblocksruntime-dev
  mmdebstrap debian-archive-keyring e2fsprogs openssh-client python3
  docker-registry skopeo apache2-utils
)
bench=(libbenchmark-dev hyperfine time bc)
case "$profile" in
  demo) packages=("${demo[@]}") ;;
  test) packages=("${demo[@]}" "${test[@]}") ;;
  all) packages=("${demo[@]}" "${test[@]}" "${bench[@]}") ;;
  -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "setup: unknown job '$profile'; use demo, test or all" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages for '$profile' are present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
log=${VZKIT_SETUP_LOG:-${TMPDIR:-/tmp}/vzkit-setup.log}
: > "$log"

# step TEXT COMMAND...: one line for the user, the command's output in the log.
step() {
  local text=$1 start=$SECONDS
  shift
  printf 'setup: %s ... ' "$text"
  if "$@" >>"$log" 2>&1; then
    echo "done ($((SECONDS - start)) s)"
  else
    echo "failed"
    echo "setup: '$*' failed; its output (from $log):" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}

step "reading Debian's package lists" $SUDO apt-get update
step "installing ${#missing[@]} packages (${missing[*]})" \
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
