#!/usr/bin/env bash
# Lab tests with real traffic through a router running prefixwall (native
# XDP on veth): ping, UDP and TCP pass; block rules stop them (v4 and v6);
# an allow inside the block lets them through; per-rule counters equal the
# packets sent; detach restores traffic. Needs root and network namespaces.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PREFIXWALL=${1:?usage: test_lab.sh PATH/TO/prefixwall}

[ "$(id -u)" = 0 ] || { echo "SKIP lab: needs root"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP lab: needs python3"; exit 77; }
ip netns add "pwprobe$$" 2>/dev/null || { echo "SKIP lab: cannot create network namespaces"; exit 77; }
ip netns del "pwprobe$$"

lab=pwl$$
lab() { "$here/lab.sh" "$1" "$lab" "${@:2}"; }
trap 'lab down' EXIT
lab up

passed=0 failed=0
ok() { echo "ok   - $1"; passed=$((passed + 1)); }
not_ok() { echo "FAIL - $1"; failed=$((failed + 1)); }
expect() { # expect DESCRIPTION COMMAND... : the command succeeds
  local d=$1; shift
  if "$@" >/dev/null 2>&1; then ok "$d"; else not_ok "$d"; fi
}
expect_not() { # the command fails
  local d=$1; shift
  if "$@" >/dev/null 2>&1; then not_ok "$d"; else ok "$d"; fi
}
expect_eq() { # DESCRIPTION WANT GOT
  if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (want $2, got $3)"; fi
}
# Packets counted for one rule, from `stats --json`.
rule_packets() {
  lab pw stats --json | python3 -c '
import json, sys
want = sys.argv[1]
for r in json.load(sys.stdin)["rules"]:
    if r["prefix"] == want:
        print(r["packets"]); break
else:
    print("absent")' "$1"
}
total_packets() { # FAMILY OUTCOME
  lab pw stats --json | python3 -c '
import json, sys
print(sum(t["packets"] for t in json.load(sys.stdin)["totals"]
          if t["family"] == sys.argv[1] and t["outcome"] == sys.argv[2]))' "$1" "$2"
}

echo "# before prefixwall"
expect "ping v4 passes" lab ping 198.51.100.2 1
expect "ping v6 passes" lab ping 2001:db8:2::2 1

echo "# attached, no rules"
expect "attach rc (native)" lab pw attach rc
expect "attach rs (native)" lab pw attach rs
saved_ifindex() { # IFACE: the index the state recorded for an attachment
  lab pw status --json | python3 -c '
import json, sys
print(next((i["ifindex"] for i in json.load(sys.stdin)["interfaces"] if i["interface"] == sys.argv[1]), "absent"))' "$1"
}
expect_eq "the saved attachment of rc carries its real interface index" \
  "$(lab exec router cat /sys/class/net/rc/ifindex)" "$(saved_ifindex rc)"
expect "ping v4 passes" lab ping 198.51.100.2
expect "ping v6 passes" lab ping 2001:db8:2::2
expect_eq "udp v4: 10 of 10 arrive" 10 "$(lab udp 198.51.100.2 10)"
expect_eq "udp v6: 10 of 10 arrive" 10 "$(lab udp 2001:db8:2::2 10)"
expect "tcp v4 connects" lab tcp 203.0.113.10
expect "tcp v6 connects" lab tcp 2001:db8:3::10

echo "# block rules"
expect "add blocks" lab pw add 198.51.100.0/24 2001:db8:2::/48 203.0.113.0/24 2001:db8:3::/48 --source lab
expect_not "ping v4 blocked" lab ping 198.51.100.2 4
expect_not "ping v6 blocked" lab ping 2001:db8:2::2 4
expect_eq "udp v4 blocked: 0 arrive" 0 "$(lab udp 198.51.100.2 7)"
expect_eq "udp v6 blocked: 0 arrive" 0 "$(lab udp 2001:db8:2::2 7)"
expect_not "tcp v4 blocked" lab tcp 203.0.113.10
expect_not "tcp v6 blocked" lab tcp 2001:db8:3::10
# Each ping request and each datagram hits the router once, and is dropped.
expect_eq "v4 block rule counted 4 pings + 7 datagrams" 11 "$(rule_packets 198.51.100.0/24)"
expect_eq "v6 block rule counted 4 pings + 7 datagrams" 11 "$(rule_packets 2001:db8:2::/48)"
v4_tcp=$(rule_packets 203.0.113.0/24)
[ "$v4_tcp" != absent ] && [ "$v4_tcp" -ge 1 ] && ok "tcp SYNs counted ($v4_tcp)" || not_ok "tcp SYNs counted ($v4_tcp)"
expect_eq "lookup says drop" '"drop"' "$(lab pw lookup 198.51.100.2 --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["verdict"]))')"

echo "# allow inside the block"
expect "add allows" lab pw add 198.51.100.2/32 2001:db8:2::2/128 --action allow --source lab
expect "ping v4 allowed" lab ping 198.51.100.2 3
expect "ping v6 allowed" lab ping 2001:db8:2::2 3
expect_eq "udp v4 allowed: 5 of 5 arrive" 5 "$(lab udp 198.51.100.2 5)"
# Requests (dst) and replies (src) both match the allow rule: 2 x 3 pings + 5 datagrams.
expect_eq "v4 allow rule counted 6 ping packets + 5 datagrams" 11 "$(rule_packets 198.51.100.2/32)"
expect_eq "v6 allow rule counted 6 ping packets" 6 "$(rule_packets 2001:db8:2::2/128)"
expect_eq "v4 block rule unchanged" 11 "$(rule_packets 198.51.100.0/24)"
expect_not "203.0.113.10 still blocked" lab tcp 203.0.113.10

echo "# monitor and dry-run"
expect "del the v4 allow" lab pw del 198.51.100.2/32 --source lab
expect "re-attach rc as dry-run (atomic program swap)" lab pw attach rc --dry-run
expect "re-attach rs as dry-run" lab pw attach rs --dry-run
before=$(total_packets ipv4 monitored)
expect "dry-run: ping v4 passes" lab ping 198.51.100.2 2
expect_eq "dry-run: 2 requests + 2 replies counted as monitored" $((before + 4)) "$(total_packets ipv4 monitored)"
expect "add a monitor rule" lab pw add 2001:db8:3::10/128 --action monitor --source watch
expect "re-attach rc enforcing" lab pw attach rc
expect "re-attach rs enforcing" lab pw attach rs
expect_not "enforcing again: ping v4 blocked" lab ping 198.51.100.2 2
expect "monitor inside a block passes" lab tcp 2001:db8:3::10
m=$(rule_packets 2001:db8:3::10/128)
[ "$m" != absent ] && [ "$m" -ge 2 ] && ok "monitor rule counted the connection ($m)" || not_ok "monitor rule counted the connection ($m)"

echo "# detach"
expect "detach rc" lab pw detach rc
expect "detach rs" lab pw detach rs
expect "ping v4 passes after detach" lab ping 198.51.100.2
expect "tcp v4 passes after detach" lab tcp 203.0.113.10
expect_eq "rules survive a detach" 6 "$(lab pw list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rules"]))')"
expect "detach --all --purge" lab pw detach --all --purge
expect_eq "purge removed the rules" 0 "$(lab pw list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rules"]))')"

echo "lab: $passed passed, $failed failed"
[ "$failed" = 0 ]
