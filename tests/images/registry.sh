#!/usr/bin/env bash
# Images against a real registry: Debian's docker-registry on 127.0.0.1 (a free port, a
# throwaway config), with skopeo as the independent client that checks vzkit's format.
#
#   tests/images/registry.sh VZKIT_BINARY CASE
#
# CASE: push-pull, tart-layout, index, auth, resume, corrupt, full. Each takes a few seconds and boots
# no guest (tests/images/roundtrip.sh does).
set -euo pipefail

VZKIT=$1
CASE=$2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/lib/harness.sh"
. "$SRC/tests/lib/registry.sh"
harness_start "images-$CASE"
trap 'registry_cleanup; harness_cleanup' EXIT
export REGISTRY_AUTH_FILE="$WORK/auth.json"
export DOCKER_CONFIG="$WORK/docker"  # never the machine's own credentials

command -v skopeo >/dev/null || fail "skopeo is not installed (scripts/setup.sh test installs it)"

# json_field JSON KEY: the value of a top-level number or string field in one line of JSON.
json_field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$1" | head -1; }

# A stopped VM named $1 whose disk (size $2 MiB) has the marker, then $3 MiB of random data at 8 MiB.
make_vm() {
  local dir="$WORK/src-$1"
  mkdir -p "$dir"
  cp "$SRC/tests/data/vmlinuz" "$SRC/tests/data/initrd.img" "$dir/"
  truncate -s "${2}M" "$dir/disk.img"
  printf 'VZKIT-DISK-MARKER' | dd of="$dir/disk.img" conv=notrunc status=none
  if [ "$3" -gt 0 ]; then head -c "${3}M" /dev/urandom | dd of="$dir/disk.img" bs=1M seek=8 conv=notrunc status=none; fi
  cat >"$dir/spec.json" <<EOF
{"name": "$1", "cpus": 1, "memory": "256MiB", "devices": [
  {"plugin": "linux-boot", "kernel": "vmlinuz", "initrd": "initrd.img", "command_line": "console=ttyS0"},
  {"plugin": "serial-console"},
  {"plugin": "virtio-blk", "path": "disk.img"},
  {"plugin": "network", "mac": "02:aa:bb:cc:dd:ee"}]}
EOF
  "$VZKIT" create "$1" --from "$dir/spec.json" >/dev/null || fail "vzkit create $1"
}

