// The compiled engine's rule versions: per family two mmappable word
// arrays (compiled_vN_0/1, created, sized and pinned here) behind a
// one-slot outer map (compiled_vN), and compiled_results, shared by every
// copy and both families, which maps a leaf's result index to its rule id
// and counter slot. A version is built in userspace (CompiledTable), written
// into the idle copy and swapped in; result indices of rules that stay are
// kept, so a rule keeps its counter slot across versions.
#pragma once

#include "base/prefix.hpp"
#include "base/unique_fd.hpp"
#include "kernel/capacity.hpp"
#include "kernel/compiled_table.hpp"
#include "kernel/mapped_words.hpp"
#include "kernel/pin_layout.hpp"
#include "store/rules.hpp"

#include <array>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

namespace pw {

class CompiledVersions {
public:
    // A version ready to publish: the tables of the families that change,
    // and the result indices taken for rules new to the table.
    struct Plan {
        std::array<std::optional<CompiledTable>, 2> tables;
        std::vector<uint32_t> index; // rule id -> result index (0: none)
        std::vector<uint32_t> taken; // indices new in this plan
    };

    // Creates and pins the missing table copies (before any program load:
    // copy 0 of each family is the inner-map template); a missing copy is
    // made the size of its sibling, or `want`'s.
    static void create_missing(const std::filesystem::path& pin_dir, const Capacity& want);
    // Opens and maps every copy and the results, and points an empty outer
    // slot at copy 0 (an unpublished table matches nothing).
    static CompiledVersions open(const std::filesystem::path& pin_dir);

    // MiB of one copy of a family's table.
    uint32_t table_mb(Family f) const;

    // Builds the tables of the `touched` families from `next` and checks
    // them against their room; takes free result indices for new rules.
    // Throws Error (nothing taken) when a table or the results are full.
    Plan plan(const RuleSet& next, const std::array<bool, 2>& touched) const;
    // Gives back the indices a plan took (its version was not published).
    void abandon(const Plan& plan) const;
    // Writes the plan's tables into the idle copies and swaps them in, then
    // frees the result indices of rules `next` no longer has.
    void publish(const Plan& plan, const RuleSet& next) const;

    // Whether every family with rules has a table published (maps created
    // by an older version have none until rebuilt).
    bool ready(const RuleSet& rules) const;
    // The table in force, and the results (tests, benchmarks, lookup).
    std::span<const uint64_t> table(Family f) const;
    std::span<const uint64_t> results() const { return results_map_.words(); }
    std::optional<CompiledMatch> lookup(const Address& a) const;

private:
    int active_copy(Family f) const;
    void swap_to(Family f, int copy) const;

    std::array<UniqueFd, 2> outer_;                      // [family]
    std::array<std::array<UniqueFd, 2>, 2> copies_;      // [family][copy]
    std::array<std::array<MappedWords, 2>, 2> mapped_;   // [family][copy]
    UniqueFd results_;
    MappedWords results_map_;
};

} // namespace pw
