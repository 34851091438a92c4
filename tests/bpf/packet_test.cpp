// Crafted frames through BPF_PROG_TEST_RUN: a table of frame -> expected
// verdict, outcome in the global counters, and which rules counted it.
#include "base/error.hpp"
#include "harness.hpp"

#include <doctest/doctest.h>
#include <linux/bpf.h>

using namespace pw;
using pwtest::Frame;

namespace {

constexpr ProgramSettings kBoth{Match::both, false, false, false};
constexpr ProgramSettings kSrc{Match::src, false, false, false};
constexpr ProgramSettings kDst{Match::dst, false, false, false};
constexpr ProgramSettings kDryRun{Match::both, true, false, false};
constexpr ProgramSettings kMalformedDrop{Match::both, false, true, false};

const char* const kBlock4 = "192.0.2.0/24";
const char* const kAllow4 = "192.0.2.128/25";
const char* const kMonitor4 = "198.51.100.0/24";
const char* const kBlock6 = "2001:db8:bad::/48";
const char* const kAllow6 = "2001:db8:bad:1::/64";

struct Case {
    const char* name;
    Frame frame;
    ProgramSettings settings;
    int verdict;
    unsigned family;
    unsigned outcome;
    std::vector<const char*> counted; // rules whose packet count rises by 1
};

Frame v4(const char* s, const char* d) { return Frame().eth().ipv4(s, d).udp(); }
Frame v6(const char* s, const char* d) { return Frame().eth().ipv6(s, d).udp(); }

std::vector<Case> cases()
{
    const char* clean4 = "203.0.113.5";
    const char* clean6 = "2001:db8:0:1::5";
    return {
        {"v4 dst hit", v4(clean4, "192.0.2.9"), kBoth, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, {kBlock4}},
        {"v4 src hit", v4("192.0.2.9", clean4), kBoth, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, {kBlock4}},
        {"v4 miss", v4(clean4, "203.0.113.6"), kBoth, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_PASSED, {}},
        {"v6 dst hit", v6(clean6, "2001:db8:bad:2::1"), kBoth, XDP_DROP, PW_FAMILY_IPV6, PW_OUTCOME_DROPPED, {kBlock6}},
        {"v6 src hit", v6("2001:db8:bad::9", clean6), kBoth, XDP_DROP, PW_FAMILY_IPV6, PW_OUTCOME_DROPPED, {kBlock6}},
        {"v6 miss", v6(clean6, "2001:db8:0:2::1"), kBoth, XDP_PASS, PW_FAMILY_IPV6, PW_OUTCOME_PASSED, {}},
        {"match src ignores a blocked dst", v4(clean4, "192.0.2.9"), kSrc, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_PASSED, {}},
        {"match src judges the src", v4("192.0.2.9", clean4), kSrc, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, {kBlock4}},
        {"match dst ignores a blocked src", v6("2001:db8:bad::9", clean6), kDst, XDP_PASS, PW_FAMILY_IPV6, PW_OUTCOME_PASSED, {}},
        {"match dst judges the dst", v6(clean6, "2001:db8:bad::9"), kDst, XDP_DROP, PW_FAMILY_IPV6, PW_OUTCOME_DROPPED, {kBlock6}},
        {"v4 allow inside block", v4(clean4, "192.0.2.200"), kBoth, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_ALLOWED, {kAllow4}},
        {"v6 allow inside block", v6("2001:db8:bad:1::7", clean6), kBoth, XDP_PASS, PW_FAMILY_IPV6, PW_OUTCOME_ALLOWED, {kAllow6}},
        {"allowed src, blocked dst: dropped, both counted", v4("192.0.2.200", "192.0.2.9"), kBoth, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, {kAllow4, kBlock4}},
        {"src and dst in one rule: counted once", v4("192.0.2.1", "192.0.2.2"), kBoth, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, {kBlock4}},
        {"monitor passes, counted", v4(clean4, "198.51.100.9"), kBoth, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_MONITORED, {kMonitor4}},
        {"dry-run turns block into monitor", v4(clean4, "192.0.2.9"), kDryRun, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_MONITORED, {kBlock4}},
        {"dry-run v6", v6(clean6, "2001:db8:bad::1"), kDryRun, XDP_PASS, PW_FAMILY_IPV6, PW_OUTCOME_MONITORED, {kBlock6}},
        {"one 802.1Q tag", Frame().eth().vlan(0x8100, 10).ipv4(clean4, "192.0.2.9").udp(), kBoth, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, {kBlock4}},
        {"QinQ 802.1ad + 802.1Q", Frame().eth().vlan(0x88A8, 100).vlan(0x8100, 10).ipv6(clean6, "2001:db8:bad::1").udp(), kBoth, XDP_DROP, PW_FAMILY_IPV6, PW_OUTCOME_DROPPED, {kBlock6}},
        {"two 802.1Q tags", Frame().eth().vlan(0x8100, 1).vlan(0x8100, 2).ipv4(clean4, "203.0.113.9").udp(), kBoth, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_PASSED, {}},
        {"three tags are beyond the parser: non-IP", Frame().eth().vlan(0x88A8, 1).vlan(0x8100, 2).vlan(0x8100, 3).ipv4(clean4, "192.0.2.9").udp(), kBoth, XDP_PASS, PW_FAMILY_OTHER, PW_OUTCOME_NON_IP, {}},
        {"IPv4 with options (IHL 8)", Frame().eth().ipv4(clean4, "192.0.2.9", 17, 3).udp(), kBoth, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, {kBlock4}},
        {"IPv4 with maximal options (IHL 15)", Frame().eth().ipv4("192.0.2.9", clean4, 17, 10).udp(), kBoth, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, {kBlock4}},
        {"first IPv4 fragment", Frame().eth().ipv4(clean4, "192.0.2.9").fragment(0, true).udp(), kBoth, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, {kBlock4}},
        {"non-first IPv4 fragment", Frame().eth().ipv4(clean4, "192.0.2.9").fragment(185, false).raw(std::vector<uint8_t>(64, 0x55)), kBoth, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, {kBlock4}},
        {"IPv6 with hop-by-hop, routing and fragment headers", Frame().eth().ipv6(clean6, "2001:db8:bad::1", 0).ipv6_ext(0, 43).ipv6_ext(43, 44).ipv6_ext(44, 17).udp(), kBoth, XDP_DROP, PW_FAMILY_IPV6, PW_OUTCOME_DROPPED, {kBlock6}},
        {"ARP passes as non-IP", Frame().eth().arp(), kBoth, XDP_PASS, PW_FAMILY_OTHER, PW_OUTCOME_NON_IP, {}},
        {"LLDP passes as non-IP", Frame().eth(0x88CC).raw(std::vector<uint8_t>(46, 0)), kBoth, XDP_PASS, PW_FAMILY_OTHER, PW_OUTCOME_NON_IP, {}},
        {"truncated VLAN tag", Frame().eth(0x8100).raw({0x00}), kBoth, XDP_PASS, PW_FAMILY_OTHER, PW_OUTCOME_MALFORMED, {}},
        {"truncated second VLAN tag", Frame().eth(0x88A8).raw({0x00, 0x05, 0x81, 0x00, 0x00}), kBoth, XDP_PASS, PW_FAMILY_OTHER, PW_OUTCOME_MALFORMED, {}},
        {"truncated VLAN, --malformed drop", Frame().eth(0x8100).raw({0x00}), kMalformedDrop, XDP_DROP, PW_FAMILY_OTHER, PW_OUTCOME_MALFORMED, {}},
        {"truncated IPv4 header", Frame().eth().ipv4(clean4, "192.0.2.9").cut(14 + 19), kBoth, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_MALFORMED, {}},
        {"truncated IPv4 options", Frame().eth().ipv4(clean4, "192.0.2.9", 17, 4).cut(14 + 30), kBoth, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_MALFORMED, {}},
        {"IPv4 IHL below 5", Frame().eth().ipv4(clean4, "192.0.2.9").udp().ihl(4), kBoth, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_MALFORMED, {}},
        {"IPv4 total length beyond the frame", Frame().eth().ipv4(clean4, "192.0.2.9").udp().ipv4_total_length(1500), kBoth, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_MALFORMED, {}},
        {"IPv4 total length below the header", Frame().eth().ipv4(clean4, "192.0.2.9").udp().ipv4_total_length(12), kBoth, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_MALFORMED, {}},
        {"IPv4 header with version 6", Frame().eth(0x0800).raw(Frame().ipv6(clean6, clean6).bytes()), kBoth, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_MALFORMED, {}},
        {"malformed IPv4, --malformed drop", Frame().eth().ipv4(clean4, clean4).cut(20), kMalformedDrop, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_MALFORMED, {}},
        {"truncated IPv6 header", Frame().eth().ipv6(clean6, "2001:db8:bad::1").cut(14 + 39), kBoth, XDP_PASS, PW_FAMILY_IPV6, PW_OUTCOME_MALFORMED, {}},
        {"IPv6 payload length beyond the frame", Frame().eth().ipv6(clean6, "2001:db8:bad::1").udp().ipv6_payload_length(900), kBoth, XDP_PASS, PW_FAMILY_IPV6, PW_OUTCOME_MALFORMED, {}},
        {"Ethernet padding after IPv4 is fine", Frame().eth().ipv4(clean4, "192.0.2.9").udp(1, 2, 0).raw(std::vector<uint8_t>(18, 0)), kBoth, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, {kBlock4}},
    };
}

} // namespace

