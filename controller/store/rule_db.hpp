// The rule store: the rules in force, in LMDB (STATE/rules.mdb). Memory-
// mapped and ordered: opening it costs nothing whatever its size, a read
// touches the pages it needs, and a write transaction costs what it writes.
// Readers never wait for the writer (each reads the version committed when
// it began).
//
// Databases (keys are binary; a prefix key is family, 16 address bytes,
// length: so keys sort by family, address, then length, the order of
// Prefix, and "every rule inside P" is one range):
//   rules    prefix key -> id, result index, action, [scoped part], the
//            claiming sources
//   ids      rule id (big-endian) -> prefix key
//   claims   source NUL prefix key -> claim action, [scope], [deadline],
//            comment
//   expiry   deadline (big-endian) source NUL prefix key -> nothing: the
//            claims that expire, in the order they do
//   sources  source -> claims by family and action
//   versions version (big-endian) -> its record (JSON): the last N commits
//   deltas   version, sequence (big-endian) -> one claim before and after
//   meta     next_id, generation, the last version, counts by family and action (and of
//            rules with a scoped claim), prefix
//            lengths in use, the next result index to try
#pragma once

#include "store/history.hpp"
#include "store/rules.hpp"

#include <lmdb.h>

#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <unordered_map>
#include <memory>
#include <string>
#include <vector>

namespace pw {

// One prefix's data-plane entry before and after a change (id 0: absent).
struct RuleChange {
    Prefix prefix;
    uint32_t before_id = 0, after_id = 0;
    Action before_action = Action::block, after_action = Action::block;
    uint32_t before_result = 0, after_result = 0;
    ScopedPart before_scoped, after_scoped;
    std::vector<std::string> leaving; // sources whose claim went
};

class RuleDb {
public:
    // Opens (creating when `create`) STATE/rules.mdb with room for
    // `size_mb` MiB. Read-only opens never write anything.
    RuleDb(const std::filesystem::path& state_dir, size_t size_mb, bool read_only);
    ~RuleDb();
    RuleDb(const RuleDb&) = delete;
    RuleDb& operator=(const RuleDb&) = delete;

    // The one environment of STATE/rules.mdb in this process, opened on
    // first use: read-write, or read-only when the state directory cannot
    // be written (read_only_reason() says why). LMDB must not open one
    // file twice in a process (closing either would drop the process's
    // locks on it), and the daemon reads and commits at once.
    static std::shared_ptr<RuleDb> shared(const std::filesystem::path& state_dir, size_t size_mb);
    const std::string& read_only_reason() const { return read_only_reason_; }

    static bool exists(const std::filesystem::path& state_dir);
    static std::filesystem::path file(const std::filesystem::path& state_dir);
    // Bytes the store's file takes on disk.
    uint64_t file_bytes() const;

    class Read;
    class Write;
    Read read() const;
    Write write();

private:
    friend class Read;
    friend class Write;
    MDB_env* env_ = nullptr;
    MDB_dbi rules_ = 0, ids_ = 0, claims_ = 0, sources_ = 0, meta_ = 0, expiry_ = 0, versions_ = 0, deltas_ = 0;
    // (a store written before them, opened read-only, reads them empty)
    bool has_expiry_ = false, has_history_ = false;
    std::filesystem::path dir_;
    size_t size_mb_ = 0;
    std::string read_only_reason_;
};

// A consistent view of the store as of when it began.
class RuleDb::Read : public RuleView {
public:
    Read(Read&& o) noexcept;
    ~Read() override;

    std::optional<Rule> find(const Prefix& prefix) const override;
    std::optional<Rule> find_id(uint32_t id) const override;
    size_t count(Family f) const override;
    size_t count(Family f, Action a) const override;
    size_t count_scoped(Family f) const override;
    void for_each_within(const Prefix& within,
                         const std::function<bool(const Rule&)>& fn) const override;
    void for_each_claim(const std::string& source,
                        const std::function<bool(const Prefix&, const Claim&)>& fn) const override;
    void for_each_entry(const Prefix& within,
                        const std::function<bool(const RuleEntry&)>& fn) const override;
    // Tries only the prefix lengths in use.
    std::optional<RuleEntry> covering(const Prefix& p) const override;
    // The claims that expire at or before `until` (unix seconds), the
    // earliest first: one range of the expiry database.
    void for_each_due(int64_t until,
                      const std::function<bool(const Prefix&, const std::string& source, int64_t deadline)>& fn) const;
    // Claims with a deadline, and the earliest (0: none).
    std::pair<size_t, int64_t> expiring() const;
    // The versions kept (oldest first), the last one's number (0: none),
    // and the claim changes of the versions in (from, to], in order.
    std::vector<VersionRecord> versions() const;
    uint64_t latest_version() const;
    std::optional<VersionRecord> last_version() const; // its record, when kept
    std::vector<std::pair<uint64_t, ClaimDelta>> deltas_after(uint64_t from, uint64_t to) const;

