// The reject action through BPF_PROG_TEST_RUN: each answer the program
// builds is compared byte for byte with a reference built here from the
// RFCs (RFC 9293 for the RST, RFC 792 and 4443 for the ICMP errors), with
// checksums from an independent RFC 1071 sum; then the packets that are
// never answered, the token bucket, dry-run and block beside reject.
#include "harness.hpp"

#include <doctest/doctest.h>
#include <linux/bpf.h>
#include <sched.h>

#include <algorithm>
#include <array>

using namespace pw;
using pwtest::Frame;
using Bytes = std::vector<uint8_t>;

namespace {

const char* const kReject4 = "192.0.2.0/24";
const char* const kReject6 = "2001:db8:bad::/48";
const char* const kBlock4 = "198.51.100.0/24";
const char* const kClient4 = "203.0.113.5";
const char* const kClient6 = "2001:db8:0:1::5";
constexpr ProgramSettings kBoth{Match::both, false, false, false};

uint16_t be16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b.at(at) << 8 | b.at(at + 1)); }
uint32_t be32(const Bytes& b, size_t at) { return uint32_t(be16(b, at)) << 16 | be16(b, at + 2); }
void put16(Bytes& b, size_t at, uint16_t v)
{
    b.at(at) = static_cast<uint8_t>(v >> 8);
    b.at(at + 1) = static_cast<uint8_t>(v);
}
void put32(Bytes& b, size_t at, uint32_t v)
{
    put16(b, at, static_cast<uint16_t>(v >> 16));
    put16(b, at + 2, static_cast<uint16_t>(v));
}
Bytes slice(const Bytes& b, size_t at, size_t n) { return Bytes(b.begin() + at, b.begin() + at + n); }
void append(Bytes& to, const Bytes& b) { to.insert(to.end(), b.begin(), b.end()); }

// RFC 1071: the one's-complement sum of big-endian 16-bit words, folded.
uint16_t ones_sum(const Bytes& b, uint32_t sum = 0)
{
    for (size_t i = 0; i < b.size(); i += 2)
        sum += uint32_t(b[i]) << 8 | (i + 1 < b.size() ? b[i + 1] : 0);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}
// The pseudo-header of TCP and ICMPv6 (addresses as they lie in the frame).
uint32_t pseudo(const Bytes& src, const Bytes& dst, uint8_t proto, size_t len)
{
    Bytes p = src;
    append(p, dst);
    return ones_sum(p) + proto + static_cast<uint32_t>(len);
}

// The L2 header of an answer: the frame's, MACs swapped.
Bytes answer_l2(const Bytes& in, size_t l2)
{
    Bytes out = slice(in, 0, l2);
    std::swap_ranges(out.begin(), out.begin() + 6, out.begin() + 6);
    return out;
}

Bytes ipv4_header(const Bytes& src, const Bytes& dst, uint8_t proto, uint8_t tos, size_t total)
{
    Bytes ip{0x45, tos, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0};
    put16(ip, 2, static_cast<uint16_t>(total));
    append(ip, src);
    append(ip, dst);
    put16(ip, 10, static_cast<uint16_t>(~ones_sum(ip)));
    return ip;
}

Bytes ipv6_header(const Bytes& src, const Bytes& dst, uint8_t next, size_t payload)
{
    Bytes ip{0x60, 0, 0, 0, 0, 0, next, 64};
    put16(ip, 4, static_cast<uint16_t>(payload));
    append(ip, src);
    append(ip, dst);
    return ip;
}

// RFC 9293 3.10.7.1: the RST for segment `tcp` (its header at the front,
// `seg_len` bytes of payload plus SYN and FIN).
Bytes rst_for(const Bytes& tcp, size_t seg_len, uint32_t pseudo_sum)
{
    Bytes t(20, 0);
    put16(t, 0, be16(tcp, 2));
    put16(t, 2, be16(tcp, 0));
    t[12] = 5 << 4;
    if (tcp[13] & 0x10) { // ACK: seq = its ack, RST alone
        put32(t, 4, be32(tcp, 8));
        t[13] = 0x04;
    } else { // seq 0, RST|ACK, ack = its seq + length
        put32(t, 8, be32(tcp, 4) + static_cast<uint32_t>(seg_len));
        t[13] = 0x14;
    }
    put16(t, 16, static_cast<uint16_t>(~ones_sum(t, pseudo_sum)));
    return t;
}

