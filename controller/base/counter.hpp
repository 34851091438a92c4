// Packet and byte counts: one Counter (same layout as pw_counter, summed
// over CPUs), and RuleCounters, the counts of every rule indexed by rule
// id in a flat vector (ids are small and dense: a million rules read,
// compared and ranked without hashing).
#pragma once

#include <cstdint>
#include <cstddef>
#include <initializer_list>
#include <utility>
#include <vector>

namespace pw {

struct Counter {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    Counter& operator+=(const Counter& o)
    {
        packets += o.packets;
        bytes += o.bytes;
        return *this;
    }
    bool operator==(const Counter&) const = default;
    bool zero() const { return packets == 0 && bytes == 0; }
};

class RuleCounters {
public:
    RuleCounters() = default;
    RuleCounters(std::initializer_list<std::pair<uint32_t, Counter>> init)
    {
        for (const auto& [id, c] : init)
            at(id) = c;
    }
    // Zero for an id that has no counts.
    Counter operator[](uint32_t id) const { return id < cells_.size() ? cells_[id] : Counter{}; }
    Counter& at(uint32_t id)
    {
        if (id >= cells_.size())
            cells_.resize(static_cast<size_t>(id) + 1);
        return cells_[id];
    }
    // 1 when the rule has counts (id 0: hits counted in the overflow slot).
    size_t count(uint32_t id) const { return id < cells_.size() && !cells_[id].zero(); }
    uint32_t limit() const { return static_cast<uint32_t>(cells_.size()); }
    template <typename F>
    void for_each(F&& f) const // f(id, counter) for every id with counts
    {
        for (uint32_t id = 0; id < cells_.size(); id++)
            if (!cells_[id].zero())
                f(id, cells_[id]);
    }

private:
    std::vector<Counter> cells_;
};

} // namespace pw
