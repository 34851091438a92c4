#include "feed/bird_export.hpp"

#include <algorithm>
#include <ostream>

namespace pw {

namespace {

// BIRD protocol names take letters, digits and underscores.
std::string protocol_name(const std::string& source, const char* tag)
{
    std::string n = "prefixwall_";
    for (char c : source)
        n += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return n + "_" + tag;
}

std::string route_attributes(const Community& c)
{
    if (c.large)
        return "bgp_large_community.add((" + std::to_string(c.a) + ", " + std::to_string(c.b) + ", " +
               std::to_string(c.c) + "));";
    return "bgp_community.add((" + std::to_string(c.a) + ", " + std::to_string(c.b) + "));";
}

} // namespace

BirdExportCounts write_bird_static(std::ostream& out, const SortedEntries& entries,
                                   const BirdExportOptions& o)
{
    BirdExportCounts n;
    for (const auto& e : entries) {
        if (e.action != Action::block)
            n.skipped++;
        else if (e.prefix.family == Family::v4)
            n.v4++;
        else
            n.v6++;
    }
    out << "# prefixwall export of source '" << o.source << "': " << n.v4 << " IPv4 and " << n.v6
        << " IPv6 routes with community " << o.community.to_string() << "; " << n.skipped
        << " allow or monitor entries not exported.\n"
        << "# For BIRD 2: include this file, export these protocols to the edges' sessions.\n";
    const std::string attrs = route_attributes(o.community);
    for (Family f : {Family::v4, Family::v6}) {
        out << "protocol static " << protocol_name(o.source, family_tag(f)) << " {\n"
            << "  " << (f == Family::v4 ? "ipv4" : "ipv6") << ";\n";
        for (const auto& e : entries)
            if (e.action == Action::block && e.prefix.family == f)
                out << "  route " << e.prefix.to_string() << " blackhole { " << attrs << " };\n";
        out << "}\n";
    }
    return n;
}

} // namespace pw
