#include "kernel/compiled_table.hpp"

#include "base/error.hpp"

#include "prefixwall/abi.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <unordered_map>

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

// The `width` key bits at bit offset off (bits past 128 read as 0): as
// bpf/lib/compiled.h.
unsigned chunk(uint64_t hi, uint64_t lo, unsigned off, unsigned width)
{
    const unsigned end = off + width, mask = (1u << width) - 1;
    if (end <= 64)
        return static_cast<unsigned>(hi >> (64 - end)) & mask;
    if (off >= 64)
        return static_cast<unsigned>(end <= 128 ? lo >> (128 - end) : lo << (end - 128)) & mask;
    return static_cast<unsigned>(hi << (end - 64) | lo >> (128 - end)) & mask;
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

// Bits two keys share from the top (128: equal).
unsigned common_bits(uint64_t ahi, uint64_t alo, uint64_t bhi, uint64_t blo)
{
    if (ahi != bhi)
        return static_cast<unsigned>(__builtin_clzll(ahi ^ bhi));
    if (alo != blo)
        return 64 + static_cast<unsigned>(__builtin_clzll(alo ^ blo));
    return 128;
}

// The verdict section's entries: the fewest (prefix, action) pairs that
// give every address of a region the action of its longest matching rule.
// A rule that repeats the action around it is dropped, and a prefix whose
// two halves end up with one action becomes one entry (so /24 siblings of
// one action become their /23, and a region wholly of one action becomes
// its direct entries alone). A rule with no rule inside it that stays an
// entry as it is keeps its result index: every address it gives the
// action to has it as longest match, so the data plane needs no walk of
// the rule section for it (a list of lone /32s or /128s). Entries come in
// with their rule's leaf (action | result index); actions are compared
// without the index.
class VerdictReducer {
public:
    using Entry = CompiledTable::Entry;
    static constexpr uint32_t kMixed = UINT32_MAX; // a span of several actions
    static constexpr unsigned kDead = 255;         // an emitted entry taken back

    explicit VerdictReducer(const std::vector<Entry>& in) : in_(in) {}

    // The entries of a region (key hi:lo, length len) whose own action
    // (or the one around it) is *dflt: on return *dflt is the action of
    // the region where no entry says otherwise, and the result holds the
    // entries (none when the whole region has one action).
    std::vector<Entry> region(uint64_t hi, uint64_t lo, unsigned len, uint32_t& dflt)
    {
        size_t b = 0;
        dflt = action(dflt);
        if (!in_.empty() && in_[0].len == len) {
            dflt = action(in_[0].leaf);
            b = 1;
        }
        uint32_t r = span(hi, lo, len, b, in_.size(), dflt);
        if (r != kMixed) {
            dflt = r;
            return {};
        }
        std::erase_if(out_, [](const Entry& e) { return e.len == kDead; });
        return std::move(out_);
    }

private:
    // A scoped rule's leaf (its scope record) is compared whole: two
    // scoped rules never merge, and a rule inside one never repeats it.
    static uint32_t action(uint32_t leaf)
    {
        if ((leaf >> PW_CL_ACTION_SHIFT & PW_CL_ACTION_MASK) == PW_ACTION_SCOPED)
            return leaf;
        return leaf & ~uint32_t(PW_CL_INDEX_MASK);
    }

    static bool bit(const Entry& e, unsigned i)
    {
        return (i < 64 ? e.hi >> (63 - i) : e.lo >> (127 - i)) & 1;
    }

    // Entries [b, end) lie strictly inside the prefix hi:lo/len, whose
    // action is d. Emits the reduced entries of the span and returns
    // kMixed, or returns the span's one action and emits nothing.
    uint32_t span(uint64_t hi, uint64_t lo, unsigned len, size_t b, size_t end, uint32_t d)
    {
        if (b == end)
            return d;
        // Everything inside one longer prefix: the rest of the span is d.
        const Entry& f = in_[b];
        const Entry& l = in_[end - 1];
        unsigned p = std::min(common_bits(f.hi, f.lo, l.hi, l.lo), f.len);
        if (p > len + 1) {
            uint64_t phi = f.hi, plo = f.lo;
            mask(phi, plo, p);
            uint32_t r = child(phi, plo, p, b, end, d);
            return r == d ? d : kMixed;
        }
        size_t mid = static_cast<size_t>(
            std::partition_point(in_.begin() + static_cast<ptrdiff_t>(b), in_.begin() + static_cast<ptrdiff_t>(end),
                                 [&](const Entry& e) { return !bit(e, len); }) -
            in_.begin());
        const size_t mark = out_.size();
        uint64_t hi1 = hi, lo1 = lo;
        if (len < 64)
            hi1 |= uint64_t(1) << (63 - len);
        else
            lo1 |= uint64_t(1) << (127 - len);
        uint32_t r0 = child(hi, lo, len + 1, b, mid, d);
        uint32_t r1 = child(hi1, lo1, len + 1, mid, end, d);
        if (r0 != kMixed && r0 == r1) {
            out_.resize(mark); // at most the halves' own entries
            return r0;
        }
        return kMixed;
    }

    // The half or sub-prefix hi:lo/len of a span of action d, holding
    // entries [b, end) (the first may be the prefix itself).
    uint32_t child(uint64_t hi, uint64_t lo, unsigned len, size_t b, size_t end, uint32_t d)
    {
        uint32_t own = d, rule = 0;
        if (b < end && in_[b].len == len) {
            rule = in_[b].leaf;
            own = action(in_[b++].leaf);
        }
        const size_t at = out_.size();
        out_.push_back(Entry{hi, lo, len, own});
        uint32_t r = span(hi, lo, len, b, end, own);
        if (r != kMixed) {
            // Nothing was emitted after the placeholder. A rule with
            // nothing inside it keeps its result index.
            if (r == d)
                out_.pop_back();
            else
                out_[at].leaf = rule && b == end ? rule : r;
            return r;
        }
        if (own == d)
            out_[at].len = kDead; // its entries stand under the action around it
        return kMixed;
    }

    static void mask(uint64_t& hi, uint64_t& lo, unsigned len)
    {
        if (len <= 64) {
            hi &= len ? ~uint64_t(0) << (64 - len) : 0;
            lo = 0;
        } else if (len < 128) {
            lo &= ~uint64_t(0) << (128 - len);
        }
    }

    const std::vector<Entry>& in_;
    std::vector<Entry> out_;
};

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
    // span. Entries ending within the node's bits paint their slots (in
    // sorted order a prefix comes before the prefixes it contains, so the
    // longest paints last); longer ones go down, grouped by slot.
    const unsigned width = stride(kind_), slots = 1u << width;
    const size_t vw = PW_CL_VEC_WORDS(width);
    uint32_t leaf[256];
    std::fill(leaf, leaf + slots, dflt);
    const unsigned next = off + width;
    struct Group {
        unsigned slot;
        size_t b, e;
    };
    Group groups[256];
    unsigned ngroups = 0;
    for (size_t i = b; i < end; i++) {
        unsigned s = chunk(e[i].hi, e[i].lo, off, width);
        if (e[i].len <= next) {
            unsigned n = 1u << (next - e[i].len);
            std::fill(leaf + s, leaf + std::min(slots, s + n), e[i].leaf);
        } else if (ngroups && groups[ngroups - 1].slot == s) {
            groups[ngroups - 1].e = i + 1;
        } else {
            groups[ngroups++] = Group{s, i, i + 1};
        }
    }
    uint64_t vec[4] = {}, leafvec[4] = {};
    auto has = [](const uint64_t* v, unsigned s) { return v[s / 64] >> (s % 64) & 1; };
    unsigned children = 0;
    for (unsigned g = 0; g < ngroups; g++) {
        bool internal = false;
        uint32_t l = slot_leaf(e, groups[g].b, groups[g].e, leaf[groups[g].slot], internal);
        if (internal) {
            vec[groups[g].slot / 64] |= uint64_t(1) << (groups[g].slot % 64);
            children++;
        } else {
            leaf[groups[g].slot] = l;
        }
    }
    // Leaves of the slots that are not children, one per run of equal leaves.
    uint32_t base0 = origin_.leaves + static_cast<uint32_t>(leaves_.size());
    bool first = true;
    uint32_t prev = 0;
    for (unsigned s = 0; s < slots; s++) {
        if (has(vec, s))
            continue;
        if (first || leaf[s] != prev) {
            leafvec[s / 64] |= uint64_t(1) << (s % 64);
            leaves_.push_back(leaf[s]);
            prev = leaf[s];
            first = false;
        }
    }
    uint32_t base1 = node_index();
    const unsigned nw = node_words(kind_);
    nodes_.resize(nodes_.size() + nw * size_t(children));
    uint64_t* node = &nodes_[nw * size_t(at - origin_.nodes)];
    uint64_t counts = 0;
    unsigned cv = 0, cl = 0;
    for (size_t k = 0; k < vw; k++) {
        node[k] = vec[k];
        node[vw + k] = leafvec[k];
        counts |= uint64_t(cv) << (8 * k) | uint64_t(cl) << (32 + 8 * k);
        cv += popcount(vec[k]);
        cl += popcount(leafvec[k]);
    }
    node[2 * vw] = uint64_t(base0) | uint64_t(base1) << 32;
    node[2 * vw + 1] = counts;
    uint32_t child = base1;
    for (unsigned g = 0; g < ngroups; g++)
        if (has(vec, groups[g].slot))
            build_node(e, groups[g].b, groups[g].e, next, leaf[groups[g].slot], child++);
    return at;
}

