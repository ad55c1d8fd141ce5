# A throwaway OCI registry (Debian's docker-registry, the CNCF distribution registry) on
# 127.0.0.1 for the shell tests. Source after tests/lib/harness.sh (it uses $WORK).
#
#   registry_start NAME [htpasswd FILE]   starts it; sets REG_PORT, REG_ADDR (127.0.0.1:PORT),
#                                         REG_DIR (its storage) and REG_PID
#   registry_stop / registry_kill         SIGTERM and wait / SIGKILL
#   registry_restart                      the same storage and port again

# Below Linux's ephemeral range (32768-60999 by default), so that no outgoing connection of
# another test holds the port as its local end when the registry binds it.
registry_free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

registry_start() {
  command -v docker-registry >/dev/null || fail "docker-registry is not installed (scripts/setup.sh test installs it)"
  local name=$1
  REG_DIR="$WORK/registry-$name"
  mkdir -p "$REG_DIR/storage"
  REG_PORT=$(registry_free_port) || fail "no free port for the registry"
  REG_ADDR="127.0.0.1:$REG_PORT"
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: error"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: \"$REG_DIR/storage\""
    echo "  delete:"
    echo "    enabled: true"
    echo "http:"
    echo "  addr: \"$REG_ADDR\""
    if [ "${2:-}" = htpasswd ]; then
      echo "auth:"
      echo "  htpasswd:"
      echo "    realm: vzkit-test"
      echo "    path: \"$3\""
    fi
  } >"$REG_DIR/config.yml"
  registry_run
}

registry_run() {
  # env -i: the registry reads REGISTRY_* variables as settings (REGISTRY_AUTH_FILE would be "auth")
  env -i PATH="$PATH" docker-registry serve "$REG_DIR/config.yml" >>"$REG_DIR/log" 2>&1 &
  REG_PID=$!
  local end=$((SECONDS + 15))
  until (echo >"/dev/tcp/127.0.0.1/$REG_PORT") 2>/dev/null; do
    kill -0 "$REG_PID" 2>/dev/null || { cat "$REG_DIR/log" >&2; fail "the registry did not start"; }
    [ $SECONDS -lt $end ] || fail "the registry did not listen on $REG_ADDR within 15 s"
    sleep 0.05
  done
  REGISTRY_PIDS="${REGISTRY_PIDS:-} $REG_PID"
}

registry_stop() { { kill "$REG_PID" && wait "$REG_PID"; } 2>/dev/null || true; }
registry_kill() { { kill -9 "$REG_PID" && wait "$REG_PID"; } 2>/dev/null || true; }
registry_restart() { registry_run; }

registry_cleanup() {
  local p
  for p in ${REGISTRY_PIDS:-}; do
    { kill -9 "$p" && wait "$p"; } 2>/dev/null || true  # wait says 137 for the killed registry
  done
}
