// The L4 scope flags of the commands that make claims (add, sync):
// --proto, --port, --sport, declared once.
#pragma once

#include "base/scope.hpp"

#include <boost/program_options.hpp>

#include <string>

namespace pw {

struct ScopeFlags {
    std::string proto, port, sport;

    void declare(boost::program_options::options_description& o);
    // The scope they give (none without --proto); throws Error on a bad one.
    Scope scope() const { return Scope::parse(proto, port, sport); }
};

} // namespace pw
