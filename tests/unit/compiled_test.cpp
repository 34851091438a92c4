// The compiled engine's copy builder (the verdict and rule sections),
// walked in userspace, against the rule set's reference longest match:
// random nested rules of both families, and hand-picked shapes (a /0, /16
// edges, lone /32s and /128s stored as tails, deep IPv6 chains, runs of
// equal leaves, siblings of one action merged in the verdict).
#include "base/error.hpp"
#include "kernel/compiled_copy.hpp"
#include "random_rules.hpp"

#include "prefixwall/abi.h"

#include <doctest/doctest.h>

#include <unordered_map>

using namespace pw;

namespace {

// A published table and its result words: rule i (in rule order) gets
// result index i + 1 (in reverse order, so indices differ from ids).
struct Published {
    std::vector<uint64_t> words, results;
    std::optional<CompiledMatch> lookup(const Address& a) const { return compiled_lookup(words, results, a); }
    std::optional<CompiledMatch> lookup(const char* a) const { return lookup(Address::parse(a)); }
    uint8_t verdict(const Address& a) const
    {
        auto v = compiled_verdict(words, a);
        REQUIRE(v);
        return *v;
    }
};

Published publish(const RuleSet& rules, Family f, uint32_t slot = 0)
{
    Published p;
    std::unordered_map<uint32_t, uint32_t> index;
    p.results.assign(rules.size() + 1, 0);
    uint32_t next = static_cast<uint32_t>(rules.size());
    for (const auto& [_, r] : rules.rules()) {
        index[r.id] = next;
        p.results[next--] = r.id | uint64_t(slot) << 32;
    }
    CompiledCopy t = CompiledCopy::build(rules, f, [&](const RuleEntry& r) { return index.at(r.id); });
    p.words.resize(t.words());
    t.write(p.words, rules.count(f));
    return p;
}

uint32_t compiled_id(const Published& p, const char* addr)
{
    auto m = p.lookup(addr);
    return m ? m->rule_id : 0;
}

uint32_t ref_id(const RuleSet& rs, const char* addr)
{
    auto r = rs.longest_match(Address::parse(addr));
    return r ? r->id : 0;
}

uint8_t ref_action(const RuleSet& rs, const Address& a)
{
    auto r = rs.longest_match(a);
    return r ? static_cast<uint8_t>(r->action()) : 0;
}

} // namespace

TEST_CASE("compiled table: hand-picked shapes agree with the reference")
{
    RuleSet rs;
    const char* rules[] = {"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32",
                           "10.1.2.128/25", "192.0.2.7/32", "198.51.100.0/22", "198.51.100.0/31",
                           "203.0.113.64/26", "::/0", "2001:db8::/32", "2001:db8::1/128",
                           "2001:db8:0:1::/64", "2001:db8:0:1::ff/128", "2001:db8:0:1::fe/127",
                           "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe/128"};
    Action actions[] = {Action::monitor, Action::block, Action::allow, Action::block};
    int i = 0;
    for (const char* p : rules)
        rs.add(Prefix::parse(p), "t", Claim{actions[i++ % 4], ""});
    auto w4 = publish(rs, Family::v4), w6 = publish(rs, Family::v6);
    const char* probes[] = {"0.0.0.0", "9.255.255.255", "10.0.0.0", "10.1.0.0", "10.1.2.2", "10.1.2.3",
                            "10.1.2.4", "10.1.2.127", "10.1.2.128", "10.1.2.255", "10.1.3.0",
                            "10.255.255.255", "11.0.0.0", "192.0.2.6", "192.0.2.7", "192.0.2.8",
                            "198.51.100.0", "198.51.100.1", "198.51.100.2", "198.51.103.255",
                            "198.51.104.0", "203.0.113.63", "203.0.113.64", "203.0.113.127",
                            "203.0.113.128", "255.255.255.255"};
    for (const char* a : probes) {
        CHECK_MESSAGE(compiled_id(w4, a) == ref_id(rs, a), a);
        CHECK_MESSAGE(w4.verdict(Address::parse(a)) == ref_action(rs, Address::parse(a)), a);
    }
    const char* probes6[] = {"::", "2001:db7:ffff::", "2001:db8::", "2001:db8::1", "2001:db8::2",
                             "2001:db8:0:1::", "2001:db8:0:1::fd", "2001:db8:0:1::fe",
                             "2001:db8:0:1::ff", "2001:db8:0:1:ffff::", "2001:db8:0:2::",
                             "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe",
                             "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::", "ffff::1"};
    for (const char* a : probes6) {
        CHECK_MESSAGE(compiled_id(w6, a) == ref_id(rs, a), a);
        CHECK_MESSAGE(w6.verdict(Address::parse(a)) == ref_action(rs, Address::parse(a)), a);
    }
    // The action comes with the rule.
    auto m = w4.lookup("10.1.2.3");
    REQUIRE(m);
    CHECK(m->action == static_cast<uint8_t>(rs.find(Prefix::parse("10.1.2.3/32"))->action()));
}

