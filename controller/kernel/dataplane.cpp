#include "kernel/dataplane.hpp"

#include "kernel/compiled.hpp"
#include "base/error.hpp"
#include "prefixwall.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace pw {
namespace fs = std::filesystem;

namespace {

// The oldest kernel with everything used here: BPF links for XDP (5.9),
// BPF atomics with compare-and-swap (5.12), batch map operations on
// arrays and LPM tries (5.12 onwards); 5.15 is the LTS we name.
constexpr int kMinMajor = 5, kMinMinor = 15;

struct MapPin {
    const char* name;
    UniqueFd Dataplane::*fd;
};

fs::path map_path(const fs::path& pin_dir, const char* name)
{
    return pin_dir / "maps" / name;
}

fs::path link_path(const fs::path& pin_dir, const std::string& ifname)
{
    return pin_dir / "links" / ifname;
}

std::vector<uint8_t> make_key_bytes(const Prefix& p)
{
    std::vector<uint8_t> k(4 + addr_bytes(p.family));
    uint32_t len = p.len;
    std::memcpy(k.data(), &len, 4);
    std::memcpy(k.data() + 4, p.bytes.data(), addr_bytes(p.family));
    return k;
}

uint32_t map_max_entries(int fd)
{
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
        return 0;
    return info.max_entries;
}

// Reads keys 0..n-1 of an array map with batch lookups into a buffer
// that is not zeroed first (it is overwritten).
std::unique_ptr<uint8_t[]> read_array(int fd, uint32_t n, size_t value_size, const char* what)
{
    std::unique_ptr<uint8_t[]> values(new uint8_t[static_cast<size_t>(n) * value_size]);
    std::unique_ptr<uint32_t[]> keys(new uint32_t[n]);
    uint32_t done = 0, out_batch = 0;
    bool first = true;
    while (done < n) {
        uint32_t count = n - done;
        int err = bpf_map_lookup_batch(fd, first ? nullptr : &out_batch, &out_batch, keys.get() + done,
                                       values.get() + done * value_size, &count, nullptr);
        first = false;
        done += count;
        if (err != 0) {
            if (errno == ENOENT)
                break; // end of map
            throw sys_error(std::string("reading ") + what, errno);
        }
    }
    return values;
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

namespace {

// Opens the skeleton with every map pinned under pin_dir: libbpf reuses a
// pinned map (after checking it is compatible) or creates and pins it.
struct Skeleton {
    prefixwall_bpf* skel = nullptr;
    ~Skeleton() { prefixwall_bpf__destroy(skel); }
};

uint32_t table_words(const Capacity& cap, Family f)
{
    return (f == Family::v4 ? cap.table_mb_v4 : cap.table_mb_v6) * (1048576u / sizeof(uint64_t));
}

void prepare_maps(prefixwall_bpf* skel, const fs::path& pin_dir, const Capacity& cap)
{
    struct Want {
        bpf_map* map;
        uint32_t entries;
    } wants[] = {
        {skel->maps.active_v4, 0},
        {skel->maps.active_v6, 0},
        {skel->maps.compiled_v4, 0},
        {skel->maps.compiled_v6, 0},
        {skel->maps.compiled_results, cap.max_rules_v4 + cap.max_rules_v6 + 1},
        {skel->maps.rule_counters, cap.counter_slots},
        {skel->maps.slot_owner, cap.counter_slots},
        {skel->maps.slot_ring, cap.counter_slots},
        {skel->maps.slot_ring_ctl, 0},
        {skel->maps.global_counters, 0},
        {skel->maps.last_match, 0},
    };
    for (auto& w : wants) {
        fs::path p = map_path(pin_dir, bpf_map__name(w.map));
        if (w.entries)
            bpf_map__set_max_entries(w.map, w.entries);
        int err = bpf_map__set_pin_path(w.map, p.c_str());
        if (err)
            throw sys_error("pin path " + p.string(), err);
    }
    // The inner-map templates (type, key and value size, flags) come from
    // bpf/lib/maps.h; the kernel does not compare max_entries of LPM tries,
    // so the tries the controller creates may have any capacity. It does
    // for arrays: copy 0 of each compiled table (created before any load)
    // is the template. Returned fds stay open until the object is loaded.
}

std::vector<UniqueFd> set_table_templates(prefixwall_bpf* skel, const fs::path& pin_dir)
{
    std::vector<UniqueFd> fds;
    std::pair<bpf_map*, const char*> outers[] = {{skel->maps.compiled_v4, "compiled_v4_0"},
                                                 {skel->maps.compiled_v6, "compiled_v6_0"}};
    for (auto [outer, name] : outers) {
        fs::path p = map_path(pin_dir, name);
        UniqueFd fd(bpf_obj_get(p.c_str()));
        if (!fd)
            throw sys_error("cannot open pinned map " + p.string(), errno);
        int err = bpf_map__set_inner_map_fd(outer, fd.get());
        if (err)
            throw sys_error(std::string("inner map of ") + bpf_map__name(outer), -err);
        fds.push_back(std::move(fd));
    }
    return fds;
}

const char* trie_name(Family f, int copy)
{
    static const char* names[2][2] = {{"rules_v4_0", "rules_v4_1"}, {"rules_v6_0", "rules_v6_1"}};
    return names[f == Family::v4 ? 0 : 1][copy];
}

const char* table_name(Family f, int copy)
{
    static const char* names[2][2] = {{"compiled_v4_0", "compiled_v4_1"},
                                      {"compiled_v6_0", "compiled_v6_1"}};
    return names[f == Family::v4 ? 0 : 1][copy];
}

const char* family_tag(Family f) { return f == Family::v4 ? "v4" : "v6"; }

int fi(Family f) { return f == Family::v4 ? 0 : 1; }

uint32_t map_id(int fd)
{
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

// Which of two copies an outer one-slot map points at.
int active_of(int outer, const std::array<UniqueFd, 2>& copies, const std::string& what)
{
    uint32_t zero = 0, inner_id = 0;
    if (bpf_map_lookup_elem(outer, &zero, &inner_id) != 0)
        throw sys_error("reading " + what, errno);
    for (int copy : {0, 1})
        if (map_id(copies[copy].get()) == inner_id)
            return copy;
    throw Error(what + " points at a map that is not pinned with it");
}

Error full_error(Family f, uint32_t limit)
{
    return Error(std::string("rules_") + family_tag(f) + " is full: limit " +
                 std::to_string(limit) + " rules (--max-rules-" + family_tag(f) +
                 " when the maps are created)");
}

} // namespace

std::optional<Dataplane> Dataplane::open(const fs::path& pin_dir,
                                         const Capacity& want, bool create)
{
    Dataplane dp;
    dp.pin_dir_ = pin_dir;
    int ncpus = libbpf_num_possible_cpus();
    dp.ncpus_ = ncpus > 0 ? ncpus : 1;

    static const MapPin pins[] = {
        {"active_v4", &Dataplane::active_v4_},
        {"active_v6", &Dataplane::active_v6_},
        {"compiled_v4", &Dataplane::compiled_v4_},
        {"compiled_v6", &Dataplane::compiled_v6_},
        {"compiled_results", &Dataplane::compiled_results_},
        {"rule_counters", &Dataplane::rule_counters_},
        {"slot_owner", &Dataplane::slot_owner_},
        {"slot_ring", &Dataplane::slot_ring_},
        {"slot_ring_ctl", &Dataplane::slot_ring_ctl_},
        {"global_counters", &Dataplane::global_counters_},
        {"last_match", &Dataplane::last_match_},
    };
    bool any_missing = false, libbpf_missing = false;
    for (const auto& m : pins)
        libbpf_missing |= !fs::exists(map_path(pin_dir, m.name));
    any_missing = libbpf_missing;
    for (Family f : {Family::v4, Family::v6})
        for (int copy : {0, 1})
            any_missing |= !fs::exists(map_path(pin_dir, trie_name(f, copy))) ||
                           !fs::exists(map_path(pin_dir, table_name(f, copy)));
    if (any_missing) {
        if (!create)
            return std::nullopt;
        dp.created_ = true;
        if (want.counter_slots < 2 || (want.counter_slots & (want.counter_slots - 1)))
            throw Error("--counter-slots " + std::to_string(want.counter_slots) +
                        ": must be a power of two, at least 2");
        if (want.max_rules_v4 == 0 || want.max_rules_v6 == 0)
            throw Error("--max-rules-v4/--max-rules-v6 must be at least 1");
        if (want.table_mb_v4 == 0 || want.table_mb_v6 == 0 || want.table_mb_v4 > 2048 ||
            want.table_mb_v6 > 2048)
            throw Error("--table-mb-v4/--table-mb-v6 must be between 1 and 2048");
        dp.cap_ = want;
        dp.create_tables(want);
        if (libbpf_missing)
            dp.load_program(ProgramSettings{}); // creates and pins the maps
    }
    for (const auto& m : pins) {
        fs::path p = map_path(pin_dir, m.name);
        int fd = bpf_obj_get(p.c_str());
        if (fd < 0)
            throw sys_error("cannot open pinned map " + p.string(), errno);
        dp.*(m.fd) = UniqueFd(fd);
    }
    dp.init_tries(want);
    dp.cap_.max_rules_v4 = map_max_entries(dp.trie_fd(Family::v4, 0));
    dp.cap_.max_rules_v6 = map_max_entries(dp.trie_fd(Family::v6, 0));
    dp.cap_.counter_slots = map_max_entries(dp.slot_ring_.get());
    dp.init_tables(want);
    dp.init_slot_ring();
    return dp;
}

void Dataplane::init_tries(const Capacity& want)
{
    // Both copies of each family's trie, created here (not by libbpf: an
    // outer map only knows a template) and pinned; a missing one (first
    // run, or a crash during the first run) is created now, and an empty
    // outer slot is pointed at copy 0.
    for (Family f : {Family::v4, Family::v6}) {
        for (int copy : {0, 1}) {
            fs::path p = map_path(pin_dir_, trie_name(f, copy));
            int fd = bpf_obj_get(p.c_str());
            if (fd < 0) {
                LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
                uint32_t entries = f == Family::v4 ? want.max_rules_v4 : want.max_rules_v6;
                if (uint32_t existing = tries_[f == Family::v4 ? 0 : 1][0]
                                            ? map_max_entries(trie_fd(f, 0))
                                            : 0)
                    entries = existing;
                fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, trie_name(f, copy),
                                    4 + addr_bytes(f), sizeof(pw_rule_value), entries, &o);
                if (fd < 0)
                    throw sys_error(std::string("cannot create ") + trie_name(f, copy), errno);
                if (bpf_obj_pin(fd, p.c_str()) != 0) {
                    int err = errno;
                    ::close(fd);
                    throw sys_error("cannot pin " + p.string(), err);
                }
            }
            tries_[f == Family::v4 ? 0 : 1][copy] = UniqueFd(fd);
        }
        uint32_t zero = 0, inner_id = 0;
        if (bpf_map_lookup_elem(outer_fd(f), &zero, &inner_id) != 0)
            swap_to(f, 0);
    }
}

void Dataplane::create_tables(const Capacity& want)
{
    // Like the tries: both copies of each family's compiled table, created
    // and pinned by the controller (before any program load: copy 0 is the
    // inner-map template); a missing one is created the size of the other.
    for (Family f : {Family::v4, Family::v6}) {
        for (int copy : {0, 1}) {
            if (tables_[fi(f)][copy])
                continue; // opened before the program load
            fs::path p = map_path(pin_dir_, table_name(f, copy));
            int fd = bpf_obj_get(p.c_str());
            if (fd < 0) {
                LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
                uint32_t words = table_words(want, f);
                if (tables_[fi(f)][0])
                    words = map_max_entries(tables_[fi(f)][0].get());
                fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, table_name(f, copy), 4, 8, words, &o);
                if (fd < 0)
                    throw sys_error(std::string("cannot create ") + table_name(f, copy), errno);
                if (bpf_obj_pin(fd, p.c_str()) != 0) {
                    int err = errno;
                    ::close(fd);
                    throw sys_error("cannot pin " + p.string(), err);
                }
            }
            tables_[fi(f)][copy] = UniqueFd(fd);
        }
    }
}

void Dataplane::init_tables(const Capacity& want)
{
    // Maps the tables into this process and points an empty outer slot at
    // copy 0 (an unpublished table matches nothing).
    create_tables(want);
    for (Family f : {Family::v4, Family::v6}) {
        for (int copy : {0, 1}) {
            int fd = tables_[fi(f)][copy].get();
            table_maps_[fi(f)][copy] = MappedWords(fd, map_max_entries(fd));
            if (!table_maps_[fi(f)][copy].ok())
                throw sys_error(std::string("cannot map ") + table_name(f, copy), errno);
        }
        uint32_t zero = 0, inner_id = 0;
        if (bpf_map_lookup_elem(table_outer_fd(f), &zero, &inner_id) != 0)
            swap_table(f, 0);
    }
    cap_.table_mb_v4 = map_max_entries(tables_[0][0].get()) / (1048576 / 8);
    cap_.table_mb_v6 = map_max_entries(tables_[1][0].get()) / (1048576 / 8);
    results_map_ = MappedWords(compiled_results_.get(), map_max_entries(compiled_results_.get()));
    if (!results_map_.ok())
        throw sys_error("cannot map compiled_results", errno);
}

int Dataplane::active_table(Family f) const
{
    return active_of(table_outer_fd(f), tables_[fi(f)], std::string("compiled_") + family_tag(f));
}

void Dataplane::swap_table(Family f, int copy) const
{
    uint32_t zero = 0;
    int fd = tables_[fi(f)][copy].get();
    if (bpf_map_update_elem(table_outer_fd(f), &zero, &fd, BPF_ANY) != 0)
        throw sys_error(std::string("cannot switch compiled_") + family_tag(f), errno);
}

bool Dataplane::still_pinned() const
{
    for (auto [name, fd] : {std::pair{"global_counters", global_counters_.get()},
                            std::pair{"compiled_results", compiled_results_.get()}}) {
        UniqueFd pinned(bpf_obj_get(map_path(pin_dir_, name).c_str()));
        if (!pinned || map_id(pinned.get()) != map_id(fd))
            return false;
    }
    return true;
}

bool Dataplane::compiled_ready(const RuleSet& rules) const
{
    // An unpublished table matches nothing: right for a family without rules.
    for (Family f : {Family::v4, Family::v6}) {
        auto t = compiled_table(f);
        if (rules.count(f) && (t.empty() || t[PW_CL_H_MAGIC] != PW_CL_MAGIC))
            return false;
    }
    return true;
}

std::span<const uint64_t> Dataplane::compiled_table(Family f) const
{
    return table_maps_[fi(f)][active_table(f)].words();
}

int Dataplane::active_copy(Family f) const
{
    return active_of(outer_fd(f), tries_[fi(f)], std::string("active_") + family_tag(f));
}

void Dataplane::swap_to(Family f, int copy) const
{
    // The kernel waits for running programs (synchronize_rcu) before an
    // update of a map-in-map returns: after this, no packet uses the old copy.
    uint32_t zero = 0;
    int fd = trie_fd(f, copy);
    if (bpf_map_update_elem(outer_fd(f), &zero, &fd, BPF_ANY) != 0)
        throw sys_error(std::string("cannot switch active_") + family_tag(f), errno);
}

void Dataplane::init_slot_ring() const
{
    // tail == 0 means the ring was never filled (a fresh map, or a crash
    // right after creating it): slots 1..N-1 all start free.
    uint32_t tail_key = 1;
    uint64_t tail = 0;
    if (bpf_map_lookup_elem(slot_ring_ctl_.get(), &tail_key, &tail) != 0)
        throw sys_error("reading slot_ring_ctl", errno);
    if (tail != 0)
        return;
    uint32_t n = cap_.counter_slots;
    std::vector<uint32_t> keys(n - 1), values(n - 1);
    for (uint32_t i = 0; i + 1 < n; i++) {
        keys[i] = i;
        values[i] = i + 1;
    }
    uint32_t count = n - 1;
    if (bpf_map_update_batch(slot_ring_.get(), keys.data(), values.data(), &count,
                             nullptr) != 0)
        throw sys_error("filling slot_ring", errno);
    uint32_t head_key = 0;
    uint64_t zero = 0;
    tail = n - 1;
    if (bpf_map_update_elem(slot_ring_ctl_.get(), &head_key, &zero, BPF_ANY) != 0 ||
        bpf_map_update_elem(slot_ring_ctl_.get(), &tail_key, &tail, BPF_ANY) != 0)
        throw sys_error("initialising slot_ring_ctl", errno);
}

UniqueFd Dataplane::load_program(const ProgramSettings& s) const
{
    Skeleton sk;
    sk.skel = prefixwall_bpf__open();
    if (!sk.skel)
        throw sys_error("cannot open the embedded BPF object", errno);
    prepare_maps(sk.skel, pin_dir_, cap_);
    auto templates = set_table_templates(sk.skel, pin_dir_);
    auto* ro = sk.skel->rodata;
    ro->cfg_match = static_cast<__u8>(s.match);
    ro->cfg_dry_run = s.dry_run;
    ro->cfg_malformed_drop = s.malformed_drop;
    ro->cfg_record_last = s.record_last;
    ro->cfg_engine = static_cast<__u8>(s.engine);
    ro->cfg_slot_mask = cap_.counter_slots - 1;
    int err = prefixwall_bpf__load(sk.skel);
    if (err)
        throw sys_error("cannot load the XDP program (maps pinned under " +
                            (pin_dir_ / "maps").string() +
                            " may be from an incompatible version: "
                            "'prefixwall detach --all --purge' removes them)",
                        err);
    int fd = ::dup(bpf_program__fd(sk.skel->progs.prefixwall_xdp));
    if (fd < 0)
        throw sys_error("dup program fd", errno);
    return UniqueFd(fd);
}

void Dataplane::attach(Attachment& a) const
{
    unsigned ifindex = if_nametoindex(a.ifname.c_str());
    if (ifindex == 0)
        throw Error("interface '" + a.ifname + "' not found");
    a.ifindex = static_cast<int>(ifindex);
    UniqueFd prog = load_program(ProgramSettings{a.match, a.dry_run, a.malformed_drop, false, a.engine});
    fs::path lp = link_path(pin_dir_, a.ifname);

    if (fs::exists(lp)) {
        UniqueFd link(bpf_obj_get(lp.c_str()));
        if (link) {
            bpf_link_info info{};
            uint32_t len = sizeof(info);
            if (bpf_obj_get_info_by_fd(link.get(), &info, &len) == 0 &&
                info.xdp.ifindex == ifindex) {
                // Same interface: swap the program atomically, no gap.
                if (bpf_link_update(link.get(), prog.get(), nullptr) != 0)
                    throw sys_error("cannot update the program on " + a.ifname, errno);
                return;
            }
        }
        ::unlink(lp.c_str()); // stale: the interface went away
    }

    LIBBPF_OPTS(bpf_link_create_opts, opts);
    opts.flags = a.mode == XdpMode::native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
    int link = bpf_link_create(prog.get(), ifindex, BPF_XDP, &opts);
    if (link < 0) {
        int err = errno;
        if (a.mode == XdpMode::native && (err == EOPNOTSUPP || err == EINVAL))
            throw Error("native XDP not supported by " + a.ifname + ": try --mode generic");
        if (err == EBUSY || err == EEXIST)
            throw Error(a.ifname +
                        " already has an XDP program that is not prefixwall's"
                        " (see 'ip link show " + a.ifname + "'); detach it first");
        throw sys_error("cannot attach to " + a.ifname, err);
    }
    UniqueFd link_fd(link);
    if (bpf_obj_pin(link_fd.get(), lp.c_str()) != 0) {
        int err = errno;
        bpf_link_detach(link_fd.get());
        throw sys_error("cannot pin the link of " + a.ifname + " at " + lp.string(), err);
    }
}

void Dataplane::detach(const std::string& ifname) const
{
    fs::path lp = link_path(pin_dir_, ifname);
    UniqueFd link(bpf_obj_get(lp.c_str()));
    if (!link)
        throw Error("'" + ifname + "' is not attached (no link pinned at " + lp.string() + ")");
    bpf_link_detach(link.get());
    ::unlink(lp.c_str());
}

bool Dataplane::attached(const std::string& ifname) const
{
    UniqueFd link(bpf_obj_get(link_path(pin_dir_, ifname).c_str()));
    if (!link)
        return false;
    bpf_link_info info{};
    uint32_t len = sizeof(info);
    return bpf_obj_get_info_by_fd(link.get(), &info, &len) == 0 && info.xdp.ifindex != 0;
}

void Dataplane::write_copy(Family f, int copy, const std::vector<EntryWrite>& writes) const
{
    int fd = trie_fd(f, copy);
    size_t ks = 4 + addr_bytes(f);
    uint32_t limit = f == Family::v4 ? cap_.max_rules_v4 : cap_.max_rules_v6;
    std::vector<uint8_t> del_keys, ins_keys;
    std::vector<pw_rule_value> ins_vals;
    for (const EntryWrite& w : writes) {
        if (w.prefix.family != f)
            continue;
        auto key = make_key_bytes(w.prefix);
        if (w.action == 0) {
            del_keys.insert(del_keys.end(), key.begin(), key.end());
            continue;
        }
        pw_rule_value v{};
        v.rule_id = w.rule_id;
        v.action = w.action;
        if (w.prev_rule_id == 0) {
            ins_keys.insert(ins_keys.end(), key.begin(), key.end());
            ins_vals.push_back(v);
            continue;
        }
        // A rule that stays (its action changes): keep its counter slot.
        pw_rule_value old{};
        if (bpf_map_lookup_elem(fd, key.data(), &old) == 0 && old.rule_id == w.rule_id)
            v.counter_slot = old.counter_slot;
        if (bpf_map_update_elem(fd, key.data(), &v, BPF_ANY) != 0) {
            if (errno == ENOSPC || errno == E2BIG)
                throw full_error(f, limit);
            throw sys_error("cannot write rule " + w.prefix.to_string(), errno);
        }
    }
    // Deletions first (they free room), in batches; a key that is already
    // gone (undo of a partial write) is skipped.
    for (size_t done = 0, n = del_keys.size() / ks; done < n;) {
        uint32_t count = static_cast<uint32_t>(n - done);
        int err = bpf_map_delete_batch(fd, del_keys.data() + done * ks, &count, nullptr);
        done += count;
        if (err != 0) {
            if (errno != ENOENT)
                throw sys_error(std::string("cannot delete rules from ") + trie_name(f, copy), errno);
            done++; // skip the missing key
        }
    }
    for (size_t done = 0, n = ins_vals.size(); done < n;) {
        uint32_t count = static_cast<uint32_t>(n - done);
        int err = bpf_map_update_batch(fd, ins_keys.data() + done * ks, ins_vals.data() + done,
                                       &count, nullptr);
        done += count;
        if (err != 0) {
            if (errno == ENOSPC || errno == E2BIG)
                throw full_error(f, limit);
            throw sys_error(std::string("cannot write rules to ") + trie_name(f, copy), errno);
        }
    }
}

// A compiled version ready to publish: the tables of the families that
// change, and the result indices taken for rules new to the table.
struct Dataplane::CompiledPlan {
    std::array<std::optional<CompiledTable>, 2> tables;
    std::vector<uint32_t> index; // rule id -> result index (0: none)
    std::vector<uint32_t> taken; // indices new in this plan
};

Dataplane::CompiledPlan Dataplane::plan_compiled(const RuleSet& next, const bool touched[2]) const
{
    CompiledPlan plan;
    std::span<uint64_t> results = results_map_.words();
    // Result words in use say which rule holds which index; a free index
    // (0) is never one a table in force points at (indices are freed only
    // after the swap that drops their rule). Rules new to the table take
    // free indices as the build meets them (one pass over the rules).
    uint32_t max_id = next.next_id();
    for (size_t i = 1; i < results.size(); i++)
        max_id = std::max(max_id, static_cast<uint32_t>(results[i]));
    plan.index.assign(size_t(max_id) + 1, 0);
    for (size_t i = 1; i < results.size(); i++)
        if (uint32_t id = static_cast<uint32_t>(results[i]))
            plan.index[id] = static_cast<uint32_t>(i);
    size_t cursor = 1;
    auto index_of = [&](uint32_t id) -> uint32_t {
        if (id < plan.index.size() && plan.index[id])
            return plan.index[id];
        while (cursor < results.size() && results[cursor] != 0)
            cursor++;
        if (cursor >= results.size() || id >= plan.index.size())
            throw Error("compiled_results is full: " + std::to_string(results.size() - 1) +
                        " rules (--max-rules-v4 + --max-rules-v6 when the maps are created;"
                        " rules being replaced hold their entry until the new version is in"
                        " force); nothing changed");
        uint32_t i = static_cast<uint32_t>(cursor++);
        results[i] = id; // counter slot 0: taken on the first hit
        plan.index[id] = i;
        plan.taken.push_back(i);
        return i;
    };
    try {
        for (Family f : {Family::v4, Family::v6}) {
            if (!touched[fi(f)])
                continue;
            auto& t = plan.tables[fi(f)];
            t = CompiledTable::build(next, f, index_of);
            size_t have = table_maps_[fi(f)][0].words().size();
            if (t->words() > have)
                throw Error(std::string("the compiled ") + family_tag(f) + " table needs " +
                            std::to_string(t->words() * 8 / 1048576 + 1) + " MiB, over its " +
                            std::to_string(have * 8 / 1048576) + " MiB (--table-mb-" +
                            family_tag(f) + " when the maps are created); nothing changed");
        }
    } catch (...) {
        for (uint32_t i : plan.taken)
            results[i] = 0;
        throw;
    }
    return plan;
}

void Dataplane::publish_compiled(const CompiledPlan& plan, const RuleSet& next) const
{
    // The idle copies take the new tables; the swap waits for running
    // programs, so the old copy is idle (and the old results unused) after.
    for (Family f : {Family::v4, Family::v6}) {
        if (!plan.tables[fi(f)])
            continue;
        int idle = 1 - active_table(f);
        plan.tables[fi(f)]->write(table_maps_[fi(f)][idle].words());
        swap_table(f, idle);
    }
    std::span<uint64_t> results = results_map_.words();
    for (uint32_t id = 1; id < plan.index.size(); id++)
        if (plan.index[id] && !next.find_id(id))
            results[plan.index[id]] = 0;
}

bool Dataplane::apply(const RuleSet& next, const std::vector<EntryWrite>& writes,
                      const std::vector<EntryWrite>& undo, Engines engines) const
{
    bool touched[2] = {false, false};
    for (const EntryWrite& w : writes)
        touched[fi(w.prefix.family)] = true;
    // 1. The compiled tables are built and checked against their room
    //    before anything is written.
    std::optional<CompiledPlan> plan;
    if (engines.compiled)
        plan = plan_compiled(next, touched);
    bool trie_touched[2] = {touched[0] && engines.trie, touched[1] && engines.trie};
    int active[2] = {-1, -1};
    // 2. The idle tries take the new version; on failure they are
    //    restored and nothing in force has changed.
    for (Family f : {Family::v4, Family::v6}) {
        if (!trie_touched[fi(f)])
            continue;
        active[fi(f)] = active_copy(f);
        try {
            write_copy(f, 1 - active[fi(f)], writes);
        } catch (...) {
            for (Family g : {Family::v4, Family::v6})
                if (active[fi(g)] >= 0)
                    write_copy(g, 1 - active[fi(g)], undo);
            if (plan)
                for (uint32_t i : plan->taken)
                    results_map_.words()[i] = 0;
            throw;
        }
    }
    // 3. Swap: every packet from now on sees the new version.
    if (plan)
        publish_compiled(*plan, next);
    for (Family f : {Family::v4, Family::v6})
        if (trie_touched[fi(f)])
            swap_to(f, 1 - active[fi(f)]);
    // 4. The old tries catch up, ready for the next version. A failure
    //    here changes nothing in force; the caller keeps its pending mark
    //    and the next run rebuilds this copy.
    try {
        for (Family f : {Family::v4, Family::v6})
            if (trie_touched[fi(f)])
                write_copy(f, active[fi(f)], writes);
    } catch (const std::exception&) {
        return false;
    }
    return true;
}

void Dataplane::rebuild(const RuleSet& rules, Engines engines) const
{
    if (engines.compiled) {
        const bool both[2] = {true, true};
        publish_compiled(plan_compiled(rules, both), rules);
    }
    if (!engines.trie)
        return;
    for (Family f : {Family::v4, Family::v6}) {
        int active = active_copy(f);
        for (int copy : {1 - active, active}) {
            std::vector<EntryWrite> writes;
            std::map<Prefix, pw_rule_value> have;
            for (const auto& [p, v] : entries(f, copy)) {
                if (!rules.find(p))
                    writes.push_back({p, 0, 0, v.rule_id});
                have[p] = v;
            }
            for (const auto& [p, r] : rules.rules()) {
                if (p.family != f)
                    continue;
                auto it = have.find(p);
                uint8_t action = static_cast<uint8_t>(r.action());
                if (it == have.end())
                    writes.push_back({p, r.id, action, 0});
                else if (it->second.rule_id != r.id || it->second.action != action)
                    writes.push_back({p, r.id, action, it->second.rule_id});
            }
            write_copy(f, copy, writes);
            if (copy != active)
                swap_to(f, copy);
        }
    }
}

std::optional<pw_rule_value> Dataplane::lookup(const Address& a) const
{
    auto m = compiled_lookup(compiled_table(a.family), results_map_.words(), a);
    if (!m)
        return std::nullopt;
    pw_rule_value v{};
    v.rule_id = m->rule_id;
    v.counter_slot = m->counter_slot;
    v.action = m->action;
    return v;
}

std::vector<std::pair<Prefix, pw_rule_value>> Dataplane::entries(Family f, int copy) const
{
    if (copy < 0)
        copy = active_copy(f);
    int fd = trie_fd(f, copy);
    std::vector<std::pair<Prefix, pw_rule_value>> out;
    size_t ks = 4 + addr_bytes(f);
    std::vector<uint8_t> key(ks), next(ks);
    void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
        Prefix p;
        p.family = f;
        uint32_t len;
        std::memcpy(&len, next.data(), 4);
        p.len = static_cast<uint8_t>(len);
        std::memcpy(p.bytes.data(), next.data() + 4, addr_bytes(f));
        pw_rule_value v{};
        bpf_map_lookup_elem(fd, next.data(), &v);
        out.emplace_back(p, v);
        key = next;
        prev = key.data();
    }
    return out;
}

