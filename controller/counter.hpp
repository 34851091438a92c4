// A packet and byte count, summed over CPUs (same layout as pw_counter).
#pragma once

#include <cstdint>

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
};

} // namespace pw
