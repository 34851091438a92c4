#!/usr/bin/env bash
# prefixwall capture with real traffic: while the client sends 50 packets
# to a blocked address, a capture of that rule holds those 50 (read back
# with tcpdump), each tagged with the rule, its source and the outcome;
# the outcome and source filters, one-in-N sampling, two captures at once,
# stdout, usage errors.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PREFIXWALL=${1:?usage: test_capture.sh PATH/TO/prefixwall}
. "$here/testlib.sh"
needs capture python3 tcpdump
needs_netns capture
start_lab pwcp

send_udp() { lab exec client python3 "$here/traffic.py" udp-send "$1" 9000 "$2"; }
# Starts a capture in the background (router namespace); waits until it runs.
start_capture() { # NAME ARGS...: stderr in $work/NAME.err
  local name=$1; shift
  lab pw capture "$@" 2>"$work/$name.err" &
  pids+=($!)
  eval "pid_$name=$!"
  for _ in $(seq 50); do grep -q "^capture: slot" "$work/$name.err" 2>/dev/null && return; sleep 0.1; done
}
# Packets in a pcapng file whose comment contains TEXT, and all packets.
comments() { # FILE TEXT
  python3 - "$1" "$2" <<'PY'
import struct, sys
data, want = open(sys.argv[1], "rb").read(), sys.argv[2]
pos = n = hit = 0
while pos + 12 <= len(data):
    btype, blen = struct.unpack_from("<II", data, pos)
    if btype == 6:  # enhanced packet block
        caplen = struct.unpack_from("<I", data, pos + 20)[0]
        o = pos + 28 + (caplen + 3) // 4 * 4
        comment = ""
        while o + 4 <= pos + blen - 4:
            code, olen = struct.unpack_from("<HH", data, o)
            if code == 0:
                break
            if code == 1:
                comment = data[o + 4:o + 4 + olen].decode()
            o += 4 + (olen + 3) // 4 * 4
        n += 1
        hit += want in comment
    pos += blen
print(hit, n)
PY
}

check "attach rc" "lab pw attach rc >/dev/null"
check "block 203.0.113.20/32 (source lab)" "lab pw add 203.0.113.20/32 --source lab >/dev/null"
check "reject 203.0.113.10/32" "lab pw add 203.0.113.10/32 --action reject >/dev/null"
check "the client gets a pass-everything XDP program (for the RST)" client_pass_all

echo "# a capture of the blocked rule while 50 packets are sent"
start_capture one --rule 203.0.113.20/32 --count 50 --duration 20 -w "$work/blocked.pcapng"
start_capture two --rule 203.0.113.20/32 --count 50 --duration 20 -w "$work/second.pcapng"
send_udp 198.51.100.2 20 # not the rule: not captured
send_udp 203.0.113.20 50
wait "$pid_one"; rc=$?
expect_eq "the capture exits 0 after 50 packets" 0 "$rc"
wait "$pid_two"
check "it says so" "grep -q '^capture: 50 packets written$' '$work/one.err'"
read_back=$(tcpdump -n -r "$work/blocked.pcapng" 2>/dev/null | grep -c '> 203.0.113.20.9000: UDP')
expect_eq "tcpdump reads 50 UDP packets to 203.0.113.20" 50 "$read_back"
expect_eq "each is tagged with the rule, its source and the outcome" "50 50" \
  "$(comments "$work/blocked.pcapng" 'dst rule 203.0.113.20/32 block sources lab; outcome dropped')"
expect_eq "a second capture at the same time has them too" 50 \
  "$(tcpdump -n -r "$work/second.pcapng" 2>/dev/null | grep -c '203.0.113.20.9000')"

echo "# filters: outcome, source, sampling; stdout"
start_capture rej --outcome rejected --count 1 --duration 10 -w "$work/rejected.pcapng"
lab exec client python3 "$here/traffic.py" tcp-probe 203.0.113.10 9001 2 >/dev/null
wait "$pid_rej"
expect_eq "--outcome rejected: the SYN, tagged rejected" "1 1" "$(comments "$work/rejected.pcapng" 'rule 203.0.113.10/32 reject sources cli; outcome rejected')"
check "the rejected packet is the client's SYN" "tcpdump -n -r '$work/rejected.pcapng' 2>/dev/null | grep -q 'Flags \[S\]'"
start_capture src --source lab --duration 3 -w "$work/source.pcapng"
check "status counts the running capture" "lab pw status --json | grep -q '\"captures\": 1,'"
send_udp 203.0.113.10 5
send_udp 203.0.113.20 7
wait "$pid_src"
expect_eq "--source lab: only the 7 packets of its rule" "7 7" "$(comments "$work/source.pcapng" 'sources lab')"
start_capture smp --rule 203.0.113.20/32 --sample 1/10 --duration 3 -w "$work/sampled.pcapng"
send_udp 203.0.113.20 100
wait "$pid_smp"
sampled=$(comments "$work/sampled.pcapng" 'outcome dropped' | cut -d' ' -f2)
check "--sample 1/10 of 100 packets: about 10 (got $sampled; the count is per CPU)" '[ "$sampled" -ge 8 ] && [ "$sampled" -le 12 ]'
( lab pw capture --rule 203.0.113.20/32 --count 3 --duration 10 -w - 2>/dev/null > "$work/stdout.pcapng" ) &
cap=$!
sleep 1
send_udp 203.0.113.20 3
wait "$cap"
expect_eq "-w -: pcapng on stdout, read by tcpdump" 3 "$(tcpdump -n -r "$work/stdout.pcapng" 2>/dev/null | wc -l)"

echo "# errors"
err=$(lab pw capture --rule 203.0.113.99/32 -w "$work/x" 2>&1); rc=$?
check "a rule not in force: exit 1, one line" '[ $rc = 1 ] && [ "$(printf "%s\n" "$err" | wc -l)" = 1 ] && [[ $err == *"no rule 203.0.113.99/32 is in force"* ]]'
err=$(lab pw capture --sample 1/0 -w "$work/x" 2>&1); rc=$?
check "a bad --sample: exit 2, one line" '[ $rc = 2 ] && [ "$(printf "%s\n" "$err" | wc -l)" = 1 ]'
err=$(lab pw capture 2>&1); rc=$?
check "no -w: exit 2" '[ $rc = 2 ] && [[ $err == *"-w FILE"* ]]'
check "no capture left running" "lab pw status --json | grep -q '\"captures\": 0,'"
finish
