// How large the pinned maps are made when they are created (global CLI
// options); once created, their sizes are read back from the kernel.
#pragma once

#include <cstdint>

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

// Throws Error naming the option when a capacity cannot be created.
void check_capacity(const Capacity& cap);

} // namespace pw
