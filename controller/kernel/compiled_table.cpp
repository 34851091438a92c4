#include "kernel/compiled_table.hpp"

#include "base/error.hpp"

#include "prefixwall/abi.h"

#include <algorithm>
#include <cstring>

namespace pw {

struct CompiledTable::Entry {
    uint64_t hi = 0, lo = 0; // the prefix as a 128-bit key
    unsigned len = 0;        // in the 128-bit key (IPv4 keeps its length)
    uint32_t leaf = 0;       // action << PW_CL_ACTION_SHIFT | result index
};

namespace {

uint64_t load_be64(const uint8_t* p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void key_of(Family f, const uint8_t* bytes, uint64_t& hi, uint64_t& lo)
{
    if (f == Family::v4) {
        uint64_t a = uint64_t(bytes[0]) << 24 | uint64_t(bytes[1]) << 16 |
                     uint64_t(bytes[2]) << 8 | bytes[3];
        hi = a << 32;
        lo = 0;
    } else {
        hi = load_be64(bytes);
        lo = load_be64(bytes + 8);
    }
}

// The 6 key bits at offset off (18, 24, ..., 126): as bpf/lib/compiled.h.
unsigned chunk(uint64_t hi, uint64_t lo, unsigned off)
{
    if (off <= 58)
        return static_cast<unsigned>(hi >> (58 - off)) & 63;
    if (off < 64)
        return static_cast<unsigned>(hi << (off - 58) | lo >> (122 - off)) & 63;
    if (off <= 122)
        return static_cast<unsigned>(lo >> (122 - off)) & 63;
    return static_cast<unsigned>(lo << (off - 122)) & 63;
}

unsigned popcount(uint64_t x) { return static_cast<unsigned>(__builtin_popcountll(x)); }

uint64_t below_mask(unsigned v) { return (uint64_t(2) << v) - 1; }

bool tail_matches(uint64_t hi, uint64_t lo, uint64_t thi, uint64_t tlo, unsigned len)
{
    uint64_t mhi, mlo;
    if (len <= 64) {
        mhi = len ? ~uint64_t(0) << (64 - len) : 0;
        mlo = 0;
    } else {
        mhi = ~uint64_t(0);
        mlo = ~uint64_t(0) << (128 - len);
    }
    return ((hi ^ thi) & mhi) == 0 && ((lo ^ tlo) & mlo) == 0;
}

} // namespace

uint32_t CompiledTable::slot_leaf(const std::vector<Entry>& e, size_t b, size_t end,
                                  uint32_t dflt, bool& internal)
{
    // One prefix in the slot: a tail. More: a child node (built by the caller).
    internal = end - b > 1;
    if (internal)
        return 0;
    uint32_t idx = static_cast<uint32_t>(tails_.size() / 4);
    if (idx > PW_CL_INDEX_MASK)
        throw Error("compiled table: more than " + std::to_string(PW_CL_INDEX_MASK) + " tails");
    tails_.push_back(e[b].hi);
    tails_.push_back(e[b].lo);
    tails_.push_back(e[b].len);
    tails_.push_back(uint64_t(e[b].leaf) | uint64_t(dflt) << 32);
    return PW_CL_TAIL | idx;
}

uint32_t CompiledTable::build_node(const std::vector<Entry>& e, size_t b, size_t end, unsigned off,
                                   uint32_t dflt, uint32_t at)
{
    // Every entry in [b, end) is longer than off and inside this node's
    // span. Entries ending within the node's 6 bits paint their slots (in
    // sorted order a prefix comes before the prefixes it contains, so the
    // longest paints last); longer ones go down, grouped by slot.
    uint32_t leaf[64];
    std::fill(std::begin(leaf), std::end(leaf), dflt);
    const unsigned next = off + PW_CL_STRIDE;
    struct Group {
        unsigned slot;
        size_t b, e;
    };
    Group groups[64];
    unsigned ngroups = 0;
    for (size_t i = b; i < end; i++) {
        unsigned s = chunk(e[i].hi, e[i].lo, off);
        if (e[i].len <= next) {
            unsigned n = 1u << (next - e[i].len);
            std::fill(leaf + s, leaf + std::min(64u, s + n), e[i].leaf);
        } else if (ngroups && groups[ngroups - 1].slot == s) {
            groups[ngroups - 1].e = i + 1;
        } else {
            groups[ngroups++] = Group{s, i, i + 1};
        }
    }
    uint64_t vec = 0;
    unsigned children = 0;
    for (unsigned g = 0; g < ngroups; g++) {
        bool internal = false;
        uint32_t l = slot_leaf(e, groups[g].b, groups[g].e, leaf[groups[g].slot], internal);
        if (internal) {
            vec |= uint64_t(1) << groups[g].slot;
            children++;
        } else {
            leaf[groups[g].slot] = l;
        }
    }
    // Leaves of the slots that are not children, one per run of equal leaves.
    uint64_t leafvec = 0;
    uint32_t base0 = static_cast<uint32_t>(leaves_.size());
    bool first = true;
    uint32_t prev = 0;
    for (unsigned s = 0; s < 64; s++) {
        if (vec >> s & 1)
            continue;
        if (first || leaf[s] != prev) {
            leafvec |= uint64_t(1) << s;
            leaves_.push_back(leaf[s]);
            prev = leaf[s];
            first = false;
        }
    }
    uint32_t base1 = static_cast<uint32_t>(nodes_.size() / PW_CL_NODE_WORDS);
    nodes_.resize(nodes_.size() + PW_CL_NODE_WORDS * size_t(children));
    uint64_t* node = &nodes_[PW_CL_NODE_WORDS * size_t(at)];
    node[0] = vec;
    node[1] = leafvec;
    node[2] = uint64_t(base0) | uint64_t(base1) << 32;
    uint32_t child = base1;
    for (unsigned g = 0; g < ngroups; g++)
        if (vec >> groups[g].slot & 1)
            build_node(e, groups[g].b, groups[g].e, next, leaf[groups[g].slot], child++);
    return at;
}

CompiledTable CompiledTable::build(const RuleSet& rules, Family f, const ResultIndex& index_of)
{
    CompiledTable t;
    const size_t n = rules.count(f);
    t.rules_ = n;
    t.direct_.assign(size_t(1) << PW_CL_DIRECT_BITS, 0);
    std::vector<Entry> longer;
    longer.reserve(n);
    for (const auto& [p, r] : rules.rules()) {
        if (p.family != f)
            continue;
        uint32_t idx = index_of(r.id);
        if (idx == 0 || idx > PW_CL_INDEX_MASK)
            throw Error("compiled table: rule " + std::to_string(r.id) + " has no result index");
        Entry e;
        key_of(f, p.bytes.data(), e.hi, e.lo);
        e.len = p.len;
        e.leaf = uint32_t(static_cast<uint8_t>(r.action())) << PW_CL_ACTION_SHIFT | idx;
        if (e.len <= PW_CL_DIRECT_BITS) {
            size_t s = e.hi >> (64 - PW_CL_DIRECT_BITS);
            size_t count = size_t(1) << (PW_CL_DIRECT_BITS - e.len);
            std::fill(t.direct_.begin() + s, t.direct_.begin() + s + count, e.leaf);
        } else {
            longer.push_back(e);
        }
    }
    // Prefixes longer than /16, grouped by their /16 (contiguous: sorted).
    for (size_t b = 0; b < longer.size();) {
        size_t top = longer[b].hi >> (64 - PW_CL_DIRECT_BITS), end = b + 1;
        while (end < longer.size() && (longer[end].hi >> (64 - PW_CL_DIRECT_BITS)) == top)
            end++;
        bool internal = false;
        uint32_t l = t.slot_leaf(longer, b, end, t.direct_[top], internal);
        if (internal) {
            uint32_t at = static_cast<uint32_t>(t.nodes_.size() / PW_CL_NODE_WORDS);
            t.nodes_.resize(t.nodes_.size() + PW_CL_NODE_WORDS);
            t.build_node(longer, b, end, PW_CL_DIRECT_BITS, t.direct_[top], at);
            t.direct_[top] = PW_CL_NODE | at;
        } else {
            t.direct_[top] = l;
        }
        b = end;
    }
    return t;
}

size_t CompiledTable::words() const
{
    return PW_CL_HEADER_WORDS + direct_.size() / 2 + nodes_.size() + (leaves_.size() + 1) / 2 +
           tails_.size();
}

void CompiledTable::write(std::span<uint64_t> out) const
{
    if (out.size() < words())
        throw Error("compiled table: " + std::to_string(words()) + " words do not fit in " +
                    std::to_string(out.size()));
    const size_t nodes_off = PW_CL_NODES_OFF;
    const size_t leaves_off = nodes_off + nodes_.size();
    const size_t tails_off = leaves_off + (leaves_.size() + 1) / 2;
    out[PW_CL_H_MAGIC] = 0;
    out[PW_CL_H_LEAVES] = leaves_off;
    out[PW_CL_H_TAILS] = tails_off;
    out[PW_CL_H_RULES] = rules_;
    out[PW_CL_H_WORDS] = words();
    out[5] = out[6] = out[7] = 0;
    auto pack = [&](const std::vector<uint32_t>& v, size_t off) {
        for (size_t i = 0; i < v.size(); i += 2)
            out[off + i / 2] = uint64_t(v[i]) | (i + 1 < v.size() ? uint64_t(v[i + 1]) << 32 : 0);
    };
    pack(direct_, PW_CL_DIRECT_OFF);
    std::copy(nodes_.begin(), nodes_.end(), out.begin() + static_cast<ptrdiff_t>(nodes_off));
    pack(leaves_, leaves_off);
    std::copy(tails_.begin(), tails_.end(), out.begin() + static_cast<ptrdiff_t>(tails_off));
    out[PW_CL_H_MAGIC] = PW_CL_MAGIC;
}

namespace {

// A bounds-checked reader over a published table.
struct Reader {
    std::span<const uint64_t> t;
    bool ok = true;
    uint64_t word(uint64_t i)
    {
        if (i >= t.size()) {
            ok = false;
            return 0;
        }
        return t[i];
    }
    uint32_t u32(uint64_t off, uint64_t i) { return static_cast<uint32_t>(word(off + i / 2) >> (i % 2 * 32)); }
};

} // namespace

std::optional<CompiledMatch> compiled_lookup(std::span<const uint64_t> table,
                                             std::span<const uint64_t> results, const Address& a)
{
    Reader r{table};
    if (r.word(PW_CL_H_MAGIC) != PW_CL_MAGIC)
        return std::nullopt;
    uint64_t hi, lo;
    key_of(a.family, a.bytes.data(), hi, lo);
    const unsigned levels = a.family == Family::v4 ? PW_CL_V4_LEVELS : PW_CL_MAX_LEVELS;
    uint32_t leaf = r.u32(PW_CL_DIRECT_OFF, hi >> (64 - PW_CL_DIRECT_BITS));
    if (leaf & PW_CL_NODE) {
        uint64_t node = leaf & ~PW_CL_NODE, nodes = PW_CL_NODES_OFF;
        unsigned off = PW_CL_DIRECT_BITS, level = 0;
        for (; level < levels && r.ok; level++) {
            uint64_t at = nodes + node * PW_CL_NODE_WORDS;
            uint64_t vec = r.word(at), lvec = r.word(at + 1), base = r.word(at + 2);
            unsigned v = chunk(hi, lo, off);
            if (vec >> v & 1) {
                node = (base >> 32) + popcount(vec & below_mask(v)) - 1;
                off += PW_CL_STRIDE;
                continue;
            }
            leaf = r.u32(r.word(PW_CL_H_LEAVES), uint32_t(base) + popcount(lvec & below_mask(v)) - 1);
            break;
        }
        if (level == levels)
            return std::nullopt;
    }
    if (leaf & PW_CL_TAIL) {
        uint64_t t = r.word(PW_CL_H_TAILS) + uint64_t(leaf & PW_CL_INDEX_MASK) * 4;
        uint64_t leaves = r.word(t + 3);
        leaf = tail_matches(hi, lo, r.word(t), r.word(t + 1), static_cast<unsigned>(r.word(t + 2) & 255))
                   ? static_cast<uint32_t>(leaves)
                   : static_cast<uint32_t>(leaves >> 32);
    }
    if (!r.ok || !(leaf & PW_CL_INDEX_MASK))
        return std::nullopt;
    if (!r.ok || (leaf & PW_CL_INDEX_MASK) >= results.size())
        return std::nullopt;
    uint64_t result = results[leaf & PW_CL_INDEX_MASK];
    CompiledMatch m;
    m.rule_id = static_cast<uint32_t>(result);
    m.counter_slot = static_cast<uint32_t>(result >> 32);
    m.action = static_cast<uint8_t>(leaf >> PW_CL_ACTION_SHIFT & 3);
    return m;
}

} // namespace pw
