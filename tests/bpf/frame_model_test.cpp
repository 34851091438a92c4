// 1,000,000 random and mutated frames through BPF_PROG_TEST_RUN, each
// judged beside a userspace model of the parser and the lookup: cut at
// every length, 0 to 3 VLAN tags, IPv4 IHL 0-15, total lengths shorter and
// longer than the frame, IPv6 payload lengths and extension-header chains,
// non-IP ethertypes and random bytes. For every frame the verdict, the
// outcome and the rule each address matched equal the model's; at the end
// the global counters and the per-rule counts equal the model's sums.
#include "harness.hpp"
#include "random_rules.hpp"

#include <doctest/doctest.h>
#include <linux/bpf.h>

#include <array>
#include <random>

using namespace pw;
using pwtest::Frame;

namespace {

struct Expect {
    int verdict = XDP_PASS;
    unsigned family = PW_FAMILY_OTHER;
    unsigned outcome = PW_OUTCOME_NON_IP;
    uint32_t src_id = 0, dst_id = 0;
    unsigned rule_counts = 0; // per-rule count events (src, and dst if another rule)
};

unsigned be16(const std::vector<uint8_t>& f, size_t at) { return unsigned(f[at]) << 8 | f[at + 1]; }

// The model of bpf/lib/parsing.h and decide() for match both, no dry-run,
// malformed frames passed.
Expect model(const std::vector<uint8_t>& f, const RuleSet& rules)
{
    Expect e;
    auto malformed = [&](unsigned family) {
        e.family = family;
        e.outcome = PW_OUTCOME_MALFORMED;
        return e;
    };
    size_t n = f.size(), pos = 14;
    if (n < 14)
        return malformed(PW_FAMILY_OTHER);
    unsigned proto = be16(f, 12);
    for (int i = 0; i < 2 && (proto == 0x8100 || proto == 0x88a8); i++) {
        if (pos + 4 > n)
            return malformed(PW_FAMILY_OTHER);
        proto = be16(f, pos + 2);
        pos += 4;
    }
    Address src, dst;
    if (proto == 0x0800) {
        if (pos + 20 > n || f[pos] >> 4 != 4 || (f[pos] & 15) < 5)
            return malformed(PW_FAMILY_IPV4);
        size_t hl = (f[pos] & 15) * 4u, tot = be16(f, pos + 2);
        if (pos + hl > n || tot < hl || pos + tot > n)
            return malformed(PW_FAMILY_IPV4);
        src.family = dst.family = Family::v4;
        std::copy_n(&f[pos + 12], 4, src.bytes.begin());
        std::copy_n(&f[pos + 16], 4, dst.bytes.begin());
        e.family = PW_FAMILY_IPV4;
    } else if (proto == 0x86dd) {
        if (pos + 40 > n || f[pos] >> 4 != 6 || pos + 40 + be16(f, pos + 4) > n)
            return malformed(PW_FAMILY_IPV6);
        src.family = dst.family = Family::v6;
        std::copy_n(&f[pos + 8], 16, src.bytes.begin());
        std::copy_n(&f[pos + 24], 16, dst.bytes.begin());
        e.family = PW_FAMILY_IPV6;
    } else {
        return e; // non-IP passes
    }
    const Rule* s = rules.lookup(src);
    const Rule* d = rules.lookup(dst);
    e.src_id = s ? s->id : 0;
    e.dst_id = d ? d->id : 0;
    e.rule_counts = (s ? 1 : 0) + (d && (!s || d->id != s->id) ? 1 : 0);
    auto has = [&](Action a) { return (s && s->action() == a) || (d && d->action() == a); };
    if (has(Action::block)) {
        e.verdict = XDP_DROP;
        e.outcome = PW_OUTCOME_DROPPED;
    } else if (has(Action::monitor)) {
        e.outcome = PW_OUTCOME_MONITORED;
    } else if (has(Action::allow)) {
        e.outcome = PW_OUTCOME_ALLOWED;
    } else {
        e.outcome = PW_OUTCOME_PASSED;
    }
    return e;
}

// A random frame: a valid base (v4 or v6, 0-3 VLAN tags, addresses inside
// rules or anywhere), then, most of the time, one or two mutations.
std::vector<uint8_t> random_frame(std::mt19937_64& rng, const std::vector<Prefix> (&prefixes)[2])
{
    auto pick = [&](Family f) {
        const auto& ps = prefixes[f == Family::v4 ? 0 : 1];
        return (rng() % 3 ? pwtest::random_inside(rng, ps[rng() % ps.size()])
                          : pwtest::random_address(rng, f)).to_string();
    };
    Frame fr;
    fr.eth();
    unsigned tags = rng() % 8 < 5 ? 0 : 1 + rng() % 3;
    for (unsigned t = 0; t < tags; t++)
        fr.vlan(rng() % 2 ? 0x8100 : 0x88a8, static_cast<uint16_t>(rng() % 4096));
    unsigned kind = rng() % 10;
    if (kind < 5) {
        fr.ipv4(pick(Family::v4), pick(Family::v4), 17, static_cast<unsigned>(rng() % 3 ? 0 : rng() % 11));
        if (rng() % 5 == 0)
            fr.ihl(static_cast<uint8_t>(rng() % 16));
        if (rng() % 5 == 0)
            fr.ipv4_total_length(static_cast<uint16_t>(rng() % 200));
    } else if (kind < 9) {
        fr.ipv6(pick(Family::v6), pick(Family::v6), rng() % 2 ? 17 : 0);
        for (unsigned x = rng() % 4; x > 0; x--)
            fr.ipv6_ext(std::array<uint8_t, 4>{0, 43, 44, 60}[rng() % 4], x > 1 ? 60 : 17);
        if (rng() % 5 == 0)
            fr.ipv6_payload_length(static_cast<uint16_t>(rng() % 200));
    } else if (rng() % 2) {
        fr.arp();
    } else {
        std::vector<uint8_t> junk(rng() % 80);
        for (auto& b : junk)
            b = static_cast<uint8_t>(rng());
        fr.raw(junk);
    }
    fr.udp(40000, 9, rng() % 64);
    if (rng() % 4 == 0)
        fr.cut(14 + rng() % 90);
    std::vector<uint8_t> f = fr.bytes();
    if (f.size() > 14 && rng() % 6 == 0) // a flipped byte in the headers
        f[14 + rng() % std::min<size_t>(f.size() - 14, 60)] ^= static_cast<uint8_t>(1 + rng() % 255);
    return f;
}

} // namespace

