#include "app/commands/commands.hpp"
#include "app/commands/guard_flags.hpp"

#include "app/config.hpp"
#include "registry/collateral_guard.hpp"
#include "report/history_render.hpp"
#include "session/controller.hpp"
#include "session/reader.hpp"

#include <algorithm>
#include <optional>
#include <ostream>

namespace pw {
namespace po = boost::program_options;

namespace {

uint64_t version_arg(const std::string& text, const char* what)
{
    return static_cast<uint64_t>(decimal_arg(text, std::string(what) + ": a version"));
}

// The versions after `from` must all be kept for the state at `from` to
// be known.
void check_kept(const RuleDb::Read& r, uint64_t from, const char* what)
{
    auto versions = r.versions();
    const uint64_t oldest = versions.empty() ? r.latest_version() + 1 : versions.front().version;
    if (from + 1 < oldest)
        throw Error(std::string(what) + ": version " + std::to_string(from) +
                    " is no longer in the history (the oldest kept is " + std::to_string(oldest) +
                    "; --history-versions keeps more)");
    if (from > r.latest_version())
        throw Error(std::string(what) + ": no version " + std::to_string(from) + " yet (the last is " +
                    std::to_string(r.latest_version()) + ")");
}

class History : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("source", po::value(&source_)->default_value("")->value_name("NAME"), "only versions that changed this source")
            ("json,j", po::bool_switch(&json_), "machine output");
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "history", "");
        Reader reader(ctx.global.paths, ctx.global.capacity);
        auto versions = reader.view().versions();
        if (!source_.empty())
            std::erase_if(versions, [&](const VersionRecord& v) { return !v.sources.contains(source_); });
        print_history(ctx.out, versions, json_);
        return 0;
    }

private:
    std::string source_;
    bool json_ = false;
};

class Diff : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()("json,j", po::bool_switch(&json_), "machine output");
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 1, 2, "diff", "version");
        Reader reader(ctx.global.paths, ctx.global.capacity);
        auto r = reader.view();
        uint64_t from = version_arg(pos[0], "diff");
        uint64_t to = pos.size() > 1 ? version_arg(pos[1], "diff") : r.latest_version();
        if (to > r.latest_version())
            throw Error("diff: no version " + std::to_string(to) + " yet (the last is " +
                        std::to_string(r.latest_version()) + ")");
        if (from > to) // (the older first, whichever order they came in)
            std::swap(from, to);
        check_kept(r, from, "diff");
        print_diff(ctx.out, from, to, diff_versions(r.deltas_after(from, to)), json_);
        return 0;
    }

private:
    bool json_ = false;
};

class Rollback : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("to", po::value(&to_)->value_name("V"), "restore the rules of version V (default: the one before the last)")
            ("source", po::value(&source_)->default_value("")->value_name("NAME"),
             "only this source's claims (without --to: as before its last change)")
            ("dry-run", po::bool_switch(&dry_run_), "say what would change, change nothing");
        guards_.declare_guards(o);
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "rollback", "");
        GuardOptions g;
        FetchOptions unused;
        guards_.apply(g, unused);
        const std::optional<uint64_t> want = to_.empty() ? std::nullopt : std::optional(version_arg(to_, "rollback"));
        Controller c(ctx.global.paths, ctx.global.capacity, false);
        if (!c.dataplane())
            throw Error(nothing_pinned(ctx.global.paths));
        auto r = c.view();
        const uint64_t latest = r.latest_version();
        uint64_t to = 0;
        if (want) {
            to = *want;
        } else if (!source_.empty()) {
            // The version before the source's last change.
            auto versions = r.versions();
            auto it = std::find_if(versions.rbegin(), versions.rend(),
                                   [&](const VersionRecord& v) { return v.sources.contains(source_); });
            if (it == versions.rend())
                throw Error("rollback: no version in the history changed source '" + source_ + "'");
            to = it->version - 1;
        } else {
            if (latest == 0)
                throw Error("rollback: no version in the history");
            to = latest - 1;
        }
        check_kept(r, to, "rollback");
        std::vector<ClaimDelta> targets = state_at(r.deltas_after(to, latest), source_);
        const std::string what = "rollback to " + std::to_string(to) + (source_.empty() ? "" : " of " + source_);
        if (targets.empty()) {
            ctx.out << what << ": the rules are already those of version " << to << "\n";
            return 0;
        }
        // The guards of a sync: what the restored version blocks is
        // checked as a registry's entries are, and its collateral.
        Guards guards(g);
        ChangeSet changes;
        std::set<std::string> sources;
        for (ClaimDelta& t : targets) {
            if (t.after && stops_traffic(t.after->action) && !g.force)
                if (auto refusal = guards.check_block(t.prefix))
                    throw Error("rollback: " + t.prefix.to_string() + " (" + t.source + "): refused by guard " +
                                refusal->guard + ": " + refusal->detail + "; --force to apply; nothing changed");
            sources.insert(t.source);
            changes.push_back({t.prefix, t.source, std::move(t.after)});
        }
        CollateralResult coll;
        c.note_next_commit(what);
        CommitReport rep;
        try {
            rep = c.commit(changes, collateral_check(g, changes, &coll), dry_run_);
        } catch (const CollateralRefused& e) {
            throw Error("rollback: " + std::string(e.what()) + "; nothing changed");
        }
        if (!coll.forced.empty())
            ctx.err << "warning: collateral guard overridden by --force: " << coll.forced << "\n";
        if (!dry_run_)
            for (const auto& s : sources)
                c.store().forget_source_meta(s); // its next sync reads the registry whole
        ctx.out << what << (dry_run_ ? " (dry run, nothing changed)" : "") << ": " << changes.size() << " claim"
                << (changes.size() == 1 ? "" : "s") << " set back; rules +" << rep.inserted << " -" << rep.erased
                << " ~" << rep.updated;
        if (rep.version)
            ctx.out << "; now version " << rep.version;
        ctx.out << "\n";
        if (coll.counted)
            print_collateral(ctx.out, coll.collateral, "  ", "provider space newly blocked");
        return 0;
    }

private:
    std::string to_, source_;
    bool dry_run_ = false;
    GuardFlags guards_;
};

} // namespace

std::unique_ptr<Command> make_history() { return std::make_unique<History>(); }
std::unique_ptr<Command> make_diff() { return std::make_unique<Diff>(); }
std::unique_ptr<Command> make_rollback() { return std::make_unique<Rollback>(); }

} // namespace pw
