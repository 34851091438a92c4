#include "kernel/program.hpp"

#include "base/error.hpp"
#include "kernel/map_io.hpp"
#include "kernel/pin_layout.hpp"
#include "prefixwall.skel.h"

#include <bpf/libbpf.h>
#include <sys/utsname.h>

#include <cstdio>
#include <cstring>
#include <vector>

namespace pw {
namespace fs = std::filesystem;

namespace {

// The oldest kernel with everything used here: BPF links for XDP (5.9),
// BPF atomics with compare-and-swap (5.12), batch map operations on
// arrays and LPM tries (5.12 onwards); 5.15 is the LTS we name.
constexpr int kMinMajor = 5, kMinMinor = 15;

struct Skeleton {
    prefixwall_bpf* skel = nullptr;
    Skeleton() : skel(prefixwall_bpf__open())
    {
        if (!skel)
            throw sys_error("cannot open the embedded BPF object", errno);
    }
    ~Skeleton() { prefixwall_bpf__destroy(skel); }
    Skeleton(const Skeleton&) = delete;
    Skeleton& operator=(const Skeleton&) = delete;
};

// Every program-created map of the layout gets its pin path (libbpf
// reuses a pinned map after checking it is compatible, or creates and
// pins it) and, where the layout says so, its size.
void pin_maps(bpf_object* obj, const fs::path& pin_dir, const Capacity& cap)
{
    for (const auto& spec : kPinnedMaps) {
        if (spec.owner != MapOwner::program)
            continue;
        bpf_map* map = bpf_object__find_map_by_name(obj, spec.name);
        if (!map)
            throw Error(std::string("the BPF object has no map '") + spec.name +
                        "' (bpf/lib/maps.h and controller/kernel/pin_layout.hpp disagree)");
        if (spec.entries)
            bpf_map__set_max_entries(map, spec.entries(cap));
        fs::path p = map_path(pin_dir, spec.id);
        if (int err = bpf_map__set_pin_path(map, p.c_str()))
            throw sys_error("pin path " + p.string(), -err);
    }
}

// The inner-map templates (type, key and value size, flags) come from
// bpf/lib/maps.h; the kernel does not compare max_entries of LPM tries,
// so the tries the controller creates may have any capacity. It does for
// arrays: copy 0 of each compiled table is the template. The returned fds
// stay open until the object is loaded.
std::vector<UniqueFd> set_table_templates(bpf_object* obj, const fs::path& pin_dir)
{
    std::vector<UniqueFd> fds;
    for (Family f : {Family::v4, Family::v6}) {
        bpf_map* outer = bpf_object__find_map_by_name(obj, map_name(table_outer(f)));
        UniqueFd fd = open_pinned(map_path(pin_dir, table_copy(f, 0)));
        if (int err = bpf_map__set_inner_map_fd(outer, fd.get()))
            throw sys_error(std::string("inner map of ") + map_name(table_outer(f)), -err);
        fds.push_back(std::move(fd));
    }
    return fds;
}

} // namespace

void check_kernel()
{
    utsname u{};
    if (::uname(&u) != 0)
        return;
    int major = 0, minor = 0;
    if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2)
        return;
    if (major < kMinMajor || (major == kMinMajor && minor < kMinMinor))
        throw Error(std::string("kernel ") + u.release + " is too old: prefixwall needs " +
                    std::to_string(kMinMajor) + "." + std::to_string(kMinMinor) +
                    " or newer (BPF links for XDP, BPF atomics, batch map operations);"
                    " see vagrant/ for a VM that has it");
}

UniqueFd load_program(const fs::path& pin_dir, const Capacity& cap, const ProgramSettings& s)
{
    Skeleton sk;
    pin_maps(sk.skel->obj, pin_dir, cap);
    auto templates = set_table_templates(sk.skel->obj, pin_dir);
    auto* ro = sk.skel->rodata;
    ro->cfg_match = static_cast<__u8>(s.match);
    ro->cfg_dry_run = s.dry_run;
    ro->cfg_malformed_drop = s.malformed_drop;
    ro->cfg_record_last = s.record_last;
    ro->cfg_engine = static_cast<__u8>(s.engine);
    ro->cfg_slot_mask = cap.counter_slots - 1;
    // The reject bucket's cost of one answer (0 answers: never).
    ro->cfg_reject_interval_ns = s.reject_rate ? 1000000000ull / s.reject_rate : ~0ull;
    if (int err = prefixwall_bpf__load(sk.skel))
        throw sys_error("cannot load the XDP program (maps pinned under " +
                            maps_dir(pin_dir).string() +
                            " may be from an incompatible version: "
                            "'prefixwall detach --all --purge' removes them)",
                        err);
    int fd = ::dup(bpf_program__fd(sk.skel->progs.prefixwall_xdp));
    if (fd < 0)
        throw sys_error("dup program fd", errno);
    return UniqueFd(fd);
}

} // namespace pw
