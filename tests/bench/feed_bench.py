#!/usr/bin/env python3
"""What a BGP feed costs: `prefixwall feed` reading ExaBGP's JSON API on a
pipe, with the 1M-prefix BGP v4 list (../shared/registries) in force from
another source.

  1. the initial table: a session comes up, --initial routes (half IPv4
     /32s, half IPv6 /128s, spread over the address space as RTBH feeds
     carry them) arrive in UPDATE lines of 250 prefixes, then end-of-RIB for both families; the figure is the
     feed's own: from the end-of-RIB line read to the version in force;
  2. --updates single-prefix UPDATEs (announces, then their withdraws),
     one every --interval-ms; the figures are the feed's: from each UPDATE
     line read to its change in force in the maps (the swap issued: every
     packet from then on sees it; p50, p99, max) and to its commit's
     return (after the swap's RCU grace period, the old copy's catch-up
     and the store's commit), read from its status when the pipe closes.
Run once per --coalesce-ms value (default: 0 and 2). Rules only: nothing
is sent. Needs root; run as
  tests/bench/feed_bench.py BUILD/prefixwall [--updates 10000] [--interval-ms 10]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sync_bench import REG, read_list  # noqa: E402

BGP = "bgp/derived_v4_prefixes_rv2-20240406.txt.gz"
HEAD = '{ "exabgp": "4.0.1", "time": 0.0, "host" : "bench", "pid" : 1, "ppid" : 1, "counter": 1, '
NEIGHBOR = ('"neighbor": { "address": { "local": "192.0.2.2", "peer": "192.0.2.1" }, '
            '"asn": { "local": 65001, "peer": 65000 }')


def state(s):
    return HEAD + '"type": "state", ' + NEIGHBOR + ', "state": "%s" } }\n' % s


def update(family, announce=(), withdraw=()):
    parts = []
    if announce:
        nlri = ", ".join('{ "nlri": "%s" }' % p for p in announce)
        parts.append('"attribute": { "origin": "igp", "as-path": [ 65000 ], "community": [ [ 65535, 666 ] ] }, '
                     '"announce": { "%s unicast": { "192.0.2.1": [ %s ] } }' % (family, nlri))
    if withdraw:
        nlri = ", ".join('{ "nlri": "%s" }' % p for p in withdraw)
        parts.append('"withdraw": { "%s unicast": [ %s ] }' % (family, nlri))
    return (HEAD + '"type": "update", ' + NEIGHBOR + ', "direction": "receive", "message": { "update": { '
            + ", ".join(parts) + " } } } }\n")


def eor(afi):
    return (HEAD + '"type": "update", ' + NEIGHBOR + ', "direction": "receive", '
            '"message": { "eor": { "afi" : "%s", "safi" : "unicast" } } } }\n' % afi)


# Blackhole routes as RTBH feeds carry them: single hosts spread over the
# address space (IPv4 /32s in 1.0.0.0-223.255.255.255, IPv6 /128s in
# 2000::/3), one per index, the same every run. Rules only: nothing is
# sent to them.
def _mix(i, salt):
    x = (i * 0x9E3779B97F4A7C15 + salt) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 31
    x = (x * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 29)


def v4(i):
    x = _mix(i, 1) % (223 << 24)
    return "%d.%d.%d.%d/32" % (1 + (x >> 24), (x >> 16) & 255, (x >> 8) & 255, x & 255)


def v6(i):
    x = _mix(i, 2)
    return "%x:%x:%x:%x::1/128" % (0x2000 | (x >> 48) & 0x1fff, (x >> 32) & 0xffff, (x >> 16) & 0xffff, x & 0xffff)


def wait_log(path, text, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(path) as f:
            for line in f:
                if text in line:
                    return line
        time.sleep(0.05)
    raise RuntimeError("feed: no '%s' within %d s; log:\n%s" % (text, timeout, open(path).read()[-2000:]))


def run_feed(pw, env, work, coalesce_ms, initial, updates, interval):
    log = os.path.join(work, "feed-%s.log" % coalesce_ms)
    with open(log, "w") as err:
        feed = subprocess.Popen([pw, "feed", "--source", "feed", "--allow-private", "--hold-after-down", "0",
                                 "--max-prefixes", str(initial + updates + 10), "--coalesce-ms", str(coalesce_ms)],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, env=env, text=True)
    w = feed.stdin
    w.write(state("connected") + state("up"))
    half = initial // 2
    for fam, gen in (("ipv4", v4), ("ipv6", v6)):
        for start in range(0, half, 250):
            w.write(update(fam, announce=[gen(i) for i in range(start, min(half, start + 250))]))
    w.write(eor("ipv6") + eor("ipv4"))
    w.flush()
    line = wait_log(log, "initial table in force", 120)
    eor_ms = float(line.split(" ms from end-of-RIB")[0].rsplit(" ", 1)[1])
    print("    initial table: " + line.split("to in force (")[1].split("),")[0], flush=True)
    # Single-prefix updates: new routes announced (IPv4 and IPv6 in
    # turn), then withdrawn in the same order; each one changes a rule.
    announce = updates - updates // 2
    for k in range(updates):
        j = k if k < announce else k - announce
        fam, gen = ("ipv4", v4) if j % 2 == 0 else ("ipv6", v6)
        p = gen(half + j)
        w.write(update(fam, announce=[p]) if k < announce else update(fam, withdraw=[p]))
        w.flush()
        time.sleep(interval / 1000.0)
    w.close()
    feed.wait(timeout=60)
    with open(os.path.join(env["PREFIXWALL_STATE_DIR"], "feeds", "feed.json")) as f:
        st = json.load(f)
    return eor_ms, st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefixwall")
    ap.add_argument("--updates", type=int, default=10000)
    ap.add_argument("--initial", type=int, default=100000)
    ap.add_argument("--interval-ms", type=float, default=10)
    ap.add_argument("--coalesce-ms", type=float, nargs="*", default=[0, 2])
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("feed_bench: needs root")
    path = os.path.join(REG, BGP)
    if not os.path.exists(path):
        print("SKIP feed_bench: %s is missing (../shared/registries)" % path)
        return
    pw = os.path.abspath(a.prefixwall)
    work = tempfile.mkdtemp(prefix="pw-feed-")
    env = dict(os.environ, PREFIXWALL_PIN_DIR=work + "/bpffs/pins", PREFIXWALL_STATE_DIR=work + "/state")
    full = os.path.join(work, "bgp.txt")
    entries = read_list(path)
    with open(full, "w") as f:
        f.write("\n".join(entries) + "\n")
    try:
        subprocess.run([pw, "sync", "--source", "bgp", "--from", full, "--allow-private"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        print("%d rules in force from source bgp; feed: %d initial routes, %d single-prefix updates every %g ms"
              % (len(entries), a.initial, a.updates, a.interval_ms), flush=True)
        print("  %-10s %22s %26s %26s %9s" % ("coalesce", "end-of-RIB->in force", "read->in force p50/p99/max",
                                                "read->commit returned p50/p99", "versions"))
        for c in a.coalesce_ms:
            subprocess.run([pw, "del", "--source", "feed", "192.0.2.255"], env=env, capture_output=True)
            eor_ms, st = run_feed(pw, env, work, c, a.initial, a.updates, a.interval_ms)
            print("  %-10s %19.1f ms %11.2f / %.2f / %.2f ms %18.2f / %.2f ms %9d" % (
                "%g ms" % c, eor_ms, st["latency_p50"] * 1000, st["latency_p99"] * 1000,
                st["latency_max"] * 1000, st["returned_p50"] * 1000, st["returned_p99"] * 1000,
                st["versions"]), flush=True)
            # The next round starts from no feed claims (its table is initial again).
            subprocess.run([pw, "sync", "--source", "feed", "--from", "/dev/null", "--force"], env=env,
                           check=True, stdout=subprocess.DEVNULL)
    finally:
        subprocess.run([pw, "detach", "--all", "--purge"], env=env, capture_output=True)
        subprocess.run(["umount", work + "/bpffs/pins"], capture_output=True)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
