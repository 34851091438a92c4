// The compiled engine's table (layout in include/prefixwall/abi.h, PW_CL_*):
// built in userspace from one family of a rule set, written into an
// mmapped BPF array, and walked by bpf/lib/compiled.h. compiled_lookup()
// is the same walk in userspace, for `lookup` and the tests.
#pragma once

#include "base/prefix.hpp"
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

// Where a patch's nodes, leaves and tails start: after those in use.
struct TableOrigin {
    uint32_t nodes = 0, leaves = 0, tails = 0;
    bool operator==(const TableOrigin&) const = default;
};

// A table (or a patch of one) built in userspace. A build covers regions:
// prefixes of at most PW_CL_DIRECT_BITS bits whose direct entries, and the
// subtrees below them, it recomputes from the rules inside the region and
// the rule covering it. The whole family is the region /0 (build()); a
// change touches the regions of the prefixes it changes (patch()), whose
// nodes, leaves and tails go into the free room after the ones in use.
class CompiledTable {
public:
    // The whole table for family f of `rules`.
    static CompiledTable build(const RuleView& rules, Family f, const ResultIndex& index_of);
    // The regions of `changed` (prefixes of family f), rebuilt from `rules`,
    // placed after `origin`.
    static CompiledTable patch(const RuleView& rules, Family f, const std::vector<Prefix>& changed,
                               TableOrigin origin, const ResultIndex& index_of);

    // Words a whole table takes with no free room (header, direct, nodes,
    // leaves, tails).
    size_t words() const;
    size_t rules() const { return rules_; }
    size_t nodes() const { return nodes_.size() / PW_CL_NODE_WORDS; }
    size_t tails() const { return tails_.size() / 4; }
    // Direct entries the build recomputed.
    size_t direct_entries() const;

    // Writes a whole table into out, with free room after each region for
    // later patches; throws Error when out is smaller than words().
    void write(std::span<uint64_t> out, size_t rules_in_force) const;
    // Whether a patch fits in a copy: laid out from the same origin, with
    // room left in every region.
    bool fits(std::span<const uint64_t> out) const;
    // Writes a patch into a copy laid out from the same origin; false (and
    // nothing written) when a region has no room left for it.
    bool apply(std::span<uint64_t> out, size_t rules_in_force) const;

    // The origin of a published copy (the used counts in its header).
    static TableOrigin origin_of(std::span<const uint64_t> table);
    // Words a published copy has in use (its free room left out; 0 when
    // nothing is published).
    static size_t used_words(std::span<const uint64_t> table);

    struct Entry;

private:
    void build_region(const RuleView& rules, Family f, const Prefix& region, const ResultIndex& index_of);
    uint32_t build_node(const std::vector<Entry>& e, size_t b, size_t end, unsigned off,
                        uint32_t dflt, uint32_t at);
    uint32_t slot_leaf(const std::vector<Entry>& e, size_t b, size_t end, uint32_t dflt,
                       bool& internal);
    uint32_t node_index() const { return origin_.nodes + static_cast<uint32_t>(nodes_.size() / PW_CL_NODE_WORDS); }

    TableOrigin origin_;
    std::vector<std::pair<uint32_t, std::vector<uint32_t>>> direct_; // (first index, entries)
    std::vector<uint64_t> nodes_;  // PW_CL_NODE_WORDS per node
    std::vector<uint32_t> leaves_;
    std::vector<uint64_t> tails_;  // 4 words per tail
    size_t rules_ = 0;
};

// What a published table says for one address.
struct CompiledMatch {
    uint32_t rule_id = 0;
    uint32_t counter_slot = 0;
    uint8_t action = 0;
};

// Walks a published table (the words of one copy) and the result words
// (compiled_results). nullopt: no rule.
std::optional<CompiledMatch> compiled_lookup(std::span<const uint64_t> table,
                                             std::span<const uint64_t> results, const Address& a);

} // namespace pw
