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
            int fd = v.copies_[fi][copy].get();
            v.mapped_[fi][copy] = MappedWords(fd, map_max_entries(fd));
            if (!v.mapped_[fi][copy].ok())
                throw sys_error(std::string("cannot map ") + map_name(table_copy(f, copy)), errno);
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
    return static_cast<uint32_t>(mapped_[fam_index(f)][0].words().size() / kWordsPerMiB);
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
    return mapped_[fam_index(f)][active_copy(f)].words();
}

bool CompiledVersions::ready(const RuleSet& rules) const
{
    // An unpublished table matches nothing: right for a family without rules.
    for (Family f : {Family::v4, Family::v6}) {
        auto t = table(f);
        if (rules.count(f) && (t.empty() || t[PW_CL_H_MAGIC] != PW_CL_MAGIC))
            return false;
    }
    return true;
}

std::optional<CompiledMatch> CompiledVersions::lookup(const Address& a) const
{
    return compiled_lookup(table(a.family), results(), a);
}

CompiledVersions::Plan CompiledVersions::plan(const RuleSet& next,
                                              const std::array<bool, 2>& touched) const
{
    Plan plan;
    std::span<uint64_t> results = results_map_.words();
    // Result words in use say which rule holds which index; a free index
    // (0) is never one a table in force points at (indices are freed only
    // after the swap that drops their rule). Rules new to the table take
    // free indices as the build meets them (one pass over the rules).
    uint32_t max_id = next.next_id();
    for (size_t i = 1; i < results.size(); i++)
        max_id = std::max(max_id, static_cast<uint32_t>(results[i]));
    plan.index.assign(size_t(max_id) + 1, 0);
    for (size_t i = 1; i < results.size(); i++)
        if (uint32_t id = static_cast<uint32_t>(results[i]))
            plan.index[id] = static_cast<uint32_t>(i);
    size_t cursor = 1;
    auto index_of = [&](uint32_t id) -> uint32_t {
        if (id < plan.index.size() && plan.index[id])
            return plan.index[id];
        while (cursor < results.size() && results[cursor] != 0)
            cursor++;
        if (cursor >= results.size() || id >= plan.index.size())
            throw Error("compiled_results is full: " + std::to_string(results.size() - 1) +
                        " rules (--max-rules-v4 + --max-rules-v6 when the maps are created;"
                        " rules being replaced hold their entry until the new version is in"
                        " force); nothing changed");
        uint32_t i = static_cast<uint32_t>(cursor++);
        results[i] = id; // counter slot 0: taken on the first hit
        plan.index[id] = i;
        plan.taken.push_back(i);
        return i;
    };
    try {
        for (Family f : {Family::v4, Family::v6}) {
            if (!touched[fam_index(f)])
                continue;
            auto& t = plan.tables[fam_index(f)];
            t = CompiledTable::build(next, f, index_of);
            size_t have = mapped_[fam_index(f)][0].words().size();
            if (t->words() > have)
                throw Error(std::string("the compiled ") + family_tag(f) + " table needs " +
                            std::to_string(t->words() * 8 / 1048576 + 1) + " MiB, over its " +
                            std::to_string(have * 8 / 1048576) + " MiB (--table-mb-" +
                            family_tag(f) + " when the maps are created); nothing changed");
        }
    } catch (...) {
        abandon(plan);
        throw;
    }
    return plan;
}

void CompiledVersions::abandon(const Plan& plan) const
{
    for (uint32_t i : plan.taken)
        results_map_.words()[i] = 0;
}

void CompiledVersions::publish(const Plan& plan, const RuleSet& next) const
{
    // The idle copies take the new tables; the swap waits for running
    // programs, so the old copy is idle (and the old results unused) after.
    for (Family f : {Family::v4, Family::v6}) {
        if (!plan.tables[fam_index(f)])
            continue;
        int idle = 1 - active_copy(f);
        plan.tables[fam_index(f)]->write(mapped_[fam_index(f)][idle].words());
        swap_to(f, idle);
    }
    std::span<uint64_t> results = results_map_.words();
    for (uint32_t id = 1; id < plan.index.size(); id++)
        if (plan.index[id] && !next.find_id(id))
            results[plan.index[id]] = 0;
}

} // namespace pw
