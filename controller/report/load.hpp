// Load per prefix: counter snapshots of the data plane, rates between two
// snapshots (report/rates.hpp), ranking (top N by packets, bytes, packets/s
// or bits/s) and totals per source. Counts of rules that are gone stay in their sources'
// totals (the state's retired counters), so totals never go backwards.
#pragma once

#include "kernel/dataplane.hpp"
#include "store/rules.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace pw {

struct LoadSnapshot {
    std::chrono::steady_clock::time_point at{};
    RuleCounters by_rule; // by rule id (0: the overflow slot)
    GlobalCounters global{};
};

LoadSnapshot read_load(const Dataplane& dp);

enum class SortKey { packets, bytes, pps, bps };
SortKey parse_sort_key(std::string_view s);

struct RuleLoad {
    std::optional<Rule> rule;
    Counter counter;
    double pps = 0, bps = 0;
};

// The value a sort key ranks by.
double sort_value(const RuleLoad& r, SortKey k);

// Every rule with traffic (or all of `source`'s when one is named), with
// rates when `before` is given, sorted by `key`, the first `top` of them
// (0: all). Reads the rules of the rows kept, by id (or the source's).
std::vector<RuleLoad> rank_rules(const RuleView& rules, const LoadSnapshot& now,
                                 const LoadSnapshot* before, SortKey key, size_t top,
                                 const std::string& source = {});

// Keeps the `k` largest by `key` (partial sort); order of the rest undefined.
void keep_top(std::vector<RuleLoad>& v, size_t k, SortKey key);

struct SourceLoad {
    std::string source;
    std::string action; // the action of its claims ("mixed" when they differ)
    Counter counter;    // live rules plus retired
};

std::vector<SourceLoad> source_loads(const RuleView& rules, const LoadSnapshot& now,
                                     const std::map<std::string, Counter>& retired);

} // namespace pw
