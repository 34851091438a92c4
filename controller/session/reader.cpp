#include "session/reader.hpp"

#include "base/error.hpp"
#include "kernel/pin_dir.hpp"

namespace pw {

LookupResult lookup_in(const Dataplane& dp, const RuleSet& rules, const Address& a)
{
    LookupResult r;
    r.address = a;
    if (auto v = dp.lookup(a)) {
        r.rule = rules.find_id(v->rule_id);
        r.drop = v->action == PW_ACTION_BLOCK;
    }
    return r;
}

std::string nothing_pinned(const Paths& paths)
{
    return "nothing is attached: no prefixwall maps are pinned under " + paths.pin_dir.string() +
           " (start with 'prefixwall attach IFACE' or 'prefixwall add PREFIX')";
}

Reader::Reader(const Paths& paths, const Capacity& cap)
    : paths_(paths), cap_(cap), rules_(StateStore(paths.state_dir))
{
    open();
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
