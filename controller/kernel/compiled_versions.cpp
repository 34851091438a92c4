#include "kernel/compiled_versions.hpp"

#include "base/error.hpp"
#include "kernel/map_io.hpp"

#include <bpf/bpf.h>

#include <algorithm>

namespace pw {
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kWordsPerMiB = 1048576u / sizeof(uint64_t);

uint32_t table_words(const Capacity& cap, Family f)
{
    return (f == Family::v4 ? cap.table_mb_v4 : cap.table_mb_v6) * kWordsPerMiB;
}

} // namespace

void CompiledVersions::create_missing(const fs::path& pin_dir, const Capacity& want)
{
    for (Family f : {Family::v4, Family::v6}) {
        uint32_t words = table_words(want, f);
        for (int copy : {0, 1}) {
            fs::path p = map_path(pin_dir, table_copy(f, copy));
            if (UniqueFd fd = try_open_pinned(p)) {
                words = map_max_entries(fd.get());
                continue;
            }
            UniqueFd sibling = try_open_pinned(map_path(pin_dir, table_copy(f, 1 - copy)));
            if (sibling)
                words = map_max_entries(sibling.get());
            LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
            create_pinned(p, BPF_MAP_TYPE_ARRAY, map_name(table_copy(f, copy)), 4, 8, words, &o);
        }
    }
}

CompiledVersions CompiledVersions::open(const fs::path& pin_dir)
{
    CompiledVersions v;
    for (Family f : {Family::v4, Family::v6}) {
        int fi = fam_index(f);
        v.outer_[fi] = open_pinned(map_path(pin_dir, table_outer(f)));
        for (int copy : {0, 1}) {
            v.copies_[fi][copy] = open_pinned(map_path(pin_dir, table_copy(f, copy)));
            v.words_[fi] = map_max_entries(v.copies_[fi][copy].get());
        }
        uint32_t zero = 0, inner_id = 0;
        if (bpf_map_lookup_elem(v.outer_[fi].get(), &zero, &inner_id) != 0)
            v.swap_to(f, 0);
    }
    v.results_ = open_pinned(map_path(pin_dir, PinnedMap::compiled_results));
    v.results_map_ = MappedWords(v.results_.get(), map_max_entries(v.results_.get()));
    if (!v.results_map_.ok())
        throw sys_error("cannot map compiled_results", errno);
    return v;
}

uint32_t CompiledVersions::table_mb(Family f) const
{
    return static_cast<uint32_t>(words_[fam_index(f)] / kWordsPerMiB);
}

std::span<uint64_t> CompiledVersions::copy_words(Family f, int copy) const
{
    // Mapped on first use: a mapped BPF array is resident at once, and a
    // reader needs one copy of one family at most.
    MappedWords& m = mapped_[fam_index(f)][copy];
    if (!m.ok()) {
        m = MappedWords(copies_[fam_index(f)][copy].get(), words_[fam_index(f)]);
        if (!m.ok())
            throw sys_error(std::string("cannot map ") + map_name(table_copy(f, copy)), errno);
    }
    return m.words();
}

int CompiledVersions::active_copy(Family f) const
{
    return active_of(outer_[fam_index(f)].get(), copies_[fam_index(f)], map_name(table_outer(f)));
}

void CompiledVersions::swap_to(Family f, int copy) const
{
    point_outer(outer_[fam_index(f)].get(), copies_[fam_index(f)][copy].get(), map_name(table_outer(f)));
}

std::span<const uint64_t> CompiledVersions::table(Family f) const
{
    return copy_words(f, active_copy(f));
}

bool CompiledVersions::ready(const RuleView& rules) const
{
    // An unpublished table matches nothing: right for a family without rules.
    for (Family f : {Family::v4, Family::v6}) {
        auto t = table(f);
        if (rules.count(f) && !CompiledCopy::origin_of(t).published())
            return false;
    }
    return true;
}

std::optional<CompiledMatch> CompiledVersions::lookup(const Address& a, const L4* packet) const
{
    return compiled_lookup(table(a.family), results(), a, packet);
}

