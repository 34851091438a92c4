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
    void record_sync_failure(const std::string& source) const;
    std::vector<std::string> synced_sources() const;

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