case_push_pull() {
  registry_start plain
  make_vm web 40 3
  local ref="$REG_ADDR/vms/web:v1" out
  out=$("$VZKIT" push web "$ref" --insecure --json | tail -1) || fail "vzkit push"
  [ "$(json_field "$out" blobs_uploaded)" -ge 5 ] || fail "push sent no blobs: $out"
  pass "vzkit push uploads the VM's config, disk chunks, spec and files"

  local raw
  raw=$(skopeo inspect --tls-verify=false --raw "docker://$ref") || fail "skopeo inspect --raw"
  for t in application/vnd.oci.image.manifest.v1+json application/vnd.cirruslabs.tart.config.v1 \
    application/vnd.cirruslabs.tart.disk.v2 application/vnd.vzkit.spec.v1+json \
    org.cirruslabs.tart.uncompressed-size org.cirruslabs.tart.uncompressed-content-digest \
    org.cirruslabs.tart.uncompressed-disk-size; do
    grep -q "$t" <<<"$raw" || fail "the manifest skopeo reads lacks $t: $raw"
  done
  skopeo inspect --tls-verify=false "docker://$ref" | grep -q '"Architecture": "amd64"' || fail "skopeo inspect: no architecture"
  skopeo inspect --tls-verify=false --config "docker://$ref" | grep -q 'org.cirruslabs.tart.disk.format' ||
    fail "skopeo inspect --config: the OCI config lacks tart's disk format label"
  pass "skopeo inspect reads what vzkit push wrote (tart's media types and annotations)"
  skopeo copy --src-tls-verify=false "docker://$ref" "dir:$WORK/skopeo-dir" >/dev/null || fail "skopeo copy to a directory"
  pass "skopeo copies the image, checking every blob's digest"

  out=$("$VZKIT" push web "$ref" --insecure --json | tail -1) || fail "second push"
  [ "$(json_field "$out" blobs_uploaded)" = 0 ] || fail "a second push of the same VM sent blobs again: $out"
  pass "pushing the same VM again sends no blob (HEAD first)"
  out=$("$VZKIT" push web "$REG_ADDR/vms/copy:v1" --insecure --json | tail -1) || fail "push to another repository"
  [ "$(json_field "$out" blobs_mounted)" -ge 3 ] || fail "no cross-repository mount: $out"
  pass "a push to another repository mounts the blobs the registry has ($(json_field "$out" blobs_mounted) mounted)"
  out=$("$VZKIT" push web "$REG_ADDR/vms/chunked:v1" --insecure --chunk-size 4MiB --upload-chunk-size 1MiB --json |
    tail -1) || fail "chunked push"
  skopeo copy --src-tls-verify=false "docker://$REG_ADDR/vms/chunked:v1" "dir:$WORK/skopeo-chunked" >/dev/null ||
    fail "skopeo copy of the chunked upload"
  pass "chunked uploads (PATCH) give blobs skopeo verifies"

  out=$("$VZKIT" pull "$ref" --insecure --json | tail -1) || fail "vzkit pull"
  [ "$(json_field "$out" event)" = pulled ] || fail "pull: $out"
  "$VZKIT" images | grep -q "vms/web:v1" || fail "vzkit images does not list the pulled image"
  "$VZKIT" images --json | grep -q '"engine": "qemu"' || fail "vzkit images --json"
  out=$("$VZKIT" pull "$ref" --insecure --json | tail -1)
  [ "$(json_field "$out" downloaded)" -lt 4096 ] || fail "pulling again downloaded the disk again: $out"
  pass "vzkit pull fills the store, and pulling again downloads no disk"

  "$VZKIT" clone "$ref" web2 --insecure >/dev/null || fail "vzkit clone REF NEW"
  cmp -s "$VZKIT_HOME/vms/web2/disk.img" "$WORK/src-web/disk.img" || fail "the clone's disk differs from the VM pushed"
  local alloc size
  alloc=$(du -k "$VZKIT_HOME/vms/web2/disk.img" | cut -f1)
  [ "$alloc" -lt 8192 ] || fail "the clone's 40 MiB disk with 3 MiB of data occupies ${alloc} KiB: not sparse"
  grep -q '"mac": "02:aa:bb:cc:dd:ee"' "$VZKIT_HOME/vms/web2/spec.json" && fail "the clone kept the source's MAC"
  "$VZKIT" validate web2 >/dev/null || fail "the clone's spec does not validate"
  pass "vzkit clone REF makes a VM: the same disk, sparse (${alloc} KiB allocated), a new MAC, a valid spec"
  "$VZKIT" pull "$REG_ADDR/vms/chunked:v1" --insecure >/dev/null || fail "pull of the chunked image"
  "$VZKIT" clone "$REG_ADDR/vms/chunked:v1" web3 >/dev/null || fail "clone of the chunked image"
  cmp -s "$VZKIT_HOME/vms/web3/disk.img" "$WORK/src-web/disk.img" || fail "the chunked image's disk differs"
  pass "an image of 10 chunks pulls to the same disk"

  local err
  if err=$("$VZKIT" pull "$ref" 2>&1); then fail "a pull over HTTPS of a plain-HTTP registry succeeded"; fi
  grep -q -- "--insecure" <<<"$err" || fail "the error does not point at --insecure: $err"
  set +e
  err=$("$VZKIT" pull example.com/x:y --insecure 2>&1)
  local rc=$?
  set -e
  [ $rc = 2 ] && grep -q "only for a registry on this machine" <<<"$err" || fail "--insecure for another host: rc $rc, $err"
  pass "--insecure is refused for other hosts; a plain-HTTP local registry is pointed at it"

  "$VZKIT" prune >/dev/null
  [ -f "$VZKIT_HOME/vms/web2/disk.img" ] || fail "prune touched a VM"
  "$VZKIT" images | grep -q "vms/web:v1" || fail "prune removed an image still pulled"
  "$VZKIT" prune --all >/dev/null
  "$VZKIT" images | grep -q "no images" || fail "prune --all left images"
  cmp -s "$VZKIT_HOME/vms/web2/disk.img" "$WORK/src-web/disk.img" || fail "prune --all changed a clone's disk"
  pass "vzkit prune keeps what pulled images need, --all empties the store, VMs keep their files"
}

# le32 N: N as 4 little-endian bytes (printf escapes).
le32() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $((($1 >> 8) & 255)))\\x$(printf %02x $((($1 >> 16) & 255)))\\x$(printf %02x $((($1 >> 24) & 255)))"; }

# layout_blob LAYOUT FILE: stores FILE in the OCI layout's blobs, prints "digest size".
layout_blob() {
  local d
  d=$(sha256sum "$2" | cut -d' ' -f1)
  mkdir -p "$1/blobs/sha256"
  cp "$2" "$1/blobs/sha256/$d"
  echo "sha256:$d $(stat -c %s "$2")"
}