// The reference answer to IPv4 frame `in` (L2 header of l2 bytes).
Bytes expected_v4(const Bytes& in, size_t l2)
{
    size_t ihl = (in[l2] & 0x0f) * 4u, total = be16(in, l2 + 2);
    Bytes src = slice(in, l2 + 12, 4), dst = slice(in, l2 + 16, 4);
    Bytes out = answer_l2(in, l2);
    if (in[l2 + 9] == 6) {
        Bytes tcp = slice(in, l2 + ihl, total - ihl);
        size_t seg = tcp.size() - (tcp[12] >> 4) * 4u + (tcp[13] & 0x02 ? 1 : 0) + (tcp[13] & 0x01);
        append(out, ipv4_header(dst, src, 6, 0, 40));
        append(out, rst_for(tcp, seg, pseudo(dst, src, 6, 20)));
        return out;
    }
    Bytes quote = slice(in, l2, std::min(ihl + 8, total));
    Bytes icmp{3, 13, 0, 0, 0, 0, 0, 0};
    append(icmp, quote);
    put16(icmp, 2, static_cast<uint16_t>(~ones_sum(icmp)));
    append(out, ipv4_header(dst, src, 1, 0xc0, 20 + icmp.size()));
    append(out, icmp);
    return out;
}

// The reference answer to IPv6 frame `in` whose upper header, `upper`,
// is at l4 (after any extension headers).
Bytes expected_v6(const Bytes& in, size_t l2, size_t l4, uint8_t upper)
{
    size_t total = 40 + be16(in, l2 + 4);
    Bytes src = slice(in, l2 + 8, 16), dst = slice(in, l2 + 24, 16);
    Bytes out = answer_l2(in, l2);
    if (upper == 6) {
        Bytes tcp = slice(in, l4, l2 + total - l4);
        size_t seg = tcp.size() - (tcp[12] >> 4) * 4u + (tcp[13] & 0x02 ? 1 : 0) + (tcp[13] & 0x01);
        append(out, ipv6_header(dst, src, 6, 20));
        append(out, rst_for(tcp, seg, pseudo(dst, src, 6, 20)));
        return out;
    }
    Bytes quote = slice(in, l2, std::min<size_t>(total, 1280 - 48));
    Bytes icmp{1, 1, 0, 0, 0, 0, 0, 0};
    append(icmp, quote);
    put16(icmp, 2, static_cast<uint16_t>(~ones_sum(icmp, pseudo(dst, src, 58, icmp.size()))));
    append(out, ipv6_header(dst, src, 58, icmp.size()));
    append(out, icmp);
    return out;
}

struct Fixture {
    pwtest::Harness h;
    Fixture()
    {
        h.add(kReject4, Action::reject);
        h.add(kReject6, Action::reject);
        h.add(kBlock4, Action::block);
    }
    // Runs `in`; checks the verdict and that exactly one global counter
    // (family, outcome) rose by one packet of the frame's length.
    Bytes run(const Bytes& in, int verdict, unsigned family, unsigned outcome,
              const ProgramSettings& s = kBoth)
    {
        auto g0 = h.dp().global_counters();
        Bytes out;
        CHECK(h.run(s, in, out) == verdict);
        auto g1 = h.dp().global_counters();
        for (unsigned i = 0; i < PW_GLOBAL_COUNTERS; i++) {
            CAPTURE(i);
            bool want = i == global_index(family, outcome);
            CHECK(g1[i].packets - g0[i].packets == (want ? 1u : 0u));
            CHECK(g1[i].bytes - g0[i].bytes == (want ? in.size() : 0u));
        }
        return out;
    }
};

} // namespace

