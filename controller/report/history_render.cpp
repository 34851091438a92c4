#include "report/history_render.hpp"

#include "base/deadline.hpp"
#include "report/render.hpp"
#include "report/table.hpp"

#include <nlohmann/json.hpp>

#include <ostream>

namespace pw {

std::string claim_text(const Claim& c)
{
    std::string s = action_name(c.action);
    if (c.scope.scoped())
        s += " " + c.scope.to_string();
    if (c.expires)
        s += " until " + utc_text(c.expires);
    return s;
}

void print_history(std::ostream& out, const std::vector<VersionRecord>& versions, bool json)
{
    if (json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& v : versions)
            arr.push_back(nlohmann::json::parse(v.to_json()));
        out << nlohmann::json{{"versions", arr}}.dump(2) << "\n";
        return;
    }
    Table t({"VERSION", "TIME", "WHAT", "SOURCES", "CLAIMS", "RULES", "NEWLY BLOCKED"});
    for (const auto& v : versions)
        t.add({std::to_string(v.version), utc_text(v.time), v.what,
               join(std::vector<std::string>(v.sources.begin(), v.sources.end()), ","),
               "+" + std::to_string(v.claims_added) + " -" + std::to_string(v.claims_removed) + " ~" +
                   std::to_string(v.claims_changed),
               "+" + std::to_string(v.rules_inserted) + " -" + std::to_string(v.rules_erased) + " ~" +
                   std::to_string(v.rules_updated),
               v.newly_blocked[0] + " v4, " + v.newly_blocked[1] + " v6 /64s"});
    t.print(out);
}

void print_diff(std::ostream& out, uint64_t from, uint64_t to, const std::vector<PrefixDiff>& diff, bool json)
{
    if (json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& d : diff) {
            nlohmann::json claims = nlohmann::json::array();
            for (const auto& c : d.claims)
                claims.push_back({{"source", c.source},
                                  {"before", c.before ? nlohmann::json(claim_text(*c.before)) : nlohmann::json(nullptr)},
                                  {"after", c.after ? nlohmann::json(claim_text(*c.after)) : nlohmann::json(nullptr)}});
            arr.push_back({{"prefix", d.prefix.to_string()}, {"claims", claims}});
        }
        out << nlohmann::json{{"from", from}, {"to", to}, {"prefixes", arr}}.dump(2) << "\n";
        return;
    }
    out << "# version " << from << " -> " << to << ": " << diff.size() << " prefix"
        << (diff.size() == 1 ? "" : "es") << " differ\n";
    for (const auto& d : diff)
        for (const auto& c : d.claims) {
            if (!c.before)
                out << "+ " << d.prefix.to_string() << "  " << c.source << "  " << claim_text(*c.after) << "\n";
            else if (!c.after)
                out << "- " << d.prefix.to_string() << "  " << c.source << "  " << claim_text(*c.before) << "\n";
            else
                out << "~ " << d.prefix.to_string() << "  " << c.source << "  " << claim_text(*c.before) << " -> "
                    << claim_text(*c.after) << "\n";
        }
}

} // namespace pw
