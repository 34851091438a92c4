// 1,000,000 random and mutated frames through BPF_PROG_TEST_RUN, each
// judged beside a userspace model of the parser and the lookup: cut at
// every length, 0 to 3 VLAN tags, UDP, TCP and ICMP on random ports, IPv4
// IHL 0-15 and fragments, total lengths shorter and longer than the frame,
// IPv6 payload lengths and extension-header chains, non-IP ethertypes and
// random bytes, with block, reject, allow and monitor rules, a third of
// them scoped to L4 (random protocols, ports and source ranges; half with
// an otherwise). For every frame the verdict, the outcome and the rule
// each address matched equal the model's (for a reject: answered or
// dropped unanswered, as bpf/lib/reject.h says); at the end the global
// counters and the per-rule counts equal the model's sums.
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

// Whether a rejected frame is answered (bpf/lib/reject.h, with a bucket
// that never runs dry): IP header at l3, its family, the frame's bytes.
bool answered(const std::vector<uint8_t>& f, size_t l3, Family fam)
{
    size_t n = f.size();
    if ((f[0] & 1) || (f[6] & 1))
        return false; // multicast or broadcast MAC
    auto tcp_ok = [&](size_t th, size_t l4_len) {
        if (th + 20 > n || (f[th + 13] & 0x04))
            return false; // cut short, or a RST
        size_t doff = (f[th + 12] >> 4) * 4u;
        return doff >= 20 && doff <= l4_len;
    };
    if (fam == Family::v4) {
        auto bad = [&](size_t at) {
            uint32_t a = uint32_t(f[at]) << 24 | f[at + 1] << 16 | f[at + 2] << 8 | f[at + 3];
            return a == 0 || a == 0xffffffff || a >> 28 == 0xe;
        };
        if (bad(l3 + 12) || bad(l3 + 16) || (be16(f, l3 + 6) & 0x1fff))
            return false;
        size_t ihl = (f[l3] & 15) * 4u, tot = be16(f, l3 + 2);
        if (f[l3 + 9] == 6)
            return tcp_ok(l3 + ihl, tot - ihl);
        if (f[l3 + 9] == 1) {
            if (l3 + ihl + 1 > n)
                return false;
            unsigned type = f[l3 + ihl];
            return type != 3 && type != 4 && type != 5 && type != 11 && type != 12;
        }
        return true;
    }
    auto bad6 = [&](size_t at) {
        return f[at] == 0xff || std::all_of(&f[at], &f[at] + 16, [](uint8_t b) { return b == 0; });
    };
    if (bad6(l3 + 8) || bad6(l3 + 24))
        return false;
    size_t total = 40 + be16(f, l3 + 4), off = 40;
    unsigned next = f[l3 + 6];
    for (int i = 0; i < 4; i++) {
        if (next != 0 && next != 43 && next != 60 && next != 44)
            break;
        size_t h = l3 + off;
        if (h + 8 > n)
            return false;
        if (next == 44) {
            if (be16(f, h + 2) & 0xfff8)
                return false; // a later fragment
            off += 8;
        } else {
            off += (f[h + 1] + 1) * 8u;
        }
        next = f[h];
        if (off > 512)
            return false;
    }
    if (next == 6)
        return off < total && tcp_ok(l3 + off, total - off);
    if (next == 58)
        return l3 + off + 1 <= n && f[l3 + off] >= 128;
    return true;
}

// What a scope looks at (bpf/lib/scope.h's l4_read), for a frame whose IP
// header at l3 parsed.
L4 l4_of(const std::vector<uint8_t>& f, size_t l3, Family fam)
{
    size_t n = f.size();
    L4 l;
    auto ports = [&](size_t at) {
        if ((l.proto == 6 || l.proto == 17) && at + 4 <= n) {
            l.ports = true;
            l.sport = static_cast<uint16_t>(be16(f, at));
            l.dport = static_cast<uint16_t>(be16(f, at + 2));
        }
    };
    if (fam == Family::v4) {
        l.proto = f[l3 + 9];
        if (!(be16(f, l3 + 6) & 0x1fff))
            ports(l3 + (f[l3] & 15) * 4u);
        return l;
    }
    size_t off = 40;
    unsigned next = f[l3 + 6];
    bool later = false;
    auto ext = [](unsigned h) { return h == 0 || h == 43 || h == 60 || h == 44; };
    for (int i = 0; i < 4 && ext(next); i++) {
        size_t h = l3 + off;
        if (h + 8 > n)
            return L4{};
        if (next == 44) {
            later |= (be16(f, h + 2) & 0xfff8) != 0;
            off += 8;
        } else {
            off += (f[h + 1] + 1) * 8u;
        }
        next = f[h];
        if (off > 512)
            return L4{};
    }
    if (ext(next))
        return L4{};
    l.proto = static_cast<uint8_t>(next);
    if (!later)
        ports(l3 + off);
    return l;
}