TEST_CASE("compiled table: an empty rule set matches nothing")
{
    RuleSet rs;
    CHECK_FALSE(publish(rs, Family::v4).lookup("192.0.2.1"));
    CHECK_FALSE(publish(rs, Family::v6).lookup("2001:db8::1"));
    // An unpublished (zeroed) copy matches nothing either.
    std::vector<uint64_t> zero(64), results(4);
    CHECK_FALSE(compiled_lookup(zero, results, Address::parse("192.0.2.1")));
}

TEST_CASE("compiled table: a match reads the rule's result word")
{
    RuleSet rs;
    rs.add(Prefix::parse("192.0.2.0/24"), "t", Claim{});
    auto m = publish(rs, Family::v4, 7).lookup("192.0.2.1");
    REQUIRE(m);
    CHECK(m->counter_slot == 7);
    CHECK(m->rule_id == rs.find(Prefix::parse("192.0.2.0/24"))->id);
}

TEST_CASE("compiled table: a rule without a result index is refused")
{
    RuleSet rs;
    rs.add(Prefix::parse("192.0.2.0/24"), "t", Claim{});
    CHECK_THROWS(CompiledCopy::build(rs, Family::v4, [](const RuleEntry&) { return 0u; }));
}

TEST_CASE("compiled table: a buffer too small is refused")
{
    RuleSet rs;
    rs.add(Prefix::parse("192.0.2.0/24"), "t", Claim{});
    CompiledCopy t = CompiledCopy::build(rs, Family::v4, [](const RuleEntry&) { return 1u; });
    std::vector<uint64_t> small(t.words() - 1);
    CHECK_THROWS(t.write(small, 1));
}

TEST_CASE("compiled table: 400,000 addresses over random nested rules agree with the reference")
{
    std::mt19937_64 rng(20261125);
    RuleSet rules = pwtest::random_rules(rng, 20000, true);
    std::vector<Prefix> prefixes[2];
    for (const auto& [p, _] : rules.rules())
        prefixes[p.family == Family::v4 ? 0 : 1].push_back(p);
    Published w[2] = {publish(rules, Family::v4), publish(rules, Family::v6)};
    size_t mismatches = 0, hits = 0;
    for (int i = 0; i < 400000; i++) {
        Family f = i % 2 ? Family::v6 : Family::v4;
        int fi = f == Family::v4 ? 0 : 1;
        Address a = pwtest::test_address(rng, prefixes[fi], f, i / 2);
        auto ref = rules.longest_match(a);
        auto got = w[fi].lookup(a);
        uint32_t want = ref ? ref->id : 0, have = got ? got->rule_id : 0;
        hits += ref.has_value();
        if (want != have || (ref && got->action != static_cast<uint8_t>(ref->action())) ||
            w[fi].verdict(a) != ref_action(rules, a)) {
            if (++mismatches <= 5)
                FAIL_CHECK(a.to_string() << ": compiled rule " << have << ", reference " << want);
        }
    }
    CHECK(mismatches == 0);
    CHECK(hits > 150000);
}

