#include "registry/sync_runner.hpp"

#include <exception>

namespace pw {

SyncOutcome run_sync(const SyncRun& run, const SourceSpec& spec, const SyncOptions& opts)
{
    SyncOutcome out;
    out.source = spec.name;
    StateStore store(run.paths.state_dir);
    try {
        FetchedSource fetched = fetch_source(spec, opts, store.load_source_meta(spec.name));
        if (run.stopped && run.stopped()) {
            out.error = "stopped before the sync was applied";
            return out;
        }
        Controller ctl(run.paths, run.capacity, true);
        out.report = apply_source(ctl, std::move(fetched), opts);
        if (out.failed() && !opts.dry_run)
            ctl.store().record_sync_failure(spec.name, out.report->refused_guard);
        if (run.reattach)
            out.notices = ctl.reattach_missing();
        return out;
    } catch (const std::exception& e) {
        out.report.reset();
        out.error = e.what();
    }
    if (!opts.dry_run) {
        try {
            // Under the lock, as every state write is.
            Controller ctl(run.paths, run.capacity, true);
            ctl.store().record_sync_failure(spec.name);
        } catch (const std::exception&) {
            // The failure is reported either way; a state that cannot
            // count it is itself reported by the next command.
        }
    }
    return out;
}

} // namespace pw