uint32_t Dataplane::slots_in_use_bound() const
{
    // The ring hands slots out in order 1, 2, ... and only ever takes back
    // slots it handed out: no slot above the number of pops was ever used.
    uint32_t head_key = 0;
    uint64_t head = 0;
    if (bpf_map_lookup_elem(slot_ring_ctl_.get(), &head_key, &head) != 0)
        return cap_.counter_slots;
    return static_cast<uint32_t>(std::min<uint64_t>(head + 1, cap_.counter_slots));
}

RuleCounters Dataplane::rule_counters() const
{
    uint32_t n = slots_in_use_bound();
    auto owners = read_array(slot_owner_.get(), n, sizeof(uint32_t), "slot_owner");
    auto cells = read_array(rule_counters_.get(), n, sizeof(Counter) * ncpus_, "rule_counters");
    RuleCounters out;
    for (uint32_t slot = 0; slot < n; slot++) {
        uint32_t owner;
        std::memcpy(&owner, owners.get() + slot * sizeof(uint32_t), sizeof(owner));
        if (slot != 0 && owner == 0)
            continue;
        Counter sum;
        for (int cpu = 0; cpu < ncpus_; cpu++) {
            Counter c;
            std::memcpy(&c, cells.get() + (static_cast<size_t>(slot) * ncpus_ + cpu) * sizeof(Counter),
                        sizeof(c));
            sum += c;
        }
        if (!sum.zero())
            out.at(slot == 0 ? 0 : owner) += sum;
    }
    return out;
}

