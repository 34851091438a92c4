#include "app/cli.hpp"

#include "base/atomic_file.hpp"
#include "app/config.hpp"
#include "session/controller.hpp"
#include "app/daemon.hpp"
#include "report/top.hpp"
#include "report/load.hpp"
#include "report/metrics.hpp"
#include "registry/sync.hpp"
#include "base/error.hpp"
#include "report/render.hpp"

#include <boost/program_options.hpp>
#include <bpf/libbpf.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <unistd.h>

namespace pw {
namespace po = boost::program_options;
using nlohmann::json;

namespace {

constexpr const char* kVersion = PREFIXWALL_VERSION;

constexpr const char* kUsage = R"(usage: prefixwall [global options] COMMAND [args]

commands:
  attach IFACE [--mode native|generic] [--match src|dst|both] [--dry-run]
               [--malformed pass|drop] [--engine compiled|trie]
  detach IFACE | --all [--purge]
  status [--json]
  add PREFIX... [--action block|allow|monitor] [--source NAME] [--comment TEXT]
  del PREFIX... [--source NAME]
  list [--source NAME] [--json]
  lookup ADDRESS [--json]
  stats [--top N] [--sort packets|bytes|pps|bps] [--interval S] [--source NAME] [--json]
  top [--interval S] [--sort packets|bytes|pps|bps]
  metrics [--output FILE] [--metrics-top-k K]
  serve [--config FILE] [--listen ADDR:PORT] [--attach IFACE]... [--mode M] [--match M] [--engine E]
        [--source NAME=LOCATION[,format=F][,action=A][,interval=S]]... [--interval S]
        [--metrics-top-k K] [--detach-on-exit] [--dry-run] plus the guards of sync
  sync --source NAME --from LOCATION... [--format F] [--action A] [--dry-run] [--json]
  sync --config FILE [--source NAME] [--dry-run] [--json]
       guards: [--max-removal R] [--force] [--min-prefix-len-v4 N] [--min-prefix-len-v6 N]
               [--protect PREFIX]... [--allow-private]
       other:  [--strict] [--rkn-block-types ip,domain,...] [--max-bytes N]
               [--max-entries N] [--timeout S] [--connect-timeout S]
               [--ca-file FILE] [--insecure-tls (logged at every sync)]
  version

global options:
  --pin-dir DIR        pinned maps and links (default /sys/fs/bpf/prefixwall,
                       or $PREFIXWALL_PIN_DIR)
  --state-dir DIR      rule metadata (default /var/lib/prefixwall,
                       or $PREFIXWALL_STATE_DIR)
  --max-rules-v4 N     capacity of the IPv4 map when it is created (2000000)
  --max-rules-v6 N     capacity of the IPv6 map when it is created (1000000)
  --counter-slots N    per-rule counter cells when created (131072, power of 2)
  --table-mb-v4 N      room of each copy of the compiled IPv4 table, MiB, when
                       created (16: a 1M-prefix BGP table takes 7.3)
  --table-mb-v6 N      the same for IPv6 (16: the RKN IPv6 list takes 7.1)
  -v, --verbose        libbpf's debug messages
)";

class UsageError : public Error {
    using Error::Error;
};

struct Global {
    Paths paths;
    Capacity capacity;
    bool verbose = false;
};

// Takes the positional arguments out before Boost.Program_options sees
// the rest: its positional handling slows down badly with tens of
// thousands of arguments (`add` with a whole list of prefixes). An option
// known to `opts` that takes a value keeps the token after it; `--` ends
// the options.
std::vector<std::string> split_positionals(const std::vector<std::string>& args,
                                           const po::options_description& opts,
                                           std::vector<std::string>& pos)
{
    std::vector<std::string> options;
    for (size_t i = 0; i < args.size(); i++) {
        const std::string& a = args[i];
        if (a == "--") {
            pos.insert(pos.end(), args.begin() + static_cast<long>(i) + 1, args.end());
            break;
        }
        if (a.size() < 2 || a[0] != '-') {
            pos.push_back(a);
            continue;
        }
        options.push_back(a);
        if (a.find('=') != std::string::npos)
            continue;
        std::string name = a.substr(a[1] == '-' ? 2 : 1);
        const po::option_description* d =
            opts.find_nothrow(name, false);
        if (d && d->semantic()->max_tokens() > 0 && i + 1 < args.size())
            options.push_back(args[++i]);
    }
    return options;
}

// Parses the options of one command; positional arguments land in `pos`.
po::variables_map parse(const std::vector<std::string>& args,
                        const po::options_description& opts,
                        std::vector<std::string>& pos, const std::string& cmd)
{
    po::variables_map vm;
    try {
        auto options = split_positionals(args, opts, pos);
        po::store(po::command_line_parser(options).options(opts).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(cmd + ": " + e.what());
    }
    return vm;
}

void need_args(const std::vector<std::string>& pos, size_t min, size_t max,
               const std::string& cmd, const std::string& what)
{
    if (pos.size() < min)
        throw UsageError(cmd + ": missing " + what);
    if (pos.size() > max)
        throw UsageError(cmd + ": unexpected argument '" + pos[max] + "'");
}

std::vector<Prefix> parse_prefixes(const std::vector<std::string>& texts, std::ostream& err)
{
    std::vector<Prefix> out;
    for (const auto& t : texts) {
        bool masked = false;
        Prefix p = Prefix::parse(t, &masked);
        if (masked)
            err << "warning: " << t << " has host bits set; using " << p.to_string() << "\n";
        out.push_back(p);
    }
    return out;
}

int cmd_attach(const Global& g, const std::vector<std::string>& args, std::ostream& out)
{
    std::string mode, match, malformed, engine;
    bool dry_run = false;
    po::options_description o;
    o.add_options()("mode", po::value(&mode)->default_value("native"))(
        "match", po::value(&match)->default_value("both"))(
        "engine", po::value(&engine)->default_value("compiled"))(
        "malformed", po::value(&malformed)->default_value("pass"))(
        "dry-run", po::bool_switch(&dry_run));
    std::vector<std::string> pos;
    parse(args, o, pos, "attach");
    need_args(pos, 1, 1, "attach", "interface name");
    Attachment a;
    a.ifname = pos[0];
    a.mode = parse_mode(mode);
    a.match = parse_match(match);
    a.dry_run = dry_run;
    if (malformed != "pass" && malformed != "drop")
        throw UsageError("attach: bad --malformed '" + malformed + "': expected pass or drop");
    a.malformed_drop = malformed == "drop";
    a.engine = parse_engine(engine);
    Controller c(g.paths, g.capacity, true);
    c.attach(a);
    out << "attached " << a.ifname << " (" << mode_name(a.mode) << ", match "
        << match_name(a.match) << ", engine " << engine_name(a.engine) << (a.dry_run ? ", dry-run" : "")
        << (a.malformed_drop ? ", malformed drop" : "") << ")\n";
    return 0;
}

int cmd_detach(const Global& g, const std::vector<std::string>& args, std::ostream& out)
{
    bool all = false, purge = false;
    po::options_description o;
    o.add_options()("all", po::bool_switch(&all))("purge", po::bool_switch(&purge));
    std::vector<std::string> pos;
    parse(args, o, pos, "detach");
    if (all == !pos.empty() || pos.size() > 1)
        throw UsageError("detach: give one interface or --all");
    Controller c(g.paths, g.capacity, false);
    if (all) {
        c.detach_all(purge);
        out << "detached all interfaces" << (purge ? "; rules, counters and state removed" : "")
            << "\n";
        return 0;
    }
    if (purge)
        throw UsageError("detach: --purge goes with --all (rules are shared by all interfaces)");
    c.detach(pos[0]);
    out << "detached " << pos[0] << "\n";
    return 0;
}

int cmd_add(const Global& g, const std::vector<std::string>& args, std::ostream& out,
            std::ostream& err)
{
    std::string action, source, comment;
    po::options_description o;
    o.add_options()("action", po::value(&action)->default_value("block"))(
        "source", po::value(&source)->default_value("cli"))(
        "comment", po::value(&comment)->default_value(""));
    std::vector<std::string> pos;
    parse(args, o, pos, "add");
    need_args(pos, 1, SIZE_MAX, "add", "prefix");
    Action a = parse_action(action);
    if (source.empty())
        throw UsageError("add: --source must not be empty");
    check_source_name(source);
    auto prefixes = parse_prefixes(pos, err);
    Controller c(g.paths, g.capacity, true);
    RuleSet next = c.rules();
    for (const auto& p : prefixes)
        next.add(p, source, Claim{a, comment});
    auto r = c.commit(next);
    c.store().forget_source_meta(source); // its claims no longer match the registry
    out << "added " << prefixes.size() << " prefix" << (prefixes.size() == 1 ? "" : "es")
        << " (" << r.inserted << " new, " << r.updated << " changed)\n";
    return 0;
}

int cmd_del(const Global& g, const std::vector<std::string>& args, std::ostream& out,
            std::ostream& err)
{
    std::string source;
    po::options_description o;
    o.add_options()("source", po::value(&source)->default_value(""));
    std::vector<std::string> pos;
    parse(args, o, pos, "del");
    need_args(pos, 1, SIZE_MAX, "del", "prefix");
    auto prefixes = parse_prefixes(pos, err);
    Controller c(g.paths, g.capacity, false);
    RuleSet next = c.rules();
    std::set<std::string> touched;
    for (const auto& p : prefixes) {
        const Rule* r = next.find(p);
        if (!r)
            throw Error("del: no rule for " + p.to_string() + "; nothing changed");
        if (!source.empty() && !r->claims.contains(source))
            throw Error("del: " + p.to_string() + " is not listed by source '" + source +
                        "'; nothing changed");
        for (const auto& name : r->sources())
            if (source.empty() || name == source)
                touched.insert(name);
        next.remove(p, source);
    }
    auto r = c.commit(next);
    for (const auto& name : touched)
        c.store().forget_source_meta(name); // its claims no longer match the registry
    out << "deleted " << prefixes.size() << (source.empty() ? "" : " claim")
        << (prefixes.size() == 1 ? "" : "s") << " (" << r.erased << " rules removed, "
        << r.updated << " changed)\n";
    return 0;
}

int cmd_list(const Global& g, const std::vector<std::string>& args, std::ostream& out)
{
    std::string source;
    bool as_json = false;
    po::options_description o;
    o.add_options()("source", po::value(&source)->default_value(""))(
        "json,j", po::bool_switch(&as_json));
    std::vector<std::string> pos;
    parse(args, o, pos, "list");
    need_args(pos, 0, 0, "list", "");
    Controller c(g.paths, g.capacity, false);
    print_rules(out, c.rules(), source, as_json);
    return 0;
}

int cmd_lookup(const Global& g, const std::vector<std::string>& args, std::ostream& out)
{
    bool as_json = false;
    po::options_description o;
    o.add_options()("json,j", po::bool_switch(&as_json));
    std::vector<std::string> pos;
    parse(args, o, pos, "lookup");
    need_args(pos, 1, 1, "lookup", "address");
    Address a = Address::parse(pos[0]);
    Controller c(g.paths, g.capacity, false);
    print_lookup(out, c.lookup(a), as_json);
    return 0;
}

int cmd_status(const Global& g, const std::vector<std::string>& args, std::ostream& out)
{
    bool as_json = false;
    po::options_description o;
    o.add_options()("json,j", po::bool_switch(&as_json));
    std::vector<std::string> pos;
    parse(args, o, pos, "status");
    need_args(pos, 0, 0, "status", "");
    Controller c(g.paths, g.capacity, false);
    print_status(out, c, as_json);
    return 0;
}

// Guard and fetch flags, shared by sync and serve.
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
};

void add_guard_flags(po::options_description& o, GuardFlags& f)
{
    o.add_options()("force", po::bool_switch(&f.force))("allow-private", po::bool_switch(&f.allow_private))(
        "max-removal", po::value(&f.max_removal))("min-prefix-len-v4", po::value(&f.min4))(
        "min-prefix-len-v6", po::value(&f.min6))("protect", po::value(&f.protect)->composing())(
        "timeout", po::value(&f.timeout))("connect-timeout", po::value(&f.connect_timeout))(
        "max-bytes", po::value(&f.max_bytes))("max-entries", po::value(&f.max_entries))(
        "ca-file", po::value(&f.ca_file))("insecure-tls", po::bool_switch(&f.insecure_tls));
}

// Flags win over the configuration file.
void apply_guard_flags(const GuardFlags& f, GuardOptions& g, FetchOptions& fetch)
{
    if (f.max_removal >= 0) {
        if (f.max_removal > 1)
            throw UsageError("--max-removal is a ratio between 0 and 1");
        g.max_removal = f.max_removal;
    }
    if (f.min4 >= 0) g.min_len_v4 = static_cast<unsigned>(f.min4);
    if (f.min6 >= 0) g.min_len_v6 = static_cast<unsigned>(f.min6);
    for (const auto& p : f.protect)
        g.protect.push_back(Prefix::parse(p));
    g.force |= f.force;
    g.allow_private |= f.allow_private;
    if (f.timeout > 0) fetch.timeout_s = f.timeout;
    if (f.connect_timeout > 0) fetch.connect_timeout_s = f.connect_timeout;
    if (f.max_bytes > 0) fetch.max_bytes = f.max_bytes;
    if (f.max_entries > 0) fetch.max_entries = f.max_entries;
    if (!f.ca_file.empty()) fetch.ca_file = f.ca_file;
    fetch.insecure_tls |= f.insecure_tls;
}

int cmd_stats(const Global& g, const std::vector<std::string>& args, std::ostream& out)
{
    bool as_json = false;
    size_t top = 0;
    std::string sort = "packets", source;
    double interval = 0;
    po::options_description o;
    o.add_options()("json,j", po::bool_switch(&as_json))("top", po::value(&top))(
        "sort", po::value(&sort))("interval", po::value(&interval))("source", po::value(&source));
    std::vector<std::string> pos;
    parse(args, o, pos, "stats");
    need_args(pos, 0, 0, "stats", "");
    SortKey key = parse_sort_key(sort);
    if (interval < 0 || interval > 3600)
        throw UsageError("stats: --interval must be between 0 and 3600 seconds");
    if ((key == SortKey::pps || key == SortKey::bps) && interval <= 0)
        throw UsageError("stats: --sort " + sort + " needs --interval");
    LoadSnapshot before, now;
    {
        Controller c(g.paths, g.capacity, false);
        const Dataplane* dp = c.dataplane();
        if (!dp)
            throw Error("no prefixwall maps pinned under " + g.paths.pin_dir.string());
        before = read_load(*dp);
    }
    // The lock is not held while waiting: other commands go on meanwhile.
    if (interval > 0)
        std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    Controller c(g.paths, g.capacity, false);
    now = interval > 0 ? read_load(*c.dataplane()) : before;
    StatsView v;
    v.now = &now;
    v.before = interval > 0 ? &before : nullptr;
    v.rules = rank_rules(c.rules(), now, v.before, key, top, source);
    v.sources = source_loads(c.rules(), now, c.store().load_retired());
    if (!source.empty())
        std::erase_if(v.sources, [&](const SourceLoad& s) { return s.source != source; });
    print_stats(out, v, as_json);
    return 0;
}

int cmd_serve(const Global& g, const std::vector<std::string>& args)
{
    std::string config, listen, mode, match, engine;
    std::vector<std::string> attach, sources;
    unsigned interval = 0;
    size_t top_k = 0;
    bool detach_on_exit = false, dry_run = false;
    GuardFlags gf;
    po::options_description o;
    o.add_options()("config", po::value(&config))("listen", po::value(&listen))(
        "attach", po::value(&attach)->composing())("mode", po::value(&mode))("match", po::value(&match))(
        "engine", po::value(&engine))(
        "source", po::value(&sources)->composing())("interval", po::value(&interval))(
        "metrics-top-k", po::value(&top_k))("detach-on-exit", po::bool_switch(&detach_on_exit))(
        "dry-run", po::bool_switch(&dry_run));
    add_guard_flags(o, gf);
    std::vector<std::string> pos;
    parse(args, o, pos, "serve");
    need_args(pos, 0, 0, "serve", "");
    // Check every flag now: a bad one is a usage error before anything starts.
    std::vector<SourceSpec> flag_sources;
    flag_sources.reserve(sources.size());
    for (const auto& s : sources)
        flag_sources.push_back(parse_source_flag(s));
    std::optional<XdpMode> m = mode.empty() ? std::nullopt : std::optional(parse_mode(mode));
    std::optional<Match> mt = match.empty() ? std::nullopt : std::optional(parse_match(match));
    std::optional<Engine> en = engine.empty() ? std::nullopt : std::optional(parse_engine(engine));
    {
        GuardOptions probe;
        FetchOptions fprobe;
        apply_guard_flags(gf, probe, fprobe);
    }

    DaemonOptions d;
    d.paths = g.paths;
    d.capacity = g.capacity;
    if (!config.empty())
        d.config_file = config;
    d.sync.dry_run = dry_run;
    d.overrides = [=](Config& c) {
        if (!listen.empty()) c.daemon.listen = listen;
        for (const auto& a : attach)
            if (std::find(c.daemon.attach.begin(), c.daemon.attach.end(), a) == c.daemon.attach.end())
                c.daemon.attach.push_back(a);
        if (m) c.daemon.mode = *m;
        if (mt) c.daemon.match = *mt;
        if (en) c.daemon.engine = *en;
        if (interval > 0) c.daemon.interval_s = interval;
        if (top_k > 0) c.daemon.metrics_top_k = top_k;
        c.daemon.detach_on_exit |= detach_on_exit;
        for (const auto& s : flag_sources) {
            std::erase_if(c.sources, [&](const SourceSpec& x) { return x.name == s.name; });
            c.sources.push_back(s);
        }
        apply_guard_flags(gf, c.guards, c.fetch);
    };
    return run_daemon(d);
}

int cmd_top(const Global& g, const std::vector<std::string>& args)
{
    double interval = 1;
    std::string sort = "pps";
    po::options_description o;
    o.add_options()("interval", po::value(&interval))("sort", po::value(&sort));
    std::vector<std::string> pos;
    parse(args, o, pos, "top");
    need_args(pos, 0, 0, "top", "");
    if (interval < 0.1 || interval > 60)
        throw UsageError("top: --interval must be between 0.1 and 60 seconds");
    return run_top(g.paths, g.capacity, interval, parse_sort_key(sort));
}

int cmd_metrics(const Global& g, const std::vector<std::string>& args, std::ostream& out)
{
    std::string output;
    size_t top_k = 50;
    po::options_description o;
    o.add_options()("output", po::value(&output))("metrics-top-k", po::value(&top_k));
    std::vector<std::string> pos;
    parse(args, o, pos, "metrics");
    need_args(pos, 0, 0, "metrics", "");
    Controller c(g.paths, g.capacity, false);
    const Dataplane* dp = c.dataplane();
    if (!dp)
        throw Error("no prefixwall maps pinned under " + g.paths.pin_dir.string());
    LoadSnapshot now = read_load(*dp);
    std::string text = render_metrics(metrics_input(c.rules(), c.store(), dp, now, nullptr, top_k));
    if (output.empty()) {
        out << text;
        return 0;
    }
    write_file_atomic(output, text);
    return 0;
}

int cmd_sync(const Global& g, const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err)
{
    std::string source, format, action, config, block_types;
    std::vector<std::string> from;
    bool dry_run = false, as_json = false, strict = false;
    GuardFlags gf;
    po::options_description o;
    o.add_options()("source", po::value(&source))("from", po::value(&from)->composing())(
        "format", po::value(&format))("action", po::value(&action))("config", po::value(&config))(
        "rkn-block-types", po::value(&block_types))("dry-run", po::bool_switch(&dry_run))(
        "json,j", po::bool_switch(&as_json))("strict", po::bool_switch(&strict));
    add_guard_flags(o, gf);
    std::vector<std::string> pos;
    parse(args, o, pos, "sync");
    need_args(pos, 0, 0, "sync", "");

    Config cfg;
    if (!config.empty()) {
        if (!from.empty())
            throw UsageError("sync: --from goes with --source, not --config");
        cfg = load_config(config);
        if (!source.empty()) {
            std::erase_if(cfg.sources, [&](const SourceSpec& s) { return s.name != source; });
            if (cfg.sources.empty())
                throw Error("sync: no source '" + source + "' in " + config);
        }
    } else {
        if (source.empty() || from.empty())
            throw UsageError("sync: give --source NAME --from LOCATION, or --config FILE");
        check_source_name(source);
        SourceSpec s;
        s.name = source;
        s.locations = from;
        if (!format.empty() && format != "auto")
            s.format = parse_format(format);
        if (!action.empty())
            s.action = parse_action(action);
        if (!block_types.empty())
            s.rkn_block_types = parse_block_types(block_types);
        cfg.sources.push_back(s);
    }
    SyncOptions so;
    so.guards = cfg.guards;
    so.fetch = cfg.fetch;
    apply_guard_flags(gf, so.guards, so.fetch);
    so.dry_run = dry_run;
    so.strict = strict;
    so.progress = !as_json && ::isatty(2);

    Controller c(g.paths, g.capacity, true);
    int rc = 0;
    nlohmann::json reports = nlohmann::json::array();
    for (const auto& spec : cfg.sources) {
        try {
            SyncReport r = sync_source(c, spec, so);
            if (!r.refused.empty()) {
                rc = 1;
                if (!so.dry_run)
                    c.store().record_sync_failure(spec.name);
            }
            if (as_json)
                reports.push_back(to_json(r));
            else
                print_report(out, r);
        } catch (const Error& e) {
            rc = 1;
            if (!so.dry_run)
                c.store().record_sync_failure(spec.name);
            if (as_json)
                reports.push_back({{"source", spec.name}, {"error", e.what()}});
            else
                err << "prefixwall: sync " << spec.name << ": " << e.what()
                    << "; the last good version stays in force\n";
        }
    }
    if (as_json)
        out << nlohmann::json{{"syncs", reports}}.dump(2) << "\n";
    return rc;
}

bool g_verbose = false;

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list ap)
{
    if (level == LIBBPF_DEBUG && !g_verbose)
        return 0;
    // libbpf warns before the error we report anyway; keep those for -v.
    if (level == LIBBPF_WARN && !g_verbose)
        return 0;
    return std::vfprintf(stderr, fmt, ap);
}

} // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err)
{
    Global g;
    if (const char* e = std::getenv("PREFIXWALL_PIN_DIR"))
        g.paths.pin_dir = e;
    if (const char* e = std::getenv("PREFIXWALL_STATE_DIR"))
        g.paths.state_dir = e;
    bool json_errors = std::find(args.begin(), args.end(), "--json") != args.end() ||
                       std::find(args.begin(), args.end(), "-j") != args.end();

    try {
        // Global options come before the command; the rest is the command's.
        std::string pin_dir, state_dir;
        po::options_description global;
        global.add_options()("pin-dir", po::value(&pin_dir))("state-dir", po::value(&state_dir))(
            "max-rules-v4", po::value(&g.capacity.max_rules_v4))(
            "max-rules-v6", po::value(&g.capacity.max_rules_v6))(
            "counter-slots", po::value(&g.capacity.counter_slots))(
            "table-mb-v4", po::value(&g.capacity.table_mb_v4))(
            "table-mb-v6", po::value(&g.capacity.table_mb_v6))(
            "verbose,v", po::bool_switch(&g.verbose))("help,h", "");
        // The first positional is the command. Global options may stand
        // before it or among the command's own (prefixwall add X --pin-dir D):
        // they are taken out wherever they are.
        auto global_name = [&](const std::string& a) -> const po::option_description* {
            if (a.size() < 2 || a[0] != '-' || a == "--")
                return nullptr;
            std::string name = a.substr(a[1] == '-' ? 2 : 1);
            name = name.substr(0, name.find('='));
            return global.find_nothrow(name, false);
        };
        size_t at = 0;
        std::vector<std::string> global_args, rest;
        for (; at < args.size(); at++) {
            const std::string& a = args[at];
            if (a.size() < 2 || a[0] != '-')
                break;
            global_args.push_back(a);
            const po::option_description* d = global_name(a);
            if (a.find('=') == std::string::npos && d && d->semantic()->max_tokens() > 0 &&
                at + 1 < args.size())
                global_args.push_back(args[++at]);
        }
        for (size_t i = at + 1; i < args.size(); i++) {
            const po::option_description* d = global_name(args[i]);
            if (!d || args[i] == "--help" || args[i] == "-h") {
                if (args[i] == "--") { // the rest is the command's, verbatim
                    rest.insert(rest.end(), args.begin() + static_cast<long>(i), args.end());
                    break;
                }
                rest.push_back(args[i]);
                continue;
            }
            global_args.push_back(args[i]);
            if (args[i].find('=') == std::string::npos && d->semantic()->max_tokens() > 0 &&
                i + 1 < args.size())
                global_args.push_back(args[++i]);
        }
        po::variables_map vm;
        try {
            po::store(po::command_line_parser(global_args).options(global).run(), vm);
            po::notify(vm);
        } catch (const po::error& e) {
            throw UsageError(e.what());
        }
        if (at < args.size())
            vm.emplace("command", po::variable_value(args[at], false));
        if (vm.count("help") || !vm.count("command")) {
            (vm.count("help") ? out : err) << kUsage;
            return vm.count("help") ? 0 : 2;
        }
        if (!pin_dir.empty())
            g.paths.pin_dir = pin_dir;
        if (!state_dir.empty())
            g.paths.state_dir = state_dir;
        g_verbose = g.verbose;
        libbpf_set_print(libbpf_print);

        std::string cmd = vm["command"].as<std::string>();

        if (cmd == "version") {
            out << "prefixwall " << kVersion << "\n";
            return 0;
        }
        if (cmd == "help") {
            out << kUsage;
            return 0;
        }
        static const char* known[] = {"attach", "detach", "status", "add", "del",
                                      "list",   "lookup", "stats",  "sync", "metrics", "serve", "top"};
        if (std::find_if(std::begin(known), std::end(known),
                         [&](const char* k) { return cmd == k; }) == std::end(known))
            throw UsageError("unknown command '" + cmd + "' (see 'prefixwall --help')");
        if (::geteuid() != 0)
            throw Error(cmd + ": needs root (CAP_BPF and CAP_NET_ADMIN) to reach the BPF maps");
        check_kernel();

        if (cmd == "attach") return cmd_attach(g, rest, out);
        if (cmd == "detach") return cmd_detach(g, rest, out);
        if (cmd == "status") return cmd_status(g, rest, out);
        if (cmd == "add") return cmd_add(g, rest, out, err);
        if (cmd == "del") return cmd_del(g, rest, out, err);
        if (cmd == "list") return cmd_list(g, rest, out);
        if (cmd == "lookup") return cmd_lookup(g, rest, out);
        if (cmd == "sync") return cmd_sync(g, rest, out, err);
        if (cmd == "metrics") return cmd_metrics(g, rest, out);
        if (cmd == "serve") return cmd_serve(g, rest);
        if (cmd == "top") return cmd_top(g, rest);
        return cmd_stats(g, rest, out);
    } catch (const UsageError& e) {
        if (json_errors)
            err << json{{"error", e.what()}}.dump() << "\n";
        else
            err << "prefixwall: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        if (json_errors)
            err << json{{"error", e.what()}}.dump() << "\n";
        else
            err << "prefixwall: " << e.what() << "\n";
        return 1;
    }
}

} // namespace pw
