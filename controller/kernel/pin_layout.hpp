// The pinned layout, described once: every map under PIN_DIR/maps (its
// name, who creates it, how its size follows the capacity) and every link
// under PIN_DIR/links. The BPF side defines the same maps in
// bpf/lib/maps.h; the controller checks at load that the object has every
// program-created map this table names. Everything that needs a path or
// asks "is everything pinned?" asks here.
#pragma once

#include "base/prefix.hpp"
#include "kernel/capacity.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace pw {

enum class MapOwner {
    program,    // defined in bpf/lib/maps.h: created and pinned by libbpf at the first load
    controller, // an inner map (a rule version): created and pinned by the controller
};

struct PinnedMapSpec {
    const char* name;
    MapOwner owner;
    // max_entries at creation (program maps); 0: as bpf/lib/maps.h says.
    uint32_t (*entries)(const Capacity&);
};

inline constexpr std::array<PinnedMapSpec, 19> kPinnedMaps{{
    // Rule versions: one-slot outer maps pointing at the copy in force.
    {"active_v4", MapOwner::program, nullptr},
    {"active_v6", MapOwner::program, nullptr},
    {"compiled_v4", MapOwner::program, nullptr},
    {"compiled_v6", MapOwner::program, nullptr},
    // The copies behind them (controller/kernel/trie_versions.cpp,
    // controller/kernel/compiled_tables.cpp).
    {"rules_v4_0", MapOwner::controller, nullptr},
    {"rules_v4_1", MapOwner::controller, nullptr},
    {"rules_v6_0", MapOwner::controller, nullptr},
    {"rules_v6_1", MapOwner::controller, nullptr},
    {"compiled_v4_0", MapOwner::controller, nullptr},
    {"compiled_v4_1", MapOwner::controller, nullptr},
    {"compiled_v6_0", MapOwner::controller, nullptr},
    {"compiled_v6_1", MapOwner::controller, nullptr},
    // Result index -> rule id | counter slot, shared by every copy.
    {"compiled_results", MapOwner::program,
     [](const Capacity& c) { return c.max_rules_v4 + c.max_rules_v6 + 1; }},
    // Counters (controller/kernel/counter_slots.cpp).
    {"rule_counters", MapOwner::program, [](const Capacity& c) { return c.counter_slots; }},
    {"slot_owner", MapOwner::program, [](const Capacity& c) { return c.counter_slots; }},
    {"slot_ring", MapOwner::program, [](const Capacity& c) { return c.counter_slots; }},
    {"slot_ring_ctl", MapOwner::program, nullptr},
    {"global_counters", MapOwner::program, nullptr},
    // Tests only: the rules the last judged packet matched.
    {"last_match", MapOwner::program, nullptr},
}};

// The names of a family's outer maps and of their two copies.
const char* trie_outer_name(Family f);         // active_v4 / active_v6
const char* trie_copy_name(Family f, int copy); // rules_v4_0 ...
const char* table_outer_name(Family f);         // compiled_v4 / compiled_v6
const char* table_copy_name(Family f, int copy); // compiled_v4_0 ...

std::filesystem::path map_path(const std::filesystem::path& pin_dir, std::string_view name);
std::filesystem::path link_path(const std::filesystem::path& pin_dir, const std::string& ifname);
std::filesystem::path maps_dir(const std::filesystem::path& pin_dir);
std::filesystem::path links_dir(const std::filesystem::path& pin_dir);

// Which maps of the layout are missing (by owner).
struct MissingMaps {
    bool program = false, controller = false;
    bool any() const { return program || controller; }
};
MissingMaps missing_maps(const std::filesystem::path& pin_dir);

// Index of a family in [v4, v6] arrays.
inline int fam_index(Family f) { return f == Family::v4 ? 0 : 1; }
inline const char* family_tag(Family f) { return f == Family::v4 ? "v4" : "v6"; }

} // namespace pw
