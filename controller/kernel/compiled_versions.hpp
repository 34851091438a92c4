// The compiled engine's rule versions: per family two mmappable word
// arrays (compiled_vN_0/1, created, sized and pinned here) behind a
// one-slot outer map (compiled_vN), and compiled_results, shared by every
// copy and both families, which maps a leaf's result index to its rule id
// and counter slot. A version is built in userspace (CompiledCopy: the
// verdict and rule sections): a patch of the regions a change touches, or
// the whole table. It is written
// into the idle copy, swapped in, and written again into the copy now idle,
// so both copies stay laid out alike and the next patch fits both. A rule
// keeps its result index (the rule store records it) and so its counter
// slot across versions.
#pragma once

#include "base/prefix.hpp"
#include "base/unique_fd.hpp"
#include "kernel/capacity.hpp"
#include "kernel/compiled_copy.hpp"
#include "kernel/mapped_words.hpp"
#include "kernel/pin_layout.hpp"
#include "store/rules.hpp"

#include <array>
#include <chrono>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

namespace pw {

class CompiledVersions {
public:
    // A version ready to publish, per family: a whole table or a patch of
    // the regions a change touched (nullopt: the family is unchanged).
    struct Plan {
        std::array<std::optional<CompiledCopy>, 2> tables;
        std::array<bool, 2> whole{};
        std::array<size_t, 2> rules{}; // rules in force after it, per family
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

    // A free result index for a new rule, searched from *hint (advanced
    // past it); the result word is set to the rule id. Throws Error when
    // every index is taken.
    uint32_t take_result(uint32_t rule_id, uint32_t& hint) const;
    // Frees result indices (their rules are gone from the table in force,
    // or their version was never published).
    void free_results(const std::vector<uint32_t>& indices) const;
    // Word 0 of the results (never a rule's): the rule store generation.
    void set_generation(uint64_t g) const
    {
        if (!results_map_.words().empty())
            results_map_.words()[PW_CL_RESULT_GENERATION] = g;
    }
    // Makes every result word i hold owner[i] (0: free), keeping the
    // counter slot of a word whose owner stays (recovery).
    void reset_results(const std::vector<uint32_t>& owner) const;
    // Rule id -> result index as the results hold them (upgrades).
    std::vector<std::pair<uint32_t, uint32_t>> results_in_use() const;

    // Plans the families `changed` names prefixes of: a patch of their
    // regions when both copies are laid out alike and it fits in their
    // free room, else the whole table (also when `whole` says so). Throws
    // Error (nothing written) when a whole table is over its room.
    Plan plan(const RuleView& next, const std::array<std::vector<Prefix>, 2>& changed,
              const std::array<bool, 2>& whole) const;
    // Writes the plan into the idle copies and swaps them in, then brings
    // the now idle copies to the same version. Returns false when that
    // last step could not be done (rebuild() fixes it).
    // `swapped` (when given) is set just before each swap is issued.
    bool publish(const Plan& plan, std::chrono::steady_clock::time_point* swapped = nullptr) const;

    // Whether every family with rules has a table published (maps created
    // by an older version have none until rebuilt).
    bool ready(const RuleView& rules) const;
    // The table in force, and the results (tests, benchmarks, lookup).
    std::span<const uint64_t> table(Family f) const;
    std::span<const uint64_t> results() const { return results_map_.words(); }
    std::optional<CompiledMatch> lookup(const Address& a, const L4* packet = nullptr) const;

private:
    int active_copy(Family f) const;
    void swap_to(Family f, int copy) const;

    std::array<UniqueFd, 2> outer_;                      // [family]
    std::array<std::array<UniqueFd, 2>, 2> copies_;      // [family][copy]
    std::span<uint64_t> copy_words(Family f, int copy) const;

    std::array<uint32_t, 2> words_{};                    // [family]: words per copy
    mutable std::array<std::array<MappedWords, 2>, 2> mapped_; // [family][copy], on first use
    UniqueFd results_;
    MappedWords results_map_;
};

} // namespace pw
