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

Action Rule::action() const
{
    bool block = false;
    for (const auto& [_, c] : claims) {
        if (c.action == Action::allow)
            return Action::allow;
        block |= c.action == Action::block;
    }
    return block ? Action::block : Action::monitor;
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
    Action before = it->second.action();
    it->second.claims.insert_or_assign(source, claim);
    return it->second.action() == before ? EntryChange::none
                                         : EntryChange::update;
}

EntryChange RuleSet::remove(const Prefix& prefix, const std::string& source)
{
    auto it = rules_.find(prefix);
    if (it == rules_.end())
        return EntryChange::none;
    Rule& r = it->second;
    if (!source.empty()) {
        Action before = r.action();
        if (r.claims.erase(source) == 0)
            return EntryChange::none;
        if (!r.claims.empty())
            return r.action() == before ? EntryChange::none
                                        : EntryChange::update;
    }
    per_family_[fam_index(prefix.family)]--;
    by_id_.erase(r.id);
    rules_.erase(it);
    return EntryChange::erase;
}

const Rule* RuleSet::find(const Prefix& prefix) const
{
    auto it = rules_.find(prefix);
    return it == rules_.end() ? nullptr : &it->second;
}

const Rule* RuleSet::find_id(uint32_t id) const
{
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
}

const Rule* RuleSet::longest_match(const Address& addr) const
{
    for (int len = static_cast<int>(max_len(addr.family)); len >= 0; len--) {
        if (const Rule* r = find(Prefix::of(addr, static_cast<unsigned>(len))))
            return r;
    }
    return nullptr;
}

size_t RuleSet::count(Family f) const { return per_family_[fam_index(f)]; }

size_t RuleSet::count(Family f, Action a) const
{
    return std::count_if(rules_.begin(), rules_.end(), [f, a](const auto& kv) {
        return kv.first.family == f && kv.second.action() == a;
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