TEST_CASE("packet table: verdicts and counter deltas")
{
    pwtest::Harness h;
    h.add(kBlock4, Action::block);
    h.add(kAllow4, Action::allow);
    h.add(kMonitor4, Action::monitor);
    h.add(kBlock6, Action::block);
    h.add(kAllow6, Action::allow);

    for (auto& c : cases()) {
        std::string name = c.name;
        CAPTURE(name);
        auto frame = c.frame.bytes();
        auto g0 = h.dp().global_counters();
        auto r0 = h.dp().rule_counters();
        int verdict = h.run(c.settings, frame);
        auto g1 = h.dp().global_counters();
        auto r1 = h.dp().rule_counters();

        CHECK(verdict == c.verdict);
        for (unsigned i = 0; i < PW_GLOBAL_COUNTERS; i++) {
            bool expected = i == global_index(c.family, c.outcome);
            CAPTURE(i);
            CHECK(g1[i].packets - g0[i].packets == (expected ? 1u : 0u));
            CHECK(g1[i].bytes - g0[i].bytes == (expected ? frame.size() : 0u));
        }
        for (const char* p : {kBlock4, kAllow4, kMonitor4, kBlock6, kAllow6}) {
            std::string rule = p;
            CAPTURE(rule);
            uint32_t id = h.id(p);
            bool expected = std::find_if(c.counted.begin(), c.counted.end(), [&](const char* x) {
                                return std::string(x) == p;
                            }) != c.counted.end();
            CHECK(r1[id].packets - r0[id].packets == (expected ? 1u : 0u));
            CHECK(r1[id].bytes - r0[id].bytes == (expected ? frame.size() : 0u));
        }
        CHECK(r1[0].packets == r0[0].packets); // nothing overflowed
    }
}

