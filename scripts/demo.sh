#!/usr/bin/env bash
# The demo: installs what is missing, builds, brings up the veth lab
# (client -- router -- server), attaches prefixwall to the router, loads a
# sample registry of both families, sends traffic, prints the per-rule
# table and tears everything down. Run as root on Debian 12.
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

step "load the sample registry (examples/sample-registry.txt)"
# prefix action comment, one per line
while read -r prefix action comment; do
  case $prefix in ''|\#*) continue ;; esac
  lab pw add "$prefix" --action "$action" --source sample --comment "$comment" >/dev/null
done <"$top/examples/sample-registry.txt"
lab pw list

step "traffic: ping and UDP to blocked, allowed and clean addresses"
try() { if "$@" >/dev/null 2>&1; then echo "  pass: ${*:1:2}"; else echo "  DROP: ${*:1:2}"; fi; }
for a in 198.51.100.2 2001:db8:2::2 203.0.113.10 2001:db8:3::10; do
  if lab ping "$a" 5; then echo "  ping $a: answered"; else echo "  ping $a: blocked"; fi
done
echo "  udp 198.51.100.2: $(lab udp 198.51.100.2 20) of 20 datagrams arrived"
echo "  udp 2001:db8:3::10: $(lab udp 2001:db8:3::10 20) of 20 datagrams arrived"

step "lookup"
lab pw lookup 203.0.113.10
lab pw lookup 2001:db8:2::2

step "per-rule counters (prefixwall stats)"
lab pw stats

step "status"
lab pw status
