// The rule set: what is in force, independent of the kernel. A rule is one
// prefix with a stable id and the claims of every source that lists it;
// its action is derived from the claims (allow > block > monitor: an
// explicit exception wins over a block, a block over a mere monitor).
#pragma once

#include "base/prefix.hpp"
#include "base/vocabulary.hpp"

#include <cstdint>
#include <map>
#include <unordered_map>
#include <optional>
#include <string>
#include <vector>

namespace pw {

struct Claim {
    Action action = Action::block;
    std::string comment; // free text, or the registry's reference

    bool operator==(const Claim&) const = default;
};

struct Rule {
    uint32_t id = 0; // stable while the rule exists; never reused
    Prefix prefix;
    std::map<std::string, Claim> claims; // by source name; never empty

    Action action() const;
    std::vector<std::string> sources() const;
    bool operator==(const Rule&) const = default;
};

// What a change means for the data plane's entry of one prefix.
enum class EntryChange { none, insert, update, erase };

class RuleSet {
public:
    RuleSet() = default;
    // Copies rebuild the id index (it points into this set's own rules).
    RuleSet(const RuleSet& o);
    RuleSet& operator=(const RuleSet& o);
    RuleSet(RuleSet&&) = default;
    RuleSet& operator=(RuleSet&&) = default;

    // Adds (or replaces) the claim of `source` on `prefix`.
    EntryChange add(const Prefix& prefix, const std::string& source,
                    const Claim& claim);
    // Removes the claim of `source`, or every claim when source is empty.
    // Returns none when there was nothing to remove.
    EntryChange remove(const Prefix& prefix, const std::string& source);

    const Rule* find(const Prefix& prefix) const;
    const Rule* find_id(uint32_t id) const;
    // The userspace reference of the data plane's lookup.
    const Rule* longest_match(const Address& addr) const;

    const std::map<Prefix, Rule>& rules() const { return rules_; }
    size_t size() const { return rules_.size(); }
    size_t count(Family f) const;
    size_t count(Family f, Action a) const;
    uint32_t next_id() const { return next_id_; }

    // Used by the state store when loading: a rule with a known id.
    void restore(Rule rule);
    void set_next_id(uint32_t id) { next_id_ = id; }

private:
    std::map<Prefix, Rule> rules_;
    std::unordered_map<uint32_t, const Rule*> by_id_; // into rules_ (map nodes do not move)
    size_t per_family_[2] = {0, 0};
    uint32_t next_id_ = 1;
};

} // namespace pw