    virtual uint32_t next_id() const;
    uint64_t generation() const;
    // A number kept in the meta database (0 when unset).
    uint64_t meta_value(const char* key) const { return meta_u64(key); }
    unsigned __int128 meta_u128(const char* key) const;
    size_t size() const { return count(Family::v4) + count(Family::v6); }
    std::vector<std::pair<std::string, SourceCounts>> sources() const override;
    virtual SourceCounts source_counts(const std::string& source) const;
    // Prefix lengths that have ever had a rule, per family (bit n: /n).
    virtual std::array<uint64_t, 3> lengths(Family f) const;
    // The whole set in memory (for outputs that are the whole set, and tests).
    RuleSet snapshot() const;

protected:
    friend class RuleDb;
    Read(const RuleDb& db, MDB_txn* txn);
    bool get(MDB_dbi dbi, const void* key, size_t klen, MDB_val& out) const;
    uint64_t meta_u64(const char* key, uint64_t dflt = 0) const;
    Rule decode_rule(const MDB_val& k, const MDB_val& v) const;
    std::optional<RuleEntry> find_entry(const Prefix& prefix) const;
    // The rules inside `within`, as keys and values; fn returns false to stop.
    void walk_rules(const Prefix& within, const std::function<bool(const MDB_val&, const MDB_val&)>& fn) const;

    const RuleDb* db_;
    MDB_txn* txn_;
    // covering()'s lookups, remembered: the regions of one change share
    // most of their shorter ancestors. Keyed by prefix key; a Write clears
    // it whenever it changes a rule.
    mutable std::unordered_map<std::string, std::optional<RuleEntry>> memo_;
};

// One write transaction: nothing is visible to anyone until commit();
// destroyed uncommitted, it changes nothing.
class RuleDb::Write : public RuleDb::Read {
public:
    Write(Write&& o) noexcept = default;
    ~Write() override;

    // Sets `source`'s claim on `prefix`; returns the prefix's change.
    RuleChange set_claim(const Prefix& prefix, const std::string& source, const Claim& claim);
    // Removes `source`'s claim (every claim when source is empty).
    RuleChange remove_claim(const Prefix& prefix, const std::string& source);
    // Adds a whole rule with its own id and result index (imports, and
    // rules new to the store in replace_all); the prefix must be absent.
    void restore(const Rule& rule);
    // Records the claim changes made so far in this transaction as the
    // next version (numbered here, returned; 0 when nothing changed),
    // keeping the last `keep` versions (0: none kept).
    uint64_t record_version(VersionRecord v, size_t keep);
    // Records a rule's compiled result index.
    void set_result(const Prefix& prefix, uint32_t result);
    void set_generation(uint64_t g);
    // Raises the next rule id to at least `id` (imports).
    void raise_next_id(uint32_t id);
    void set_meta_u64(const char* key, uint64_t v);
    void set_meta_u128(const char* key, unsigned __int128 v);
    // Gives every rule new to the store its result index (set_claim calls
    // it with the new rule's id).
    void on_new_rule(std::function<uint32_t(uint32_t id)> result_for) { result_for_ = std::move(result_for); }
    // Makes everything written visible, durably. Throws Error (nothing
    // committed) when the store is full or the disk fails.
    void commit();

    // Counters kept in memory for the transaction and written at commit.
    using Read::count;
    size_t count(Family f, Action a) const override;
    size_t count_scoped(Family f) const override;
    SourceCounts source_counts(const std::string& source) const override;
    std::vector<std::pair<std::string, SourceCounts>> sources() const override;
    std::array<uint64_t, 3> lengths(Family f) const override;
    uint32_t next_id() const override;

private:
    friend class RuleDb;
    Write(const RuleDb& db, MDB_txn* txn) : Read(db, txn) {}
    void put(MDB_dbi dbi, const void* key, size_t klen, const void* val, size_t vlen);
    void del(MDB_dbi dbi, const void* key, size_t klen);
    void put_rule(const Rule& r, const std::vector<std::string>& sources);
    void put_expiry(int64_t deadline, const std::string& claim_key);
    void del_expiry(int64_t deadline, const std::string& claim_key);
    void bump_count(Family f, Action a, int64_t delta);
    // A rule's scoped part came or went (before and after: scoped or not).
    void bump_scoped(Family f, bool before, bool after);
    void bump_source(const std::string& source, Family f, Action a, int64_t delta);
    void add_length(const Prefix& p);
    void flush();
    bool committed_ = false;
    std::function<uint32_t(uint32_t)> result_for_;
    std::vector<ClaimDelta> history_; // the claim changes not yet recorded
    // Whether puts to a database still try MDB_APPEND (keys arriving in
    // order, as a bulk load's do); off after the first that is not.
    std::map<MDB_dbi, bool> appending_;
    std::array<std::array<int64_t, 4>, 2> count_delta_{};
    std::array<int64_t, 2> scoped_delta_{};
    std::map<std::string, SourceCounts> source_delta_; // wrapping adds
    mutable std::array<std::optional<std::array<uint64_t, 3>>, 2> lengths_;
    std::array<bool, 2> lengths_dirty_{};
    mutable std::optional<uint32_t> next_id_;
};

// A prefix as the store's key (18 bytes).
std::array<uint8_t, 18> prefix_key(const Prefix& p);

} // namespace pw
