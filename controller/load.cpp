#include "load.hpp"

#include "error.hpp"

#include <algorithm>

namespace pw {

LoadSnapshot read_load(const Dataplane& dp)
{
    LoadSnapshot s;
    s.at = std::chrono::steady_clock::now();
    for (const auto& [id, c] : dp.rule_counters())
        s.by_rule.emplace(id, c);
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

namespace {

double key_of(const RuleLoad& r, SortKey k)
{
    switch (k) {
    case SortKey::packets: return static_cast<double>(r.counter.packets);
    case SortKey::bytes: return static_cast<double>(r.counter.bytes);
    case SortKey::pps: return r.pps;
    case SortKey::bps: return r.bps;
    }
    return 0;
}

bool before_in_rank(const RuleLoad& a, const RuleLoad& b, SortKey k)
{
    double x = key_of(a, k), y = key_of(b, k);
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

std::vector<RuleLoad> rank_rules(const RuleSet& rules, const LoadSnapshot& now,
                                 const LoadSnapshot* before, SortKey key, size_t top,
                                 const std::string& source)
{
    std::vector<RuleLoad> out;
    double dt = before ? std::chrono::duration<double>(now.at - before->at).count() : 0;
    auto add = [&](const Rule* r, const Counter& c) {
        if (!source.empty() && !r->claims.contains(source))
            return;
        RuleLoad l{r, c, 0, 0};
        if (before && dt > 0) {
            Counter prev;
            if (auto it = before->by_rule.find(r->id); it != before->by_rule.end())
                prev = it->second;
            // A count below the previous one means the rule was replaced
            // (counter slots given back): no rate for this interval.
            if (c.packets >= prev.packets && c.bytes >= prev.bytes) {
                l.pps = static_cast<double>(c.packets - prev.packets) / dt;
                l.bps = static_cast<double>(c.bytes - prev.bytes) * 8 / dt;
            }
        }
        out.push_back(l);
    };
    if (!source.empty()) {
        // Every rule of the source, traffic or not.
        for (const auto& [p, r] : rules.rules()) {
            auto it = now.by_rule.find(r.id);
            add(&r, it == now.by_rule.end() ? Counter{} : it->second);
        }
    } else {
        for (const auto& [id, c] : now.by_rule)
            if (id != 0)
                if (const Rule* r = rules.find_id(id))
                    add(r, c);
    }
    keep_top(out, top, key);
    return out;
}

std::vector<SourceLoad> source_loads(const RuleSet& rules, const LoadSnapshot& now,
                                     const std::map<std::string, Counter>& retired)
{
    std::map<std::string, SourceLoad> by;
    for (const auto& [name, c] : retired) {
        by[name].source = name;
        by[name].counter += c;
    }
    // Actions of every source with claims.
    for (const auto& [p, r] : rules.rules())
        for (const auto& [name, claim] : r.claims) {
            SourceLoad& s = by[name];
            s.source = name;
            const char* a = action_name(claim.action);
            if (s.action.empty())
                s.action = a;
            else if (s.action != a)
                s.action = "mixed";
        }
    for (const auto& [id, c] : now.by_rule) {
        if (id == 0)
            continue;
        if (const Rule* r = rules.find_id(id))
            for (const auto& [name, claim] : r->claims)
                by[name].counter += c;
    }
    std::vector<SourceLoad> out;
    for (auto& [name, s] : by) {
        if (s.action.empty())
            s.action = "none"; // only retired counts left
        out.push_back(std::move(s));
    }
    return out;
}

} // namespace pw
