// One section of the compiled engine's copy (layout in
// include/prefixwall/abi.h, PW_CL_*): the rule table or the verdict table
// of one family, built in userspace from a rule view, written into its
// part of an mmapped BPF array (kernel/compiled_copy.hpp puts the two
// sections of a copy together), and walked by bpf/lib/compiled.h.
// section_leaf() is the same walk in userspace, for `lookup` and the tests.
#pragma once

#include "base/prefix.hpp"
#include "base/scope.hpp"
#include "store/rules.hpp"

#include <algorithm>

#include "prefixwall/abi.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace pw {

// A rule's index in compiled_results (1..).
using ResultIndex = std::function<uint32_t(const RuleEntry& rule)>;

// What a section's leaves say: the rule (action and result index), or the
// action alone, with equal neighbours merged (see abi.h).
enum class TableKind { rules, verdict };

constexpr unsigned direct_bits(TableKind k)
{
    return k == TableKind::rules ? PW_CL_RULE_DIRECT_BITS : PW_CL_VERDICT_DIRECT_BITS;
}

// Key bits a node judges, and the words a node takes.
constexpr unsigned stride(TableKind k) { return k == TableKind::rules ? PW_CL_RULE_STRIDE : PW_CL_VERDICT_STRIDE; }
constexpr unsigned node_words(TableKind k) { return PW_CL_NODE_WORDS(stride(k)); }

// Where a patch's nodes, leaves and tails start: after those in use.
struct TableOrigin {
    uint32_t nodes = 0, leaves = 0, tails = 0;
    bool operator==(const TableOrigin&) const = default;
};

// A section (or a patch of one) built in userspace. A build covers regions:
// prefixes of at most the section's direct bits whose direct entries, and
// the subtrees below them, it recomputes from the rules inside the region
// and the rule covering it. The whole family is the region /0 (build()); a
// change touches the regions of the prefixes it changes (patch()), whose
// nodes, leaves and tails go into the free room after the ones in use.
class CompiledTable {
public:
    // The whole section for family f of `rules`.
    static CompiledTable build(const RuleView& rules, Family f, TableKind kind, const ResultIndex& index_of);
    // The regions of `changed` (prefixes of family f), rebuilt from `rules`,
    // placed after `origin`.
    static CompiledTable patch(const RuleView& rules, Family f, TableKind kind,
                               const std::vector<Prefix>& changed, TableOrigin origin,
                               const ResultIndex& index_of);

    // Words a whole section takes with no free room (header, direct, nodes,
    // leaves, tails).
    size_t words() const;
    size_t rules() const { return rules_; }
    size_t nodes() const { return nodes_.size() / node_words(kind_); }
    size_t tails() const { return tails_.size() / 4; }
    size_t leaves() const { return leaves_.size(); }
    // Direct entries the build recomputed.
    size_t direct_entries() const;

    // Writes a whole section into out (the words of the section, its
    // offsets relative to out's first word), with free room after each
    // region for later patches; throws Error when out is smaller than words().
    void write(std::span<uint64_t> out, size_t rules_in_force) const;
    // Whether a patch fits in a section: laid out from the same origin,
    // with room left in every region.
    bool fits(std::span<const uint64_t> out) const;
    // Writes a patch into a section laid out from the same origin; false
    // (and nothing written) when a region has no room left for it.
    bool apply(std::span<uint64_t> out, size_t rules_in_force) const;

    // The origin of a published section (the used counts in its header).
    static TableOrigin origin_of(std::span<const uint64_t> section);
    // Words a published section has in use (its free room left out; 0
    // when nothing is published).
    static size_t used_words(std::span<const uint64_t> section, TableKind kind);

    struct Entry;

private:
    explicit CompiledTable(TableKind kind) : kind_(kind) {}
    void build_region(const RuleView& rules, Family f, const Prefix& region, const ResultIndex& index_of);
    void place(Family f, const Prefix& region, uint32_t dflt, const std::vector<Entry>& entries);
    uint32_t build_node(const std::vector<Entry>& e, size_t b, size_t end, unsigned off,
                        uint32_t dflt, uint32_t at);
    uint32_t slot_leaf(const std::vector<Entry>& e, size_t b, size_t end, uint32_t dflt,
                       bool& internal);
    uint32_t node_index() const { return origin_.nodes + static_cast<uint32_t>(nodes()); }

    TableKind kind_;
    unsigned direct_bits_ = direct_bits(kind_);
    TableOrigin origin_;
    std::vector<std::pair<uint32_t, std::vector<uint32_t>>> direct_; // (first index, entries)
    std::vector<uint64_t> nodes_;  // node_words(kind_) per node
    std::vector<uint32_t> leaves_;
    std::vector<uint64_t> tails_;  // 4 words per tail
    size_t rules_ = 0;
};

// The leaf a published section holds for address a (0: none; nullopt: the
// section is not published or not well formed). As bpf/lib/compiled.h.
std::optional<uint32_t> section_leaf(std::span<const uint64_t> section, TableKind kind, const Address& a);
// A rule section's leaf with its scope records followed for a packet: a
// leaf that is not scoped as it is; a scoped one, its own leaf when the
// packet fits its scope (or packet is null), else the leaf it falls back to.
std::optional<uint32_t> scope_leaf(std::span<const uint64_t> section, uint32_t leaf, const L4* packet);

} // namespace pw
