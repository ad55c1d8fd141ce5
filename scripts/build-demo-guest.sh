#!/usr/bin/env bash
# Builds, from Debian packages only, the tiny Linux guest used by vzkit's demo and end-to-end tests.
#
#   scripts/build-demo-guest.sh OUTDIR
#
# Writes into OUTDIR:
#   vmlinuz        the generic Debian kernel (linux-image-<ABI>-amd64: has USB and DRM, unlike -cloud)
#   initrd.img     busybox-static + the needed modules + /init (prints "VZKIT ..." lines, then powers off)
#   disk.img       16 MiB sparse raw image, first sector starts with VZKIT-DISK-MARKER
#   usb.img        1 MiB raw image, starts with VZKIT-USB-MARKER
#   esp.img        (unless VZKIT_GUEST_ESP=0) EFI system partition (FAT, no partition table) holding a unified kernel image
#                  at \EFI\BOOT\BOOTX64.EFI with the command line "console=ttyS0 quiet vzkit.efitest=auto"
#   share/hello.txt  "hello from the host"
#   kernel-version   the kernel release the initrd's modules belong to (e.g. 6.1.0-56-amd64)
#   cache/         the downloaded .deb and its unpacked tree (reused by later runs)
# The line format printed by /init is documented in tests/e2e/README.md (a contract: keep in sync).
#
# Idempotent: a step is skipped when its output exists and is newer than this script; a complete
# OUTDIR (stamp file .complete newer than this script) returns at once.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi

SCRIPT=$(readlink -f "$0")
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
STAMP="$OUT/.complete"
# VZKIT_GUEST_ESP=0 leaves out esp.img (the EFI test's disk) and the packages that make it.
WITH_ESP=${VZKIT_GUEST_ESP:-1}
OUTPUTS=(vmlinuz initrd.img disk.img usb.img share/hello.txt kernel-version)
[ "$WITH_ESP" = 0 ] || OUTPUTS+=(esp.img)

log() { echo "build-demo-guest: $*" >&2; }
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

# Serialise concurrent runs on the same OUTDIR (e.g. parallel test fixtures).
exec 9>"$OUT/.lock"
flock 9
if all_fresh; then
  log "$OUT is up to date"
  exit 0
fi
rm -f "$STAMP"

# ---------------------------------------------------------------------------------------------
# Tools (Debian packages only). Nothing else is installed system-wide.
need_pkgs=()
command -v cpio >/dev/null 2>&1 || need_pkgs+=(cpio)
{ command -v depmod && command -v modprobe; } >/dev/null 2>&1 || need_pkgs+=(kmod)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" \
  || need_pkgs+=(busybox-static)
command -v flock >/dev/null 2>&1 || need_pkgs+=(util-linux)
if [ "$WITH_ESP" != 0 ]; then
  [ -e /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] || need_pkgs+=(systemd-boot-efi)
  command -v mkfs.vfat >/dev/null 2>&1 || need_pkgs+=(dosfstools)
  command -v mcopy >/dev/null 2>&1 || need_pkgs+=(mtools)
  command -v objcopy >/dev/null 2>&1 || need_pkgs+=(binutils)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  fi
fi
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || { log "no $BUSYBOX after installing busybox-static"; exit 1; }

# ---------------------------------------------------------------------------------------------
# Kernel: linux-image-<ABI>-amd64, fetched with apt-get download, unpacked with dpkg-deb -x.
CACHE="$OUT/cache"
ROOT="$CACHE/root"
mkdir -p "$CACHE"

kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '$1=="Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ {print $2; exit}'
}

need_kernel_tree=0
fresh "$OUT/vmlinuz" && fresh "$OUT/kernel-version" || need_kernel_tree=1
fresh "$OUT/initrd.img" && fresh "$OUT/kernel-version" || need_kernel_tree=1

