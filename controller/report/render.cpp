#include "report/render.hpp"

#include "base/deadline.hpp"
#include "kernel/capture_slots.hpp"

#include "kernel/compiled_copy.hpp"
#include "report/rates.hpp"
#include "report/table.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace pw {
using nlohmann::json;

std::string join(const std::vector<std::string>& v, const char* sep)
{
    std::string s;
    for (const auto& x : v)
        s += (s.empty() ? "" : sep) + x;
    return s;
}

std::string action_text(const Rule& r)
{
    ScopedPart part = r.scoped();
    return part.scoped() ? part.to_string() : action_name(r.action());
}

namespace {

std::string comments(const Rule& r)
{
    std::vector<std::string> c;
    for (const auto& [_, claim] : r.claims)
        if (!claim.comment.empty())
            c.push_back(claim.comment);
    return join(c, "; ");
}

// "cli 2026-12-02T08:00:00Z": the claims that expire, with their source.
std::string expiries(const Rule& r)
{
    std::vector<std::string> e;
    for (const auto& [source, claim] : r.claims)
        if (claim.expires)
            e.push_back(source + " " + utc_text(claim.expires));
    return join(e, ", ");
}

json claims_json(const Rule& r)
{
    json claims = json::array();
    for (const auto& [source, c] : r.claims)
        claims.push_back({{"source", source}, {"action", action_name(c.action)}, {"comment", c.comment},
                          {"scope", c.scope.to_string()},
                          {"expires", c.expires ? json(utc_text(c.expires)) : json(nullptr)}});
    return claims;
}

json rule_json(const Rule& r)
{
    return {{"id", r.id},
            {"prefix", r.prefix.to_string()},
            {"action", action_name(r.action())},
            {"scoped", r.scoped().to_string()},
            {"sources", r.sources()},
            {"claims", claims_json(r)}};
}

} // namespace

void print_rules(std::ostream& out, const RuleView& rules, const std::string& source, bool as_json)
{
    json arr = json::array();
    Table t({"ID", "PREFIX", "ACTION", "SOURCES", "EXPIRES", "COMMENT"});
    auto row = [&](const Rule& r) {
        if (as_json)
            arr.push_back(rule_json(r));
        else
            t.add({std::to_string(r.id), r.prefix.to_string(), action_text(r),
                   join(r.sources(), ","), expiries(r), comments(r)});
        return true;
    };
    if (source.empty())
        for (Family f : {Family::v4, Family::v6})
            rules.for_each_within(family_root(f), row);
    else
        rules.for_each_claim(source, [&](const Prefix& p, const Claim&) {
            if (auto r = rules.find(p))
                row(*r);
            return true;
        });
    if (as_json)
        out << json{{"rules", arr}}.dump(2) << "\n";
    else
        t.print(out);
}

void print_lookup(std::ostream& out, const LookupResult& r, bool as_json)
{
    const char* verdict = r.verdict;
    if (as_json) {
        json j{{"address", r.address.to_string()}, {"match", nullptr}, {"verdict", verdict}};
        if (r.rule) {
            j["match"] = {{"prefix", r.rule->prefix.to_string()},
                          {"action", action_name(r.rule->action())},
                          {"scoped", r.rule->scoped().to_string()},
                          {"sources", r.rule->sources()},
                          {"claims", claims_json(*r.rule)},
                          {"rule_id", r.rule->id}};
        }
        out << j.dump(2) << "\n";
        return;
    }
    out << r.address.to_string() << ": " << verdict;
    if (r.rule) {
        out << " (" << r.rule->prefix.to_string() << " " << action_text(*r.rule) << ", sources "
            << join(r.rule->sources(), ",");
        // The registry's reference of each claim (a BGP route's peer, AS
        // and communities; an SBL id...).
        for (const auto& [source, c] : r.rule->claims)
            if (!c.comment.empty())
                out << "; " << source << ": " << c.comment;
        const auto now = static_cast<int64_t>(::time(nullptr));
        for (const auto& [source, c] : r.rule->claims)
            if (c.expires)
                out << "; " << source << " expires " << utc_text(c.expires) << " ("
                    << relative_text(c.expires, now) << ")";
        out << ")";
    } else
        out << " (no rule)";
    out << "\n";
}

