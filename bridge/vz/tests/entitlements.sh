#!/usr/bin/env bash
# The entitlements the VZ runners are signed with (docs/vz.md): exactly the keys they need, each on.
#
#   entitlements.sh bridge/vz/vzkit.entitlements
set -euo pipefail
file=$1
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Comments out, then one "<key>K</key><true/>" pair per line.
body=$(sed -e ':a;N;$!ba' -e 's/<!--[^>]*-->//g' "$file" | tr -d ' \t\n' | sed 's/<\/key>/&\n/g; s/<key>/\n<key>/g')
keys=$(printf '%s\n' "$body" | sed -n 's/^<key>\(.*\)<\/key>$/\1/p' | sort | tr '\n' ' ')
expected="com.apple.security.device.audio-input com.apple.security.virtualization "
if [ "$keys" = "$expected" ]; then pass "keys: $keys"; else fail "keys are '$keys', expected '$expected'"; fi
# Every key is followed by <true/>.
values=$(printf '%s\n' "$body" | grep -A1 '^<key>' | grep -vc '^<key>\|^--$' || true)
trues=$(printf '%s\n' "$body" | grep -A1 '^<key>' | grep -c '^<true/>' || true)
if [ "$values" = "$trues" ] && [ "$trues" -eq 2 ]; then pass "every entitlement is <true/>"
else fail "expected 2 entitlements, each <true/>: $trues of $values are"; fi
grep -q 'com.apple.security.network.client' <(sed -e ':a;N;$!ba' -e 's/<!--[^>]*-->//g' "$file") \
  && fail "network.client does nothing outside the App Sandbox" || pass "no network.client (the runners are not sandboxed)"
echo "$((3 - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
