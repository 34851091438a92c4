// Rates between two readings of a counter, computed in one place for
// stats, top and the metrics: per second over the interval, and nothing
// for an interval in which a count went down (its counter slot was given
// back and reused, or the maps were recreated): a rate is never negative
// and never a wrap-around.
#pragma once

#include "base/counter.hpp"

#include <chrono>
#include <cstdint>

namespace pw {

struct Rate {
    double pps = 0; // packets per second
    double bps = 0; // bits per second
};

// Per second between two readings of one count; 0 if it went down or no
// time passed.
inline double per_second(uint64_t before, uint64_t now, double seconds)
{
    return seconds > 0 && now >= before ? static_cast<double>(now - before) / seconds : 0.0;
}

// Packets and bits per second between two readings; none if either count
// went down.
inline Rate rate_between(const Counter& before, const Counter& now, double seconds)
{
    if (now.packets < before.packets || now.bytes < before.bytes)
        return {};
    return {per_second(before.packets, now.packets, seconds),
            per_second(before.bytes, now.bytes, seconds) * 8};
}

inline double seconds_between(std::chrono::steady_clock::time_point a,
                              std::chrono::steady_clock::time_point b)
{
    return std::chrono::duration<double>(b - a).count();
}

} // namespace pw
