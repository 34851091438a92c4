// Human and JSON renderings of what the controller knows: rules, lookups,
// status and counters. Text for people (aligned tables), JSON for tools.
#pragma once

#include "session/controller.hpp"
#include "report/load.hpp"

#include <iosfwd>
#include <string>

namespace pw {

// "a,b,c": the words joined by sep.
std::string join(const std::vector<std::string>& v, const char* sep);
// A rule's action as the tables show it: "block", or for a rule with a
// scoped claim "block tcp/443, else allow".
std::string action_text(const Rule& r);

void print_rules(std::ostream& out, const RuleView& rules, const std::string& source, bool json);
void print_lookup(std::ostream& out, const LookupResult& r, bool json);
void print_status(std::ostream& out, const Controller& c, bool json);
struct StatsView {
    std::vector<RuleLoad> rules;       // ranked
    std::vector<SourceLoad> sources;
    const LoadSnapshot* now = nullptr;
    const LoadSnapshot* before = nullptr; // set: rates over the interval
};
void print_stats(std::ostream& out, const StatsView& v, bool json);
// 1234567 -> "1.2M"
std::string human(double v);

} // namespace pw