TEST_CASE("reject: a TCP segment is answered with a RST whose seq and ack its sender accepts")
{
    Fixture f;
    struct Case {
        const char* name;
        Frame frame;
        uint8_t flags;
        uint32_t seq, ack;
    };
    const Case cases[] = {
        {"SYN", Frame().eth().ipv4(kClient4, "192.0.2.80", 6).tcp(40000, 443, 0x12345678, 0, 0x02),
         0x14, 0, 0x12345679},
        {"data segment with ACK", Frame().eth().ipv4(kClient4, "192.0.2.80", 6).tcp(40000, 443, 1000, 0xabcdef01, 0x18, 100),
         0x04, 0xabcdef01, 0},
        {"FIN without ACK, payload", Frame().eth().ipv4("192.0.2.7", kClient4, 6).tcp(5, 6, 0xfffffff0, 0, 0x01, 20),
         0x14, 0, 0xfffffff0u + 21},
        {"IPv4 options before TCP", Frame().eth().ipv4(kClient4, "192.0.2.80", 6, 3).tcp(1, 2, 7, 0, 0x02),
         0x14, 0, 8},
        {"802.1Q tag", Frame().eth().vlan(0x8100, 42).ipv4(kClient4, "192.0.2.80", 6).tcp(40000, 80, 99, 0, 0x02),
         0x14, 0, 100},
    };
    for (const auto& c : cases) {
        CAPTURE(std::string(c.name));
        Bytes in = c.frame.bytes();
        size_t l2 = in[12] == 0x81 ? 18 : 14;
        Bytes out = f.run(in, XDP_TX, PW_FAMILY_IPV4, PW_OUTCOME_REJECTED);
        REQUIRE(out.size() == l2 + 40);
        CHECK(out == expected_v4(in, l2));
        // Field by field, against the segment it answers.
        CHECK(slice(out, 0, 6) == slice(in, 6, 6));
        CHECK(slice(out, 6, 6) == slice(in, 0, 6));
        CHECK(slice(out, l2 + 12, 4) == slice(in, l2 + 16, 4));
        CHECK(slice(out, l2 + 16, 4) == slice(in, l2 + 12, 4));
        CHECK(ones_sum(slice(out, l2, 20)) == 0xffff); // IP checksum right
        size_t th = l2 + 20, in_th = l2 + (in[l2] & 0x0f) * 4u;
        CHECK(be16(out, th) == be16(in, in_th + 2));
        CHECK(be16(out, th + 2) == be16(in, in_th));
        CHECK(out[th + 13] == c.flags);
        CHECK(be32(out, th + 4) == c.seq);
        CHECK(be32(out, th + 8) == c.ack);
        CHECK(ones_sum(slice(out, th, 20), pseudo(slice(out, l2 + 12, 4), slice(out, l2 + 16, 4), 6, 20)) == 0xffff);
    }

    Bytes in6 = Frame().eth().ipv6(kClient6, "2001:db8:bad::80", 6).tcp(40001, 443, 77, 0, 0x02).bytes();
    Bytes out6 = f.run(in6, XDP_TX, PW_FAMILY_IPV6, PW_OUTCOME_REJECTED);
    CHECK(out6 == expected_v6(in6, 14, 54, 6));
    CHECK(out6.size() == 14 + 40 + 20);
    CHECK(be32(out6, 54 + 8) == 78);
    CHECK(ones_sum(slice(out6, 54, 20), pseudo(slice(out6, 22, 16), slice(out6, 38, 16), 6, 20)) == 0xffff);

    // TCP behind a hop-by-hop header: the RST has no extension header.
    Bytes in6x = Frame().eth().ipv6(kClient6, "2001:db8:bad::80", 0).ipv6_ext(0, 6).tcp(1, 2, 5, 9, 0x10).bytes();
    Bytes out6x = f.run(in6x, XDP_TX, PW_FAMILY_IPV6, PW_OUTCOME_REJECTED);
    CHECK(out6x == expected_v6(in6x, 14, 62, 6));
    CHECK(out6x[20] == 6);
    CHECK(be32(out6x, 54 + 4) == 9);
}