TEST_CASE("compiled table: 100 patched change batches equal a full rebuild over 200,000 addresses each")
{
    // The table is patched in place (the regions each batch touches, into
    // the free room) and, when a patch does not fit, rebuilt whole, as the
    // controller does; after every batch it must answer exactly as a table
    // built from scratch. Result index = rule id.
    std::mt19937_64 rng(20261201);
    RuleSet rules = pwtest::random_rules(rng, 20000, true);
    auto index = [](const RuleEntry& r) { return r.id; };
    const Action actions[] = {Action::block, Action::allow, Action::monitor};
    std::vector<uint64_t> live[2], fresh;
    std::vector<uint64_t> results(1u << 20);
    for (uint32_t i = 0; i < results.size(); i++)
        results[i] = i;
    for (Family f : {Family::v4, Family::v6}) {
        live[fam_index(f)].assign(1u << 21, 0);
        CompiledCopy::build(rules, f, index).write(live[fam_index(f)], rules.count(f));
    }
    size_t patched = 0, rebuilt = 0, mismatches = 0;
    for (int batch = 0; batch < 100; batch++) {
        std::vector<Prefix> all;
        for (const auto& [p, _] : rules.rules())
            all.push_back(p);
        std::vector<Prefix> changed;
        const int n = 1 + static_cast<int>(rng() % (batch % 10 == 9 ? 2000 : 40));
        for (int i = 0; i < n; i++) {
            const Prefix& some = all[rng() % all.size()];
            switch (rng() % 4) {
            case 0: // a new rule inside, around or beside an existing one
            case 1: {
                unsigned maxl = max_len(some.family);
                unsigned len = static_cast<unsigned>(rng() % (maxl + 1));
                if (rng() % 8 == 0)
                    len = static_cast<unsigned>(rng() % 19); // a short one: a direct range
                Prefix p = Prefix::of(pwtest::random_inside(rng, some), len);
                rules.add(p, "random", Claim{actions[rng() % 3], ""});
                changed.push_back(p);
                break;
            }
            case 2:
                rules.remove(some, "");
                changed.push_back(some);
                break;
            default:
                rules.add(some, "random", Claim{actions[rng() % 3], ""});
                changed.push_back(some);
            }
        }
        for (Family f : {Family::v4, Family::v6}) {
            auto& words = live[fam_index(f)];
            auto patch = CompiledCopy::patch(rules, f, changed, CompiledCopy::origin_of(words), index);
            if (patch.apply(words, rules.count(f))) {
                patched++;
            } else {
                CompiledCopy::build(rules, f, index).write(words, rules.count(f));
                rebuilt++;
            }
        }
        std::vector<Prefix> prefixes[2];
        for (const auto& [p, _] : rules.rules())
            prefixes[fam_index(p.family)].push_back(p);
        Published ref[2] = {publish(rules, Family::v4), publish(rules, Family::v6)};
        for (int i = 0; i < 200000; i++) {
            Family f = i % 2 ? Family::v6 : Family::v4;
            int fi = fam_index(f);
            Address a = pwtest::test_address(rng, prefixes[fi], f, i / 2);
            auto want = ref[fi].lookup(a);
            auto got = compiled_lookup(live[fi], results, a);
            // (The rebuilt copy's rule answers for the reference here: it
            // is held to the reference above, and a reference lookup per
            // address would make this test take minutes.)
            auto verdict = compiled_verdict(live[fi], a);
            bool same = want.has_value() == got.has_value() &&
                        (!want || (want->rule_id == got->rule_id && want->action == got->action)) &&
                        verdict == (want ? want->action : 0);
            if (!same && ++mismatches <= 5)
                FAIL_CHECK("batch " << batch << ", " << a.to_string() << ": patched rule "
                                    << (got ? got->rule_id : 0) << ", rebuilt "
                                    << (want ? want->rule_id : 0));
        }
    }
    CHECK(mismatches == 0);
    // Most batches are patches; the large ones may need a rebuild.
    CHECK(patched > 100);
    MESSAGE("patched " << patched << " family tables, rebuilt " << rebuilt);
}

TEST_CASE("compiled verdict: rules repeating the action around them and siblings of one action merge")
{
    // A /16 made of 256 blocked /24s, and a blocked /8 full of blocked
    // /24s, with one allowed /32 inside: the verdict needs no node for
    // the first and a single path for the second, while the rule section
    // keeps every rule.
    RuleSet rs;
    for (int i = 0; i < 256; i++)
        rs.add(Prefix::parse("100.64." + std::to_string(i) + ".0/24"), "t", Claim{Action::block, ""});
    rs.add(Prefix::parse("10.0.0.0/8"), "t", Claim{Action::block, ""});
    for (int i = 0; i < 200; i++)
        rs.add(Prefix::parse("10." + std::to_string(i) + ".7.0/24"), "t", Claim{Action::block, ""});
    rs.add(Prefix::parse("10.3.7.9/32"), "t", Claim{Action::allow, ""});
    auto p = publish(rs, Family::v4);
    CompiledCopy c = CompiledCopy::build(rs, Family::v4, [](const RuleEntry& r) { return r.id; });
    CHECK(c.verdict().nodes() == 0);
    CHECK(c.verdict().tails() == 1); // the /32, alone in its /16
    CHECK(c.rules().nodes() == 5); // 100.64/16's four /18s, and 10.3.7.0/24 with its /32
    CHECK(c.rules().tails() == 200); // every 10.i.7.0/24 alone in its /18, and the /32 under 10.3.7.0/24
    for (const char* a : {"100.64.0.0", "100.64.255.255", "100.65.0.0", "100.63.255.255", "10.0.0.1",
                          "10.3.7.8", "10.3.7.9", "10.3.7.10", "11.0.0.0"}) {
        CHECK_MESSAGE(p.verdict(Address::parse(a)) == ref_action(rs, Address::parse(a)), a);
        CHECK_MESSAGE(compiled_id(p, a) == ref_id(rs, a), a);
    }
}

