#include "app/command.hpp"

#include "app/commands/commands.hpp"

#include <array>

namespace pw {
namespace po = boost::program_options;

namespace {

const std::array<CommandSpec, 22> kCommands{{
    {"attach", "IFACE [--mode native|generic] [--match src|dst|both] [--engine compiled|trie] "
               "[--malformed pass|drop] [--reject-rate N] [--dry-run]",
     "attach the filter to an interface (again: swap its settings without a gap)",
     "Every attached interface shares one rule set and one set of counters.",
     Operand::interface, true, make_attach},
    {"detach", "IFACE | --all [--purge]", "detach the filter from an interface, or from all",
     "With --all --purge, the rules, counters and state go too.", Operand::interface, true, make_detach},
    {"status", "[--json]", "attachments, rule counts per family and action, map capacity", "",
     Operand::none, true, make_status},
    {"add", "PREFIX... [--action block|reject|allow|monitor] [--source NAME] [--comment TEXT] "
            "[--proto P [--port N[-M][,...]] [--sport N[-M]]] [--expire DURATION | --until TIME] "
            "[--collateral [NAME=]FILE]... [--force]",
     "add rules by hand, in force when the command returns",
     "A prefix is a.b.c.d[/n] or x::y[/n]; host bits are masked with a warning. A reject rule "
     "answers TCP with a RST and other packets with ICMP administratively prohibited, then drops "
     "them (at most --reject-rate answers per second per CPU). An allow rule inside a block is "
     "an exception; a monitor rule counts without dropping. With --proto the claim applies only to "
     "packets of that protocol (and ports); the others fall through to the prefix's claims without "
     "a scope, else to the rule covering it. With --expire or --until the claim is withdrawn at that "
     "time (the rule stays while another source claims the prefix). With --collateral it reports the provider space the "
     "change newly blocks and refuses more than --max-collateral of it, as sync does.",
     Operand::prefix, true, make_add},
    {"del", "PREFIX... [--source NAME]", "remove rules (or only one source's claims on them)", "",
     Operand::prefix, true, make_del},
    {"list", "[--source NAME] [--json]", "the rules in force, with their sources and comments", "",
     Operand::none, true, make_list},
    {"lookup", "ADDRESS [--proto P [--port N] [--sport N]] [--json]",
     "which rule the data plane applies to an address",
     "The answer comes from the table in force, walked in userspace the way the XDP program walks it. "
     "With --proto it judges a packet of that protocol and ports, so rules scoped to L4 apply as they "
     "do to packets; without, the longest rule answers whatever its scope.",
     Operand::address, true, make_lookup},
    {"expire", "", "withdraw the claims whose --expire or --until time is over",
     "Every command that changes something, and the daemon within a second, does this as it starts; "
     "this command does only that, for a systemd timer on hosts without the daemon "
     "(examples/prefixwall-expire.timer).",
     Operand::none, true, make_expire},
    {"collateral", "PREFIX | --source NAME --collateral [NAME=]FILE... | --config FILE [--json]",
     "the cloud and CDN space the rules in force block, by provider and region",
     "Counts the addresses (IPv6: /64s) blocked inside a prefix, or inside a source's block claims, that "
     "fall in the providers' published ranges (AWS ip-ranges.json, Google Cloud cloud.json, Azure Service "
     "Tags, Fastly public-ip-list, plain lists as NAME=FILE), and names the block rules that cover most.",
     Operand::prefix, true, make_collateral},
    {"history", "[--source NAME] [--json]", "the versions of the rules: when, what, which sources, counts, impact",
     "Every commit that changes a claim is a version; the rule store keeps the last --history-versions (100).",
     Operand::none, true, make_history},
    {"diff", "V1 [V2] [--json]", "the prefixes whose claims differ between two versions (V2: the last)",
     "", Operand::none, true, make_diff},
    {"rollback", "[--to V] [--source NAME] [--dry-run] [guards]",
     "restore the rules of an earlier version, as a new version",
     "Reads only the changes made since version V (default: the one before the last; with --source alone, "
     "the one before that source's last change) and sets those claims back in one commit, through the "
     "guards of a sync and the same atomic swap. With --source only that source's claims go back. A synced "
     "source's next sync reads its registry whole again (and applies it: pause the source to keep the "
     "rollback).",
     Operand::none, true, make_rollback},
    {"stats", "[--top N] [--sort packets|bytes|pps|bps] [--interval S] [--source NAME] [--json]",
     "packets and bytes per rule, per source and per outcome", "", Operand::none, true, make_stats},
    {"top", "[--interval S] [--sort pps|bps|packets|bytes]",
     "a live view of the busiest prefixes (keys: p b t y, q quits)", "", Operand::none, true, make_top},
    {"metrics", "[--output FILE] [--metrics-top-k K]", "the Prometheus text exposition, once", "",
     Operand::none, true, make_metrics},
    {"capture", "[--rule PREFIX | --source NAME] [--outcome O[,O]] [--interface IFACE] [--count N] "
                "[--duration S] [--snaplen N] [--sample 1/N] -w FILE|-",
     "write the packets the data plane judges as pcapng, each tagged with its rule and outcome",
     "The data plane copies packets into a ring buffer only while a capture runs (up to 8 at once). "
     "A full ring loses packets, and the capture says how many. Each packet's comment names the rule, "
     "its sources and the outcome (tshark -V, Wireshark). Ctrl-C stops.",
     Operand::none, true, make_capture},
    {"sync", "--source NAME --from LOCATION... [--format F] [--action A] [--proto P [--port N,...]] [--expire D] | "
             "--config FILE [--source NAME] [--dry-run] [--json] [guards]",
     "make a source's rules equal a registry, as one version",
     "A failed fetch, a parse error under --strict or a refusal by a guard changes nothing: the "
     "last good version stays in force.",
     Operand::none, true, make_sync},
    {"serve", "[--config FILE] [--listen ADDR:PORT] [--attach IFACE]... [--source SPEC]... [guards]",
     "the daemon: follow registries, serve /metrics and /healthz",
     "SIGHUP reloads the configuration (a bad one is refused and the old one kept); SIGTERM stops "
     "the daemon and leaves the data plane filtering.",
     Operand::none, true, make_serve},
    {"feed", "--source NAME [--community C=ACTION]... [--hold-after-down S] [--max-prefixes N] [guards]",
     "follow a BGP feed: run by ExaBGP as its API process, JSON on stdin",
     "The initial table is one version at end-of-RIB (with the guards and the removal check of a sync); "
     "then updates are committed as they come. A lost session keeps the claims for the hold time. "
     "The log goes to stderr: stdout is ExaBGP's command channel. See examples/exabgp.conf.",
     Operand::none, true, make_feed},
    {"export", "--source NAME [--format bird] [--from LOCATION...] [--community C] [--output FILE] [guards]",
     "a source's block entries as BIRD 2 static routes, for a route server to announce",
     "Without --from, the source's claims in force; with it, the registry read and guarded as sync "
     "would, with no data plane needed.",
     Operand::none, true, make_export},
    {"help", "[COMMAND]", "this summary, or one command's help", "", Operand::command, false, make_help},
    {"version", "", "the version", "", Operand::none, false, make_version},
}};

} // namespace

std::span<const CommandSpec> command_table() { return kCommands; }

const CommandSpec* find_command(std::string_view name)
{
    for (const auto& c : kCommands)
        if (name == c.name)
            return &c;
    return nullptr;
}

po::options_description global_options(Global* g)
{
    static Global scratch;
    if (!g)
        g = &scratch;
    po::options_description o;
    o.add_options()
        ("pin-dir", po::value<std::string>()->value_name("DIR")->notifier(
             [g](const std::string& v) { g->paths.pin_dir = v; }),
         "pinned maps and links (/sys/fs/bpf/prefixwall, or $PREFIXWALL_PIN_DIR)")
        ("state-dir", po::value<std::string>()->value_name("DIR")->notifier(
             [g](const std::string& v) { g->paths.state_dir = v; }),
         "the rule store and attachments (/var/lib/prefixwall, or $PREFIXWALL_STATE_DIR)")
        ("store-mb", po::value(&g->paths.store_mb)->value_name("N"),
         "MiB the rule store may grow to (4096; address space, not disk: 1M rules take about 110)")
        ("history-versions", po::value(&g->paths.history_versions)->value_name("N"),
         "versions of the rules kept for history, diff and rollback (100; 0 keeps none)")
        ("max-rules-v4", po::value(&g->capacity.max_rules_v4)->value_name("N"),
         "capacity of the IPv4 rules when the maps are created (2000000)")
        ("max-rules-v6", po::value(&g->capacity.max_rules_v6)->value_name("N"),
         "capacity of the IPv6 rules when the maps are created (1000000)")
        ("counter-slots", po::value(&g->capacity.counter_slots)->value_name("N"),
         "per-rule counter cells when created (131072, a power of 2)")
        ("table-mb-v4", po::value(&g->capacity.table_mb_v4)->value_name("N"),
         "MiB of each copy of the compiled IPv4 table when created (16: a 1M-prefix BGP table takes 7.3)")
        ("table-mb-v6", po::value(&g->capacity.table_mb_v6)->value_name("N"),
         "the same for IPv6 (16: the RKN IPv6 list takes 7.1)")
        ("verbose,v", po::bool_switch(&g->verbose), "libbpf's debug messages")
        ("help,h", "this summary");
    return o;
}

po::options_description command_options(const CommandSpec& spec, Command& cmd)
{
    po::options_description o(std::string(spec.name) + " options");
    cmd.options(o);
    o.add_options()("help,h", "this command's help");
    return o;
}

void need_args(const std::vector<std::string>& pos, size_t min, size_t max, const std::string& cmd,
               const std::string& what)
{
    if (pos.size() < min)
        throw UsageError(cmd + ": missing " + what);
    if (pos.size() > max)
        throw UsageError(cmd + ": unexpected argument '" + pos[max] + "'");
}

unsigned __int128 decimal_arg(const std::string& text, const std::string& what, size_t digits)
{
    if (text.empty() || text.size() > digits || text.find_first_not_of("0123456789") != std::string::npos)
        throw UsageError(what + " takes a number, not '" + text + "'");
    unsigned __int128 v = 0;
    for (char ch : text)
        v = v * 10 + static_cast<unsigned>(ch - '0');
    return v;
}

} // namespace pw
