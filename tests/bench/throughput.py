#!/usr/bin/env python3
"""Drop throughput in a veth pair: prefixwall (each engine) beside an XDP
drop-all program (the ceiling), an nftables netdev-ingress interval set and
iptables raw + ipset hash:net, same traffic and same list, one after another.

Two namespaces of the bench's own, joined by one veth pair and nothing else
(no route out): `gen` runs build/tests/xdp_gen (BPF_PROG_TEST_RUN with
BPF_F_TEST_XDP_LIVE_FRAMES, XDP_TX) which sends 64-byte UDP frames whose
IPv4 source is taken in turn from a table of addresses drawn inside the
list's prefixes (every packet a hit): 65,536 of them, each inside a
different random prefix (sources spread over many rules), and 4,096 (a
concentrated attack); `dut` receives them on d0 (GRO on, so the nftables
and iptables paths see them). Every case drops every frame (its drop
counter is checked), and the namespaces have no route out, so nothing
leaves. The rate is d0's received packets over the generator's time.
--before OTHER_BUILD adds that build's prefixwall (compiled engine) to each
case, measured in the same run. The compiled engine is also measured with
a capture running (`--sample 1/1000`), with every rule a reject
(answers off: xdp_gen recycles its frames as the receiver left them), and
with every rule scoped to L4 (every packet fitting its rule's scope, then
every packet falling through to the covering rule).
  tests/bench/throughput.py BUILD_DIR [--json FILE] [--packets N] [--sources N,N]
                            [--before OTHER_BUILD] [--list NAME]   (root)
--list runs only the lists whose name contains NAME ("RKN", "BGP").
"""
import ipaddress
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sync_bench import REG, read_list  # noqa: E402

LISTS = [
    ("RKN v4 2025", "zi/rkn_ip_all_v4_2025-10-01.lst"),
    ("BGP v4 1M", "bgp/derived_v4_prefixes_rv2-20240406.txt.gz"),
]
GEN, DUT = "pwtp-gen", "pwtp-dut"


def sh(*cmd, **kw):
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True, **kw).stdout


def dut(*cmd, **kw):
    return sh("ip", "netns", "exec", DUT, *cmd, **kw)


def rx_packets():
    j = json.loads(dut("ip", "-s", "-j", "link", "show", "d0"))
    return j[0]["stats64"]["rx"]["packets"]


def setup():
    teardown()
    sh("ip", "netns", "add", GEN)
    sh("ip", "netns", "add", DUT)
    sh("ip", "-n", GEN, "link", "add", "g0", "type", "veth", "peer", "name", "d0", "netns", DUT)
    for ns, dev in ((GEN, "g0"), (DUT, "d0")):
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "link", "set", dev, "up")
    dut("ethtool", "-K", "d0", "gro", "on")
    return dut("cat", "/sys/class/net/d0/address").strip()


def teardown():
    for ns in (GEN, DUT):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def inside(prefixes, rng, n):
    """n addresses, each inside a different random prefix of the list."""
    out = []
    for i in rng.sample(range(len(prefixes)), min(n, len(prefixes))):
        net = ipaddress.ip_network(prefixes[i])
        out.append(str(net.network_address + rng.randrange(net.num_addresses)))
    return out


def main():
    if os.geteuid() != 0:
        print("throughput: needs root")
        return 77
    if not os.path.isdir(REG):
        print("throughput: %s is absent; nothing to measure" % REG)
        return 77
    build = os.path.abspath(sys.argv[1])
    json_out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    packets = int(sys.argv[sys.argv.index("--packets") + 1]) if "--packets" in sys.argv else 8_000_000
    sources = ([int(x) for x in sys.argv[sys.argv.index("--sources") + 1].split(",")]
               if "--sources" in sys.argv else [65536, 4096])
    before = os.path.abspath(sys.argv[sys.argv.index("--before") + 1]) if "--before" in sys.argv else None
    only = sys.argv[sys.argv.index("--list") + 1] if "--list" in sys.argv else None
    rng = random.Random(20261125)
    work = tempfile.mkdtemp(prefix="pw-tput-")
    results = []
    mac = setup()
    try:
        for name, rel in LISTS:
            if only and only not in name:
                continue
            path = os.path.join(REG, rel)
            if not os.path.exists(path):
                print("skip %s: %s absent" % (name, path))
                continue
            prefixes = read_list(path)
            plist = os.path.join(work, "list.txt")
            addrs = os.path.join(work, "addrs.txt")
            open(plist, "w").write("\n".join(prefixes) + "\n")
            pool = inside(prefixes, rng, max(sources))
            for nsrc in sources:
                open(addrs, "w").write("\n".join(pool[:nsrc]) + "\n")
                results.append(measure(name, prefixes, nsrc, packets, plist, addrs, work, mac, build, before))
    finally:
        subprocess.run(["umount", os.path.join(work, "bpffs")], capture_output=True)
        teardown()
        shutil.rmtree(work, ignore_errors=True)
    if json_out:
        json.dump(results, open(json_out, "w"), indent=2)
    return 0