void CompiledTable::build_region(const RuleView& rules, Family f, const Prefix& region,
                                 const ResultIndex& index_of)
{
    // (The verdict keeps a rule's index only where VerdictReducer says.)
    auto plain_leaf = [&](const RuleEntry& r) {
        const uint32_t action = uint32_t(static_cast<uint8_t>(r.action)) << PW_CL_ACTION_SHIFT;
        uint32_t idx = index_of(r);
        if (idx == 0 || idx > PW_CL_INDEX_MASK)
            throw Error("compiled table: rule " + std::to_string(r.id) + " has no result index");
        return action | idx;
    };
    // A rule scoped to L4: in the verdict, a scope record (its own leaf,
    // the leaf to fall back to, its scope) among this region's tails, made
    // once per rule in the region; the verdict names it wherever the rule
    // is the longest match, so the rule section's leaf of a scoped rule
    // (action scoped, index 0) is never reached. A chain of records is at
    // most PW_SCOPE_DEPTH long (checked in both sections).
    struct Record {
        uint32_t leaf;
        unsigned chain; // records a packet may pass through from this one
    };
    std::unordered_map<uint32_t, Record> records; // by rule id
    std::function<Record(const RuleEntry&)> record_of = [&](const RuleEntry& r) -> Record {
        constexpr uint32_t scoped = uint32_t(PW_ACTION_SCOPED) << PW_CL_ACTION_SHIFT;
        if (!r.scoped.scoped())
            return {plain_leaf(r), 0};
        if (auto it = records.find(r.id); it != records.end())
            return it->second;
        RuleEntry own = r;
        own.action = r.scoped.action;
        own.scoped = {};
        Record fallback{0, 0};
        if (r.scoped.otherwise) {
            RuleEntry other = own;
            other.action = *r.scoped.otherwise;
            fallback.leaf = plain_leaf(other);
        } else if (auto cover = rules.covering(r.prefix)) {
            fallback = record_of(*cover);
        }
        if (fallback.chain + 1 > PW_SCOPE_DEPTH)
            throw Error("more than " + std::to_string(PW_SCOPE_DEPTH) +
                        " rules scoped to L4 cover one another with no rule without a scope between them, "
                        "down to " + r.prefix.to_string() + " (the data plane follows " +
                        std::to_string(PW_SCOPE_DEPTH) + ")");
        if (kind_ == TableKind::rules)
            return records[r.id] = Record{scoped, fallback.chain + 1};
        if (origin_.tails + tails_.size() == 0)
            tails_.resize(4, 0); // tail 0 stays unused: index 0 means "none" in a leaf
        uint32_t idx = origin_.tails + static_cast<uint32_t>(tails_.size() / 4);
        if (idx > PW_CL_INDEX_MASK)
            throw Error("compiled table: more than " + std::to_string(PW_CL_INDEX_MASK) + " tails");
        pw_scope a = r.scoped.scope.to_abi();
        uint64_t w[3];
        static_assert(sizeof(a) == sizeof(w));
        std::memcpy(w, &a, sizeof(w));
        tails_.push_back(uint64_t(plain_leaf(own)) | uint64_t(fallback.leaf) << 32);
        tails_.insert(tails_.end(), w, w + 3);
        return records[r.id] = Record{scoped | idx, fallback.chain + 1};
    };
    auto leaf_of = [&](const RuleEntry& r) { return record_of(r).leaf; };
    uint32_t dflt = 0;
    if (region.len > 0)
        if (auto cover = rules.covering(region))
            dflt = leaf_of(*cover);
    std::vector<Entry> entries;
    rules.for_each_entry(region, [&](const RuleEntry& r) {
        rules_++;
        Entry e;
        key_of(f, r.prefix.bytes.data(), e.hi, e.lo);
        e.len = r.prefix.len;
        e.leaf = leaf_of(r);
        entries.push_back(e);
        return true;
    });
    if (kind_ == TableKind::verdict) {
        uint64_t hi, lo;
        key_of(f, region.bytes.data(), hi, lo);
        entries = VerdictReducer(entries).region(hi, lo, region.len, dflt);
    }
    place(f, region, dflt, entries);
}

