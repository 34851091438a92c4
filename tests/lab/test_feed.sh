#!/usr/bin/env bash
# A BGP feed in the lab: a real BIRD 2 in the server namespace announces
# blackhole routes over the rs--s0 link to a real ExaBGP in the router
# namespace, which runs `prefixwall feed` as its API process; the lab's
# client sends real traffic through the router (prefixwall on rc).
#   - BLACKHOLE routes (v4 and v6) drop traffic; a route without the
#     community is not applied; a withdraw lets traffic through again;
#   - BIRD stopped: the rules stay for the hold time, then go; BIRD back:
#     they come back;
#   - 100,000 routes (exported by `prefixwall export` for BIRD to include)
#     are in force within 10 s of the session coming up, as one version
#     (BIRD restarted with the include);
#   - a session that then goes over --max-prefixes keeps the last good table.
# Documentation addresses (and 198.18.0.0/15 for the rule-only routes).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/testlib.sh"
export PREFIXWALL=$(realpath "${1:?usage: test_feed.sh PATH/TO/prefixwall}")
needs feed python3 bird birdc exabgp
needs_netns feed
start_lab pwf
# BIRD and ExaBGP run under `ip netns exec`: killing the wrapper in pids
# would leave them running in a deleted namespace.
lab_cleanup() {
  pkill -f "$work/exabgp.conf"; pkill -f "$work/bird.conf"
  for _ in $(seq 50); do pgrep -f "$work/(exabgp|bird).conf" >/dev/null || return 0; sleep 0.1; done
  pkill -9 -f "$work/(exabgp|bird).conf"
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
status_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ''))" "$base/state/feeds/rs.json" "$1" 2>/dev/null; }
rule_for() { lab pw lookup --json "$1" | json 'd["match"]["prefix"] if d["match"] else "none"'; }
# wait_for SECONDS COMMAND...: polls until the command succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.2; done
}
feed_up_with() { [ "$(status_field routes) $(status_field state)" = "$1 up" ]; }
has_rule() { [ "$(rule_for "$1")" != none ]; }
no_rule() { [ "$(rule_for "$1")" = none ]; }
logged() { grep -q -- "$1" "$work/feed.log"; }
birdc_() { lab exec server birdc -s "$work/bird.ctl" "$@" >/dev/null; }

# BIRD: the hub. Small static routes, and the include the export fills.
: >"$work/big.conf"
cat >"$work/bird.conf" <<CONF
router id 198.51.100.2;
protocol device {}
protocol static bh {
  ipv4;
  route 203.0.113.10/32 blackhole { bgp_community.add((65535, 666)); };
  route 203.0.113.20/32 blackhole;
}
protocol static bh6 {
  ipv6;
  route 2001:db8:3::10/128 blackhole { bgp_community.add((65535, 666)); };
}
include "$work/big.conf";
protocol bgp edge {
  local 198.51.100.2 as 65000;
  neighbor 198.51.100.1 as 65001;
  connect delay time 1; connect retry time 1; error wait time 1, 5;
  ipv4 { import none; export all; next hop self; };
  ipv6 { import none; export all; next hop self; };
}
CONF
start_bird() {
  lab exec server bird -f -c "$work/bird.conf" -s "$work/bird.ctl" >>"$work/bird.log" 2>&1 &
  pids+=($!)
}

# ExaBGP: the edge, running the feed.
cat >"$work/feed.sh" <<SH
#!/bin/sh
exec env PREFIXWALL_PIN_DIR=$base/bpf/prefixwall PREFIXWALL_STATE_DIR=$base/state \
  $PREFIXWALL feed --source rs --hold-after-down 3 --max-prefixes 150000 --allow-private 2>>$work/feed.log
SH
chmod +x "$work/feed.sh"
cat >"$work/exabgp.conf" <<CONF
process prefixwall {
  run $work/feed.sh;
  encoder json;
}
neighbor 198.51.100.2 {
  router-id 198.51.100.1;
  local-address 198.51.100.1;
  local-as 65001;
  peer-as 65000;
  family { ipv4 unicast; ipv6 unicast; }
  api { processes [ prefixwall ]; receive { parsed; update; } neighbor-changes; }
}
CONF

