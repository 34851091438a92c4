// The guard flags (sync, serve, feed, export) and the fetch flags (sync,
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
    std::vector<std::string> protect;
    bool force = false, allow_private = false;
    long timeout = -1, connect_timeout = -1;
    uint64_t max_bytes = 0;
    size_t max_entries = 0;
    std::string ca_file;
    bool insecure_tls = false;

    void declare_guards(boost::program_options::options_description& o);
    void declare_fetch(boost::program_options::options_description& o);
    void declare(boost::program_options::options_description& o)
    {
        declare_guards(o);
        declare_fetch(o);
    }
    // Throws UsageError for a bad value.
    void apply(GuardOptions& g, FetchOptions& fetch) const;
};

} // namespace pw