TEST_CASE("1,000,000 random and mutated frames: verdict, outcome, rules and counters equal the model")
{
    std::mt19937_64 rng(20261125);
    pwtest::Harness h;
    RuleSet rules = pwtest::random_rules(rng, 1000);
    rules = h.commit(rules);
    std::vector<Prefix> prefixes[2];
    for (const auto& [p, _] : rules.rules())
        prefixes[p.family == Family::v4 ? 0 : 1].push_back(p);
    const ProgramSettings rec{Match::both, false, false, true};

    auto g0 = h.dp().global_counters();
    uint64_t rule_events = 0, before_rules = 0;
    h.dp().rule_counters().for_each([&](uint32_t, const Counter& c) { before_rules += c.packets; });
    std::array<uint64_t, kGlobalCells> want_global{};
    size_t mismatches = 0, kinds[PW_OUTCOME_MAX] = {};
    const int frames = 1'000'000;
    for (int i = 0; i < frames; i++) {
        std::vector<uint8_t> f = random_frame(rng, prefixes);
        Expect want = model(f, rules);
        int verdict = h.run(rec, f);
        auto last = h.dp().last_match();
        REQUIRE(last);
        if (verdict != want.verdict || last->outcome != want.outcome ||
            last->src_rule_id != want.src_id || last->dst_rule_id != want.dst_id) {
            if (++mismatches <= 5)
                FAIL_CHECK("frame " << i << " (" << f.size() << " bytes): verdict " << verdict << "/"
                                    << want.verdict << ", outcome " << last->outcome << "/" << want.outcome
                                    << ", src rule " << last->src_rule_id << "/" << want.src_id
                                    << ", dst rule " << last->dst_rule_id << "/" << want.dst_id);
        }
        want_global[global_index(want.family, want.outcome)]++;
        rule_events += want.rule_counts;
        kinds[want.outcome]++;
    }
    CHECK(mismatches == 0);
    auto g1 = h.dp().global_counters();
    for (size_t k = 0; k < kGlobalCells; k++)
        CHECK_MESSAGE(g1[k].packets - g0[k].packets == want_global[k], "global counter " << k);
    uint64_t after_rules = 0;
    h.dp().rule_counters().for_each([&](uint32_t, const Counter& c) { after_rules += c.packets; });
    CHECK(after_rules - before_rules == rule_events);
    // The mix really covers every outcome.
    for (unsigned o = 0; o < PW_OUTCOME_MAX; o++)
        CHECK_MESSAGE(kinds[o] > 1000, "outcome " << o << " seen " << kinds[o] << " times");
}
