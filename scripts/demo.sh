#!/usr/bin/env bash
# The demo: installs what is missing, builds, brings up the veth lab
# (client -- router -- server), attaches prefixwall to the router, syncs a
# sample registry of both families (and an allow list), sends traffic,
# prints the per-rule table and the Prometheus view, and tears it all
# down. Run as root on Debian 12.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" >/dev/null
export PREFIXWALL=${BUILD_DIR:-$top/build}/prefixwall
lab() { "$top/tests/lab/lab.sh" "$1" "$name" "${@:2}"; }
name=pwdemo$$
trap 'lab down' EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "lab up: client 192.0.2.2 / 2001:db8:1::2 -- router -- server 198.51.100.2 / 2001:db8:2::2"
lab up
step "prefixwall attach rc / rs (the router's two interfaces, native XDP)"
lab pw attach rc
lab pw attach rs

step "sync a sample registry (examples/sample-registry.txt), an allow list and a monitor rule"
lab pw sync --source sample --from "$top/examples/sample-registry.txt"
lab pw sync --source exceptions --from "$top/examples/sample-allow.txt" --action allow
lab pw add 198.51.100.0/24 --action monitor --source watch --comment "watching before enforcing"
lab pw list

step "traffic: ping and UDP to blocked, allowed and clean addresses"
for a in 198.51.100.2 2001:db8:2::2 203.0.113.10 2001:db8:3::10 2001:db8:3::20; do
  if lab ping "$a" 5; then echo "  ping $a: answered"; else echo "  ping $a: blocked"; fi
done
echo "  udp 198.51.100.2: $(lab udp 198.51.100.2 20) of 20 datagrams arrived"
echo "  udp 2001:db8:3::20: $(lab udp 2001:db8:3::20 20) of 20 datagrams arrived"

step "lookup"
lab pw lookup 203.0.113.10
lab pw lookup 2001:db8:3::10
lab pw lookup 2001:db8:3::20

step "per-rule counters (prefixwall stats)"
lab pw stats

step "Prometheus view (prefixwall metrics, the per-prefix series)"
lab pw metrics | grep '^prefixwall_prefix_packets_total' 

step "status"
lab pw status