# tart_image LAYOUT ARCH MARKER NAME: an image as tart lays one out, made here without vzkit,
# for linux/ARCH: $WORK/NAME-disk.img (8 MiB: MARKER, then 1 MiB of random data at 5 MiB) in two
# chunks that are Apple LZ4 streams of stored blocks ("bv4-"), and $WORK/NAME-nvram.bin. Its blobs
# go into the OCI layout; prints its manifest's "digest size".
tart_image() {
  local L=$1 arch=$2 marker=$3 name=$4 disk="$WORK/$4-disk.img"
  truncate -s 8M "$disk"
  printf '%s' "$marker" | dd of="$disk" conv=notrunc status=none
  head -c 1M /dev/urandom | dd of="$disk" bs=1M seek=5 conv=notrunc status=none
  head -c 131072 /dev/urandom >"$WORK/$name-nvram.bin"
  local layers="" i dg sz plain
  for i in 0 1; do
    dd if="$disk" of="$WORK/$name-chunk$i" bs=4M skip=$i count=1 status=none
    { printf 'bv4-'; le32 4194304; cat "$WORK/$name-chunk$i"; printf 'bv4$'; } >"$WORK/$name-chunk$i.lz4"
    read -r dg sz < <(layout_blob "$L" "$WORK/$name-chunk$i.lz4")
    plain=$(sha256sum "$WORK/$name-chunk$i" | cut -d' ' -f1)
    layers+=",{\"mediaType\":\"application/vnd.cirruslabs.tart.disk.v2\",\"size\":$sz,\"digest\":\"$dg\",\"annotations\":{\"org.cirruslabs.tart.uncompressed-size\":\"4194304\",\"org.cirruslabs.tart.uncompressed-content-digest\":\"sha256:$plain\"}}"
  done
  echo "{\"version\":1,\"os\":\"linux\",\"arch\":\"$arch\",\"cpuCountMin\":2,\"cpuCount\":3,\"memorySizeMin\":2147483648,\"memorySize\":3221225472,\"macAddress\":\"7e:11:22:33:44:55\",\"display\":{\"width\":1280,\"height\":800},\"diskFormat\":\"raw\"}" >"$WORK/$name-tart-config.json"
  read -r cdg csz < <(layout_blob "$L" "$WORK/$name-tart-config.json")
  read -r ndg nsz < <(layout_blob "$L" "$WORK/$name-nvram.bin")
  echo "{\"architecture\":\"$arch\",\"os\":\"linux\",\"config\":{\"Labels\":{\"org.cirruslabs.tart.disk.format\":\"raw\"}}}" >"$WORK/$name-oci-config.json"
  read -r odg osz < <(layout_blob "$L" "$WORK/$name-oci-config.json")
  printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":$osz,\"digest\":\"$odg\"},\"layers\":[{\"mediaType\":\"application/vnd.cirruslabs.tart.config.v1\",\"size\":$csz,\"digest\":\"$cdg\"}$layers,{\"mediaType\":\"application/vnd.cirruslabs.tart.nvram.v1\",\"size\":$nsz,\"digest\":\"$ndg\"}],\"annotations\":{\"org.cirruslabs.tart.uncompressed-disk-size\":\"8388608\",\"org.cirruslabs.tart.upload-time\":\"2024-05-01T10:00:00Z\"}}" >"$WORK/$name-manifest.json"
  layout_blob "$L" "$WORK/$name-manifest.json"
}

# An OCI layout's index.json naming one blob of MEDIA_TYPE as v1: layout_index LAYOUT MEDIA_TYPE "DIGEST SIZE".
layout_index() {
  echo '{"imageLayoutVersion":"1.0.0"}' >"$1/oci-layout"
  local dg sz
  read -r dg sz <<<"$3"
  echo "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"$2\",\"digest\":\"$dg\",\"size\":$sz,\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}" >"$1/index.json"
}

