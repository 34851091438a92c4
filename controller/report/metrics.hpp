// The Prometheus view of prefixwall: every series of the exposition, from
// the rules, a counter snapshot (and the one before it, for the top-K
// prefixes by recent rate), the state's per-source records and the
// attachments. Label values are bounded: prefixes appear only for the top
// K, so cardinality does not grow with the registries.
#pragma once

#include "report/load.hpp"
#include "store/rule_db.hpp"
#include "store/state_store.hpp"

#include <map>
#include <string>
#include <vector>

namespace pw {

struct SyncRecord {         // what the daemon (or the state) knows of a source's syncs
    double last_success = 0; // unix seconds; 0: never
    double last_duration = 0;
    uint64_t failures = 0;
    size_t entries = 0;
    std::map<std::string, uint64_t> refusals; // by guard
};

struct MetricsInput {
    const RuleView* rules = nullptr;
    const LoadSnapshot* now = nullptr;
    const LoadSnapshot* before = nullptr; // for rates; null: rank by totals
    std::map<std::string, Counter> retired;
    std::map<std::string, SyncRecord> syncs;
    std::vector<Attachment> attachments;
    std::map<std::string, bool> attached; // interface -> link present
    Capacity capacity;
    size_t top_k = 50;
    std::map<std::string, FeedStatus> feeds;     // BGP feeds' last status, by source
    std::map<std::string, int64_t> holds;        // held sources: withdrawn at this unix time
    size_t expiring = 0;      // claims with a deadline (add --expire, expire=)
    int64_t next_expiry = 0;  // the earliest (unix seconds; 0: none)
    uint64_t version = 0;     // the rules' last version (store/history.hpp)
    int64_t version_time = 0; // when it was committed (0: not kept)
};

std::string render_metrics(const MetricsInput& in);

// Everything but the snapshots, from the rules, the state and the maps.
MetricsInput metrics_input(const RuleDb::Read& rules, const StateStore& store, const Dataplane* dp,
                           const LoadSnapshot& now, const LoadSnapshot* before, size_t top_k);

} // namespace pw
