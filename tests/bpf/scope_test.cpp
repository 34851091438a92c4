// Rules scoped to L4 through BPF_PROG_TEST_RUN (each engine): the longest
// prefix whose scope fits the packet wins, a scoped rule the packet does
// not fit falls through to the rule covering it (through a chain of scoped
// rules), later fragments never fit a port scope, IPv6 extension headers
// are walked to the protocol, a scope change takes effect without a new
// rule id, and a chain longer than the data plane follows is refused with
// the rules in force kept. Every verdict is also held to the userspace
// reference (RuleView::longest_match with the packet's L4).
#include "harness.hpp"

#include "base/error.hpp"

#include <doctest/doctest.h>
#include <linux/bpf.h>

using namespace pw;
using pwtest::Frame;

namespace {

const ProgramSettings kDst{Match::dst, false, false, true};

void claim(pwtest::Harness& h, const char* prefix, Action a, const char* proto, const char* ports = "",
           const char* sport = "")
{
    h.ctl().commit({{Prefix::parse(prefix), "test", Claim{a, "", Scope::parse(proto, ports, sport)}}});
}

struct Case {
    const char* what;
    std::vector<uint8_t> frame;
    int verdict;
    const char* rule; // the prefix of the rule that applies ("": none)
    L4 l4;
    const char* dst;
};

} // namespace

TEST_CASE("scoped rules: the longest prefix whose scope fits the packet wins")
{
    pwtest::Harness h;
    claim(h, "192.0.2.0/24", Action::monitor, "");
    claim(h, "192.0.2.0/25", Action::block, "tcp", "443,8000-8080");
    claim(h, "192.0.2.0/26", Action::allow, "udp", "53", "1024-65535");
    claim(h, "203.0.113.0/24", Action::block, "icmp");
    claim(h, "2001:db8::/32", Action::monitor, "");
    claim(h, "2001:db8:1::/48", Action::block, "tcp", "22");

    const char* src4 = "198.51.100.7";
    const char* src6 = "2001:db8:ffff::7";
    std::vector<Case> cases{
        {"tcp 443 inside the /25", Frame().eth().ipv4(src4, "192.0.2.10", 6).tcp(40000, 443, 1, 0, 0x02).bytes(),
         XDP_DROP, "192.0.2.0/25", {6, true, 40000, 443}, "192.0.2.10"},
        {"tcp 8080, in the range", Frame().eth().ipv4(src4, "192.0.2.10", 6).tcp(40000, 8080, 1, 0, 0x02).bytes(),
         XDP_DROP, "192.0.2.0/25", {6, true, 40000, 8080}, "192.0.2.10"},
        {"tcp 80 falls through two scoped rules to the /24",
         Frame().eth().ipv4(src4, "192.0.2.10", 6).tcp(40000, 80, 1, 0, 0x02).bytes(), XDP_PASS, "192.0.2.0/24",
         {6, true, 40000, 80}, "192.0.2.10"},
        {"udp 53 from a high port: the /26 allow",
         Frame().eth().ipv4(src4, "192.0.2.10").udp(5353, 53).bytes(), XDP_PASS, "192.0.2.0/26",
         {17, true, 5353, 53}, "192.0.2.10"},
        {"udp 53 from port 53: not the /26's source range",
         Frame().eth().ipv4(src4, "192.0.2.10").udp(53, 53).bytes(), XDP_PASS, "192.0.2.0/24",
         {17, true, 53, 53}, "192.0.2.10"},
        {"tcp 443 outside the /25", Frame().eth().ipv4(src4, "192.0.2.200", 6).tcp(40000, 443, 1, 0, 0x02).bytes(),
         XDP_PASS, "192.0.2.0/24", {6, true, 40000, 443}, "192.0.2.200"},
        {"a later fragment has no ports",
         Frame().eth().ipv4(src4, "192.0.2.10", 6).fragment(8, false).tcp(40000, 443, 1, 0, 0x02).bytes(),
         XDP_PASS, "192.0.2.0/24", {6, false, 0, 0}, "192.0.2.10"},
        {"icmp to the icmp-scoped /24", Frame().eth().ipv4(src4, "203.0.113.5", 1).icmp(8, 0).bytes(), XDP_DROP,
         "203.0.113.0/24", {1, false, 0, 0}, "203.0.113.5"},
        {"udp there falls through to no rule", Frame().eth().ipv4(src4, "203.0.113.5").udp().bytes(), XDP_PASS, "",
         {17, true, 40000, 9}, "203.0.113.5"},
        {"v6 tcp 22", Frame().eth().ipv6(src6, "2001:db8:1::5", 6).tcp(40000, 22, 1, 0, 0x02).bytes(), XDP_DROP,
         "2001:db8:1::/48", {6, true, 40000, 22}, "2001:db8:1::5"},
        {"v6 tcp 22 behind hop-by-hop and destination options",
         Frame().eth().ipv6(src6, "2001:db8:1::5", 6).ipv6_ext(0, 6).ipv6_ext(60, 6).tcp(40000, 22, 1, 0, 0x02).bytes(),
         XDP_DROP, "2001:db8:1::/48", {6, true, 40000, 22}, "2001:db8:1::5"},
        {"v6 tcp 23 falls to the /32", Frame().eth().ipv6(src6, "2001:db8:1::5", 6).tcp(40000, 23, 1, 0, 0x02).bytes(),
         XDP_PASS, "2001:db8::/32", {6, true, 40000, 23}, "2001:db8:1::5"},
    };
    auto view = h.ctl().view();
    for (const Case& c : cases) {
        CAPTURE(c.what);
        CHECK(h.run(kDst, c.frame) == c.verdict);
        auto last = h.dp().last_match();
        REQUIRE(last);
        CHECK(last->dst_rule_id == (*c.rule ? h.id(c.rule) : 0u));
        auto ref = view.longest_match(Address::parse(c.dst), &c.l4);
        CHECK((ref ? ref->id : 0u) == last->dst_rule_id);
    }

    // A scope change keeps the rule's id and takes effect at once.
    uint32_t id = h.id("192.0.2.0/25");
    claim(h, "192.0.2.0/25", Action::block, "tcp", "80");
    CHECK(h.id("192.0.2.0/25") == id);
    CHECK(h.run(kDst, cases[2].frame) == XDP_DROP);
    CHECK(h.run(kDst, cases[0].frame) == XDP_PASS);

    // Adding an unscoped rule between a scoped rule and its fallback moves
    // the fallback (the region holding the scoped rule is rebuilt).
    claim(h, "192.0.2.0/25", Action::block, "tcp", "443");
    h.add("192.0.2.0/25", Action::block, "other"); // unscoped: wins the prefix
    CHECK(h.run(kDst, cases[2].frame) == XDP_DROP);
    h.ctl().commit({{Prefix::parse("192.0.2.0/25"), "other", std::nullopt}});
    CHECK(h.run(kDst, cases[2].frame) == XDP_PASS);
}

