#!/usr/bin/env bash
# Installs what vzkit needs to build, test and run its demo on Debian 12. Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-filesystem1.81-dev
  libspdlog-dev libcli11-dev libvalijson-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  qemu-system-x86 qemu-utils ovmf busybox-static cpio kmod
  systemd-boot-efi dosfstools mtools binutils procps
  hyperfine time
  clang libgnustep-base-dev libblocksruntime-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
