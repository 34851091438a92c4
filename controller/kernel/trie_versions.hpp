// The reference engine's rule versions: per family two kernel LPM tries
// (rules_vN_0/1, created and pinned here) behind a one-slot outer map
// (active_vN) that points at the one in force. A change is written into
// the idle trie, the outer slot is swapped (the update waits for running
// programs), and the now idle trie catches up.
#pragma once

#include "base/prefix.hpp"
#include "base/scope.hpp"
#include "base/unique_fd.hpp"
#include "kernel/capacity.hpp"
#include "kernel/pin_layout.hpp"
#include "store/rules.hpp"

#include "prefixwall/abi.h"

#include <array>
#include <filesystem>
#include <utility>
#include <vector>

namespace pw {

// One entry change for the data plane. action 0 erases the prefix;
// prev_rule_id is the id the prefix had before (0: it was absent).
struct EntryWrite {
    Prefix prefix;
    uint32_t rule_id = 0;
    uint8_t action = 0;
    uint32_t prev_rule_id = 0;
    ScopedPart scoped; // with a scope: how the rule's packets are judged (store/rules.hpp)
};

class TrieVersions {
public:
    // Opens both copies of each family, creating a missing one (first run,
    // or a crash during it) with `want`'s size or its sibling's, and points
    // an empty outer slot at copy 0.
    static TrieVersions open(const std::filesystem::path& pin_dir, const Capacity& want);

    // How many rules a family's tries hold at most.
    uint32_t limit(Family f) const { return limits_[fam_index(f)]; }
    int active_copy(Family f) const;
    // Writes `writes` of family f into one copy: deletions first (they free
    // room), then insertions, in batches. A full trie throws an Error naming
    // the option that sizes it.
    void write_copy(Family f, int copy, const std::vector<EntryWrite>& writes) const;
    void swap_to(Family f, int copy) const;
    // Every prefix in one copy (the one in force when copy < 0).
    std::vector<std::pair<Prefix, pw_rule_value>> entries(Family f, int copy = -1) const;
    // Makes both copies of both families equal `rules`.
    void rebuild(const RuleView& rules) const;

private:
    int fd(Family f, int copy) const { return copies_[fam_index(f)][copy].get(); }

    std::array<UniqueFd, 2> outer_;                 // [family]
    std::array<std::array<UniqueFd, 2>, 2> copies_; // [family][copy]
    std::array<uint32_t, 2> limits_{};
};

} // namespace pw
