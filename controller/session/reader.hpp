// The read-only entry point: what `stats`, `metrics`, `top`, `lookup` and
// the daemon's /metrics share. It opens the pinned maps without creating
// anything (taking the pin-dir lock only while it opens them, so a sync
// being applied never holds a reader up, nor a reader a sync) and reads
// the rule store in read transactions: each sees the last version
// committed, and reads only the rules it asks for. When nothing is pinned
// it says so in one sentence.
#pragma once

#include "kernel/dataplane.hpp"
#include "session/paths.hpp"
#include "store/rule_db.hpp"
#include "store/state_store.hpp"

#include <memory>
#include <optional>

namespace pw {

struct LookupResult {
    Address address;
    std::optional<Rule> rule; // the longest match in the data plane
    const char* verdict = "pass"; // pass, drop or reject
};

// What the table in force says for `a`, with the rule it names.
// A packet (its L4) decides which of a scoped rule and its fallback
// applies; without one, the longest rule applies whatever its scope.
LookupResult lookup_in(const Dataplane& dp, const RuleView& rules, const Address& a,
                       const L4* packet = nullptr);

// "nothing is attached: ..." with how to start.
std::string nothing_pinned(const Paths& paths);

class Reader {
public:
    // Throws Error(nothing_pinned()) when no maps are pinned.
    Reader(const Paths& paths, const Capacity& cap);

    const Dataplane& dataplane() const { return *dp_; }
    // The rules as last committed (a new read transaction each call).
    RuleDb::Read view() const { return db_->read(); }
    const StateStore& store() const { return store_; }
    LookupResult lookup(const Address& a, const L4* packet = nullptr) const
    {
        return lookup_in(*dp_, view(), a, packet);
    }

    // Reopens the maps when their pins were removed (and maybe recreated)
    // under a long-lived reader; returns true when it did, so that rates
    // start afresh.
    bool refresh();

private:
    void open();

    Paths paths_;
    Capacity cap_;
    std::optional<Dataplane> dp_;
    StateStore store_;
    std::shared_ptr<RuleDb> db_; // shared with a Controller in the same process
};

} // namespace pw
