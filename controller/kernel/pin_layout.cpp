#include "kernel/pin_layout.hpp"

namespace pw {
namespace fs = std::filesystem;

const char* trie_outer_name(Family f) { return f == Family::v4 ? "active_v4" : "active_v6"; }
const char* table_outer_name(Family f) { return f == Family::v4 ? "compiled_v4" : "compiled_v6"; }

const char* trie_copy_name(Family f, int copy)
{
    static const char* names[2][2] = {{"rules_v4_0", "rules_v4_1"}, {"rules_v6_0", "rules_v6_1"}};
    return names[fam_index(f)][copy];
}

const char* table_copy_name(Family f, int copy)
{
    static const char* names[2][2] = {{"compiled_v4_0", "compiled_v4_1"},
                                      {"compiled_v6_0", "compiled_v6_1"}};
    return names[fam_index(f)][copy];
}

fs::path maps_dir(const fs::path& pin_dir) { return pin_dir / "maps"; }

fs::path map_path(const fs::path& pin_dir, std::string_view name) { return maps_dir(pin_dir) / name; }

fs::path links_dir(const fs::path& pin_dir) { return pin_dir / "links"; }

fs::path link_path(const fs::path& pin_dir, const std::string& ifname)
{
    return links_dir(pin_dir) / ifname;
}

MissingMaps missing_maps(const fs::path& pin_dir)
{
    MissingMaps m;
    for (const auto& spec : kPinnedMaps)
        if (!fs::exists(map_path(pin_dir, spec.name)))
            (spec.owner == MapOwner::program ? m.program : m.controller) = true;
    return m;
}

} // namespace pw
