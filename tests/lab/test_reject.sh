#!/usr/bin/env bash
# The reject action with real traffic (native XDP on the router's rc):
# a TCP connect to a rejected address is refused at once, to a blocked one
# it times out; ping says "Packet filtered" (ICMP 3/13) and
# "Administratively prohibited" (ICMPv6 1/1); dry-run lets the connect
# through; the answers are counted as rejected in stats and metrics.
#
# Answers go back out of rc with XDP_TX; the client has an XDP program of
# its own on c0 so that they reach it (client_pass_all in testlib.sh).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PREFIXWALL=${1:?usage: test_reject.sh PATH/TO/prefixwall}
. "$here/testlib.sh"
needs reject python3 ping
needs_netns reject
start_lab pwrj

probe() { lab exec client python3 "$here/traffic.py" tcp-probe "$1" 9001 "${2:-2}"; }
refused_fast() { # ADDR: "yes" when the connect is refused in under 100 ms
  local r; r=$(probe "$1")
  case $r in refused\ *) awk -v ms="${r#refused }" 'BEGIN { print (ms < 100 ? "yes" : "slow " ms " ms") }' ;;
    *) echo "$r" ;; esac
}
total() { # OUTCOME: packets of the outcome, both families
  lab pw stats --json | python3 -c '
import json, sys
print(sum(t["packets"] for t in json.load(sys.stdin)["totals"] if t["outcome"] == sys.argv[1]))' "$1"
}

# The listener runs in the server's namespace under `ip netns exec`, which
# a kill of the wrapper does not reach: stopped by pattern at exit, and
# its output is not ctest's pipe (ctest would wait for it).
lab_cleanup() { pkill -f "$here/traffic.py tcp-listen 9001" 2>/dev/null; }
lab exec server python3 "$here/traffic.py" tcp-listen 9001 120 >/dev/null 2>&1 &
pids+=($!)
wait_bound server tcp 9001

check "client: a pass-everything XDP program on c0" client_pass_all
check "router: attach rc" "lab pw attach rc >/dev/null"
expect_eq "connect v4 before any rule" connected "$(probe 203.0.113.10)"
expect_eq "connect v6 before any rule" connected "$(probe 2001:db8:3::10)"

check "add reject rules" "lab pw add 203.0.113.10/32 2001:db8:3::10/128 --action reject --comment lab >/dev/null"
check "add a block rule" "lab pw add 203.0.113.20/32 2001:db8:3::20/128 >/dev/null"
expect_eq "TCP v4 to a rejected address: refused in under 100 ms" yes "$(refused_fast 203.0.113.10)"
expect_eq "TCP v6 to a rejected address: refused in under 100 ms" yes "$(refused_fast 2001:db8:3::10)"
expect_eq "TCP v4 to a blocked address: times out" timeout "$(probe 203.0.113.20 1.5)"
expect_eq "TCP v6 to a blocked address: times out" timeout "$(probe 2001:db8:3::20 1.5)"

out=$(lab exec client ping -n -c 1 -W 1 203.0.113.10 2>&1)
check "ping v4 to a rejected address says 'Packet filtered'" '[[ $out == *"Packet filtered"* ]]'
out6=$(lab exec client ping -n -c 1 -W 1 2001:db8:3::10 2>&1)
check "ping v6 to a rejected address says 'Administratively prohibited'" '[[ $out6 == *"Administratively prohibited"* ]]'
echo "$out" | sed -n 2p | sed 's/^/# /'
echo "$out6" | sed -n 2p | sed 's/^/# /'

rejected=$(total rejected)
check "stats count the answers as rejected (>= 4, got $rejected)" '[ "$rejected" -ge 4 ]'
check "list shows the action" "lab pw list | grep -q '203.0.113.10/32 *reject'"
check "lookup says reject" "lab pw lookup 203.0.113.10 | grep -q ': reject (203.0.113.10/32 reject'"
check "status counts reject rules" "lab pw status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"families\"][\"ipv4\"][\"rules\"][\"reject\"] == 1 and d[\"interfaces\"][0][\"reject_rate\"] == 1000'"
lab pw metrics > "$work/metrics.txt"
check "metrics: packets with outcome rejected" "grep -Eq '^prefixwall_packets_total\\{family=\"ipv4\",outcome=\"rejected\"\\} [1-9]' '$work/metrics.txt'"
check "metrics: reject rules" "grep -Eq '^prefixwall_rules\\{family=\"ipv6\",action=\"reject\",source=\"cli\"\\} 1$' '$work/metrics.txt'"

check "re-attach with --dry-run" "lab pw attach rc --dry-run >/dev/null"
expect_eq "dry-run: the connect to a rejected address goes through" connected "$(probe 203.0.113.10)"
check "re-attach with --reject-rate 0" "lab pw attach rc --reject-rate 0 >/dev/null"
expect_eq "rate 0: a rejected address is dropped unanswered (times out)" timeout "$(probe 203.0.113.10 1.5)"
check "status shows the rate" "lab pw status | grep -A3 '^interfaces' | grep -q ' 0 '"
finish
