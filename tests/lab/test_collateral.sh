#!/usr/bin/env bash
# The collateral guard with real traffic and a real daemon: provider lists
# (the Google Cloud fixture holds 203.0.113.0/25; a plain list written here
# holds 2001:db8:3::/56) make add and sync report the provider space a
# change newly blocks; over --max-collateral the change is refused and
# nothing in force changes (traffic still passes), --force applies it
# (logged); `collateral` counts what is in force (checked against a count
# of its own here); and the daemon keeps the last good version of a
# source whose new version the guard refuses, and says so in /metrics.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PREFIXWALL=${1:?usage: test_collateral.sh PATH/TO/prefixwall}
. "$here/testlib.sh"
needs collateral python3
needs_netns collateral
start_lab pwco
chmod 755 "$work"

fixtures=$(cd "$here/../fixtures/providers" && pwd)
printf '# lab cloud\n2001:db8:3::/56\n' >"$work/labcloud-v6"
lists="--collateral $fixtures/google-cloud.json --collateral labcloud=$work/labcloud-v6"
passes() { lab ping "$1" 2; }
json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }

check "router: attach rc" "lab pw attach rc >/dev/null"

# add: a small block is reported by provider and region, and applied.
lab pw add 203.0.113.0/28 $lists >"$work/add1.out" 2>&1
check "add inside provider space is applied" "grep -q '^added 1 prefix (1 new, 0 changed); newly blocked: 16 IPv4 addresses' $work/add1.out"
check "add reports the provider space by region" \
  "grep -q 'google-cloud: 16 IPv4 addresses (europe-west3 16)' $work/add1.out && grep -q 'largest: 203.0.113.0/28 (16)' $work/add1.out"
check "203.0.113.10 is dropped" "! passes 203.0.113.10"

# add over the limit: refused, one line, nothing changed.
lab pw add 203.0.113.0/24 $lists --max-collateral 100 >"$work/add2.out" 2>&1
rc=$?
expect_eq "add over --max-collateral fails" 1 "$rc"
check "the refusal is one line naming the provider and the prefix" \
  "[ \$(wc -l <$work/add2.out) = 1 ] && grep -q 'would newly block 112 IPv4 addresses of provider space, more than --max-collateral 100 (google-cloud 112 IPv4 addresses; largest: 203.0.113.0/24 (112)); --force to apply; nothing changed' $work/add2.out"
check "nothing changed: 203.0.113.20 passes" "passes 203.0.113.20"
check "nothing changed: no rule for the /24" "! lab pw list | grep -q ' 203.0.113.0/24 '"

# --force applies it, with a warning.
lab pw add 203.0.113.0/24 $lists --max-collateral 100 --force >"$work/add3.out" 2>"$work/add3.err"
expect_eq "--force applies it" 0 "$?"
check "--force is logged" "grep -q 'warning: collateral guard overridden by --force: would newly block 112 IPv4' $work/add3.err"
check "203.0.113.20 is dropped now" "! passes 203.0.113.20"
check "del the forced block" "lab pw del 203.0.113.0/24 >/dev/null && passes 203.0.113.20"

# sync: a registry newly blocking provider space over the limits.
printf '203.0.113.16/28\n2001:db8:3::/52\n' >"$work/reg.txt"
lab pw sync --source reg --from "$work/reg.txt" $lists --max-collateral 8 --max-collateral-v6 100 --json \
  >"$work/sync1.json" 2>/dev/null
expect_eq "sync over the limits fails" 1 "$?"
expect_eq "refused by the collateral guard" collateral "$(json_field 'd["syncs"][0]["refused_by"]' <"$work/sync1.json")"
expect_eq "IPv4 provider space newly blocked" 16 "$(json_field 'd["syncs"][0]["collateral"]["ipv4_addresses"]' <"$work/sync1.json")"
expect_eq "IPv6 /64s of provider space newly blocked" 256 "$(json_field 'd["syncs"][0]["collateral"]["ipv6_64s"]' <"$work/sync1.json")"
expect_eq "by provider" "google-cloud/ipv4/16 google-cloud/ipv4/16/europe-west3 labcloud/ipv6/256" \
  "$(json_field '" ".join("/".join([p["provider"], p["family"], p["units"]] + ([p["label"]] if "label" in p else [])) for p in d["syncs"][0]["collateral"]["providers"])' <"$work/sync1.json")"
check "the refused sync changed nothing" "passes 203.0.113.20 && ! lab pw list | grep -q 203.0.113.16/28"
lab pw sync --source reg --from "$work/reg.txt" $lists --max-collateral 8 --max-collateral-v6 100 --force \
  >"$work/sync2.out" 2>&1
