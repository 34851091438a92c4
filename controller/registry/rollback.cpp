#include "registry/rollback.hpp"

#include <algorithm>
#include <set>

namespace pw {

void check_kept(const RuleDb::Read& r, uint64_t from, const std::string& what)
{
    auto versions = r.versions();
    const uint64_t oldest = versions.empty() ? r.latest_version() + 1 : versions.front().version;
    if (from + 1 < oldest)
        throw Error(what + ": version " + std::to_string(from) + " is no longer in the history (the oldest kept is " +
                    std::to_string(oldest) + "; --history-versions keeps more)");
    if (from > r.latest_version())
        throw Error(what + ": no version " + std::to_string(from) + " yet (the last is " +
                    std::to_string(r.latest_version()) + ")");
}

RollbackReport rollback(Controller& ctl, const RollbackOptions& o)
{
    RollbackReport rep;
    auto r = ctl.view();
    const uint64_t latest = r.latest_version();
    if (o.to) {
        rep.to = *o.to;
    } else if (!o.source.empty()) {
        // The version before the source's last change.
        auto versions = r.versions();
        auto it = std::find_if(versions.rbegin(), versions.rend(),
                               [&](const VersionRecord& v) { return v.sources.contains(o.source); });
        if (it == versions.rend())
            throw Error("rollback: no version in the history changed source '" + o.source + "'");
        rep.to = it->version - 1;
    } else {
        if (latest == 0)
            throw Error("rollback: no version in the history");
        rep.to = latest - 1;
    }
    check_kept(r, rep.to, "rollback");
    std::vector<ClaimDelta> targets = state_at(r.deltas_after(rep.to, latest), o.source);
    rep.what = "rollback to " + std::to_string(rep.to) + (o.source.empty() ? "" : " of " + o.source);
    if (targets.empty())
        return rep;
    // What the restored version blocks is checked as a registry's
    // entries are.
    Guards guards(o.guards);
    ChangeSet changes;
    std::set<std::string> sources;
    for (ClaimDelta& t : targets) {
        if (t.after && stops_traffic(t.after->action) && !o.guards.force)
            if (auto refusal = guards.check_block(t.prefix))
                throw Error("rollback: " + t.prefix.to_string() + " (" + t.source + "): refused by guard " +
                            refusal->guard + ": " + refusal->detail + "; --force to apply; nothing changed");
        sources.insert(t.source);
        changes.push_back({t.prefix, t.source, std::move(t.after)});
    }
    rep.claims = changes.size();
    ctl.note_next_commit(rep.what);
    try {
        rep.commit = ctl.commit(changes, collateral_check(o.guards, changes, &rep.collateral), o.dry_run);
    } catch (const CollateralRefused& e) {
        throw Error("rollback: " + std::string(e.what()) + "; nothing changed");
    }
    if (!o.dry_run)
        for (const auto& s : sources)
            ctl.store().forget_source_meta(s); // its next sync reads the registry whole
    return rep;
}

} // namespace pw