TEST_CASE("scoped rules: a block around, an exception inside, but TCP 443 blocked in the exception")
{
    // The example: 198.51.100.0/24 stands for the /16, its upper
    // /25 for the /24 inside it.
    pwtest::Harness h;
    h.add("198.51.100.0/24", Action::block);
    h.add("198.51.100.128/25", Action::allow, "ops");
    h.ctl().commit({{Prefix::parse("198.51.100.128/25"), "ops-443",
                     Claim{Action::block, "", Scope::parse("tcp", "443", "")}}});
    const char* src = "203.0.113.9";
    auto tcp = [&](const char* dst, uint16_t port) {
        return Frame().eth().ipv4(src, dst, 6).tcp(40000, port, 1, 0, 0x02).bytes();
    };
    CHECK(h.run(kDst, tcp("198.51.100.200", 443)) == XDP_DROP);
    CHECK(h.run(kDst, tcp("198.51.100.200", 80)) == XDP_PASS);
    CHECK(h.dp().last_match()->dst_rule_id == h.id("198.51.100.128/25"));
    CHECK(h.dp().last_match()->outcome == PW_OUTCOME_ALLOWED);
    CHECK(h.run(kDst, Frame().eth().ipv4(src, "198.51.100.200").udp(40000, 443).bytes()) == XDP_PASS);
    CHECK(h.run(kDst, tcp("198.51.100.20", 80)) == XDP_DROP);
    CHECK(h.run(kDst, tcp("198.51.100.20", 443)) == XDP_DROP);
    // Judged by source as well: a reply from the exception's port 443.
    const ProgramSettings src_only{Match::src, false, false, true};
    CHECK(h.run(src_only, Frame().eth().ipv4("198.51.100.200", src, 6).tcp(443, 40000, 1, 1, 0x12).bytes()) ==
          XDP_PASS); // the scope is on the destination port
    auto view = h.ctl().view();
    L4 web{6, true, 40000, 443}, other{6, true, 40000, 80};
    CHECK(h.dp().lookup(Address::parse("198.51.100.200"), &web)->action == PW_ACTION_BLOCK);
    CHECK(h.dp().lookup(Address::parse("198.51.100.200"), &other)->action == PW_ACTION_ALLOW);
    CHECK(view.longest_match(Address::parse("198.51.100.200"), &other)->id == h.id("198.51.100.128/25"));
}

TEST_CASE("scoped rules: a chain longer than the data plane follows is refused, the rules in force kept")
{
    pwtest::Harness h;
    claim(h, "192.0.2.0/24", Action::block, "");
    const char* chain[] = {"192.0.2.0/25", "192.0.2.0/26", "192.0.2.0/27", "192.0.2.0/28"};
    for (const char* p : chain)
        claim(h, p, Action::block, "tcp", "443");
    auto frame = Frame().eth().ipv4("198.51.100.7", "192.0.2.1", 6).tcp(40000, 80, 1, 0, 0x02).bytes();
    CHECK(h.run(kDst, frame) == XDP_DROP); // four scoped rules, then the /24
    CHECK_THROWS_WITH_AS(claim(h, "192.0.2.0/29", Action::allow, "tcp", "443"),
                         doctest::Contains("rules scoped to L4 cover one another"), Error);
    CHECK_FALSE(h.ctl().view().find(Prefix::parse("192.0.2.0/29")));
    CHECK(h.run(kDst, frame) == XDP_DROP);
}
