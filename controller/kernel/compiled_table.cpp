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
    uint32_t idx = origin_.tails + static_cast<uint32_t>(tails_.size() / 4);
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
    uint32_t base0 = origin_.leaves + static_cast<uint32_t>(leaves_.size());
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
    uint32_t base1 = node_index();
    nodes_.resize(nodes_.size() + PW_CL_NODE_WORDS * size_t(children));
    uint64_t* node = &nodes_[PW_CL_NODE_WORDS * size_t(at - origin_.nodes)];
    node[0] = vec;
    node[1] = leafvec;
    node[2] = uint64_t(base0) | uint64_t(base1) << 32;
    uint32_t child = base1;
    for (unsigned g = 0; g < ngroups; g++)
        if (vec >> groups[g].slot & 1)
            build_node(e, groups[g].b, groups[g].e, next, leaf[groups[g].slot], child++);
    return at;
}

void CompiledTable::build_region(const RuleView& rules, Family f, const Prefix& region,
                                 const ResultIndex& index_of)
{
    auto leaf_of = [&](const RuleEntry& r) {
        uint32_t idx = index_of(r);
        if (idx == 0 || idx > PW_CL_INDEX_MASK)
            throw Error("compiled table: rule " + std::to_string(r.id) + " has no result index");
        return uint32_t(static_cast<uint8_t>(r.action)) << PW_CL_ACTION_SHIFT | idx;
    };
    uint64_t rhi, rlo;
    key_of(f, region.bytes.data(), rhi, rlo);
    const auto first = static_cast<uint32_t>(rhi >> (64 - PW_CL_DIRECT_BITS));
    std::vector<uint32_t> direct(size_t(1) << (PW_CL_DIRECT_BITS - region.len), 0);
    if (region.len > 0)
        if (auto cover = rules.covering(region))
            std::fill(direct.begin(), direct.end(), leaf_of(*cover));
    std::vector<Entry> longer;
    rules.for_each_entry(region, [&](const RuleEntry& r) {
        rules_++;
        Entry e;
        key_of(f, r.prefix.bytes.data(), e.hi, e.lo);
        e.len = r.prefix.len;
        e.leaf = leaf_of(r);
        if (e.len <= PW_CL_DIRECT_BITS) {
            size_t s = (e.hi >> (64 - PW_CL_DIRECT_BITS)) - first;
            size_t count = size_t(1) << (PW_CL_DIRECT_BITS - e.len);
            std::fill(direct.begin() + static_cast<ptrdiff_t>(s),
                      direct.begin() + static_cast<ptrdiff_t>(s + count), e.leaf);
        } else {
            longer.push_back(e);
        }
        return true;
    });
    // Prefixes longer than the direct bits, grouped by their direct entry
    // (contiguous: sorted).
    for (size_t b = 0; b < longer.size();) {
        size_t top = longer[b].hi >> (64 - PW_CL_DIRECT_BITS), end = b + 1;
        while (end < longer.size() && (longer[end].hi >> (64 - PW_CL_DIRECT_BITS)) == top)
            end++;
        uint32_t& slot = direct[top - first];
        bool internal = false;
        uint32_t l = slot_leaf(longer, b, end, slot, internal);
        if (internal) {
            uint32_t at = node_index();
            nodes_.resize(nodes_.size() + PW_CL_NODE_WORDS);
            build_node(longer, b, end, PW_CL_DIRECT_BITS, slot, at);
            slot = PW_CL_NODE | at;
        } else {
            slot = l;
        }
        b = end;
    }
    direct_.emplace_back(first, std::move(direct));
}

CompiledTable CompiledTable::build(const RuleView& rules, Family f, const ResultIndex& index_of)
{
    CompiledTable t;
    t.build_region(rules, f, family_root(f), index_of);
    return t;
}

CompiledTable CompiledTable::patch(const RuleView& rules, Family f, const std::vector<Prefix>& changed,
                                   TableOrigin origin, const ResultIndex& index_of)
{
    // A change to a prefix of at most the direct bits repaints its range;
    // a longer one rebuilds the subtree of its direct entry. Regions inside
    // another are covered by it.
    std::vector<Prefix> regions;
    for (const Prefix& p : changed)
        if (p.family == f)
            regions.push_back(p.len <= PW_CL_DIRECT_BITS ? p
                                                         : Prefix::of(p.first(), PW_CL_DIRECT_BITS));
    std::sort(regions.begin(), regions.end());
    CompiledTable t;
    t.origin_ = origin;
    const Prefix* last = nullptr;
    for (const Prefix& q : regions) {
        if (last && last->contains(q))
            continue;
        t.build_region(rules, f, q, index_of);
        last = &q;
    }
    return t;
}

size_t CompiledTable::direct_entries() const
{
    size_t n = 0;
    for (const auto& [_, d] : direct_)
        n += d.size();
    return n;
}

size_t CompiledTable::words() const
{
    return PW_CL_NODES_OFF + nodes_.size() + (leaves_.size() + 1) / 2 + tails_.size();
}

namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "u32 tables are packed low half first: a little-endian layout");

// Copies u32 values to u32 index `at` of a region that starts at word `off`.
void put_u32s(std::span<uint64_t> out, size_t off, size_t at, const uint32_t* v, size_t n)
{
    if (n)
        std::memcpy(reinterpret_cast<char*>(out.data()) + off * 8 + at * 4, v, n * 4);
}

} // namespace

size_t CompiledTable::used_words(std::span<const uint64_t> table)
{
    TableOrigin o = origin_of(table);
    if (o.nodes == UINT32_MAX)
        return 0;
    return PW_CL_NODES_OFF + size_t(o.nodes) * PW_CL_NODE_WORDS + (size_t(o.leaves) + 1) / 2 + size_t(o.tails) * 4;
}

