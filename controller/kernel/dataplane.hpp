// The kernel side as the controller sees it: the pinned maps (laid out in
// pin_layout.hpp), the rule versions of both engines, the counters, program
// instances and XDP links. This class opens and creates them as one whole
// and orders a commit across engines (apply); each part is its own class.
// Nothing here keeps a process alive: every object is pinned, so filtering
// goes on whatever happens to the controller.
#pragma once

#include "base/attachment.hpp"
#include "base/prefix.hpp"
#include "base/unique_fd.hpp"
#include "kernel/capacity.hpp"
#include "kernel/compiled_versions.hpp"
#include "kernel/counter_slots.hpp"
#include "kernel/links.hpp"
#include "kernel/program.hpp"
#include "kernel/trie_versions.hpp"
#include "store/rules.hpp"

#include <cstdint>

#include "prefixwall/abi.h"

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <vector>

namespace pw {

// Which engines' maps a change is written to. The compiled tables are
// always kept (the default engine, and what `lookup` reads); the tries
// only while an attachment uses them.
struct Engines {
    bool trie = true;
    bool compiled = true;
};

class Dataplane {
public:
    // Opens the pinned maps under pin_dir. When some are missing and
    // `create` is set, creates them with `cap` (loading the object once
    // creates the program's own maps); otherwise returns nullopt. The
    // caller holds the pin-dir lock.
    static std::optional<Dataplane> open(const std::filesystem::path& pin_dir,
                                         const Capacity& cap, bool create);

    Dataplane(Dataplane&&) = default;
    Dataplane& operator=(Dataplane&&) = default;

    // The sizes of the maps as created (read back from the kernel).
    const Capacity& capacity() const { return cap_; }
    // Whether open() had to create maps (first run, or pins removed).
    bool created() const { return created_; }
    // Whether the maps this object holds are still the ones pinned.
    bool still_pinned() const;
    const std::filesystem::path& pin_dir() const { return pin_dir_; }

    // A program instance sharing the pinned maps.
    UniqueFd load_program(const ProgramSettings& s) const;

    // Loads a program with a's settings and attaches it (or atomically
    // replaces the program of an existing attachment); fills in a.ifindex.
    void attach(Attachment& a) const;
    void detach(const std::string& ifname) const { links_.detach(ifname); }
    bool attached(const std::string& ifname) const { return links_.attached(ifname); }

    // Makes `next` the rule version in force, atomically for every packet.
    // Compiled engine: the regions of the prefixes `writes` change are
    // rebuilt from `next` (every rule has its result index) into the idle
    // copies. Trie engine: `writes` go to the idle tries. Then the copies
    // are swapped, and the copies now idle get the same writes. If anything
    // cannot be written (a full map or table), `undo` restores the idle
    // tries and the error is thrown with nothing in force changed. Counter
    // slots of rules that stay are kept. Returns false when the version is
    // in force but a now idle copy could not be brought up to date
    // (rebuild() fixes it).
    // `swapped`, when given, is set just before the last swap is issued:
    // the kernel points the slot at the new copy as the update starts, so
    // every packet from then on sees the new version; the update returns
    // once programs still running on the old copy are done (an RCU grace
    // period, 5-15 ms here), and only then is the old copy written.
    bool apply(const RuleView& next, const std::vector<EntryWrite>& writes,
               const std::vector<EntryWrite>& undo, Engines engines,
               std::chrono::steady_clock::time_point* swapped = nullptr) const;
    // Makes the engines' maps equal `rules` (recovery after an interrupted
    // run, or the tries when an attachment starts using them).
    void rebuild(const RuleView& rules, Engines engines) const;
    // Result indices of the compiled engine (kernel/compiled_versions.hpp).
    uint32_t take_result(uint32_t rule_id, uint32_t& hint) const { return compiled_.take_result(rule_id, hint); }
    void free_results(const std::vector<uint32_t>& i) const { compiled_.free_results(i); }
    std::vector<std::pair<uint32_t, uint32_t>> results_in_use() const { return compiled_.results_in_use(); }
    void reset_results(const std::vector<uint32_t>& owner) const { compiled_.reset_results(owner); }
    // The generation of the rule store the maps hold (kernel/pin_layout.hpp:
    // the generation map); kGenerationChanging while a commit is under way.
    uint64_t generation() const;
    void set_generation(uint64_t g) const;
    static constexpr uint64_t kGenerationChanging = UINT64_MAX;

    // The entry in force for an address: a userspace walk of the compiled
    // table in force.
    std::optional<pw_rule_value> lookup(const Address& a, const L4* packet = nullptr) const;
    bool compiled_ready(const RuleView& rules) const { return compiled_.ready(rules); }
    // Words of the compiled table in force (tests, benchmarks).
    std::span<const uint64_t> compiled_table(Family f) const { return compiled_.table(f); }
    std::span<const uint64_t> compiled_results() const { return compiled_.results(); }
    // Every prefix in one trie copy (the one in force when copy < 0).
    std::vector<std::pair<Prefix, pw_rule_value>> entries(Family f, int copy = -1) const
    {
        return tries_.entries(f, copy);
    }
    int active_copy(Family f) const { return tries_.active_copy(f); }

    // Counters, summed over CPUs (kernel/counter_slots.hpp).
    RuleCounters rule_counters() const { return counters_.rule_counters(); }
    GlobalCounters global_counters() const { return counters_.global_counters(); }
    std::map<uint32_t, Counter> release_slots(const std::function<bool(uint32_t)>& keep) const
    {
        return counters_.release(keep);
    }

    std::optional<pw_last_match> last_match() const;

    // Removes every pin (maps and links) under the pin directory.
    static void purge(const std::filesystem::path& pin_dir);

private:
    Dataplane(std::filesystem::path pin_dir, TrieVersions tries, CompiledVersions compiled,
              CounterSlots counters);

    std::filesystem::path pin_dir_;
    Capacity cap_;
    TrieVersions tries_;
    CompiledVersions compiled_;
    CounterSlots counters_;
    Links links_;
    UniqueFd last_match_;
    std::array<uint32_t, 2> identity_{}; // ids of maps that tell whether the pins changed
    bool created_ = false;
};

} // namespace pw
