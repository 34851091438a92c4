// Rollback: the claims of an earlier version set back as one new version,
// through the guards of a sync (the entry guards on every restored block,
// the collateral guard) and the same commit. It reads only the changes
// made since that version (store/history.hpp), never the rule set.
#pragma once

#include "registry/collateral_guard.hpp"
#include "registry/guards.hpp"
#include "session/controller.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace pw {

struct RollbackOptions {
    std::optional<uint64_t> to; // none: before the last version (of `source`, when given)
    std::string source;         // only this source's claims ("": all)
    GuardOptions guards;
    bool dry_run = false;
};

struct RollbackReport {
    uint64_t to = 0;
    std::string what;   // "rollback to 3 of reg"
    size_t claims = 0;  // claims set back (0: already the rules of `to`)
    CommitReport commit;
    CollateralResult collateral;
};

// Throws Error (nothing changed) for a version not kept or not yet made,
// and for a refusal by a guard.
RollbackReport rollback(Controller& ctl, const RollbackOptions& o);

// Throws Error unless every version after `from` is kept (so the state
// at `from` is known) and `from` is no later than the last.
void check_kept(const RuleDb::Read& r, uint64_t from, const std::string& what);

} // namespace pw
