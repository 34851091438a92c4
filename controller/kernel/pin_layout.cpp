#include "kernel/pin_layout.hpp"

namespace pw {
namespace fs = std::filesystem;

PinnedMap trie_outer(Family f) { return f == Family::v4 ? PinnedMap::active_v4 : PinnedMap::active_v6; }
PinnedMap table_outer(Family f) { return f == Family::v4 ? PinnedMap::compiled_v4 : PinnedMap::compiled_v6; }

PinnedMap trie_copy(Family f, int copy)
{
    static constexpr PinnedMap copies[2][2] = {{PinnedMap::rules_v4_0, PinnedMap::rules_v4_1},
                                               {PinnedMap::rules_v6_0, PinnedMap::rules_v6_1}};
    return copies[fam_index(f)][copy];
}

PinnedMap table_copy(Family f, int copy)
{
    static constexpr PinnedMap copies[2][2] = {{PinnedMap::compiled_v4_0, PinnedMap::compiled_v4_1},
                                               {PinnedMap::compiled_v6_0, PinnedMap::compiled_v6_1}};
    return copies[fam_index(f)][copy];
}

fs::path maps_dir(const fs::path& pin_dir) { return pin_dir / "maps"; }

fs::path map_path(const fs::path& pin_dir, PinnedMap m) { return maps_dir(pin_dir) / map_name(m); }

fs::path links_dir(const fs::path& pin_dir) { return pin_dir / "links"; }

fs::path link_path(const fs::path& pin_dir, const std::string& ifname)
{
    return links_dir(pin_dir) / ifname;
}

MissingMaps missing_maps(const fs::path& pin_dir)
{
    MissingMaps m;
    for (const auto& spec : kPinnedMaps)
        if (!fs::exists(map_path(pin_dir, spec.id)))
            (spec.owner == MapOwner::program ? m.program : m.controller) = true;
    return m;
}

} // namespace pw