void print_status(std::ostream& out, const Controller& c, bool as_json)
{
    const Dataplane* dp = c.dataplane();
    auto attachments = c.attachments();
    auto rules = c.view();
    json j;
    j["pin_dir"] = dp ? dp->pin_dir().string() : "";
    j["captures"] = dp ? running_captures(dp->pin_dir()) : 0;
    j["interfaces"] = json::array();
    for (const auto& a : attachments)
        j["interfaces"].push_back({{"interface", a.ifname},
                                   {"ifindex", a.ifindex},
                                   {"mode", mode_name(a.mode)},
                                   {"match", match_name(a.match)},
                                   {"dry_run", a.dry_run},
                                   {"malformed", a.malformed_drop ? "drop" : "pass"},
                                   {"engine", engine_name(a.engine)},
                                   {"reject_rate", a.reject_rate},
                                   {"attached", dp && dp->attached(a.ifname)}});
    for (Family f : {Family::v4, Family::v6}) {
        json fam;
        for (Action a : kActions)
            fam["rules"][action_name(a)] = rules.count(f, a);
        fam["scoped"] = rules.count_scoped(f);
        fam["used"] = rules.count(f);
        fam["capacity"] = dp ? (f == Family::v4 ? dp->capacity().max_rules_v4
                                                : dp->capacity().max_rules_v6)
                             : 0;
        if (dp) {
            auto table = dp->compiled_table(f);
            bool published = CompiledCopy::origin_of(table).published();
            // Both sections, free room left out; the verdict section alone.
            const size_t verdict = CompiledCopy::used_words(table, TableKind::verdict);
            fam["compiled_table_bytes"] = (CompiledCopy::used_words(table, TableKind::rules) + verdict) * 8;
            fam["compiled_verdict_bytes"] = verdict * 8;
            fam["compiled_table_rules"] = published ? table[PW_CL_H_RULES] : 0;
            fam["compiled_table_capacity_bytes"] = table.size() * 8;
        }
        j["families"][family_name(f)] = fam;
    }
    j["counter_slots"] = dp ? dp->capacity().counter_slots : 0;
    // Result entries held (one per rule when nothing is orphaned): a scan
    // of the results array, 8 bytes per rule of capacity.
    size_t in_use = 0;
    if (dp) {
        auto results = dp->compiled_results();
        for (size_t i = 1; i < results.size(); i++) // word 0: the generation
            in_use += results[i] != 0;
    }
    j["compiled_results_in_use"] = in_use;
    j["rule_store_bytes"] = c.store_bytes();
    if (as_json) {
        out << j.dump(2) << "\n";
        return;
    }
    if (!dp) {
        out << "no prefixwall maps pinned (nothing attached, no rules)\n";
        return;
    }
    out << "pin dir: " << dp->pin_dir().string() << "\n";
    if (unsigned n = j["captures"].get<unsigned>())
        out << "captures running: " << n << " (of " << PW_CAPTURE_SLOTS << ")\n";
    out << "\ninterfaces:\n";
    if (attachments.empty())
        out << "  (none attached)\n";
    Table ti({"  INTERFACE", "MODE", "MATCH", "ENGINE", "DRY-RUN", "MALFORMED", "REJECT/S/CPU", "STATE"});
    for (const auto& i : j["interfaces"])
        ti.add({"  " + i["interface"].get<std::string>(), i["mode"], i["match"], i["engine"],
                i["dry_run"].get<bool>() ? "yes" : "no", i["malformed"], i["reject_rate"].dump(),
                i["attached"].get<bool>() ? "attached" : "MISSING"});
    if (!attachments.empty())
        ti.print(out);
    out << "\nrules:\n";
    Table tr({"  FAMILY", "BLOCK", "REJECT", "ALLOW", "MONITOR", "SCOPED", "USED", "CAPACITY", "TABLE MiB"});
    for (Family f : {Family::v4, Family::v6}) {
        const json& fam = j["families"][family_name(f)];
        char table[48];
        std::snprintf(table, sizeof(table), "%.1f/%.0f",
                      fam["compiled_table_bytes"].get<double>() / 1048576,
                      fam["compiled_table_capacity_bytes"].get<double>() / 1048576);
        tr.add({std::string("  ") + family_name(f), fam["rules"]["block"].dump(),
                fam["rules"]["reject"].dump(), fam["rules"]["allow"].dump(), fam["rules"]["monitor"].dump(),
                fam["scoped"].dump(), fam["used"].dump(), fam["capacity"].dump(), table});
    }
    tr.print(out);
}

