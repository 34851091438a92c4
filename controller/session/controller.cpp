#include "session/controller.hpp"

#include "base/error.hpp"

#include <algorithm>
#include <iostream>
#include <chrono>

namespace pw {
namespace fs = std::filesystem;

namespace {

fs::path ensured(const fs::path& dir)
{
    ensure_pin_dir(dir);
    return dir;
}

} // namespace

Controller::Controller(const Paths& paths, const Capacity& want, bool create)
    : paths_(paths), lock_(ensured(paths.pin_dir)), store_(paths.state_dir)
{
    dp_ = Dataplane::open(paths.pin_dir, want, create);
    if (dp_ && dp_->created())
        recover_attachments();
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
    // their last version). Fill the new maps from the saved rules, then
    // move every recorded attachment onto them (a link update: no gap).
    auto list = store_.load_attachments();
    if (list.empty())
        return;
    std::string said = "the pinned maps under " + paths_.pin_dir.string() +
                       " were missing: recreated from the saved rules";
    const RuleSet& saved = rules(); // fills the compiled tables
    if (engines().trie)
        dp_->rebuild(saved, Engines{true, false});
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

const RuleSet& Controller::rules() const
{
    if (!rules_) {
        rules_ = store_.load_rules();
        if (dp_ && store_.pending())
            const_cast<Controller*>(this)->reconcile();
        else if (dp_ && !dp_->compiled_ready(*rules_))
            dp_->rebuild(*rules_, Engines{false, true}); // maps made by an older version
    }
    return *rules_;
}

const Dataplane& Controller::dp() const
{
    if (!dp_)
        throw Error("no prefixwall maps pinned under " + paths_.pin_dir.string() +
                    ": add a rule or attach an interface first");
    return *dp_;
}

void Controller::reconcile()
{
    // An earlier run stopped between saving the state and finishing the
    // maps: make both rule copies equal the saved rules.
    dp_->rebuild(*rules_, engines());
    dp_->release_slots([this](uint32_t id) { return rules_->find_id(id) != nullptr; });
    store_.clear_pending();
}

CommitReport Controller::commit(RuleSet next)
{
    const auto started = std::chrono::steady_clock::now();
    const RuleSet& current = rules();
    // Ids are never reused, whatever set the caller built.
    next.set_next_id(std::max(next.next_id(), current.next_id()));
    if (!dp_)
        dp_ = Dataplane::open(paths_.pin_dir, Capacity{}, true);
    const Dataplane& d = *dp_;

    // The diff, as entry writes and the writes that undo them; and whose
    // counts leave which source (erased rules, claims dropped from rules
    // that stay), to keep them in the sources' totals.
    std::vector<EntryWrite> writes, undo;
    std::map<uint32_t, std::vector<std::string>> leaving;
    CommitReport report;
    auto a = current.rules().begin(), ae = current.rules().end();
    auto b = next.rules().begin(), be = next.rules().end();
    auto action = [](const Rule& r) { return static_cast<uint8_t>(r.action()); };
    while (a != ae || b != be) {
        if (b == be || (a != ae && a->first < b->first)) {
            leaving[a->second.id] = a->second.sources();
            writes.push_back({a->first, 0, 0, a->second.id});
            undo.push_back({a->first, a->second.id, action(a->second), 0});
            report.erased++;
            ++a;
        } else if (a == ae || b->first < a->first) {
            writes.push_back({b->first, b->second.id, action(b->second), 0});
            undo.push_back({b->first, 0, 0, b->second.id});
            report.inserted++;
            ++b;
        } else {
            for (const auto& [name, _] : a->second.claims)
                if (!b->second.claims.contains(name))
                    leaving[a->second.id].push_back(name);
            if (a->second.id != b->second.id || a->second.action() != b->second.action()) {
                writes.push_back({b->first, b->second.id, action(b->second), a->second.id});
                undo.push_back({a->first, a->second.id, action(a->second), b->second.id});
                report.updated++;
            }
            ++a;
            ++b;
        }
    }

    // Capacity first, so a full map is refused before anything is written.
    for (Family f : {Family::v4, Family::v6}) {
        size_t limit = f == Family::v4 ? d.capacity().max_rules_v4 : d.capacity().max_rules_v6;
        if (next.count(f) > limit)
            throw Error(std::string("rules_") + family_tag(f) +
                        " would be over its limit: " + std::to_string(next.count(f)) +
                        " rules, capacity " + std::to_string(limit) + " (--max-rules-" +
                        family_tag(f) +
                        " when the maps are created); nothing changed");
    }
    if (writes.empty()) {
        if (next.next_id() != current.next_id() || next.rules() != current.rules()) {
            store_.save_rules(next); // metadata only (sources, comments)
            rules_ = std::move(next);
        }
        return report;
    }

    // "pending" tells a later run that the maps may differ from the saved
    // rules: it makes them equal again (one whole version either way). The
    // maps go first, so the new version is in force without waiting for
    // the state file of a large rule set to be written.
    store_.mark_pending();
    bool complete = false;
    try {
        complete = d.apply(next, writes, undo, engines());
    } catch (...) {
        store_.clear_pending();
        throw;
    }
    report.in_force_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    try {
        store_.save_rules(next);
    } catch (...) {
        // The state cannot say what is in force: put the saved version
        // back in force (pending stays set if even that fails).
        d.rebuild(current, engines());
        store_.clear_pending();
        throw;
    }
    // Counts of claims dropped from rules that stay, read before the
    // slots of erased rules are given back.
    std::map<uint32_t, Counter> counts;
    bool claims_dropped = std::any_of(leaving.begin(), leaving.end(),
                                      [&](const auto& kv) { return next.find_id(kv.first); });
    if (claims_dropped)
        d.rule_counters().for_each([&](uint32_t id, const Counter& c) { counts[id] = c; });
    rules_ = std::move(next);
    if (complete)
        store_.clear_pending();
    for (const auto& [id, c] : d.release_slots([this](uint32_t id) { return rules_->find_id(id) != nullptr; }))
        counts[id] = c;
    retire(leaving, counts);
    return report;
}

void Controller::retire(const std::map<uint32_t, std::vector<std::string>>& leaving,
                        const std::map<uint32_t, Counter>& counts)
{
    auto retired = store_.load_retired();
    bool changed = false;
    for (const auto& [id, sources] : leaving) {
        auto it = counts.find(id);
        if (it == counts.end() || (it->second.packets == 0 && it->second.bytes == 0))
            continue;
        for (const auto& name : sources)
            retired[name] += it->second;
        changed = true;
    }
    if (changed)
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
        dp_->rebuild(rules(), Engines{true, false});
}

void Controller::attach(Attachment a)
{
    if (!dp_)
        dp_ = Dataplane::open(paths_.pin_dir, Capacity{}, true);
    const RuleSet& current = rules();
    auto before = store_.load_attachments();
    auto list = before;
    std::erase_if(list, [&](const Attachment& x) { return x.ifname == a.ifname; });
    list.push_back(a);
    if (a.engine == Engine::trie && !engines().trie) {
        // The tries were not kept: record the attachment first (so every
        // later change keeps them, whatever happens next), then fill them.
        store_.save_attachments(list);
        dp_->rebuild(current, Engines{true, false});
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
        store_.purge();
        rules_ = RuleSet{};
    }
}

LookupResult Controller::lookup(const Address& addr) const
{
    if (!dp_)
        return LookupResult{addr};
    return lookup_in(*dp_, rules(), addr);
}

} // namespace pw
