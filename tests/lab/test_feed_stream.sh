#!/usr/bin/env bash
# `prefixwall feed` as ExaBGP runs it, with the stream written by the test
# (no BGP): the initial table, bad lines (one stderr line each, nothing
# changed), another API version (exit 1, the claims kept and held),
# SIGTERM (the claims held), stdout never written (it is ExaBGP's command
# channel); usage errors of feed and export; export of the claims in force.
# Isolated pin and state directories; no traffic.
set -uo pipefail
pw_bin=${1:?usage: test_feed_stream.sh PATH/TO/prefixwall}
[ "$(id -u)" = 0 ] || { echo "SKIP feed_stream: needs root"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP feed_stream: needs python3"; exit 77; }

dir=$(mktemp -d /tmp/pw-feedstream-XXXXXX)
export PREFIXWALL_PIN_DIR=$dir/bpffs/pins PREFIXWALL_STATE_DIR=$dir/state
cleanup() { umount "$PREFIXWALL_PIN_DIR" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
passed=0 failed=0
ok() { echo "ok   - $1"; passed=$((passed + 1)); }
not_ok() { echo "FAIL - $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
claims() { "$pw_bin" list --source pipe --json | python3 -c 'import json,sys; print(" ".join(r["prefix"] for r in json.load(sys.stdin)["rules"]))'; }
held() { python3 -c 'import json,sys; print("pipe" in json.load(open(sys.argv[1])))' "$PREFIXWALL_STATE_DIR/holds.json" 2>/dev/null || echo False; }

head='{ "exabgp": "4.0.1", "time": 1.0, "host" : "t", "pid" : 1, "ppid" : 1, "counter": 1, '
nb='"neighbor": { "address": { "local": "192.0.2.2", "peer": "192.0.2.1" }, "asn": { "local": 65001, "peer": 65000 }'
up="$head\"type\": \"state\", $nb, \"state\": \"up\" } }"
ann="$head\"type\": \"update\", $nb, \"direction\": \"receive\", \"message\": { \"update\": { \"attribute\": { \"community\": [ [ 65535, 666 ] ] }, \"announce\": { \"ipv4 unicast\": { \"192.0.2.1\": [ { \"nlri\": \"203.0.113.0/24\" }, { \"nlri\": \"198.51.100.7/32\" } ] } } } } } }"
eor4="$head\"type\": \"update\", $nb, \"direction\": \"receive\", \"message\": { \"eor\": { \"afi\" : \"ipv4\", \"safi\" : \"unicast\" } } } }"
eor6=${eor4/ipv4/ipv6}
bad_prefix=${ann/198.51.100.7\/32/198.51.100.7\/33}

echo "# usage errors"
err=$("$pw_bin" feed 2>&1 >/dev/null </dev/null); rc=$?
check "feed without --source: exit 2, one line" '[ $rc = 2 ] && [ "$err" = "prefixwall: feed: --source NAME is required" ]'
err=$("$pw_bin" feed --source pipe --community 65535=block 2>&1 >/dev/null </dev/null); rc=$?
check "a bad --community: exit 1 naming it ($err)" '[ $rc = 1 ] && [[ $err == *"bad community '"'"'65535'"'"'"* ]]'
err=$("$pw_bin" feed --source pipe --families ipv5 2>&1 >/dev/null </dev/null); rc=$?
check "a bad --families: exit 2 ($err)" '[ $rc = 2 ] && [[ $err == *"ipv5"* ]]'
err=$("$pw_bin" export --source pipe --format json 2>&1 >/dev/null); rc=$?
check "export --format json: exit 2 ($err)" '[ $rc = 2 ] && [[ $err == *"only bird"* ]]'

echo "# the initial table, then bad lines"
out=$(printf '%s\n' "$up" "$ann" "$eor6" "$eor4" '{ "exabgp": "4.0.1", "type": "upd' \
        "$head\"type\": \"bogus\" }" "$bad_prefix" | "$pw_bin" feed --source pipe 2>"$dir/err1"); rc=$?
check "end of input: exit 0" '[ $rc = 0 ]'
check "stdout untouched" '[ -z "$out" ]'
check "the table is in force" '[ "$(claims)" = "198.51.100.7/32 203.0.113.0/24" ]'
check "three error lines, each naming its problem" '[ "$(grep -c "error: " "$dir/err1")" = 3 ] &&
  grep -q "malformed JSON" "$dir/err1" && grep -q "unknown ExaBGP message type '"'"'bogus'"'"'" "$dir/err1" &&
  grep -q "198.51.100.7/33" "$dir/err1"'
check "end of input holds the claims" '[ "$(held)" = True ] && grep -q "end of input" "$dir/err1"'

echo "# another API version"
out=$(printf '%s\n' "$up" "$ann" "$eor6" "$eor4" '{ "exabgp": "5.0.0", "type": "state" }' "$ann" |
        "$pw_bin" feed --source pipe 2>"$dir/err2"); rc=$?
check "exit 1" '[ $rc = 1 ]'
check "one line names the version" '[ "$(grep -c "ExaBGP JSON API version 5.0.0; this prefixwall reads version 4.0.1" "$dir/err2")" = 1 ]'
check "the claims stay" '[ "$(claims)" = "198.51.100.7/32 203.0.113.0/24" ]'

echo "# SIGTERM"
mkfifo "$dir/in"
"$pw_bin" feed --source pipe --hold-after-down 3600 <"$dir/in" >"$dir/out3" 2>"$dir/err3" &
feed=$!
exec 3>"$dir/in"
printf '%s\n' "$up" "$ann" "$eor6" "$eor4" >&3
for _ in $(seq 100); do grep -q "initial table in force" "$dir/err3" && break; sleep 0.1; done
kill -TERM "$feed"; wait "$feed"; rc=$?
exec 3>&-
check "SIGTERM: exit 0" '[ $rc = 0 ]'
check "logged, and the claims held an hour" 'grep -q "stopping on SIGTERM; the claims stay in force for 3600 s" "$dir/err3"'
check "the claims stay" '[ "$(claims)" = "198.51.100.7/32 203.0.113.0/24" ]'
check "stdout untouched" '[ ! -s "$dir/out3" ]'
check "the status file says down" 'python3 -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))[\"state\"] != \"down\")" "$PREFIXWALL_STATE_DIR/feeds/pipe.json"'

echo "# export of the claims in force"
out=$("$pw_bin" export --source pipe); rc=$?
check "export exits 0" '[ $rc = 0 ]'
check "with both routes and the community" '[ "$(grep -c "blackhole { bgp_community.add((65535, 666)); };" <<<"$out")" = 2 ]'

echo "# $passed passed, $failed failed"
[ "$failed" = 0 ]
