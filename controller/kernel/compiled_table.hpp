// The compiled engine's table (layout in include/prefixwall/abi.h, PW_CL_*):
// built in userspace from one family of a rule set, written into an
// mmapped BPF array, and walked by bpf/lib/compiled.h. compiled_lookup()
// is the same walk in userspace, for `lookup` and the tests.
#pragma once

#include "base/prefix.hpp"
#include "store/rules.hpp"

#include "prefixwall/abi.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace pw {

// A rule's index in compiled_results (1..), by rule id.
using ResultIndex = std::function<uint32_t(uint32_t rule_id)>;

class CompiledTable {
public:
    // Builds the table for family f of `rules`; leaves point at the
    // result index index_of gives each rule.
    static CompiledTable build(const RuleSet& rules, Family f, const ResultIndex& index_of);

    // Words the published table takes (header, direct, nodes, leaves, tails).
    size_t words() const;
    size_t rules() const { return rules_; }
    size_t nodes() const { return nodes_.size() / PW_CL_NODE_WORDS; }
    size_t tails() const { return tails_.size() / 4; }

    // Writes the table into out; throws Error when out is smaller than words().
    void write(std::span<uint64_t> out) const;

private:
    struct Entry;
    uint32_t build_node(const std::vector<Entry>& e, size_t b, size_t end, unsigned off,
                        uint32_t dflt, uint32_t at);
    uint32_t slot_leaf(const std::vector<Entry>& e, size_t b, size_t end, uint32_t dflt,
                       bool& internal);

    std::vector<uint32_t> direct_;
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
