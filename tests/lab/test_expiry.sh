#!/usr/bin/env bash
# Expiring claims with real traffic: a block added with --expire 2s drops
# packets, then, with the daemon running and no command run, passes again
# within a second of its deadline; a prefix claimed by two sources stays
# blocked when one claim expires; without the daemon, `prefixwall expire`
# (or any command that changes something) withdraws what is due; a
# source's expire= gives its claims a deadline that a sync still listing
# them renews (also when an HTTP registry answers 304); list, lookup and
# the metrics show deadlines.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PREFIXWALL=${1:?usage: test_expiry.sh PATH/TO/prefixwall}
. "$here/testlib.sh"
needs expiry python3
needs_netns expiry
start_lab pwex
chmod 755 "$work"
blocked_now() { ! lab exec client ping -q -n -c 1 -W 1 "$1" >/dev/null 2>&1; }
claims_json() { lab pw list --json | python3 -c '
import json, sys
for r in json.load(sys.stdin)["rules"]:
    if r["prefix"] == sys.argv[1]:
        print(" ".join("%s:%s" % (c["source"], c["expires"] or "never") for c in r["claims"])); break
else:
    print("none")' "$1"; }

check "router: attach rc" "lab pw attach rc >/dev/null"
check "an --until in the past is refused" "! lab pw add 203.0.113.10/32 --until 2020-01-01T00:00Z 2>/dev/null"
check "a bad --expire is one line" \
  "[ \"\$(lab pw add 203.0.113.10/32 --expire 2 2>&1)\" = \"prefixwall: bad duration '2': expected a number with s, m, h, d or w (90s, 2h, 1h30m)\" ]"
check "--expire and --until together are a usage error" \
  "! lab pw add 203.0.113.10/32 --expire 2s --until 2030-01-01T00:00Z 2>/dev/null"

# The daemon: no sources, only the deadlines.
printf '[daemon]\nlisten = 127.0.0.1:9797\n' >"$work/pw.conf"
chmod 600 "$work/pw.conf"
PREFIXWALL_PIN_DIR=$base/bpf/prefixwall PREFIXWALL_STATE_DIR=$base/state \
  ip netns exec "$lab-router" "$PREFIXWALL" serve --config "$work/pw.conf" 2>"$work/daemon.log" &
daemon=$!
pids+=($daemon)
sleep 1

check "a second source's claim without a deadline" "lab pw add 203.0.113.20/32 --source court >/dev/null"
lab pw add 203.0.113.10/32 203.0.113.20/32 --source incident --expire 2s >"$work/add.out"
deadline=$(python3 -c '
import re, sys, datetime
m = re.search(r"expires (\S+)Z", open(sys.argv[1]).read())
print(int(datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp()))' "$work/add.out")
check "add says when it expires" "grep -q '  expires .*Z (in 2s)' $work/add.out"
check "203.0.113.10 is dropped" "blocked_now 203.0.113.10"
# (Nothing of prefixwall runs from here until the deadline has passed.)
until ! blocked_now 203.0.113.10 || [ "$(date +%s)" -gt $((deadline + 5)) ]; do sleep 0.2; done
passed_at=$(date +%s)
check "after the deadline 203.0.113.10 passes, with no command run" "! blocked_now 203.0.113.10"
check "withdrawn within a second of the deadline (passed at +$((passed_at - deadline))s)" "[ $passed_at -le $((deadline + 2)) ]"
check "the daemon logged the withdrawal" "grep -q 'prefixwall: 2 expired claims withdrawn (incident 2)' $work/daemon.log"
check "203.0.113.20 stays blocked: the court's claim holds it" "blocked_now 203.0.113.20"
expect_eq "only the court's claim is left on 203.0.113.20" "court:never" "$(claims_json 203.0.113.20/32)"
check "203.0.113.10's rule is gone" "[ \"\$(claims_json 203.0.113.10/32)\" = none ]"
kill "$daemon"; wait "$daemon" 2>/dev/null

# Without the daemon: shown while due, withdrawn by `expire`.
# (Room for the checks before the deadline: a build with sanitizers
# takes most of a second a command.)
until_at=$(($(date +%s) + 8))
lab pw add 203.0.113.10/32 --source incident --until "$(date -u -d "@$until_at" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
check "list shows the deadline" "lab pw list | grep -q '203.0.113.10/32 *block *incident *incident [0-9-]*T[0-9:]*Z'"
check "lookup shows the deadline" "lab pw lookup 203.0.113.10 | grep -q '; incident expires [0-9-]*T[0-9:]*Z (in [0-9]s)'"
expect_eq "metrics: one claim expiring" 1 "$(metric prefixwall_claims_expiring)"
while [ "$(date +%s)" -le "$until_at" ]; do sleep 0.2; done
check "past its deadline, nothing ran: still dropped" "blocked_now 203.0.113.10"
check "prefixwall expire withdraws it" "lab pw expire | grep -qx 'withdrew 1 expired claim; 0 expiring'"
check "203.0.113.10 passes" "! blocked_now 203.0.113.10"

# A source with expire=: its claims get a deadline, which a sync that still
# lists them renews once half of it has passed.
printf '203.0.113.10/32\n' >"$work/lapse.txt"
lab pw sync --source lapse --from "$work/lapse.txt" --expire 8s >/dev/null
first=$(claims_json 203.0.113.10/32)
check "the source's claim has a deadline" "echo '$first' | grep -q '^lapse:[0-9-]*T[0-9:]*Z$'"
sleep 5 # past half of it, with room before its end
check "a sync still listing it renews it" \
  "lab pw sync --source lapse --from $work/lapse.txt --expire 8s | grep -q '1 expiring claims renewed'"
check "with a later deadline" "[ \"\$(claims_json 203.0.113.10/32)\" != '$first' ]"
check "still dropped" "blocked_now 203.0.113.10"
sleep 9
check "without a sync it lapses (expire)" "lab pw expire | grep -q '^withdrew 1 expired claim'"
check "203.0.113.10 passes" "! blocked_now 203.0.113.10"
expect_eq "metrics: none expiring" 0 "$(metric prefixwall_claims_expiring)"

# Over HTTP an unchanged registry answers 304: still listed, so renewed.
mkdir -p "$work/www"
printf '203.0.113.20/32\n' >"$work/www/feed.txt"
serve_http 8089 "$work/www"
check "sync an HTTP source with expire" "lab pw sync --source web --from http://127.0.0.1:8089/feed.txt --expire 8s >/dev/null"
first=$(claims_json 203.0.113.20/32)
check "its claim has a deadline" "[[ '$first' == *web:20[0-9][0-9]-* ]]"
sleep 5
check "a 304 renews its claims" \
  "lab pw sync --source web --from http://127.0.0.1:8089/feed.txt --expire 8s | grep -q '^source web: not modified .*, 1 expiring claims renewed'"
check "with a later deadline" "[ \"\$(claims_json 203.0.113.20/32)\" != '$first' ]"
finish
