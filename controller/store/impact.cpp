#include "store/impact.hpp"

#include <algorithm>
#include <optional>

namespace pw {

namespace {

u128 to_u128(const Address& a)
{
    u128 v = 0;
    for (unsigned i = 0; i < addr_bytes(a.family); i++)
        v = v << 8 | a.bytes[i];
    return v;
}

void push(std::vector<Range>& out, u128 first, u128 last)
{
    if (!out.empty() && out.back().last + 1 == first)
        out.back().last = last;
    else
        out.push_back({first, last});
}

} // namespace

Range range_of(const Prefix& p)
{
    return {to_u128(p.first()), to_u128(p.last())};
}

std::vector<Range> merged(std::vector<Range> r)
{
    std::sort(r.begin(), r.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
    std::vector<Range> out;
    for (const Range& x : r) {
        if (!out.empty() && (out.back().last >= x.first || out.back().last + 1 == x.first))
            out.back().last = std::max(out.back().last, x.last);
        else
            out.push_back(x);
    }
    return out;
}

std::vector<Range> blocked_ranges(const RuleView& rules, Family f)
{
    return blocked_ranges(rules, family_root(f));
}

std::vector<Range> blocked_ranges(const RuleView& rules, const Prefix& region)
{
    return blocked_ranges(rules, region, region.len ? rules.covering(region) : std::nullopt);
}

std::vector<Range> blocked_ranges(const RuleView& rules, const Prefix& region,
                                  const std::optional<RuleEntry>& cover)
{
    // Walk prefixes in order (start address, then shorter first): a stack
    // of enclosing prefixes, the region itself at the bottom (with the
    // action of the rule covering it); each stretch of addresses takes the
    // action of the innermost prefix covering it.
    struct Open {
        u128 last;
        bool block;
    };
    std::vector<Open> stack;
    std::vector<Range> out;
    u128 pos = to_u128(region.first());
    stack.push_back({to_u128(region.last()), cover && stops_traffic(cover->action)});
    auto close_until = [&](u128 limit, bool all) {
        while (!stack.empty() && (all || stack.back().last < limit)) {
            Open o = stack.back();
            stack.pop_back();
            if (o.block && pos <= o.last)
                push(out, pos, o.last);
            pos = o.last + 1;
        }
    };
    rules.for_each_entry(region, [&](const RuleEntry& r) {
        u128 first = to_u128(r.prefix.first()), last = to_u128(r.prefix.last());
        close_until(first, false);
        if (!stack.empty() && stack.back().block && pos < first)
            push(out, pos, first - 1);
        pos = first;
        stack.push_back({last, stops_traffic(r.action)});
        return true;
    });
    close_until(0, true);
    return out;
}

std::array<FamilyImpact, 2> change_impact(const RuleView& before, const RuleView& after,
                                          const std::vector<Prefix>& changed)
{
    std::array<FamilyImpact, 2> out{};
    for (Family f : {Family::v4, Family::v6}) {
        const unsigned shift = f == Family::v4 ? 0 : 64;
        std::vector<Prefix> regions;
        for (const Prefix& p : changed)
            if (p.family == f)
                regions.push_back(f == Family::v6 && p.len > 64 ? Prefix::of(p.first(), 64) : p);
        if (regions.empty())
            continue;
        std::sort(regions.begin(), regions.end());
        if (regions.size() > std::max(after.count(f), before.count(f)) / 8 + 64)
            regions.assign(1, family_root(f)); // much of the family: one walk
        FamilyImpact& fi = out[fam_index(f)];
        const Prefix* last = nullptr;
        for (const Prefix& q : regions) {
            if (last && last->contains(q))
                continue;
            last = &q;
            // No change covers a region (it would be a region around it):
            // the rule covering it is the same before and after.
            auto cover = q.len ? before.covering(q) : std::nullopt;
            auto b = blocked_ranges(before, q, cover), a = blocked_ranges(after, q, cover);
            fi.before += count_units(b, shift);
            fi.after += count_units(a, shift);
            auto fresh = difference(a, b);
            fi.fresh += count_units(fresh, shift);
            fi.fresh_ranges.insert(fi.fresh_ranges.end(), fresh.begin(), fresh.end());
        }
    }
    return out;
}

std::vector<Range> difference(const std::vector<Range>& a, const std::vector<Range>& b)
{
    std::vector<Range> out;
    size_t j = 0;
    for (Range r : a) {
        u128 cur = r.first;
        bool done = false;
        while (j < b.size() && b[j].last < cur)
            j++;
        for (size_t k = j; k < b.size() && b[k].first <= r.last; k++) {
            if (b[k].first > cur)
                out.push_back({cur, b[k].first - 1});
            if (b[k].last >= r.last) {
                done = true;
                break;
            }
            cur = std::max(cur, b[k].last + 1);
        }
        if (!done)
            out.push_back({cur, r.last});
    }
    return out;
}

u128 count_units(const std::vector<Range>& ranges, unsigned shift)
{
    u128 total = 0;
    bool have_last = false;
    u128 last_unit = 0;
    for (const Range& r : ranges) {
        u128 a = r.first >> shift, b = r.last >> shift;
        if (have_last && a == last_unit)
            a++;
        if (b >= a)
            total += b - a + 1;
        last_unit = b;
        have_last = true;
    }
    return total;
}

std::string to_string(u128 v)
{
    if (v == 0)
        return "0";
    std::string s;
    while (v) {
        s += static_cast<char>('0' + static_cast<int>(v % 10));
        v /= 10;
    }
    std::reverse(s.begin(), s.end());
    return s;
}

} // namespace pw
