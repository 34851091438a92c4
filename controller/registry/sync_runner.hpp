// One sync of one source, run the same way by `sync` and by `serve`:
// fetch and parse without the pin-dir lock (a slow registry blocks
// nobody), then take the lock to guard, diff and commit; count a failed or
// refused sync in the source's state (never under --dry-run, which changes
// nothing); and return an outcome value that each caller renders.
#pragma once

#include "registry/sync.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pw {

struct SyncOutcome {
    std::string source;
    std::optional<SyncReport> report; // the sync got as far as a report
    std::string error;                // it failed before one: nothing changed
    // Interfaces re-attached after another tool detached them (the daemon
    // asks for this after each sync).
    std::vector<std::string> notices;

    // Failed, or refused by a guard: the last good version stays in force.
    bool failed() const { return !error.empty() || (report && !report->refused.empty()); }
};

struct SyncRun {
    Paths paths;
    Capacity capacity;
    bool reattach = false;             // re-attach recorded attachments that are gone
    std::function<bool()> stopped;     // checked between fetch and apply
};

SyncOutcome run_sync(const SyncRun& run, const SourceSpec& spec, const SyncOptions& opts);

} // namespace pw
