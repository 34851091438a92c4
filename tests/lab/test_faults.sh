#!/usr/bin/env bash
# The daemon against a registry server that fails in every way: 500, a
# stall, a reset mid-body, a truncated body, ten times the usual size,
# garbage, a certificate it does not trust. After each: the last good rules
# stay in force, the log says what failed, prefixwall_sync_failures_total
# rises; the next good answer is applied. Also: --insecure-tls is logged at
# every sync, and a configuration others may write is refused.
# No traffic: isolated pin and state directories, lookups of the table in
# force.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pw_bin=${1:?usage: test_faults.sh PATH/TO/prefixwall}
source "$here/testlib.sh"
needs faults python3 openssl

dir=$(mktemp -d /tmp/pw-faults-XXXXXX)
export PREFIXWALL_PIN_DIR=$dir/bpffs/pins PREFIXWALL_STATE_DIR=$dir/state
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  "$pw_bin" detach --all --purge >/dev/null 2>&1
  umount "$PREFIXWALL_PIN_DIR" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT


for c in a b; do
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$dir/$c.key" -out "$dir/$c.crt" 2>/dev/null
done
good() { # VERSION: a registry with that version's canary
  { echo "198.51.100.$1/32"; for i in $(seq 1 50); do echo "203.0.113.$i/32"; done; } >"$dir/list.txt"
}
good 1
echo ok >"$dir/mode"
python3 "$here/registry_server.py" "$dir" "$dir/port" "$dir/a.crt" "$dir/a.key" "$dir/b.crt" "$dir/b.key" &
pids+=($!)
for _ in $(seq 50); do [ -s "$dir/port" ] && break; sleep 0.1; done
port=$(cat "$dir/port")
mport=$((20000 + $$ % 20000))
cat >"$dir/pw.conf" <<CONF
[source reg]
from = https://127.0.0.1:$port/list.txt
interval = 1
[fetch]
ca-file = $dir/a.crt
stall-timeout = 2
timeout = 5
max-bytes = 5000
[guards]
allow-private = yes
[daemon]
listen = 127.0.0.1:$mport
CONF
chmod 644 "$dir/pw.conf"

# A configuration others may write is refused.
chmod 666 "$dir/pw.conf"
out=$("$pw_bin" serve --config "$dir/pw.conf" 2>&1); rc=$?
check "a world-writable config is refused" '[ $rc != 0 ] && echo "$out" | grep -q "writable by group or others (mode 0666)"'
chmod 600 "$dir/pw.conf"

"$pw_bin" serve --config "$dir/pw.conf" >"$dir/daemon.log" 2>&1 &
pids+=($!)
blocked() { "$pw_bin" lookup "$1" 2>/dev/null | grep -q ": drop"; }
failures() {
  python3 -c 'import sys,urllib.request
for l in urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().splitlines():
    if l.startswith("prefixwall_sync_failures_total{source=\"reg\"}"): print(l.split()[-1]); break
else: print(0)' "http://127.0.0.1:$mport/metrics" 2>/dev/null || echo 0
}
wait_for() { local deadline=$((SECONDS + $1)); shift; while ! eval "$*"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.2; done; }
wait_for 10 'blocked 198.51.100.1' && ok "the first good version is applied" || not_ok "first version"

v=1
for fault in 500 stall reset truncated huge garbage cert-b; do
  before=$(failures)
  v=$((v + 1)); good $v   # the server has a new version, but fails to serve it
  echo "$fault" >"$dir/mode"
  wait_for 12 '[ "$(failures)" -gt "$before" ]' && ok "$fault: counted in prefixwall_sync_failures_total" ||
    not_ok "$fault: failures $(failures), was $before"
  check "$fault: the last good version stays in force" "blocked 198.51.100.$((v - 1)) && ! blocked 198.51.100.$v"
  echo ok >"$dir/mode"
  wait_for 12 "blocked 198.51.100.$v" && ok "$fault: the next good answer is applied" || not_ok "$fault: recovery"
done
grep -q "sync reg failed: .*the last good version stays in force" "$dir/daemon.log" && ok "failures are logged" || not_ok "failure log"
grep -q "SSL\|certificate" "$dir/daemon.log" && ok "the certificate failure names TLS" || not_ok "certificate log"
grep -q "larger than the limit of 5000 bytes" "$dir/daemon.log" && ok "the oversized answer names the limit" || not_ok "size log"
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null

# --insecure-tls: accepted only explicitly, and said at every sync.
echo cert-b >"$dir/mode"
out=$("$pw_bin" sync --config "$dir/pw.conf" 2>&1); rc=$?
check "an untrusted certificate fails the sync" '[ $rc != 0 ] && echo "$out" | grep -qi "certificate"'
v=$((v + 1)); good $v
out=$("$pw_bin" sync --config "$dir/pw.conf" --insecure-tls 2>&1); rc=$?
check "--insecure-tls syncs and warns" '[ $rc = 0 ] && echo "$out" | grep -q "WARNING: source reg: TLS certificate verification is OFF"'
out=$("$pw_bin" sync --config "$dir/pw.conf" --insecure-tls 2>&1)
check "the warning comes at every sync" 'echo "$out" | grep -q "verification is OFF"'

finish
