#include "app/commands/commands.hpp"

#include "app/commands/guard_flags.hpp"
#include "app/config.hpp"
#include "base/atomic_file.hpp"
#include "feed/bird_export.hpp"
#include "feed/feed_runner.hpp"
#include "store/rule_db.hpp"

#include <sstream>

namespace pw {
namespace po = boost::program_options;

namespace {

std::set<Family> parse_families(const std::string& text)
{
    std::set<Family> out;
    std::stringstream ss(text);
    for (std::string f; std::getline(ss, f, ',');) {
        if (f == "ipv4")
            out.insert(Family::v4);
        else if (f == "ipv6")
            out.insert(Family::v6);
        else
            throw UsageError("--families: '" + f + "' is not ipv4 or ipv6");
    }
    if (out.empty())
        throw UsageError("--families: none given");
    return out;
}

class Feed : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("source", po::value(&source_)->value_name("NAME"), "the source the feed's routes are claims of")
            ("community", po::value(&communities_)->composing()->value_name("C=ACTION"),
             "routes carrying community C (a:b or large a:b:c) take ACTION (block, monitor, allow); "
             "the first that matches wins; repeatable (default: 65535:666=block)")
            ("every-route", po::value(&every_)->value_name("ACTION"), "every route takes ACTION, whatever its communities")
            ("families", po::value(&families_)->default_value("ipv4,ipv6")->value_name("LIST"),
             "the families the session carries: the initial table waits for end-of-RIB of each")
            ("eor-timeout", po::value(&eor_timeout_)->default_value(60)->value_name("S"),
             "commit the initial table as received when end-of-RIB is this late")
            ("hold-after-down", po::value(&hold_)->default_value(900)->value_name("S"),
             "keep the claims this long after the session is lost, then withdraw them (0: until a new session)")
            ("max-prefixes", po::value(&max_prefixes_)->default_value(1000000)->value_name("N"),
             "refuse a session announcing more routes, and keep the last good table")
            ("coalesce-ms", po::value(&coalesce_ms_)->default_value(0)->value_name("MS"),
             "wait this long after an update for more before committing (0: what arrived while the "
             "last version was committed is the next version)");
        guards_.declare_guards(o);
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "feed", "");
        if (source_.empty())
            throw UsageError("feed: --source NAME is required");
        check_source_name(source_);
        FeedRun r;
        r.paths = ctx.global.paths;
        r.capacity = ctx.global.capacity;
        FeedOptions& f = r.feed;
        f.source = source_;
        for (const auto& c : communities_)
            f.policy.add_rule(c);
        if (!every_.empty())
            f.policy.every_route(parse_action(every_));
        f.families = parse_families(families_);
        if (eor_timeout_ <= 0 || hold_ < 0 || coalesce_ms_ < 0 || max_prefixes_ == 0)
            throw UsageError("feed: --eor-timeout and --max-prefixes are positive, --hold-after-down and --coalesce-ms not negative");
        f.eor_timeout_s = eor_timeout_;
        f.hold_after_down_s = hold_;
        f.max_prefixes = max_prefixes_;
        f.coalesce_s = coalesce_ms_ / 1000.0;
        FetchOptions unused;
        guards_.apply(f.sync.guards, unused);
        return run_feed(r);
    }

private:
    std::string source_, every_, families_;
    std::vector<std::string> communities_;
    double eor_timeout_ = 60, coalesce_ms_ = 0;
    int64_t hold_ = 900;
    size_t max_prefixes_ = 1000000;
    GuardFlags guards_;
};

class Export : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("source", po::value(&source_)->value_name("NAME"), "the source to export")
            ("format", po::value(&format_)->default_value("bird")->value_name("bird"), "what to write: BIRD 2 static routes")
            ("from", po::value(&from_)->composing()->value_name("LOCATION"),
             "read the registry here (file, http(s):// URL, -) instead of the source's claims in force")
            ("registry-format", po::value(&registry_format_)->value_name("F"), "the format of --from (auto)")
            ("community", po::value(&community_)->default_value("65535:666")->value_name("C"),
             "the community every route carries (a:b or large a:b:c)")
            ("output,o", po::value(&output_)->value_name("FILE"), "write FILE (replaced atomically) instead of stdout");
        guards_.declare(o);
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "export", "");
        if (source_.empty())
            throw UsageError("export: --source NAME is required");
        check_source_name(source_);
        if (format_ != "bird")
            throw UsageError("export: --format '" + format_ + "': only bird is written");
        BirdExportOptions bo{source_, Community::parse(community_)};
        SortedEntries entries;
        if (!from_.empty()) {
            // The registry read, parsed and guarded as `sync` would, with
            // no data plane: a route server needs none.
            SourceSpec spec;
            spec.name = source_;
            spec.locations = from_;
            if (!registry_format_.empty() && registry_format_ != "auto")
                spec.format = parse_format(registry_format_);
            SyncOptions so;
            guards_.apply(so.guards, so.fetch);
            FetchedSource fs = fetch_source(spec, so, SourceMeta{});
            for (const auto& [guard, count] : fs.report.refused_by_guard)
                ctx.err << "export: " << count << " entries refused by guard " << guard << "\n";
            entries = std::move(fs.accepted);
        } else {
            if (!RuleDb::exists(ctx.global.paths.state_dir))
                throw Error("export: no rule store in " + ctx.global.paths.state_dir.string() +
                            " (give --from LOCATION to export a registry)");
            auto db = RuleDb::shared(ctx.global.paths.state_dir, ctx.global.paths.store_mb);
            // A claim scoped to L4 blocks some of its prefix's traffic; a
            // blackhole route would take all of it: not exported.
            size_t scoped = 0;
            db->read().for_each_claim(source_, [&](const Prefix& p, const Claim& c) {
                if (c.scope.scoped())
                    scoped++;
                else
                    entries.push_back({p, c.comment, c.action});
                return true;
            });
            if (scoped)
                ctx.err << "export: " << scoped << " claims scoped to L4 (protocol, ports) not exported: "
                        << "a blackhole route would drop all of their prefixes' traffic\n";
        }
        if (output_.empty()) {
            write_bird_static(ctx.out, entries, bo);
            return 0;
        }
        std::ostringstream text;
        auto n = write_bird_static(text, entries, bo);
        write_file_atomic(output_, text.str(), 0644);
        ctx.err << "export: wrote " << n.v4 << " IPv4 and " << n.v6 << " IPv6 routes to " << output_ << "\n";
        return 0;
    }

private:
    std::string source_, format_, registry_format_, community_, output_;
    std::vector<std::string> from_;
    GuardFlags guards_;
};

} // namespace

std::unique_ptr<Command> make_feed() { return std::make_unique<Feed>(); }
std::unique_ptr<Command> make_export() { return std::make_unique<Export>(); }

} // namespace pw
