// One capture's slot in the data plane (include/prefixwall/abi.h,
// PW_CAPTURE_*): claimed under a lock of the captures' own (flock on the
// maps directory: a capture never waits for a sync), with a ring buffer of its
// own put in capture_rings, released (filter off, ring out, count
// recomputed) when the object goes. A slot whose owner died is reclaimed
// by the next capture that needs one.
#pragma once

#include "base/unique_fd.hpp"

#include <cstdint>
#include <filesystem>

namespace pw {

struct CaptureFilter {
    uint32_t rule_id = 0;  // 0: any rule (or none)
    uint32_t ifindex = 0;  // 0: every interface
    uint32_t outcomes = 0; // bit per PW_OUTCOME_*; 0: every outcome
    uint32_t sample = 1;   // one in `sample`
    uint32_t snaplen = 256;
};

class CaptureSlot {
public:
    // Takes a free slot; throws Error when all PW_CAPTURE_SLOTS are in use
    // by live captures, or when nothing is pinned.
    CaptureSlot(const std::filesystem::path& pin_dir, const CaptureFilter& filter, uint32_t ring_bytes);
    ~CaptureSlot();
    CaptureSlot(const CaptureSlot&) = delete;
    CaptureSlot& operator=(const CaptureSlot&) = delete;

    int ring_fd() const { return ring_.get(); }
    unsigned slot() const { return slot_; }
    // Records the data plane could not write since the capture began (its
    // ring was full).
    uint64_t lost() const;

private:
    void release();
    std::filesystem::path pin_dir_;
    UniqueFd filters_, rings_, active_, lost_, ring_;
    unsigned slot_ = 0;
    uint64_t lost_at_start_ = 0;
};

// Captures running now (live owners), for status.
unsigned running_captures(const std::filesystem::path& pin_dir);

} // namespace pw
