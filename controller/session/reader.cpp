#include "session/reader.hpp"

#include "base/error.hpp"
#include "kernel/pin_dir.hpp"
#include "session/controller.hpp"

namespace pw {

LookupResult lookup_in(const Dataplane& dp, const RuleView& rules, const Address& a, const L4* packet)
{
    LookupResult r;
    r.address = a;
    if (auto v = dp.lookup(a, packet)) {
        r.rule = rules.find_id(v->rule_id);
        if (v->action == PW_ACTION_BLOCK)
            r.verdict = "drop";
        else if (v->action == PW_ACTION_REJECT)
            r.verdict = "reject";
    }
    return r;
}

std::string nothing_pinned(const Paths& paths)
{
    return "nothing is attached: no prefixwall maps are pinned under " + paths.pin_dir.string() +
           " (start with 'prefixwall attach IFACE' or 'prefixwall add PREFIX')";
}

namespace {

std::shared_ptr<RuleDb> open_store(const Paths& paths)
{
    // A state directory of an older version is imported once (that takes
    // the lock, as any change does); a reader of a read-only one reads.
    if (!RuleDb::exists(paths.state_dir) &&
        std::filesystem::exists(paths.state_dir / "rules.tsv"))
        Controller(paths, Capacity{}, false);
    if (!RuleDb::exists(paths.state_dir))
        StateStore(paths.state_dir).ensure_dir();
    return RuleDb::shared(paths.state_dir, paths.store_mb);
}

} // namespace

Reader::Reader(const Paths& paths, const Capacity& cap)
    : paths_(paths), cap_(cap), store_(paths.state_dir)
{
    open();
    db_ = open_store(paths);
}

void Reader::open()
{
    dp_.reset();
    if (std::filesystem::is_directory(paths_.pin_dir)) {
        PinDirLock lock(paths_.pin_dir); // only to open the maps consistently
        dp_ = Dataplane::open(paths_.pin_dir, cap_, false);
    }
    if (!dp_)
        throw Error(nothing_pinned(paths_));
}

bool Reader::refresh()
{
    if (dp_->still_pinned())
        return false;
    open();
    return true;
}

} // namespace pw