# The shipped example is a configuration ExaBGP accepts.
sed "s#/usr/sbin/prefixwall#$PREFIXWALL#" "$here/../../examples/exabgp.conf" >"$work/example.conf"
check "examples/exabgp.conf passes exabgp --test" \
  'exabgp_api_cli=false exabgp_cli_enable=false exabgp --test "$work/example.conf" >"$work/example.log" 2>&1 && grep -q "decoding routes in configuration" "$work/example.log"'

# So is the hub's, with a real export in its include.
"$PREFIXWALL" export --source reg --from "$here/../../examples/sample-registry.txt" \
  --output "$work/example-export.conf" 2>/dev/null
sed "s#/etc/bird/prefixwall-reg.conf#$work/example-export.conf#" "$here/../../examples/bird.conf" >"$work/example-bird.conf"
check "examples/bird.conf with an export passes bird -p" 'bird -p -c "$work/example-bird.conf"'

lab pw attach rc >/dev/null || { echo "FAIL - attach"; exit 1; }
start_bird
lab exec router env exabgp_daemon_user=root exabgp_daemon_drop=false exabgp_log_destination=stderr \
  exabgp_api_cli=false exabgp_cli_enable=false exabgp "$work/exabgp.conf" >"$work/exabgp.log" 2>&1 &
pids+=($!)

echo "# the session: blackhole routes in force, the rest not"
show_logs() {
  for f in feed.log exabgp.log bird.log; do echo "## $f"; grep -v "cli control" "$work/$f" | tail -25; done
}
if ! wait_for 30 logged "initial table in force (end-of-RIB)"; then
  not_ok "initial table in force at end-of-RIB"; show_logs; finish; exit
fi
ok "initial table in force at end-of-RIB"
expect_eq "v4 blackhole route is a rule" 203.0.113.10/32 "$(rule_for 203.0.113.10)"
expect_eq "v6 blackhole route is a rule" 2001:db8:3::10/128 "$(rule_for 2001:db8:3::10)"
expect_eq "a route without the community is not" none "$(rule_for 203.0.113.20)"
check "traffic to the v4 route is dropped" 'blocked 203.0.113.10'
check "traffic to the v6 route is dropped" '! lab ping 2001:db8:3::10 1'
check "traffic to the other route passes" 'lab ping 203.0.113.20 1'
expect_eq "list names the peer, its AS and the community" "peer 198.51.100.2 AS65000 community 65535:666" \
  "$(lab pw list --source rs --json | json '[r for r in d["rules"] if r["prefix"] == "203.0.113.10/32"][0]["claims"][0]["comment"]')"
expect_eq "and lookup" "203.0.113.10: drop (203.0.113.10/32 block, sources rs; rs: peer 198.51.100.2 AS65000 community 65535:666)" \
  "$(lab pw lookup 203.0.113.10)"

echo "# withdrawn, announced again"
birdc_ disable bh
check "a withdraw lets traffic through" 'wait_for 10 no_rule 203.0.113.10 && lab ping 203.0.113.10 1'
check "the v6 route stays" 'has_rule 2001:db8:3::10'
birdc_ enable bh
check "announced again: dropped again" 'wait_for 10 has_rule 203.0.113.10 && blocked 203.0.113.10'
metrics=$(lab pw metrics)
check "metrics: the session is up" 'grep -q "^prefixwall_feed_up{source=\"rs\"} 1" <<<"$metrics"'
check "metrics: announced prefixes counted" 'grep -q "^prefixwall_feed_announced_prefixes_total{source=\"rs\"} [1-9]" <<<"$metrics"'
check "metrics: update latency" 'grep -q "^prefixwall_feed_update_latency_seconds_count{source=\"rs\"} [1-9]" <<<"$metrics"'

