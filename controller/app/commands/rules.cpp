#include "app/commands/commands.hpp"
#include "app/commands/guard_flags.hpp"
#include "app/commands/scope_flags.hpp"

#include "app/config.hpp"
#include "base/deadline.hpp"
#include "registry/collateral_guard.hpp"
#include "report/render.hpp"
#include "session/controller.hpp"
#include "session/reader.hpp"

#include <ctime>
#include <ostream>
#include <set>

namespace pw {
namespace po = boost::program_options;

namespace {

std::vector<Prefix> parse_prefixes(const std::vector<std::string>& texts, std::ostream& err)
{
    std::vector<Prefix> out;
    out.reserve(texts.size());
    for (const auto& t : texts) {
        bool masked = false;
        Prefix p = Prefix::parse(t, &masked);
        if (masked)
            err << "warning: " << t << " has host bits set; using " << p.to_string() << "\n";
        out.push_back(p);
    }
    return out;
}

class Add : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("action", po::value(&action_)->default_value("block")->value_name("block|reject|allow|monitor"),
             "block drops; reject answers (TCP RST, ICMP administratively prohibited) and drops; "
             "allow makes an exception inside a block; monitor only counts")
            ("source", po::value(&source_)->default_value("cli")->value_name("NAME"),
             "the source the claims belong to")
            ("comment", po::value(&comment_)->default_value("")->value_name("TEXT"),
             "free text kept with the claim")
            ("force", po::bool_switch(&force_), "apply what the collateral guard would refuse (logged)")
            ("expire", po::value(&expire_)->value_name("DURATION"),
             "the claim lapses after this long (90s, 30m, 2h, 7d, 1h30m): withdrawn then, as one version")
            ("until", po::value(&until_)->value_name("TIME"),
             "the claim lapses at this UTC time (2026-12-31T00:00Z)");
        scope_.declare(o);
        guards_.declare_collateral(o);
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 1, SIZE_MAX, "add", "prefix");
        Action a = parse_action(action_);
        if (source_.empty())
            throw UsageError("add: --source must not be empty");
        check_source_name(source_);
        Scope scope = scope_.scope();
        if (!expire_.empty() && !until_.empty())
            throw UsageError("add: give --expire or --until, not both");
        const auto now = static_cast<int64_t>(::time(nullptr));
        int64_t expires = !expire_.empty() ? now + parse_duration(expire_)
                          : !until_.empty() ? parse_utc_time(until_)
                                            : 0;
        if (expires && expires <= now)
            throw UsageError("add: --until " + until_ + " is not in the future");
        auto prefixes = parse_prefixes(pos, ctx.err);
        for (const auto& p : prefixes)
            scope.check_family(p);
        GuardOptions g;
        g.force = force_;
        guards_.apply_collateral(g); // provider lists read before anything is locked
        Controller c(ctx.global.paths, ctx.global.capacity, true);
        ChangeSet changes;
        {
            // A source has one claim per prefix: one with another scope is
            // replaced (a scope beside a claim without one needs a source
            // of its own).
            auto view = c.view();
            for (const auto& p : prefixes)
                if (auto r = view.find(p); r && r->claims.contains(source_) &&
                                           r->claims.at(source_).scope != scope) {
                    const Scope& was = r->claims.at(source_).scope;
                    ctx.err << "warning: " << p.to_string() << ": the claim of source '" << source_ << "' ("
                            << (was.scoped() ? was.to_string() : "every packet") << ") is replaced by this one ("
                            << (scope.scoped() ? scope.to_string() : "every packet")
                            << "); claim with another --source to keep both\n";
                }
        }
        for (const auto& p : prefixes)
            changes.push_back({p, source_, Claim{a, comment_, scope, expires}});
        CollateralResult coll;
        CommitReport r;
        try {
            c.note_next_commit("add");
            r = c.commit(changes, collateral_check(g, changes, &coll));
        } catch (const CollateralRefused& e) {
            throw Error(std::string("add: ") + e.what() + "; nothing changed");
        }
        if (!coll.forced.empty())
            ctx.err << "warning: collateral guard overridden by --force: " << coll.forced << "\n";
        c.store().forget_source_meta(source_); // its claims no longer match the registry
        ctx.out << "added " << prefixes.size() << " prefix" << (prefixes.size() == 1 ? "" : "es")
                << " (" << r.inserted << " new, " << r.updated << " changed); newly blocked: "
                << units_text(Family::v4, r.newly_blocked[0]) << ", " << units_text(Family::v6, r.newly_blocked[1])
                << "\n";
        if (expires)
            ctx.out << "  expires " << utc_text(expires) << " (" << relative_text(expires, now) << ")\n";
        if (coll.counted)
            print_collateral(ctx.out, coll.collateral, "  ", "provider space newly blocked");
        return 0;
    }

