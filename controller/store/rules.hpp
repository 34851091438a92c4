// The rule set: what is in force, independent of the kernel. A rule is one
// prefix with a stable id and the claims of every source that lists it;
// its action is derived from the claims (allow > block > reject > monitor:
// an explicit exception wins over a block, a block over a reject (no answer
// is the narrower promise), either over a mere monitor). Claims may be
// scoped to L4 (base/scope.hpp); how the data plane treats the rule's
// packets is its ScopedPart.
#pragma once

#include "base/prefix.hpp"
#include "base/scope.hpp"
#include "base/vocabulary.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <optional>
#include <string>
#include <vector>

namespace pw {

struct Claim {
    Action action = Action::block;
    std::string comment; // free text, or the registry's reference
    Scope scope;         // none: every packet of the prefix
    int64_t expires = 0; // unix seconds when the claim lapses (0: never)

    bool operator==(const Claim&) const = default;
};

// A rule with claims scoped to L4, as the data plane treats it: packets
// that fit the winning scoped claim's scope get its action; the others get
// the action of the prefix's claims without a scope (`otherwise`) or, when
// it has none, the rule covering the prefix decides. scope none: no scoped
// claim, every packet gets the rule's action. Of several scoped claims on
// one prefix the winner (by action, then source name) is enforced.
struct ScopedPart {
    Scope scope;
    Action action = Action::block;
    std::optional<Action> otherwise;

    bool scoped() const { return scope.scoped(); }
    // "block tcp/443, else allow" ("..., else the covering rule" without
    // an otherwise); "" when not scoped.
    std::string to_string() const;
    bool operator==(const ScopedPart&) const = default;
};

// What the data plane needs of a rule: no claims.
struct RuleEntry {
    Prefix prefix;
    uint32_t id = 0, result = 0;
    Action action = Action::block; // the rule's (reports, guards); the data plane's unless scoped
    ScopedPart scoped;
};

struct Rule {
    uint32_t id = 0; // stable while the rule exists; never reused
    Prefix prefix;
    uint32_t result = 0; // its index in the compiled engine's results (0: none yet)
    std::map<std::string, Claim> claims; // by source name; never empty

    Action action() const;
    ScopedPart scoped() const;
    std::vector<std::string> sources() const;
    RuleEntry entry() const { return RuleEntry{prefix, id, result, action(), scoped()}; }
    bool operator==(const Rule&) const = default;
};

// What a change means for the data plane's entry of one prefix.
enum class EntryChange { none, insert, update, erase };

// Claims of one source, by family and claim action (action_slot()).
using SourceCounts = std::array<std::array<uint64_t, 4>, 2>;

// Read access to a rule set, wherever it lives: in memory (RuleSet) or in
// the rule store (store/rule_db.hpp). Every walk is over a range, so a
// caller reads what it asks for, not the whole set.
class RuleView {
public:
    virtual ~RuleView() = default;
    virtual std::optional<Rule> find(const Prefix& prefix) const = 0;
    virtual std::optional<Rule> find_id(uint32_t id) const = 0;
    virtual size_t count(Family f) const = 0;
    virtual size_t count(Family f, Action a) const = 0;
    // Rules with a claim scoped to L4.
    virtual size_t count_scoped(Family f) const = 0;
    // Every rule inside `within` (its own prefix included), in prefix
    // order; fn returns false to stop.
    virtual void for_each_within(const Prefix& within,
                                 const std::function<bool(const Rule&)>& fn) const = 0;
    // The same walk without the claims (cheaper where the rules live on disk).
    virtual void for_each_entry(const Prefix& within,
                                const std::function<bool(const RuleEntry&)>& fn) const = 0;
    // The prefixes `source` claims, in prefix order; fn returns false to stop.
    virtual void for_each_claim(const std::string& source,
                                const std::function<bool(const Prefix&, const Claim&)>& fn) const = 0;

    // Every source with claims, and its claim counts, by name.
    virtual std::vector<std::pair<std::string, SourceCounts>> sources() const = 0;

    // The longest rule that covers `p` and is shorter than it.
    virtual std::optional<RuleEntry> covering(const Prefix& p) const;
    // The userspace reference of the data plane's lookup: the longest rule
    // covering addr that applies to the packet: unscoped, or scoped with
    // the packet fitting its scope or an otherwise (with packet null, the
    // longest rule).
    std::optional<Rule> longest_match(const Address& addr, const L4* packet = nullptr) const;
};

// The whole of one family, as a prefix.
Prefix family_root(Family f);

class RuleSet final : public RuleView {
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

    // Without copies: pointers into the set.
    const Rule* get(const Prefix& prefix) const;
    const Rule* get_id(uint32_t id) const;
    const Rule* lookup(const Address& addr) const;

    std::optional<Rule> find(const Prefix& prefix) const override;
    std::optional<Rule> find_id(uint32_t id) const override;
    size_t count(Family f) const override;
    size_t count(Family f, Action a) const override;
    size_t count_scoped(Family f) const override;
    void for_each_within(const Prefix& within,
                         const std::function<bool(const Rule&)>& fn) const override;
    void for_each_entry(const Prefix& within,
                        const std::function<bool(const RuleEntry&)>& fn) const override;
    void for_each_claim(const std::string& source,
                        const std::function<bool(const Prefix&, const Claim&)>& fn) const override;
    std::vector<std::pair<std::string, SourceCounts>> sources() const override;

    const std::map<Prefix, Rule>& rules() const { return rules_; }
    size_t size() const { return rules_.size(); }
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
