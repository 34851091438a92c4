#!/usr/bin/env bash
# The controller killed with SIGKILL in the middle of syncs, pins removed
# and the program detached under it, and CLI commands racing: the data
# plane keeps filtering with one whole version throughout, and the next
# command reconciles: rules equal the saved state, the compiled table holds
# exactly those rules, no result entry is orphaned, counters are kept.
#
# Two registry versions of 60,000 rules each (so a sync takes long enough
# to be killed at every stage) differ in their canaries: A blocks
# 203.0.113.10, B blocks 203.0.113.20; both block 2001:db8:3::10.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PREFIXWALL=${1:?usage: test_crash.sh PATH/TO/prefixwall}
source "$here/testlib.sh"
needs crash python3 bpftool
needs_netns crash

start_lab pwk

version() { canary_version; }
write_versions "$work" 60000 2001:db8:3::10
echo 2001:db8:3::10 >>"$work/B.txt"
ns_r=$lab-router
pwk() { # prefixwall in the router
  ip netns exec "$ns_r" env PREFIXWALL_PIN_DIR="$base/bpf/prefixwall" PREFIXWALL_STATE_DIR="$base/state" \
    "$PREFIXWALL" "$@"
}
sync_args=(sync --source reg --allow-private --force --min-prefix-len-v4 0)

lab pw attach rc >/dev/null
lab pw "${sync_args[@]}" --from "$work/A.txt" >/dev/null
expect_eq "version A in force" A "$(version)"
lab exec client ping6 -q -n -c 5 -i 0.2 -W 1 2001:db8:3::10 >/dev/null 2>&1
counted() {
  lab pw stats --json | python3 -c '
import json, sys
print(sum(r["packets"] for r in json.load(sys.stdin)["rules"] if r["prefix"] == "2001:db8:3::10/128"))'
}
expect_eq "the common canary counted 5 packets" 5 "$(counted)"

# SIGKILL at different points of alternating syncs.
bad=0 landed=0 before=0
for delay in 0.05 0.15 0.25 0.35 0.45 0.6 0.8 1.5; do
  for v in B A; do
    # exec: $! is prefixwall itself, not a subshell around it.
    (exec ip netns exec "$ns_r" env PREFIXWALL_PIN_DIR="$base/bpf/prefixwall" \
       PREFIXWALL_STATE_DIR="$base/state" "$PREFIXWALL" "${sync_args[@]}" --from "$work/$v.txt" \
       >/dev/null 2>&1) &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    now=$(version)
    case $now in
      MIX*) bad=$((bad + 1)); echo "# killed after ${delay}s syncing $v: $now" ;;
      "$v") landed=$((landed + 1)) ;;
      *) before=$((before + 1)) ;;
    esac
  done
done
echo "# kills: $before left the old version in force, $landed the new one"
expect_eq "after 16 kills mid-sync, one whole version was in force every time" 0 "$bad"
[ "$before" -gt 0 ] && [ "$landed" -gt 0 ] && ok "kills landed both before and after the swap" ||
  not_ok "kills landed both before and after the swap ($before before, $landed after)"

# The next command reconciles; state, table and results agree.
expect_eq "compiled table and result entries hold exactly the saved rules" yes "$(table_consistent)"
v=$(version)
want=$(lab pw lookup 203.0.113.10 --json | python3 -c 'import json,sys; print("A" if json.load(sys.stdin)["verdict"] == "drop" else "B")')
expect_eq "the version in force is the saved one" "$want" "$v"
expect_eq "counts kept through the kills" 5 "$(counted)"

lab pw "${sync_args[@]}" --from "$work/B.txt" >/dev/null
expect_eq "a completed sync puts B in force" B "$(version)"
want_b=$(sort -u "$work/B.txt" | wc -l)
expect_eq "rules equal registry B ($want_b distinct)" "$want_b" "$(lab pw list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rules"]))')"

# Pinned maps removed under us: filtering goes on (the program holds its
# maps); the next command recreates them from the state and moves the
# attachment onto them.
rm -f "$base/bpf/prefixwall/maps/"*
expect_eq "maps unpinned: B still enforced by the attached program" B "$(version)"
out=$(lab pw "${sync_args[@]}" --from "$work/A.txt" 2>&1)
echo "$out" | grep -q "were missing: recreated from the rule store; re-attached rc" &&
  ok "the next sync says the maps were recreated and rc re-attached" || not_ok "recovery message: $out"
expect_eq "the sync after recovery is enforced" A "$(version)"
expect_eq "recreated table holds the saved rules" yes "$(table_consistent)"

# The program detached by another tool: the next daemon sync re-attaches
# (the CLI says so in status).
id=$(ip netns exec "$ns_r" bpftool -j link show | python3 -c '
import json, sys
for l in json.load(sys.stdin):
    if l.get("type") == "xdp": print(l["id"]); break')
ip netns exec "$ns_r" bpftool link detach id "$id"
expect_eq "detached by another tool: nothing blocked" "MIX(00)" "$(version)"
lab pw status | grep -q "MISSING" && ok "status shows the attachment MISSING" || not_ok "status after detach"
cat >"$work/pw.conf" <<CONF
[source reg]
from = $work/A.txt
interval = 1
[guards]
allow-private = yes
min-prefix-len-v4 = 0
max-removal = 1
CONF
chmod 600 "$work/pw.conf"
(exec ip netns exec "$ns_r" env PREFIXWALL_PIN_DIR="$base/bpf/prefixwall" PREFIXWALL_STATE_DIR="$base/state" \
   "$PREFIXWALL" serve --config "$work/pw.conf" --listen 127.0.0.1:$((20000 + $$ % 20000)) \
   >"$work/daemon.log" 2>&1) &
dpid=$!
pids+=("$dpid")
for _ in $(seq 50); do grep -q "re-attached" "$work/daemon.log" && break; sleep 0.2; done
kill "$dpid"; wait "$dpid" 2>/dev/null
grep -q "rc had been detached by someone else: re-attached" "$work/daemon.log" &&
  ok "the daemon re-attached rc and said so" || { not_ok "daemon re-attach"; cat "$work/daemon.log"; }
expect_eq "filtering is back" A "$(version)"

# CLI commands racing: add, del, sync, attach at once, many times. The
# pin-dir lock serialises them; the state stays parseable and equal to
# the maps.
for i in $(seq 12); do
  lab pw add "100.127.$i.0/24" --source race >/dev/null 2>&1 &
  lab pw del "100.127.$((i - 1)).0/24" --source race >/dev/null 2>&1 &
  pwk "${sync_args[@]}" --from "$work/$([ $((i % 2)) = 0 ] && echo A || echo B).txt" >/dev/null 2>&1 &
  lab pw attach rc >/dev/null 2>&1 &
  wait
done
expect_eq "after racing commands, table and result entries hold the saved rules" yes "$(table_consistent)"
v=$(version)
[ "${v#MIX}" = "$v" ] && ok "after racing commands, one whole version in force ($v)" || not_ok "racing: $v"
finish
