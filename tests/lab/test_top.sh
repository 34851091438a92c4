#!/usr/bin/env bash
# `prefixwall top` in a real 80x24 terminal (tmux) while lab traffic flows:
# the busiest prefix is listed first, keys change the sort, q quits.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PREFIXWALL=${1:?usage: test_top.sh PATH/TO/prefixwall}
[ "$(id -u)" = 0 ] || { echo "SKIP top: needs root"; exit 77; }
command -v tmux >/dev/null || { echo "SKIP top: needs tmux"; exit 77; }

lab=pwt$$
session=pwtop$$
lab() { "$here/lab.sh" "$1" "$lab" "${@:2}"; }
pids=()
cleanup() { tmux kill-session -t "$session" 2>/dev/null; kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; lab down; }
trap cleanup EXIT
lab up
lab pw attach rc >/dev/null && lab pw attach rs >/dev/null
lab pw add 203.0.113.0/24 2001:db8:3::/48 --source court >/dev/null
lab pw add 198.51.100.0/24 --action monitor --source watch >/dev/null

passed=0 failed=0
ok() { echo "ok   - $1"; passed=$((passed + 1)); }
not_ok() { echo "FAIL - $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }

# Heavy traffic to one blocked prefix, light to another, some monitored.
for args in "-i 0.01 -c 1500 203.0.113.20" "-i 0.05 -c 300 2001:db8:3::10" "-i 0.05 -c 300 198.51.100.2"; do
  ip netns exec "$lab-client" ping -q $args >/dev/null 2>&1 &
  pids+=($!)
done

tmux new-session -d -s "$session" -x 80 -y 24 \
  "env PREFIXWALL_PIN_DIR=/run/prefixwall-lab/$lab/bpf/prefixwall PREFIXWALL_STATE_DIR=/run/prefixwall-lab/$lab/state ip netns exec $lab-router $PREFIXWALL top"
sleep 3.5
screen=$(tmux capture-pane -p -t "$session")
echo "$screen" | sed 's/^/    | /'
first=$(echo "$screen" | awk '/^PREFIX/{getline; print $1; exit}')
check "the busiest prefix is first" '[ "$first" = 203.0.113.0/24 ]'
check "sorted by packets/s" 'echo "$screen" | head -1 | grep -q "by packets/s"'
check "dropped and passed totals shown" 'echo "$screen" | grep -q "^dropped .* | passed "'
check "per source" 'echo "$screen" | grep -q "^sources: court .* watch"'
check "per interface" 'echo "$screen" | grep -q "^interfaces: rc rx .* rs rx"'
check "fits 80 columns" '[ "$(echo "$screen" | awk "{ if (length > 80) n++ } END { print n+0 }")" = 0 ]'
check "a bar for the busiest" 'echo "$screen" | grep "^203.0.113.0/24" | grep -q "#####"'

tmux send-keys -t "$session" t
sleep 1.5
screen=$(tmux capture-pane -p -t "$session")
check "t sorts by total packets" 'echo "$screen" | head -1 | grep -q "by packets  "'
tmux send-keys -t "$session" q
sleep 1
check "q quits" '! tmux has-session -t "$session" 2>/dev/null'

echo "top: $passed passed, $failed failed"
[ "$failed" = 0 ]
