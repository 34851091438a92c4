#include "app/commands/commands.hpp"

#include "app/config.hpp"
#include "app/daemon.hpp"
#include "app/commands/guard_flags.hpp"
#include "app/commands/scope_flags.hpp"
#include "base/deadline.hpp"
#include "registry/sync_report.hpp"
#include "registry/sync_runner.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <ostream>
#include <unistd.h>

namespace pw {
namespace po = boost::program_options;

namespace {

class Sync : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("source", po::value(&source_)->value_name("NAME"), "the source to sync (with --config: only this one)")
            ("from", po::value(&from_)->composing()->value_name("LOCATION"),
             "a file, http(s):// URL or - ; several are parts of one list, in order")
            ("format", po::value(&format_)->value_name("F"),
             "plain, spamhaus, spamhaus-json, zapret, rkn-xml, pfx2as or auto (detect)")
            ("action", po::value(&action_)->value_name("block|reject|allow|monitor"), "the claims' action (block)")
            ("config", po::value(&config_)->value_name("FILE"), "sync every source of a configuration file")
            ("rkn-block-types", po::value(&block_types_)->value_name("ip,domain,..."),
             "which blockTypes of an RKN dump block by address (ip)")
            ("dry-run", po::bool_switch(&dry_run_), "report what would change, change nothing")
            ("json,j", po::bool_switch(&json_), "machine output")
            ("strict", po::bool_switch(&strict_), "any rejected line fails the sync")
            ("expire", po::value(&expire_)->value_name("DURATION"),
             "each claim lapses this long after the last sync that listed it (a feed that must be renewed)");
        scope_.declare(o);
        guards_.declare(o);
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "sync", "");
        Config cfg;
        if (!config_.empty()) {
            if (!from_.empty())
                throw UsageError("sync: --from goes with --source, not --config");
            cfg = load_config(config_);
            if (!source_.empty()) {
                std::erase_if(cfg.sources, [&](const SourceSpec& s) { return s.name != source_; });
                if (cfg.sources.empty())
                    throw Error("sync: no source '" + source_ + "' in " + config_);
            } else if (cfg.sources.empty()) {
                throw Error("sync: no source in " + config_ + " (add a [source NAME] section)");
            }
            if (!scope_.proto.empty() || !scope_.port.empty() || !scope_.sport.empty())
                throw UsageError("sync: --proto, --port and --sport go with --source, not --config "
                                 "(proto=, port=, sport= in a [source])");
            if (!expire_.empty())
                throw UsageError("sync: --expire goes with --source, not --config (expire= in a [source])");
        } else {
            if (source_.empty() || from_.empty())
                throw UsageError("sync: give --source NAME --from LOCATION, or --config FILE");
            check_source_name(source_);
            SourceSpec s;
            s.name = source_;
            s.locations = from_;
            if (!format_.empty() && format_ != "auto")
                s.format = parse_format(format_);
            if (!action_.empty())
                s.action = parse_action(action_);
            if (!block_types_.empty())
                s.rkn_block_types = parse_block_types(block_types_);
            s.scope = scope_.scope();
            if (!expire_.empty())
                s.expire_s = static_cast<unsigned>(parse_duration(expire_));
            cfg.sources.push_back(s);
        }
        SyncOptions so;
        so.guards = cfg.guards;
        so.fetch = cfg.fetch;
        guards_.apply(so.guards, so.fetch);
        so.dry_run = dry_run_;
        so.strict = strict_;
        so.progress = !json_ && ::isatty(2);

        int rc = 0;
        nlohmann::json reports = nlohmann::json::array();
        SyncRun runner{ctx.global.paths, ctx.global.capacity, false, nullptr};
        for (const auto& spec : cfg.sources) {
            SyncOutcome o = run_sync(runner, spec, so);
            if (o.failed())
                rc = 1;
            if (json_)
                reports.push_back(to_json(o));
            else
                print_outcome(ctx.out, ctx.err, o);
        }
        if (json_)
            ctx.out << nlohmann::json{{"syncs", reports}}.dump(2) << "\n";
        return rc;
    }

