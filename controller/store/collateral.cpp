#include "store/collateral.hpp"

#include <algorithm>

namespace pw {

void ProviderSpace::add(const std::string& provider, const std::string& label, const Prefix& p)
{
    if (std::find(providers_.begin(), providers_.end(), provider) == providers_.end())
        providers_.push_back(provider);
    auto& pending = pending_[fam_index(p.family)];
    const Range r = range_of(p);
    pending[{provider, ""}].push_back(r);
    if (!label.empty())
        pending[{provider, label}].push_back(r);
    prefixes_++;
}

void ProviderSpace::finish()
{
    for (int fi = 0; fi < 2; fi++) {
        std::vector<Range> every;
        for (auto& [key, ranges] : pending_[fi]) {
            size_t index = static_cast<size_t>(
                std::find(providers_.begin(), providers_.end(), key.first) - providers_.begin());
            groups_[fi].push_back({index, key.second, merged(std::move(ranges))});
            if (key.second.empty())
                every.insert(every.end(), groups_[fi].back().ranges.begin(), groups_[fi].back().ranges.end());
        }
        pending_[fi].clear();
        all_[fi] = merged(std::move(every));
    }
}

std::vector<Range> intersection(const std::vector<Range>& a, const std::vector<Range>& b)
{
    std::vector<Range> out;
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        u128 first = std::max(a[i].first, b[j].first), last = std::min(a[i].last, b[j].last);
        if (first <= last)
            out.push_back({first, last});
        if (a[i].last < b[j].last)
            i++;
        else
            j++;
    }
    return out;
}

namespace {

// The units of `pieces` (sorted, disjoint) inside [r.first, r.last]:
// binary search to the first, then the pieces overlapping r.
u128 units_within(const std::vector<Range>& pieces, Range r, unsigned shift)
{
    auto it = std::lower_bound(pieces.begin(), pieces.end(), r.first,
                               [](const Range& x, u128 v) { return x.last < v; });
    std::vector<Range> clipped;
    for (; it != pieces.end() && it->first <= r.last; ++it)
        clipped.push_back({std::max(it->first, r.first), std::min(it->last, r.last)});
    return count_units(clipped, shift);
}

} // namespace

Collateral count_collateral(const ProviderSpace& space, const std::array<std::vector<Range>, 2>& blocked,
                            const std::vector<Prefix>& prefixes)
{
    Collateral c;
    std::array<std::vector<Range>, 2> pieces;
    for (Family f : {Family::v4, Family::v6}) {
        const int fi = fam_index(f);
        const unsigned shift = f == Family::v4 ? 0 : 64;
        pieces[fi] = intersection(blocked[fi], space.all(f));
        c.units[fi] = count_units(pieces[fi], shift);
        if (pieces[fi].empty())
            continue;
        // Each group's ranges looked up in the pieces: the cost follows
        // the provider lists and what is hit, not the blocked ranges.
        std::vector<CollateralCount> totals, labels;
        for (const auto& g : space.groups(f)) {
            std::vector<Range> hit;
            for (const Range& r : g.ranges) {
                auto it = std::lower_bound(pieces[fi].begin(), pieces[fi].end(), r.first,
                                           [](const Range& x, u128 v) { return x.last < v; });
                for (; it != pieces[fi].end() && it->first <= r.last; ++it)
                    hit.push_back({std::max(it->first, r.first), std::min(it->last, r.last)});
            }
            u128 units = count_units(hit, shift);
            if (units == 0)
                continue;
            CollateralCount row{space.providers()[g.provider], g.label, f, units};
            (g.label.empty() ? totals : labels).push_back(std::move(row));
        }
        auto larger = [](const CollateralCount& a, const CollateralCount& b) {
            return a.units != b.units ? a.units > b.units : a.label < b.label;
        };
        std::sort(totals.begin(), totals.end(), larger);
        std::sort(labels.begin(), labels.end(), larger);
        for (auto& t : totals) {
            c.counts.push_back(t);
            for (const auto& l : labels)
                if (l.provider == t.provider)
                    c.counts.push_back(l);
        }
    }
    if (c.empty())
        return c;
    for (const Prefix& p : prefixes) {
        const int fi = fam_index(p.family);
        u128 units = units_within(pieces[fi], range_of(p), p.family == Family::v4 ? 0 : 64);
        if (units)
            c.largest.emplace_back(p, units);
    }
    std::sort(c.largest.begin(), c.largest.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (c.largest.size() > 5)
        c.largest.resize(5);
    return c;
}

std::string units_text(Family f, u128 units)
{
    return to_string(units) + (f == Family::v4 ? " IPv4 addresses" : " IPv6 /64s");
}

std::string collateral_summary(const Collateral& c, size_t providers)
{
    std::string out;
    size_t shown = 0;
    for (const auto& row : c.counts) {
        if (!row.label.empty() || shown == providers)
            continue;
        out += (shown++ ? ", " : "") + row.provider + " " + units_text(row.family, row.units);
    }
    if (!c.largest.empty()) {
        out += "; largest:";
        for (const auto& [p, units] : c.largest)
            out += " " + p.to_string() + " (" + to_string(units) + ")";
    }
    return out;
}

} // namespace pw
