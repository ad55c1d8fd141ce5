# Shared by the shell tests (e2e, readme, sdk): a work folder with a $VZKIT_HOME of its own,
# removed at exit once any VM a failed test left running is stopped; and pass/fail lines.
#
#   . tests/lib/harness.sh; harness_start TAG   (then set VZKIT, the vzkit binary, if not yet set)
#   wait_for FILE PATTERN SECONDS; state_of VM

harness_start() {
  HARNESS_TAG=$1
  WORK=$(mktemp -d "/tmp/vzkit-$1.XXXXXX")
  export VZKIT_HOME="$WORK/home"
  trap harness_cleanup EXIT
}

harness_cleanup() {
  if [ -x "${VZKIT:-}" ]; then
    for vm in $("$VZKIT" list --json 2>/dev/null | sed -n 's/.*"name": "\([^"]*\)".*/\1/p'); do
      "$VZKIT" stop "$vm" --force >/dev/null 2>&1 || true
    done
  fi
  rm -rf "$WORK"
}

fail() { echo "FAIL [$HARNESS_TAG]: $*" >&2; exit 1; }
pass() { echo "ok   [$HARNESS_TAG]: $*"; }

# wait_for FILE PATTERN SECONDS: waits until FILE has a line matching the extended regex.
wait_for() {
  local end=$((SECONDS + $3))
  while [ $SECONDS -lt $end ]; do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# state_of VM: its state as `vzkit list` shows it.
state_of() { "$VZKIT" list --json | tr -d '\n ' | sed -n "s/.*\"name\":\"$1\",\"state\":\"\([a-z]*\)\".*/\1/p"; }