TEST_CASE("reject: other packets get ICMP / ICMPv6 administratively prohibited, quoting them")
{
    Fixture f;
    SUBCASE("IPv4 UDP: the IP header and 8 bytes")
    {
        Bytes in = Frame().eth().ipv4(kClient4, "192.0.2.53", 17).udp(40000, 53, 200).bytes();
        Bytes out = f.run(in, XDP_TX, PW_FAMILY_IPV4, PW_OUTCOME_REJECTED);
        CHECK(out == expected_v4(in, 14));
        REQUIRE(out.size() == 14 + 20 + 8 + 28);
        CHECK(out[14 + 9] == 1);
        CHECK(out[34] == 3);
        CHECK(out[35] == 13);
        CHECK(slice(out, 42, 28) == slice(in, 14, 28));
        CHECK(ones_sum(slice(out, 14, 20)) == 0xffff);
        CHECK(ones_sum(slice(out, 34, out.size() - 34)) == 0xffff);
    }
    SUBCASE("IPv4 with options: the whole header is quoted")
    {
        Bytes in = Frame().eth().ipv4("192.0.2.9", kClient4, 17, 4).udp().bytes();
        Bytes out = f.run(in, XDP_TX, PW_FAMILY_IPV4, PW_OUTCOME_REJECTED);
        CHECK(out == expected_v4(in, 14));
        CHECK(out.size() == 14 + 28 + 36 + 8);
    }
    SUBCASE("IPv4 echo request (a query, answered), behind QinQ tags")
    {
        Bytes in = Frame().eth().vlan(0x88A8, 1).vlan(0x8100, 2).ipv4(kClient4, "192.0.2.1", 1).icmp(8, 0, 56).bytes();
        Bytes out = f.run(in, XDP_TX, PW_FAMILY_IPV4, PW_OUTCOME_REJECTED);
        CHECK(out == expected_v4(in, 22));
    }
    SUBCASE("IPv4 first fragment of a datagram")
    {
        Bytes in = Frame().eth().ipv4(kClient4, "192.0.2.1", 17).fragment(0, true).udp().bytes();
        Bytes out = f.run(in, XDP_TX, PW_FAMILY_IPV4, PW_OUTCOME_REJECTED);
        CHECK(out == expected_v4(in, 14));
    }
    SUBCASE("IPv6 UDP: the whole packet when it fits in 1280")
    {
        Bytes in = Frame().eth().ipv6(kClient6, "2001:db8:bad::53", 17).udp(40000, 53, 301).bytes();
        Bytes out = f.run(in, XDP_TX, PW_FAMILY_IPV6, PW_OUTCOME_REJECTED);
        CHECK(out == expected_v6(in, 14, 54, in[20]));
        REQUIRE(out.size() == 14 + 48 + 40 + 8 + 301);
        CHECK(out[54] == 1);
        CHECK(out[55] == 1);
        CHECK(slice(out, 62, in.size() - 14) == slice(in, 14, in.size() - 14));
        CHECK(ones_sum(slice(out, 54, out.size() - 54),
                       pseudo(slice(out, 22, 16), slice(out, 38, 16), 58, out.size() - 54)) == 0xffff);
    }
    SUBCASE("IPv6: a big packet is quoted up to 1280 bytes in all")
    {
        Bytes in = Frame().eth().ipv6("2001:db8:bad::7", kClient6, 17).udp(1, 2, 1400).bytes();
        Bytes out = f.run(in, XDP_TX, PW_FAMILY_IPV6, PW_OUTCOME_REJECTED);
        CHECK(out.size() == 14 + 1280);
        CHECK(out == expected_v6(in, 14, 54, in[20]));
    }
    SUBCASE("IPv6 odd length, echo request (a query)")
    {
        Bytes in = Frame().eth().ipv6(kClient6, "2001:db8:bad::1", 58).icmp(128, 0, 57).bytes();
        Bytes out = f.run(in, XDP_TX, PW_FAMILY_IPV6, PW_OUTCOME_REJECTED);
        CHECK(out == expected_v6(in, 14, 54, in[20]));
    }
}

