#include "kernel/counter_slots.hpp"

#include "base/error.hpp"
#include "kernel/map_io.hpp"
#include "kernel/pin_layout.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace pw {

namespace {

constexpr uint32_t kHeadKey = 0, kTailKey = 1;

} // namespace

CounterSlots CounterSlots::open(const std::filesystem::path& pin_dir)
{
    CounterSlots c;
    c.cells_ = open_pinned(map_path(pin_dir, PinnedMap::rule_counters));
    c.owner_ = open_pinned(map_path(pin_dir, PinnedMap::slot_owner));
    c.ring_ = open_pinned(map_path(pin_dir, PinnedMap::slot_ring));
    c.ring_ctl_ = open_pinned(map_path(pin_dir, PinnedMap::slot_ring_ctl));
    c.global_ = open_pinned(map_path(pin_dir, PinnedMap::global_counters));
    c.slots_ = map_max_entries(c.ring_.get());
    int ncpus = libbpf_num_possible_cpus();
    c.ncpus_ = ncpus > 0 ? ncpus : 1;
    c.init_ring();
    return c;
}

void CounterSlots::init_ring() const
{
    // tail == 0 means the ring was never filled (a fresh map, or a crash
    // right after creating it): slots 1..N-1 all start free.
    uint64_t tail = 0;
    if (bpf_map_lookup_elem(ring_ctl_.get(), &kTailKey, &tail) != 0)
        throw sys_error("reading slot_ring_ctl", errno);
    if (tail != 0)
        return;
    uint32_t n = slots_;
    std::vector<uint32_t> keys(n - 1), values(n - 1);
    for (uint32_t i = 0; i + 1 < n; i++) {
        keys[i] = i;
        values[i] = i + 1;
    }
    uint32_t count = n - 1;
    if (bpf_map_update_batch(ring_.get(), keys.data(), values.data(), &count, nullptr) != 0)
        throw sys_error("filling slot_ring", errno);
    uint64_t zero = 0;
    tail = n - 1;
    if (bpf_map_update_elem(ring_ctl_.get(), &kHeadKey, &zero, BPF_ANY) != 0 ||
        bpf_map_update_elem(ring_ctl_.get(), &kTailKey, &tail, BPF_ANY) != 0)
        throw sys_error("initialising slot_ring_ctl", errno);
}

uint32_t CounterSlots::in_use_bound() const
{
    // The ring hands slots out in order 1, 2, ... and only ever takes back
    // slots it handed out: no slot above the number of pops was ever used.
    uint64_t head = 0;
    if (bpf_map_lookup_elem(ring_ctl_.get(), &kHeadKey, &head) != 0)
        return slots_;
    return static_cast<uint32_t>(std::min<uint64_t>(head + 1, slots_));
}

RuleCounters CounterSlots::rule_counters() const
{
    uint32_t n = in_use_bound();
    auto owners = read_array(owner_.get(), n, sizeof(uint32_t), "slot_owner");
    auto cells = read_array(cells_.get(), n, sizeof(Counter) * ncpus_, "rule_counters");
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
            out.add(slot == 0 ? 0 : owner, sum);
    }
    return out;
}

GlobalCounters CounterSlots::global_counters() const
{
    auto cells = read_array(global_.get(), kGlobalCells, sizeof(Counter) * ncpus_, "global_counters");
    GlobalCounters out{};
    for (size_t i = 0; i < kGlobalCells; i++)
        for (int cpu = 0; cpu < ncpus_; cpu++) {
            Counter c;
            std::memcpy(&c, cells.get() + (i * ncpus_ + cpu) * sizeof(Counter), sizeof(c));
            out[i] += c;
        }
    return out;
}

std::map<uint32_t, Counter> CounterSlots::release(const std::function<bool(uint32_t)>& keep) const
{
    uint32_t used = in_use_bound();
    auto owners = read_array(owner_.get(), used, sizeof(uint32_t), "slot_owner");
    std::map<uint32_t, Counter> retired;
    std::vector<uint32_t> freed;
    for (uint32_t slot = 1; slot < used; slot++) {
        uint32_t owner;
        std::memcpy(&owner, owners.get() + slot * sizeof(uint32_t), sizeof(owner));
        if (owner != 0 && !keep(owner)) {
            freed.push_back(slot);
            std::vector<Counter> cells(ncpus_);
            if (bpf_map_lookup_elem(cells_.get(), &slot, cells.data()) == 0)
                for (const auto& c : cells)
                    retired[owner] += c;
        }
    }
    if (freed.empty())
        return retired;
    uint64_t tail = 0;
    if (bpf_map_lookup_elem(ring_ctl_.get(), &kTailKey, &tail) != 0)
        throw sys_error("reading slot_ring_ctl", errno);
    std::vector<Counter> zeros(ncpus_);
    uint32_t no_owner = 0;
    for (uint32_t slot : freed) {
        // Zero first, then mark free, then publish in the ring.
        bpf_map_update_elem(cells_.get(), &slot, zeros.data(), BPF_ANY);
        bpf_map_update_elem(owner_.get(), &slot, &no_owner, BPF_ANY);
        uint32_t idx = static_cast<uint32_t>(tail) & (slots_ - 1);
        if (bpf_map_update_elem(ring_.get(), &idx, &slot, BPF_ANY) != 0)
            throw sys_error("writing slot_ring", errno);
        tail++;
    }
    if (bpf_map_update_elem(ring_ctl_.get(), &kTailKey, &tail, BPF_ANY) != 0)
        throw sys_error("writing slot_ring_ctl", errno);
    return retired;
}

} // namespace pw
