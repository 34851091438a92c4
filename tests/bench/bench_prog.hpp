// Loading the lookup bench program (bpf/lookup_bench.bpf.c) over the maps
// pinned in a prefixwall pin directory: used by the lookup benchmark and
// by the per-corpus differential test.
#pragma once

#include "lookup_bench.skel.h"
#include "base/unique_fd.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace pwbench {
namespace fs = std::filesystem;
using pw::UniqueFd;

constexpr int kNone = 2; // engine: the loop alone

// What of the compiled path the bench runs per address (cfg_stage).
enum Stage { kLookup = 0, kVerdict = 1, kRules = 2, kCounted = 3 };

// One bench program over the pin directory's maps.
struct Bench {
    lookup_bench_bpf* skel = nullptr;
    ~Bench() { lookup_bench_bpf__destroy(skel); }
};

inline std::unique_ptr<Bench> load_bench(const fs::path& pin_dir, int engine, bool v6, bool record,
                                         uint32_t count, Stage stage = kLookup, bool chained = false)
{
    auto b = std::make_unique<Bench>();
    b->skel = lookup_bench_bpf__open();
    if (!b->skel)
        throw std::runtime_error("cannot open the bench object");
    bpf_map* m;
    bpf_object__for_each_map(m, b->skel->obj)
    {
        std::error_code ec;
        fs::path p = pin_dir / "maps" / bpf_map__name(m);
        if (std::strchr(bpf_map__name(m), '.') || !fs::exists(p, ec))
            continue;
        // Reuse the pinned map: same size, or libbpf refuses it.
        UniqueFd fd(bpf_obj_get(p.c_str()));
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (fd && bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0)
            bpf_map__set_max_entries(m, info.max_entries);
        bpf_map__set_pin_path(m, p.c_str());
    }
    // Inner templates: the pinned copies (reused outer maps ignore them).
    for (auto [outer, name] : {std::pair{b->skel->maps.compiled_v4, "compiled_v4_0"},
                               std::pair{b->skel->maps.compiled_v6, "compiled_v6_0"}}) {
        int fd = bpf_obj_get((pin_dir / "maps" / name).c_str());
        bpf_map__set_inner_map_fd(outer, fd);
    }
    b->skel->rodata->cfg_engine = static_cast<uint8_t>(engine);
    b->skel->rodata->cfg_v6 = v6;
    b->skel->rodata->cfg_count = count;
    b->skel->rodata->cfg_record = record;
    b->skel->rodata->cfg_stage = static_cast<uint8_t>(stage);
    b->skel->rodata->cfg_chained = chained;
    UniqueFd ring(bpf_obj_get((pin_dir / "maps" / "slot_ring").c_str()));
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (ring && bpf_obj_get_info_by_fd(ring.get(), &info, &len) == 0)
        b->skel->rodata->cfg_slot_mask = info.max_entries - 1;
    if (int err = lookup_bench_bpf__load(b->skel))
        throw std::runtime_error("cannot load the bench program: " + std::to_string(err));
    return b;
}


} // namespace pwbench