# A tart-shaped OCI layout written by the shell, copied into the registry by skopeo.
case_tart_layout() {
  registry_start tart
  local L="$WORK/layout"
  layout_index "$L" application/vnd.oci.image.manifest.v1+json "$(tart_image "$L" arm64 'TART-DISK-MARKER!' tart)"
  skopeo copy --preserve-digests --dest-tls-verify=false "oci:$L:v1" "docker://$REG_ADDR/tart/linux:v1" >/dev/null 2>"$WORK/skopeo.err" ||
    { cat "$WORK/skopeo.err" >&2; fail "skopeo copy of the OCI layout into the registry"; }
  pass "skopeo copies a tart-shaped OCI layout into the registry"

  local out
  out=$("$VZKIT" pull "$REG_ADDR/tart/linux:v1" --insecure --json | tail -1) || fail "vzkit pull of the tart image"
  [ "$(json_field "$out" from_tart)" = true ] || fail "not seen as a tart image: $out"
  "$VZKIT" clone "$REG_ADDR/tart/linux:v1" lin >/dev/null || fail "vzkit clone of the tart image"
  local vm="$VZKIT_HOME/vms/lin"
  cmp -s "$vm/disk.img" "$WORK/tart-disk.img" || fail "the disk decoded from the bv4- stream differs"
  cmp -s "$vm/nvram.bin" "$WORK/tart-nvram.bin" || fail "the NVRAM differs"
  grep -q '"engine": "vz"' "$vm/bundle.json" || fail "a tart image's VM is not for the vz engine"
  tr -d ' \n' <"$vm/spec.json" >"$WORK/spec.flat"
  for want in '"cpus":3' '"memory":"3072MiB"' '"plugin":"efi-boot","variable_store":"nvram.bin"' \
    '"plugin":"virtio-gpu","width":1280,"height":800' '"plugin":"virtio-blk","path":"disk.img"' '"plugin":"network","mac":'; do
    grep -qF "$want" "$WORK/spec.flat" || fail "the spec made from tart's config lacks $want: $(cat "$WORK/spec.flat")"
  done
  grep -q '7e:11:22:33:44:55' "$WORK/spec.flat" && fail "the clone kept the image's MAC"
  pass "vzkit pulls it: disk and NVRAM as written, a vz spec from tart's config (CPUs, memory, display, disk, NVRAM, a new MAC)"
}

