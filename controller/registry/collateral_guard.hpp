// The collateral guard: how much provider space (store/collateral.hpp) a
// change newly blocks, counted inside the commit from the change's
// impact, and a refusal of a version that newly blocks more than the
// limits. It runs as the commit's check, before anything in force
// changes, so a refused version changes nothing.
#pragma once

#include "base/error.hpp"
#include "registry/guards.hpp"
#include "session/controller.hpp"

#include <nlohmann/json_fwd.hpp>

#include <iosfwd>
#include <string>
#include <vector>

namespace pw {

// Thrown by the check: the version newly blocks too much provider space.
// Carries what was counted, for the caller's report.
class CollateralRefused : public Error {
public:
    CollateralRefused(const std::string& why, CommitReport report, Collateral c)
        : Error(why), report(std::move(report)), collateral(std::move(c))
    {
    }
    CommitReport report;
    Collateral collateral;
};

// What a collateral check found (filled as the commit runs it).
struct CollateralResult {
    bool counted = false; // provider lists were given and the check ran
    Collateral collateral;
    std::string forced; // the refusal --force overrode, if any
};

// The check for a commit of `changes`: counts the provider space newly
// blocked (the change's blocks named as the largest) into *out, and
// throws CollateralRefused over the limits unless g.force. An empty
// check when no provider lists are given.
CommitCheck collateral_check(const GuardOptions& g, const ChangeSet& changes, CollateralResult* out);

// "would newly block 16777216 IPv4 addresses of provider space (aws ...;
// largest: ...), more than --max-collateral 65536"
std::string collateral_refusal_text(const Collateral& c, const GuardOptions& g);

// Renderings, shared by the sync report, add and `collateral`: totals, a
// line per provider with its largest regions or services, the largest
// prefixes; and the same as JSON (counts as decimal strings).
void print_collateral(std::ostream& out, const Collateral& c, const std::string& indent,
                      const std::string& title = "provider space");
nlohmann::json collateral_json(const Collateral& c);

} // namespace pw
