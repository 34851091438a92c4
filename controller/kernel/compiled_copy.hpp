// One family's copy of the compiled engine (layout in
// include/prefixwall/abi.h, PW_CL_*): the rule section at word 0 and the
// verdict section after it, built, patched and written together so that a
// copy always holds one version of both. compiled_lookup() walks a copy as
// the data plane does (bpf/lib/compiled.h): the verdict first, the rule
// section only when the verdict is an action whose leaf does not carry the
// rule's result index itself.
#pragma once

#include "kernel/compiled_table.hpp"

#include <cstdint>
#include <optional>
#include <span>

namespace pw {

// Where a patch of a copy starts in each section.
struct CopyOrigin {
    TableOrigin rules, verdict;
    bool operator==(const CopyOrigin&) const = default;
    bool published() const { return rules.nodes != UINT32_MAX && verdict.nodes != UINT32_MAX; }
};

class CompiledCopy {
public:
    // Both sections of family f, whole.
    static CompiledCopy build(const RuleView& rules, Family f, const ResultIndex& index_of);
    // Both sections' regions of `changed`, placed after `origin`.
    static CompiledCopy patch(const RuleView& rules, Family f, const std::vector<Prefix>& changed,
                              const CopyOrigin& origin, const ResultIndex& index_of);

    // Words both sections take with no free room.
    size_t words() const { return rules_.words() + verdict_.words(); }
    const CompiledTable& rules() const { return rules_; }
    const CompiledTable& verdict() const { return verdict_; }

    // Writes both sections into a copy, sharing its spare words between
    // them in proportion to their size; throws Error when it does not fit.
    void write(std::span<uint64_t> copy, size_t rules_in_force) const;
    // Whether a patch fits both sections of a copy laid out from its origin.
    bool fits(std::span<const uint64_t> copy) const;
    // Writes a patch into both sections (the verdict first: the rule
    // section's header is the copy's); false, nothing written, when it does
    // not fit.
    bool apply(std::span<uint64_t> copy, size_t rules_in_force) const;

    static CopyOrigin origin_of(std::span<const uint64_t> copy);
    // The sections of a published copy (empty when it is not published).
    static std::span<const uint64_t> rule_section(std::span<const uint64_t> copy);
    static std::span<const uint64_t> verdict_section(std::span<const uint64_t> copy);
    // Words a published copy has in use, per section (free room left out).
    static size_t used_words(std::span<const uint64_t> copy, TableKind kind);

private:
    CompiledCopy(CompiledTable rules, CompiledTable verdict)
        : rules_(std::move(rules)), verdict_(std::move(verdict)) {}
    CompiledTable rules_, verdict_;
};

// What a published copy says for one address.
struct CompiledMatch {
    uint32_t rule_id = 0;
    uint32_t counter_slot = 0;
    uint8_t action = 0;
};

// The verdict section's action for a (0: none; nullopt: not published).
std::optional<uint8_t> compiled_verdict(std::span<const uint64_t> copy, const Address& a);

// Walks a published copy as the data plane does (the verdict, then the
// rule) and the result words (compiled_results). nullopt: no rule. A rule
// scoped to L4 applies when the packet fits it (or packet is null), else
// the rule it falls back to.
std::optional<CompiledMatch> compiled_lookup(std::span<const uint64_t> copy,
                                             std::span<const uint64_t> results, const Address& a,
                                             const L4* packet = nullptr);

} // namespace pw