def extra_cases(binary, env, plist, run, pw_dropped):
    """The compiled engine with a capture running (one in 1,000 packets
    copied), then with every rule a reject and no answers allowed
    (--reject-rate 0)."""
    dut(binary, "attach", "d0", "--mode", "native", "--match", "src", "--engine", "compiled", env=env)
    cap = subprocess.Popen(["ip", "netns", "exec", DUT, binary, "capture", "--sample", "1/1000",
                            "-w", "/dev/null"], env=env, stderr=subprocess.PIPE, text=True)
    line = cap.stderr.readline()
    if not line.startswith("capture: slot"):
        raise RuntimeError("capture did not start: " + line)
    run("prefixwall_compiled_capture_1in1000", pw_dropped)
    cap.send_signal(signal.SIGINT)
    print("  (%s)" % cap.stderr.read().strip(), flush=True)
    cap.wait()
    dut(binary, "sync", "--source", "bench", "--from", plist, "--action", "reject", "--allow-private",
        "--force", "--min-prefix-len-v4", "0", env=env)
    # Every packet takes the reject path and is dropped unanswered, as the
    # excess of a flood is: xdp_gen's live frames are recycled from its
    # page pool as they were left, so an answer written into one would be
    # sent again as the next packet.
    dut(binary, "attach", "d0", "--mode", "native", "--match", "src", "--engine", "compiled",
        "--reject-rate", "0", env=env)

    def pw_stopped():
        j = json.loads(dut(binary, "stats", "--json", "--top", "1", env=env))
        return sum(t["packets"] for t in j["totals"]
                   if t["family"] == "ipv4" and t["outcome"] in ("dropped", "rejected"))
    run("prefixwall_compiled_reject", pw_stopped)
    # Rules scoped to L4: every rule blocks UDP only (every packet fits its
    # rule's scope: the L4 header read and one scope record), then every
    # rule allows TCP only under a blocked 0.0.0.0/0 (every packet misses
    # its rule's scope and falls through to the covering rule).
    dut(binary, "attach", "d0", "--mode", "native", "--match", "src", "--engine", "compiled", env=env)
    dut(binary, "sync", "--source", "bench", "--from", plist, "--proto", "udp", "--allow-private",
        "--force", "--min-prefix-len-v4", "0", env=env)
    run("prefixwall_compiled_scoped_fit", pw_dropped)
    dut(binary, "sync", "--source", "bench", "--from", plist, "--action", "allow", "--proto", "tcp",
        "--allow-private", "--force", "--min-prefix-len-v4", "0", env=env)
    dut(binary, "add", "0.0.0.0/0", "--source", "bench-all", env=env)
    run("prefixwall_compiled_scoped_fall_through", pw_dropped)


