// One interface prefixwall is attached to, with the settings its program
// instance was loaded with. The kernel layer attaches it; the state store
// remembers it so a crash or removed pins can be repaired.
#pragma once

#include "base/vocabulary.hpp"

#include <cstdint>
#include <string>

namespace pw {

struct Attachment {
    std::string ifname;
    int ifindex = 0; // filled in by the kernel layer when it attaches
    XdpMode mode = XdpMode::native;
    Match match = Match::both;
    bool dry_run = false;
    bool malformed_drop = false;
    Engine engine = Engine::compiled;
    // Answers per second per CPU for reject rules; the rest are plain drops
    // (0: never answer).
    uint32_t reject_rate = 1000;
};

} // namespace pw
