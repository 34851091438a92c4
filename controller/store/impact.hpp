// What a rule set blocks, in addresses: the ranges whose longest match is
// a block rule, their size, and what one version blocks that another does
// not. A change's impact is found inside the regions it touches (the rules
// in them and the rule covering each), not over the whole set.
#pragma once

#include "store/rules.hpp"

#include <array>
#include <optional>
#include <vector>

namespace pw {

using u128 = unsigned __int128;

struct Range {
    u128 first, last; // inclusive; IPv4 in the low 32 bits
};
// A prefix's addresses as a range.
Range range_of(const Prefix& p);
// Sorted, disjoint and merged (overlapping or adjacent ranges joined).
std::vector<Range> merged(std::vector<Range> r);

// Disjoint, sorted, merged ranges of addresses a packet to which would be
// dropped (longest match is block): in a whole family, or in one region.
std::vector<Range> blocked_ranges(const RuleView& rules, Family f);
std::vector<Range> blocked_ranges(const RuleView& rules, const Prefix& region);
// The same, the rule covering the region given.
std::vector<Range> blocked_ranges(const RuleView& rules, const Prefix& region,
                                  const std::optional<RuleEntry>& cover);

// What a change does to the blocked space of one family: addresses (IPv4)
// or /64s (IPv6) blocked inside the changed regions before and after, and
// those newly blocked.
struct FamilyImpact {
    u128 before = 0, after = 0, fresh = 0;
    std::vector<Range> fresh_ranges; // the newly blocked addresses, sorted
};
// `changed`: the prefixes whose entries changed (any family). Regions are
// those prefixes (IPv6 ones widened to /64), each counted once; with many
// changes the whole family is walked instead.
std::array<FamilyImpact, 2> change_impact(const RuleView& before, const RuleView& after,
                                          const std::vector<Prefix>& changed);
// Addresses in `a` that are not in `b`.
std::vector<Range> difference(const std::vector<Range>& a, const std::vector<Range>& b);
// Number of addresses (shift 0) or of /64s touched (shift 64).
u128 count_units(const std::vector<Range>& r, unsigned shift = 0);
std::string to_string(u128 v);

} // namespace pw
