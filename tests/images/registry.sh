#!/usr/bin/env bash
# Images against a real registry: Debian's docker-registry on 127.0.0.1 (a free port, a
# throwaway config), with skopeo as the independent client that checks vzkit's format.
#
#   tests/images/registry.sh VZKIT_BINARY CASE
#
# CASE: push-pull, tart-layout, auth, resume, corrupt, full. Each takes a few seconds and boots
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

# An image as tart lays one out, made here without vzkit: an OCI layout whose disk chunks are
# Apple LZ4 streams of stored blocks ("bv4-"), which skopeo copies into the registry.
case_tart_layout() {
  registry_start tart
  local L="$WORK/layout" B="$WORK/layout/blobs/sha256"
  mkdir -p "$B"
  truncate -s 8M "$WORK/tart-disk.img"
  printf 'TART-DISK-MARKER!' | dd of="$WORK/tart-disk.img" conv=notrunc status=none
  head -c 1M /dev/urandom | dd of="$WORK/tart-disk.img" bs=1M seek=5 conv=notrunc status=none
  head -c 131072 /dev/urandom >"$WORK/nvram.bin"
  blob() { # FILE: stores it, prints "digest size"
    local d
    d=$(sha256sum "$1" | cut -d' ' -f1)
    cp "$1" "$B/$d"
    echo "sha256:$d $(stat -c %s "$1")"
  }
  local layers="" i
  for i in 0 1; do
    dd if="$WORK/tart-disk.img" of="$WORK/chunk$i" bs=4M skip=$i count=1 status=none
    { printf 'bv4-'; le32 4194304; cat "$WORK/chunk$i"; printf 'bv4$'; } >"$WORK/chunk$i.lz4"
    read -r dg sz < <(blob "$WORK/chunk$i.lz4")
    local plain
    plain=$(sha256sum "$WORK/chunk$i" | cut -d' ' -f1)
    layers+=",{\"mediaType\":\"application/vnd.cirruslabs.tart.disk.v2\",\"size\":$sz,\"digest\":\"$dg\",\"annotations\":{\"org.cirruslabs.tart.uncompressed-size\":\"4194304\",\"org.cirruslabs.tart.uncompressed-content-digest\":\"sha256:$plain\"}}"
  done
  echo '{"version":1,"os":"linux","arch":"arm64","cpuCountMin":2,"cpuCount":3,"memorySizeMin":2147483648,"memorySize":3221225472,"macAddress":"7e:11:22:33:44:55","display":{"width":1280,"height":800},"diskFormat":"raw"}' >"$WORK/tart-config.json"
  read -r cdg csz < <(blob "$WORK/tart-config.json")
  read -r ndg nsz < <(blob "$WORK/nvram.bin")
  echo '{"architecture":"arm64","os":"linux","config":{"Labels":{"org.cirruslabs.tart.disk.format":"raw"}}}' >"$WORK/oci-config.json"
  read -r odg osz < <(blob "$WORK/oci-config.json")
  printf '%s' "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"size\":$osz,\"digest\":\"$odg\"},\"layers\":[{\"mediaType\":\"application/vnd.cirruslabs.tart.config.v1\",\"size\":$csz,\"digest\":\"$cdg\"}$layers,{\"mediaType\":\"application/vnd.cirruslabs.tart.nvram.v1\",\"size\":$nsz,\"digest\":\"$ndg\"}],\"annotations\":{\"org.cirruslabs.tart.uncompressed-disk-size\":\"8388608\",\"org.cirruslabs.tart.upload-time\":\"2024-05-01T10:00:00Z\"}}" >"$WORK/manifest.json"
  read -r mdg msz < <(blob "$WORK/manifest.json")
  echo '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
  echo "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$mdg\",\"size\":$msz,\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}" >"$L/index.json"
  skopeo copy --preserve-digests --dest-tls-verify=false "oci:$L:v1" "docker://$REG_ADDR/tart/linux:v1" >/dev/null 2>"$WORK/skopeo.err" ||
    { cat "$WORK/skopeo.err" >&2; fail "skopeo copy of the OCI layout into the registry"; }
  pass "skopeo copies a tart-shaped OCI layout into the registry"

  local out
  out=$("$VZKIT" pull "$REG_ADDR/tart/linux:v1" --insecure --json | tail -1) || fail "vzkit pull of the tart image"
  [ "$(json_field "$out" from_tart)" = true ] || fail "not seen as a tart image: $out"
  "$VZKIT" clone "$REG_ADDR/tart/linux:v1" lin >/dev/null || fail "vzkit clone of the tart image"
  local vm="$VZKIT_HOME/vms/lin"
  cmp -s "$vm/disk.img" "$WORK/tart-disk.img" || fail "the disk decoded from the bv4- stream differs"
  cmp -s "$vm/nvram.bin" "$WORK/nvram.bin" || fail "the NVRAM differs"
  grep -q '"engine": "vz"' "$vm/bundle.json" || fail "a tart image's VM is not for the vz engine"
  tr -d ' \n' <"$vm/spec.json" >"$WORK/spec.flat"
  for want in '"cpus":3' '"memory":"3072MiB"' '"plugin":"efi-boot","variable_store":"nvram.bin"' \
    '"plugin":"virtio-gpu","width":1280,"height":800' '"plugin":"virtio-blk","path":"disk.img"' '"plugin":"network","mac":'; do
    grep -qF "$want" "$WORK/spec.flat" || fail "the spec made from tart's config lacks $want: $(cat "$WORK/spec.flat")"
  done
  grep -q '7e:11:22:33:44:55' "$WORK/spec.flat" && fail "the clone kept the image's MAC"
  pass "vzkit pulls it: disk and NVRAM as written, a vz spec from tart's config (CPUs, memory, display, disk, NVRAM, a new MAC)"
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
  auth) case_auth ;;
  resume) case_resume ;;
  corrupt) case_corrupt ;;
  full) case_full ;;
  *) fail "unknown case '$CASE'" ;;
esac
