// `prefixwall lookup` (Controller::lookup: a userspace lookup in the
// pinned trie plus the rule's metadata) must say what the data plane does
// with a packet from and to that address.
#include "harness.hpp"

#include <doctest/doctest.h>
#include <linux/bpf.h>

using namespace pw;
using pwtest::Frame;

TEST_CASE("lookup agrees with the data plane, from and to the address")
{
    pwtest::Harness h;
    h.add("192.0.2.0/24", Action::block);
    h.add("192.0.2.128/26", Action::allow);
    h.add("192.0.2.160/27", Action::block);
    h.add("198.51.100.0/24", Action::monitor);
    h.add("2001:db8:bad::/48", Action::block);
    h.add("2001:db8:bad:ff00::/56", Action::allow);
    const ProgramSettings both{Match::both, false, false, true};

    std::vector<std::string> addrs;
    for (int i = 0; i < 256; i++)
        addrs.push_back("192.0.2." + std::to_string(i));
    for (int i = 0; i < 256; i += 7)
        addrs.push_back("198.51.100." + std::to_string(i));
    addrs.push_back("203.0.113.1");
    for (const char* a : {"2001:db8:bad::1", "2001:db8:bad:ff00::1", "2001:db8:bad:ff01::1",
                          "2001:db8:bad:feff:ffff:ffff:ffff:ffff", "2001:db8:badd::1"})
        addrs.push_back(a);

    for (const auto& text : addrs) {
        CAPTURE(text);
        Address a = Address::parse(text);
        LookupResult r = h.ctl().lookup(a);
        std::string other = a.family == Family::v4 ? "203.0.113.250" : "2001:db8:1::1";
        auto mk = [&](const std::string& s, const std::string& d) {
            return a.family == Family::v4 ? Frame().eth().ipv4(s, d).udp().bytes()
                                          : Frame().eth().ipv6(s, d).udp().bytes();
        };
        int want = std::string_view(r.verdict) == "drop" ? XDP_DROP : XDP_PASS;
        CHECK(h.run(both, mk(text, other)) == want);
        CHECK(h.dp().last_match()->src_rule_id == (r.rule ? r.rule->id : 0));
        CHECK(h.run(both, mk(other, text)) == want);
        CHECK(h.dp().last_match()->dst_rule_id == (r.rule ? r.rule->id : 0));
    }
}