void CompiledTable::place(Family f, const Prefix& region, uint32_t dflt, const std::vector<Entry>& entries)
{
    // The region's direct entries take the leaf around it, then each entry
    // of at most the direct bits paints its range (in sorted order a prefix
    // comes before the prefixes it contains, so the longest paints last).
    const unsigned db = direct_bits_;
    uint64_t rhi, rlo;
    key_of(f, region.bytes.data(), rhi, rlo);
    const auto first = static_cast<uint32_t>(rhi >> (64 - db));
    std::vector<uint32_t> direct(size_t(1) << (db - region.len), dflt);
    std::vector<Entry> longer;
    for (const Entry& e : entries) {
        if (e.len <= db) {
            size_t s = (e.hi >> (64 - db)) - first;
            size_t count = size_t(1) << (db - e.len);
            std::fill(direct.begin() + static_cast<ptrdiff_t>(s),
                      direct.begin() + static_cast<ptrdiff_t>(s + count), e.leaf);
        } else {
            longer.push_back(e);
        }
    }
    // Prefixes longer than the direct bits, grouped by their direct entry
    // (contiguous: sorted).
    for (size_t b = 0; b < longer.size();) {
        size_t top = longer[b].hi >> (64 - db), end = b + 1;
        while (end < longer.size() && (longer[end].hi >> (64 - db)) == top)
            end++;
        uint32_t& slot = direct[top - first];
        bool internal = false;
        uint32_t l = slot_leaf(longer, b, end, slot, internal);
        if (internal) {
            uint32_t at = node_index();
            nodes_.resize(nodes_.size() + node_words(kind_));
            build_node(longer, b, end, db, slot, at);
            slot = PW_CL_NODE | at;
        } else {
            slot = l;
        }
        b = end;
    }
    direct_.emplace_back(first, std::move(direct));
}