# An image index of two platforms (linux/amd64 and linux/arm64, each disk with a marker of its
# own) written as an OCI layout and copied with `skopeo copy --all`; and a Docker manifest list of
# the same two, put with curl.
case_index() {
  registry_start index
  local L="$WORK/multi" amd arm
  amd=$(tart_image "$L" amd64 'AMD64-DISK-MARKER' amd)
  arm=$(tart_image "$L" arm64 'ARM64-DISK-MARKER' arm)
  local ad as rd rs
  read -r ad as <<<"$amd"
  read -r rd rs <<<"$arm"
  printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$ad\",\"size\":$as,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$rd\",\"size\":$rs,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}}]}" >"$WORK/index.json"
  local index
  index=$(layout_blob "$L" "$WORK/index.json")
  layout_index "$L" application/vnd.oci.image.index.v1+json "$index"
  skopeo copy --all --preserve-digests --dest-tls-verify=false "oci:$L:v1" "docker://$REG_ADDR/multi/linux:v1" >/dev/null 2>"$WORK/skopeo.err" ||
    { cat "$WORK/skopeo.err" >&2; fail "skopeo copy --all of the OCI layout with an index"; }
  skopeo inspect --tls-verify=false --raw "docker://$REG_ADDR/multi/linux:v1" | grep -q image.index.v1 ||
    fail "the registry does not serve the index"
  pass "skopeo copies an OCI layout whose v1 is an index of linux/amd64 and linux/arm64"

  local ref="$REG_ADDR/multi/linux:v1" host_arch out
  case "$(uname -m)" in x86_64) host_arch=amd64 ;; aarch64 | arm64) host_arch=arm64 ;; *) host_arch=other ;; esac
  out=$("$VZKIT" pull "$ref" --insecure --json | tail -1) || fail "vzkit pull of the index"
  [ "$(json_field "$out" index)" = "${index%% *}" ] || fail "the pull does not name the index: $out"
  [ "$(json_field "$out" arch)" = "$host_arch" ] || fail "the pull did not take this machine's $host_arch: $out"
  "$VZKIT" clone "$ref" native >/dev/null || fail "clone of the index"
  if [ "$host_arch" = amd64 ]; then want="$amd" wantdisk="$WORK/amd-disk.img"; else want="$arm" wantdisk="$WORK/arm-disk.img"; fi
  [ "$(json_field "$out" digest)" = "${want%% *}" ] || fail "the reference is not recorded against the $host_arch manifest: $out"
  cmp -s "$VZKIT_HOME/vms/native/disk.img" "$wantdisk" || fail "the clone's disk is not the $host_arch one"
  pass "without --platform the pull takes $host_arch (this machine) and records the reference against its manifest"

  "$VZKIT" clone "$ref" armvm --platform linux/arm64 --insecure >/dev/null || fail "clone --platform linux/arm64"
  cmp -s "$VZKIT_HOME/vms/armvm/disk.img" "$WORK/arm-disk.img" || fail "clone --platform linux/arm64 did not give the arm64 disk"
  head -c 17 "$VZKIT_HOME/vms/armvm/disk.img" | grep -q ARM64-DISK-MARKER || fail "no arm64 marker"
  grep -q '"platform": "linux/arm64/v8"' "$VZKIT_HOME/images/refs.json" || fail "refs.json: $(cat "$VZKIT_HOME/images/refs.json")"
  out=$("$VZKIT" pull "$ref" --insecure --platform linux/amd64 --json | tail -1) || fail "pull --platform linux/amd64"
  [ "$(json_field "$out" digest)" = "${amd%% *}" ] && [ "$(json_field "$out" arch)" = amd64 ] || fail "pull --platform linux/amd64: $out"
  "$VZKIT" prune >/dev/null
  local ihex=${index%% *}
  [ -f "$VZKIT_HOME/images/blobs/sha256/${ihex#sha256:}" ] || fail "prune removed the index blob the reference was chosen from"
  pass "--platform chooses: clone --platform linux/arm64 gives the arm64 disk, pull --platform linux/amd64 the amd64 one; the index blob is kept"

  local err rc
  set +e
  err=$("$VZKIT" pull "$ref" --insecure --platform linux/riscv64 2>&1)
  rc=$?
  set -e
  [ $rc = 1 ] || fail "a pull for a platform the index lacks exited $rc: $err"
  grep -q "no manifest for linux/riscv64; it offers linux/amd64, linux/arm64/v8" <<<"$err" && grep -q "hint: choose one with --platform" <<<"$err" ||
    fail "the error does not list the platforms with a hint: $err"
  pass "a platform the index lacks: '$(head -1 <<<"$err")'"
  set +e
  err=$("$VZKIT" pull "$ref" --insecure --platform linux 2>&1)
  rc=$?
  set -e
  [ $rc = 2 ] && grep -q "is not OS/ARCH" <<<"$err" || fail "a malformed --platform: rc $rc, $err"
  set +e
  err=$("$VZKIT" pull "$REG_ADDR/multi/linux@${amd%% *}" --insecure --platform linux/arm64 2>&1)
  rc=$?
  set -e
  [ $rc = 1 ] && grep -q "is an image for linux/amd64 only, not linux/arm64" <<<"$err" || fail "--platform for a single manifest of another platform: rc $rc, $err"
  pass "a malformed --platform is refused (exit 2), and a single manifest of another platform too"

  # A Docker manifest list naming the same two manifests.
  local list code
  list="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.list.v2+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$rd\",\"size\":$rs,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$ad\",\"size\":$as,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}"
  code=$(curl -s -o "$WORK/put.out" -w '%{http_code}' -X PUT -H "Content-Type: application/vnd.docker.distribution.manifest.list.v2+json" \
    --data-binary "$list" "http://$REG_ADDR/v2/multi/linux/manifests/list")
  [ "$code" = 201 ] || fail "the registry refused the manifest list ($code): $(cat "$WORK/put.out")"
  out=$("$VZKIT" pull "$REG_ADDR/multi/linux:list" --insecure --platform linux/arm64 --json | tail -1) || fail "pull of the manifest list"
  [ "$(json_field "$out" digest)" = "$rd" ] || fail "pull of the manifest list for linux/arm64: $out"
  out=$("$VZKIT" pull "$REG_ADDR/multi/linux:list" --insecure --json | tail -1) || fail "pull of the manifest list"
  [ "$(json_field "$out" arch)" = "$host_arch" ] || fail "pull of the manifest list without --platform: $out"
  pass "a Docker manifest list is read the same way (--platform linux/arm64, and $host_arch by default)"
}

