#include "controller.hpp"

#include "error.hpp"

#include <algorithm>

namespace pw {
namespace fs = std::filesystem;

namespace {

fs::path ensured(const fs::path& dir)
{
    ensure_pin_dir(dir);
    return dir;
}

// One entry change for the data plane, with what to restore on rollback.
struct Step {
    Prefix prefix;
    const Rule* after = nullptr;  // null: erase
    const Rule* before = nullptr; // null: was absent
};

// The order in which steps are applied, so that no packet that both rule
// sets pass is dropped in between: first take blocks away (erasing them or
// turning them into something else), then add exceptions and monitors,
// then add blocks, and remove exceptions last.
int phase(const Step& s)
{
    bool was_block = s.before && s.before->action() == Action::block;
    bool is_block = s.after && s.after->action() == Action::block;
    if (was_block && !is_block)
        return 0;
    if (s.after && !is_block)
        return 1;
    if (is_block)
        return 2;
    return 3; // erasing an allow or monitor
}

} // namespace

Controller::Controller(const Paths& paths, const Capacity& want, bool create)
    : paths_(paths), lock_(ensured(paths.pin_dir)), store_(paths.state_dir)
{
    dp_ = Dataplane::open(paths.pin_dir, want, create);
    rules_ = store_.load_rules();
    if (dp_ && store_.pending())
        reconcile();
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
    // An earlier run stopped between changing the maps and saving the
    // state: make the maps equal the saved rules again.
    for (Family f : {Family::v4, Family::v6})
        for (const Prefix& p : dp_->entries(f))
            if (!rules_.find(p))
                dp_->erase(p);
    for (const auto& [p, r] : rules_.rules()) {
        auto v = dp_->get(p);
        if (!v || v->rule_id != r.id || v->action != static_cast<uint8_t>(r.action()))
            dp_->upsert(p, r.id, r.action());
    }
    dp_->release_slots([this](uint32_t id) { return rules_.find_id(id) != nullptr; });
    store_.clear_pending();
}

CommitReport Controller::commit(RuleSet next)
{
    // Ids are never reused, whatever set the caller built.
    next.set_next_id(std::max(next.next_id(), rules_.next_id()));
    if (!dp_)
        dp_ = Dataplane::open(paths_.pin_dir, Capacity{}, true);
    const Dataplane& d = *dp_;

    std::vector<Step> steps;
    auto a = rules_.rules().begin(), ae = rules_.rules().end();
    auto b = next.rules().begin(), be = next.rules().end();
    while (a != ae || b != be) {
        if (b == be || (a != ae && a->first < b->first)) {
            steps.push_back({a->first, nullptr, &a->second});
            ++a;
        } else if (a == ae || b->first < a->first) {
            steps.push_back({b->first, &b->second, nullptr});
            ++b;
        } else {
            if (a->second.id != b->second.id || a->second.action() != b->second.action())
                steps.push_back({b->first, &b->second, &a->second});
            ++a;
            ++b;
        }
    }

    // Capacity first, so a full map never leaves a partial change.
    for (Family f : {Family::v4, Family::v6}) {
        size_t limit = f == Family::v4 ? d.capacity().max_rules_v4 : d.capacity().max_rules_v6;
        if (next.count(f) > limit)
            throw Error(std::string("rules_") + (f == Family::v4 ? "v4" : "v6") +
                        " would be over its limit: " + std::to_string(next.count(f)) +
                        " rules, capacity " + std::to_string(limit) + " (--max-rules-" +
                        (f == Family::v4 ? "v4" : "v6") +
                        " when the maps are created); nothing changed");
    }

    std::stable_sort(steps.begin(), steps.end(),
                     [](const Step& x, const Step& y) { return phase(x) < phase(y); });

    CommitReport report;
    store_.mark_pending();
    size_t done = 0;
    try {
        for (; done < steps.size(); done++) {
            const Step& s = steps[done];
            if (s.after)
                d.upsert(s.prefix, s.after->id, s.after->action());
            else
                d.erase(s.prefix);
        }
        store_.save_rules(next);
    } catch (...) {
        // Undo in reverse order; the maps end as they were.
        for (size_t i = done; i-- > 0;) {
            const Step& s = steps[i];
            if (s.before)
                d.upsert(s.prefix, s.before->id, s.before->action());
            else
                d.erase(s.prefix);
        }
        store_.clear_pending();
        throw;
    }
    for (const Step& s : steps) {
        if (!s.after)
            report.erased++;
        else if (!s.before)
            report.inserted++;
        else
            report.updated++;
    }
    rules_ = std::move(next); // steps[] point into the old sets: not used after
    store_.clear_pending();
    d.release_slots([this](uint32_t id) { return rules_.find_id(id) != nullptr; });
    return report;
}

void Controller::attach(Attachment a)
{
    if (!dp_)
        dp_ = Dataplane::open(paths_.pin_dir, Capacity{}, true);
    dp_->attach(a);
    auto list = store_.load_attachments();
    std::erase_if(list, [&](const Attachment& x) { return x.ifname == a.ifname; });
    list.push_back(a);
    store_.save_attachments(list);
}

void Controller::detach(const std::string& ifname)
{
    dp().detach(ifname);
    auto list = store_.load_attachments();
    std::erase_if(list, [&](const Attachment& x) { return x.ifname == ifname; });
    store_.save_attachments(list);
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
    LookupResult r;
    r.address = addr;
    if (!dp_)
        return r;
    if (auto v = dp_->lookup(addr)) {
        r.rule = rules_.find_id(v->rule_id);
        r.drop = v->action == PW_ACTION_BLOCK;
    }
    return r;
}

std::vector<RuleStats> Controller::rule_stats() const
{
    std::vector<RuleStats> out;
    if (!dp_)
        return out;
    auto counters = dp_->rule_counters();
    for (const auto& [prefix, rule] : rules_.rules()) {
        auto it = counters.find(rule.id);
        out.push_back({&rule, it == counters.end() ? Counter{} : it->second});
    }
    return out;
}

Counter Controller::unattributed() const
{
    if (!dp_)
        return {};
    auto counters = dp_->rule_counters();
    auto it = counters.find(0);
    return it == counters.end() ? Counter{} : it->second;
}

} // namespace pw
