// The hub side of a fleet: a source's block entries as BIRD 2 static
// routes carrying a community (BLACKHOLE by default), for a route server
// to `include` and announce to every edge. One protocol per family, so
// the file is the whole announcement of the source.
#pragma once

#include "feed/exabgp_message.hpp"
#include "registry/sync.hpp"

#include <iosfwd>
#include <string>

namespace pw {

struct BirdExportOptions {
    std::string source;       // names the protocols: prefixwall_<source>_v4 / _v6
    Community community = kBlackhole;
};

struct BirdExportCounts {
    size_t v4 = 0, v6 = 0, skipped = 0; // skipped: allow and monitor entries
};

// Writes the entries that block; the rest are counted in a comment.
BirdExportCounts write_bird_static(std::ostream& out, const SortedEntries& entries,
                                   const BirdExportOptions& o);

} // namespace pw