uint32_t CompiledVersions::take_result(uint32_t rule_id, uint32_t& hint) const
{
    // Free indices are 0 words; a table in force never points at one (an
    // index is freed only after the swap that drops its rule).
    std::span<uint64_t> results = results_map_.words();
    const size_t n = results.size();
    size_t i = hint >= 1 && hint < n ? hint : 1;
    for (size_t tried = 1; tried < n; tried++, i = i + 1 < n ? i + 1 : 1) {
        if (results[i] == 0) {
            results[i] = rule_id; // counter slot 0: taken on the first hit
            hint = static_cast<uint32_t>(i + 1);
            return static_cast<uint32_t>(i);
        }
    }
    throw Error("compiled_results is full: " + std::to_string(n - 1) +
                " rules (--max-rules-v4 + --max-rules-v6 when the maps are created;"
                " rules being replaced hold their entry until the new version is in"
                " force); nothing changed");
}

void CompiledVersions::free_results(const std::vector<uint32_t>& indices) const
{
    std::span<uint64_t> results = results_map_.words();
    for (uint32_t i : indices)
        if (i && i < results.size())
            results[i] = 0;
}

void CompiledVersions::reset_results(const std::vector<uint32_t>& owner) const
{
    std::span<uint64_t> results = results_map_.words();
    for (size_t i = 1; i < results.size() && i < owner.size(); i++)
        if (static_cast<uint32_t>(results[i]) != owner[i])
            results[i] = owner[i];
}

std::vector<std::pair<uint32_t, uint32_t>> CompiledVersions::results_in_use() const
{
    std::vector<std::pair<uint32_t, uint32_t>> out;
    std::span<const uint64_t> results = results_map_.words();
    for (size_t i = 1; i < results.size(); i++)
        if (auto id = static_cast<uint32_t>(results[i]))
            out.emplace_back(id, static_cast<uint32_t>(i));
    return out;
}

CompiledVersions::Plan CompiledVersions::plan(const RuleView& next,
                                              const std::array<std::vector<Prefix>, 2>& changed,
                                              const std::array<bool, 2>& whole) const
{
    Plan plan;
    auto index_of = [](const RuleEntry& r) { return r.result; };
    for (Family f : {Family::v4, Family::v6}) {
        const int fi = fam_index(f);
        if (changed[fi].empty() && !whole[fi])
            continue;
        plan.rules[fi] = next.count(f);
        auto idle = copy_words(f, 1 - active_copy(f));
        auto live = copy_words(f, active_copy(f));
        CopyOrigin origin = CompiledCopy::origin_of(live);
        // A patch needs both copies alike (each gets it in turn) and costs
        // what it touches; a change to much of the table is built whole.
        if (!whole[fi] && origin == CompiledCopy::origin_of(idle) && origin.published() &&
            changed[fi].size() <= next.count(f) / 8 + 64) {
            auto t = CompiledCopy::patch(next, f, changed[fi], origin, index_of);
            if (t.fits(idle)) {
                plan.tables[fi] = std::move(t);
                continue;
            }
        }
        auto& t = plan.tables[fi];
        t = CompiledCopy::build(next, f, index_of);
        plan.whole[fi] = true;
        size_t have = idle.size();
        if (t->words() > have)
            throw Error(std::string("the compiled ") + family_tag(f) + " table needs " +
                        std::to_string(t->words() * 8 / 1048576 + 1) + " MiB, over its " +
                        std::to_string(have * 8 / 1048576) + " MiB (--table-mb-" +
                        family_tag(f) + " when the maps are created); nothing changed");
    }
    return plan;
}

bool CompiledVersions::publish(const Plan& plan, std::chrono::steady_clock::time_point* swapped) const
{
    // The idle copies take the new version; the swap waits for running
    // programs, so the old copy is idle after it and takes the same writes.
    bool complete = true;
    for (Family f : {Family::v4, Family::v6}) {
        const int fi = fam_index(f);
        const auto& t = plan.tables[fi];
        if (!t)
            continue;
        const int idle = 1 - active_copy(f);
        auto write = [&](int copy) {
            auto words = copy_words(f, copy);
            if (plan.whole[fi]) {
                t->write(words, plan.rules[fi]);
                return true;
            }
            return t->apply(words, plan.rules[fi]);
        };
        if (!write(idle))
            throw Error(std::string("the compiled ") + family_tag(f) +
                        " table patch no longer fits its copy; nothing changed");
        if (swapped)
            *swapped = std::chrono::steady_clock::now();
        swap_to(f, idle);
        complete &= write(1 - idle);
    }
    return complete;
}

} // namespace pw
