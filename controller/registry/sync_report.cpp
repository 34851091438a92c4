#include "registry/sync_report.hpp"

#include "registry/collateral_guard.hpp"

#include <nlohmann/json.hpp>

#include <ostream>

namespace pw {

nlohmann::json to_json(const SyncReport& r)
{
    using nlohmann::json;
    json rej = json::array();
    for (const auto& x : r.rejections)
        rej.push_back({{"line", x.line}, {"reason", x.reason}});
    json refused = json::array();
    for (const auto& x : r.refusals)
        refused.push_back({{"prefix", x.prefix.to_string()}, {"guard", x.guard}, {"detail", x.detail}});
    json broad = json::array();
    for (const auto& p : r.broadest_added)
        broad.push_back(p.to_string());
    return {{"source", r.source},
            {"format", format_name(r.format)},
            {"not_modified", r.not_modified},
            {"applied", r.applied},
            {"refused", r.refused.empty() ? json(nullptr) : json(r.refused)},
            {"refused_by", r.refused_guard.empty() ? json(nullptr) : json(r.refused_guard)},
            {"collateral", r.collateral ? collateral_json(*r.collateral) : json(nullptr)},
            {"bytes", r.bytes},
            {"entries", {{"lines", r.lines}, {"parsed", r.parsed}, {"rejected", r.rejected},
                         {"duplicates", r.duplicates}, {"host_bits_masked", r.masked},
                         {"rejections", rej}}},
            {"source_entries", {{"added", r.added}, {"removed", r.removed}, {"unchanged", r.unchanged},
                                {"renewed", r.renewed}}},
            {"rules", {{"inserted", r.rules_inserted}, {"updated", r.rules_updated},
                       {"erased", r.rules_erased}}},
            {"guards", {{"refused", r.refused_by_guard}, {"refusals", refused}}},
            {"impact", {{"ipv4_addresses_blocked_before", r.v4_blocked_before},
                        {"ipv4_addresses_blocked_after", r.v4_blocked_after},
                        {"ipv4_addresses_newly_blocked", r.v4_newly_blocked},
                        {"ipv6_64s_blocked_after", r.v6_64s_blocked_after},
                        {"ipv6_64s_newly_blocked", r.v6_64s_newly_blocked},
                        {"broadest_added", broad}}},
            {"seconds", r.seconds},
            {"phases", r.phases},
            {"warnings", r.warnings},
            {"commit_to_in_force_seconds", r.in_force_seconds}};
}

void print_report(std::ostream& out, const SyncReport& r)
{
    for (const auto& w : r.warnings)
        out << "WARNING: source " << r.source << ": " << w << "\n";
    out << "source " << r.source << ": ";
    if (r.not_modified) {
        out << "not modified (HTTP 304 or unchanged file), " << r.seconds * 1000 << " ms";
        if (r.renewed)
            out << ", " << r.renewed << " expiring claims renewed";
        out << "\n";
        return;
    }
    out << format_name(r.format) << ", " << r.bytes << " bytes, " << r.lines << " lines\n";
    out << "  entries: " << r.parsed << " parsed, " << r.rejected << " rejected, " << r.duplicates
        << " duplicates, " << r.masked << " with host bits masked\n";
    for (size_t i = 0; i < r.rejections.size() && i < 5; i++)
        out << "    line " << r.rejections[i].line << ": " << r.rejections[i].reason << "\n";
    if (r.rejected > 5)
        out << "    ... " << r.rejected - 5 << " more (--json lists 100)\n";
    out << "  this source: +" << r.added << " -" << r.removed << " =" << r.unchanged;
    if (r.renewed)
        out << " (" << r.renewed << " expiring claims renewed)";
    out << "\n";
    for (const auto& [g, n] : r.refused_by_guard)
        out << "  guard " << g << " refused " << n << " entries\n";
    for (size_t i = 0; i < r.refusals.size() && i < 5; i++)
        out << "    " << r.refusals[i].prefix.to_string() << ": " << r.refusals[i].detail << "\n";
    out << "  IPv4 addresses blocked: " << r.v4_blocked_before << " -> " << r.v4_blocked_after
        << " (" << r.v4_newly_blocked << " newly blocked)\n";
    out << "  IPv6 /64s blocked: " << r.v6_64s_blocked_after << " (" << r.v6_64s_newly_blocked
        << " newly)\n";
    if (!r.broadest_added.empty()) {
        out << "  broadest blocks added:";
        for (const auto& p : r.broadest_added)
            out << " " << p.to_string();
        out << "\n";
    }
    if (r.collateral)
        print_collateral(out, *r.collateral, "  ", "provider space newly blocked");
    if (!r.refused.empty())
        out << "  REFUSED: " << r.refused << "; nothing changed\n";
    else if (r.applied)
        out << "  applied: rules +" << r.rules_inserted << " -" << r.rules_erased << " ~"
            << r.rules_updated << " in " << static_cast<int>(r.seconds * 1000) << " ms (in force "
            << static_cast<int>(r.in_force_seconds * 1000) << " ms into the commit)\n";
    else
        out << "  dry run: nothing changed\n";
}

nlohmann::json to_json(const SyncOutcome& o)
{
    if (o.report)
        return to_json(*o.report);
    return {{"source", o.source}, {"error", o.error}};
}

void print_outcome(std::ostream& out, std::ostream& err, const SyncOutcome& o)
{
    if (o.report)
        print_report(out, *o.report);
    else
        err << "prefixwall: sync " << o.source << ": " << o.error
            << "; the last good version stays in force\n";
}

std::string summary_line(const SyncOutcome& o)
{
    if (!o.report)
        return "sync " + o.source + " failed: " + o.error + "; the last good version stays in force";
    const SyncReport& r = *o.report;
    std::string ms = std::to_string(static_cast<int>(r.seconds * 1000)) + " ms";
    std::string s;
    if (r.not_modified) {
        s = "sync " + r.source + ": not modified in " + ms;
        if (r.renewed)
            s += ", " + std::to_string(r.renewed) + " expiring claims renewed";
    } else {
        s = "sync " + r.source + ": +" + std::to_string(r.added) + " -" + std::to_string(r.removed) +
            " =" + std::to_string(r.unchanged) + " in " + ms;
        if (r.rejected)
            s += ", " + std::to_string(r.rejected) + " lines rejected";
        for (const auto& [g, n] : r.refused_by_guard)
            s += ", guard " + g + " refused " + std::to_string(n);
        if (r.collateral && !r.collateral->empty())
            s += ", provider space newly blocked: " + units_text(Family::v4, r.collateral->units[0]) + ", " +
                 units_text(Family::v6, r.collateral->units[1]);
        if (!r.refused.empty())
            s += "; REFUSED: " + r.refused + "; the last good version stays in force";
    }
    for (const auto& w : r.warnings)
        s += "; WARNING: " + w;
    return s;
}

} // namespace pw
