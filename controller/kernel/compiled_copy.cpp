#include "kernel/compiled_copy.hpp"

#include "base/error.hpp"

#include "prefixwall/abi.h"

namespace pw {

namespace {

// Where the verdict section starts in a published copy (0: nowhere).
size_t verdict_base(std::span<const uint64_t> copy)
{
    if (copy.size() < PW_CL_HEADER_WORDS || copy[PW_CL_H_MAGIC] != PW_CL_MAGIC)
        return 0;
    const uint64_t base = copy[PW_CL_H_VERDICT];
    return base >= PW_CL_HEADER_WORDS && base < copy.size() ? static_cast<size_t>(base) : 0;
}

} // namespace

CompiledCopy CompiledCopy::build(const RuleView& rules, Family f, const ResultIndex& index_of)
{
    return CompiledCopy(CompiledTable::build(rules, f, TableKind::rules, index_of),
                        CompiledTable::build(rules, f, TableKind::verdict, index_of));
}

CompiledCopy CompiledCopy::patch(const RuleView& rules, Family f, const std::vector<Prefix>& changed,
                                 const CopyOrigin& origin, const ResultIndex& index_of)
{
    return CompiledCopy(CompiledTable::patch(rules, f, TableKind::rules, changed, origin.rules, index_of),
                        CompiledTable::patch(rules, f, TableKind::verdict, changed, origin.verdict, index_of));
}

void CompiledCopy::write(std::span<uint64_t> copy, size_t rules_in_force) const
{
    const size_t need_r = rules_.words(), need_v = verdict_.words();
    if (copy.size() < need_r + need_v)
        throw Error("compiled table: " + std::to_string(need_r + need_v) + " words do not fit in " +
                    std::to_string(copy.size()));
    const size_t spare = copy.size() - need_r - need_v;
    const size_t base = need_r + spare / (need_r + need_v) * need_r +
                        spare % (need_r + need_v) * need_r / (need_r + need_v);
    verdict_.write(copy.subspan(base), rules_in_force);
    rules_.write(copy.first(base), rules_in_force);
    copy[PW_CL_H_VERDICT] = base;
}

bool CompiledCopy::fits(std::span<const uint64_t> copy) const
{
    return rules_.fits(rule_section(copy)) && verdict_.fits(verdict_section(copy));
}

bool CompiledCopy::apply(std::span<uint64_t> copy, size_t rules_in_force) const
{
    if (!fits(copy))
        return false;
    const size_t base = verdict_base(copy);
    return verdict_.apply(copy.subspan(base), rules_in_force) && rules_.apply(copy.first(base), rules_in_force);
}

CopyOrigin CompiledCopy::origin_of(std::span<const uint64_t> copy)
{
    return CopyOrigin{CompiledTable::origin_of(rule_section(copy)),
                      CompiledTable::origin_of(verdict_section(copy))};
}

std::span<const uint64_t> CompiledCopy::rule_section(std::span<const uint64_t> copy)
{
    const size_t base = verdict_base(copy);
    return base ? copy.first(base) : std::span<const uint64_t>{};
}

std::span<const uint64_t> CompiledCopy::verdict_section(std::span<const uint64_t> copy)
{
    const size_t base = verdict_base(copy);
    return base ? copy.subspan(base) : std::span<const uint64_t>{};
}

size_t CompiledCopy::used_words(std::span<const uint64_t> copy, TableKind kind)
{
    return CompiledTable::used_words(kind == TableKind::rules ? rule_section(copy) : verdict_section(copy), kind);
}

std::optional<uint8_t> compiled_verdict(std::span<const uint64_t> copy, const Address& a)
{
    auto leaf = section_leaf(CompiledCopy::verdict_section(copy), TableKind::verdict, a);
    if (!leaf)
        return std::nullopt;
    return static_cast<uint8_t>(*leaf >> PW_CL_ACTION_SHIFT & PW_CL_ACTION_MASK);
}

std::optional<CompiledMatch> compiled_lookup(std::span<const uint64_t> copy,
                                             std::span<const uint64_t> results, const Address& a,
                                             const L4* packet)
{
    // The verdict; the rule section only when the verdict's leaf does not
    // name the rule itself.
    auto leaf = section_leaf(CompiledCopy::verdict_section(copy), TableKind::verdict, a);
    if (!leaf || (*leaf >> PW_CL_ACTION_SHIFT & PW_CL_ACTION_MASK) == PW_ACTION_NONE)
        return std::nullopt;
    // A scoped rule's record is in the verdict (a rule section's scoped
    // leaf is never reached: it names no rule).
    if ((*leaf >> PW_CL_ACTION_SHIFT & PW_CL_ACTION_MASK) == PW_ACTION_SCOPED)
        leaf = scope_leaf(CompiledCopy::verdict_section(copy), *leaf, packet);
    else if (!(*leaf & PW_CL_INDEX_MASK))
        leaf = section_leaf(CompiledCopy::rule_section(copy), TableKind::rules, a);
    if (!leaf)
        return std::nullopt;
    const uint32_t idx = *leaf & PW_CL_INDEX_MASK;
    if (!idx || idx >= results.size())
        return std::nullopt;
    const uint64_t result = results[idx];
    CompiledMatch m;
    m.rule_id = static_cast<uint32_t>(result);
    m.counter_slot = static_cast<uint32_t>(result >> 32);
    m.action = static_cast<uint8_t>(*leaf >> PW_CL_ACTION_SHIFT & PW_CL_ACTION_MASK);
    return m;
}

} // namespace pw
