#!/usr/bin/env bash
# The signed runners link nothing but the system (docs/vz.md), and the check that says so can fail.
#
#   system_libs.sh CHECKER NON_SYSTEM_BINARY RUNNER...
#
# CHECKER is bridge/vz/scripts/check-system-libs.sh. Each RUNNER must pass it. NON_SYSTEM_BINARY
# is a binary of the same build that links Boost's shared library (vzkit): the checker must refuse
# it and name that library, or a passing runner would prove nothing.
set -euo pipefail
checker=$1
other=$2
shift 2
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for runner in "$@"; do
  if out=$("$checker" "$runner" 2>&1); then pass "$(basename "$runner") links only system libraries: ${out#*: }"
  else fail "$(basename "$runner"): $out"; fi
done

if out=$("$checker" "$other" 2>&1); then
  fail "the checker accepted $(basename "$other"), which links Boost's shared library: $out"
elif grep -q 'boost' <<< "$out" && grep -q 'hint:' <<< "$out"; then
  pass "the checker refuses $(basename "$other") and names the library: $(grep -m1 boost <<< "$out" | sed 's/^ *//')"
else
  fail "the checker refused $(basename "$other") without naming its Boost library: $out"
fi

# The runners' own command lines must still work without those libraries.
for runner in "$@"; do
  if "$runner" --help > /dev/null 2>&1; then pass "$(basename "$runner") --help runs"
  else fail "$(basename "$runner") --help does not run"; fi
done

echo "$(( $# * 2 + 1 - failures )) passed, $failures failed"
[ "$failures" -eq 0 ]
