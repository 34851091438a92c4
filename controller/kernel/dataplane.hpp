// The kernel side as the controller sees it: the pinned maps, program
// instances loaded from the embedded BPF object, and XDP links pinned per
// interface. Nothing here keeps a process alive: every object is pinned,
// so filtering goes on whatever happens to the controller.
#pragma once

#include "base/counter.hpp"
#include "kernel/mapped_words.hpp"
#include "base/prefix.hpp"
#include "store/rules.hpp"
#include "store/state_store.hpp"
#include "base/unique_fd.hpp"

#include "prefixwall/abi.h"

#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <unordered_map>
#include <optional>
#include <span>
#include <vector>

namespace pw {

struct Capacity {
    uint32_t max_rules_v4 = 2'000'000;
    uint32_t max_rules_v6 = 1'000'000;
    uint32_t counter_slots = 131'072; // power of two; slot 0 is overflow
    // The compiled engine's table, per family and copy (MiB); results take
    // another 8 B per rule of max_rules_v4 + max_rules_v6.
    uint32_t table_mb_v4 = 16;
    uint32_t table_mb_v6 = 16;
};

// Which engines' maps a change is written to. The compiled tables are
// always kept (the default engine, and what `lookup` reads); the tries
// only while an attachment uses them.
struct Engines {
    bool trie = true;
    bool compiled = true;
};

// Settings compiled into one program instance (.rodata).
struct ProgramSettings {
    Match match = Match::both;
    bool dry_run = false;
    bool malformed_drop = false;
    bool record_last = false; // tests: keep the last verdict in last_match
    Engine engine = Engine::compiled;
};

// One entry change for the data plane. action 0 erases the prefix;
// prev_rule_id is the id the prefix had before (0: it was absent).
struct EntryWrite {
    Prefix prefix;
    uint32_t rule_id = 0;
    uint8_t action = 0;
    uint32_t prev_rule_id = 0;
};


// Cells of global_counters (PW_GLOBAL_COUNTERS, as a size).
constexpr size_t kGlobalCells = static_cast<size_t>(PW_FAMILY_MAX) * PW_OUTCOME_MAX;
static_assert(kGlobalCells == static_cast<size_t>(PW_GLOBAL_COUNTERS));
using GlobalCounters = std::array<Counter, kGlobalCells>;

// Index of a (family, outcome) cell in GlobalCounters and global_counters.
constexpr size_t global_index(unsigned family, unsigned outcome)
{
    return static_cast<size_t>(family) * PW_OUTCOME_MAX + outcome;
}

// Checks the running kernel against the minimum prefixwall needs; throws
// Error saying what is missing.
void check_kernel();

class Dataplane {
public:
    // Opens the pinned maps under pin_dir. When none exist and `create` is
    // set, loads the object once with `cap` to create and pin them;
    // otherwise returns nullopt. The caller holds the pin-dir lock.
    static std::optional<Dataplane> open(const std::filesystem::path& pin_dir,
                                         const Capacity& cap, bool create);

    Dataplane(Dataplane&&) = default;
    Dataplane& operator=(Dataplane&&) = default;

    const Capacity& capacity() const { return cap_; }
    // Whether open() had to create maps (first run, or pins removed).
    bool created() const { return created_; }
    // Whether the maps this object holds are still the ones pinned.
    bool still_pinned() const;
    const std::filesystem::path& pin_dir() const { return pin_dir_; }

    // A program instance sharing the pinned maps.
    UniqueFd load_program(const ProgramSettings& s) const;

    // Attaches (or atomically replaces the program of an existing
    // attachment) and pins the link. Throws Error with advice on failure.
    void attach(Attachment& a) const;
    void detach(const std::string& ifname) const;
    bool attached(const std::string& ifname) const;

    // Makes `next` the rule version in force, atomically for every packet.
    // Compiled engine: the tables of the families `writes` touch are built
    // from `next` into the idle copies. Trie engine: `writes` go to the
    // idle tries. Then the copies are swapped, and the tries now idle get
    // `writes` too. If anything cannot be written (a full map or table),
    // `undo` restores the idle tries and the error is thrown with nothing
    // in force changed. Counter slots of rules that stay are kept. Returns
    // false when the version is in force but the now idle tries could not
    // be brought up to date (rebuild() fixes it).
    bool apply(const RuleSet& next, const std::vector<EntryWrite>& writes,
               const std::vector<EntryWrite>& undo, Engines engines) const;
    // Makes the engines' maps equal `rules` (recovery after an interrupted
    // run, or the tries when an attachment starts using them).
    void rebuild(const RuleSet& rules, Engines engines) const;

    // The entry in force for an address: a userspace walk of the compiled
    // table in force.
    std::optional<pw_rule_value> lookup(const Address& a) const;
    // Whether every family with rules has a compiled table published (maps
    // created by an older version have none until rebuild()).
    bool compiled_ready(const RuleSet& rules) const;
    // Words of the compiled table in force (tests, benchmarks).
    std::span<const uint64_t> compiled_table(Family f) const;
    std::span<const uint64_t> compiled_results() const { return results_map_.words(); }
    // Every prefix in one copy (the one in force when copy < 0).
    std::vector<std::pair<Prefix, pw_rule_value>> entries(Family f, int copy = -1) const;
    int active_copy(Family f) const;

    // Counters, summed over CPUs. rule_counters() is keyed by rule id
    // (every slot a rule owns); slot 0's hits are under id 0.
    RuleCounters rule_counters() const;
    GlobalCounters global_counters() const;
    // Gives back every slot whose owner fails keep(); returns what those
    // slots had counted, by rule id.
    std::map<uint32_t, Counter> release_slots(
        const std::function<bool(uint32_t)>& keep) const;

    std::optional<pw_last_match> last_match() const;

    // Removes every pin (maps and links) under the pin directory.
    static void purge(const std::filesystem::path& pin_dir);

private:
    Dataplane() = default;
    void init_slot_ring() const;
    uint32_t slots_in_use_bound() const;
    void init_tries(const Capacity& want);
    void create_tables(const Capacity& want);
    void init_tables(const Capacity& want);
    int trie_fd(Family f, int copy) const { return tries_[f == Family::v4 ? 0 : 1][copy].get(); }
    int outer_fd(Family f) const { return f == Family::v4 ? active_v4_.get() : active_v6_.get(); }
    int table_outer_fd(Family f) const { return f == Family::v4 ? compiled_v4_.get() : compiled_v6_.get(); }
    void write_copy(Family f, int copy, const std::vector<EntryWrite>& writes) const;
    void swap_to(Family f, int copy) const;
    int active_table(Family f) const;
    void swap_table(Family f, int copy) const;
    struct CompiledPlan;
    CompiledPlan plan_compiled(const RuleSet& next, const bool touched[2]) const;
    void publish_compiled(const CompiledPlan& plan, const RuleSet& next) const;

    std::filesystem::path pin_dir_;
    Capacity cap_;
    UniqueFd active_v4_, active_v6_, rule_counters_, slot_owner_, slot_ring_, slot_ring_ctl_,
        global_counters_, last_match_;
    std::array<std::array<UniqueFd, 2>, 2> tries_; // [family][copy]
    UniqueFd compiled_v4_, compiled_v6_, compiled_results_;
    std::array<std::array<UniqueFd, 2>, 2> tables_; // [family][copy]
    std::array<std::array<MappedWords, 2>, 2> table_maps_;
    MappedWords results_map_;
    int ncpus_ = 1;
    bool created_ = false;
};

} // namespace pw
