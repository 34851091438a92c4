#!/usr/bin/env bash
# `systemd-analyze verify` on the generated unit, its ExecStart pointed at
# the binary just built (the installed path does not exist before install).
set -euo pipefail
unit=${1:?usage: test_systemd_unit.sh UNIT BINARY} bin=${2:?binary}
command -v systemd-analyze >/dev/null || { echo "SKIP systemd_unit: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|^ExecStart=[^ ]*|ExecStart=$bin|" "$unit" >"$tmp/prefixwall.service"
grep -q "^AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_PERFMON$" "$tmp/prefixwall.service"
systemd-analyze verify "$tmp/prefixwall.service"
echo "systemd unit verified"
