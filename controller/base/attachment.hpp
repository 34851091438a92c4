// One interface prefixwall is attached to, with the settings its program
// instance was loaded with. The kernel layer attaches it; the state store
// remembers it so a crash or removed pins can be repaired.
#pragma once

#include "base/vocabulary.hpp"

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
};

} // namespace pw
