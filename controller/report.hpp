// Human and JSON renderings of what the controller knows: rules, lookups,
// status and counters. Text for people (aligned tables), JSON for tools.
#pragma once

#include "controller.hpp"

#include <iosfwd>
#include <string>

namespace pw {

void print_rules(std::ostream& out, const RuleSet& rules, const std::string& source, bool json);
void print_lookup(std::ostream& out, const LookupResult& r, bool json);
void print_status(std::ostream& out, const Controller& c, bool json);
void print_stats(std::ostream& out, const Controller& c, bool json);

const char* outcome_name(unsigned outcome);

} // namespace pw