private:
    std::string action_, source_, comment_, expire_, until_;
    bool force_ = false;
    ScopeFlags scope_;
    GuardFlags guards_;
};

class Del : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()("source", po::value(&source_)->default_value("")->value_name("NAME"),
                        "remove only this source's claims (a rule stays while others claim it)");
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 1, SIZE_MAX, "del", "prefix");
        auto prefixes = parse_prefixes(pos, ctx.err);
        Controller c(ctx.global.paths, ctx.global.capacity, false);
        std::set<std::string> touched;
        ChangeSet changes;
        {
            auto view = c.view();
            for (const auto& p : prefixes) {
                auto r = view.find(p);
                if (!r)
                    throw Error("del: no rule for " + p.to_string() + "; nothing changed");
                if (!source_.empty() && !r->claims.contains(source_))
                    throw Error("del: " + p.to_string() + " is not listed by source '" + source_ +
                                "'; nothing changed");
                for (const auto& name : r->sources())
                    if (source_.empty() || name == source_)
                        touched.insert(name);
                changes.push_back({p, source_, std::nullopt});
            }
        }
        c.note_next_commit("del");
        auto r = c.commit(changes);
        for (const auto& name : touched)
            c.store().forget_source_meta(name); // its claims no longer match the registry
        ctx.out << "deleted " << prefixes.size() << (source_.empty() ? "" : " claim")
                << (prefixes.size() == 1 ? "" : "s") << " (" << r.erased << " rules removed, "
                << r.updated << " changed)\n";
        return 0;
    }

private:
    std::string source_;
};

class List : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("source", po::value(&source_)->default_value("")->value_name("NAME"), "only this source's rules")
            ("json,j", po::bool_switch(&json_), "machine output");
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "list", "");
        Controller c(ctx.global.paths, ctx.global.capacity, false);
        print_rules(ctx.out, c.view(), source_, json_);
        return 0;
    }

private:
    std::string source_;
    bool json_ = false;
};

class Lookup : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()("json,j", po::bool_switch(&json_), "machine output")
            ("proto", po::value(&proto_)->default_value("")->value_name("tcp|udp|icmp|icmpv6"),
             "judge a packet of this protocol (rules scoped to L4 apply only to packets they fit; "
             "without --proto the longest rule is shown whatever its scope)")
            ("port", po::value(&port_)->default_value(0)->value_name("N"),
             "with --proto tcp or udp: the packet's destination port")
            ("sport", po::value(&sport_)->default_value(0)->value_name("N"),
             "with --proto tcp or udp: the packet's source port");
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 1, 1, "lookup", "address");
        Address a = Address::parse(pos[0]);
        std::optional<L4> packet;
        if (!proto_.empty()) {
            packet = L4{parse_proto(proto_), false, sport_, port_};
            packet->ports = packet->proto == 6 || packet->proto == 17;
        } else if (port_ || sport_) {
            throw UsageError("lookup: --port and --sport need --proto tcp or udp");
        }
        Reader reader(ctx.global.paths, ctx.global.capacity);
        print_lookup(ctx.out, reader.lookup(a, packet ? &*packet : nullptr), json_);
        return 0;
    }

private:
    bool json_ = false;
    std::string proto_;
    uint16_t port_ = 0, sport_ = 0;
};

// Withdraws the claims whose deadline is over (what every command and the
// daemon do as they start; this one does only that, for a systemd timer
// on hosts without the daemon).
class Expire : public Command {
public:
    void options(po::options_description&) override {}
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "expire", "");
        Controller c(ctx.global.paths, ctx.global.capacity, false);
        if (!c.dataplane())
            throw Error(nothing_pinned(ctx.global.paths));
        size_t n = c.expired_at_open();
        auto [left, next] = c.view().expiring();
        const auto now = static_cast<int64_t>(::time(nullptr));
        ctx.out << "withdrew " << n << " expired claim" << (n == 1 ? "" : "s") << "; " << left << " expiring";
        if (left)
            ctx.out << ", the next at " << utc_text(next) << " (" << relative_text(next, now) << ")";
        ctx.out << "\n";
        return 0;
    }
};

} // namespace

std::unique_ptr<Command> make_expire() { return std::make_unique<Expire>(); }
std::unique_ptr<Command> make_add() { return std::make_unique<Add>(); }
std::unique_ptr<Command> make_del() { return std::make_unique<Del>(); }
std::unique_ptr<Command> make_list() { return std::make_unique<List>(); }
std::unique_ptr<Command> make_lookup() { return std::make_unique<Lookup>(); }

} // namespace pw
