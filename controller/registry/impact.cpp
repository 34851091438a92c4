#include "registry/impact.hpp"

#include <algorithm>

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

std::vector<Range> blocked_ranges(const RuleSet& rules, Family f)
{
    // Walk prefixes in order (start address, then shorter first): a stack
    // of enclosing prefixes; each stretch of addresses takes the action of
    // the innermost prefix covering it.
    struct Open {
        u128 last;
        bool block;
    };
    std::vector<Open> stack;
    std::vector<Range> out;
    u128 pos = 0;
    auto close_until = [&](u128 limit, bool all) {
        while (!stack.empty() && (all || stack.back().last < limit)) {
            Open o = stack.back();
            stack.pop_back();
            if (o.block && pos <= o.last)
                push(out, pos, o.last);
            pos = o.last + 1;
        }
    };
    for (const auto& [p, r] : rules.rules()) {
        if (p.family != f)
            continue;
        u128 first = to_u128(p.first()), last = to_u128(p.last());
        close_until(first, false);
        if (!stack.empty() && stack.back().block && pos < first)
            push(out, pos, first - 1);
        pos = first;
        stack.push_back({last, r.action() == Action::block});
    }
    close_until(0, true);
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
