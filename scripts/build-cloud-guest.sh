#!/usr/bin/env bash
# Builds, from Debian's archive only, a real Debian 12 (bookworm) cloud guest: systemd,
# openssh-server, cloud-init (NoCloud), qemu-guest-agent and the Debian cloud kernel.
#
#   scripts/build-cloud-guest.sh DIR
#
# Writes into DIR:
#   root.img        raw ext4 filesystem, no partition table (the guest mounts it as root=/dev/vda),
#                   made without loop mounts (mkfs.ext4 -d) and only a little larger than its
#                   contents. Grow the file (truncate -s 4G) before booting: cloud-init's
#                   resize_rootfs (resize2fs on /dev/vda) grows the filesystem at boot.
#   vmlinuz         the image's /boot/vmlinuz-<KVER> (linux-image-cloud-amd64: LZ4; virtio-blk/-net/
#                   -console/-rng, vsock and ACPI button are modules, ext4 is built in)
#   initrd.img      the image's /boot/initrd.img-<KVER> (initramfs-tools, only the virtio modules
#                   needed to mount root: virtio_pci, virtio_mmio, virtio_blk)
#   kernel-version  the kernel release (e.g. 6.1.0-57-cloud-amd64)
#   cmdline         the kernel command line to boot with: root=/dev/vda rw console=ttyS0 ...
#   packages.txt    "name version" of every package in the image
#
# Boot (direct kernel boot, TCG is fine):
#   qemu-system-x86_64 -machine q35,accel=tcg -m 1024 -smp 1 -nodefaults -display none \
#     -kernel DIR/vmlinuz -initrd DIR/initrd.img -append "$(cat DIR/cmdline)" \
#     -drive if=none,id=root,file=root.img,format=raw -device virtio-blk-pci,drive=root \
#     -drive if=none,id=seed,file=seed.img,format=raw,readonly=on -device virtio-blk-pci,drive=seed \
#     -netdev user,id=n0,hostfwd=tcp:127.0.0.1:PORT-:22 -device virtio-net-pci,netdev=n0 \
#     -device virtio-serial-pci -chardev socket,id=qga0,path=qga.sock,server=on,wait=off \
#     -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 -serial file:console.log
# The root disk must be the first virtio-blk device (vda). The NoCloud seed is a vfat or iso9660
# filesystem labelled "cidata" holding meta-data and user-data (#cloud-config).
# In the guest: cloud-init datasource_list [ NoCloud, None ] (no network metadata probing);
# systemd-networkd + systemd-resolved (cloud-init's fallback config without a network-config:
# DHCP on the first NIC); serial getty on ttyS0; qemu-guest-agent started by udev as soon as the
# org.qemu.guest_agent.0 port appears (before cloud-init, not after basic.target); ssh host keys
# (ed25519 + ecdsa only) and machine-id are created at first boot; apt-daily and e2scrub are off.
# cloud-init's resize_rootfs runs resize2fs /dev/vda at every boot (growpart has nothing to do
# on a bare filesystem and is not installed). The console prints the host keys between
# "-----BEGIN SSH HOST KEY KEYS-----" and "-----END SSH HOST KEY KEYS-----" at the end of boot.
# First boot under TCG (1 vCPU): agent after about 20 s, ssh after about 40 s.
#
# The mirror is the one of this machine's apt sources (override: DEBIAN_MIRROR,
# DEBIAN_SECURITY_MIRROR). Needs root (mmdebstrap --mode=root, mkfs.ext4 -d keeps owners).
#
# Idempotent: a complete DIR (stamp file .complete newer than this script) returns at once;
# otherwise the image is built again from scratch (about 2 minutes).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi

SCRIPT=$(readlink -f "$0")
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
STAMP="$OUT/.complete"
OUTPUTS=(root.img vmlinuz initrd.img kernel-version cmdline packages.txt)
SUITE=bookworm
# Kernel command line written to DIR/cmdline.
CMDLINE="root=/dev/vda rw console=ttyS0"

log() { echo "build-cloud-guest: $*" >&2; }
# fresh FILE: FILE exists and is newer than this script.
fresh() { [ -e "$1" ] && [ "$1" -nt "$SCRIPT" ]; }

all_fresh() {
  fresh "$STAMP" || return 1
  local f
  for f in "${OUTPUTS[@]}"; do [ -e "$OUT/$f" ] || return 1; done
}

if all_fresh; then
  log "$OUT is up to date"
  exit 0
fi

# Serialise concurrent runs on the same DIR (e.g. parallel test fixtures).
exec 9>"$OUT/.lock"
flock 9
if all_fresh; then
  log "$OUT is up to date"
  exit 0
fi
rm -f "$STAMP"

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (mmdebstrap --mode=root; mkfs.ext4 -d must keep file owners)"
  exit 1
fi

