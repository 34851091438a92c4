#!/usr/bin/env bash
# Version history and rollback with real traffic: three syncs of one
# source (versions A, B, C: 20,000 prefixes each plus canaries), then
# `history` lists them, `diff` lists exactly the prefixes that differ
# (checked against the lists themselves), and `rollback --to` the first
# restores exactly its rules (prefix by prefix) as one new version: the
# client sees version A's canaries, a rule in every version keeps its
# counter, and `rollback --source` sets back one source only.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PREFIXWALL=${1:?usage: test_history.sh PATH/TO/prefixwall}
. "$here/testlib.sh"
needs history python3
needs_netns history
start_lab pwhi
chmod 755 "$work"

write_versions "$work" 20000 2001:db8:3::20
# C: B's prefixes without 1,000 of them, plus 2001:db8:3::20 again.
head -n 19000 "$work/B.txt" >"$work/C.txt"
printf '203.0.113.20\n2001:db8:3::20\n' >>"$work/C.txt"
printf '2001:db8:3::20\n' >>"$work/B.txt"
sync() { lab pw sync --source reg --from "$work/$1.txt" --allow-private --force --min-prefix-len-v4 0 >/dev/null; }
prefixes() { lab pw list --source "${1:-reg}" --json | python3 -c 'import json,sys; print("\n".join(sorted(r["prefix"] for r in json.load(sys.stdin)["rules"])))'; }
normalize() { python3 -c '
import ipaddress, sys
print("\n".join(sorted({str(ipaddress.ip_network(l.strip())) for l in open(sys.argv[1]) if l.strip()})))' "$1"; }
latest() { lab pw history --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["versions"][-1]["version"])'; }
packets_of() { lab pw stats --json | python3 -c '
import json, sys
print(sum(r["packets"] for r in json.load(sys.stdin)["rules"] if r["prefix"] == sys.argv[1]))' "$1"; }

check "router: attach rc" "lab pw attach rc >/dev/null"
check "sync version A" "sync A"
va=$(latest)
check "2001:db8:3::20 (in every version) is dropped" "! lab ping 2001:db8:3::20 4"
expect_eq "its counter" 4 "$(packets_of 2001:db8:3::20/128)"
check "sync version B" "sync B"
check "sync version C" "sync C"
check "a hand rule of another source" "lab pw add 192.0.2.128/25 --source cli >/dev/null"
vc=$(latest)
expect_eq "the client sees version C's canaries" B "$(canary_version)"

lab pw history >"$work/history.txt"
check "history lists the three syncs" "[ \$(grep -c 'sync reg  *reg  *' $work/history.txt) = 3 ]"
check "history --source reg leaves the hand rule out" "! lab pw history --source reg | grep -q ' add '"
normalize "$work/A.txt" >"$work/A.set"
normalize "$work/C.txt" >"$work/C.set"
expect_eq "history: version A added its distinct prefixes" "+$(wc -l <"$work/A.set") -0 ~0" \
  "$(lab pw history --json | python3 -c "import json,sys; v=[v for v in json.load(sys.stdin)['versions'] if v['version']==$va][0]; print('+%d -%d ~%d' % (v['claims']['added'], v['claims']['removed'], v['claims']['changed']))")"

# diff: exactly the prefixes that differ between the lists (and the hand rule).
{ comm -3 "$work/A.set" "$work/C.set" | tr -d '\t'; echo 192.0.2.128/25; } | sort >"$work/want.diff"
lab pw diff "$va" "$vc" --json | python3 -c 'import json,sys; print("\n".join(sorted(p["prefix"] for p in json.load(sys.stdin)["prefixes"])))' >"$work/got.diff"
check "diff A C lists exactly the prefixes that differ ($(wc -l <"$work/want.diff"))" "cmp -s $work/want.diff $work/got.diff"
check "diff text marks added and removed claims" \
  "lab pw diff $va $vc | grep -q '^+ 192.0.2.128/25  cli  block$' && lab pw diff $va $vc | grep -q '^- 203.0.113.10/32  reg  block$'"

# rollback --to A: exactly A's rules, one version, counters kept.
lab pw rollback --to "$va" >"$work/refused.out" 2>&1
check "rollback --to A refuses what the guards refuse" \
  "grep -q 'refused by guard private: .*; nothing changed' $work/refused.out || { cat $work/refused.out; false; }"
check "rollback --to A" "lab pw rollback --to $va --allow-private | grep -q \"^rollback to $va: \""
expect_eq "one new version" $((vc + 1)) "$(latest)"
check "reg's rules are exactly version A's, prefix by prefix" "prefixes reg | cmp -s - $work/A.set"
check "the hand rule (added after A) is gone too" "! lab pw list | grep -q 192.0.2.128/25"
expect_eq "the client sees version A's canaries" A "$(canary_version)"
expect_eq "the rule in every version kept its counter" 4 "$(packets_of 2001:db8:3::20/128)"
check "history names the rollback" "lab pw history | grep -q \"rollback to $va\""
expect_eq "metrics: the rules' version" $((vc + 1)) "$(metric prefixwall_rules_version)"
check "the table agrees with the store" "[ \"\$(table_consistent)\" = yes ]"

# rollback of one source: the hand rule's source only.
check "add another hand rule" "lab pw add 192.0.2.64/26 --source cli >/dev/null"
check "sync C again" "sync C"
check "rollback --source cli sets back only cli's last change" \
  "lab pw rollback --source cli | grep -q 'of cli: 1 claim set back'"
check "cli's rule is gone, reg is still C" "! lab pw list | grep -q 192.0.2.64/26 && prefixes reg | cmp -s - $work/C.set"
check "a version no longer kept is one line" \
  "[ \"\$(lab pw --history-versions 3 add 192.0.2.1/32 --source cli >/dev/null; lab pw rollback --to 1 2>&1)\" = \"prefixwall: rollback: version 1 is no longer in the history (the oldest kept is \$((\$(latest) - 2)); --history-versions keeps more)\" ]"
finish