namespace {

// A random packet's L4 as scopes see it: the test ports, a later fragment
// now and then.
L4 random_l4(std::mt19937_64& rng, Family f)
{
    const uint8_t protos[] = {6, 17, f == Family::v4 ? uint8_t(1) : uint8_t(58), 47};
    L4 l{protos[rng() % 4], false, 0, 0};
    if ((l.proto == 6 || l.proto == 17) && rng() % 8) {
        l.ports = true;
        l.sport = pwtest::kTestPorts[rng() % 6];
        l.dport = pwtest::kTestPorts[rng() % 6] + static_cast<uint16_t>(rng() % 4 == 0 ? rng() % 300 : 0);
    }
    return l;
}

// The action the reference applies: a scoped rule's own when the packet
// fits, else its otherwise (longest_match falls through past the others).
uint8_t applied_action(const Rule& r, const L4& l)
{
    ScopedPart part = r.scoped();
    if (!part.scoped())
        return static_cast<uint8_t>(r.action());
    return static_cast<uint8_t>(part.scope.fits(l) ? part.action : *part.otherwise);
}

} // namespace

TEST_CASE("compiled table: rules scoped to L4 agree with the reference, built whole and patched")
{
    std::mt19937_64 rng(20261202);
    RuleSet rules = pwtest::random_rules(rng, 5000, true, true);
    size_t scoped = 0;
    for (const auto& [_, r] : rules.rules())
        scoped += r.scoped().scoped();
    CHECK(scoped > 2000);
    auto index = [](const RuleEntry& r) { return r.id; };
    std::vector<uint64_t> results(1u << 20);
    for (uint32_t i = 0; i < results.size(); i++)
        results[i] = i;
    std::vector<uint64_t> live[2];
    for (Family f : {Family::v4, Family::v6}) {
        live[fam_index(f)].assign(1u << 21, 0);
        CompiledCopy::build(rules, f, index).write(live[fam_index(f)], rules.count(f));
    }
    const Action actions[] = {Action::block, Action::reject, Action::allow, Action::monitor};
    size_t mismatches = 0, refused = 0, checked_scoped = 0;
    for (int batch = 0; batch <= 30; batch++) {
        if (batch > 0) {
            RuleSet before = rules;
            std::vector<Prefix> all, changed;
            for (const auto& [p, _] : rules.rules())
                all.push_back(p);
            for (int i = 0, n = 1 + static_cast<int>(rng() % 30); i < n; i++) {
                const Prefix& some = all[rng() % all.size()];
                Prefix p = rng() % 2 ? some
                                     : Prefix::of(pwtest::random_inside(rng, some),
                                                  static_cast<unsigned>(rng() % (max_len(some.family) + 1)));
                switch (rng() % 4) {
                case 0: rules.remove(p, ""); break;
                case 1: rules.add(p, "random", Claim{actions[rng() % 4], "", {}}); break;
                case 2: rules.add(p, "random-otherwise", Claim{actions[rng() % 4], "", {}}); break;
                default: rules.add(p, "random", Claim{actions[rng() % 4], "", pwtest::random_scope(rng, p.family)});
                }
                changed.push_back(p);
            }
            try {
                for (Family f : {Family::v4, Family::v6}) {
                    auto& words = live[fam_index(f)];
                    auto patch = CompiledCopy::patch(rules, f, changed, CompiledCopy::origin_of(words), index);
                    if (!patch.apply(words, rules.count(f)))
                        CompiledCopy::build(rules, f, index).write(words, rules.count(f));
                }
            } catch (const Error& e) {
                // A chain of scoped rules longer than the data plane
                // follows: refused, as the controller refuses the commit.
                REQUIRE(std::string(e.what()).find("scoped to L4") != std::string::npos);
                rules = before;
                for (Family f : {Family::v4, Family::v6})
                    CompiledCopy::build(rules, f, index).write(live[fam_index(f)], rules.count(f));
                refused++;
            }
        }
        std::vector<Prefix> prefixes[2];
        for (const auto& [p, _] : rules.rules())
            prefixes[fam_index(p.family)].push_back(p);
        for (int i = 0; i < (batch == 0 ? 200000 : 20000); i++) {
            Family f = i % 2 ? Family::v6 : Family::v4;
            int fi = fam_index(f);
            Address a = pwtest::test_address(rng, prefixes[fi], f, i / 2);
            L4 l = random_l4(rng, f);
            auto ref = rules.longest_match(a, &l);
            auto got = compiled_lookup(live[fi], results, a, &l);
            checked_scoped += ref && ref->scoped().scoped();
            bool same = ref.has_value() == got.has_value() &&
                        (!ref || (ref->id == got->rule_id && applied_action(*ref, l) == got->action));
            if (!same && ++mismatches <= 5)
                FAIL_CHECK("batch " << batch << ", " << a.to_string() << " proto " << int(l.proto) << " port "
                                    << l.dport << ": compiled rule " << (got ? got->rule_id : 0) << ", reference "
                                    << (ref ? ref->id : 0));
        }
    }
    CHECK(mismatches == 0);
    CHECK(checked_scoped > 10000);
    MESSAGE(refused << " batches refused for a chain of scoped rules too long");
}
