#include "app/commands/guard_flags.hpp"

#include "app/command.hpp"
#include "registry/provider_lists.hpp"

namespace pw {
namespace po = boost::program_options;

void GuardFlags::declare_guards(po::options_description& o)
{
    o.add_options()
        ("max-removal", po::value(&max_removal)->value_name("R"),
         "refuse a sync that removes more than this ratio of the source's entries (0.5)")
        ("force", po::bool_switch(&force), "apply what the removal guard would refuse")
        ("min-prefix-len-v4", po::value(&min4)->value_name("N"), "refuse IPv4 prefixes shorter than /N (8)")
        ("min-prefix-len-v6", po::value(&min6)->value_name("N"), "refuse IPv6 prefixes shorter than /N (19)")
        ("protect", po::value(&protect)->composing()->value_name("PREFIX"),
         "never block this prefix or anything covering it (repeatable)")
        ("allow-private", po::bool_switch(&allow_private), "accept private, loopback and other special-use space");
    declare_collateral(o);
}

void GuardFlags::declare_collateral(po::options_description& o, bool limits)
{
    o.add_options()
        ("collateral", po::value(&collateral)->composing()->value_name("[NAME=]FILE"),
         "a cloud's or CDN's published address list (AWS, Google Cloud, Azure, Fastly JSON; plain or netset "
         "named NAME): report and guard the provider space a change newly blocks (repeatable)");
    if (!limits)
        return;
    o.add_options()
        ("max-collateral", po::value(&max_collateral)->value_name("N"),
         "refuse a version that newly blocks more than N IPv4 addresses of provider space (65536)")
        ("max-collateral-v6", po::value(&max_collateral_v6)->value_name("N"),
         "the same in IPv6 /64s (65536)");
}

void GuardFlags::apply_collateral(GuardOptions& g) const
{
    if (!max_collateral.empty())
        g.max_collateral_v4 = decimal_arg(max_collateral, "--max-collateral", 38);
    if (!max_collateral_v6.empty())
        g.max_collateral_v6 = decimal_arg(max_collateral_v6, "--max-collateral-v6", 38);
    g.collateral.insert(g.collateral.end(), collateral.begin(), collateral.end());
    g.providers = load_provider_space(g.collateral);
}

void GuardFlags::declare_fetch(po::options_description& o)
{
    o.add_options()
        ("timeout", po::value(&timeout)->value_name("S"), "a fetch's whole time limit")
        ("connect-timeout", po::value(&connect_timeout)->value_name("S"), "a fetch's connect time limit")
        ("max-bytes", po::value(&max_bytes)->value_name("N"), "refuse a download larger than N bytes (also after gunzip)")
        ("max-entries", po::value(&max_entries)->value_name("N"), "refuse a source listing more than N entries")
        ("ca-file", po::value(&ca_file)->value_name("FILE"), "trust these CAs for HTTPS")
        ("insecure-tls", po::bool_switch(&insecure_tls), "do not verify HTTPS (logged at every sync)");
}

void GuardFlags::apply(GuardOptions& g, FetchOptions& fetch) const
{
    if (max_removal >= 0) {
        if (max_removal > 1)
            throw UsageError("--max-removal is a ratio between 0 and 1");
        g.max_removal = max_removal;
    }
    if (min4 >= 0) g.min_len_v4 = static_cast<unsigned>(min4);
    if (min6 >= 0) g.min_len_v6 = static_cast<unsigned>(min6);
    for (const auto& p : protect)
        g.protect.push_back(Prefix::parse(p));
    g.force |= force;
    g.allow_private |= allow_private;
    apply_collateral(g);
    if (timeout > 0) fetch.timeout_s = timeout;
    if (connect_timeout > 0) fetch.connect_timeout_s = connect_timeout;
    if (max_bytes > 0) fetch.max_bytes = max_bytes;
    if (max_entries > 0) fetch.max_entries = max_entries;
    if (!ca_file.empty()) fetch.ca_file = ca_file;
    fetch.insecure_tls |= insecure_tls;
}

} // namespace pw
