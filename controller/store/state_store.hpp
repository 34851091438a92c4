// The state directory's small files: attachments, per-source records and
// retired counts (the rules themselves are in the rule store,
// store/rule_db.hpp). Every file is replaced atomically (write a
// temporary, fsync, rename), so a crash leaves the old or the new version,
// never a mix.
#pragma once

#include "base/attachment.hpp"
#include "base/counter.hpp"
#include "store/rules.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace pw {

// What the state remembers of a source's last good sync.
struct SourceMeta {
    std::string locations; // the locations it came from, one per line
    std::string settings;  // fingerprint of what shaped the result (format, action, guards)
    std::string etag, last_modified;
    size_t entries = 0;
    int64_t last_success = 0; // unix seconds
    double last_duration = 0; // seconds
    uint64_t failures = 0;    // failed or refused syncs, ever
    std::map<std::string, uint64_t> refusals; // syncs refused, by guard (removal, collateral)
};

// What a BGP feed (`prefixwall feed`) last wrote of itself, for metrics.
struct FeedStatus {
    std::string state;         // collecting, up, over-limit, refused, down, held
    std::string peer;          // the peer's address, as ExaBGP names it
    uint32_t peer_as = 0;
    int64_t pid = 0;           // the feed process (its state is stale once it is gone)
    uint64_t announced = 0;    // prefixes announced, since the feed started
    uint64_t withdrawn = 0;    // prefixes withdrawn
    uint64_t versions = 0;     // versions the feed committed
    uint64_t routes = 0;       // routes of the session's table in force
    double last_update = 0;    // unix seconds of the last UPDATE read (0: none)
    // From an UPDATE line read to its change in force (the swap issued:
    // every packet from then on sees it): over the last
    // 10,000 updates, and every update's sum and count.
    double latency_p50 = 0, latency_p99 = 0, latency_max = 0, latency_sum = 0;
    uint64_t latency_count = 0;
    // To the commit's return: after the swap's RCU grace period, the old
    // copy's catch-up and the rule store's commit.
    double returned_p50 = 0, returned_p99 = 0;

    bool operator==(const FeedStatus&) const = default;
};

class StateStore {
public:
    explicit StateStore(std::filesystem::path dir);

    const std::filesystem::path& dir() const { return dir_; }
    void ensure_dir() const;

    // rules.tsv, where versions before the rule store kept the rules: read
    // once to import it; written only to make such a state directory
    // (the upgrade test).
    RuleSet load_rules() const;
    void save_rules(const RuleSet& rules) const;

    std::vector<Attachment> load_attachments() const;
    void save_attachments(const std::vector<Attachment>& a) const;

    SourceMeta load_source_meta(const std::string& source) const;
    void save_source_meta(const std::string& source, SourceMeta meta) const;
    void forget_source_meta(const std::string& source) const;
    // Counts a failed or refused sync of `source`.
    // `guard`: the guard that refused it ("" for a failure).
    void record_sync_failure(const std::string& source, const std::string& guard = "") const;
    std::vector<std::string> synced_sources() const;

    // Sources whose claims are held until a deadline (unix seconds), then
    // withdrawn: a BGP feed whose session went down.
    std::map<std::string, int64_t> load_holds() const;
    void save_holds(const std::map<std::string, int64_t>& holds) const;

    void save_feed_status(const std::string& source, const FeedStatus& s) const;
    // Every feed's last status, by source.
    std::map<std::string, FeedStatus> load_feed_statuses() const;

    // Counts of rules (and claims) that are gone, per source: they stay
    // in the source's totals so those never go backwards.
    std::map<std::string, Counter> load_retired() const;
    void save_retired(const std::map<std::string, Counter>& retired) const;

    // Removes every file this store writes (detach --purge).
    void purge() const;

private:
    void write_atomic(const std::string& name, const std::string& content) const;
    std::filesystem::path dir_;
};

} // namespace pw
