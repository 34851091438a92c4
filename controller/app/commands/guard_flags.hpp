// The guard flags (sync, serve, feed, export; add takes the collateral ones) and the fetch flags (sync,
// serve, export): declared once, applied on top of a configuration file's
// values (flags win).
#pragma once

#include "registry/fetch.hpp"
#include "registry/guards.hpp"

#include <boost/program_options.hpp>

#include <string>
#include <vector>

namespace pw {

struct GuardFlags {
    double max_removal = -1;
    int min4 = -1, min6 = -1;
    std::vector<std::string> protect, collateral;
    std::string max_collateral, max_collateral_v6;
    bool force = false, allow_private = false;
    long timeout = -1, connect_timeout = -1;
    uint64_t max_bytes = 0;
    size_t max_entries = 0;
    std::string ca_file;
    bool insecure_tls = false;

    void declare_guards(boost::program_options::options_description& o);
    // --collateral, and with limits --max-collateral(-v6) (add declares
    // them too; `collateral` only the lists).
    void declare_collateral(boost::program_options::options_description& o, bool limits = true);
    void declare_fetch(boost::program_options::options_description& o);
    void declare(boost::program_options::options_description& o)
    {
        declare_guards(o);
        declare_fetch(o);
    }
    // Throws UsageError for a bad value, Error for a provider list that
    // cannot be read (the lists of the flags and of `g` are read here).
    void apply(GuardOptions& g, FetchOptions& fetch) const;
    void apply_collateral(GuardOptions& g) const;
};

} // namespace pw
