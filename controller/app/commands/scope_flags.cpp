#include "app/commands/scope_flags.hpp"

namespace pw {

namespace po = boost::program_options;

void ScopeFlags::declare(po::options_description& o)
{
    o.add_options()
        ("proto", po::value(&proto)->default_value("")->value_name("tcp|udp|icmp|icmpv6"),
         "the claims apply only to this protocol's packets; the others fall through to the prefix's "
         "claims without a scope, else to the rule covering the prefix")
        ("port", po::value(&port)->default_value("")->value_name("N[-M][,...]"),
         "with --proto tcp or udp: only these destination ports (up to 4 ports or ranges)")
        ("sport", po::value(&sport)->default_value("")->value_name("N[-M]"),
         "with --proto tcp or udp: only this source port range");
}

} // namespace pw