private:
    std::string source_, format_, action_, config_, block_types_, expire_;
    ScopeFlags scope_;
    std::vector<std::string> from_;
    bool dry_run_ = false, json_ = false, strict_ = false;
    GuardFlags guards_;
};

class Serve : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("config", po::value(&config_)->value_name("FILE"), "the configuration file (SIGHUP reloads it)")
            ("listen", po::value(&listen_)->value_name("ADDR:PORT"), "where /metrics and /healthz answer (127.0.0.1:9797)")
            ("attach", po::value(&attach_)->composing()->value_name("IFACE"), "attach to this interface at start (repeatable)")
            ("mode", po::value(&mode_)->value_name("native|generic"), "XDP mode of --attach")
            ("match", po::value(&match_)->value_name("src|dst|both"), "addresses judged by --attach")
            ("engine", po::value(&engine_)->value_name("compiled|trie"), "lookup engine of --attach")
            ("source", po::value(&sources_)->composing()->value_name("NAME=LOCATION[,format=F][,action=A][,interval=S]"),
             "a registry to follow (repeatable)")
            ("interval", po::value(&interval_)->value_name("S"), "default refresh interval of every source")
            ("metrics-top-k", po::value(&top_k_)->value_name("K"), "prefixes with their own series in /metrics")
            ("detach-on-exit", po::bool_switch(&detach_on_exit_), "detach --attach interfaces on SIGTERM")
            ("dry-run", po::bool_switch(&dry_run_), "report what syncs would change, change nothing");
        guards_.declare(o);
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "serve", "");
        // Check every flag now: a bad one is a usage error before anything starts.
        std::vector<SourceSpec> flag_sources;
        flag_sources.reserve(sources_.size());
        for (const auto& s : sources_)
            flag_sources.push_back(parse_source_flag(s));
        std::optional<XdpMode> m = mode_.empty() ? std::nullopt : std::optional(parse_mode(mode_));
        std::optional<Match> mt = match_.empty() ? std::nullopt : std::optional(parse_match(match_));
        std::optional<Engine> en = engine_.empty() ? std::nullopt : std::optional(parse_engine(engine_));
        {
            GuardOptions probe;
            FetchOptions fprobe;
            guards_.apply(probe, fprobe);
        }
        DaemonOptions d;
        d.paths = ctx.global.paths;
        d.capacity = ctx.global.capacity;
        if (!config_.empty())
            d.config_file = config_;
        d.sync.dry_run = dry_run_;
        d.overrides = [=, *this](Config& c) {
            if (!listen_.empty()) c.daemon.listen = listen_;
            for (const auto& a : attach_)
                if (std::find(c.daemon.attach.begin(), c.daemon.attach.end(), a) == c.daemon.attach.end())
                    c.daemon.attach.push_back(a);
            if (m) c.daemon.mode = *m;
            if (mt) c.daemon.match = *mt;
            if (en) c.daemon.engine = *en;
            if (interval_ > 0) c.daemon.interval_s = interval_;
            if (top_k_ > 0) c.daemon.metrics_top_k = top_k_;
            c.daemon.detach_on_exit |= detach_on_exit_;
            for (const auto& s : flag_sources) {
                std::erase_if(c.sources, [&](const SourceSpec& x) { return x.name == s.name; });
                c.sources.push_back(s);
            }
            guards_.apply(c.guards, c.fetch);
        };
        return run_daemon(d);
    }

private:
    std::string config_, listen_, mode_, match_, engine_;
    std::vector<std::string> attach_, sources_;
    unsigned interval_ = 0;
    size_t top_k_ = 0;
    bool detach_on_exit_ = false, dry_run_ = false;
    GuardFlags guards_;
};

} // namespace

std::unique_ptr<Command> make_sync() { return std::make_unique<Sync>(); }
std::unique_ptr<Command> make_serve() { return std::make_unique<Serve>(); }

} // namespace pw
