// A rule's L4 scope: which packets of its prefix the rule applies to (a
// protocol, and for TCP and UDP destination ports and a source port range).
// Parsing (`--proto`/`--port`/`--sport`, `proto=`/`port=`/`sport=` in
// sources), its text, the data plane's form (struct pw_scope) and the
// match, as bpf/lib/scope.h makes it.
#pragma once

#include "base/prefix.hpp"

#include "prefixwall/abi.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace pw {

struct PortRange {
    uint16_t lo = 0, hi = 0;
    bool operator==(const PortRange&) const = default;
};

// What of a packet a scope looks at. ports: the packet has an L4 header
// with ports (TCP or UDP, not a fragment after the first).
struct L4 {
    uint8_t proto = 0;
    bool ports = false;
    uint16_t sport = 0, dport = 0;
};

struct Scope {
    uint8_t proto = 0; // IPPROTO_*; 0: no scope, every packet
    uint8_t ndports = 0;
    std::array<PortRange, PW_SCOPE_PORT_RANGES> dports{};
    PortRange sport; // 0-0: any

    bool scoped() const { return proto != 0; }
    bool has_ports() const { return ndports || sport.hi; }
    // "" (no scope), "tcp", "tcp/443,8000-8080", "udp/53 sport 1024-65535".
    std::string to_string() const;
    // The words of the three options; empty words are not given. Throws
    // Error naming the bad word.
    static Scope parse(std::string_view proto, std::string_view dports, std::string_view sport);
    // The inverse of to_string() (throws Error).
    static Scope parse_text(std::string_view text);
    // Throws Error when the protocol is not of the prefix's family (icmp on
    // an IPv6 prefix, icmpv6 on an IPv4 one).
    void check_family(const Prefix& p) const;
    pw_scope to_abi() const;
    static Scope from_abi(const pw_scope& s);
    bool fits(const L4& packet) const;
    bool operator==(const Scope&) const = default;
};

// "tcp", "udp", "icmp", "icmpv6" (or the number); the number of a name.
std::string proto_name(uint8_t proto);
uint8_t parse_proto(std::string_view text);

} // namespace pw