# ---------------------------------------------------------------------------------------------
# Tools (Debian packages only).
need_pkgs=()
command -v mmdebstrap >/dev/null 2>&1 || need_pkgs+=(mmdebstrap)
command -v mkfs.ext4 >/dev/null 2>&1 || need_pkgs+=(e2fsprogs)
command -v flock >/dev/null 2>&1 || need_pkgs+=(util-linux)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need_pkgs+=(debian-archive-keyring)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  fi
fi
# mkfs.ext4 -d needs e2fsprogs >= 1.43
mke2fs -V 2>&1 | awk 'NR==1{split($2,v,"."); exit !(v[1]>1 || (v[1]==1 && v[2]>=43))}' \
  || { log "mke2fs is too old for -d (need e2fsprogs >= 1.43)"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Mirror: the Debian archive this machine's apt uses (deb822 .sources or one-line .list entries).
# host_uris: "URI SUITE" for every enabled deb entry.
host_uris() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '$1=="deb" { i=2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i, $(i+1) }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk 'BEGIN { RS=""; FS="\n" }
      { types=""; uris=""; suites=""; enabled="yes"
        for (i = 1; i <= NF; i++) {
          line = $i; if (line ~ /^#/) continue
          k = tolower(line); sub(/:.*/, "", k); v = line; sub(/^[^:]*:[ \t]*/, "", v)
          if (k == "types") types = v; else if (k == "uris") uris = v
          else if (k == "suites") suites = v; else if (k == "enabled") enabled = tolower(v)
        }
        if (enabled == "no" || (" " types " ") !~ / deb /) next
        nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
        for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++) if (u[a] != "" && s[b] != "") print u[a], s[b]
      }' "$f"
  done
}
# Debian release names only: other repositories (vendors' apt repos) are never passed on.
DEBIAN_SUITES='^(buster|bullseye|bookworm|trixie|forky|sid|oldoldstable|oldstable|stable|testing|unstable)'
MIRROR=${DEBIAN_MIRROR:-$(host_uris | awk -v re="$DEBIAN_SUITES(-updates)?\$" '$2 ~ re {print $1; exit}')}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(host_uris | awk -v re="$DEBIAN_SUITES(-security|/updates)\$" '$2 ~ re {print $1; exit}')}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
MIRROR=${MIRROR%/}
SECURITY_MIRROR=${SECURITY_MIRROR%/}

# ---------------------------------------------------------------------------------------------
# Hooks run by mmdebstrap with the chroot directory as $1.

# Before the kernel and initramfs-tools are installed, so the initrd is built once, small:
# only the drivers for a virtio-blk root (ext4 is built into the cloud kernel).
write_essential_hook() {
cat <<'HOOK'
#!/bin/sh
set -eu
R=$1
mkdir -p "$R/etc/initramfs-tools/conf.d" "$R/etc/initramfs-tools/hooks"
cat > "$R/etc/initramfs-tools/conf.d/vzkit.conf" <<'EOF'
# vzkit cloud guest: only the modules that the hooks and /etc/initramfs-tools/modules name
MODULES=list
# no swap, no hibernation: do not wait for a resume device
RESUME=none
EOF
cat > "$R/etc/initramfs-tools/hooks/vzkit-virtio" <<'EOF'
#!/bin/sh
# vzkit cloud guest: the root filesystem is on virtio-blk (PCI on q35, MMIO on microvm)
PREREQ=""
prereqs() { echo "$PREREQ"; }
case "$1" in prereqs) prereqs; exit 0;; esac
. /usr/share/initramfs-tools/hook-functions
manual_add_modules virtio_pci virtio_mmio virtio_blk
EOF
chmod 755 "$R/etc/initramfs-tools/hooks/vzkit-virtio"
HOOK
}

