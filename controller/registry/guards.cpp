#include "registry/guards.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstring>

namespace pw {

Guards::Span Guards::span(const Prefix& p)
{
    unsigned __int128 first = 0, last = 0;
    Address a = p.first(), b = p.last();
    for (unsigned i = 0; i < addr_bytes(p.family); i++) {
        first = first << 8 | a.bytes[i];
        last = last << 8 | b.bytes[i];
    }
    return {p.family, first, last};
}

std::vector<Prefix> host_addresses()
{
    std::vector<Prefix> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0)
        return out;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr)
            continue;
        Address a;
        if (i->ifa_addr->sa_family == AF_INET) {
            auto* s = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
            std::memcpy(a.bytes.data(), &s->sin_addr, 4);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            auto* s = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
            a.family = Family::v6;
            std::memcpy(a.bytes.data(), &s->sin6_addr, 16);
        } else {
            continue;
        }
        out.push_back(Prefix::of(a, max_len(a.family)));
    }
    freeifaddrs(list);
    return out;
}

Guards::Guards(const GuardOptions& o) : opts_(o)
{
    static const std::pair<const char*, const char*> builtin_protected[] = {
        {"127.0.0.0/8", "loopback"},        {"::1/128", "loopback"},
        {"169.254.0.0/16", "link-local"},   {"fe80::/10", "link-local"},
        {"224.0.0.0/4", "multicast"},       {"ff00::/8", "multicast"},
        {"0.0.0.0/32", "unspecified"},      {"::/128", "unspecified"},
        {"255.255.255.255/32", "broadcast"},
    };
    for (const auto& [p, why] : builtin_protected)
        protected_.emplace_back(Prefix::parse(p), why);
    for (const auto& p : o.protect)
        protected_.emplace_back(p, "--protect");
    if (o.protect_host_addresses)
        for (const auto& p : host_addresses())
            protected_.emplace_back(p, "address of this host");

    // Private and reserved space that blocklists sometimes carry (FireHOL
    // level1 lists 10/8 and 192.168/16). Documentation ranges are not in
    // it: labs and tests use them.
    static const char* const reserved[] = {
        "0.0.0.0/8",     "10.0.0.0/8",      "100.64.0.0/10", "172.16.0.0/12",
        "192.168.0.0/16", "198.18.0.0/15",  "240.0.0.0/4",   "fc00::/7",
        "::/8",
    };
    for (const char* p : reserved)
        private_.emplace_back(Prefix::parse(p), "private or reserved");
    for (const auto& [p, _] : protected_)
        protected_spans_.push_back(span(p));
    for (const auto& [p, _] : private_)
        private_spans_.push_back(span(p));
}

std::optional<Refusal> Guards::check_block(const Prefix& p) const
{
    unsigned min = p.family == Family::v4 ? opts_.min_len_v4 : opts_.min_len_v6;
    if (p.len < min)
        return Refusal{p, "min-prefix-len",
                       "broader than /" + std::to_string(min) + " (--min-prefix-len-" +
                           family_tag(p.family) + ")"};
    Span s = span(p);
    for (size_t i = 0; i < protected_spans_.size(); i++)
        if (overlaps(s, protected_spans_[i]))
            return Refusal{p, "protected", "overlaps " + protected_[i].first.to_string() + " (" +
                                               protected_[i].second + ")"};
    if (!opts_.allow_private)
        for (size_t i = 0; i < private_spans_.size(); i++)
            if (overlaps(s, private_spans_[i]))
                return Refusal{p, "private", "overlaps " + private_[i].first.to_string() + " (" +
                                                 private_[i].second + "; --allow-private)"};
    return std::nullopt;
}

} // namespace pw
