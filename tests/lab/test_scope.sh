#!/usr/bin/env bash
# Rules scoped to L4 with real traffic (native XDP on the router's rc):
# a block around (203.0.113.0/24, 2001:db8:3::/48), an exception inside it
# (the /28 and /124 holding the servers' .10 and ::10), and in the
# exception TCP 443 blocked again: TCP 443 times out, TCP 80 connects and
# UDP 443 arrives, while the block around still stops everything else;
# lookup, list, stats and metrics say so, and withdrawing the scoped claim
# opens TCP 443.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PREFIXWALL=${1:?usage: test_scope.sh PATH/TO/prefixwall}
. "$here/testlib.sh"
needs scope python3
needs_netns scope
start_lab pwsc

probe() { lab exec client python3 "$here/traffic.py" tcp-probe "$1" "$2" "${3:-1.5}"; }
udp_through() { # ADDR PORT: datagrams of 5 that reach the server
  lab exec server python3 "$here/traffic.py" udp-recv "$2" 5 2 > "$work/udp.out" 2>&1 &
  local rx=$!
  wait_bound server udp "$2"
  lab exec client python3 "$here/traffic.py" udp-send "$1" "$2" 5
  wait "$rx"
  cat "$work/udp.out"
}

# Listeners in the server's namespace: stopped by pattern at exit, their
# output not ctest's pipe.
lab_cleanup() { pkill -f "$here/traffic.py tcp-listen" 2>/dev/null; }
for port in 80 443; do
  lab exec server python3 "$here/traffic.py" tcp-listen "$port" 120 >/dev/null 2>&1 &
  pids+=($!)
  wait_bound server tcp "$port"
done

check "router: attach rc" "lab pw attach rc >/dev/null"
expect_eq "TCP 443 v4 before any rule" connected "$(probe 203.0.113.10 443)"
check "block the /24 and the /48 around" "lab pw add 203.0.113.0/24 2001:db8:3::/48 >/dev/null"
check "an exception inside" "lab pw add 203.0.113.0/28 2001:db8:3::10/124 --action allow --source ops >/dev/null"
check "TCP 443 blocked in the exception" \
  "lab pw add 203.0.113.0/28 2001:db8:3::10/124 --proto tcp --port 443 --source ops-443 >/dev/null"

for a in 203.0.113.10 2001:db8:3::10; do
  expect_eq "TCP 443 to $a: blocked (times out)" timeout "$(probe "$a" 443)"
  expect_eq "TCP 80 to $a: connects" connected "$(probe "$a" 80)"
  expect_eq "UDP 443 to $a: all 5 arrive" 5 "$(udp_through "$a" 443)"
done
for a in 203.0.113.20 2001:db8:3::20; do
  expect_eq "TCP 80 to $a, outside the exception: blocked" timeout "$(probe "$a" 80 1)"
done

check "list shows the scoped rule" "lab pw list | grep -q '203.0.113.0/28 *block tcp/443, else allow'"
check "lookup: TCP 443 drops" "lab pw lookup 203.0.113.10 --proto tcp --port 443 | grep -q ': drop (203.0.113.0/28 block tcp/443, else allow'"
check "lookup: TCP 80 passes" "lab pw lookup 203.0.113.10 --proto tcp --port 80 | grep -q ': pass (203.0.113.0/28'"
check "lookup: UDP 443 passes" "lab pw lookup 2001:db8:3::10 --proto udp --port 443 | grep -q ': pass (2001:db8:3::10/124'"
check "lookup --port without --proto is a usage error" "! lab pw lookup 203.0.113.10 --port 443 2>/dev/null"
check "stats count the scoped rule's packets" "lab pw stats --json | python3 -c '
import json, sys
r = [r for r in json.load(sys.stdin)[\"rules\"] if r[\"prefix\"] == \"203.0.113.0/28\"]
assert r and r[0][\"packets\"] > 0 and r[0][\"scoped\"] == \"block tcp/443, else allow\", r'"
check "status counts the scoped rules" "lab pw status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"families\"][\"ipv4\"][\"scoped\"] == 1 and d[\"families\"][\"ipv6\"][\"scoped\"] == 1, d[\"families\"]'"
lab pw metrics > "$work/metrics.txt"
check "metrics: scoped rules per family" "grep -Eq '^prefixwall_rules_scoped\\{family=\"ipv4\"\\} 1$' '$work/metrics.txt'"
check "metrics: the scoped claim's series has its scope" \
  "grep -Eq '^prefixwall_prefix_packets_total\\{prefix=\"203.0.113.0/28\",source=\"ops-443\",action=\"allow\",scope=\"tcp/443\"\\} [1-9]' '$work/metrics.txt'"

out=$(lab pw add 203.0.113.0/28 --proto tcp --port 8443 --source ops-443 2>&1)
check "a claim replaced with another scope is warned about" '[[ $out == *"is replaced by this one"* ]]'
check "bad input: icmp on an IPv6 prefix" "! lab pw add 2001:db8:3::10/124 --proto icmp 2>/dev/null"
check "bad input: a port without a protocol" "! lab pw add 203.0.113.0/28 --port 443 2>/dev/null"
expect_eq "TCP 443 to 203.0.113.10 after the scope moved to 8443: connects" connected "$(probe 203.0.113.10 443)"
check "withdraw the scoped claims" "lab pw del 203.0.113.0/28 2001:db8:3::10/124 --source ops-443 >/dev/null"
expect_eq "TCP 443 v6 without the scoped claim: connects" connected "$(probe 2001:db8:3::10 443)"

# A registry synced unscoped, then the same unchanged file with a scope:
# the scope is a setting of the source, so the file is read again.
printf '203.0.113.20/32\n' > "$work/list.txt"
check "sync a list (blocks .20 whatever the packet)" "lab pw sync --source reg --from '$work/list.txt' >/dev/null"
check "sync the same file scoped to TCP 443" \
  "lab pw sync --source reg --from '$work/list.txt' --proto tcp --port 443 | grep -q 'applied: rules +0 -0 ~1'"
check "list shows the source's scope" "lab pw list --source reg | grep -q '203.0.113.20/32 *block tcp/443'"
lab pw export --source reg > "$work/reg.conf" 2> "$work/reg.err"
check "export leaves a scoped claim out (a blackhole would take all its traffic) and says so" \
  "! grep -q '203.0.113.20/32' '$work/reg.conf' && grep -q '1 claims scoped to L4' '$work/reg.err'"
finish
