#include "app/commands/commands.hpp"

#include "app/help.hpp"
#include "base/version.hpp"

#include <ostream>

namespace pw {
namespace po = boost::program_options;

namespace {

class Help : public Command {
public:
    void options(po::options_description&) override {}
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 1, "help", "");
        if (pos.empty()) {
            ctx.out << usage_text();
            return 0;
        }
        const CommandSpec* spec = find_command(pos[0]);
        if (!spec)
            throw UsageError("help: unknown command '" + pos[0] + "' (see 'prefixwall --help')");
        ctx.out << command_help(*spec);
        return 0;
    }
};

class Version : public Command {
public:
    void options(po::options_description&) override {}
    int run(const CommandContext& ctx, const std::vector<std::string>& pos) override
    {
        need_args(pos, 0, 0, "version", "");
        ctx.out << "prefixwall " << version() << "\n";
        return 0;
    }
};

} // namespace

std::unique_ptr<Command> make_help() { return std::make_unique<Help>(); }
std::unique_ptr<Command> make_version() { return std::make_unique<Version>(); }

} // namespace pw
