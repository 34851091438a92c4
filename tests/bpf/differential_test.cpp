// The data plane against a straightforward userspace longest-prefix
// reference (RuleSet::longest_match): 100,000 random addresses over a
// random rule set of nested prefixes of both families must get the same
// rule id and verdict from BPF_PROG_TEST_RUN.
#include "harness.hpp"
#include "random_rules.hpp"

#include <doctest/doctest.h>
#include <linux/bpf.h>

#include <random>

using namespace pw;
using pwtest::Frame;
using namespace pwtest;

namespace {

std::vector<uint8_t> frame_from(const Address& src)
{
    // Match is src-only in this test, so the destination never matters.
    if (src.family == Family::v4)
        return Frame().eth().ipv4(src.to_string(), "203.0.113.1").udp().bytes();
    return Frame().eth().ipv6(src.to_string(), "2001:db8::1").udp().bytes();
}

} // namespace

TEST_CASE("differential: data plane == userspace reference on 100,000 addresses")
{
    std::mt19937_64 rng(20261124);
    pwtest::Harness h;
    RuleSet rules = random_rules(rng, 2000);
    rules = h.commit(rules);
    const ProgramSettings rec{Match::src, false, false, true};

    std::vector<Prefix> prefixes;
    for (const auto& [p, _] : rules.rules())
        prefixes.push_back(p);

    size_t mismatches = 0, hits = 0;
    for (int i = 0; i < 100000; i++) {
        Family f = i % 2 ? Family::v6 : Family::v4;
        Address a = test_address(rng, prefixes, f, i);
        const Rule* ref = rules.lookup(a);
        int verdict = h.run(rec, frame_from(a));
        auto last = h.dp().last_match();
        REQUIRE(last);
        uint32_t want_id = ref ? ref->id : 0;
        int want_verdict = ref && ref->action() == Action::block ? XDP_DROP : XDP_PASS;
        hits += ref != nullptr;
        if (last->src_rule_id != want_id || verdict != want_verdict) {
            if (++mismatches <= 5)
                FAIL_CHECK(a.to_string() << ": data plane rule " << last->src_rule_id
                                         << " verdict " << verdict << ", reference rule "
                                         << want_id << " verdict " << want_verdict);
        }
    }
    CHECK(mismatches == 0);
    CHECK(hits > 40000); // the test really exercises matches
}