case_auth() {
  command -v htpasswd >/dev/null || fail "htpasswd is not installed (apache2-utils; scripts/setup.sh test installs it)"
  htpasswd -Bbn alice 's3cret' >"$WORK/htpasswd"
  registry_start auth htpasswd "$WORK/htpasswd"
  make_vm sec 16 1
  local ref="$REG_ADDR/private/sec:v1" err
  if err=$("$VZKIT" push sec "$ref" --insecure 2>&1); then fail "a push without credentials succeeded"; fi
  grep -q "vzkit login $REG_ADDR" <<<"$err" || fail "the refusal does not point at vzkit login: $err"
  pass "without credentials the registry's 401 is reported with 'vzkit login'"
  if printf 'wrong\n' | "$VZKIT" login "$REG_ADDR" -u alice --password-stdin --insecure >/dev/null 2>&1; then
    fail "login with a wrong password succeeded"
  fi
  [ -e "$REGISTRY_AUTH_FILE" ] && fail "a refused login stored credentials"
  printf 's3cret\n' | "$VZKIT" login "$REG_ADDR" -u alice --password-stdin --insecure | grep -q "$REGISTRY_AUTH_FILE" ||
    fail "vzkit login"
  [ "$(stat -c %a "$REGISTRY_AUTH_FILE")" = 600 ] || fail "the auth file is not 0600"
  pass "vzkit login checks the password with the registry, then stores it in REGISTRY_AUTH_FILE (0600)"
  "$VZKIT" push sec "$ref" --insecure >/dev/null || fail "push with the stored credentials"
  skopeo inspect --tls-verify=false --creds alice:s3cret --raw "docker://$ref" | grep -q tart.disk.v2 ||
    fail "skopeo does not see the pushed image"
  pass "push authenticates (Basic, as the registry asks) and skopeo sees the image"
  # Docker's own file, with REGISTRY_AUTH_FILE unset.
  mkdir -p "$DOCKER_CONFIG"
  printf '{"auths": {"http://%s": {"auth": "%s"}}}\n' "$REG_ADDR" "$(printf 'alice:s3cret' | base64)" >"$DOCKER_CONFIG/config.json"
  (unset REGISTRY_AUTH_FILE && "$VZKIT" pull "$ref" --insecure >/dev/null) || fail "pull with ~/.docker/config.json credentials"
  pass "credentials from the Docker config file work for pull"
  "$VZKIT" logout "$REG_ADDR" >/dev/null || fail "logout"
  grep -q alice "$REGISTRY_AUTH_FILE" && fail "logout left the credentials"
  pass "vzkit logout removes them"

  # A credential helper the Docker file names (credsStore): docker-credential-vzkittest on PATH,
  # which keeps one file per server in $WORK/bin/store.
  mkdir -p "$WORK/bin"
  cp "$SRC/tests/images/docker-credential-vzkittest" "$WORK/bin/"
  printf '{"credsStore": "vzkittest", "psFormat": "table"}\n' >"$DOCKER_CONFIG/config.json"
  (
    unset REGISTRY_AUTH_FILE
    export PATH="$WORK/bin:$PATH"
    if "$VZKIT" pull "$ref" --insecure >/dev/null 2>&1; then fail "a pull succeeded with an empty helper"; fi
    local out
    out=$(printf 's3cret\n' | "$VZKIT" login "$REG_ADDR" -u alice --password-stdin --insecure) || fail "vzkit login through the helper"
    grep -q "stored in docker-credential-vzkittest (named by $DOCKER_CONFIG/config.json: credsStore)" <<<"$out" ||
      fail "login does not say it stored through the helper: $out"
    grep -q '"Secret":"s3cret"' "$WORK/bin/store/127.0.0.1_$REG_PORT" || fail "the helper did not get the credentials"
    grep -q alice "$DOCKER_CONFIG/config.json" && fail "the Docker file got the credentials in clear: $(cat "$DOCKER_CONFIG/config.json")"
    grep -q psFormat "$DOCKER_CONFIG/config.json" || fail "the Docker file lost its other keys"
    pass "vzkit login stores through docker-credential-vzkittest (credsStore), nothing in clear in the file"
    "$VZKIT" push sec "$REG_ADDR/private/sec:v2" --insecure >/dev/null || fail "push with the helper's credentials"
    "$VZKIT" prune --all >/dev/null
    out=$("$VZKIT" pull "$REG_ADDR/private/sec:v2" --insecure --json | tail -1) || fail "pull with the helper's credentials"
    [ "$(json_field "$out" event)" = pulled ] || fail "pull: $out"
    grep -q "^get $REG_ADDR$" "$WORK/bin/log" || fail "the helper was not asked: $(cat "$WORK/bin/log")"
    pass "push and pull authenticate with the credentials the helper serves"
    # credHelpers for the host wins over credsStore (whose program does not exist).
    printf '{"credsStore": "nosuch", "credHelpers": {"%s": "vzkittest"}}\n' "$REG_ADDR" >"$DOCKER_CONFIG/config.json"
    "$VZKIT" pull "$REG_ADDR/private/sec:v2" --insecure >/dev/null || fail "pull with credHelpers for the host"
    "$VZKIT" logout "$REG_ADDR" | grep -q "docker-credential-vzkittest" || fail "logout through the helper"
    [ -e "$WORK/bin/store/127.0.0.1_$REG_PORT" ] && fail "logout left the helper's entry"
    grep -q "^erase $REG_ADDR$" "$WORK/bin/log" || fail "the helper was not asked to erase: $(cat "$WORK/bin/log")"
    local err
    if err=$("$VZKIT" pull "$REG_ADDR/private/sec:v2" --insecure 2>&1); then fail "a pull after logout succeeded"; fi
    grep -q "vzkit login $REG_ADDR" <<<"$err" || fail "after logout the 401 does not point at vzkit login: $err"
    printf '{"credsStore": "nosuch"}\n' >"$DOCKER_CONFIG/config.json"
    if err=$("$VZKIT" pull "$REG_ADDR/private/sec:v2" --insecure 2>&1); then fail "a pull with a missing helper succeeded"; fi
    grep -q "docker-credential-nosuch is not on PATH" <<<"$err" || fail "a missing helper is not reported: $err"
    pass "credHelpers for the host wins over credsStore; logout erases through the helper; a missing helper is named"
  )
}

