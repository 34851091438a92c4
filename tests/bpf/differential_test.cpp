// The data plane against a straightforward userspace longest-prefix
// reference (RuleSet::longest_match): 100,000 random addresses over a
// random rule set of nested prefixes of both families must get the same
// rule id and verdict from BPF_PROG_TEST_RUN.
#include "harness.hpp"

#include <doctest/doctest.h>
#include <linux/bpf.h>

#include <random>

using namespace pw;
using pwtest::Frame;

namespace {

Address random_inside(std::mt19937_64& rng, const Prefix& p)
{
    Address a{p.family, p.bytes};
    for (unsigned i = 0; i < addr_bytes(p.family); i++)
        a.bytes[i] |= static_cast<uint8_t>(rng()) & static_cast<uint8_t>(p.last().bytes[i] & ~p.bytes[i]);
    return a;
}

Address random_address(std::mt19937_64& rng, Family f)
{
    Address a;
    a.family = f;
    for (unsigned i = 0; i < addr_bytes(f); i++)
        a.bytes[i] = static_cast<uint8_t>(rng());
    return a;
}

// Nested prefixes: each new rule is, half the time, carved inside an
// existing one, so the set has deep chains of more-specific rules.
RuleSet random_rules(std::mt19937_64& rng, size_t per_family)
{
    RuleSet rs;
    const Action actions[] = {Action::block, Action::block, Action::allow, Action::monitor};
    for (Family f : {Family::v4, Family::v6}) {
        std::vector<Prefix> made;
        unsigned maxl = max_len(f);
        while (made.size() < per_family) {
            Prefix p;
            if (!made.empty() && rng() % 2) {
                const Prefix& parent = made[rng() % made.size()];
                if (parent.len >= maxl)
                    continue;
                unsigned len = parent.len + 1 + static_cast<unsigned>(rng() % std::min(16u, maxl - parent.len));
                p = Prefix::of(random_inside(rng, parent), len);
            } else {
                unsigned len = f == Family::v4 ? 8 + rng() % 25 : 16 + rng() % 113;
                p = Prefix::of(random_address(rng, f), len);
            }
            if (rs.find(p))
                continue;
            rs.add(p, "random", Claim{actions[rng() % 4], ""});
            made.push_back(p);
        }
    }
    return rs;
}

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
    h.commit(rules);
    const ProgramSettings rec{Match::src, false, false, true};

    std::vector<Prefix> prefixes;
    for (const auto& [p, _] : rules.rules())
        prefixes.push_back(p);

    size_t mismatches = 0, hits = 0;
    for (int i = 0; i < 100000; i++) {
        Family f = i % 2 ? Family::v6 : Family::v4;
        Address a;
        switch (i % 4) {
        case 0:
        case 1: a = random_address(rng, f); break;
        case 2: {
            const Prefix& p = prefixes[rng() % prefixes.size()];
            a = random_inside(rng, p);
            break;
        }
        default: {
            // Edges: first and last address of a prefix and their neighbours.
            const Prefix& p = prefixes[rng() % prefixes.size()];
            a = rng() % 2 ? p.first() : p.last();
            int step = static_cast<int>(rng() % 3) - 1;
            for (int b = static_cast<int>(addr_bytes(a.family)) - 1; step && b >= 0; b--) {
                int v = a.bytes[b] + step;
                a.bytes[b] = static_cast<uint8_t>(v);
                if (v >= 0 && v <= 255)
                    break;
            }
        }
        }
        const Rule* ref = rules.longest_match(a);
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
