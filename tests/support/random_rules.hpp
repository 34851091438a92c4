// Random rule sets and addresses for the differential tests (unit and
// BPF): nested prefixes of both families, and addresses drawn uniformly,
// inside rules, and at prefix edges.
#pragma once

#include "store/rules.hpp"

#include <map>
#include <random>
#include <string>
#include <vector>

namespace pwtest {
using namespace pw;

inline Address random_inside(std::mt19937_64& rng, const Prefix& p)
{
    Address a{p.family, p.bytes};
    for (unsigned i = 0; i < addr_bytes(p.family); i++)
        a.bytes[i] |= static_cast<uint8_t>(rng()) & static_cast<uint8_t>(p.last().bytes[i] & ~p.bytes[i]);
    return a;
}

inline Address random_address(std::mt19937_64& rng, Family f)
{
    Address a;
    a.family = f;
    for (unsigned i = 0; i < addr_bytes(f); i++)
        a.bytes[i] = static_cast<uint8_t>(rng());
    return a;
}

// Ports the random scopes and frames share, so that they meet.
inline constexpr uint16_t kTestPorts[] = {9, 53, 80, 443, 8080, 40000};

// A random L4 scope for a prefix of family f: a protocol, and for TCP and
// UDP half the time destination ports (single or ranges) and a quarter of
// the time a source range.
inline Scope random_scope(std::mt19937_64& rng, Family f)
{
    const char* protos[] = {"tcp", "udp", f == Family::v4 ? "icmp" : "icmpv6"};
    std::string proto = protos[rng() % 3], ports, sport;
    if (proto == "tcp" || proto == "udp") {
        for (unsigned n = rng() % 2 ? 0 : 1 + static_cast<unsigned>(rng() % 3); n > 0; n--) {
            uint16_t lo = kTestPorts[rng() % 6];
            uint16_t hi = rng() % 3 ? lo : static_cast<uint16_t>(lo + rng() % 500);
            ports += (ports.empty() ? "" : ",") + std::to_string(lo) + (hi != lo ? "-" + std::to_string(hi) : "");
        }
        if (rng() % 4 == 0)
            sport = rng() % 2 ? "1024-65535" : "40000";
    }
    return Scope::parse(proto, ports, sport);
}

// Nested prefixes: each new rule is, half the time, carved inside an
// existing one, so the set has deep chains of more-specific rules. With
// `reject`, a quarter of them reject (in place of half the blocks). With
// `scoped`, a third of the rules are scoped to L4, half of those with a
// claim without a scope beside (from source "random-otherwise"); chains
// of scoped rules longer than the data plane follows lose their scope.
inline RuleSet random_rules(std::mt19937_64& rng, size_t per_family, bool reject = false,
                            bool scoped = false)
{
    RuleSet rs;
    const Action actions[] = {Action::block, reject ? Action::reject : Action::block, Action::allow,
                              Action::monitor};
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
            Scope scope = scoped && rng() % 3 == 0 ? random_scope(rng, f) : Scope{};
            rs.add(p, "random", Claim{actions[rng() % 4], "", scope});
            if (scope.scoped() && rng() % 2)
                rs.add(p, "random-otherwise", Claim{actions[rng() % 4], "", {}});
            made.push_back(p);
        }
    }
    if (scoped) {
        // Chain lengths, shorter prefixes first (prefix order).
        std::map<Prefix, unsigned> chain;
        std::vector<Prefix> unscope;
        for (const auto& [p, r] : rs.rules()) {
            ScopedPart part = r.scoped();
            unsigned c = 0;
            if (part.scoped()) {
                c = 1;
                if (!part.otherwise)
                    if (auto cover = rs.covering(p))
                        c += chain[cover->prefix];
                if (c > PW_SCOPE_DEPTH) {
                    unscope.push_back(p);
                    c = 0;
                }
            }
            chain[p] = c;
        }
        for (const Prefix& p : unscope)
            rs.add(p, "random", Claim{rs.get(p)->claims.at("random").action, "", {}});
    }
    return rs;
}

// Half uniform, a quarter inside a rule, a quarter a prefix's first or
// last address or a neighbour of one.
inline Address test_address(std::mt19937_64& rng, const std::vector<Prefix>& prefixes, Family f, int i)
{
    switch (i % 4) {
    case 0:
    case 1: return random_address(rng, f);
    case 2: return random_inside(rng, prefixes[rng() % prefixes.size()]);
    default: {
        const Prefix& p = prefixes[rng() % prefixes.size()];
        Address a = rng() % 2 ? p.first() : p.last();
        int step = static_cast<int>(rng() % 3) - 1;
        for (int b = static_cast<int>(addr_bytes(a.family)) - 1; step && b >= 0; b--) {
            int v = a.bytes[b] + step;
            a.bytes[b] = static_cast<uint8_t>(v);
            if (v >= 0 && v <= 255)
                break;
        }
        return a;
    }
    }
}

} // namespace pwtest
