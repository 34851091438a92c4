#!/usr/bin/env python3
"""Registry sync benchmark: prefixwall beside ipset and nftables.

For each list (BGP v4 1M, RKN v4 2025, RKN v6 2024, from ../shared/registries):
  - full load from empty: `prefixwall sync` (parse + guards + diff + both
    rule copies + state), `ipset restore`, `nft -f` (interval set, netdev);
  - an incremental sync where 1% of the entries changed (0.5% removed,
    0.5% added), and the same change as ipset del/add commands and as an
    nft set reload (flush + add in one transaction: an auto-merged
    interval set cannot delete elements as they were listed);
  - an unchanged HTTP registry: `prefixwall sync` answered by a 304.
Prints a table and writes JSON (--json FILE). Needs root; run as
  tests/bench/sync_bench.py BUILD/prefixwall [--json out.json]
"""
import gzip
import http.server
import ipaddress
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REG = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "registries"))
LISTS = [
    ("BGP v4 1M", "bgp/derived_v4_prefixes_rv2-20240406.txt.gz", 4),
    ("RKN v4 2025", "zi/rkn_ip_all_v4_2025-10-01.lst", 4),
    ("RKN v6 2024", "zi/rkn_ip6_2024-11-19.lst", 6),
    ("BGP v6 160k", "bgp/derived_v6_prefixes_gaissmai.txt.gz", 6),
    ("Spamhaus DROP", "spamhaus/drop.txt", 4),
    ("Spamhaus DROPv6", "spamhaus/dropv6.txt", 6),
]


def read_list(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        out = []
        for line in f:
            line = line.split(";")[0].strip()  # Spamhaus: "prefix ; SBL id"
            if line and not line.startswith("#"):
                out.append(str(ipaddress.ip_network(line, strict=False)))
        return list(dict.fromkeys(out))  # duplicates after normalising


def changed(entries, family, rng):
    """0.5% removed, 0.5% new entries from documentation-free random space."""
    n = max(1, len(entries) // 200)
    keep = entries[:]
    rng.shuffle(keep)
    removed, keep = keep[:n], keep[n:]
    have = set(entries)
    added = []
    while len(added) < n:
        if family == 4:
            p = "%d.%d.%d.0/24" % (rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255))
        else:
            p = str(ipaddress.ip_network("2a0%x:%x:%x::/48" % (rng.randint(1, 15), rng.randint(0, 65535), rng.randint(0, 65535))))
        if p not in have and not p.startswith(("10.", "100.", "127.", "172.", "192.168.", "198.18.", "198.19.")):
            have.add(p)
            added.append(p)
    after = keep + added
    # Registries are published sorted; keep the new version sorted too.
    after.sort(key=lambda p: (ipaddress.ip_network(p).network_address, ipaddress.ip_network(p).prefixlen))
    return after, removed, added


def timed(cmd, **kw):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd[:3]), r.stderr.strip()[:300]))
    return dt, r.stdout


class Registry(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *a):
        pass