echo "# BIRD stopped: held, then withdrawn; BIRD back: in force again"
birdc_ down
check "the feed logs the session down" 'wait_for 10 logged "session with 198.51.100.2 down"'
check "within the hold time the rules stay" 'has_rule 203.0.113.10 && blocked 203.0.113.10'
check "after the hold time they go" 'wait_for 10 no_rule 203.0.113.10 && lab ping 203.0.113.10 1'
expect_eq "and the v6 one" none "$(rule_for 2001:db8:3::10)"
wait "${pids[0]}" 2>/dev/null
start_bird
check "BIRD back: the rules come back" 'wait_for 30 has_rule 203.0.113.10 && blocked 203.0.113.10'

echo "# 100,000 routes, exported for BIRD by prefixwall, as one version"
python3 - "$work/big.txt" <<'PY'
import ipaddress, sys
with open(sys.argv[1], "w") as f:
    base4 = int(ipaddress.IPv4Address("198.18.0.0"))
    for i in range(50000):
        f.write("%s/32\n" % ipaddress.IPv4Address(base4 + i))
    base6 = int(ipaddress.IPv6Address("2001:db8:ffff::"))
    for i in range(50000):
        f.write("%s/128\n" % ipaddress.IPv6Address(base6 + i))
PY
check "export writes the BIRD routes" \
  '"$PREFIXWALL" export --source big --from "$work/big.txt" --allow-private --output "$work/big.conf" 2>/dev/null'
expect_eq "with the community, one line per route" 100000 "$(grep -c 'blackhole { bgp_community.add((65535, 666)); };' "$work/big.conf")"
state_is() { [ "$(status_field state)" = "$1" ]; }
birdc_ down
wait "${pids[0]}" 2>/dev/null
wait_for 10 state_is down
start_bird
check "the new session is collecting" 'wait_for 30 state_is collecting'
t0=$(date +%s.%N)
versions_before=$(status_field versions)
check "100,002 routes in force after end-of-RIB" 'wait_for 60 feed_up_with 100002'
took=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")
echo "# session up to 100,002 routes in force: ${took} s; $(grep -o '[0-9.]* ms from end-of-RIB to in force' "$work/feed.log" | tail -1)"
check "within 10 s of the session coming up" 'python3 -c "import sys; sys.exit(float(sys.argv[1]) > 10)" "$took"'
expect_eq "committed as one version" $((versions_before + 1)) "$(status_field versions)"
expect_eq "the store agrees" 100002 "$(lab pw list --source rs --json | json 'len(d["rules"])')"
expect_eq "a v6 route of them" 2001:db8:ffff::c34f/128 "$(rule_for 2001:db8:ffff::c34f)"

echo "# over --max-prefixes while live: the last good table stays"
python3 - "$work/big2.conf" <<'PY'
import ipaddress, sys
with open(sys.argv[1], "w") as f:
    f.write("protocol static more {\n  ipv4;\n")
    base = int(ipaddress.IPv4Address("198.19.0.0"))
    for i in range(60000):
        f.write("  route %s/32 blackhole { bgp_community.add((65535, 666)); };\n" % ipaddress.IPv4Address(base + i))
    f.write("}\n")
PY
echo "include \"$work/big2.conf\";" >>"$work/bird.conf"
birdc_ configure
check "the feed says so once" 'wait_for 30 logged "over --max-prefixes 150000"'
expect_eq "one line" 1 "$(grep -c 'over --max-prefixes 150000' "$work/feed.log")"
expect_eq "state over-limit" over-limit "$(status_field state)"
routes=$(lab pw list --source rs --json | json 'len(d["rules"])')
check "the table as of the last update within the limit ($routes routes)" '[ "$routes" -ge 100003 ] && [ "$routes" -le 150000 ]'
check "traffic is still dropped" 'blocked 203.0.113.10'
birdc_ disable bh
sleep 2
check "this session's updates are no longer applied" 'has_rule 203.0.113.10'

echo "# every transition was one log line, stdout untouched"
check "no error lines" '! grep -q "feed rs: error" "$work/feed.log"'
expect_eq "one hold per lost session" 2 "$(grep -c "the claims stay in force for 3 s" "$work/feed.log")"
[ "$failed" = 0 ] || show_logs
finish