TEST_CASE("a frame shorter than Ethernet is refused by the kernel or counted malformed")
{
    pwtest::Harness h;
    auto g0 = h.dp().global_counters();
    int verdict = h.run(kBoth, std::vector<uint8_t>(10, 0));
    auto g1 = h.dp().global_counters();
    unsigned idx = global_index(PW_FAMILY_OTHER, PW_OUTCOME_MALFORMED);
    if (verdict == -EINVAL) {
        // BPF_PROG_TEST_RUN requires a whole Ethernet header for XDP.
        MESSAGE("kernel refuses XDP test frames under 14 bytes; the parser's check is still exercised by truncated VLAN tags");
        CHECK(g1[idx].packets == g0[idx].packets);
    } else {
        CHECK(verdict == XDP_PASS);
        CHECK(g1[idx].packets == g0[idx].packets + 1);
    }
}

TEST_CASE("counters survive a rule update and slots return when a rule goes")
{
    pwtest::Harness h;
    h.add("192.0.2.0/24", Action::monitor);
    auto frame = Frame().eth().ipv4("203.0.113.1", "192.0.2.1").udp().bytes();
    uint32_t id = h.id("192.0.2.0/24");
    for (int i = 0; i < 3; i++)
        CHECK(h.run(kBoth, frame) == XDP_PASS);
    CHECK(h.dp().rule_counters()[id].packets == 3);

    // Turning the monitor into a block keeps the rule's counters.
    h.add("192.0.2.0/24", Action::block, "court");
    CHECK(h.id("192.0.2.0/24") == id);
    CHECK(h.run(kBoth, frame) == XDP_DROP);
    CHECK(h.dp().rule_counters()[id].packets == 4);

    // Deleting the rule frees its slot: a new rule starts from zero.
    RuleSet empty;
    empty.set_next_id(h.ctl().snapshot().next_id());
    h.commit(empty);
    CHECK(h.dp().rule_counters().count(id) == 0);
    h.add("192.0.2.0/24", Action::block);
    uint32_t id2 = h.id("192.0.2.0/24");
    CHECK(id2 != id);
    CHECK(h.run(kBoth, frame) == XDP_DROP);
    CHECK(h.dp().rule_counters()[id2].packets == 1);
}

