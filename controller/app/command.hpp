// The command table's vocabulary: a Command declares its options (bound to
// its own members, each with its help text) and runs; a CommandSpec is one
// row of the table (name, synopsis, summary, how to make the command).
// Usage, `prefixwall COMMAND --help`, the bash completion and the man page
// all come from the table (app/help.cpp), so a command is written once.
#pragma once

#include "base/error.hpp"
#include "kernel/capacity.hpp"
#include "session/paths.hpp"

#include <boost/program_options.hpp>

#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace pw {

// Bad usage: exit code 2.
class UsageError : public Error {
    using Error::Error;
};

// The global options, wherever they stood on the command line.
struct Global {
    Paths paths;
    Capacity capacity;
    bool verbose = false;
};

struct CommandContext {
    const Global& global;
    std::ostream& out;
    std::ostream& err;
};

class Command {
public:
    virtual ~Command() = default;
    // Declares the options, bound to members, with their help.
    virtual void options(boost::program_options::options_description& o) = 0;
    // Runs with the positional arguments; returns the exit code.
    virtual int run(const CommandContext& ctx, const std::vector<std::string>& args) = 0;
};

// What the positional arguments of a command are (for completion).
enum class Operand { none, interface, prefix, address, command };

struct CommandSpec {
    const char* name;
    const char* synopsis; // the arguments after the name
    const char* summary;  // one line
    const char* details;  // a paragraph for --help and the man page ("" for none)
    Operand operand;
    bool needs_root;
    std::unique_ptr<Command> (*make)();
};

// Every command, in the order usage lists them.
std::span<const CommandSpec> command_table();
const CommandSpec* find_command(std::string_view name);

// The global options (bound to g when given).
boost::program_options::options_description global_options(Global* g = nullptr);

// The options of a command, as its row declares them.
boost::program_options::options_description command_options(const CommandSpec& spec,
                                                            Command& cmd);

// Helpers for commands.
void need_args(const std::vector<std::string>& pos, size_t min, size_t max, const std::string& cmd,
               const std::string& what);
// A decimal number of at most `digits` digits (UsageError "WHAT takes a
// number, not 'TEXT'" otherwise).
unsigned __int128 decimal_arg(const std::string& text, const std::string& what, size_t digits = 19);

} // namespace pw
