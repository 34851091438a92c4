// The data plane's counters as the controller reads and recycles them:
// per-CPU cells per counter slot (rule_counters), the owner of each slot
// (slot_owner), the ring of free slots the data plane pops from
// (slot_ring, slot_ring_ctl: head is the data plane's, tail ours), and the
// per-CPU global counters by family and outcome. A rule takes a slot on its
// first hit; the controller gives slots of rules that are gone back to the
// ring, with their counts, after the swap that dropped them.
#pragma once

#include "base/counter.hpp"
#include "base/unique_fd.hpp"

#include "prefixwall/abi.h"

#include <array>
#include <filesystem>
#include <functional>
#include <map>

namespace pw {

// Cells of global_counters (PW_GLOBAL_COUNTERS, as a size).
constexpr size_t kGlobalCells = static_cast<size_t>(PW_FAMILY_MAX) * PW_OUTCOME_MAX;
static_assert(kGlobalCells == static_cast<size_t>(PW_GLOBAL_COUNTERS));
using GlobalCounters = std::array<Counter, kGlobalCells>;

// Index of a (family, outcome) cell in GlobalCounters and global_counters.
constexpr size_t global_index(unsigned family, unsigned outcome)
{
    return static_cast<size_t>(family) * PW_OUTCOME_MAX + outcome;
}

class CounterSlots {
public:
    // Opens the counter maps; fills the free ring the first time.
    static CounterSlots open(const std::filesystem::path& pin_dir);

    uint32_t slots() const { return slots_; }
    // Counts by rule id, summed over CPUs (every slot a rule owns; slot 0's
    // hits under id 0). Reads only the slots the ring has handed out.
    RuleCounters rule_counters() const;
    GlobalCounters global_counters() const;
    // Gives back every slot whose owner fails keep(); returns what those
    // slots had counted, by rule id.
    std::map<uint32_t, Counter> release(const std::function<bool(uint32_t)>& keep) const;

private:
    void init_ring() const;
    // No slot above the number of pops was ever handed out.
    uint32_t in_use_bound() const;

    UniqueFd cells_, owner_, ring_, ring_ctl_, global_;
    uint32_t slots_ = 0;
    int ncpus_ = 1;
};

} // namespace pw