TEST_CASE("when every counter slot is taken, hits land in the overflow slot")
{
    pwtest::Harness h; // 1024 counter slots: 1023 usable
    RuleSet next;
    for (int i = 0; i < 1100; i++) {
        std::string p = "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24";
        next.add(Prefix::parse(p), "test", Claim{Action::block, ""});
    }
    h.commit(next);
    for (int i = 0; i < 1100; i++) {
        std::string a = "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1";
        CHECK(h.run(kBoth, Frame().eth().ipv4("203.0.113.1", a).udp().bytes()) == XDP_DROP);
    }
    auto rc = h.dp().rule_counters();
    uint64_t attributed = 0;
    rc.for_each([&](uint32_t id, const Counter& c) {
        if (id != 0)
            attributed += c.packets;
    });
    CHECK(attributed == 1023);
    CHECK(rc[0].packets == 1100 - 1023);
    auto g = h.dp().global_counters();
    CHECK(g[global_index(PW_FAMILY_IPV4, PW_OUTCOME_DROPPED)].packets == 1100);
}

TEST_CASE("a full map refuses the change and keeps the rules in force")
{
    pwtest::Harness h; // capacity 65536 per family
    h.add("192.0.2.0/24", Action::block);
    RuleSet next = h.ctl().snapshot();
    for (uint32_t i = 0; i < 65536; i++) {
        Address a;
        a.bytes[0] = 10;
        a.bytes[1] = static_cast<uint8_t>(i >> 8);
        a.bytes[2] = static_cast<uint8_t>(i);
        next.add(Prefix::of(a, 24), "bulk", Claim{Action::block, ""});
    }
    CHECK_THROWS_WITH_AS(h.commit(next),
                         "rules_v4 would be over its limit: 65537 rules, capacity 65536 "
                         "(--max-rules-v4 when the maps are created); nothing changed",
                         Error);
    CHECK(h.ctl().snapshot().size() == 1);
    if (pwtest::engine == Engine::trie)
        CHECK(h.dp().entries(Family::v4).size() == 1);
    CHECK(h.dp().compiled_table(Family::v4)[PW_CL_H_RULES] == 1);
    CHECK(h.run(kBoth, Frame().eth().ipv4("203.0.113.1", "192.0.2.1").udp().bytes()) == XDP_DROP);
}

TEST_CASE("a compiled table over its room refuses the change and keeps the rules in force")
{
    Capacity cap{1u << 17, 1u << 16, 1024};
    cap.table_mb_v4 = 2; // 262,144 words: 131,072 direct, the rest for nodes and tails
    pwtest::Harness h(cap);
    h.add("192.0.2.0/24", Action::block);
    RuleSet next = h.ctl().snapshot();
    for (uint32_t i = 0; i < 40000; i++) {
        // Lone /32s in distinct /16s... each is one 4-word tail at least.
        Address a;
        a.bytes = {static_cast<uint8_t>(11 + i % 200), static_cast<uint8_t>(i / 200), 0, 1};
        next.add(Prefix::of(a, 32), "bulk", Claim{Action::block, ""});
    }
    for (uint32_t i = 0; i < 40000; i++) {
        Address a;
        a.bytes = {static_cast<uint8_t>(11 + i % 200), static_cast<uint8_t>(i / 200), 1, 1};
        next.add(Prefix::of(a, 32), "bulk", Claim{Action::block, ""});
    }
    CHECK_THROWS_WITH_AS(h.commit(next),
                         doctest::Contains("MiB (--table-mb-v4 when the maps are created); nothing changed"),
                         Error);
    CHECK(h.ctl().snapshot().size() == 1);
    CHECK(h.dp().compiled_table(Family::v4)[PW_CL_H_RULES] == 1);
    CHECK(h.run(kBoth, Frame().eth().ipv4("203.0.113.1", "192.0.2.1").udp().bytes()) == XDP_DROP);
    CHECK(h.run(kBoth, Frame().eth().ipv4("203.0.113.1", "11.0.0.1").udp().bytes()) == XDP_PASS);
    // The result entries taken for the refused rules were given back.
    size_t used = 0;
    auto results = h.dp().compiled_results();
    for (size_t i = 1; i < results.size(); i++) // word 0 is the generation
        used += results[i] != 0;
    CHECK(used == 1);
}
