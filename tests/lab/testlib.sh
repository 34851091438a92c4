# Shared by the lab test scripts (sourced): results, preconditions, and the
# two-version canaries of the crash and soak tests.

passed=0 failed=0
ok() { echo "ok   - $1"; passed=$((passed + 1)); }
not_ok() { echo "FAIL - $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (want $2, got $3)"; fi; }
finish() { echo "# $passed passed, $failed failed"; [ "$failed" = 0 ]; }

# needs TEST TOOL...: exit 77 (skipped) without root or one of the tools.
needs() {
  local name=$1; shift
  [ "$(id -u)" = 0 ] || { echo "SKIP $name: needs root"; exit 77; }
  for t in "$@"; do command -v "$t" >/dev/null || { echo "SKIP $name: needs $t"; exit 77; }; done
}
needs_netns() {
  ip netns add "pwprobe$$" 2>/dev/null || { echo "SKIP $1: cannot create network namespaces"; exit 77; }
  ip netns del "pwprobe$$"
}

# Two registry versions of N /32s in 100.64.0.0/10 (shared address space:
# never a host here) plus canaries: A blocks 203.0.113.10 (and EXTRA_A),
# B blocks 203.0.113.20.  write_versions DIR N [EXTRA_A...]
write_versions() {
  python3 - "$@" <<'PY'
import random, sys
d, n, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
for v, canaries, seed in (("A", ["203.0.113.10"] + extra, 1), ("B", ["203.0.113.20"], 2)):
    r = random.Random(seed)
    with open(d + "/" + v + ".txt", "w") as f:
        for _ in range(n):
            f.write("100.%d.%d.%d\n" % (64 + r.randrange(64), r.randrange(256), r.randrange(256)))
        f.write("\n".join(canaries) + "\n")
PY
}
# Which version the lab's client sees: A, B, or MIX(ab) (needs lab()).
blocked() { ! lab exec client ping -q -n -c 1 -W 1 "$1" >/dev/null 2>&1; }
canary_version() {
  local a=0 b=0
  blocked 203.0.113.10 && a=1
  blocked 203.0.113.20 && b=1
  if [ $a = 1 ] && [ $b = 0 ]; then echo A; elif [ $a = 0 ] && [ $b = 1 ]; then echo B; else echo "MIX($a$b)"; fi
}
# "yes" when the saved rules, the compiled table and the result entries
# in use agree (needs lab()).
table_consistent() {
  lab pw status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
used = sum(f["used"] for f in d["families"].values())
table = sum(f["compiled_table_rules"] for f in d["families"].values())
print("yes" if used == table == d["compiled_results_in_use"] else "no %d %d %d" % (used, table, d["compiled_results_in_use"]))'
}

# start_lab PREFIX: the veth lab named PREFIX and this shell's pid, torn
# down at exit with every process in pids and the work directory (and
# whatever a lab_cleanup function the test defines stops first). Sets
# $lab, $base, $work and pids; lab() runs tests/lab/lab.sh on it.
start_lab() {
  lab=$1$$
  base=/run/prefixwall-lab/$lab
  work=$(mktemp -d "/tmp/pw-$1-XXXXXX")
  pids=()
  trap 'declare -F lab_cleanup >/dev/null && lab_cleanup; for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; lab down; rm -rf "$work"' EXIT
  lab up
}
lab() { "$here/lab.sh" "$1" "$lab" "${@:2}"; }
# metric NAME: the value of an unlabelled metric (awk reads the whole
# exposition: `metrics | grep -q` fails under pipefail when grep exits
# before the last write and prefixwall dies of SIGPIPE).
metric() { lab pw metrics | awk -v name="$1" '$1 == name { print $2 }'; }
# wait_bound HOST tcp|udp PORT: returns once a socket in the lab host's
# namespace (client, router, server) is bound to PORT (listening, for
# TCP), so that what a test sends next is not lost to a server still
# starting; a test of its own fails after 10 s.
wait_bound() {
  for _ in $(seq 100); do
    [ -n "$(lab exec "$1" ss -Hln --"$2" "sport = :$3")" ] && return 0
    sleep 0.1
  done
  echo "FAIL - nothing bound to $2 port $3 in $1 after 10 s"; exit 1
}
# serve_http PORT DIR [LOG]: python's http.server on 127.0.0.1:PORT in the
# lab's router namespace, stopped at exit, once it listens.
serve_http() {
  ip netns exec "$lab-router" python3 -m http.server "$1" --bind 127.0.0.1 --directory "$2" >"${3:-/dev/null}" 2>&1 &
  pids+=($!)
  wait_bound router tcp "$1"
}
# An XDP program on the client's c0 that passes everything (prefixwall
# with no rules, pins of its own): on a veth, frames the router's native
# XDP sends back with XDP_TX (reject answers) reach c0 only then.
client_pass_all() {
  PREFIXWALL_PIN_DIR=$base/bpf/client PREFIXWALL_STATE_DIR=$base/client-state \
    lab exec client "$PREFIXWALL" attach c0 >/dev/null
}