write_customize_hook() {
cat <<'HOOK'
#!/bin/sh
set -eu
R=$1

# Login prompt on the serial console (also without console=ttyS0 on the command line).
chroot "$R" systemctl enable serial-getty@ttyS0.service
# Network: systemd-networkd applies what cloud-init renders (without a network-config in the
# seed: DHCP on the first NIC). Do not hold boot (cloud-init.service, then sshd) for 2 minutes
# when the guest has no NIC or no DHCP answer.
chroot "$R" systemctl enable systemd-networkd.service systemd-resolved.service
mkdir -p "$R/etc/systemd/system/systemd-networkd-wait-online.service.d"
cat > "$R/etc/systemd/system/systemd-networkd-wait-online.service.d/vzkit.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=20
EOF
ln -sf ../run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"
# Periodic jobs that would wake up in short-lived test VMs and cost seconds under TCG
# (dpkg-db-backup runs at midnight: 6.5 s of CPU in a boot that crossed it). fstrim.timer stays.
# Masked rather than disabled: systemd's first-boot preset must not bring them back.
chroot "$R" systemctl mask apt-daily.timer apt-daily-upgrade.timer apt-daily.service \
  apt-daily-upgrade.service e2scrub_all.timer e2scrub_all.service e2scrub_reap.service \
  dpkg-db-backup.timer dpkg-db-backup.service

# qemu-guest-agent is started by udev (60-qemu-guest-agent.rules) once the virtio-serial port
# org.qemu.guest_agent.0 appears (BindsTo= its .device unit). With default dependencies it would
# wait for basic.target, i.e. for both cloud-init stages that run before sysinit.target; without
# them it answers as early as udev sees the port, and the host can watch the rest of the boot
# (e.g. guest-exec "cloud-init status --wait").
mkdir -p "$R/etc/systemd/system/qemu-guest-agent.service.d"
cat > "$R/etc/systemd/system/qemu-guest-agent.service.d/vzkit.conf" <<'EOF'
[Unit]
DefaultDependencies=no
After=systemd-journald.socket systemd-remount-fs.service
Conflicts=shutdown.target
Before=shutdown.target
EOF

# On VZ the agent's channel is vsock (vzkit's guest-agent plugin: the runner connects the host's
# run/qga.sock to port 9001): a second qemu-ga listens there, started by udev once /dev/vsock
# appears (the virtio vsock transport loads with the device). Without a vsock device it never starts.
cat > "$R/etc/systemd/system/qemu-guest-agent-vsock.service" <<'EOF'
[Unit]
Description=QEMU Guest Agent on vsock port 9001
DefaultDependencies=no
After=systemd-journald.socket systemd-remount-fs.service
Conflicts=shutdown.target
Before=shutdown.target
ConditionPathExists=/dev/vsock
[Service]
ExecStart=/usr/sbin/qemu-ga --method=vsock-listen --path=4294967295:9001 --statedir=/run/qemu-ga-vsock --pidfile=/run/qemu-ga-vsock.pid
Restart=always
RuntimeDirectory=qemu-ga-vsock
RestartSec=1
EOF
cat > "$R/etc/udev/rules.d/61-vzkit-vsock-agent.rules" <<'EOF'
SUBSYSTEM=="misc", KERNEL=="vsock", TAG+="systemd", ENV{SYSTEMD_WANTS}+="qemu-guest-agent-vsock.service"
EOF

# cloud-init: only the NoCloud seed (a disk labelled cidata), no network metadata services.
cat > "$R/etc/cloud/cloud.cfg.d/90-vzkit.cfg" <<'EOF'
# vzkit cloud guest
datasource_list: [ NoCloud, None ]
# C.UTF-8 needs no locale-gen (the Debian default en_US.UTF-8 would run it at first boot)
locale: C.UTF-8
# direct kernel boot: there is no GRUB to configure
grub_dpkg:
  enabled: false
# Host keys made at first boot, before sshd starts: a 3072-bit RSA key takes about 7 s under
# TCG (the default list also has DSA, which sshd no longer accepts).
ssh_genkeytypes: [ ed25519, ecdsa ]
EOF

cat > "$R/etc/fstab" <<'EOF'
# <file system>     <mount point> <type> <options>                <dump> <pass>
LABEL=vzkit-root    /             ext4   defaults,errors=remount-ro 0    1
EOF
echo debian > "$R/etc/hostname"
cat > "$R/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF

# Created at first boot: ssh host keys (cloud-init), machine-id (systemd; mmdebstrap empties it).
rm -f "$R"/etc/ssh/ssh_host_*
rm -rf "$R"/var/lib/cloud/* "$R"/var/log/cloud-init*
rm -f "$R"/var/cache/debconf/*-old "$R"/var/lib/dpkg/*-old
chroot "$R" dpkg-query -W -f '${Package} ${Version}\n' > "$R/.vzkit-packages"
HOOK
}

# ---------------------------------------------------------------------------------------------
# Build: rootfs (mmdebstrap) -> kernel + initrd -> ext4 image. One step: all outputs come from
# the same rootfs, which is deleted afterwards.
# remove_work DIR: a killed mmdebstrap can leave /proc, /sys and /dev mounted in its chroot;
# unmount them first and never let rm cross into a mount.
remove_work() {
  local m
  for m in $(findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1' | sort -r); do
    umount -l "$m" || true
  done
  rm -rf --one-file-system "$1"
}
START=$(date +%s)
for w in "$OUT"/.work.*; do [ -e "$w" ] && remove_work "$w"; done
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'remove_work "$WORK"' EXIT
write_essential_hook > "$WORK/essential-hook"
write_customize_hook > "$WORK/customize-hook"
chmod 755 "$WORK/essential-hook" "$WORK/customize-hook"
ROOTFS="$WORK/rootfs"

PACKAGES=(
  systemd systemd-sysv systemd-resolved udev dbus    # init, device units, logind (ACPI power button)
  linux-image-cloud-amd64 initramfs-tools
  openssh-server cloud-init qemu-guest-agent sudo
  e2fsprogs                                          # resize2fs for cloud-init's resize_rootfs
  iproute2 netbase ca-certificates
)
# No docs, man pages, translations; locale sources only for C/POSIX and en_US (locale-gen works).
DPKGOPTS=(
  'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright'
  'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*'
  'path-exclude=/usr/share/lintian/*' 'path-exclude=/usr/share/bug/*'
  'path-exclude=/usr/share/locale/*' 'path-include=/usr/share/locale/locale.alias'
  'path-exclude=/usr/share/i18n/locales/*'
  'path-include=/usr/share/i18n/locales/C' 'path-include=/usr/share/i18n/locales/POSIX'
  'path-include=/usr/share/i18n/locales/en_US' 'path-include=/usr/share/i18n/locales/en_GB'
  'path-include=/usr/share/i18n/locales/i18n*' 'path-include=/usr/share/i18n/locales/iso14651_t1*'
  'path-include=/usr/share/i18n/locales/translit_*'
  'path-exclude=/usr/share/i18n/charmaps/*' 'path-include=/usr/share/i18n/charmaps/UTF-8.gz'
)
args=(--variant=apt --mode=root --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
      --include="$(IFS=,; echo "${PACKAGES[*]}")"
      --essential-hook="$WORK/essential-hook" --customize-hook="$WORK/customize-hook")
for o in "${DPKGOPTS[@]}"; do args+=(--dpkgopt="$o"); done

log "mmdebstrap $SUITE from $MIRROR (security: $SECURITY_MIRROR)"
# Progress bars are noise in logs: mmdebstrap's status goes to a file, shown on failure.
if ! mmdebstrap "${args[@]}" --logfile="$WORK/mmdebstrap.log" "$SUITE" "$ROOTFS" \
      "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
      "deb $SECURITY_MIRROR $SUITE-security main"; then
  tail -n 40 "$WORK/mmdebstrap.log" >&2
  log "mmdebstrap failed"
  exit 1
fi
log "rootfs done after $(( $(date +%s) - START )) s"

# Kernel and initrd from the image.
KVER=$(cd "$ROOTFS/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n1)
[ -n "$KVER" ] && [ -f "$ROOTFS/boot/initrd.img-$KVER" ] \
  || { log "no kernel/initrd in $ROOTFS/boot"; exit 1; }
chroot "$ROOTFS" lsinitramfs "/boot/initrd.img-$KVER" > "$WORK/initrd.list"
for m in virtio_pci virtio_blk; do
  grep -q "/$m\.ko\$" "$WORK/initrd.list" || { log "initrd.img-$KVER lacks $m.ko"; exit 1; }
done
cp "$ROOTFS/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
cp "$ROOTFS/boot/initrd.img-$KVER" "$WORK/initrd.img"
mv "$ROOTFS/.vzkit-packages" "$WORK/packages.txt"

# ext4 image from the directory: contents + 10 % + 64 MiB (journal, metadata, a little room).
# 4 KiB blocks and 256-byte inodes forced: mke2fs would pick 1 KiB blocks and a dense inode
# table for a filesystem this small, and resize2fs keeps both when it grows the filesystem.
used_mib=$(du -s --block-size=1M -x "$ROOTFS" | cut -f1)
size_mib=$(( used_mib + used_mib / 10 + 64 ))
nfiles=$(find "$ROOTFS" -xdev | wc -l)
inodes=$(( size_mib * 1024 * 1024 / 16384 ))
[ "$inodes" -ge $(( nfiles * 3 / 2 )) ] || inodes=$(( nfiles * 3 / 2 ))
rm -f "$WORK/root.img"
truncate -s "${size_mib}M" "$WORK/root.img"
mkfs.ext4 -q -F -L vzkit-root -b 4096 -I 256 -N "$inodes" -m 1 -d "$ROOTFS" "$WORK/root.img"
e2fsck -fn "$WORK/root.img" > "$WORK/e2fsck.log" 2>&1 \
  || { cat "$WORK/e2fsck.log" >&2; log "e2fsck found errors in root.img"; exit 1; }

for f in root.img vmlinuz initrd.img packages.txt; do mv "$WORK/$f" "$OUT/$f"; done
echo "$KVER" > "$OUT/kernel-version"
echo "$CMDLINE" > "$OUT/cmdline"
remove_work "$WORK"
trap - EXIT
touch "$STAMP"
log "done in $(( $(date +%s) - START )) s: $OUT (kernel $KVER; root.img ${size_mib} MiB," \
    "$(du -k "$OUT/root.img" | cut -f1) KiB allocated; $used_mib MiB of files)"