std::string human(double v)
{
    const char* units[] = {"", "k", "M", "G", "T"};
    int u = 0;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f%s" : "%.1f%s", v, units[u]);
    return buf;
}

void print_stats(std::ostream& out, const StatsView& v, bool as_json)
{
    bool rates = v.before != nullptr;
    double dt = rates ? seconds_between(v.before->at, v.now->at) : 0;
    Counter overflow;
    overflow = v.now->by_rule[0];

    if (as_json) {
        json rules = json::array();
        for (const auto& r : v.rules) {
            json j{{"id", r.rule->id},
                   {"prefix", r.rule->prefix.to_string()},
                   {"action", action_name(r.rule->action())},
                   {"scoped", r.rule->scoped().to_string()},
                   {"sources", r.rule->sources()},
                   {"packets", r.counter.packets},
                   {"bytes", r.counter.bytes}};
            if (rates) {
                j["pps"] = r.pps;
                j["bps"] = r.bps;
            }
            rules.push_back(j);
        }
        json sources = json::array();
        for (const auto& s : v.sources)
            sources.push_back({{"source", s.source}, {"action", s.action},
                               {"packets", s.counter.packets}, {"bytes", s.counter.bytes}});
        json totals = json::array();
        for (unsigned f = 0; f < PW_FAMILY_MAX; f++)
            for (unsigned o = 0; o < PW_OUTCOME_MAX; o++) {
                const Counter& x = v.now->global[global_index(f, o)];
                json t{{"family", family_label(f)}, {"outcome", outcome_name(o)},
                       {"packets", x.packets}, {"bytes", x.bytes}};
                if (rates) {
                    const Counter& p = v.before->global[global_index(f, o)];
                    Rate r = rate_between(p, x, dt);
                    t["pps"] = r.pps;
                    t["bps"] = r.bps;
                }
                totals.push_back(t);
            }
        json j{{"rules", rules}, {"sources", sources}, {"totals", totals},
               {"unattributed", {{"packets", overflow.packets}, {"bytes", overflow.bytes}}}};
        if (rates)
            j["interval_seconds"] = dt;
        out << j.dump(2) << "\n";
        return;
    }
    std::vector<std::string> head{"PREFIX", "ACTION", "SOURCES", "PACKETS", "BYTES"};
    if (rates) {
        head.push_back("PPS");
        head.push_back("BPS");
    }
    Table t(head);
    for (const auto& r : v.rules) {
        std::vector<std::string> row{r.rule->prefix.to_string(), action_text(*r.rule),
                                     join(r.rule->sources(), ","), std::to_string(r.counter.packets),
                                     std::to_string(r.counter.bytes)};
        if (rates) {
            row.push_back(human(r.pps));
            row.push_back(human(r.bps));
        }
        t.add(row);
    }
    t.print(out);
    if (overflow.packets)
        out << "(" << overflow.packets << " packets hit rules after every counter slot was "
            << "taken: counted in the totals only; raise --counter-slots)\n";
    if (!v.sources.empty()) {
        out << "\n";
        Table ts({"SOURCE", "ACTION", "PACKETS", "BYTES"});
        for (const auto& s : v.sources)
            ts.add({s.source, s.action, std::to_string(s.counter.packets), std::to_string(s.counter.bytes)});
        ts.print(out);
    }
    out << "\n";
    std::vector<std::string> th{"FAMILY", "OUTCOME", "PACKETS", "BYTES"};
    if (rates) {
        th.push_back("PPS");
        th.push_back("BPS");
    }
    Table tt(th);
    for (unsigned f = 0; f < PW_FAMILY_MAX; f++)
        for (unsigned o = 0; o < PW_OUTCOME_MAX; o++) {
            const Counter& x = v.now->global[global_index(f, o)];
            if (x.packets == 0)
                continue;
            std::vector<std::string> row{family_label(f), outcome_name(o), std::to_string(x.packets),
                                         std::to_string(x.bytes)};
            if (rates) {
                const Counter& p = v.before->global[global_index(f, o)];
                Rate r = rate_between(p, x, dt);
                row.push_back(human(r.pps));
                row.push_back(human(r.bps));
            }
            tt.add(row);
        }
    tt.print(out);
}

} // namespace pw
