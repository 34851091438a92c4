// Version history: every commit that changes a claim is a version, with
// what it changed claim by claim (each claim before and after). The rule
// store keeps the last N versions (store/rule_db.hpp: `versions`,
// `deltas`); from them `diff` says which prefixes differ between two
// versions and `rollback` finds the claims to set back, reading only the
// changes made since, never the whole rule set.
#pragma once

#include "store/rules.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pw {

// One claim as one commit changed it (nullopt: absent).
struct ClaimDelta {
    Prefix prefix;
    std::string source;
    std::optional<Claim> before, after;
};

// One version: the commit's summary.
struct VersionRecord {
    uint64_t version = 0;
    int64_t time = 0;          // unix seconds
    std::string what;          // "sync rkn", "add", "expire", "rollback to 3"...
    std::set<std::string> sources; // whose claims it changed
    size_t claims_added = 0, claims_removed = 0, claims_changed = 0;
    size_t rules_inserted = 0, rules_erased = 0, rules_updated = 0;
    std::array<std::string, 2> newly_blocked, blocked_after; // IPv4 addresses, IPv6 /64s (decimal)

    std::string to_json() const;
    static VersionRecord from_json(const std::string& text); // throws Error
};

// The claims of every (prefix, source) changed after version `from`, as
// they were at `from`: the first `before` of each, in the order deltas
// come (version, then their order in it). With `source`, that source's
// only.
std::vector<ClaimDelta> state_at(const std::vector<std::pair<uint64_t, ClaimDelta>>& deltas_after,
                                 const std::string& source = "");

// One prefix whose claims differ between two versions: each claim that
// differs, as it was (before) and became (after).
struct PrefixDiff {
    Prefix prefix;
    std::vector<ClaimDelta> claims;
};
// The prefixes that differ between version `from` and the last version
// of `deltas_after` (the deltas of the versions after `from`, in order):
// claims changed and changed back are not a difference.
std::vector<PrefixDiff> diff_versions(const std::vector<std::pair<uint64_t, ClaimDelta>>& deltas_after);

} // namespace pw
