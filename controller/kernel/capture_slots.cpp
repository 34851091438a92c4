#include "kernel/capture_slots.hpp"

#include "base/error.hpp"
#include "kernel/map_io.hpp"
#include "kernel/pin_layout.hpp"
#include "prefixwall/abi.h"

#include <bpf/bpf.h>
#include <csignal>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace pw {
namespace fs = std::filesystem;

namespace {

bool owner_alive(uint32_t pid) { return pid && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

pw_capture_filter read_filter(int fd, uint32_t slot)
{
    pw_capture_filter f{};
    if (bpf_map_lookup_elem(fd, &slot, &f) != 0)
        throw sys_error("read capture_filters", errno);
    return f;
}

void write_filter(int fd, uint32_t slot, const pw_capture_filter& f)
{
    if (bpf_map_update_elem(fd, &slot, &f, BPF_ANY) != 0)
        throw sys_error("write capture_filters", errno);
}

// capture_active = a bit per slot in use (under the lock).
void recount(int filters, int active)
{
    uint32_t mask = 0, zero = 0;
    for (uint32_t s = 0; s < PW_CAPTURE_SLOTS; s++)
        mask |= read_filter(filters, s).active ? 1u << s : 0;
    if (bpf_map_update_elem(active, &zero, &mask, BPF_ANY) != 0)
        throw sys_error("write capture_active", errno);
}

// Captures serialise among themselves on the maps directory, not on the
// pin directory: a capture must not wait for a sync or the daemon, which
// hold the pin-dir lock (the data plane only reads the slots).
class SlotLock {
public:
    explicit SlotLock(const fs::path& pin_dir)
        : fd_(::open(maps_dir(pin_dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC))
    {
        if (!fd_ || ::flock(fd_.get(), LOCK_EX) != 0)
            throw sys_error("cannot lock " + maps_dir(pin_dir).string(), errno);
    }

private:
    UniqueFd fd_;
};

UniqueFd open_map(const fs::path& pin_dir, PinnedMap m)
{
    UniqueFd fd = try_open_pinned(map_path(pin_dir, m));
    if (!fd)
        throw Error("nothing to capture from: the data plane under " + pin_dir.string() +
                    " has no capture maps (attach an interface first; a data plane "
                    "pinned by an older version needs 'prefixwall detach --all --purge')");
    return fd;
}

} // namespace

CaptureSlot::CaptureSlot(const fs::path& pin_dir, const CaptureFilter& want, uint32_t ring_bytes)
    : pin_dir_(pin_dir)
{
    filters_ = open_map(pin_dir, PinnedMap::capture_filters);
    rings_ = open_map(pin_dir, PinnedMap::capture_rings);
    active_ = open_map(pin_dir, PinnedMap::capture_active);
    lost_ = open_map(pin_dir, PinnedMap::capture_lost);
    int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "pw_capture", 0, 0, ring_bytes, nullptr);
    if (fd < 0)
        throw sys_error("create a capture ring buffer of " + std::to_string(ring_bytes) + " bytes", errno);
    ring_ = UniqueFd(fd);

    SlotLock lock(pin_dir);
    bool found = false;
    for (uint32_t s = 0; s < PW_CAPTURE_SLOTS && !found; s++) {
        pw_capture_filter f = read_filter(filters_.get(), s);
        if (!f.active || !owner_alive(f.owner)) {
            slot_ = s;
            found = true;
        }
    }
    if (!found)
        throw Error("all " + std::to_string(PW_CAPTURE_SLOTS) + " capture slots are in use by running captures");
    // The ring first, then the filter that sends packets to it.
    uint32_t key = slot_;
    int rfd = ring_.get();
    if (bpf_map_update_elem(rings_.get(), &key, &rfd, BPF_ANY) != 0)
        throw sys_error("put the ring in capture_rings", errno);
    if (bpf_map_lookup_elem(lost_.get(), &key, &lost_at_start_) != 0)
        lost_at_start_ = 0;
    pw_capture_filter f{};
    f.active = 1;
    f.owner = static_cast<uint32_t>(::getpid());
    f.rule_id = want.rule_id;
    f.ifindex = want.ifindex;
    f.outcomes = want.outcomes;
    f.sample = want.sample;
    f.snaplen = want.snaplen;
    write_filter(filters_.get(), slot_, f);
    recount(filters_.get(), active_.get());
}

uint64_t CaptureSlot::lost() const
{
    uint32_t key = slot_;
    uint64_t n = 0;
    if (bpf_map_lookup_elem(lost_.get(), &key, &n) != 0)
        return 0;
    return n - lost_at_start_;
}

void CaptureSlot::release()
{
    SlotLock lock(pin_dir_);
    pw_capture_filter f = read_filter(filters_.get(), slot_);
    if (f.owner != static_cast<uint32_t>(::getpid()))
        return; // reclaimed by another capture after we were taken for dead
    write_filter(filters_.get(), slot_, pw_capture_filter{});
    recount(filters_.get(), active_.get());
    uint32_t key = slot_;
    bpf_map_delete_elem(rings_.get(), &key);
}

CaptureSlot::~CaptureSlot()
{
    try {
        release();
    } catch (const std::exception&) {
        // The slot stays marked; the next capture reclaims it (owner gone).
    }
}

unsigned running_captures(const fs::path& pin_dir)
{
    UniqueFd filters = try_open_pinned(map_path(pin_dir, PinnedMap::capture_filters));
    if (!filters)
        return 0;
    unsigned n = 0;
    for (uint32_t s = 0; s < PW_CAPTURE_SLOTS; s++) {
        pw_capture_filter f{};
        if (bpf_map_lookup_elem(filters.get(), &s, &f) == 0 && f.active && owner_alive(f.owner))
            n++;
    }
    return n;
}

} // namespace pw
