#include "store/rules.hpp"

#include "base/error.hpp"

#include <algorithm>

namespace pw {

RuleSet::RuleSet(const RuleSet& o)
    : rules_(o.rules_), next_id_(o.next_id_)
{
    per_family_[0] = o.per_family_[0];
    per_family_[1] = o.per_family_[1];
    by_id_.reserve(rules_.size());
    for (const auto& [p, r] : rules_)
        by_id_.emplace(r.id, &r);
}

RuleSet& RuleSet::operator=(const RuleSet& o)
{
    if (this != &o) {
        RuleSet copy(o);
        *this = std::move(copy);
    }
    return *this;
}

namespace {

// allow beats everything (an exception is meant), block beats reject (no
// answer is the narrower promise), any stop beats monitor.
int precedence(Action a)
{
    switch (a) {
    case Action::allow: return 3;
    case Action::block: return 2;
    case Action::reject: return 1;
    case Action::monitor: return 0;
    }
    return 0;
}

} // namespace

namespace {

// The winning claim among those with (or without) a scope; null: none.
const Claim* best(const std::map<std::string, Claim>& claims, bool scoped)
{
    const Claim* b = nullptr;
    for (const auto& [_, c] : claims)
        if (c.scope.scoped() == scoped && (!b || precedence(c.action) > precedence(b->action)))
            b = &c;
    return b;
}

} // namespace

Action Rule::action() const
{
    const Claim* b = nullptr;
    for (const auto& [_, c] : claims)
        if (!b || precedence(c.action) > precedence(b->action))
            b = &c;
    return b ? b->action : Action::block;
}

ScopedPart Rule::scoped() const
{
    ScopedPart p;
    if (const Claim* s = best(claims, true)) {
        p.scope = s->scope;
        p.action = s->action;
        if (const Claim* u = best(claims, false))
            p.otherwise = u->action;
    }
    return p;
}

std::string ScopedPart::to_string() const
{
    if (!scoped())
        return "";
    std::string s = std::string(action_name(action)) + " " + scope.to_string();
    s += otherwise ? std::string(", else ") + action_name(*otherwise) : ", else the covering rule";
    return s;
}

std::vector<std::string> Rule::sources() const
{
    std::vector<std::string> out;
    for (const auto& [name, _] : claims)
        out.push_back(name);
    return out;
}

EntryChange RuleSet::add(const Prefix& prefix, const std::string& source,
                         const Claim& claim)
{
    auto it = rules_.find(prefix);
    if (it == rules_.end()) {
        per_family_[fam_index(prefix.family)]++;
        Rule r;
        r.id = next_id_++;
        r.prefix = prefix;
        r.claims.emplace(source, claim);
        uint32_t id = r.id;
        auto [pos, _] = rules_.emplace(prefix, std::move(r));
        by_id_.emplace(id, &pos->second);
        return EntryChange::insert;
    }
    RuleEntry before = it->second.entry();
    it->second.claims.insert_or_assign(source, claim);
    RuleEntry after = it->second.entry();
    return after.action == before.action && after.scoped == before.scoped ? EntryChange::none
                                                                          : EntryChange::update;
}

EntryChange RuleSet::remove(const Prefix& prefix, const std::string& source)
{
    auto it = rules_.find(prefix);
    if (it == rules_.end())
        return EntryChange::none;
    Rule& r = it->second;
    if (!source.empty()) {
        RuleEntry before = r.entry();
        if (r.claims.erase(source) == 0)
            return EntryChange::none;
        if (!r.claims.empty())
            return r.action() == before.action && r.scoped() == before.scoped ? EntryChange::none
                                                                              : EntryChange::update;
    }
    per_family_[fam_index(prefix.family)]--;
    by_id_.erase(r.id);
    rules_.erase(it);
    return EntryChange::erase;
}

Prefix family_root(Family f)
{
    Prefix p;
    p.family = f;
    return p;
}

std::optional<RuleEntry> RuleView::covering(const Prefix& p) const
{
    for (int len = static_cast<int>(p.len) - 1; len >= 0; len--)
        if (auto r = find(Prefix::of(p.first(), static_cast<unsigned>(len))))
            return r->entry();
    return std::nullopt;
}

std::optional<Rule> RuleView::longest_match(const Address& addr, const L4* packet) const
{
    Prefix host = Prefix::of(addr, max_len(addr.family));
    std::optional<Rule> r = find(host);
    if (!r)
        if (auto e = covering(host))
            r = find(e->prefix);
    // A scoped rule the packet does not fit falls through to the rule
    // covering it (unless its prefix has claims without a scope).
    while (r && packet && r->scoped().scoped() && !r->scoped().otherwise &&
           !r->scoped().scope.fits(*packet)) {
        auto e = covering(r->prefix);
        r = e ? find(e->prefix) : std::nullopt;
    }
    return r;
}

const Rule* RuleSet::get(const Prefix& prefix) const
{
    auto it = rules_.find(prefix);
    return it == rules_.end() ? nullptr : &it->second;
}

const Rule* RuleSet::get_id(uint32_t id) const
{
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
}

const Rule* RuleSet::lookup(const Address& addr) const
{
    for (int len = static_cast<int>(max_len(addr.family)); len >= 0; len--)
        if (const Rule* r = get(Prefix::of(addr, static_cast<unsigned>(len))))
            return r;
    return nullptr;
}

std::optional<Rule> RuleSet::find(const Prefix& prefix) const
{
    const Rule* r = get(prefix);
    return r ? std::optional<Rule>(*r) : std::nullopt;
}

std::optional<Rule> RuleSet::find_id(uint32_t id) const
{
    const Rule* r = get_id(id);
    return r ? std::optional<Rule>(*r) : std::nullopt;
}

void RuleSet::for_each_within(const Prefix& within, const std::function<bool(const Rule&)>& fn) const
{
    for (auto it = rules_.lower_bound(within); it != rules_.end() && within.contains(it->first); ++it)
        if (!fn(it->second))
            return;
}

void RuleSet::for_each_entry(const Prefix& within, const std::function<bool(const RuleEntry&)>& fn) const
{
    for (auto it = rules_.lower_bound(within); it != rules_.end() && within.contains(it->first); ++it)
        if (!fn(it->second.entry()))
            return;
}

void RuleSet::for_each_claim(const std::string& source,
                             const std::function<bool(const Prefix&, const Claim&)>& fn) const
{
    for (const auto& [p, r] : rules_)
        if (auto it = r.claims.find(source); it != r.claims.end() && !fn(p, it->second))
            return;
}

size_t RuleSet::count(Family f) const { return per_family_[fam_index(f)]; }

size_t RuleSet::count(Family f, Action a) const
{
    return std::count_if(rules_.begin(), rules_.end(), [f, a](const auto& kv) {
        return kv.first.family == f && kv.second.action() == a;
    });
}

size_t RuleSet::count_scoped(Family f) const
{
    return std::count_if(rules_.begin(), rules_.end(), [f](const auto& kv) {
        return kv.first.family == f && kv.second.scoped().scoped();
    });
}

void RuleSet::restore(Rule rule)
{
    if (rules_.contains(rule.prefix))
        remove(rule.prefix, "");
    next_id_ = std::max(next_id_, rule.id + 1);
    per_family_[fam_index(rule.prefix.family)]++;
    Prefix key = rule.prefix;
    uint32_t id = rule.id;
    auto pos = rules_.emplace_hint(rules_.end(), key, std::move(rule));
    by_id_[id] = &pos->second;
}

} // namespace pw

namespace pw {

std::vector<std::pair<std::string, SourceCounts>> RuleSet::sources() const
{
    std::map<std::string, SourceCounts> by;
    for (const auto& [p, r] : rules_)
        for (const auto& [name, c] : r.claims)
            by[name][fam_index(p.family)][action_slot(c.action)]++;
    return {by.begin(), by.end()};
}

} // namespace pw
