// Renderings of a sync's outcome: the report for people (`sync`), JSON
// for tools (`sync --json`), and the one log line the daemon writes.
#pragma once

#include "registry/sync_runner.hpp"

#include <nlohmann/json_fwd.hpp>

#include <iosfwd>
#include <string>

namespace pw {

nlohmann::json to_json(const SyncReport& r);
void print_report(std::ostream& out, const SyncReport& r);

// An outcome as JSON ({"source", "error"} for a failed sync).
nlohmann::json to_json(const SyncOutcome& o);
// An outcome for people: the report on `out`, a failure on `err`.
void print_outcome(std::ostream& out, std::ostream& err, const SyncOutcome& o);
// An outcome as one log line.
std::string summary_line(const SyncOutcome& o);

} // namespace pw
