#include "app/commands/commands.hpp"
#include "app/commands/guard_flags.hpp"

#include "registry/rollback.hpp"
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
        RollbackOptions o;
        o.to = to_.empty() ? std::nullopt : std::optional(version_arg(to_, "rollback"));
        o.source = source_;
        o.guards = g;
        o.dry_run = dry_run_;
        Controller c(ctx.global.paths, ctx.global.capacity, false);
        if (!c.dataplane())
            throw Error(nothing_pinned(ctx.global.paths));
        RollbackReport rep = rollback(c, o);
        if (rep.claims == 0) {
            ctx.out << rep.what << ": the rules are already those of version " << rep.to << "\n";
            return 0;
        }
        if (!rep.collateral.forced.empty())
            ctx.err << "warning: collateral guard overridden by --force: " << rep.collateral.forced << "\n";
        ctx.out << rep.what << (dry_run_ ? " (dry run, nothing changed)" : "") << ": " << rep.claims << " claim"
                << (rep.claims == 1 ? "" : "s") << " set back; rules +" << rep.commit.inserted << " -"
                << rep.commit.erased << " ~" << rep.commit.updated;
        if (rep.commit.version)
            ctx.out << "; now version " << rep.commit.version;
        ctx.out << "\n";
        if (rep.collateral.counted)
            print_collateral(ctx.out, rep.collateral.collateral, "  ", "provider space newly blocked");
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
