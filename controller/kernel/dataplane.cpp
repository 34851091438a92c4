#include "kernel/dataplane.hpp"

#include "base/error.hpp"
#include "kernel/map_io.hpp"
#include "kernel/pin_layout.hpp"

#include <bpf/bpf.h>

namespace pw {
namespace fs = std::filesystem;

namespace {

// Maps whose ids say whether the pins are still the ones this object opened.
constexpr std::array<PinnedMap, 2> kIdentityMaps{PinnedMap::global_counters, PinnedMap::compiled_results};

} // namespace

Dataplane::Dataplane(fs::path pin_dir, TrieVersions tries, CompiledVersions compiled,
                     CounterSlots counters)
    : pin_dir_(std::move(pin_dir)), tries_(std::move(tries)), compiled_(std::move(compiled)),
      counters_(std::move(counters)), links_(pin_dir_)
{
}

std::optional<Dataplane> Dataplane::open(const fs::path& pin_dir, const Capacity& want, bool create)
{
    MissingMaps missing = missing_maps(pin_dir);
    if (missing.any()) {
        if (!create)
            return std::nullopt;
        check_capacity(want);
        // The table copies first (copy 0 is the inner-map template of the
        // program load that creates the program's maps); the tries after.
        CompiledVersions::create_missing(pin_dir, want);
        if (missing.program)
            pw::load_program(pin_dir, want, ProgramSettings{});
    }
    Dataplane dp(pin_dir, TrieVersions::open(pin_dir, want), CompiledVersions::open(pin_dir),
                 CounterSlots::open(pin_dir));
    dp.created_ = missing.any();
    dp.last_match_ = open_pinned(map_path(pin_dir, PinnedMap::last_match));
    for (size_t i = 0; i < kIdentityMaps.size(); i++)
        dp.identity_[i] = map_id(open_pinned(map_path(pin_dir, kIdentityMaps[i])).get());
    dp.cap_.max_rules_v4 = dp.tries_.limit(Family::v4);
    dp.cap_.max_rules_v6 = dp.tries_.limit(Family::v6);
    dp.cap_.counter_slots = dp.counters_.slots();
    dp.cap_.table_mb_v4 = dp.compiled_.table_mb(Family::v4);
    dp.cap_.table_mb_v6 = dp.compiled_.table_mb(Family::v6);
    return dp;
}

bool Dataplane::still_pinned() const
{
    for (size_t i = 0; i < kIdentityMaps.size(); i++) {
        UniqueFd pinned = try_open_pinned(map_path(pin_dir_, kIdentityMaps[i]));
        if (!pinned || map_id(pinned.get()) != identity_[i])
            return false;
    }
    return true;
}

UniqueFd Dataplane::load_program(const ProgramSettings& s) const
{
    return pw::load_program(pin_dir_, cap_, s);
}

void Dataplane::attach(Attachment& a) const
{
    UniqueFd prog = load_program(ProgramSettings{a.match, a.dry_run, a.malformed_drop, false, a.engine, a.reject_rate});
    links_.attach(a, prog);
}

bool Dataplane::apply(const RuleView& next, const std::vector<EntryWrite>& writes,
                      const std::vector<EntryWrite>& undo, Engines engines,
                      std::chrono::steady_clock::time_point* swapped) const
{
    std::array<bool, 2> touched{false, false};
    std::array<std::vector<Prefix>, 2> changed;
    for (const EntryWrite& w : writes) {
        touched[fam_index(w.prefix.family)] = true;
        changed[fam_index(w.prefix.family)].push_back(w.prefix);
    }
    // 1. The compiled tables (patches of what changed, or whole) are built
    //    and checked against their room before anything is written.
    std::optional<CompiledVersions::Plan> plan;
    if (engines.compiled)
        plan = compiled_.plan(next, changed, {false, false});
    std::array<bool, 2> trie_touched{touched[0] && engines.trie, touched[1] && engines.trie};
    std::array<int, 2> active{-1, -1};
    // 2. The idle tries take the new version; on failure they are
    //    restored and nothing in force has changed.
    for (Family f : {Family::v4, Family::v6}) {
        if (!trie_touched[fam_index(f)])
            continue;
        active[fam_index(f)] = tries_.active_copy(f);
        try {
            tries_.write_copy(f, 1 - active[fam_index(f)], writes);
        } catch (...) {
            for (Family g : {Family::v4, Family::v6})
                if (active[fam_index(g)] >= 0)
                    tries_.write_copy(g, 1 - active[fam_index(g)], undo);
            throw;
        }
    }
    // 3. Swap: every packet from now on sees the new version.
    bool complete = true;
    if (plan)
        complete = compiled_.publish(*plan, swapped);
    for (Family f : {Family::v4, Family::v6})
        if (trie_touched[fam_index(f)]) {
            if (swapped)
                *swapped = std::chrono::steady_clock::now();
            tries_.swap_to(f, 1 - active[fam_index(f)]);
        }
    // 4. The old tries catch up, ready for the next version. A failure
    //    here changes nothing in force; the caller leaves the maps'
    //    generation unequal to the store's, and the next run rebuilds.
    try {
        for (Family f : {Family::v4, Family::v6})
            if (trie_touched[fam_index(f)])
                tries_.write_copy(f, active[fam_index(f)], writes);
    } catch (const std::exception&) {
        return false;
    }
    return complete;
}

void Dataplane::rebuild(const RuleView& rules, Engines engines) const
{
    if (engines.compiled)
        compiled_.publish(compiled_.plan(rules, {}, {true, true}));
    if (engines.trie)
        tries_.rebuild(rules);
}

uint64_t Dataplane::generation() const
{
    auto r = compiled_.results();
    return r.empty() ? 0 : r[PW_CL_RESULT_GENERATION];
}

void Dataplane::set_generation(uint64_t g) const { compiled_.set_generation(g); }

std::optional<pw_rule_value> Dataplane::lookup(const Address& a, const L4* packet) const
{
    auto m = compiled_.lookup(a, packet);
    if (!m)
        return std::nullopt;
    pw_rule_value v{};
    v.rule_id = m->rule_id;
    v.counter_slot = m->counter_slot;
    v.action = m->action;
    return v;
}

std::optional<pw_last_match> Dataplane::last_match() const
{
    uint32_t zero = 0;
    pw_last_match m{};
    if (bpf_map_lookup_elem(last_match_.get(), &zero, &m) != 0)
        return std::nullopt;
    return m;
}

void Dataplane::purge(const fs::path& pin_dir)
{
    Links(pin_dir).detach_all();
    // Every map file, also those an older version pinned under other names.
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(maps_dir(pin_dir), ec))
        fs::remove(e.path(), ec);
}

} // namespace pw
