// What a rule set blocks, in addresses: the ranges whose longest match is
// a block rule, their size, and what one version blocks that another does
// not. Used for the impact report of every sync.
#pragma once

#include "store/rules.hpp"

#include <vector>

namespace pw {

using u128 = unsigned __int128;

struct Range {
    u128 first, last; // inclusive; IPv4 in the low 32 bits
};

// Disjoint, sorted, merged ranges of addresses a packet to which would be
// dropped (longest match is block).
std::vector<Range> blocked_ranges(const RuleSet& rules, Family f);
// Addresses in `a` that are not in `b`.
std::vector<Range> difference(const std::vector<Range>& a, const std::vector<Range>& b);
// Number of addresses (shift 0) or of /64s touched (shift 64).
u128 count_units(const std::vector<Range>& r, unsigned shift = 0);
std::string to_string(u128 v);

} // namespace pw
