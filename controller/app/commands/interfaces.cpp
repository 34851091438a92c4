#include "app/commands/commands.hpp"

#include "report/render.hpp"
#include "session/controller.hpp"

#include <ostream>

namespace pw {
namespace po = boost::program_options;

namespace {

class Attach : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("mode", po::value(&mode_)->default_value("native")->value_name("native|generic"),
             "native XDP (in the driver) or generic (in the stack, works everywhere)")
            ("match", po::value(&match_)->default_value("both")->value_name("src|dst|both"),
             "which addresses of a packet are judged")
            ("engine", po::value(&engine_)->default_value("compiled")->value_name("compiled|trie"),
             "the lookup: the compiled table, or the kernel LPM trie (the reference)")
            ("malformed", po::value(&malformed_)->default_value("pass")->value_name("pass|drop"),
             "what happens to IP packets whose headers are cut or malformed")
            ("reject-rate", po::value(&reject_rate_)->default_value(1000)->value_name("N"),
             "answers to reject rules per second per CPU; the rest are dropped without an answer "
             "(0: never answer)")
            ("dry-run", po::bool_switch(&dry_run_),
             "count what would be dropped or rejected as monitored, drop nothing");
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 1, 1, "attach", "interface name");
        Attachment a;
        a.ifname = pos[0];
        a.mode = parse_mode(mode_);
        a.match = parse_match(match_);
        a.dry_run = dry_run_;
        if (malformed_ != "pass" && malformed_ != "drop")
            throw UsageError("attach: bad --malformed '" + malformed_ + "': expected pass or drop");
        a.malformed_drop = malformed_ == "drop";
        a.engine = parse_engine(engine_);
        a.reject_rate = reject_rate_;
        Controller c(ctx.global.paths, ctx.global.capacity, true);
        c.attach(a);
        ctx.out << "attached " << a.ifname << " (" << mode_name(a.mode) << ", match "
                << match_name(a.match) << ", engine " << engine_name(a.engine)
                << (a.dry_run ? ", dry-run" : "") << (a.malformed_drop ? ", malformed drop" : "")
                << ")\n";
        return 0;
    }

private:
    std::string mode_, match_, malformed_, engine_;
    uint32_t reject_rate_ = 1000;
    bool dry_run_ = false;
};

class Detach : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()
            ("all", po::bool_switch(&all_), "every interface prefixwall is attached to")
            ("purge", po::bool_switch(&purge_), "with --all: also remove the rules, counters and state");
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        if (all_ == !pos.empty() || pos.size() > 1)
            throw UsageError("detach: give one interface or --all");
        Controller c(ctx.global.paths, ctx.global.capacity, false);
        if (all_) {
            c.detach_all(purge_);
            ctx.out << "detached all interfaces"
                    << (purge_ ? "; rules, counters and state removed" : "") << "\n";
            return 0;
        }
        if (purge_)
            throw UsageError("detach: --purge goes with --all (rules are shared by all interfaces)");
        c.detach(pos[0]);
        ctx.out << "detached " << pos[0] << "\n";
        return 0;
    }

private:
    bool all_ = false, purge_ = false;
};

class Status : public Command {
public:
    void options(po::options_description& o) override
    {
        o.add_options()("json,j", po::bool_switch(&json_), "machine output");
    }
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "status", "");
        Controller c(ctx.global.paths, ctx.global.capacity, false);
        print_status(ctx.out, c, json_);
        return 0;
    }

private:
    bool json_ = false;
};

} // namespace

std::unique_ptr<Command> make_attach() { return std::make_unique<Attach>(); }
std::unique_ptr<Command> make_detach() { return std::make_unique<Detach>(); }
std::unique_ptr<Command> make_status() { return std::make_unique<Status>(); }

} // namespace pw