case_resume() {
  registry_start resume
  make_vm big 24 16
  local ref="$REG_ADDR/vms/big:v1"
  "$VZKIT" push big "$ref" --insecure --chunk-size 1MiB >/dev/null || fail "push"
  "$VZKIT" pull "$ref" --insecure --jobs 1 --limit-rate 6MiB >"$WORK/pull1.out" 2>&1 &
  local pull=$!
  local done_lines=0
  for _ in $(seq 1 400); do
    done_lines=$(cat "$VZKIT_HOME"/images/partial/*/done 2>/dev/null | wc -l || true)
    [ "$done_lines" -ge 12 ] && break
    sleep 0.02
  done
  registry_kill
  if wait $pull; then fail "the pull finished before the registry was killed (too fast to test)"; fi
  local kept
  kept=$(cat "$VZKIT_HOME"/images/partial/*/done 2>/dev/null | wc -l || true)
  [ "$kept" -ge 12 ] || fail "only $kept chunks were kept"
  grep -q "127.0.0.1:$REG_PORT" "$WORK/pull1.out" || fail "the error does not name the registry: $(cat "$WORK/pull1.out")"
  "$VZKIT" images | grep -q "big:v1" && fail "an interrupted pull is listed as an image"
  pass "the registry killed mid-pull: the pull fails, $kept of 26 chunks kept, no image recorded"
  # A chunk the journal says is done but whose bytes were lost (as after a crash): checked, not trusted.
  local data
  data=$(ls -S "$VZKIT_HOME"/images/partial/*/data | head -1)
  printf 'LOST-BYTES' | dd of="$data" bs=1 seek=$((8 * 1048576 + 100)) conv=notrunc status=none
  registry_restart
  local out
  out=$("$VZKIT" pull "$ref" --insecure --json | tail -1) || fail "the pull after the restart"
  [ "$(json_field "$out" resumed_chunks)" = $((kept - 1)) ] ||
    fail "expected $((kept - 1)) chunks kept (one damaged), got: $out"
  "$VZKIT" clone "$ref" big2 >/dev/null
  cmp -s "$VZKIT_HOME/vms/big2/disk.img" "$WORK/src-big/disk.img" || fail "the resumed disk differs"
  pass "after the restart the pull resumes ($(json_field "$out" resumed_chunks) chunks kept, the damaged one fetched again, $(json_field "$out" downloaded) bytes downloaded) and the disk is whole"

  # Within one pull: the registry killed and started again (about 30 ms) while the pull waits to
  # retry (0.25 s first): the chunk under way continues from the byte it reached, with a Range.
  # The disk as one chunk (16 MiB of it random) at 4 MiB/s, killed 1 MiB in: what the sockets
  # still hold when the registry dies (a few MiB on this machine) does not finish the chunk.
  ref="$REG_ADDR/vms/big:one"
  "$VZKIT" push big "$ref" --insecure --chunk-size 24MiB >/dev/null || fail "push with one chunk"
  "$VZKIT" pull "$ref" --insecure --jobs 1 --limit-rate 4MiB --json >"$WORK/pull3.out" 2>&1 &
  pull=$!
  local bytes=0
  for _ in $(seq 1 500); do
    bytes=$(grep '"event":"progress"' "$WORK/pull3.out" 2>/dev/null | tail -1 | sed -n 's/.*"bytes":\([0-9]*\).*/\1/p' || true)
    [ "${bytes:-0}" -ge 1048576 ] && break
    sleep 0.02
  done
  [ "${bytes:-0}" -ge 1048576 ] || fail "the pull did not get going: $(tail -3 "$WORK/pull3.out")"
  registry_kill
  registry_restart
  wait $pull || fail "the pull did not survive the registry's restart: $(tail -3 "$WORK/pull3.out")"
  grep '"event":"retry"' "$WORK/pull3.out" | grep -q "continues from byte [1-9]" ||
    fail "no chunk continued from the byte it reached: $(grep '"event":"retry"' "$WORK/pull3.out")"
  out=$(tail -1 "$WORK/pull3.out")
  "$VZKIT" clone "$ref" big3 >/dev/null
  cmp -s "$VZKIT_HOME/vms/big3/disk.img" "$WORK/src-big/disk.img" || fail "the disk continued with a Range differs"
  pass "the registry restarted during a pull: '$(grep '"event":"retry"' "$WORK/pull3.out" | head -1 | sed -n 's/.*; \(chunk [^"]*\)".*/\1/p')', and the disk is whole"
}

