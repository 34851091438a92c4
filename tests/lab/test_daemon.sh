#!/usr/bin/env bash
# The daemon in the lab: `prefixwall serve` inside the router namespace
# with a file source and an HTTP source (python's http.server on the
# router's 127.0.0.1), real traffic, /metrics checked against what was
# sent (and by promtool), a registry change enforced within its interval,
# SIGHUP with a new source, a real Prometheus server scraping the daemon,
# and SIGTERM leaving the data plane filtering.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PREFIXWALL=${1:?usage: test_daemon.sh PATH/TO/prefixwall}
[ "$(id -u)" = 0 ] || { echo "SKIP daemon: needs root"; exit 77; }
for t in python3 promtool prometheus; do
  command -v $t >/dev/null || { echo "SKIP daemon: needs $t"; exit 77; }
done

lab=pwd$$
dir=$(mktemp -d /tmp/pw-daemon-XXXXXX)
chmod 755 "$dir"
lab() { "$here/lab.sh" "$1" "$lab" "${@:2}"; }
in_router() { lab exec router "$@"; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  lab down
  rm -rf "$dir"
}
trap cleanup EXIT
lab up

passed=0 failed=0
ok() { echo "ok   - $1"; passed=$((passed + 1)); }
not_ok() { echo "FAIL - $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
get() { in_router python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"; }
metric() { # NAME LABELS -> value from /metrics
  get http://127.0.0.1:9797/metrics | python3 -c '
import sys
want = sys.argv[1] + "{" + sys.argv[2] + "}"
for line in sys.stdin:
    if line.startswith(want + " "):
        print(line.split()[-1]); break
else:
    print("absent")' "$1" "$2"
}
wait_for() { # SECONDS COMMAND...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.3; done
}

mkdir -p "$dir/www"
printf '203.0.113.0/24\n' >"$dir/file.txt"
printf '2001:db8:3::/48\n' >"$dir/www/web.txt"
# Background processes run under ip netns exec directly, so that $! is the
# process itself and the cleanup stops it.
ip netns exec "$lab-router" python3 -m http.server 8088 --bind 127.0.0.1 --directory "$dir/www" >"$dir/http.log" 2>&1 &
pids+=($!)
cat >"$dir/pw.conf" <<CONF
[daemon]
listen = 127.0.0.1:9797
attach = rc
attach = rs
interval = 1
[source file]
from = $dir/file.txt
[source web]
from = http://127.0.0.1:8088/web.txt
CONF
chmod 600 "$dir/pw.conf"

# Started with ip netns exec directly (not through lab.sh), so that $! is
# the daemon itself and signals reach it.
PREFIXWALL_PIN_DIR=/run/prefixwall-lab/$lab/bpf/prefixwall PREFIXWALL_STATE_DIR=/run/prefixwall-lab/$lab/state \
  ip netns exec "$lab-router" "$PREFIXWALL" serve --config "$dir/pw.conf" 2>"$dir/daemon.log" &
daemon=$!
pids+=($daemon)
check "daemon answers /healthz" 'wait_for 15 get http://127.0.0.1:9797/healthz'
check "both sources in force" 'wait_for 15 sh -c "[ \$($here/lab.sh pw $lab list --json | python3 -c \"import json,sys; print(len(json.load(sys.stdin)[\\\"rules\\\"]))\") = 2 ]"'

check "ping v4 to the file source's prefix is dropped" '! lab ping 203.0.113.10 5'
check "ping v6 to the HTTP source's prefix is dropped" '! lab ping 2001:db8:3::10 5'
check "ping to a clean address passes" 'lab ping 198.51.100.2 3'

get http://127.0.0.1:9797/metrics >"$dir/metrics.txt"
check "promtool accepts /metrics" 'promtool check metrics <"$dir/metrics.txt"'
check "dropped ipv4 packets = 5 pings" '[ "$(metric prefixwall_packets_total "family=\"ipv4\",outcome=\"dropped\"")" = 5 ]'
check "dropped ipv6 packets = 5 pings" '[ "$(metric prefixwall_packets_total "family=\"ipv6\",outcome=\"dropped\"")" = 5 ]'
check "the prefix series counts them" '[ "$(metric prefixwall_prefix_packets_total "prefix=\"203.0.113.0/24\",source=\"file\",action=\"block\"")" = 5 ]'
check "the source series counts them" '[ "$(metric prefixwall_source_packets_total "source=\"web\",action=\"block\"")" = 5 ]'
check "both interfaces attached" '[ "$(metric prefixwall_interface_attached "interface=\"rc\",mode=\"native\",match=\"both\"")" = 1 ]'
check "sync entries per source" '[ "$(metric prefixwall_sync_entries "source=\"web\"")" = 1 ]'

printf '203.0.113.0/24\n198.51.100.2/32\n' >"$dir/file.txt"
check "a registry change is enforced within the interval" 'wait_for 6 sh -c "! $here/lab.sh ping $lab 198.51.100.2 1"'

printf '[source extra]\nfrom = %s/extra.txt\n' "$dir" >>"$dir/pw.conf"
printf '2001:db8:2::2/128\n' >"$dir/extra.txt"
kill -HUP "$daemon"
check "SIGHUP: the new source is enforced" 'wait_for 8 sh -c "! $here/lab.sh ping $lab 2001:db8:2::2 1"'
check "the daemon logged one line per sync" 'grep -q "sync extra: +1 -0 =0" "$dir/daemon.log"'

printf '[source broken\n' >>"$dir/pw.conf"
kill -HUP "$daemon"
check "a bad config is refused and the old one kept" 'wait_for 5 grep -q "reload refused" "$dir/daemon.log" && get http://127.0.0.1:9797/healthz >/dev/null'

# A real Prometheus scraping the daemon; its API must report the drops.
want=$(metric prefixwall_packets_total 'family="ipv4",outcome="dropped"')
cat >"$dir/prometheus.yml" <<PROM
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prefixwall
    static_configs:
      - targets: ['127.0.0.1:9797']
PROM
ip netns exec "$lab-router" prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
  --web.listen-address=127.0.0.1:9090 >"$dir/prometheus.log" 2>&1 &
pids+=($!)
query() {
  get 'http://127.0.0.1:9090/api/v1/query?query=prefixwall_packets_total%7Bfamily%3D%22ipv4%22%2Coutcome%3D%22dropped%22%7D' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'
}
prom_has_drops() { [ "$(query)" = "$want" ]; }
check "Prometheus reports the $want dropped IPv4 packets" 'wait_for 40 prom_has_drops'

kill -TERM "$daemon"
wait "$daemon"; rc=$?
check "SIGTERM: the daemon exits 0" '[ $rc = 0 ]'
check "after SIGTERM, the data plane still drops" '! lab ping 203.0.113.10 2'
check "the log says so" 'grep -q "the data plane keeps filtering" "$dir/daemon.log"'

echo "daemon: $passed passed, $failed failed"
[ "$failed" = 0 ] || { echo "--- daemon log"; cat "$dir/daemon.log"; }
[ "$failed" = 0 ]
