// The controller's operations, as the CLI and the daemon call them. One
// Controller is one locked session over the pinned data plane and the rule
// store: it opens both, repairs a half-finished earlier run, and commits
// changes at the cost of what they change.
#pragma once

#include "kernel/dataplane.hpp"
#include "kernel/pin_dir.hpp"
#include "session/paths.hpp"
#include "session/reader.hpp"
#include "store/impact.hpp"
#include "store/rule_db.hpp"
#include "store/rules.hpp"
#include "store/state_store.hpp"

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pw {

// One claim set or removed. No claim: the source's claim goes (every
// claim on the prefix when source is empty).
struct ClaimChange {
    Prefix prefix;
    std::string source;
    std::optional<Claim> claim;
};
using ChangeSet = std::vector<ClaimChange>;

struct CommitReport {
    size_t inserted = 0, updated = 0, erased = 0;
    uint64_t version = 0; // the version recorded (0: none)
    double in_force_seconds = 0; // from the start of the commit to the swap
    // When the (last) swap was issued: every packet from then on sees the
    // new version (the swap itself returns an RCU grace period later).
    std::chrono::steady_clock::time_point in_force_at{};
    // Blocked space per family (IPv4 addresses, IPv6 /64s) before and
    // after, and newly blocked (store/impact.hpp).
    std::array<u128, 2> blocked_before{}, blocked_after{}, newly_blocked{};
    std::array<std::vector<Range>, 2> fresh_ranges; // the newly blocked addresses, sorted
    std::vector<std::pair<std::string, double>> phases; // seconds per step
};

// Called inside a commit with the rules before and after it (and the
// report so far), before anything in force changes; throwing refuses the
// commit with nothing changed.
using CommitCheck = std::function<void(const RuleView& before, const RuleView& after, const CommitReport&)>;

class Controller {
public:
    // Locks the pin directory for the life of the object and opens the
    // rule store (importing a state directory of an older version). With
    // create unset and no maps pinned yet, dataplane() is empty.
    Controller(const Paths& paths, const Capacity& want, bool create);

    // The rules in force, as of now; an interrupted earlier run is
    // repaired first.
    RuleDb::Read view() const;
    // The whole rule set in memory (outputs that are the whole set; tests).
    RuleSet snapshot() const { return view().snapshot(); }
    const Dataplane* dataplane() const { return dp_ ? &*dp_ : nullptr; }
    const StateStore& store() const { return store_; }
    // Bytes the rule store takes on disk.
    uint64_t store_bytes() const { return db_->file_bytes(); }
    std::vector<Attachment> attachments() const { return store_.load_attachments(); }

    // Applies `changes` to the rules in force: the rule store in one write
    // transaction, the maps by the prefixes that change (tries) and the
    // regions they touch (compiled tables), swapped in as one version.
    // Throws Error and leaves everything as it was when a change cannot be
    // applied.
    // With dry_run, stops after the check: nothing is written.
    CommitReport commit(const ChangeSet& changes, const CommitCheck& check = {}, bool dry_run = false);
    // What the next commit is, for its version record ("sync rkn", "add",
    // "rollback to 3"); each commit that changes a claim records a
    // version (store/history.hpp), the last Paths::history_versions kept.
    void note_next_commit(std::string what) { note_ = std::move(what); }
    // Makes `next` the rules in force (ids are the store's, not next's): a
    // diff against every rule, for tests and benchmarks.
    CommitReport replace_all(const RuleSet& next);

    void attach(Attachment a);
    void detach(const std::string& ifname);
    // With purge, also removes the rules, counters and state: the last
    // thing a session does.
    void detach_all(bool purge);

    LookupResult lookup(const Address& a) const;

    // The engines whose maps are kept: the compiled tables always, the
    // tries while an attachment uses them (or when forced, for tests and
    // benchmarks that run trie programs without attaching).
    Engines engines() const;
    void keep_tries(bool on);

    // Holds: a source whose claims stay in force until a deadline (unix
    // seconds), then are withdrawn as one version (a BGP feed whose
    // session went down). The deadline is kept in the state directory,
    // so whichever session runs after it (the feed, serve, any command
    // that opens a Controller) withdraws them.
    void hold_claims(const std::string& source, int64_t until);
    // Forgets a source's hold (its feed's new session replaced the claims).
    void release_hold(const std::string& source);
    // Withdraws the claims of every source whose hold is over; one line
    // per source on stderr. Returns the sources withdrawn.
    std::vector<std::string> expire_holds(int64_t now);

    // Withdraws every claim whose deadline (Claim::expires) is at or
    // before `now`, as one version (one line on stderr); a rule stays
    // while another claim holds it. Returns the claims withdrawn. Every
    // Controller does this when it opens; the daemon each second.
    size_t expire_claims(int64_t now);
    // The claims this Controller withdrew as it opened (expired ones).
    size_t expired_at_open() const { return expired_at_open_; }

    // Re-attaches every recorded attachment whose link is gone (detached
    // by another tool); one line per interface it acted on.
    std::vector<std::string> reattach_missing();

private:
    const Dataplane& dp() const;
    // Makes the maps equal the store when their generations differ (a
    // crash between the two, or maps made anew); once per session.
    void repair() const;
    // Rebuilds every map from the store, and the result indices with them.
    void rebuild_from_store() const;
    void import_legacy_state();
    void recover_attachments();
    // Adds the counts of rules or claims leaving a source to its totals.
    void retire(const std::map<uint32_t, std::vector<std::string>>& leaving,
                const std::map<uint32_t, Counter>& counts);

    Paths paths_;
    PinDirLock lock_;
    StateStore store_;
    std::shared_ptr<RuleDb> db_; // shared with a Reader in the same process
    std::optional<Dataplane> dp_;
    mutable bool repaired_ = false;
    std::string read_only_; // why the store could only be opened read-only
    bool keep_tries_ = false;
    size_t expired_at_open_ = 0;
    std::string note_;
};

} // namespace pw
