#!/usr/bin/env bash
# `prefixwall sync` from the command line: a config with a file source and
# an HTTP source (python's http.server on 127.0.0.1), dry runs, JSON
# reports, a refused sync and a failed download that change nothing, and
# the exit codes. Isolated pin and state directories; no traffic. This
# host's own addresses are protected, so the prefixes avoid 192.0.2.0/24,
# where machines here have theirs.
set -uo pipefail
pw_bin=${1:?usage: test_sync_cli.sh PATH/TO/prefixwall}
[ "$(id -u)" = 0 ] || { echo "SKIP sync_cli: needs root"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP sync_cli: needs python3"; exit 77; }

dir=$(mktemp -d /tmp/pw-synccli-XXXXXX)
export PREFIXWALL_PIN_DIR=$dir/bpffs/pins PREFIXWALL_STATE_DIR=$dir/state
mkdir -p "$dir/www"
python3 -m http.server 0 --bind 127.0.0.1 --directory "$dir/www" >"$dir/http.log" 2>&1 &
http_pid=$!
cleanup() { kill "$http_pid" 2>/dev/null; umount "$PREFIXWALL_PIN_DIR" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 50); do
  port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$dir/http.log" | head -1)
  [ -n "$port" ] && break; sleep 0.1
done
[ -n "$port" ] || { echo "FAIL - http.server did not start"; exit 1; }

passed=0 failed=0
ok() { echo "ok   - $1"; passed=$((passed + 1)); }
not_ok() { echo "FAIL - $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
rules() { "$pw_bin" list --json | json 'len(d["rules"])'; }

printf '; Spamhaus-style\n198.51.100.0/25 ; SBL1\n198.51.100.128/25 ; SBL2\n2001:db8:bad::/48 ; SBL3\n' >"$dir/www/drop.txt"
printf '203.0.113.0/24\n10.0.0.0/8\n4.0.0.0/7\n' >"$dir/local.netset"
cat >"$dir/pw.conf" <<CONF
[source web]
from = http://127.0.0.1:$port/drop.txt
[source local]
from = $dir/local.netset
format = plain
CONF

out=$("$pw_bin" sync --config "$dir/pw.conf" --dry-run --json); rc=$?
check "dry run exits 0" '[ $rc = 0 ]'
check "dry run reports both sources" '[ "$(echo "$out" | json "len(d[\"syncs\"])")" = 2 ]'
check "dry run changes nothing" '[ "$(rules)" = 0 ]'

out=$("$pw_bin" sync --config "$dir/pw.conf" --json); rc=$?
check "sync exits 0" '[ $rc = 0 ]'
check "web: 3 entries added" '[ "$(echo "$out" | json "d[\"syncs\"][0][\"source_entries\"][\"added\"]")" = 3 ]'
check "local: private and broad entries refused" \
  '[ "$(echo "$out" | json "sorted(d[\"syncs\"][1][\"guards\"][\"refused\"].items())")" = "[('"'"'min-prefix-len'"'"', 1), ('"'"'private'"'"', 1)]" ]'
check "4 rules in force" '[ "$(rules)" = 4 ]'
check "lookup shows the SBL reference's source" \
  '[ "$("$pw_bin" lookup 198.51.100.9 --json | json "d[\"match\"][\"sources\"]")" = "['"'"'web'"'"']" ]'

out=$("$pw_bin" sync --config "$dir/pw.conf" --source web); rc=$?
check "unchanged registry: 304" 'echo "$out" | grep -q "not modified (HTTP 304"'

: >"$dir/www/drop.txt"   # the registry comes back empty
sleep 1                   # a new Last-Modified second
out=$("$pw_bin" sync --config "$dir/pw.conf" --source web 2>&1); rc=$?
check "an emptied registry is refused (exit 1)" '[ $rc = 1 ] && echo "$out" | grep -q "REFUSED: would remove 3 of 3 entries"'
check "and nothing changed" '[ "$(rules)" = 4 ]'

rm "$dir/www/drop.txt"
out=$("$pw_bin" sync --config "$dir/pw.conf" --source web 2>&1); rc=$?
check "a 404 fails with one line (exit 1)" '[ $rc = 1 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -q "HTTP 404; the last good version stays in force"'
check "and nothing changed" '[ "$(rules)" = 4 ]'

out=$("$pw_bin" sync --source x --from "$dir/nope.txt" 2>&1); rc=$?
check "a missing file fails (exit 1)" '[ $rc = 1 ] && echo "$out" | grep -q "nope.txt: No such file or directory"'
out=$("$pw_bin" sync --source x 2>&1); rc=$?
check "sync without --from is a usage error (exit 2)" '[ $rc = 2 ]'
out=$("$pw_bin" sync --source ../x --from "$dir/local.netset" 2>&1); rc=$?
check "a bad source name is refused" '[ $rc = 1 ] && echo "$out" | grep -q "bad source name"'
printf '[source a]\nfrom = x\nbogus = 1\n' >"$dir/bad.conf"
out=$("$pw_bin" sync --config "$dir/bad.conf" 2>&1); rc=$?
check "a bad config names file, line and key" '[ $rc = 1 ] && echo "$out" | grep -q "bad.conf:3 (bogus): unknown key"'

if command -v promtool >/dev/null; then
  check "prefixwall metrics passes promtool" '"$pw_bin" metrics | promtool check metrics'
  "$pw_bin" metrics --output "$dir/prefixwall.prom"; rc=$?
  check "metrics --output writes the file (for the textfile collector)" '[ $rc = 0 ] && grep -q "^prefixwall_build_info" "$dir/prefixwall.prom" && [ -z "$(ls -A "$dir" | grep "\.tmp\.")" ]'
fi
out=$("$pw_bin" stats --sort pps 2>&1); rc=$?
check "stats --sort pps without --interval is a usage error" '[ $rc = 2 ] && echo "$out" | grep -q "needs --interval"'
out=$("$pw_bin" stats --top 2 --interval 0.2 --json); rc=$?
check "stats --interval reports rates" '[ $rc = 0 ] && [ "$(echo "$out" | json "\"interval_seconds\" in d and len(d[\"rules\"]) <= 2")" = True ]'

echo "sync_cli: $passed passed, $failed failed"
[ "$failed" = 0 ]
