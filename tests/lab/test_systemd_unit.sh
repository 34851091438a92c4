#!/usr/bin/env bash
# `systemd-analyze verify` on the generated units (the daemon's, and the
# expiry timer with its service), their ExecStart pointed at the binary
# just built (the installed path does not exist before install).
set -euo pipefail
unit=${1:?usage: test_systemd_unit.sh UNIT BINARY} bin=${2:?binary}
command -v systemd-analyze >/dev/null || { echo "SKIP systemd_unit: no systemd-analyze"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dir=$(dirname "$unit")
for u in prefixwall.service prefixwall-expire.service; do
  sed "s|^ExecStart=[^ ]*|ExecStart=$bin|" "$dir/$u" >"$tmp/$u"
  grep -q "^AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_PERFMON$" "$tmp/$u"
done
grep -q "^ExecStart=$bin expire$" "$tmp/prefixwall-expire.service"
cp "$dir/prefixwall-expire.timer" "$tmp/"
systemd-analyze verify "$tmp/prefixwall.service" "$tmp/prefixwall-expire.service" "$tmp/prefixwall-expire.timer"
echo "systemd units verified"
