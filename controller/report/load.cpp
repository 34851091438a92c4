#include "report/load.hpp"

#include "base/error.hpp"
#include "report/rates.hpp"

#include <algorithm>

namespace pw {

LoadSnapshot read_load(const Dataplane& dp)
{
    LoadSnapshot s;
    s.at = std::chrono::steady_clock::now();
    s.by_rule = dp.rule_counters();
    s.global = dp.global_counters();
    return s;
}

SortKey parse_sort_key(std::string_view s)
{
    if (s == "packets") return SortKey::packets;
    if (s == "bytes") return SortKey::bytes;
    if (s == "pps") return SortKey::pps;
    if (s == "bps") return SortKey::bps;
    throw Error("bad sort key '" + std::string(s) + "': expected packets, bytes, pps or bps");
}

double sort_value(const RuleLoad& r, SortKey k)
{
    switch (k) {
    case SortKey::packets: return static_cast<double>(r.counter.packets);
    case SortKey::bytes: return static_cast<double>(r.counter.bytes);
    case SortKey::pps: return r.pps;
    case SortKey::bps: return r.bps;
    }
    return 0;
}

namespace {

bool before_in_rank(const RuleLoad& a, const RuleLoad& b, SortKey k)
{
    double x = sort_value(a, k), y = sort_value(b, k);
    if (x != y)
        return x > y;
    if (a.counter.packets != b.counter.packets)
        return a.counter.packets > b.counter.packets;
    return a.rule->prefix < b.rule->prefix;
}

} // namespace

void keep_top(std::vector<RuleLoad>& v, size_t k, SortKey key)
{
    auto cmp = [key](const RuleLoad& a, const RuleLoad& b) { return before_in_rank(a, b, key); };
    if (k == 0 || k >= v.size()) {
        std::sort(v.begin(), v.end(), cmp);
        return;
    }
    std::partial_sort(v.begin(), v.begin() + static_cast<long>(k), v.end(), cmp);
    v.resize(k);
}

std::vector<RuleLoad> rank_rules(const RuleView& rules, const LoadSnapshot& now,
                                 const LoadSnapshot* before, SortKey key, size_t top,
                                 const std::string& source)
{
    std::vector<RuleLoad> out;
    double dt = before ? seconds_between(before->at, now.at) : 0;
    auto row = [&](uint32_t id, const Counter& c) {
        RuleLoad l{std::nullopt, c, 0, 0};
        if (before) {
            Rate r = rate_between(before->by_rule[id], c, dt);
            l.pps = r.pps;
            l.bps = r.bps;
        }
        return l;
    };
    if (!source.empty()) {
        // Every rule of the source, traffic or not.
        rules.for_each_claim(source, [&](const Prefix& p, const Claim&) {
            if (auto r = rules.find(p)) {
                RuleLoad l = row(r->id, now.by_rule[r->id]);
                l.rule = std::move(r);
                out.push_back(std::move(l));
            }
            return true;
        });
    } else {
        // Rank (value, id) pairs first, without the rules: small and cache
        // friendly for a million entries; build the full rows for the
        // ones kept only.
        std::vector<std::pair<double, uint32_t>> ranked;
        ranked.reserve(now.by_rule.size());
        now.by_rule.for_each([&](uint32_t id, const Counter& c) {
            if (id != 0)
                ranked.emplace_back(sort_value(row(id, c), key), id);
        });
        // Ids of rules that are gone may still hold counts: keep a margin.
        size_t want = top == 0 ? ranked.size() : std::min(ranked.size(), top * 2 + 16);
        std::partial_sort(ranked.begin(), ranked.begin() + static_cast<long>(want), ranked.end(),
                          [](const auto& a, const auto& b) {
                              return a.first != b.first ? a.first > b.first : a.second < b.second;
                          });
        for (size_t i = 0; i < want; i++)
            if (auto r = rules.find_id(ranked[i].second)) {
                RuleLoad l = row(ranked[i].second, now.by_rule[ranked[i].second]);
                l.rule = std::move(r);
                out.push_back(std::move(l));
            }
    }
    keep_top(out, top, key);
    return out;
}

std::vector<SourceLoad> source_loads(const RuleView& rules, const LoadSnapshot& now,
                                     const std::map<std::string, Counter>& retired)
{
    std::map<std::string, SourceLoad> by;
    for (const auto& [name, c] : retired) {
        by[name].source = name;
        by[name].counter += c;
    }
    // Actions of every source with claims (from its claim counts).
    for (const auto& [name, counts] : rules.sources()) {
        SourceLoad& s = by[name];
        s.source = name;
        for (Action a : kActions) {
            if (counts[0][action_slot(a)] + counts[1][action_slot(a)] == 0)
                continue;
            s.action = s.action.empty() ? action_name(a) : "mixed";
        }
    }
    // Counts of the rules with traffic, read by id.
    now.by_rule.for_each([&](uint32_t id, const Counter& c) {
        if (auto r = id ? rules.find_id(id) : std::nullopt)
            for (const auto& [name, claim] : r->claims)
                by[name].counter += c;
    });
    std::vector<SourceLoad> out;
    for (auto& [name, s] : by) {
        if (s.action.empty())
            s.action = "none"; // only retired counts left
        out.push_back(std::move(s));
    }
    return out;
}

} // namespace pw
