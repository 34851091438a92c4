#include "session/controller.hpp"

#include "base/error.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>

namespace pw {
namespace fs = std::filesystem;

namespace {

fs::path ensured(const fs::path& dir)
{
    ensure_pin_dir(dir);
    return dir;
}

constexpr const char* kLegacyRules = "rules.tsv";
constexpr const char* kResultHint = "result_hint";
// Blocked space per family in force (IPv4 addresses, IPv6 /64s).
constexpr std::array<const char*, 2> kBlocked{"blocked.v4", "blocked.v6"};

} // namespace

Controller::Controller(const Paths& paths, const Capacity& want, bool create)
    : paths_(paths), lock_(ensured(paths.pin_dir)), store_(paths.state_dir)
{
    store_.ensure_dir();
    const bool legacy = !RuleDb::exists(paths.state_dir) && fs::exists(paths.state_dir / kLegacyRules);
    // A read-only state directory: readable, and every change refused
    // with the reason.
    db_ = RuleDb::shared(paths.state_dir, paths.store_mb);
    read_only_ = db_->read_only_reason();
    dp_ = Dataplane::open(paths.pin_dir, want, create || legacy);
    if (legacy)
        import_legacy_state();
    if (dp_ && dp_->created())
        recover_attachments();
    if (dp_ && read_only_.empty()) {
        // Deadlines that passed. A withdrawal the commit refuses (a chain
        // of scoped rules it would make too long, a full store) is one
        // line, and this session goes on: the command that fixes it must
        // still run.
        const auto now = static_cast<int64_t>(::time(nullptr));
        try {
            expire_holds(now);
            expired_at_open_ = expire_claims(now);
        } catch (const Error& e) {
            std::cerr << "prefixwall: held or expired claims not withdrawn yet: " << e.what() << std::endl;
        }
    }
}

size_t Controller::expire_claims(int64_t now)
{
    ChangeSet changes;
    std::map<std::string, size_t> by_source;
    view().for_each_due(now, [&](const Prefix& p, const std::string& source, int64_t) {
        changes.push_back({p, source, std::nullopt});
        by_source[source]++;
        return true;
    });
    if (changes.empty())
        return 0;
    note_next_commit("expire");
    commit(changes);
    std::string list;
    for (const auto& [source, n] : by_source)
        list += (list.empty() ? "" : ", ") + source + " " + std::to_string(n);
    std::cerr << "prefixwall: " << changes.size() << " expired claim" << (changes.size() == 1 ? "" : "s")
              << " withdrawn (" << list << ")" << std::endl;
    return changes.size();
}

void Controller::hold_claims(const std::string& source, int64_t until)
{
    auto holds = store_.load_holds();
    holds[source] = until;
    store_.save_holds(holds);
}

void Controller::release_hold(const std::string& source)
{
    auto holds = store_.load_holds();
    if (holds.erase(source))
        store_.save_holds(holds);
}

std::vector<std::string> Controller::expire_holds(int64_t now)
{
    std::vector<std::string> done;
    auto holds = store_.load_holds();
    for (auto it = holds.begin(); it != holds.end();) {
        if (it->second > now) {
            ++it;
            continue;
        }
        const std::string& source = it->first;
        ChangeSet changes;
        view().for_each_claim(source, [&](const Prefix& p, const Claim&) {
            changes.push_back({p, source, std::nullopt});
            return true;
        });
        // The claims go first, then the hold: a crash in between leaves a
        // hold with nothing to withdraw, never claims without their hold.
        note_next_commit("hold over: " + source);
        commit(changes);
        std::cerr << "prefixwall: source '" << source << "': hold time over, withdrew "
                  << changes.size() << " claim" << (changes.size() == 1 ? "" : "s") << std::endl;
        done.push_back(source);
        it = holds.erase(it);
        store_.save_holds(holds);
    }
    return done;
}

void Controller::import_legacy_state()
{
    // A state directory written before the rule store: its rules.tsv (and
    // any pending mark: the saved rules are the truth either way) go into
    // the store with their ids, and result indices the maps already give
    // them, then the maps are rebuilt from the store.
    RuleSet legacy = store_.load_rules();
    std::map<uint32_t, uint32_t> index;
    for (const auto& [id, i] : dp_->results_in_use())
        index[id] = i;
    auto w = db_->write();
    for (const auto& [p, r] : legacy.rules()) {
        Rule copy = r;
        auto it = index.find(r.id);
        copy.result = it == index.end() ? 0 : it->second;
        w.restore(copy);
    }
    w.raise_next_id(legacy.next_id());
    for (Family f : {Family::v4, Family::v6})
        w.set_meta_u128(kBlocked[fam_index(f)],
                        count_units(blocked_ranges(legacy, f), f == Family::v4 ? 0 : 64));
    w.set_generation(w.generation() + 1);
    w.commit();
    rebuild_from_store();
    repaired_ = true;
    fs::rename(paths_.state_dir / kLegacyRules, paths_.state_dir / "rules.tsv.imported");
    std::error_code ec;
    fs::remove(paths_.state_dir / "pending", ec);
    std::cerr << "prefixwall: imported " << legacy.size() << " rules from "
              << (paths_.state_dir / kLegacyRules).string() << " into the rule store "
              << RuleDb::file(paths_.state_dir).string() << " (the old file is kept as rules.tsv.imported)\n";
}

std::vector<std::string> Controller::reattach_missing()
{
    std::vector<std::string> done;
    if (!dp_)
        return done;
    auto list = store_.load_attachments();
    for (auto& a : list) {
        if (dp_->attached(a.ifname))
            continue;
        try {
            dp_->attach(a);
            done.push_back(a.ifname + " had been detached by someone else: re-attached");
        } catch (const Error& e) {
            done.push_back(a.ifname + " is detached and cannot be re-attached: " + e.what());
        }
    }
    if (!done.empty())
        store_.save_attachments(list); // an interface made anew has a new index
    return done;
}

void Controller::recover_attachments()
{
    // New maps while attachments are recorded: someone removed the pinned
    // maps (the programs attached still use the old ones, now frozen at
    // their last version). Fill the new maps from the store, then move
    // every recorded attachment onto them (a link update: no gap).
    auto list = store_.load_attachments();
    if (list.empty())
        return;
    std::string said = "the pinned maps under " + paths_.pin_dir.string() +
                       " were missing: recreated from the rule store";
    repair();
    for (auto& a : list) {
        try {
            dp_->attach(a);
            said += "; re-attached " + a.ifname;
        } catch (const Error& e) {
            said += "; " + a.ifname + ": " + e.what();
        }
    }
    store_.save_attachments(list);
    std::cerr << "prefixwall: warning: " << said << "\n";
}

void Controller::repair() const
{
    if (repaired_ || !dp_ || !read_only_.empty())
        return;
    repaired_ = true;
    auto r = db_->read();
    if (dp_->generation() != r.generation() || !dp_->compiled_ready(r))
        rebuild_from_store();
}

void Controller::rebuild_from_store() const
{
    // Every rule keeps its result index when the results can hold it;
    // rules without one (or whose index another rule holds) take a free
    // one; every other index is freed.
    std::vector<uint32_t> owner(dp_->compiled_results().size(), 0);
    std::vector<Prefix> need;
    {
        auto r = db_->read();
        for (Family f : {Family::v4, Family::v6})
            r.for_each_within(family_root(f), [&](const Rule& rule) {
                if (rule.result == 0 || rule.result >= owner.size() || owner[rule.result])
                    need.push_back(rule.prefix);
                else
                    owner[rule.result] = rule.id;
                return true;
            });
    }
    dp_->reset_results(owner);
    auto w = db_->write();
    if (!need.empty()) {
        uint32_t hint = static_cast<uint32_t>(w.meta_value(kResultHint));
        for (const Prefix& p : need)
            w.set_result(p, dp_->take_result(w.find(p)->id, hint));
        w.set_meta_u64(kResultHint, hint);
    }
    const uint64_t gen = w.generation();
    dp_->set_generation(Dataplane::kGenerationChanging);
    dp_->rebuild(w, engines());
    dp_->release_slots([&](uint32_t id) { return w.find_id(id).has_value(); });
    w.commit();
    dp_->set_generation(gen);
}

RuleDb::Read Controller::view() const
{
    repair();
    return db_->read();
}

const Dataplane& Controller::dp() const
{
    if (!dp_)
        throw Error("no prefixwall maps pinned under " + paths_.pin_dir.string() +
                    ": add a rule or attach an interface first");
    return *dp_;
}

CommitReport Controller::commit(const ChangeSet& changes, const CommitCheck& check, bool dry_run)
{
    const auto started = std::chrono::steady_clock::now();
    const std::string what = note_.empty() ? "commit" : note_;
    note_.clear();
    if (!dp_)
        dp_ = Dataplane::open(paths_.pin_dir, Capacity{}, true);
    repair();
    if (!read_only_.empty())
        throw Error(read_only_ + "; nothing changed");
    const Dataplane& d = *dp_;
    auto before = db_->read(); // the version in force, beside the one written
    auto w = db_->write();
    CommitReport report;
    auto lap = started;
    auto phase = [&](const char* name) {
        auto now = std::chrono::steady_clock::now();
        report.phases.emplace_back(name, std::chrono::duration<double>(now - lap).count());
        lap = now;
    };

    // 1. The store takes the changes (new rules take a result index as
    //    they come); what each prefix was and becomes (several changes to
    //    one prefix fold into one). From the first index taken, the maps
    //    say "changing": a run that stops before the end leaves them
    //    unequal to the store, and the next one rebuilds them.
    std::vector<uint32_t> taken, freed;
    uint32_t hint = static_cast<uint32_t>(w.meta_value(kResultHint));
    const uint64_t old_gen = d.generation();
    d.set_generation(Dataplane::kGenerationChanging);
    auto give_back = [&] {
        d.free_results(taken);
        d.set_generation(old_gen); // nothing in force changed
    };
    w.on_new_rule([&](uint32_t id) {
        taken.push_back(d.take_result(id, hint));
        return taken.back();
    });
    std::vector<RuleChange> folded;
    std::vector<EntryWrite> writes, undo;
    std::map<uint32_t, std::vector<std::string>> leaving;
    try {
        folded.reserve(changes.size());
        for (const ClaimChange& c : changes)
            folded.push_back(c.claim ? w.set_claim(c.prefix, c.source, *c.claim)
                                     : w.remove_claim(c.prefix, c.source));
        auto by_prefix = [](const RuleChange& a, const RuleChange& b) { return a.prefix < b.prefix; };
        if (!std::is_sorted(folded.begin(), folded.end(), by_prefix))
            std::stable_sort(folded.begin(), folded.end(), by_prefix);
        size_t out = 0;
        for (size_t i = 0; i < folded.size(); i++) {
            if (out && folded[out - 1].prefix == folded[i].prefix) {
                RuleChange& into = folded[out - 1]; // keeps what the prefix was
                into.after_id = folded[i].after_id;
                into.after_action = folded[i].after_action;
                into.after_scoped = folded[i].after_scoped;
                into.after_result = folded[i].after_result;
                into.leaving.insert(into.leaving.end(), folded[i].leaving.begin(), folded[i].leaving.end());
                // A rule made by an earlier change of this set and erased
                // by a later one: its result index goes back.
                if (folded[i].after_id == 0 && folded[i].before_id && folded[i].before_id != into.before_id)
                    freed.push_back(folded[i].before_result);
            } else if (out++ != i) {
                folded[out - 1] = std::move(folded[i]);
            }
        }
        folded.resize(out);
        phase("store");

        // 2. Entry writes, the writes that undo them, and whose counts
        //    leave which source.
        for (const RuleChange& ch : folded) {
            const Prefix& p = ch.prefix;
            auto a = static_cast<uint8_t>(ch.after_action), b = static_cast<uint8_t>(ch.before_action);
            if (!ch.leaving.empty())
                leaving[ch.before_id] = ch.leaving;
            if (ch.before_id == 0 && ch.after_id == 0)
                continue;
            if (ch.before_id == 0) {
                writes.push_back({p, ch.after_id, a, 0, ch.after_scoped});
                undo.push_back({p, 0, 0, ch.after_id, {}});
                report.inserted++;
            } else if (ch.after_id == 0) {
                freed.push_back(ch.before_result);
                writes.push_back({p, 0, 0, ch.before_id, {}});
                undo.push_back({p, ch.before_id, b, 0, ch.before_scoped});
                report.erased++;
            } else if (a != b || ch.before_id != ch.after_id || ch.before_scoped != ch.after_scoped) {
                // (Erased and made anew in one set: a new id and index.)
                if (ch.before_id != ch.after_id)
                    freed.push_back(ch.before_result);
                writes.push_back({p, ch.after_id, a, ch.before_id, ch.after_scoped});
                undo.push_back({p, ch.before_id, b, ch.after_id, ch.before_scoped});
                report.updated++;
            }
        }
        // Capacity first, so a full map is refused before anything is written.
        for (Family f : {Family::v4, Family::v6}) {
            size_t limit = f == Family::v4 ? d.capacity().max_rules_v4 : d.capacity().max_rules_v6;
            if (w.count(f) > limit)
                throw Error(std::string("rules_") + family_tag(f) +
                            " would be over its limit: " + std::to_string(w.count(f)) +
                            " rules, capacity " + std::to_string(limit) + " (--max-rules-" +
                            family_tag(f) + " when the maps are created); nothing changed");
        }
        // The impact, inside the regions the change touches; the totals
        // follow by difference.
        std::vector<Prefix> changed;
        changed.reserve(writes.size());
        for (const EntryWrite& e : writes)
            changed.push_back(e.prefix);
        phase("entries");
        auto impact = change_impact(before, w, changed);
        for (Family f : {Family::v4, Family::v6}) {
            const int fi = fam_index(f);
            u128 total = w.meta_u128(kBlocked[fi]);
            report.blocked_before[fi] = total;
            report.blocked_after[fi] = total - impact[fi].before + impact[fi].after;
            report.newly_blocked[fi] = impact[fi].fresh;
            report.fresh_ranges[fi] = std::move(impact[fi].fresh_ranges);
            if (impact[fi].before != impact[fi].after)
                w.set_meta_u128(kBlocked[fi], report.blocked_after[fi]);
        }
        phase("impact");
        if (check)
            check(before, w, report);
    } catch (...) {
        give_back();
        throw;
    }
    if (dry_run) {
        give_back();
        return report; // the write transaction is dropped: nothing changed
    }
    // The version record, in the same transaction as the change.
    VersionRecord rec;
    rec.time = static_cast<int64_t>(::time(nullptr));
    rec.what = what;
    rec.rules_inserted = report.inserted;
    rec.rules_erased = report.erased;
    rec.rules_updated = report.updated;
    for (int fi = 0; fi < 2; fi++) {
        rec.newly_blocked[fi] = to_string(report.newly_blocked[fi]);
        rec.blocked_after[fi] = to_string(report.blocked_after[fi]);
    }
    if (writes.empty()) {
        give_back(); // (a rule made and erased again in the set took an index)
        report.version = w.record_version(rec, paths_.history_versions);
        w.commit(); // claims that do not change an entry (comments, sources)
        return report;
    }
    report.version = w.record_version(rec, paths_.history_versions);

    // 3. The maps, then the store. The generation in the maps says
    //    "changing" until both hold the new version (one whole version in
    //    force either way).
    const uint64_t gen = w.generation() + 1;
    w.set_generation(gen);
    w.set_meta_u64(kResultHint, hint);
    bool complete = false;
    try {
        complete = d.apply(w, writes, undo, engines(), &report.in_force_at);
        phase("maps");
    } catch (...) {
        give_back();
        throw;
    }
    if (report.in_force_at == std::chrono::steady_clock::time_point{})
        report.in_force_at = std::chrono::steady_clock::now();
    report.in_force_seconds = std::chrono::duration<double>(report.in_force_at - started).count();
    try {
        w.commit();
        phase("store commit");
    } catch (...) {
        // The store cannot say what is in force: put its version back.
        rebuild_from_store();
        throw;
    }
    d.free_results(freed); // before the generation says "done"
    if (complete)
        d.set_generation(gen);

    // 4. Counter slots of rules that are gone go back to the ring; their
    //    counts (and those of claims dropped from rules that stay) stay in
    //    the sources' totals.
    auto r = db_->read();
    std::map<uint32_t, Counter> counts;
    bool claims_dropped = std::any_of(leaving.begin(), leaving.end(),
                                      [&](const auto& kv) { return r.find_id(kv.first).has_value(); });
    if (claims_dropped)
        d.rule_counters().for_each([&](uint32_t id, const Counter& c) { counts[id] = c; });
    if (report.erased)
        for (const auto& [id, c] : d.release_slots([&](uint32_t id) { return r.find_id(id).has_value(); }))
            counts[id] = c;
    retire(leaving, counts);
    phase("counters");
    return report;
}

CommitReport Controller::replace_all(const RuleSet& next)
{
    ChangeSet changes;
    {
        auto r = view();
        for (Family f : {Family::v4, Family::v6})
            r.for_each_within(family_root(f), [&](const Rule& have) {
                const Rule* want = next.get(have.prefix);
                if (!want) {
                    changes.push_back({have.prefix, "", std::nullopt});
                    return true;
                }
                for (const auto& [source, _] : have.claims)
                    if (!want->claims.contains(source))
                        changes.push_back({have.prefix, source, std::nullopt});
                return true;
            });
    }
    for (const auto& [p, rule] : next.rules())
        for (const auto& [source, claim] : rule.claims)
            changes.push_back({p, source, claim});
    return commit(changes);
}

void Controller::retire(const std::map<uint32_t, std::vector<std::string>>& leaving,
                        const std::map<uint32_t, Counter>& counts)
{
    bool any = false;
    for (const auto& [id, _] : leaving) {
        auto it = counts.find(id);
        any |= it != counts.end() && (it->second.packets || it->second.bytes);
    }
    if (!any)
        return;
    auto retired = store_.load_retired();
    for (const auto& [id, sources] : leaving) {
        auto it = counts.find(id);
        if (it == counts.end() || (it->second.packets == 0 && it->second.bytes == 0))
            continue;
        for (const auto& name : sources)
            retired[name] += it->second;
    }
    store_.save_retired(retired);
}

Engines Controller::engines() const
{
    Engines e{keep_tries_, true};
    for (const auto& a : store_.load_attachments())
        e.trie |= a.engine == Engine::trie;
    return e;
}

void Controller::keep_tries(bool on)
{
    bool had = engines().trie;
    keep_tries_ = on;
    if (dp_ && on && !had)
        dp_->rebuild(view(), Engines{true, false});
}

void Controller::attach(Attachment a)
{
    if (!dp_)
        dp_ = Dataplane::open(paths_.pin_dir, Capacity{}, true);
    repair();
    auto before = store_.load_attachments();
    auto list = before;
    std::erase_if(list, [&](const Attachment& x) { return x.ifname == a.ifname; });
    list.push_back(a);
    if (a.engine == Engine::trie && !engines().trie) {
        // The tries were not kept: record the attachment first (so every
        // later change keeps them, whatever happens next), then fill them.
        store_.save_attachments(list);
        dp_->rebuild(db_->read(), Engines{true, false});
    }
    try {
        dp_->attach(a);
    } catch (...) {
        store_.save_attachments(before);
        throw;
    }
    list.back() = a; // with the interface index the kernel layer filled in
    store_.save_attachments(list);
}

void Controller::detach(const std::string& ifname)
{
    dp().detach(ifname);
    auto list = store_.load_attachments();
    std::erase_if(list, [&](const Attachment& x) { return x.ifname == ifname; });
    store_.save_attachments(list);
    if (!engines().trie)
        dp().rebuild(RuleSet{}, Engines{true, false}); // free the tries' memory
}

void Controller::detach_all(bool purge)
{
    if (dp_)
        for (const auto& a : store_.load_attachments())
            if (dp_->attached(a.ifname))
                dp_->detach(a.ifname);
    store_.save_attachments({});
    if (purge) {
        dp_.reset();
        Dataplane::purge(paths_.pin_dir);
        db_.reset(); // the session ends here: nothing is left to read
        store_.purge();
        repaired_ = true;
    }
}

LookupResult Controller::lookup(const Address& addr) const
{
    if (!dp_)
        return LookupResult{addr, std::nullopt};
    auto r = view();
    return lookup_in(*dp_, r, addr);
}

} // namespace pw
