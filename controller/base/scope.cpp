#include "base/scope.hpp"

#include "base/error.hpp"

#include <charconv>
#include <cstring>

namespace pw {

namespace {

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmpv6 = 58;

uint16_t parse_port(std::string_view t, std::string_view whole, const char* what)
{
    unsigned v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || p != t.data() + t.size() || v == 0 || v > 65535)
        throw Error(std::string("bad ") + what + " '" + std::string(whole) +
                    "': expected ports 1-65535 as N or N-M, separated by commas");
    return static_cast<uint16_t>(v);
}

PortRange parse_range(std::string_view t, std::string_view whole, const char* what)
{
    auto dash = t.find('-');
    PortRange r;
    r.lo = parse_port(t.substr(0, dash), whole, what);
    r.hi = dash == std::string_view::npos ? r.lo : parse_port(t.substr(dash + 1), whole, what);
    if (r.hi < r.lo)
        throw Error(std::string("bad ") + what + " '" + std::string(whole) + "': a range runs low to high");
    return r;
}

std::string range_text(PortRange r)
{
    return r.lo == r.hi ? std::to_string(r.lo) : std::to_string(r.lo) + "-" + std::to_string(r.hi);
}

bool in(PortRange r, uint16_t port) { return port >= r.lo && port <= r.hi; }

} // namespace

std::string proto_name(uint8_t proto)
{
    switch (proto) {
    case kTcp: return "tcp";
    case kUdp: return "udp";
    case kIcmp: return "icmp";
    case kIcmpv6: return "icmpv6";
    default: return std::to_string(proto);
    }
}

uint8_t parse_proto(std::string_view t)
{
    for (uint8_t p : {kTcp, kUdp, kIcmp, kIcmpv6})
        if (t == proto_name(p))
            return p;
    throw Error("bad protocol '" + std::string(t) + "': expected tcp, udp, icmp or icmpv6");
}

Scope Scope::parse(std::string_view proto, std::string_view dports, std::string_view sport)
{
    Scope s;
    if (proto.empty()) {
        if (!dports.empty() || !sport.empty())
            throw Error("a port needs a protocol: --proto tcp or --proto udp (proto= in a source)");
        return s;
    }
    s.proto = parse_proto(proto);
    if ((!dports.empty() || !sport.empty()) && s.proto != kTcp && s.proto != kUdp)
        throw Error("ports need tcp or udp, not " + proto_name(s.proto));
    for (size_t at = 0; !dports.empty() && at <= dports.size();) {
        size_t comma = dports.find(',', at);
        if (comma == std::string_view::npos)
            comma = dports.size();
        if (s.ndports == PW_SCOPE_PORT_RANGES)
            throw Error("bad port '" + std::string(dports) + "': at most " +
                        std::to_string(PW_SCOPE_PORT_RANGES) + " ports or ranges");
        s.dports[s.ndports++] = parse_range(dports.substr(at, comma - at), dports, "port");
        at = comma + 1;
    }
    if (!sport.empty())
        s.sport = parse_range(sport, sport, "source port");
    return s;
}

Scope Scope::parse_text(std::string_view text)
{
    std::string_view proto = text, dports, sport;
    if (auto sp = text.find(" sport "); sp != std::string_view::npos) {
        sport = text.substr(sp + 7);
        proto = text.substr(0, sp);
    }
    if (auto slash = proto.find('/'); slash != std::string_view::npos) {
        dports = proto.substr(slash + 1);
        proto = proto.substr(0, slash);
    }
    return parse(proto, dports, sport);
}

std::string Scope::to_string() const
{
    if (!proto)
        return "";
    std::string s = proto_name(proto);
    for (uint8_t i = 0; i < ndports; i++)
        s += (i ? "," : "/") + range_text(dports[i]);
    if (sport.hi)
        s += " sport " + range_text(sport);
    return s;
}

void Scope::check_family(const Prefix& p) const
{
    if ((proto == kIcmp && p.family == Family::v6) || (proto == kIcmpv6 && p.family == Family::v4))
        throw Error(p.to_string() + ": protocol " + proto_name(proto) + " is not of " +
                    family_name(p.family) + " (icmp is IPv4's, icmpv6 IPv6's)");
}

pw_scope Scope::to_abi() const
{
    pw_scope s{};
    s.proto = proto;
    s.dports = ndports;
    s.sport_lo = sport.lo;
    s.sport_hi = sport.hi;
    for (uint8_t i = 0; i < ndports; i++) {
        s.dport_lo[i] = dports[i].lo;
        s.dport_hi[i] = dports[i].hi;
    }
    return s;
}

Scope Scope::from_abi(const pw_scope& a)
{
    Scope s;
    s.proto = a.proto;
    s.ndports = a.dports > PW_SCOPE_PORT_RANGES ? PW_SCOPE_PORT_RANGES : a.dports;
    s.sport = {a.sport_lo, a.sport_hi};
    for (uint8_t i = 0; i < s.ndports; i++)
        s.dports[i] = {a.dport_lo[i], a.dport_hi[i]};
    return s;
}

bool Scope::fits(const L4& p) const
{
    if (!proto)
        return true;
    if (p.proto != proto)
        return false;
    if (!has_ports())
        return true;
    if (!p.ports || (sport.hi && !in(sport, p.sport)))
        return false;
    if (!ndports)
        return true;
    for (uint8_t i = 0; i < ndports; i++)
        if (in(dports[i], p.dport))
            return true;
    return false;
}

} // namespace pw