expect_eq "sync --force applies it" 0 "$?"
check "the sync report says so" "grep -q 'WARNING: source reg: collateral guard overridden by --force' $work/sync2.out && grep -q 'provider space newly blocked: 16 IPv4 addresses, 256 IPv6 /64s' $work/sync2.out"
check "203.0.113.20 is dropped by the source" "! passes 203.0.113.20"
check "2001:db8:3::10 is dropped by the source" "! passes 2001:db8:3::10"

# collateral: what is in force, against a count of this test's own.
lab pw list --json >"$work/list.json"
own=$(python3 - "$work/list.json" "$fixtures/google-cloud.json" <<'PY'
import ipaddress, json, sys
rules = json.load(open(sys.argv[1]))["rules"]
google = [ipaddress.ip_network(p["ipv4Prefix"]) for p in json.load(open(sys.argv[2]))["prefixes"] if "ipv4Prefix" in p]
blocked = [ipaddress.ip_network(r["prefix"]) for r in rules if r["action"] == "block" and ":" not in r["prefix"]]
# Addresses in a block and in Google's space (the blocks do not overlap here).
n = 0
for b in blocked:
    for g in google:
        if b.subnet_of(g): n += b.num_addresses
        elif g.subnet_of(b): n += g.num_addresses
print(n)
PY
)
expect_eq "collateral of 203.0.113.0/24 equals this test's count (32)" "32:$own" \
  "$(lab pw collateral 203.0.113.0/24 $lists --json | json_field 'd["ipv4_addresses"]'):32"
expect_eq "collateral --source reg" "16 256" \
  "$(lab pw collateral --source reg $lists --json | json_field 'd["ipv4_addresses"] + " " + d["ipv6_64s"]')"
check "collateral names the largest rules" \
  "lab pw collateral 203.0.113.0/24 $lists | grep -q 'largest: 203.0.113.0/28 (16) 203.0.113.16/28 (16)'"
check "collateral without lists is a usage error" "! lab pw collateral 203.0.113.0/24 2>/dev/null"
check "a malformed list: one line naming the file and line" \
  "[ \"\$(lab pw collateral 203.0.113.0/24 --collateral $fixtures/bad-plain 2>&1)\" = \"prefixwall: $fixtures/bad-plain: line 2: bad prefix '103.21.244.0/33': prefix length 33 exceeds 32\" ]"
check "del the sync's source" "lab pw del 203.0.113.16/28 2001:db8:3::/52 >/dev/null"

# The daemon: a source whose next version the guard refuses keeps its
# last good version in force, and /metrics counts the refusal (the /28
# added by hand above is still in force: it is not newly blocked).
printf '203.0.113.10/32\n' >"$work/dfile.txt"
cat >"$work/pw.conf" <<CONF
[daemon]
listen = 127.0.0.1:9797
interval = 1
[guards]
collateral = $fixtures/google-cloud.json
max-collateral = 64
max-removal = 1
[source dfile]
from = $work/dfile.txt
CONF
chmod 600 "$work/pw.conf"
PREFIXWALL_PIN_DIR=$base/bpf/prefixwall PREFIXWALL_STATE_DIR=$base/state \
  ip netns exec "$lab-router" "$PREFIXWALL" serve --config "$work/pw.conf" 2>"$work/daemon.log" &
pids+=($!)
get() { lab exec router python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"; }
wait_for() { local deadline=$((SECONDS + $1)); shift; until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.3; done; }
refusals() { get http://127.0.0.1:9797/metrics | awk '$1 == "prefixwall_sync_refusals_total{source=\"dfile\",guard=\"collateral\"}" {print $2}'; }
check "the daemon applies the first version" "wait_for 15 sh -c '$here/lab.sh pw $lab list | grep -q 203.0.113.10/32'"
check "203.0.113.10 is dropped" "! passes 203.0.113.10"
printf '203.0.113.0/25\n' >"$work/dfile.txt"
check "the next version is refused" "wait_for 10 grep -q 'sync dfile: .*REFUSED: would newly block 112 IPv4 addresses of provider space' $work/daemon.log"
check "/metrics counts the refusal" '[ "$(refusals)" -ge 1 ]'
if command -v promtool >/dev/null; then
  check "promtool accepts /metrics" 'get http://127.0.0.1:9797/metrics | promtool check metrics'
fi
check "the last good version stays: 203.0.113.10 dropped, .20 passes" "! passes 203.0.113.10 && passes 203.0.113.20"
check "and only it is in force" "[ \"\$(lab pw list --source dfile | grep -c /)\" = 1 ]"
printf '203.0.113.0/27\n' >"$work/dfile.txt"
check "a version within the limit is applied" "wait_for 10 sh -c '$here/lab.sh pw $lab list | grep -q 203.0.113.0/27'"
check "203.0.113.20 is dropped now" "! passes 203.0.113.20"
[ "$failed" = 0 ] || tail -5 "$work/daemon.log" >&2
finish