case_corrupt() {
  registry_start corrupt
  make_vm bad 16 2
  local ref="$REG_ADDR/vms/bad:v1"
  "$VZKIT" push bad "$ref" --insecure --chunk-size 4MiB >/dev/null || fail "push"
  # The chunk that holds the random data (the 3rd): damage it where the registry keeps it.
  local digest
  digest=$(skopeo inspect --tls-verify=false --raw "docker://$ref" |
    grep -o 'tart.disk.v2","size":[0-9]*,"digest":"sha256:[0-9a-f]*' | sed -n 3p | sed 's/.*sha256://' || true)
  local data="$REG_DIR/storage/docker/registry/v2/blobs/sha256/${digest:0:2}/$digest/data"
  [ -f "$data" ] || fail "cannot find the chunk blob in the registry's storage ($data)"
  printf 'DAMAGED!' | dd of="$data" bs=1 seek=1000 conv=notrunc status=none
  local err rc
  set +e
  err=$("$VZKIT" clone "$ref" bad2 --insecure 2>&1)
  rc=$?
  set -e
  [ $rc = 1 ] || fail "clone of a damaged image exited $rc: $err"
  grep -q "sha256:$digest.*arrived with the digest .*refused" <<<"$err" || fail "the error does not name the blob and digest: $err"
  "$VZKIT" list | grep -q bad2 && fail "a VM was left from the damaged image"
  [ -e "$VZKIT_HOME/vms/bad2" ] && fail "a folder was left for the VM"
  "$VZKIT" images | grep -q "bad:v1" && fail "the damaged image is listed"
  pass "a damaged blob is refused by its digest ($err), and no VM or image is left"
}

case_full() {
  if [ "$(id -u)" != 0 ]; then echo "SKIP [images-full]: needs root to mount a small tmpfs"; return 0; fi
  mkdir -p "$WORK/small"
  mount -t tmpfs -o size=12m tmpfs "$WORK/small" || { echo "SKIP [images-full]: cannot mount a tmpfs here"; return 0; }
  trap 'umount "$WORK/small" 2>/dev/null; registry_cleanup; harness_cleanup' EXIT
  registry_start full
  make_vm fill 32 0
  # 24 MiB of text: compresses to little, so the pull starts and the disk fills up while writing.
  (yes "vzkit fills a small disk with this line" || true) | head -c 24M | dd of="$WORK/src-fill/disk.img" bs=1M seek=4 conv=notrunc status=none
  local ref="$REG_ADDR/vms/fill:v1"
  "$VZKIT" push fill "$ref" --insecure >/dev/null || fail "push"
  local err rc
  set +e
  err=$(VZKIT_HOME="$WORK/small/home" "$VZKIT" pull "$ref" --insecure 2>&1)
  rc=$?
  set -e
  [ $rc = 1 ] || fail "a pull onto a full disk exited $rc: $err"
  grep -q "No space left on device" <<<"$err" && grep -q "disk holding the image store is full" <<<"$err" ||
    fail "no clear error for a full disk: $err"
  VZKIT_HOME="$WORK/small/home" "$VZKIT" images | grep -q "no images" || fail "an image was recorded"
  pass "a disk that fills up: '$(head -1 <<<"$err")'"
}

case "$CASE" in
  push-pull) case_push_pull ;;
  tart-layout) case_tart_layout ;;
  index) case_index ;;
  auth) case_auth ;;
  resume) case_resume ;;
  corrupt) case_corrupt ;;
  full) case_full ;;
  *) fail "unknown case '$CASE'" ;;
esac