CompiledTable CompiledTable::build(const RuleView& rules, Family f, TableKind kind, const ResultIndex& index_of)
{
    CompiledTable t(kind);
    t.build_region(rules, f, family_root(f), index_of);
    return t;
}

CompiledTable CompiledTable::patch(const RuleView& rules, Family f, TableKind kind,
                                   const std::vector<Prefix>& changed, TableOrigin origin,
                                   const ResultIndex& index_of)
{
    // A change to a prefix of at most the direct bits repaints its range;
    // a longer one rebuilds the subtree of its direct entry. Regions inside
    // another are covered by it.
    const unsigned db = direct_bits(kind);
    std::vector<Prefix> regions;
    for (const Prefix& p : changed)
        if (p.family == f)
            regions.push_back(p.len <= db ? p : Prefix::of(p.first(), db));
    std::sort(regions.begin(), regions.end());
    CompiledTable t(kind);
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
    return PW_CL_NODES_OFF(direct_bits_) + nodes_.size() + (leaves_.size() + 1) / 2 + tails_.size();
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

size_t CompiledTable::used_words(std::span<const uint64_t> section, TableKind kind)
{
    TableOrigin o = origin_of(section);
    if (o.nodes == UINT32_MAX)
        return 0;
    return PW_CL_NODES_OFF(direct_bits(kind)) + size_t(o.nodes) * node_words(kind) + (size_t(o.leaves) + 1) / 2 +
           size_t(o.tails) * 4;
}

TableOrigin CompiledTable::origin_of(std::span<const uint64_t> section)
{
    if (section.size() < PW_CL_HEADER_WORDS || section[PW_CL_H_MAGIC] != PW_CL_MAGIC)
        return TableOrigin{UINT32_MAX, UINT32_MAX, UINT32_MAX}; // nothing to patch
    return TableOrigin{static_cast<uint32_t>(section[PW_CL_H_NODES_USED]),
                       static_cast<uint32_t>(section[PW_CL_H_LEAVES_USED]),
                       static_cast<uint32_t>(section[PW_CL_H_TAILS_USED])};
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
    const size_t nw = node_words(kind_);
    const size_t used = n_nodes * nw + n_leaves / 2 + n_tails * 4 + 1;
    const size_t wn = std::max(n_nodes * nw, used / 8), wl = std::max(n_leaves / 2, used / 8),
                 wt = std::max(n_tails * 4, used / 8);
    const double share = static_cast<double>(spare) / static_cast<double>(wn + wl + wt);
    // (Rounded down, less a word for the odd leaf: never past the copy.)
    const auto sn = static_cast<size_t>(static_cast<double>(wn) * share) / nw;
    const auto lw = static_cast<size_t>(static_cast<double>(wl) * share);
    const size_t sl = lw > 1 ? (lw - 1) * 2 : 0;
    const auto st = static_cast<size_t>(static_cast<double>(wt) * share) / 4;
    const size_t leaves_cap = (n_leaves + sl) & ~size_t(1);
    const size_t leaves_off = PW_CL_NODES_OFF(direct_bits_) + (n_nodes + sn) * nw;
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
    std::copy(nodes_.begin(), nodes_.end(), out.begin() + static_cast<ptrdiff_t>(PW_CL_NODES_OFF(direct_bits_)));
    put_u32s(out, leaves_off, 0, leaves_.data(), leaves_.size());
    std::copy(tails_.begin(), tails_.end(), out.begin() + static_cast<ptrdiff_t>(tails_off));
    out[PW_CL_H_MAGIC] = PW_CL_MAGIC;
}

bool CompiledTable::fits(std::span<const uint64_t> out) const
{
    if (!(origin_of(out) == origin_))
        return false;
    const size_t leaves_off = out[PW_CL_H_LEAVES], tails_off = out[PW_CL_H_TAILS], end = out[PW_CL_H_WORDS];
    const size_t nodes_off = PW_CL_NODES_OFF(direct_bits_);
    if (leaves_off < nodes_off || tails_off < leaves_off || end < tails_off || end > out.size())
        return false;
    const size_t nodes_cap = (leaves_off - nodes_off) / node_words(kind_);
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
              out.begin() + static_cast<ptrdiff_t>(PW_CL_NODES_OFF(direct_bits_) +
                                                   size_t(origin_.nodes) * node_words(kind_)));
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

std::optional<uint32_t> section_leaf(std::span<const uint64_t> section, TableKind kind, const Address& a)
{
    Reader r{section};
    if (r.word(PW_CL_H_MAGIC) != PW_CL_MAGIC)
        return std::nullopt;
    uint64_t hi, lo;
    key_of(a.family, a.bytes.data(), hi, lo);
    const unsigned db = direct_bits(kind);
    const unsigned levels = a.family == Family::v4 ? PW_CL_V4_LEVELS : PW_CL_MAX_LEVELS;
    uint32_t leaf = r.u32(PW_CL_DIRECT_OFF, hi >> (64 - db));
    if (leaf & PW_CL_NODE) {
        uint64_t node = leaf & ~PW_CL_NODE, nodes = PW_CL_NODES_OFF(db);
        const unsigned width = stride(kind);
        const uint64_t vw = PW_CL_VEC_WORDS(width);
        unsigned off = db, level = 0;
        for (; level < levels && r.ok; level++) {
            uint64_t at = nodes + node * node_words(kind);
            unsigned v = chunk(hi, lo, off, width), k = v / 64, bit = v % 64;
            uint64_t vec = r.word(at + k), lvec = r.word(at + vw + k), base = r.word(at + 2 * vw);
            uint64_t counts = r.word(at + 2 * vw + 1);
            if (vec >> bit & 1) {
                node = (base >> 32) + (counts >> (8 * k) & 255) + popcount(vec & below_mask(bit)) - 1;
                off += width;
                continue;
            }
            leaf = r.u32(r.word(PW_CL_H_LEAVES),
                         uint32_t(base) + (counts >> (32 + 8 * k) & 255) + popcount(lvec & below_mask(bit)) - 1);
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
    if (!r.ok)
        return std::nullopt;
    return leaf;
}

std::optional<uint32_t> scope_leaf(std::span<const uint64_t> section, uint32_t leaf, const L4* packet)
{
    Reader r{section};
    for (unsigned i = 0; i < PW_SCOPE_DEPTH && r.ok; i++) {
        if ((leaf >> PW_CL_ACTION_SHIFT & PW_CL_ACTION_MASK) != PW_ACTION_SCOPED)
            return leaf;
        if (!(leaf & PW_CL_INDEX_MASK))
            return std::nullopt; // no record
        uint64_t t = r.word(PW_CL_H_TAILS) + uint64_t(leaf & PW_CL_INDEX_MASK) * 4;
        uint64_t leaves = r.word(t), w[3] = {r.word(t + 1), r.word(t + 2), r.word(t + 3)};
        pw_scope a;
        std::memcpy(&a, w, sizeof(a));
        leaf = !packet || Scope::from_abi(a).fits(*packet) ? static_cast<uint32_t>(leaves)
                                                           : static_cast<uint32_t>(leaves >> 32);
        if (!packet)
            return r.ok ? std::optional<uint32_t>(leaf) : std::nullopt;
    }
    if (!r.ok || (leaf >> PW_CL_ACTION_SHIFT & PW_CL_ACTION_MASK) == PW_ACTION_SCOPED)
        return std::nullopt;
    return leaf;
}

} // namespace pw