if [ $need_kernel_tree -eq 1 ]; then
  PKG=$(kernel_pkg || true)
  if [ -z "$PKG" ]; then
    log "apt-cache knows no linux-image-amd64; running apt-get update"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    PKG=$(kernel_pkg || true)
  fi
  [ -n "$PKG" ] || { log "cannot resolve linux-image-amd64 to a kernel package"; exit 1; }
  KVER=${PKG#linux-image-}

  DEB=$(ls -t "$CACHE/${PKG}_"*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$DEB" ]; then
    log "downloading $PKG"
    # As root apt prints a harmless "Download is performed unsandboxed" warning.
    (cd "$CACHE" && apt-get download -q "$PKG" 2>&1 | grep -v -e '^W: Download is performed unsandboxed' >&2 || true)
    DEB=$(ls -t "$CACHE/${PKG}_"*.deb 2>/dev/null | head -n1 || true)
    [ -n "$DEB" ] || { log "apt-get download $PKG failed"; exit 1; }
  fi

  # The unpacked tree is reused while it matches this .deb and was depmod'ed.
  if ! { [ -e "$ROOT/.depmod-done" ] && [ "$(cat "$ROOT/.depmod-done")" = "$(basename "$DEB")" ]; }; then
    log "unpacking $(basename "$DEB")"
    rm -rf "$ROOT" "$ROOT.tmp"
    mkdir -p "$ROOT.tmp"
    dpkg-deb -x "$DEB" "$ROOT.tmp"
    depmod -b "$ROOT.tmp" "$KVER"        # the .deb ships no modules.dep
    basename "$DEB" > "$ROOT.tmp/.depmod-done"
    mv "$ROOT.tmp" "$ROOT"
  fi

  [ -f "$ROOT/boot/vmlinuz-$KVER" ] || { log "no boot/vmlinuz-$KVER in $DEB"; exit 1; }
  if ! fresh "$OUT/vmlinuz" || [ "$(cat "$OUT/kernel-version" 2>/dev/null)" != "$KVER" ]; then
    cp "$ROOT/boot/vmlinuz-$KVER" "$OUT/vmlinuz.tmp"
    mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
    # initrd must be rebuilt when the kernel changes
    [ "$(cat "$OUT/kernel-version" 2>/dev/null)" = "$KVER" ] || rm -f "$OUT/initrd.img"
  fi
  echo "$KVER" > "$OUT/kernel-version"
fi
KVER=$(cat "$OUT/kernel-version")

# ---------------------------------------------------------------------------------------------
# initramfs
MODULES=(virtio_pci virtio_blk virtio_net virtio_console virtio_rng virtio_balloon virtiofs
         vmw_vsock_virtio_transport virtio_input evdev efivarfs button
         virtio_gpu xhci_pci usb_storage sd_mod usbhid hid_generic
         vfat nls_cp437 nls_ascii nls_utf8)

write_init() {
cat <<'INIT'
#!/bin/busybox sh
# vzkit demo/e2e guest init. Prints "VZKIT ..." lines (format: tests/e2e/README.md), then powers off.
/bin/busybox mount -t proc proc /proc
read up _ < /proc/uptime
# leading newline: firmware (OVMF) leaves escape sequences on the console without a line end
printf '\nVZKIT init start uptime=%s\n' "$up"

/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /tmp /mnt/share /run /var/run

err() { echo "VZKIT error $*"; }
# arg NAME: value of NAME=... on the kernel command line (last one wins)
arg() { v=; for a in $(cat /proc/cmdline); do case "$a" in "$1"=*) v="${a#*=}";; esac; done; echo "$v"; }
# bounded SECS CMD...: run CMD, kill it after SECS seconds; returns 124 on timeout
bounded() {
  s=$1; shift
  "$@" &
  p=$!
  n=$((s * 10))
  while [ $n -gt 0 ] && kill -0 $p 2>/dev/null; do
    # reap a finished child at once
    if ! [ -d /proc/$p ] || grep -q '^State:.*Z' /proc/$p/status 2>/dev/null; then break; fi
    sleep 0.1; n=$((n - 1))
  done
  if kill -0 $p 2>/dev/null && ! grep -q '^State:.*Z' /proc/$p/status 2>/dev/null; then
    kill -9 $p 2>/dev/null; return 124
  fi
  wait $p
}
# waitfor SECS TESTEXPR...: poll every 0.1 s until the test succeeds; 1 on timeout
waitfor() {
  n=$(($1 * 10)); shift
  while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
  "$@"
}
uptime_s() { read u _ < /proc/uptime; echo "$u"; }
exists_glob() { for f in "$@"; do [ -e "$f" ] && return 0; done; return 1; }
virtio_id_bound() {
  for d in /sys/bus/virtio/devices/*; do
    [ -e "$d/device" ] || continue
    [ $(($(cat "$d/device"))) -eq "$1" ] && [ -e "$d/driver" ] && return 0
  done
  return 1
}
virtio_id_present() {
  for d in /sys/bus/virtio/devices/*; do
    [ -e "$d/device" ] && [ $(($(cat "$d/device"))) -eq "$1" ] && return 0
  done
  return 1
}

# order: one "file.ko [params]" per line, dependencies first; failures are expected for some
# (crct10dif-pclmul has no PCLMUL under TCG) and ignored
while read -r m p; do insmod /lib/mods/$m $p 2>/dev/null; done < /lib/mods/order

# --- virtio devices (ids: 1 net, 2 blk, 3 console, 4 rng, 5 balloon, 16 gpu, 18 input, 19 vsock, 26 fs)
for d in /sys/bus/virtio/devices/*; do
  [ -e "$d/device" ] || continue
  drv=none
  [ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
  echo "VZKIT virtio $(basename "$d") id=$(($(cat "$d/device"))) driver=$drv"
done

# --- block devices (USB enumeration is asynchronous: wait for sda when an xHCI is bound)
# usb_no_storage: true once every device connected to an xHCI root port has enumerated with all
# interfaces bound and none of them is usb-storage (so no sda will come). Connected ports are read
# from xhci debugfs (portsc); without it, or behind an external hub, this stays false.
usb_no_storage() {
  exists_glob /sys/bus/usb/drivers/usb-storage/*:* && return 1
  exists_glob /sys/kernel/debug/usb/xhci/*/ports/port*/portsc || return 1
  conn=$(cat /sys/kernel/debug/usb/xhci/*/ports/port*/portsc 2>/dev/null | grep -c ' Connected ')
  seen=0
  for d in /sys/bus/usb/devices/[0-9]*-[0-9]*; do
    case "$d" in *:*) continue;; esac
    [ -e "$d" ] || continue
    seen=$((seen + 1))
    for i in "$d"/$(basename "$d"):*; do
      [ -e "$i/driver" ] || return 1
      [ "$(basename "$(readlink "$i/driver")")" = hub ] && return 1
    done
  done
  [ "$seen" -ge "$conn" ]
}
if exists_glob /sys/bus/pci/drivers/xhci_hcd/*:*; then
  mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
  # not an error when it times out: the xHCI may carry only HID devices
  usb_settled() { [ -e /sys/block/sda ] || usb_no_storage; }
  waitfor 5 usb_settled || true
fi
for b in /sys/block/*; do
  [ -e "$b/size" ] || continue
  n=$(basename "$b")
  case "$n" in loop*|ram*) continue;; esac
  marker=$(bounded 3 dd if=/dev/$n bs=17 count=1 2>/dev/null | tr -cd '\041-\176')
  echo "VZKIT blk $n size512=$(cat $b/size) ro=$(cat $b/ro) removable=$(cat $b/removable) marker=$marker"
done

# --- cloud-init seed (NoCloud): the disk whose vfat label is CIDATA, as cloud-init finds it
# (findfs reads the label the way blkid does: the root directory's label entry first)
seed=$(findfs LABEL=CIDATA 2>/dev/null || findfs LABEL=cidata 2>/dev/null || true)
if [ -n "$seed" ]; then
  echo "VZKIT cidata dev=${seed#/dev/}"
  mkdir -p /mnt/cidata
  if bounded 10 mount -t vfat -o ro "$seed" /mnt/cidata 2>/tmp/cidata.err; then
    for f in meta-data user-data; do
      if [ -r "/mnt/cidata/$f" ]; then
        echo "VZKIT cidata $f $(head -n1 "/mnt/cidata/$f" | tr -d '\r')"
      else
        err "cidata $f missing"
      fi
    done
    bounded 10 umount /mnt/cidata || err "cidata umount"
  else
    err "cidata mount ${seed#/dev/}: $(head -n1 /tmp/cidata.err 2>/dev/null)"
  fi
fi

# --- graphics
if virtio_id_present 16; then
  if virtio_id_bound 16; then
    waitfor 3 [ -e /sys/class/graphics/fb0 ] || err "gpu no fb0 within 3s"
  else
    err "gpu virtio device 16 has no driver"
  fi
fi
for f in /sys/class/graphics/fb*; do
  [ -e "$f/virtual_size" ] || continue
  echo "VZKIT gpu fb=$(basename "$f") size=$(cat "$f/virtual_size") name=$(cat "$f/name" | tr ' ' '_')"
done
for c in /sys/class/drm/card*-*; do
  [ -e "$c/status" ] || continue
  mode=$(head -n1 "$c/modes" 2>/dev/null); [ -n "$mode" ] || mode=none
  echo "VZKIT gpu drm=$(basename "$c") status=$(cat "$c/status") modes=$mode"
done

# --- entropy
cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null); [ -n "$cur" ] || cur=none
bytes=none
if [ "$cur" != none ] && [ -e /dev/hwrng ]; then
  bytes=$(bounded 3 dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
  [ -n "$bytes" ] || { bytes=none; err "rng read /dev/hwrng"; }
fi
echo "VZKIT rng current=$cur bytes=$bytes"

# --- balloon
virtio_id_bound 5 && echo "VZKIT balloon present"

# --- virtio console
if [ -e /dev/hvc0 ]; then
  echo "VZKIT console hvc=yes"
  bounded 2 sh -c 'echo "VZKIT hvc0 hello" > /dev/hvc0' || err "console write /dev/hvc0"
else
  echo "VZKIT console hvc=no"
fi

# --- network
ip link set lo up 2>/dev/null
if [ -e /sys/class/net/eth0 ]; then
  ip link set eth0 up || err "net eth0 up"
  bounded 15 udhcpc -i eth0 -n -q -t 5 -T 1 -s /etc/udhcpc.script >/dev/null 2>&1 || err "net dhcp eth0"
fi
for i in /sys/class/net/*; do
  n=$(basename "$i")
  [ "$n" = lo ] && continue
  [ -e "$i/address" ] || continue
  a=$(ip -4 -o addr show dev "$n" 2>/dev/null | awk '{print $4; exit}'); [ -n "$a" ] || a=none
  echo "VZKIT net $n mac=$(cat "$i/address") addr=$a"
done

# --- virtiofs share
tag=$(arg vzkit.share)
if [ -n "$tag" ]; then
  if bounded 10 mount -t virtiofs "$tag" /mnt/share 2>/tmp/mnt.err; then
    if [ -r /mnt/share/hello.txt ]; then
      echo "VZKIT share read $(head -n1 /mnt/share/hello.txt)"
    else
      err "share read /mnt/share/hello.txt missing"
    fi
    if bounded 10 sh -c 'printf "written by the guest\n" > /mnt/share/from-guest.txt && sync' 2>/tmp/w.err \
       && [ "$(cat /mnt/share/from-guest.txt 2>/dev/null)" = "written by the guest" ]; then
      echo "VZKIT share write ok"
    else
      echo "VZKIT share write failed $(head -n1 /tmp/w.err 2>/dev/null)"
    fi
    bounded 10 umount /mnt/share || err "share umount"
  else
    err "share mount $tag: $(head -n1 /tmp/mnt.err 2>/dev/null)"
  fi
fi

# --- EFI
EFIVAR=/sys/firmware/efi/efivars/VzkitTest-7f3e9a52-4c1d-4b8e-a6d0-5e2b91c0f417
efitest=$(arg vzkit.efitest)
if [ -d /sys/firmware/efi ]; then
  echo "VZKIT efi booted=yes"
  # A framebuffer the firmware handed over (its GOP has one): what EFI programs draw on. A DRM
  # driver (virtio-gpu) removes the kernel's device for it, so the boot log is what tells.
  fb=no
  for d in /sys/bus/platform/devices/efi-framebuffer.* /sys/bus/platform/devices/simple-framebuffer.*; do
    [ -e "$d" ] && fb=yes
  done
  dmesg | grep -q 'efifb: framebuffer at' && fb=yes
  echo "VZKIT efi framebuffer=$fb"
  if [ -n "$efitest" ]; then
    grep -q ' /sys/firmware/efi/efivars ' /proc/mounts \
      || mount -t efivarfs efivarfs /sys/firmware/efi/efivars 2>/dev/null \
      || err "efi mount efivarfs"
    case "$efitest" in
      write)
        # attributes 7 = NON_VOLATILE|BOOTSERVICE_ACCESS|RUNTIME_ACCESS; must be a single write(2)
        printf '\007\000\000\000persisted' > /tmp/v
        if bounded 10 dd if=/tmp/v of=$EFIVAR bs=64 2>/tmp/efi.err; then
          echo "VZKIT efi wrote"
        else
          err "efi write: $(head -n1 /tmp/efi.err 2>/dev/null)"
        fi;;
      read)
        if [ -e $EFIVAR ]; then
          v=$(tail -c +5 $EFIVAR 2>/dev/null | tr -cd '\041-\176'); [ -n "$v" ] || v=missing
        else
          v=missing
        fi
        echo "VZKIT efi var=$v";;
      auto)
        # first boot writes the variable, later boots report it: one kernel command line
        # (baked into a UKI) proves persistence across runs
        if [ -e $EFIVAR ]; then
          v=$(tail -c +5 $EFIVAR 2>/dev/null | tr -cd '\041-\176'); [ -n "$v" ] || v=missing
          echo "VZKIT efi var=$v"
        else
          printf '\007\000\000\000persisted' > /tmp/v
          if bounded 10 dd if=/tmp/v of=$EFIVAR bs=64 2>/tmp/efi.err; then
            echo "VZKIT efi wrote"
          else
            err "efi write: $(head -n1 /tmp/efi.err 2>/dev/null)"
          fi
        fi;;
      *) err "efi unknown vzkit.efitest=$efitest";;
    esac
  fi
else
  echo "VZKIT efi booted=no"
  [ -n "$efitest" ] && err "efi vzkit.efitest=$efitest but not booted via EFI"
fi

# --- input devices
for i in /sys/class/input/input*; do
  [ -e "$i/name" ] || continue
  ev=$(basename "$(ls -d $i/event* 2>/dev/null | head -n1)" 2>/dev/null); [ -n "$ev" ] || ev=none
  echo "VZKIT input $(basename "$i") event=$ev name=$(cat "$i/name")"
done

# --- disk mark: vzkit.mark=VALUE reads the mark at sector 64 of vda, then writes VZKIT-MARK-VALUE
# there (vzkit.mark=read only reads): a change on disk that snapshots must keep or undo
mark=$(arg vzkit.mark)
if [ -n "$mark" ] && [ -e /dev/vda ]; then
  was=$(bounded 3 dd if=/dev/vda bs=512 skip=64 count=1 2>/dev/null | tr -cd '\041-\176' | head -c 64)
  echo "VZKIT mark was=${was:-none}"
  if [ "$mark" != read ]; then
    printf 'VZKIT-MARK-%s' "$mark" | dd of=/dev/vda bs=512 seek=64 count=1 conv=notrunc,sync 2>/dev/null
    sync
    echo "VZKIT mark wrote=VZKIT-MARK-$mark"
  fi
fi

# --- memory fill: vzkit.fill=MIB keeps MIB MiB of non-zero data in memory (a large saved state)
fill=$(arg vzkit.fill)
if [ -n "$fill" ]; then
  dd if=/dev/urandom of=/tmp/chunk bs=1M count=1 2>/dev/null
  n=0; while [ $n -lt "$fill" ]; do cat /tmp/chunk; n=$((n + 1)); done > /tmp/fill
  echo "VZKIT fill mib=$fill"
fi

# --- counter: vzkit.counter=1 prints a tick every 100 ms with the uptime, forever (suspend tests:
# after a resume the count goes on and the uptime did not restart)
if [ "$(arg vzkit.counter)" = 1 ]; then
  used=$(awk '/^MemTotal:/{t=$2} /^MemFree:/{f=$2} END{print t-f}' /proc/meminfo)
  echo "VZKIT counter start uptime=$(uptime_s) used_kib=$used"
  i=0
  while :; do echo "VZKIT tick $i uptime=$(uptime_s)"; i=$((i + 1)); sleep 0.1; done
fi

# --- wait mode: block until the ACPI power button is pressed (QMP system_powerdown)
if [ "$(arg vzkit.wait)" = 1 ]; then
  pb=
  for i in /sys/class/input/input*; do
    case "$(cat "$i/name" 2>/dev/null)" in
      *"Power Button"*) e=$(ls -d $i/event* 2>/dev/null | head -n1); [ -n "$e" ] && pb=/dev/input/$(basename "$e");;
    esac
  done
  if [ -n "$pb" ] && [ -e "$pb" ]; then
    echo "VZKIT wait power-button"
    dd if="$pb" of=/dev/null bs=24 count=1 2>/dev/null
  else
    err "wait no power button input device"
  fi
fi
# A guest that ignores the power button: only a forced stop ends it
if [ "$(arg vzkit.wait)" = ignore ]; then
  echo "VZKIT wait ignoring power-button"
  while :; do sleep 3600; done
fi

echo "VZKIT done uptime=$(uptime_s)"
sync
poweroff -f
echo o > /proc/sysrq-trigger
sleep 5
INIT
}

write_udhcpc() {
cat <<'UDHCPC'
#!/bin/sh
# minimal udhcpc script: apply address, prefix, default route and DNS with busybox ip
[ -n "$interface" ] || exit 1
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up;;
  bound|renew)
    prefix=$mask
    [ -n "$prefix" ] || prefix=$(ipcalc -p "$ip" "${subnet:-255.255.255.0}" | cut -d= -f2)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$prefix" dev "$interface"
    if [ -n "$router" ]; then
      ip route del default dev "$interface" 2>/dev/null
      ip route add default via "${router%% *}" dev "$interface"
    fi
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done;;
esac
exit 0
UDHCPC
}

if ! fresh "$OUT/initrd.img"; then
  [ -d "$ROOT/lib/modules/$KVER" ] || { log "module tree missing: $ROOT/lib/modules/$KVER"; exit 1; }
  log "building initrd.img for $KVER"
  W=$(mktemp -d "$CACHE/initrd.XXXXXX")
  trap 'rm -rf "$W"' EXIT
  mkdir -p "$W"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,mnt/share,tmp,etc,run,var,lib/mods}
  cp "$BUSYBOX" "$W/bin/busybox"
  ln -s busybox "$W/bin/sh"
  for m in "${MODULES[@]}"; do
    modprobe -d "$ROOT" -S "$KVER" --show-depends "$m" \
      || { log "modprobe --show-depends $m failed"; exit 1; }
  done | awk '$1=="insmod"{print $2}' | awk '!seen[$0]++' > "$W/lib/mods/paths"
  : > "$W/lib/mods/order"
  while read -r ko; do
    # --show-depends prints paths prefixed with the -d root
    [ -e "$ko" ] || ko="$ROOT$ko"
    b=$(basename "$ko")
    case "$b" in
      *.ko.xz)  b=${b%.xz};  xz -dc "$ko" > "$W/lib/mods/$b";;
      *.ko.zst) b=${b%.zst}; zstd -qdc "$ko" > "$W/lib/mods/$b";;
      *.ko.gz)  b=${b%.gz};  gzip -dc "$ko" > "$W/lib/mods/$b";;
      *)        [ ! -e "$W/lib/mods/$b" ] || { log "duplicate module name $b"; exit 1; }
                cp "$ko" "$W/lib/mods/$b";;
    esac
    # usb-storage waits delay_use (1 s) before scanning a new device; QEMU's needs no settling time
    case "$b" in
      usb-storage.ko) echo "$b delay_use=0";;
      *)              echo "$b";;
    esac >> "$W/lib/mods/order"
  done < "$W/lib/mods/paths"
  rm "$W/lib/mods/paths"
  write_init > "$W/init"
  write_udhcpc > "$W/etc/udhcpc.script"
  chmod 755 "$W/init" "$W/etc/udhcpc.script"
  (cd "$W" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -1) > "$OUT/initrd.img.tmp"
  mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"
  log "initrd.img: $(wc -l < "$W/lib/mods/order") modules, $(stat -c %s "$OUT/initrd.img") bytes"
  rm -rf "$W"
  trap - EXIT
fi

# ---------------------------------------------------------------------------------------------
# Data images
if ! fresh "$OUT/disk.img"; then
  rm -f "$OUT/disk.img.tmp"
  truncate -s 16M "$OUT/disk.img.tmp"
  printf 'VZKIT-DISK-MARKER\n' | dd of="$OUT/disk.img.tmp" conv=notrunc status=none
  mv "$OUT/disk.img.tmp" "$OUT/disk.img"
fi
if ! fresh "$OUT/usb.img"; then
  rm -f "$OUT/usb.img.tmp"
  truncate -s 1M "$OUT/usb.img.tmp"
  printf 'VZKIT-USB-MARKER\n' | dd of="$OUT/usb.img.tmp" conv=notrunc status=none
  mv "$OUT/usb.img.tmp" "$OUT/usb.img"
fi
if ! fresh "$OUT/share/hello.txt"; then
  mkdir -p "$OUT/share"
  echo "hello from the host" > "$OUT/share/hello.txt"
fi

# An EFI system partition with a unified kernel image (kernel + initrd + command line in one EFI
# binary) at the removable-media path, so OVMF boots it with no boot entries and no shell delay.
if [ "$WITH_ESP" != 0 ] && ! fresh "$OUT/esp.img"; then
  E=$(mktemp -d)
  printf 'console=ttyS0 quiet vzkit.efitest=auto' > "$E/cmdline.txt"
  printf 'ID=vzkit-demo\nNAME="vzkit demo guest"\n' > "$E/os-release"
  objcopy --add-section .osrel="$E/os-release" --change-section-vma .osrel=0x20000 \
          --add-section .cmdline="$E/cmdline.txt" --change-section-vma .cmdline=0x30000 \
          --add-section .linux="$OUT/vmlinuz" --change-section-vma .linux=0x2000000 \
          --add-section .initrd="$OUT/initrd.img" --change-section-vma .initrd=0x3000000 \
          /usr/lib/systemd/boot/efi/linuxx64.efi.stub "$E/uki.efi"
  rm -f "$OUT/esp.img.tmp"
  MTOOLS_SKIP_CHECK=1 mkfs.vfat -C -F 32 -n VZKITESP "$OUT/esp.img.tmp" 65536 >/dev/null
  MTOOLS_SKIP_CHECK=1 mmd -i "$OUT/esp.img.tmp" ::/EFI ::/EFI/BOOT
  MTOOLS_SKIP_CHECK=1 mcopy -i "$OUT/esp.img.tmp" "$E/uki.efi" ::/EFI/BOOT/BOOTX64.EFI
  mv "$OUT/esp.img.tmp" "$OUT/esp.img"
  rm -rf "$E"
fi

touch "$STAMP"
log "done: $OUT (kernel $KVER)"