def main():
    if os.geteuid() != 0:
        print("sync_bench: needs root")
        return 77
    for tool in ("ipset", "nft"):
        if not shutil.which(tool):
            print("sync_bench: needs %s (apt-get install ipset nftables)" % tool)
            return 77
    if not os.path.isdir(REG):
        print("sync_bench: %s is absent; nothing to measure" % REG)
        return 77
    pw = os.path.abspath(sys.argv[1])
    json_out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    rng = random.Random(20261124)
    work = tempfile.mkdtemp(prefix="pw-bench-")
    bpffs = os.path.join(work, "bpffs")
    os.makedirs(bpffs)
    subprocess.run(["mount", "-t", "bpf", "bpf", bpffs], check=True)
    results = []
    try:
        for name, rel, family in LISTS:
            path = os.path.join(REG, rel)
            if not os.path.exists(path):
                print("skip %s: %s absent" % (name, path))
                continue
            entries = read_list(path)
            after, removed, added = changed(entries, family, rng)
            v1 = os.path.join(work, "v1.txt")
            v2 = os.path.join(work, "v2.txt")
            open(v1, "w").write("\n".join(entries) + "\n")
            open(v2, "w").write("\n".join(after) + "\n")
            env = dict(os.environ, PREFIXWALL_PIN_DIR=os.path.join(bpffs, name.replace(" ", "_")),
                       PREFIXWALL_STATE_DIR=os.path.join(work, "state-" + name.replace(" ", "_")))
            common = [pw, "sync", "--json", "--allow-private", "--force",
                      "--min-prefix-len-v4", "0", "--min-prefix-len-v6", "0"]
            base = common + ["--source", "bench"]
            row = {"list": name, "entries": len(entries)}
            dt, out = timed(base + ["--from", v1], env=env)
            rep = json.loads(out)["syncs"][0]
            row["prefixwall_full_s"] = dt
            row["prefixwall_full_phases"] = dict(rep["phases"])
            row["prefixwall_full_in_force_s"] = rep["commit_to_in_force_seconds"]
            dt, out = timed(base + ["--from", v2], env=env)
            rep = json.loads(out)["syncs"][0]
            row["prefixwall_1pct_s"] = dt
            row["prefixwall_1pct_phases"] = dict(rep["phases"])
            row["prefixwall_1pct_in_force_s"] = rep["commit_to_in_force_seconds"]
            row["prefixwall_1pct_rules"] = rep["rules"]

            # 304: the same registry over HTTP, twice.
            Registry.body = open(v2, "rb").read()
            srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            url = "http://127.0.0.1:%d/list.txt" % srv.server_address[1]
            timed(common + ["--source", "http", "--from", url], env=env)
            dt, out = timed(common + ["--source", "http", "--from", url], env=env)
            rep = json.loads(out)["syncs"][0]
            assert rep["not_modified"], rep
            row["prefixwall_304_s"] = dt
            row["prefixwall_304_sync_s"] = rep["seconds"]
            srv.shutdown()
            # Map memory of the compiled engine: both table copies plus the
            # result words of the rules (8 B each).
            st = json.loads(subprocess.run([pw, "status", "--json"], env=env, capture_output=True,
                                           text=True, check=True).stdout)
            fam = st["families"]["ipv4" if family == 4 else "ipv6"]
            row["prefixwall_memory_bytes"] = 2 * fam["compiled_table_bytes"] + 8 * fam["used"]
            subprocess.run([pw, "detach", "--all", "--purge"], env=env, capture_output=True)

            # ipset
            fam = "inet" if family == 4 else "inet6"
            subprocess.run(["ipset", "destroy", "pwbench"], capture_output=True)
            restore = "create pwbench hash:net family %s maxelem 4000000\n" % fam + "".join(
                "add pwbench %s\n" % e for e in entries)
            dt, _ = timed(["ipset", "restore"], input=restore)
            row["ipset_full_s"] = dt
            delta = "".join("del pwbench %s\n" % e for e in removed) + "".join("add pwbench %s\n" % e for e in added)
            dt, _ = timed(["ipset", "restore"], input=delta)
            row["ipset_1pct_s"] = dt
            mem = subprocess.run(["ipset", "list", "pwbench", "-t"], capture_output=True, text=True).stdout
            row["ipset_memory_bytes"] = int([l.split(":")[1] for l in mem.splitlines() if "memory" in l][0])
            subprocess.run(["ipset", "destroy", "pwbench"], capture_output=True)

            # nftables: a netdev table with an interval set
            nfam = "ipv4_addr" if family == 4 else "ipv6_addr"
            subprocess.run(["nft", "delete", "table", "netdev", "pwbench"], capture_output=True)
            script = os.path.join(work, "nft.txt")
            with open(script, "w") as f:
                f.write("table netdev pwbench {\n set s { type %s; flags interval; auto-merge; elements = {\n" % nfam)
                f.write(",\n".join(entries))
                f.write("\n } }\n}\n")
            dt, _ = timed(["nft", "-f", script])
            row["nft_full_s"] = dt
            # An auto-merged interval set cannot delete the elements as
            # listed (they were merged): the change is a flush and reload
            # of the set in one transaction, as an operator would do it.
            with open(script, "w") as f:
                f.write("flush set netdev pwbench s\n")
                f.write("add element netdev pwbench s { %s }\n" % ",\n".join(after))
            try:
                dt, _ = timed(["nft", "-f", script])
                row["nft_1pct_s"] = dt
            except RuntimeError as e:
                row["nft_1pct_s"] = None
                row["nft_1pct_error"] = str(e)[:200]
            subprocess.run(["nft", "delete", "table", "netdev", "pwbench"], capture_output=True)
            results.append(row)
    finally:
        subprocess.run(["umount", bpffs], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    def f(v):
        return "-" if v is None else ("%.3f" % v)

    print("%-12s %9s | %-28s | %-14s | %-14s | %s" % ("list", "entries", "prefixwall full / 1% / 304 (s)",
                                                    "ipset full/1%", "nft full/1%", "ipset memory"))
    print("prefixwall map memory (compiled, both copies + results), MB: " + ", ".join(
        "%s %.1f" % (r["list"], r["prefixwall_memory_bytes"] / 1e6) for r in results))
    for r in results:
        print("%-12s %9d | %6s / %6s / %8s      | %6s / %6s | %6s / %6s | %.1f MB" % (
            r["list"], r["entries"], f(r["prefixwall_full_s"]), f(r["prefixwall_1pct_s"]),
            "%.4f" % r["prefixwall_304_s"], f(r["ipset_full_s"]), f(r["ipset_1pct_s"]),
            f(r["nft_full_s"]), f(r.get("nft_1pct_s")), r["ipset_memory_bytes"] / 1e6))
    for r in results:
        print("%s: in force %.3f s into the commit (full), %.3f s (1%%)" % (
            r["list"], r["prefixwall_full_in_force_s"], r["prefixwall_1pct_in_force_s"]))
    for r in results:
        print("%s phases, full: %s" % (r["list"], ", ".join("%s %.3f" % kv for kv in r["prefixwall_full_phases"].items())))
        print("%s phases, 1%%:   %s" % (r["list"], ", ".join("%s %.3f" % kv for kv in r["prefixwall_1pct_phases"].items())))
    if json_out:
        with open(json_out, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
