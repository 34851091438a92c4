#!/usr/bin/env python3
"""What a change costs: every prefixwall command with a large rule set in
force, wall time and peak RSS per command, beside ipset and nft doing the
same job in the same run.

With the BGP v4 1M list (../shared/registries) synced as source `bgp`:
  add / del of one prefix, lookup, status, list --source (a small source),
  stats --top 10, metrics; then sync of the same file rewritten unchanged,
  sync of a 1% change, and a full sync from empty.
ipset (hash:net, the same list) does add / del / test; nft (an interval
set in a netdev table, the same list) does add element.
Each figure is the median of --rounds runs (peak RSS: the largest). Needs
root; run as
  tests/bench/change_cost.py BUILD/prefixwall [--rounds 3] [--json out.json]
"""
import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sync_bench import REG, changed, read_list  # noqa: E402

BGP = "bgp/derived_v4_prefixes_rv2-20240406.txt.gz"


def run(cmd, env=None):
    """Wall seconds and peak RSS (MiB) of one command, which must succeed.

    The peak comes from GNU time: a child forked from this process starts
    with this process's pages, so its own rusage would report them."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "PEAK_KB %M", *cmd], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=env)
    dt = time.perf_counter() - t0
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd[:4]), p.returncode, err.strip()[:300]))
    peak = [line for line in err.splitlines() if line.startswith("PEAK_KB ")]
    return dt, int(peak[-1].split()[1]) / 1024.0


def measure(rows, name, cmds, rounds):
    """cmds(i) -> list of commands run in order for round i; the last is timed."""
    times, rss = [], 0.0
    for i in range(rounds):
        steps = cmds(i)
        for c in steps[:-1]:
            run(*c)
        dt, r = run(*steps[-1])
        times.append(dt)
        rss = max(rss, r)
    rows.append((name, statistics.median(times), rss))
    print("  %-44s %9.1f ms %8.1f MiB" % (name, statistics.median(times) * 1000, rss), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefixwall")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("change_cost: needs root")
    path = os.path.join(REG, BGP)
    if not os.path.exists(path):
        print("SKIP change_cost: %s is missing (../shared/registries)" % path)
        return
    pw = os.path.abspath(a.prefixwall)
    work = tempfile.mkdtemp(prefix="pw-cost-")
    env = dict(os.environ, PREFIXWALL_PIN_DIR=work + "/bpffs/pins", PREFIXWALL_STATE_DIR=work + "/state")
    rng = random.Random(7)
    entries = read_list(path)
    count = len(entries)
    full = os.path.join(work, "bgp.txt")
    with open(full, "w") as f:
        f.write("\n".join(entries) + "\n")
    rewritten = os.path.join(work, "bgp-rewritten.txt")
    shutil.copy(full, rewritten)
    after, _, _ = changed(entries, 4, rng)
    one_pct = os.path.join(work, "bgp-1pct.txt")
    with open(one_pct, "w") as f:
        f.write("\n".join(after) + "\n")
    del entries, after
    rows = []
    P = lambda *args: ([pw, *args], env)  # noqa: E731
    try:
        print("prefixwall, %d rules in force (source bgp) plus a 3-rule source:" % count, flush=True)
        run(*P("sync", "--source", "bgp", "--from", full, "--allow-private"))
        run(*P("add", "203.0.113.0/24", "198.51.100.0/24", "2001:db8::/32", "--source", "small"))
        doc = ["198.18.%d.0/24" % i for i in range(200)]
        measure(rows, "add one prefix", lambda i: [P("add", doc[i], "--source", "cli")], a.rounds)
        measure(rows, "del one prefix", lambda i: [P("del", doc[i])], a.rounds)
        measure(rows, "lookup ADDRESS", lambda i: [P("lookup", "8.8.8.8")], a.rounds)
        measure(rows, "status", lambda i: [P("status")], a.rounds)
        measure(rows, "list --source small", lambda i: [P("list", "--source", "small")], a.rounds)
        measure(rows, "stats --top 10", lambda i: [P("stats", "--top", "10")], a.rounds)
        measure(rows, "metrics", lambda i: [P("metrics")], a.rounds)
        measure(rows, "sync, list unchanged but rewritten", lambda i: [
            P("sync", "--source", "bgp", "--from", full if i % 2 else rewritten, "--allow-private")], a.rounds)
        measure(rows, "sync, 1% of the list changed", lambda i: [
            P("sync", "--source", "bgp", "--from", full, "--allow-private", "--force"),
            P("sync", "--source", "bgp", "--from", one_pct, "--allow-private", "--force")], a.rounds)
        measure(rows, "sync, full 1M load from empty", lambda i: [
            P("detach", "--all", "--purge"),
            P("sync", "--source", "bgp", "--from", full, "--allow-private")], a.rounds)
    finally:
        subprocess.run([pw, "detach", "--all", "--purge"], env=env, capture_output=True)
        subprocess.run(["umount", work + "/bpffs/pins"], capture_output=True)

    if shutil.which("ipset"):
        print("ipset hash:net, the same list:", flush=True)
        subprocess.run(["ipset", "destroy", "pwcost"], capture_output=True)
        restore = os.path.join(work, "set.ipset")
        with open(full) as src, open(restore, "w") as f:
            f.write("create pwcost hash:net family inet maxelem 4000000\n")
            for line in src:
                f.write("add pwcost %s" % line)
        try:
            run(["ipset", "restore", "-file", restore])
            measure(rows, "ipset add", lambda i: [(["ipset", "add", "pwcost", doc[i]], None)], a.rounds)
            measure(rows, "ipset del", lambda i: [(["ipset", "del", "pwcost", doc[i]], None)], a.rounds)
            measure(rows, "ipset test", lambda i: [(["ipset", "test", "pwcost", "8.8.8.8"], None)], a.rounds)
        finally:
            subprocess.run(["ipset", "destroy", "pwcost"], capture_output=True)
    else:
        print("ipset is not installed: no ipset figures")
    if shutil.which("nft"):
        print("nft interval set (netdev), the same list:", flush=True)
        script = os.path.join(work, "set.nft")
        with open(script, "w") as f:
            f.write("table netdev pwcost {\n set s { type ipv4_addr; flags interval; auto-merge; elements = {\n")
            with open(full) as src:
                f.write(",\n".join(line.strip() for line in src))
            f.write("\n} }\n}\n")
        try:
            run(["nft", "-f", script])
            measure(rows, "nft add element", lambda i: [
                (["nft", "add", "element", "netdev", "pwcost", "s", "{ %s }" % doc[100 + i]], None)], a.rounds)
        finally:
            subprocess.run(["nft", "delete", "table", "netdev", "pwcost"], capture_output=True)
    else:
        print("nft is not installed: no nft figures")
    shutil.rmtree(work, ignore_errors=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"case": n, "seconds": s, "peak_rss_mib": r} for n, s, r in rows], f, indent=2)


if __name__ == "__main__":
    main()