// How often the model met a scoped rule: the packet fit its scope, got its
// otherwise, or fell through to the covering rule.
struct ScopeSeen {
    uint64_t fit = 0, otherwise = 0, fell = 0;
} scope_seen;

// The rule that applies to an address for a packet, and the action it
// applies (a scoped rule: its own when the packet fits, else its
// otherwise, else the covering rule's).
std::pair<const Rule*, std::optional<Action>> applied(const RuleSet& rules, const Address& a, const L4& l4)
{
    const Rule* r = rules.lookup(a);
    while (r) {
        ScopedPart part = r->scoped();
        if (!part.scoped())
            return {r, r->action()};
        if (part.scope.fits(l4)) {
            scope_seen.fit++;
            return {r, part.action};
        }
        if (part.otherwise) {
            scope_seen.otherwise++;
            return {r, part.otherwise};
        }
        scope_seen.fell++;
        auto cover = rules.covering(r->prefix);
        r = cover ? rules.get(cover->prefix) : nullptr;
    }
    return {nullptr, std::nullopt};
}

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
    const size_t l3 = pos;
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
    const L4 l4 = l4_of(f, l3, src.family);
    auto [s, sa] = applied(rules, src, l4);
    auto [d, da] = applied(rules, dst, l4);
    e.src_id = s ? s->id : 0;
    e.dst_id = d ? d->id : 0;
    e.rule_counts = (s ? 1 : 0) + (d && (!s || d->id != s->id) ? 1 : 0);
    auto has = [&](Action a) { return sa == a || da == a; };
    if (has(Action::block)) {
        e.verdict = XDP_DROP;
        e.outcome = PW_OUTCOME_DROPPED;
    } else if (has(Action::reject)) {
        bool yes = answered(f, l3, src.family);
        e.verdict = yes ? XDP_TX : XDP_DROP;
        e.outcome = yes ? PW_OUTCOME_REJECTED : PW_OUTCOME_DROPPED;
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
    unsigned kind = rng() % 10, l4 = static_cast<unsigned>(rng() % 3); // UDP, TCP, ICMP
    const uint8_t proto4 = std::array<uint8_t, 3>{17, 6, 1}[l4], proto6 = std::array<uint8_t, 3>{17, 6, 58}[l4];
    if (kind < 5) {
        fr.ipv4(pick(Family::v4), pick(Family::v4), proto4, static_cast<unsigned>(rng() % 3 ? 0 : rng() % 11));
        if (rng() % 5 == 0)
            fr.ihl(static_cast<uint8_t>(rng() % 16));
        if (rng() % 5 == 0)
            fr.ipv4_total_length(static_cast<uint16_t>(rng() % 200));
    } else if (kind < 9) {
        fr.ipv6(pick(Family::v6), pick(Family::v6), rng() % 2 ? proto6 : 0);
        for (unsigned x = rng() % 4; x > 0; x--)
            fr.ipv6_ext(std::array<uint8_t, 4>{0, 43, 44, 60}[rng() % 4], x > 1 ? 60 : proto6);
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
    auto port = [&] { return pwtest::kTestPorts[rng() % 6]; };
    if (rng() % 6 == 0 && kind < 5)
        fr.fragment(static_cast<uint16_t>(rng() % 3), rng() % 2); // offset 0: the first
    if (l4 == 0)
        fr.udp(port(), port(), rng() % 64);
    else if (l4 == 1)
        fr.tcp(port(), port(), static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()),
               static_cast<uint8_t>(rng()), rng() % 64);
    else // queries and errors of both families
        fr.icmp(std::array<uint8_t, 8>{0, 3, 8, 11, 1, 2, 128, 135}[rng() % 8], 0, rng() % 64);
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
    scope_seen = {};
    pwtest::Harness h;
    RuleSet rules = pwtest::random_rules(rng, 1000, true, true);
    rules = h.commit(rules);
    std::vector<Prefix> prefixes[2];
    for (const auto& [p, _] : rules.rules())
        prefixes[p.family == Family::v4 ? 0 : 1].push_back(p);
    ProgramSettings rec{Match::both, false, false, true};
    rec.reject_rate = UINT32_MAX; // an answer costs 0 ns: the bucket never runs dry

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
    // The mix really covers every outcome, and scoped rules fit, give
    // their otherwise and fall through.
    for (unsigned o = 0; o < PW_OUTCOME_MAX; o++)
        CHECK_MESSAGE(kinds[o] > 1000, "outcome " << o << " seen " << kinds[o] << " times");
    MESSAGE("scoped rules: " << scope_seen.fit << " fit, " << scope_seen.otherwise << " otherwise, "
                             << scope_seen.fell << " fell through");
    CHECK(scope_seen.fit > 1000);
    CHECK(scope_seen.otherwise > 1000);
    CHECK(scope_seen.fell > 1000);
}
