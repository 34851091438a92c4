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

// Every pinned map, by what it is; kPinnedMaps below in the same order.
enum class PinnedMap {
    // Rule versions: one-slot outer maps pointing at the copy in force...
    active_v4, active_v6, compiled_v4, compiled_v6,
    // ...and the copies behind them (kernel/trie_versions.cpp,
    // kernel/compiled_versions.cpp).
    rules_v4_0, rules_v4_1, rules_v6_0, rules_v6_1,
    compiled_v4_0, compiled_v4_1, compiled_v6_0, compiled_v6_1,
    // Result index -> rule id | counter slot, shared by every copy.
    compiled_results,
    // Counters (kernel/counter_slots.cpp).
    rule_counters, slot_owner, slot_ring, slot_ring_ctl, global_counters,
    // Tests only: the rules the last judged packet matched.
    last_match,
    // Captures (kernel/capture_slots.cpp).
    capture_active, capture_filters, capture_rings, capture_lost,
    count
};

struct PinnedMapSpec {
    PinnedMap id;
    const char* name; // the map's name in the BPF object and its pin file
    MapOwner owner;
    // max_entries at creation (program maps); null: as bpf/lib/maps.h says.
    uint32_t (*entries)(const Capacity&);
};

inline constexpr std::array<PinnedMapSpec, static_cast<size_t>(PinnedMap::count)> kPinnedMaps{{
    {PinnedMap::active_v4, "active_v4", MapOwner::program, nullptr},
    {PinnedMap::active_v6, "active_v6", MapOwner::program, nullptr},
    {PinnedMap::compiled_v4, "compiled_v4", MapOwner::program, nullptr},
    {PinnedMap::compiled_v6, "compiled_v6", MapOwner::program, nullptr},
    {PinnedMap::rules_v4_0, "rules_v4_0", MapOwner::controller, nullptr},
    {PinnedMap::rules_v4_1, "rules_v4_1", MapOwner::controller, nullptr},
    {PinnedMap::rules_v6_0, "rules_v6_0", MapOwner::controller, nullptr},
    {PinnedMap::rules_v6_1, "rules_v6_1", MapOwner::controller, nullptr},
    {PinnedMap::compiled_v4_0, "compiled_v4_0", MapOwner::controller, nullptr},
    {PinnedMap::compiled_v4_1, "compiled_v4_1", MapOwner::controller, nullptr},
    {PinnedMap::compiled_v6_0, "compiled_v6_0", MapOwner::controller, nullptr},
    {PinnedMap::compiled_v6_1, "compiled_v6_1", MapOwner::controller, nullptr},
    {PinnedMap::compiled_results, "compiled_results", MapOwner::program,
     [](const Capacity& c) { return c.max_rules_v4 + c.max_rules_v6 + 1; }},
    {PinnedMap::rule_counters, "rule_counters", MapOwner::program, [](const Capacity& c) { return c.counter_slots; }},
    {PinnedMap::slot_owner, "slot_owner", MapOwner::program, [](const Capacity& c) { return c.counter_slots; }},
    {PinnedMap::slot_ring, "slot_ring", MapOwner::program, [](const Capacity& c) { return c.counter_slots; }},
    {PinnedMap::slot_ring_ctl, "slot_ring_ctl", MapOwner::program, nullptr},
    {PinnedMap::global_counters, "global_counters", MapOwner::program, nullptr},
    {PinnedMap::last_match, "last_match", MapOwner::program, nullptr},
    {PinnedMap::capture_active, "capture_active", MapOwner::program, nullptr},
    {PinnedMap::capture_filters, "capture_filters", MapOwner::program, nullptr},
    {PinnedMap::capture_rings, "capture_rings", MapOwner::program, nullptr},
    {PinnedMap::capture_lost, "capture_lost", MapOwner::program, nullptr},
}};

constexpr const PinnedMapSpec& spec_of(PinnedMap m) { return kPinnedMaps[static_cast<size_t>(m)]; }
constexpr bool layout_in_order()
{
    for (size_t i = 0; i < kPinnedMaps.size(); i++)
        if (static_cast<size_t>(kPinnedMaps[i].id) != i)
            return false;
    return true;
}
static_assert(layout_in_order(), "kPinnedMaps must list the maps in PinnedMap's order");

// A family's outer maps and their two copies.
PinnedMap trie_outer(Family f);               // active_v4 / active_v6
PinnedMap trie_copy(Family f, int copy);      // rules_v4_0 ...
PinnedMap table_outer(Family f);              // compiled_v4 / compiled_v6
PinnedMap table_copy(Family f, int copy);     // compiled_v4_0 ...
inline const char* map_name(PinnedMap m) { return spec_of(m).name; }

std::filesystem::path maps_dir(const std::filesystem::path& pin_dir);
std::filesystem::path map_path(const std::filesystem::path& pin_dir, PinnedMap m);
std::filesystem::path links_dir(const std::filesystem::path& pin_dir);
std::filesystem::path link_path(const std::filesystem::path& pin_dir, const std::string& ifname);

// Which maps of the layout are missing (by owner).
struct MissingMaps {
    bool program = false, controller = false;
    bool any() const { return program || controller; }
};
MissingMaps missing_maps(const std::filesystem::path& pin_dir);


} // namespace pw
