#!/usr/bin/env bash
# The veth lab: client -- router -- server in three network namespaces,
# documentation addresses only, prefixwall on the router's ingress.
#
#   lab.sh up NAME            build it (names are per run: use a unique NAME)
#   lab.sh down NAME          tear it down (idempotent)
#   lab.sh exec NAME HOST CMD run CMD in client|router|server
#   lab.sh pw NAME ARGS...    run prefixwall in the router with the lab's pin
#                             and state directories ($PREFIXWALL, or on PATH)
#   lab.sh ping NAME ADDR [N] ping ADDR from the client N times (default 3)
#   lab.sh udp NAME ADDR N    send N datagrams client -> ADDR:9000, print how
#                             many the server received
#   lab.sh tcp NAME ADDR      one TCP connection client -> ADDR:9001 (exit 0 if ok)
#
#   client  c0 192.0.2.2/24    2001:db8:1::2/64
#   router  rc 192.0.2.1/24    2001:db8:1::1/64     (forwarding on)
#           rs 198.51.100.1/24 2001:db8:2::1/64
#   server  s0 198.51.100.2/24 2001:db8:2::2/64, and 203.0.113.10, .20,
#              2001:db8:3::10, ::20 on lo (more targets behind it)
#
# The pin directory is a bpffs mounted under /run/prefixwall-lab/NAME, not
# under /sys: `ip netns exec` remounts /sys, which would hide pins there.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmd=${1:?usage: lab.sh up|down|exec|pw|ping|udp|tcp NAME ...}
name=${2:?lab name}
base=/run/prefixwall-lab/$name
ns_c=$name-client ns_r=$name-router ns_s=$name-server

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
host_ns() {
  case $1 in client) echo "$ns_c" ;; router) echo "$ns_r" ;; server) echo "$ns_s" ;;
    *) echo "lab.sh: unknown host '$1' (client, router or server)" >&2; exit 2 ;; esac
}
mac() { in_ns "$1" cat "/sys/class/net/$2/address"; }

up() {
  for ns in "$ns_c" "$ns_r" "$ns_s"; do ip netns add "$ns"; done
  ip -n "$ns_c" link add c0 type veth peer name rc netns "$ns_r"
  ip -n "$ns_s" link add s0 type veth peer name rs netns "$ns_r"
  for ns in "$ns_c" "$ns_r" "$ns_s"; do
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.dad_transmits=0 net.ipv6.conf.default.dad_transmits=0
    ip -n "$ns" link set lo up
  done
  in_ns "$ns_r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

  ip -n "$ns_c" addr add 192.0.2.2/24 dev c0
  ip -n "$ns_c" addr add 2001:db8:1::2/64 dev c0 nodad
  ip -n "$ns_r" addr add 192.0.2.1/24 dev rc
  ip -n "$ns_r" addr add 2001:db8:1::1/64 dev rc nodad
  ip -n "$ns_r" addr add 198.51.100.1/24 dev rs
  ip -n "$ns_r" addr add 2001:db8:2::1/64 dev rs nodad
  ip -n "$ns_s" addr add 198.51.100.2/24 dev s0
  ip -n "$ns_s" addr add 2001:db8:2::2/64 dev s0 nodad
  for a in 203.0.113.10/32 203.0.113.20/32 2001:db8:3::10/128 2001:db8:3::20/128; do
    ip -n "$ns_s" addr add "$a" dev lo
  done
  for l in "$ns_c c0" "$ns_r rc" "$ns_r rs" "$ns_s s0"; do
    set -- $l; ip -n "$1" link set "$2" up
    # Frames that XDP passes on a veth reach the stack through GRO.
    in_ns "$1" ethtool -K "$2" gro on >/dev/null 2>&1 || true
  done

  ip -n "$ns_c" route add default via 192.0.2.1
  ip -n "$ns_c" -6 route add default via 2001:db8:1::1
  ip -n "$ns_s" route add default via 198.51.100.1
  ip -n "$ns_s" -6 route add default via 2001:db8:2::1
  ip -n "$ns_r" route add 203.0.113.0/24 via 198.51.100.2
  ip -n "$ns_r" -6 route add 2001:db8:3::/48 via 2001:db8:2::2

  # Static neighbours: no ARP or neighbour discovery in the counters.
  local m_c0 m_rc m_rs m_s0
  m_c0=$(mac "$ns_c" c0) m_rc=$(mac "$ns_r" rc) m_rs=$(mac "$ns_r" rs) m_s0=$(mac "$ns_s" s0)
  ip -n "$ns_c" neigh replace 192.0.2.1 lladdr "$m_rc" dev c0 nud permanent
  ip -n "$ns_c" neigh replace 2001:db8:1::1 lladdr "$m_rc" dev c0 nud permanent
  ip -n "$ns_r" neigh replace 192.0.2.2 lladdr "$m_c0" dev rc nud permanent
  ip -n "$ns_r" neigh replace 2001:db8:1::2 lladdr "$m_c0" dev rc nud permanent
  ip -n "$ns_r" neigh replace 198.51.100.2 lladdr "$m_s0" dev rs nud permanent
  ip -n "$ns_r" neigh replace 2001:db8:2::2 lladdr "$m_s0" dev rs nud permanent
  ip -n "$ns_s" neigh replace 198.51.100.1 lladdr "$m_rs" dev s0 nud permanent
  ip -n "$ns_s" neigh replace 2001:db8:2::1 lladdr "$m_rs" dev s0 nud permanent

  mkdir -p "$base/bpf" "$base/state"
  mountpoint -q "$base/bpf" || mount -t bpf bpf "$base/bpf"
}

down() {
  for ns in "$ns_c" "$ns_r" "$ns_s"; do ip netns del "$ns" 2>/dev/null || true; done
  if mountpoint -q "$base/bpf" 2>/dev/null; then umount "$base/bpf" || true; fi
  rm -rf "$base"
}

pw() {
  PREFIXWALL_PIN_DIR=$base/bpf/prefixwall PREFIXWALL_STATE_DIR=$base/state \
    in_ns "$ns_r" "${PREFIXWALL:-prefixwall}" "$@"
}

case $cmd in
  up) up ;;
  down) down ;;
  exec) shift 2; host=$(host_ns "${1:?host}"); shift; in_ns "$host" "$@" ;;
  pw) shift 2; pw "$@" ;;
  ping)
    addr=${3:?address}; n=${4:-3}
    in_ns "$ns_c" ping -q -n -c "$n" -i 0.2 -W 1 "$addr" >/dev/null ;;
  udp)
    addr=${3:?address}; n=${4:?count}
    in_ns "$ns_s" python3 "$here/traffic.py" udp-recv 9000 "$n" 2 >"$base/udp.out" &
    rx=$!
    sleep 0.3
    in_ns "$ns_c" python3 "$here/traffic.py" udp-send "$addr" 9000 "$n"
    wait "$rx"; cat "$base/udp.out" ;;
  tcp)
    addr=${3:?address}
    in_ns "$ns_s" python3 "$here/traffic.py" tcp-accept 9001 2 &
    srv=$!
    sleep 0.3
    rc=0; in_ns "$ns_c" python3 "$here/traffic.py" tcp-connect "$addr" 9001 1 || rc=$?
    wait "$srv" || true
    exit $rc ;;
  *) echo "lab.sh: unknown command '$cmd'" >&2; exit 2 ;;
esac
