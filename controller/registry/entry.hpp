// What a registry parser produces: entries (a prefix and the registry's
// reference for it) and rejected lines (number and reason). Parsers push
// both into an EntrySink as they stream, so memory follows the entries,
// not the size of the file.
#pragma once

#include "base/prefix.hpp"

#include <cstddef>
#include <map>
#include <string>

namespace pw {

struct Entry {
    Prefix prefix;
    bool subnet = false;  // written as a CIDR (not a single address)
    bool masked = false;  // host bits were set and have been cleared
    std::string ref;      // SBL id, decision number and date, AS number...
    std::string kind;     // element kind where the format has them (rkn-xml: ip, ipSubnet...)
};

struct Rejection {
    size_t line = 0;
    std::string reason;
};

struct ParseStats {
    size_t lines = 0;
    size_t records = 0;                         // content elements, CSV records...
    std::map<std::string, size_t> block_types;  // rkn-xml: contents per blockType
};

class EntrySink {
public:
    virtual ~EntrySink() = default;
    virtual void entry(Entry&& e) = 0;
    virtual void reject(Rejection&& r) = 0;
};

} // namespace pw