GlobalCounters Dataplane::global_counters() const
{
    auto cells = read_array(global_counters_.get(), kGlobalCells,
                            sizeof(Counter) * ncpus_, "global_counters");
    GlobalCounters out{};
    for (size_t i = 0; i < kGlobalCells; i++)
        for (int cpu = 0; cpu < ncpus_; cpu++) {
            Counter c;
            std::memcpy(&c, cells.get() + (i * ncpus_ + cpu) * sizeof(Counter), sizeof(c));
            out[i] += c;
        }
    return out;
}

std::map<uint32_t, Counter> Dataplane::release_slots(
    const std::function<bool(uint32_t)>& keep) const
{
    uint32_t n = cap_.counter_slots;
    uint32_t used = slots_in_use_bound();
    auto owners = read_array(slot_owner_.get(), used, sizeof(uint32_t), "slot_owner");
    std::map<uint32_t, Counter> retired;
    std::vector<uint32_t> freed;
    for (uint32_t slot = 1; slot < used; slot++) {
        uint32_t owner;
        std::memcpy(&owner, owners.get() + slot * sizeof(uint32_t), sizeof(owner));
        if (owner != 0 && !keep(owner)) {
            freed.push_back(slot);
            std::vector<Counter> cells(ncpus_);
            if (bpf_map_lookup_elem(rule_counters_.get(), &slot, cells.data()) == 0)
                for (const auto& c : cells)
                    retired[owner] += c;
        }
    }
    if (freed.empty())
        return retired;
    uint32_t tail_key = 1;
    uint64_t tail = 0;
    if (bpf_map_lookup_elem(slot_ring_ctl_.get(), &tail_key, &tail) != 0)
        throw sys_error("reading slot_ring_ctl", errno);
    std::vector<Counter> zeros(ncpus_);
    uint32_t no_owner = 0;
    for (uint32_t slot : freed) {
        // Zero first, then mark free, then publish in the ring.
        bpf_map_update_elem(rule_counters_.get(), &slot, zeros.data(), BPF_ANY);
        bpf_map_update_elem(slot_owner_.get(), &slot, &no_owner, BPF_ANY);
        uint32_t idx = static_cast<uint32_t>(tail) & (n - 1);
        if (bpf_map_update_elem(slot_ring_.get(), &idx, &slot, BPF_ANY) != 0)
            throw sys_error("writing slot_ring", errno);
        tail++;
    }
    if (bpf_map_update_elem(slot_ring_ctl_.get(), &tail_key, &tail, BPF_ANY) != 0)
        throw sys_error("writing slot_ring_ctl", errno);
    return retired;
}

std::optional<pw_last_match> Dataplane::last_match() const
{
    uint32_t zero = 0;
    pw_last_match m{};
    if (bpf_map_lookup_elem(last_match_.get(), &zero, &m) != 0)
        return std::nullopt;
    return m;
}

void Dataplane::purge(const fs::path& pin_dir)
{
    std::error_code ec;
    for (const char* sub : {"links", "maps"}) {
        for (const auto& e : fs::directory_iterator(pin_dir / sub, ec)) {
            if (std::string(sub) == "links") {
                UniqueFd link(bpf_obj_get(e.path().c_str()));
                if (link)
                    bpf_link_detach(link.get());
            }
            fs::remove(e.path(), ec);
        }
    }
}

} // namespace pw