def measure(name, prefixes, nsrc, packets, plist, addrs, work, mac, build, before=None):
    pw = os.path.join(build, "prefixwall")
    gen = os.path.join(build, "tests", "xdp_gen")
    drop_obj = os.path.join(build, "tests", "xdp_drop.bpf.o")
    row = {"list": name, "prefixes": len(prefixes), "sources": nsrc, "packets": packets}

    def run(case, counter):
        before, c0 = rx_packets(), counter()
        out = sh("ip", "netns", "exec", GEN, gen, "g0", mac, addrs, str(packets))
        secs = float(out.split()[3])
        got, dropped = rx_packets() - before, counter() - c0
        row[case + "_mpps"] = got / secs / 1e6
        row[case + "_dropped"] = dropped
        if dropped < got * 0.999:
            raise RuntimeError("%s %s: %d of %d packets dropped" % (name, case, dropped, got))
        print("  %-22s %6.2f Mpps" % (case, row[case + "_mpps"]), flush=True)

    print("%s, %d sources" % (name, nsrc), flush=True)
    # XDP drop-all: the ceiling of this harness.
    dut("ip", "link", "set", "dev", "d0", "xdp", "obj", drop_obj, "sec", "xdp")

    def xdp_drops():
        for line in dut("ethtool", "-S", "d0").splitlines():
            if "xdp_drops" in line:
                return int(line.split(":")[1])
        return 0
    run("xdp_drop_all", xdp_drops)
    dut("ip", "link", "set", "dev", "d0", "xdp", "off")

    # prefixwall, each engine (the pin dir is a bpffs outside /sys,
    # visible inside `ip netns exec`); then the other build's, if asked.
    pins = os.path.join(work, "bpffs")
    os.makedirs(pins, exist_ok=True)
    builds = [(pw, ("compiled", "trie"), "")]
    if before:
        builds.append((os.path.join(before, "prefixwall"), ("compiled",), "_before"))
    for binary, engines, tag in builds:
        sh("mount", "-t", "bpf", "bpf", pins)
        state = os.path.join(work, "state" + tag)
        env = dict(os.environ, PREFIXWALL_PIN_DIR=os.path.join(pins, "pw"), PREFIXWALL_STATE_DIR=state)
        dut(binary, "sync", "--source", "bench", "--from", plist, "--allow-private", "--force",
            "--min-prefix-len-v4", "0", env=env)

        def pw_dropped():
            j = json.loads(dut(binary, "stats", "--json", "--top", "1", env=env))
            return sum(t["packets"] for t in j["totals"]
                       if t["family"] == "ipv4" and t["outcome"] == "dropped")
        for engine in engines:
            dut(binary, "attach", "d0", "--mode", "native", "--match", "src", "--engine", engine, env=env)
            run("prefixwall_" + engine + tag, pw_dropped)
        if not tag:
            extra_cases(binary, env, plist, run, pw_dropped)
        dut(binary, "detach", "--all", "--purge", env=env)
        sh("umount", pins)
        shutil.rmtree(state, ignore_errors=True)

    # nftables: netdev ingress, interval set.
    script = os.path.join(work, "nft.txt")
    with open(script, "w") as f:
        f.write("table netdev pwtp {\n set s { type ipv4_addr; flags interval; auto-merge;"
                " elements = {\n%s\n } }\n" % ",\n".join(prefixes))
        f.write(" chain in { type filter hook ingress device d0 priority 0;"
                " ip saddr @s counter drop; }\n}\n")
    dut("nft", "-f", script)

    def nft_dropped():
        j = json.loads(dut("nft", "-j", "list", "chain", "netdev", "pwtp", "in"))
        for item in j["nftables"]:
            for e in item.get("rule", {}).get("expr", []):
                if "counter" in e:
                    return e["counter"]["packets"]
        return 0
    run("nft_interval_set", nft_dropped)
    dut("nft", "delete", "table", "netdev", "pwtp")

    # iptables raw + ipset hash:net.
    restore = "create pwtp hash:net family inet maxelem 4000000\n" + "".join(
        "add pwtp %s\n" % p for p in prefixes)
    dut("ipset", "restore", input=restore)
    dut("iptables", "-t", "raw", "-A", "PREROUTING", "-m", "set", "--match-set", "pwtp", "src", "-j", "DROP")

    def ipt_dropped():
        out = dut("iptables", "-t", "raw", "-L", "PREROUTING", "-v", "-x", "-n")
        return sum(int(l.split()[0]) for l in out.splitlines()[2:] if "DROP" in l)
    run("iptables_ipset", ipt_dropped)
    dut("iptables", "-t", "raw", "-F", "PREROUTING")
    dut("ipset", "destroy", "pwtp")

    best_classic = max(row["nft_interval_set_mpps"], row["iptables_ipset_mpps"])
    row["compiled_vs_ceiling"] = row["prefixwall_compiled_mpps"] / row["xdp_drop_all_mpps"]
    row["compiled_vs_best_classic"] = row["prefixwall_compiled_mpps"] / best_classic
    print("  compiled = %.0f%% of drop-all, %.1fx the better of nft and ipset"
          % (100 * row["compiled_vs_ceiling"], row["compiled_vs_best_classic"]))
    if before:
        print("  compiled = %.2fx the other build's" % (row["prefixwall_compiled_mpps"]
                                                     / row["prefixwall_compiled_before_mpps"]))
    return row


if __name__ == "__main__":
    sys.exit(main())