TEST_CASE("reject: errors, resets, later fragments and broadcast or multicast are dropped unanswered")
{
    Fixture f;
    const std::array<uint8_t, 6> bcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mcast6{0x33, 0x33, 0, 0, 0, 1},
        host{0x02, 0, 0, 0, 0, 1};
    struct Case {
        const char* name;
        Frame frame;
        unsigned family;
    };
    const Case cases[] = {
        {"ICMP destination unreachable", Frame().eth().ipv4(kClient4, "192.0.2.1", 1).icmp(3, 1, 28), PW_FAMILY_IPV4},
        {"ICMP time exceeded", Frame().eth().ipv4("192.0.2.1", kClient4, 1).icmp(11, 0, 28), PW_FAMILY_IPV4},
        {"ICMP redirect", Frame().eth().ipv4(kClient4, "192.0.2.1", 1).icmp(5, 0, 28), PW_FAMILY_IPV4},
        {"ICMP parameter problem", Frame().eth().ipv4(kClient4, "192.0.2.1", 1).icmp(12, 0, 28), PW_FAMILY_IPV4},
        {"TCP RST", Frame().eth().ipv4(kClient4, "192.0.2.1", 6).tcp(1, 2, 3, 4, 0x04), PW_FAMILY_IPV4},
        {"TCP RST|ACK", Frame().eth().ipv6(kClient6, "2001:db8:bad::1", 6).tcp(1, 2, 3, 4, 0x14), PW_FAMILY_IPV6},
        {"IPv4 later fragment", Frame().eth().ipv4(kClient4, "192.0.2.1", 17).fragment(185, false).raw(Bytes(40, 1)), PW_FAMILY_IPV4},
        {"IPv4 to 255.255.255.255", Frame().eth().macs(bcast, host).ipv4("192.0.2.1", "255.255.255.255", 17).udp(), PW_FAMILY_IPV4},
        {"IPv4 to a multicast group", Frame().eth().ipv4("192.0.2.1", "224.0.0.251", 17).udp(), PW_FAMILY_IPV4},
        {"IPv4 from 0.0.0.0", Frame().eth().ipv4("0.0.0.0", "192.0.2.1", 17).udp(), PW_FAMILY_IPV4},
        {"broadcast MAC", Frame().eth().macs(bcast, host).ipv4(kClient4, "192.0.2.255", 17).udp(), PW_FAMILY_IPV4},
        {"TCP header cut short", Frame().eth().ipv4(kClient4, "192.0.2.1", 6).raw(Bytes(12, 0)), PW_FAMILY_IPV4},
        {"ICMPv6 destination unreachable", Frame().eth().ipv6(kClient6, "2001:db8:bad::1", 58).icmp(1, 4, 48), PW_FAMILY_IPV6},
        {"ICMPv6 packet too big", Frame().eth().ipv6("2001:db8:bad::1", kClient6, 58).icmp(2, 0, 48), PW_FAMILY_IPV6},
        {"ICMPv6 error behind a destination options header",
         Frame().eth().ipv6(kClient6, "2001:db8:bad::1", 60).ipv6_ext(60, 58).icmp(3, 0, 48), PW_FAMILY_IPV6},
        {"IPv6 later fragment", Frame().eth().ipv6(kClient6, "2001:db8:bad::1", 44).ipv6_ext(44, 17).raw(Bytes(40, 1)), PW_FAMILY_IPV6},
        {"IPv6 to a multicast group", Frame().eth().macs(mcast6, host).ipv6("2001:db8:bad::1", "ff02::1", 17).udp(), PW_FAMILY_IPV6},
        {"IPv6 from ::", Frame().eth().ipv6("::", "2001:db8:bad::1", 17).udp(), PW_FAMILY_IPV6},
    };
    for (const auto& c : cases) {
        CAPTURE(std::string(c.name));
        Bytes in = c.frame.bytes();
        if (std::string(c.name) == "IPv6 later fragment") // offset 8 bytes in the fragment header
            in[14 + 40 + 3] = 0x08;
        f.run(in, XDP_DROP, c.family, PW_OUTCOME_DROPPED);
    }
}

TEST_CASE("reject: the token bucket turns answers beyond the rate into plain drops; dry-run and block win")
{
    Fixture f;
    // The bucket is per CPU: stay on one.
    cpu_set_t one, before;
    REQUIRE(sched_getaffinity(0, sizeof(before), &before) == 0);
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    REQUIRE(sched_setaffinity(0, sizeof(one), &one) == 0);

    ProgramSettings limited = kBoth;
    limited.reject_rate = 5; // a second's worth of burst: 5 answers
    Bytes syn = Frame().eth().ipv4(kClient4, "192.0.2.80", 6).tcp(40000, 443, 1, 0, 0x02).bytes();
    int answered = 0;
    for (int i = 0; i < 5; i++)
        answered += f.run(syn, XDP_TX, PW_FAMILY_IPV4, PW_OUTCOME_REJECTED, limited) == expected_v4(syn, 14);
    CHECK(answered == 5);
    for (int i = 0; i < 3; i++)
        CHECK(f.run(syn, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, limited) == syn);
    // Rate 0: never answer.
    ProgramSettings never = kBoth;
    never.reject_rate = 0;
    f.run(syn, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED, never);
    sched_setaffinity(0, sizeof(before), &before);

    // Dry-run counts a reject as monitored and passes the frame unchanged.
    ProgramSettings dry = kBoth;
    dry.dry_run = true;
    CHECK(f.run(syn, XDP_PASS, PW_FAMILY_IPV4, PW_OUTCOME_MONITORED, dry) == syn);
    // A blocked source beside a rejected destination: dropped, no answer.
    Bytes both = Frame().eth().ipv4("198.51.100.7", "192.0.2.80", 6).tcp(1, 2, 3, 0, 0x02).bytes();
    CHECK(f.run(both, XDP_DROP, PW_FAMILY_IPV4, PW_OUTCOME_DROPPED) == both);
    // The per-rule counters count a rejected packet like any hit.
    auto rules = f.h.dp().rule_counters();
    CHECK(rules[f.h.id(kReject4)].packets >= 9);
}