TableOrigin CompiledTable::origin_of(std::span<const uint64_t> table)
{
    if (table.size() < PW_CL_HEADER_WORDS || table[PW_CL_H_MAGIC] != PW_CL_MAGIC)
        return TableOrigin{UINT32_MAX, UINT32_MAX, UINT32_MAX}; // nothing to patch
    return TableOrigin{static_cast<uint32_t>(table[PW_CL_H_NODES_USED]),
                       static_cast<uint32_t>(table[PW_CL_H_LEAVES_USED]),
                       static_cast<uint32_t>(table[PW_CL_H_TAILS_USED])};
}

void CompiledTable::write(std::span<uint64_t> out, size_t rules_in_force) const
{
    if (out.size() < words())
        throw Error("compiled table: " + std::to_string(words()) + " words do not fit in " +
                    std::to_string(out.size()));
    // Every spare word of the copy becomes free room after a region, for
    // patches: shared in proportion to the words each region uses, and at
    // least an eighth each (a patch of many lone prefixes is mostly tails).
    const size_t n_nodes = nodes(), n_leaves = leaves_.size(), n_tails = tails();
    const size_t spare = out.size() - words(); // write() checked it fits
    const size_t used = n_nodes * PW_CL_NODE_WORDS + n_leaves / 2 + n_tails * 4 + 1;
    const size_t wn = std::max(n_nodes * PW_CL_NODE_WORDS, used / 8), wl = std::max(n_leaves / 2, used / 8),
                 wt = std::max(n_tails * 4, used / 8);
    const double share = static_cast<double>(spare) / static_cast<double>(wn + wl + wt);
    // (Rounded down, less a word for the odd leaf: never past the copy.)
    const auto sn = static_cast<size_t>(static_cast<double>(wn) * share) / PW_CL_NODE_WORDS;
    const auto lw = static_cast<size_t>(static_cast<double>(wl) * share);
    const size_t sl = lw > 1 ? (lw - 1) * 2 : 0;
    const auto st = static_cast<size_t>(static_cast<double>(wt) * share) / 4;
    const size_t leaves_cap = (n_leaves + sl) & ~size_t(1);
    const size_t leaves_off = PW_CL_NODES_OFF + (n_nodes + sn) * PW_CL_NODE_WORDS;
    const size_t tails_off = leaves_off + std::max(leaves_cap, n_leaves + 1) / 2;
    const size_t end = std::min(out.size(), tails_off + (n_tails + st) * 4);
    out[PW_CL_H_MAGIC] = 0;
    out[PW_CL_H_LEAVES] = leaves_off;
    out[PW_CL_H_TAILS] = tails_off;
    out[PW_CL_H_RULES] = rules_in_force;
    out[PW_CL_H_WORDS] = end;
    out[PW_CL_H_NODES_USED] = n_nodes;
    out[PW_CL_H_LEAVES_USED] = n_leaves;
    out[PW_CL_H_TAILS_USED] = n_tails;
    for (const auto& [first, d] : direct_)
        put_u32s(out, PW_CL_DIRECT_OFF, first, d.data(), d.size());
    std::copy(nodes_.begin(), nodes_.end(), out.begin() + static_cast<ptrdiff_t>(PW_CL_NODES_OFF));
    put_u32s(out, leaves_off, 0, leaves_.data(), leaves_.size());
    std::copy(tails_.begin(), tails_.end(), out.begin() + static_cast<ptrdiff_t>(tails_off));
    out[PW_CL_H_MAGIC] = PW_CL_MAGIC;
}

bool CompiledTable::fits(std::span<const uint64_t> out) const
{
    if (!(origin_of(out) == origin_))
        return false;
    const size_t leaves_off = out[PW_CL_H_LEAVES], tails_off = out[PW_CL_H_TAILS], end = out[PW_CL_H_WORDS];
    if (leaves_off < PW_CL_NODES_OFF || tails_off < leaves_off || end < tails_off || end > out.size())
        return false;
    const size_t nodes_cap = (leaves_off - PW_CL_NODES_OFF) / PW_CL_NODE_WORDS;
    const size_t leaves_cap = (tails_off - leaves_off) * 2, tails_cap = (end - tails_off) / 4;
    return origin_.nodes + nodes() <= nodes_cap && origin_.leaves + leaves_.size() <= leaves_cap &&
           origin_.tails + tails() <= tails_cap;
}

bool CompiledTable::apply(std::span<uint64_t> out, size_t rules_in_force) const
{
    if (!fits(out))
        return false;
    const size_t leaves_off = out[PW_CL_H_LEAVES], tails_off = out[PW_CL_H_TAILS];
    std::copy(nodes_.begin(), nodes_.end(),
              out.begin() + static_cast<ptrdiff_t>(PW_CL_NODES_OFF + size_t(origin_.nodes) * PW_CL_NODE_WORDS));
    put_u32s(out, leaves_off, origin_.leaves, leaves_.data(), leaves_.size());
    std::copy(tails_.begin(), tails_.end(),
              out.begin() + static_cast<ptrdiff_t>(tails_off + size_t(origin_.tails) * 4));
    // The direct entries last: they are what point at the new subtrees.
    for (const auto& [first, d] : direct_)
        put_u32s(out, PW_CL_DIRECT_OFF, first, d.data(), d.size());
    out[PW_CL_H_RULES] = rules_in_force;
    out[PW_CL_H_NODES_USED] = origin_.nodes + nodes();
    out[PW_CL_H_LEAVES_USED] = origin_.leaves + leaves_.size();
    out[PW_CL_H_TAILS_USED] = origin_.tails + tails();
    return true;
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
