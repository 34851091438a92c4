// Provider space and collateral damage: the published address ranges of
// clouds and CDNs (by provider, and by the region or service their lists
// name), and how much of them a set of blocked ranges covers. A sync's or
// an add's newly blocked ranges (store/impact.hpp) are counted here for
// the collateral guard; `prefixwall collateral` counts rules in force.
#pragma once

#include "store/impact.hpp"

#include <array>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pw {

class ProviderSpace {
public:
    // A provider's prefix; `label` is its region or service ("" when the
    // list names none). Call finish() once all are added.
    void add(const std::string& provider, const std::string& label, const Prefix& p);
    void finish();

    bool empty() const { return providers_.empty(); }
    const std::vector<std::string>& providers() const { return providers_; }
    size_t prefixes() const { return prefixes_; }

    // One provider's ranges (label "": its whole space), sorted and merged.
    struct Group {
        size_t provider; // index into providers()
        std::string label;
        std::vector<Range> ranges;
    };
    const std::vector<Group>& groups(Family f) const { return groups_[fam_index(f)]; }
    // Every provider's space together, sorted and merged.
    const std::vector<Range>& all(Family f) const { return all_[fam_index(f)]; }

private:
    std::vector<std::string> providers_;
    std::map<std::pair<std::string, std::string>, std::vector<Range>> pending_[2];
    std::array<std::vector<Group>, 2> groups_;
    std::array<std::vector<Range>, 2> all_;
    size_t prefixes_ = 0;
};

// Provider space covered, in IPv4 addresses or IPv6 /64s.
struct CollateralCount {
    std::string provider, label; // label "": the provider's total
    Family family = Family::v4;
    u128 units = 0;
};
struct Collateral {
    std::array<u128, 2> units{}; // any provider's space (counted once)
    // Providers' totals, largest first, each followed by its labels
    // (largest first); rows of zero are left out.
    std::vector<CollateralCount> counts;
    // The prefixes given that cover most of it (at most 5), largest first.
    std::vector<std::pair<Prefix, u128>> largest;

    bool empty() const { return units[0] == 0 && units[1] == 0; }
};

// What `blocked` (per family: sorted, disjoint ranges) covers of `space`;
// `prefixes` are those to name as the largest (the change's blocks, a
// source's claims).
Collateral count_collateral(const ProviderSpace& space, const std::array<std::vector<Range>, 2>& blocked,
                            const std::vector<Prefix>& prefixes);

// Addresses in both (sorted, disjoint lists).
std::vector<Range> intersection(const std::vector<Range>& a, const std::vector<Range>& b);

// "3.0.0.0/8 (16777216)"-style one-liners: the units with their name, and
// the largest provider rows, for errors and logs.
std::string units_text(Family f, u128 units);
std::string collateral_summary(const Collateral& c, size_t providers = 3);

} // namespace pw
