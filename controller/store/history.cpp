#include "store/history.hpp"

#include "base/error.hpp"

#include <nlohmann/json.hpp>

#include <map>

namespace pw {

std::string VersionRecord::to_json() const
{
    return nlohmann::json{{"version", version},
                          {"time", time},
                          {"what", what},
                          {"sources", sources},
                          {"claims", {{"added", claims_added}, {"removed", claims_removed}, {"changed", claims_changed}}},
                          {"rules", {{"inserted", rules_inserted}, {"erased", rules_erased}, {"updated", rules_updated}}},
                          {"ipv4_addresses_newly_blocked", newly_blocked[0]},
                          {"ipv6_64s_newly_blocked", newly_blocked[1]},
                          {"ipv4_addresses_blocked_after", blocked_after[0]},
                          {"ipv6_64s_blocked_after", blocked_after[1]}}
        .dump();
}

VersionRecord VersionRecord::from_json(const std::string& text)
{
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error("rule store: an unreadable version record");
    VersionRecord v;
    v.version = j.value("version", uint64_t{0});
    v.time = j.value("time", int64_t{0});
    v.what = j.value("what", "");
    if (auto s = j.find("sources"); s != j.end() && s->is_array())
        for (const auto& x : *s)
            if (x.is_string())
                v.sources.insert(x.get<std::string>());
    auto c = j.value("claims", nlohmann::json::object()), r = j.value("rules", nlohmann::json::object());
    v.claims_added = c.value("added", size_t{0});
    v.claims_removed = c.value("removed", size_t{0});
    v.claims_changed = c.value("changed", size_t{0});
    v.rules_inserted = r.value("inserted", size_t{0});
    v.rules_erased = r.value("erased", size_t{0});
    v.rules_updated = r.value("updated", size_t{0});
    v.newly_blocked = {j.value("ipv4_addresses_newly_blocked", "0"), j.value("ipv6_64s_newly_blocked", "0")};
    v.blocked_after = {j.value("ipv4_addresses_blocked_after", "0"), j.value("ipv6_64s_blocked_after", "0")};
    return v;
}

namespace {

using Key = std::pair<Prefix, std::string>;

// For each (prefix, source): the first before and the last after.
std::map<Key, std::pair<std::optional<Claim>, std::optional<Claim>>>
net(const std::vector<std::pair<uint64_t, ClaimDelta>>& deltas, const std::string& source)
{
    std::map<Key, std::pair<std::optional<Claim>, std::optional<Claim>>> out;
    for (const auto& [_, d] : deltas) {
        if (!source.empty() && d.source != source)
            continue;
        auto [it, fresh] = out.try_emplace({d.prefix, d.source}, d.before, d.after);
        if (!fresh)
            it->second.second = d.after;
    }
    return out;
}

} // namespace

std::vector<ClaimDelta> state_at(const std::vector<std::pair<uint64_t, ClaimDelta>>& deltas_after,
                                 const std::string& source)
{
    std::vector<ClaimDelta> out;
    for (auto& [key, ba] : net(deltas_after, source))
        if (ba.first != ba.second) // (changed and changed back: nothing to do)
            out.push_back({key.first, key.second, ba.second, ba.first});
    return out;
}

std::vector<PrefixDiff> diff_versions(const std::vector<std::pair<uint64_t, ClaimDelta>>& deltas_after)
{
    std::vector<PrefixDiff> out;
    for (auto& [key, ba] : net(deltas_after, "")) {
        if (ba.first == ba.second)
            continue;
        if (out.empty() || out.back().prefix != key.first)
            out.push_back({key.first, {}});
        out.back().claims.push_back({key.first, key.second, ba.first, ba.second});
    }
    return out;
}

} // namespace pw
