// The controller's operations, as the CLI (and later the daemon) calls
// them. One Controller is one locked session over the pinned data plane
// and the state directory: it opens both, repairs a half-finished earlier
// run, and commits rule changes in an order that never blocks what both
// the old and the new rule set pass.
#pragma once

#include "kernel/dataplane.hpp"
#include "kernel/pin_dir.hpp"
#include "store/rules.hpp"
#include "session/paths.hpp"
#include "session/reader.hpp"
#include "store/state_store.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pw {

struct CommitReport {
    size_t inserted = 0, updated = 0, erased = 0;
    double in_force_seconds = 0; // from the start of the commit to the swap
};

class Controller {
public:
    // Locks the pin directory for the life of the object. With create
    // unset and no maps pinned yet, dataplane() is empty.
    Controller(const Paths& paths, const Capacity& want, bool create);

    // The rules in force, loaded from the state directory on first use
    // (a sync answered by a 304 never needs them); an interrupted earlier
    // run is repaired then.
    const RuleSet& rules() const;
    const Dataplane* dataplane() const { return dp_ ? &*dp_ : nullptr; }
    const StateStore& store() const { return store_; }
    std::vector<Attachment> attachments() const { return store_.load_attachments(); }

    // Makes `next` the rule set in force: kernel maps first (in a safe
    // order, rolled back on failure), then the state. Throws Error and
    // leaves everything as it was when a change cannot be applied.
    CommitReport commit(RuleSet next);

    void attach(Attachment a);
    void detach(const std::string& ifname);
    void detach_all(bool purge);

    LookupResult lookup(const Address& a) const;

    // The engines whose maps are kept: the compiled tables always, the
    // tries while an attachment uses them (or when forced, for tests and
    // benchmarks that run trie programs without attaching).
    Engines engines() const;
    void keep_tries(bool on);

    // Re-attaches every recorded attachment whose link is gone (detached
    // by another tool); one line per interface it acted on.
    std::vector<std::string> reattach_missing();

private:
    const Dataplane& dp() const;
    void reconcile();
    void recover_attachments();
    // Adds the counts of rules or claims leaving a source to its totals.
    void retire(const std::map<uint32_t, std::vector<std::string>>& leaving,
                const std::map<uint32_t, Counter>& counts);

    Paths paths_;
    PinDirLock lock_;
    StateStore store_;
    std::optional<Dataplane> dp_;
    mutable std::optional<RuleSet> rules_;
    bool keep_tries_ = false;
};

} // namespace pw
