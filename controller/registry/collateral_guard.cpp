#include "registry/collateral_guard.hpp"

#include <nlohmann/json.hpp>

#include <ostream>

namespace pw {

std::string collateral_refusal_text(const Collateral& c, const GuardOptions& g)
{
    std::string over;
    if (c.units[0] > g.max_collateral_v4)
        over = units_text(Family::v4, c.units[0]) + " of provider space, more than --max-collateral " +
               to_string(g.max_collateral_v4);
    if (c.units[1] > g.max_collateral_v6)
        over += (over.empty() ? "" : " and ") + units_text(Family::v6, c.units[1]) +
                " of provider space, more than --max-collateral-v6 " + to_string(g.max_collateral_v6);
    return "would newly block " + over + " (" + collateral_summary(c) + ")";
}

CommitCheck collateral_check(const GuardOptions& g, const ChangeSet& changes, CollateralResult* out)
{
    if (!g.providers || g.providers->empty())
        return {};
    std::vector<Prefix> blocks;
    for (const ClaimChange& c : changes)
        if (c.claim && stops_traffic(c.claim->action))
            blocks.push_back(c.prefix);
    return [g, out, blocks = std::move(blocks)](const RuleView&, const RuleView&, const CommitReport& r) {
        Collateral c = count_collateral(*g.providers, r.fresh_ranges, blocks);
        out->counted = true;
        out->collateral = c;
        if (c.units[0] <= g.max_collateral_v4 && c.units[1] <= g.max_collateral_v6)
            return;
        std::string why = collateral_refusal_text(c, g);
        if (g.force) {
            out->forced = why;
            return;
        }
        throw CollateralRefused(why + "; --force to apply", r, std::move(c));
    };
}

void print_collateral(std::ostream& out, const Collateral& c, const std::string& indent, const std::string& title)
{
    out << indent << title << ": " << units_text(Family::v4, c.units[0]) << ", "
        << units_text(Family::v6, c.units[1]) << "\n";
    for (size_t i = 0; i < c.counts.size(); i++) {
        const CollateralCount& t = c.counts[i];
        if (!t.label.empty())
            continue;
        out << indent << "  " << t.provider << ": " << units_text(t.family, t.units);
        size_t shown = 0, more = 0;
        for (size_t k = i + 1; k < c.counts.size() && !c.counts[k].label.empty(); k++)
            if (shown < 5)
                out << (shown++ ? ", " : " (") << c.counts[k].label << " " << to_string(c.counts[k].units);
            else
                more++;
        if (more)
            out << ", " << more << " more";
        out << (shown ? ")" : "") << "\n";
    }
    if (!c.largest.empty()) {
        out << indent << "  largest:";
        for (const auto& [p, units] : c.largest)
            out << " " << p.to_string() << " (" << to_string(units) << ")";
        out << "\n";
    }
}

nlohmann::json collateral_json(const Collateral& c)
{
    using nlohmann::json;
    json providers = json::array(), largest = json::array();
    for (const CollateralCount& row : c.counts) {
        json j{{"provider", row.provider}, {"family", family_name(row.family)}, {"units", to_string(row.units)}};
        if (!row.label.empty())
            j["label"] = row.label;
        providers.push_back(std::move(j));
    }
    for (const auto& [p, units] : c.largest)
        largest.push_back({{"prefix", p.to_string()}, {"units", to_string(units)}});
    return {{"ipv4_addresses", to_string(c.units[0])},
            {"ipv6_64s", to_string(c.units[1])},
            {"providers", providers},
            {"largest", largest}};
}

} // namespace pw
