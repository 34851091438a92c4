// Packet and byte counts: one Counter (same layout as pw_counter, summed
// over CPUs), and RuleCounters, the counts of the rules that have any, by
// rule id: a sorted array of (id, counts). Its size follows the rules with
// traffic, not the highest id (ids are never reused, so a registry that
// churns keeps raising them).
#pragma once

#include <algorithm>
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
            add(id, c);
    }
    // Adds counts to a rule's (any order; several adds of one id sum).
    void add(uint32_t id, const Counter& c)
    {
        if (sorted_ && !cells_.empty() && cells_.back().first >= id)
            sorted_ = false;
        cells_.emplace_back(id, c);
    }
    // Zero for an id that has no counts.
    Counter operator[](uint32_t id) const
    {
        const auto* e = find(id);
        return e ? e->second : Counter{};
    }
    // The rule's counts, to change (added as zero when it has none).
    Counter& at(uint32_t id)
    {
        if (auto* e = find(id))
            return e->second;
        add(id, Counter{});
        normalize();
        return find(id)->second;
    }
    // 1 when the rule has counts (id 0: hits counted in the overflow slot).
    size_t count(uint32_t id) const
    {
        const auto* e = find(id);
        return e && !e->second.zero();
    }
    size_t size() const
    {
        normalize();
        return cells_.size();
    }
    template <typename F>
    void for_each(F&& f) const // f(id, counter) for every id with counts, by id
    {
        normalize();
        for (const auto& [id, c] : cells_)
            if (!c.zero())
                f(id, c);
    }

private:
    // Sorts by id and sums the counts of equal ids.
    void normalize() const
    {
        if (sorted_)
            return;
        std::sort(cells_.begin(), cells_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        size_t out = 0;
        for (size_t i = 0; i < cells_.size(); i++) {
            if (out && cells_[out - 1].first == cells_[i].first)
                cells_[out - 1].second += cells_[i].second;
            else
                cells_[out++] = cells_[i];
        }
        cells_.resize(out);
        sorted_ = true;
    }
    const std::pair<uint32_t, Counter>* find(uint32_t id) const
    {
        normalize();
        auto it = std::lower_bound(cells_.begin(), cells_.end(), id,
                                   [](const auto& e, uint32_t v) { return e.first < v; });
        return it != cells_.end() && it->first == id ? &*it : nullptr;
    }
    std::pair<uint32_t, Counter>* find(uint32_t id)
    {
        return const_cast<std::pair<uint32_t, Counter>*>(std::as_const(*this).find(id));
    }

    mutable std::vector<std::pair<uint32_t, Counter>> cells_;
    mutable bool sorted_ = true;
};

} // namespace pw
