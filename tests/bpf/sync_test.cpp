// Registry sync against the real data plane: what lands in the maps,
// guards that refuse and their overrides, failures that change nothing,
// several sources on one prefix, 304s, and atomic versions under traffic.
#include "base/error.hpp"
#include "harness.hpp"
#include "temp_dir.hpp"
#include "report/load.hpp"
#include "registry/rollback.hpp"
#include "registry/sync.hpp"

#include <doctest/doctest.h>
#include <bpf/bpf.h>
#include <httplib.h>
#include <linux/bpf.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace pw;
using pwtest::Frame;
namespace fs = std::filesystem;

namespace {

// Registry files in a temporary directory.
struct TempFiles : pwtest::TempDir {
    TempFiles() : TempDir("sync") {}
    std::string write(const std::string& name, const std::string& content)
    {
        std::ofstream(path / name) << content;
        return (path / name).string();
    }
};

SourceSpec spec(const std::string& name, const std::string& location, Action a = Action::block)
{
    SourceSpec s;
    s.name = name;
    s.locations = {location};
    s.action = a;
    return s;
}

SyncOptions quiet()
{
    SyncOptions o;
    o.guards.protect_host_addresses = false; // the test host's own addresses are not in play
    return o;
}

int verdict_to(pwtest::Harness& h, const char* dst, const char* src = "203.0.113.250")
{
    ProgramSettings both{Match::both, false, false, false};
    std::string d = dst, s = src;
    if (d.find(':') != std::string::npos)
        return h.run(both, Frame().eth().ipv6("2001:db8:ffff::1", d).udp().bytes());
    return h.run(both, Frame().eth().ipv4(s, d).udp().bytes());
}

// Test runs of two packets, one that must pass and one that must drop,
// in a loop on another thread while versions change (the atomicity
// tests): counts runs and wrong verdicts.
class Traffic {
public:
    Traffic(int prog, const std::vector<uint8_t>& pass, const std::vector<uint8_t>& drop)
        : thread_([this, prog, &pass, &drop] {
              std::vector<uint8_t> out(256);
              while (!stop_) {
                  for (const auto* p : {&pass, &drop}) {
                      LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data(), .data_out = out.data(),
                                  .data_size_in = static_cast<__u32>(p->size()),
                                  .data_size_out = static_cast<__u32>(out.size()), .repeat = 50);
                      if (bpf_prog_test_run_opts(prog, &o) != 0)
                          continue;
                      if (p == &pass && o.retval != XDP_PASS)
                          bad_pass++;
                      if (p == &drop && o.retval != XDP_DROP)
                          bad_drop++;
                      runs++;
                  }
              }
          })
    {
    }
    ~Traffic() { stop(); }
    // Waits until traffic has met the version now in force.
    void meet_version() const
    {
        const long seen = runs.load();
        while (runs.load() < seen + 2)
            std::this_thread::yield();
    }
    void stop()
    {
        stop_ = true;
        if (thread_.joinable())
            thread_.join();
    }
    // Stops it; enough runs met the changes, and none got a wrong verdict.
    void stop_and_check(const char* during)
    {
        stop();
        MESSAGE(runs.load() << " test runs of 50 packets during " << during);
        CHECK(runs.load() > 100);
        CHECK(bad_pass.load() == 0);
        CHECK(bad_drop.load() == 0);
    }

private:
    std::atomic<long> runs{0}, bad_pass{0}, bad_drop{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace

TEST_CASE("sync: a file source lands in the data plane with its references")
{
    pwtest::Harness h;
    TempFiles t;
    auto f = t.write("drop.txt", "; header\n192.0.2.0/24 ; SBL1\n2001:db8:bad::/48 ; SBL2\nbogus ; SBL3\n");
    SyncReport r = sync_source(h.ctl(), spec("drop", f), quiet());
    CHECK(r.applied);
    CHECK(r.format == Format::spamhaus);
    CHECK(r.parsed == 2);
    CHECK(r.rejected == 1);
    CHECK(r.added == 2);
    CHECK(r.v4_newly_blocked == "256");
    CHECK(r.v6_64s_newly_blocked == "65536");
    CHECK(verdict_to(h, "192.0.2.7") == XDP_DROP);
    CHECK(verdict_to(h, "2001:db8:bad::1") == XDP_DROP);
    auto rule = h.ctl().snapshot().find(Prefix::parse("192.0.2.0/24"));
    REQUIRE(rule);
    CHECK(rule->claims.at("drop").comment == "SBL1");

    // The next version: one entry gone, one new; the rest untouched.
    t.write("drop.txt", "192.0.2.0/24 ; SBL1\n198.51.100.0/24 ; SBL4\n2001:db8:bad::/48 ; SBL2\n");
    r = sync_source(h.ctl(), spec("drop", f), quiet());
    CHECK(r.added == 1);
    CHECK(r.removed == 0);
    CHECK(r.unchanged == 2);
    CHECK(r.rules_inserted == 1);
    CHECK(verdict_to(h, "198.51.100.1") == XDP_DROP);
}

TEST_CASE("sync: a failed download changes nothing")
{
    pwtest::Harness h;
    TempFiles t;
    auto f = t.write("a.txt", "192.0.2.0/24\n");
    sync_source(h.ctl(), spec("a", f), quiet());
    CHECK_THROWS_AS(sync_source(h.ctl(), spec("a", (t.path / "gone.txt").string()), quiet()), Error);
    CHECK_THROWS_AS(sync_source(h.ctl(), spec("a", "http://127.0.0.1:1/list"), quiet()), Error);
    CHECK(h.ctl().snapshot().size() == 1);
    CHECK(verdict_to(h, "192.0.2.1") == XDP_DROP);

    SyncOptions strict = quiet();
    strict.strict = true;
    t.write("a.txt", "192.0.2.0/24\n198.51.100.0/24\nnot-a-prefix\n");
    CHECK_THROWS_WITH_AS(sync_source(h.ctl(), spec("a", f), strict),
                         "source 'a': 1 rejected lines with --strict (first: line 3: bad prefix "
                         "'not-a-prefix': not an IPv4 or IPv6 address)",
                         Error);
    CHECK(h.ctl().snapshot().size() == 1);
}

TEST_CASE("sync: the removal guard refuses a shrunken registry unless forced")
{
    pwtest::Harness h;
    TempFiles t;
    std::string full;
    for (int i = 0; i < 10; i++)
        full += "192.0.2." + std::to_string(i) + "\n";
    auto f = t.write("l.txt", full);
    sync_source(h.ctl(), spec("l", f), quiet());
    t.write("l.txt", "192.0.2.0\n192.0.2.1\n192.0.2.2\n"); // 7 of 10 gone
    SyncReport r = sync_source(h.ctl(), spec("l", f), quiet());
    CHECK_FALSE(r.applied);
    CHECK(r.refused == "would remove 7 of 10 entries (70%, more than --max-removal 0.50); --force to apply");
    CHECK(h.ctl().snapshot().size() == 10);
    CHECK(verdict_to(h, "192.0.2.9") == XDP_DROP);

    SyncOptions lenient = quiet();
    lenient.guards.max_removal = 0.8;
    CHECK(sync_source(h.ctl(), spec("l", f), lenient).applied);
    CHECK(h.ctl().snapshot().size() == 3);

    t.write("l.txt", "");
    SyncOptions force = quiet();
    force.guards.force = true;
    CHECK_FALSE(sync_source(h.ctl(), spec("l", f), quiet()).applied);
    CHECK(sync_source(h.ctl(), spec("l", f), force).applied);
    CHECK(h.ctl().snapshot().size() == 0);
    CHECK(verdict_to(h, "192.0.2.1") == XDP_PASS);
}

TEST_CASE("sync: broad, protected and private entries are kept out and reported; flags let them in")
{
    pwtest::Harness h;
    TempFiles t;
    auto f = t.write("l1.netset", "4.0.0.0/7\n10.0.0.0/8\n127.0.0.0/8\n192.0.2.0/24\n198.51.100.0/24\n");
    SyncOptions o = quiet();
    o.guards.protect.push_back(Prefix::parse("198.51.100.64/26"));
    SyncReport r = sync_source(h.ctl(), spec("l1", f), o);
    CHECK(r.applied);
    CHECK(r.refused_by_guard == std::map<std::string, size_t>{{"min-prefix-len", 1}, {"private", 1}, {"protected", 2}});
    CHECK(h.ctl().snapshot().size() == 1);
    CHECK(verdict_to(h, "198.51.100.70") == XDP_PASS);
    CHECK(verdict_to(h, "192.0.2.70") == XDP_DROP);

    o.guards.min_len_v4 = 7;
    o.guards.allow_private = true;
    r = sync_source(h.ctl(), spec("l1", f), o);
    CHECK(r.refused_by_guard == std::map<std::string, size_t>{{"protected", 2}});
    CHECK(h.ctl().snapshot().size() == 3);
    CHECK(r.broadest_added.at(0).to_string() == "4.0.0.0/7");
}

TEST_CASE("sync: a prefix in several sources stays while any source lists it")
{
    pwtest::Harness h;
    TempFiles t;
    auto a = t.write("a.txt", "192.0.2.0/24\n198.51.100.0/24\n");
    auto b = t.write("b.txt", "192.0.2.0/24\n");
    SyncOptions force = quiet();
    force.guards.force = true;
    sync_source(h.ctl(), spec("a", a), force);
    sync_source(h.ctl(), spec("b", b), force);
    CHECK(h.ctl().snapshot().size() == 2);
    CHECK(h.ctl().snapshot().find(Prefix::parse("192.0.2.0/24"))->sources() == std::vector<std::string>{"a", "b"});
    t.write("a.txt", "198.51.100.0/24\n");
    sync_source(h.ctl(), spec("a", a), force);
    CHECK(verdict_to(h, "192.0.2.1") == XDP_DROP); // b still lists it
    t.write("b.txt", "");
    sync_source(h.ctl(), spec("b", b), force);
    CHECK(verdict_to(h, "192.0.2.1") == XDP_PASS);

    // An allow source carves an exception out of a block source.
    auto ok = t.write("ok.txt", "198.51.100.128/25\n");
    sync_source(h.ctl(), spec("ok", ok, Action::allow), force);
    CHECK(verdict_to(h, "198.51.100.1") == XDP_DROP);
    CHECK(verdict_to(h, "198.51.100.200") == XDP_PASS);
}

TEST_CASE("counts never go backwards: kept across a sync, retired into the source when a rule goes")
{
    pwtest::Harness h;
    TempFiles t;
    auto f = t.write("c.txt", "198.51.100.0/24\n203.0.113.0/24\n");
    SyncOptions force = quiet();
    force.guards.force = true;
    sync_source(h.ctl(), spec("c", f), force);
    // Sources outside every rule (test-run frames are never sent).
    for (int i = 0; i < 3; i++)
        CHECK(verdict_to(h, "198.51.100.1", "100.64.0.1") == XDP_DROP);
    CHECK(verdict_to(h, "203.0.113.1", "100.64.0.1") == XDP_DROP);
    auto total = [&](const std::string& source) {
        auto loads = source_loads(h.ctl().snapshot(), read_load(h.dp()), h.ctl().store().load_retired());
        for (const auto& l : loads)
            if (l.source == source)
                return l.counter.packets;
        return uint64_t{999};
    };
    CHECK(total("c") == 4);
    // The registry changes; 203.0.113.0/24 stays and keeps its count.
    t.write("c.txt", "203.0.113.0/24\n192.0.2.0/24\n");
    sync_source(h.ctl(), spec("c", f), force);
    CHECK(h.dp().rule_counters()[h.id("203.0.113.0/24")].packets == 1);
    CHECK(total("c") == 4); // the 3 of the removed rule are retired, not lost
    CHECK(verdict_to(h, "192.0.2.5", "100.64.0.1") == XDP_DROP);
    CHECK(total("c") == 5);
}

TEST_CASE("sync: --dry-run reports and changes nothing")
{
    pwtest::Harness h;
    TempFiles t;
    auto f = t.write("d.txt", "192.0.2.0/24\n");
    SyncOptions o = quiet();
    o.dry_run = true;
    SyncReport r = sync_source(h.ctl(), spec("d", f), o);
    CHECK_FALSE(r.applied);
    CHECK(r.added == 1);
    CHECK(r.v4_newly_blocked == "256");
    CHECK(h.ctl().snapshot().size() == 0);
    CHECK(verdict_to(h, "192.0.2.1") == XDP_PASS);
}

TEST_CASE("sync over HTTP: an unchanged registry costs one 304")
{
    httplib::Server svr;
    std::atomic<int> full{0}, not_modified{0};
    svr.Get("/drop.txt", [&](const httplib::Request& req, httplib::Response& res) {
        if (req.get_header_value("If-None-Match") == "\"v1\"") {
            not_modified++;
            res.status = 304;
            return;
        }
        full++;
        res.set_header("ETag", "\"v1\"");
        res.set_content("192.0.2.0/24 ; SBL1\n", "text/plain");
    });
    int port = svr.bind_to_any_port("127.0.0.1");
    std::thread th([&] { svr.listen_after_bind(); });
    while (!svr.is_running())
        std::this_thread::sleep_for(std::chrono::milliseconds(5));

    pwtest::Harness h;
    auto s = spec("http", "http://127.0.0.1:" + std::to_string(port) + "/drop.txt");
    CHECK(sync_source(h.ctl(), s, quiet()).applied);
    SyncReport r = sync_source(h.ctl(), s, quiet());
    CHECK(r.not_modified);
    CHECK_FALSE(r.applied);
    CHECK(full == 1);
    CHECK(not_modified == 1);
    CHECK(verdict_to(h, "192.0.2.1") == XDP_DROP);
    MESSAGE("304 sync took " << r.seconds * 1000 << " ms");
    svr.stop();
    th.join();
}

TEST_CASE("atomicity: under traffic, every verdict is one that version A or version B gives")
{
    // A: block 192.0.2.0/24 with an allow for 192.0.2.128/25, and block
    //    198.51.100.0/24. B: block 203.0.113.0/24 only.
    // Packet 1, 192.0.2.201 to 192.0.2.200: A passes (allow), B passes. Half of A
    //    (the block without its allow) would drop it.
    // Packet 2, from 198.51.100.1 to 203.0.113.1: A drops (src), B drops
    //    (dst). A state with neither block would pass it.
    pwtest::Harness h;
    TempFiles t;
    // Each version also carries 3,000 filler entries of its own, so that a
    // non-atomic update would leave long half-applied windows to catch.
    auto filler = [](int version) {
        std::string s;
        for (int i = 0; i < 3000; i++)
            s += "100." + std::to_string(64 + version * 16 + i / 256) + "." + std::to_string(i % 256) + ".0/24\n";
        return s;
    };
    const std::string version_a = filler(0) + "192.0.2.0/24\n198.51.100.0/24\n";
    const std::string version_b = filler(1) + "203.0.113.0/24\n";
    auto blocks = t.write("blocks.txt", version_a);
    auto allows = t.write("allows.txt", "192.0.2.128/25\n");
    SyncOptions force = quiet();
    force.guards.force = true;
    force.guards.allow_private = true; // the fillers are in 100.64.0.0/10
    sync_source(h.ctl(), spec("blocks", blocks), force);
    sync_source(h.ctl(), spec("allows", allows, Action::allow), force);

    ProgramSettings both{Match::both, false, false, false};
    int prog = h.prog(both);
    auto p1 = Frame().eth().ipv4("192.0.2.201", "192.0.2.200").udp().bytes();
    auto p2 = Frame().eth().ipv4("198.51.100.1", "203.0.113.1").udp().bytes();
    Traffic traffic(prog, p1, p2);

    // Flip between A and B: each sync of "blocks" replaces all its entries
    // at once, the allow source follows in the same order.
    for (int i = 0; i < 60; i++) {
        bool to_b = i % 2 == 0;
        t.write("blocks.txt", to_b ? version_b : version_a);
        t.write("allows.txt", to_b ? "" : "192.0.2.128/25\n");
        if (to_b) {
            // Leaving A: the exception may only go once its block is gone.
            sync_source(h.ctl(), spec("blocks", blocks), force);
            sync_source(h.ctl(), spec("allows", allows, Action::allow), force);
        } else {
            sync_source(h.ctl(), spec("allows", allows, Action::allow), force);
            sync_source(h.ctl(), spec("blocks", blocks), force);
        }
        // Traffic meets every version (a sync may now be faster than a run).
        traffic.meet_version();
    }
    traffic.stop_and_check("60 version changes");
}

TEST_CASE("atomicity: a rollback across two sources is one version under traffic")
{
    // Versions A (block 192.0.2.0/24 with an allow for 192.0.2.128/25,
    // block 198.51.100.0/24) and B (block 203.0.113.0/24) as two sources'
    // syncs, four versions; then rollbacks flip between the states at
    // version 2 (A) and 4 (B), each one commit that changes both sources
    // (the block and its exception together). Packet 1 passes in A and B
    // but not in half of A; packet 2 drops in A and B but not in neither.
    pwtest::Harness h;
    TempFiles t;
    auto filler = [](int version) {
        std::string s;
        for (int i = 0; i < 3000; i++)
            s += "100." + std::to_string(64 + version * 16 + i / 256) + "." + std::to_string(i % 256) + ".0/24\n";
        return s;
    };
    const std::string version_a = filler(0) + "192.0.2.0/24\n198.51.100.0/24\n";
    const std::string version_b = filler(1) + "203.0.113.0/24\n";
    auto blocks = t.write("blocks.txt", version_a);
    auto allows = t.write("allows.txt", "192.0.2.128/25\n");
    SyncOptions force = quiet();
    force.guards.force = true;
    force.guards.allow_private = true;
    sync_source(h.ctl(), spec("blocks", blocks), force);
    sync_source(h.ctl(), spec("allows", allows, Action::allow), force);
    const uint64_t at_a = h.ctl().view().latest_version();
    t.write("allows.txt", "");
    t.write("blocks.txt", version_b);
    sync_source(h.ctl(), spec("allows", allows, Action::allow), force);
    sync_source(h.ctl(), spec("blocks", blocks), force);
    const uint64_t at_b = h.ctl().view().latest_version();
    REQUIRE(at_b == at_a + 2);

    ProgramSettings both{Match::both, false, false, false};
    int prog = h.prog(both);
    auto p1 = Frame().eth().ipv4("192.0.2.201", "192.0.2.200").udp().bytes();
    auto p2 = Frame().eth().ipv4("198.51.100.1", "203.0.113.1").udp().bytes();
    Traffic traffic(prog, p1, p2);
    RollbackOptions o;
    o.guards = force.guards;
    for (int i = 0; i < 30; i++) {
        for (uint64_t to : {at_a, at_b}) {
            const uint64_t before = h.ctl().view().latest_version();
            o.to = to;
            RollbackReport r = rollback(h.ctl(), o);
            CHECK(r.claims == 3002 + 3001 + 1); // A's blocks, B's blocks, the allow
            CHECK(r.commit.version == before + 1); // one version
            traffic.meet_version();
        }
    }
    traffic.stop_and_check("60 rollbacks");
    // The end state is version B's, exactly.
    CHECK(verdict_to(h, "203.0.113.1", "192.0.2.1") == XDP_DROP);
    CHECK(verdict_to(h, "198.51.100.1", "192.0.2.1") == XDP_PASS);
    CHECK_FALSE(h.ctl().view().find(Prefix::parse("192.0.2.128/25")));
}

TEST_CASE("sync: a source scoped to L4 claims its entries with its scope; a scope of the wrong family is refused")
{
    pwtest::Harness h;
    TempFiles t;
    auto f = t.write("dns.txt", "192.0.2.0/24\n198.51.100.0/24\n");
    SourceSpec s = spec("dns", f);
    s.scope = Scope::parse("udp", "53", "");
    SyncReport r = sync_source(h.ctl(), s, quiet());
    CHECK(r.applied);
    ProgramSettings dst{Match::dst, false, false, false};
    CHECK(h.run(dst, Frame().eth().ipv4("203.0.113.9", "192.0.2.7").udp(40000, 53).bytes()) == XDP_DROP);
    CHECK(h.run(dst, Frame().eth().ipv4("203.0.113.9", "192.0.2.7").udp(40000, 123).bytes()) == XDP_PASS);
    CHECK(h.ctl().view().find(Prefix::parse("192.0.2.0/24"))->claims.at("dns").scope.to_string() == "udp/53");

    // The same registry under a new scope: every claim changes, none is
    // added or removed.
    s.scope = Scope::parse("udp", "123", "");
    r = sync_source(h.ctl(), s, quiet());
    CHECK(r.rules_updated == 2);
    CHECK(r.added == 0);
    CHECK(h.run(dst, Frame().eth().ipv4("203.0.113.9", "192.0.2.7").udp(40000, 53).bytes()) == XDP_PASS);
    CHECK(h.run(dst, Frame().eth().ipv4("203.0.113.9", "192.0.2.7").udp(40000, 123).bytes()) == XDP_DROP);

    // icmp on a list with an IPv6 entry: a one-line error, nothing changed.
    auto mixed = t.write("mixed.txt", "192.0.2.0/24\n2001:db8:bad::/48\n");
    SourceSpec m = spec("dns", mixed);
    m.scope = Scope::parse("icmp", "", "");
    CHECK_THROWS_WITH_AS(sync_source(h.ctl(), m, quiet()), doctest::Contains("icmp is IPv4's"), Error);
    CHECK(h.run(dst, Frame().eth().ipv4("203.0.113.9", "192.0.2.7").udp(40000, 123).bytes()) == XDP_DROP);
    CHECK_FALSE(h.ctl().view().find(Prefix::parse("2001:db8:bad::/48")));
    // Also when every entry is claimed already and only the scope changes.
    m.scope = Scope::parse("udp", "123", "");
    CHECK(sync_source(h.ctl(), m, quiet()).applied);
    m.scope = Scope::parse("icmp", "", "");
    CHECK_THROWS_WITH_AS(sync_source(h.ctl(), m, quiet()), doctest::Contains("icmp is IPv4's"), Error);
    CHECK(h.ctl().view().find(Prefix::parse("2001:db8:bad::/48"))->claims.at("dns").scope.to_string() == "udp/123");
}
