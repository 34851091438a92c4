#include "app/cli.hpp"

#include "app/command.hpp"
#include "app/help.hpp"
#include "kernel/program.hpp"

#include <bpf/libbpf.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <ostream>
#include <unistd.h>

namespace pw {
namespace po = boost::program_options;

namespace {

bool g_verbose = false;

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list ap)
{
    // libbpf warns before the error we report anyway; keep those for -v.
    if ((level == LIBBPF_DEBUG || level == LIBBPF_WARN) && !g_verbose)
        return 0;
    return std::vfprintf(stderr, fmt, ap);
}

// The option a token names in `opts` ("--name", "--name=v", "-n"), if any.
const po::option_description* option_named(const po::options_description& opts, const std::string& a)
{
    if (a.size() < 2 || a[0] != '-' || a == "--")
        return nullptr;
    if (a[1] != '-') // a short option: Boost matches it with its dash ("-w")
        return opts.find_nothrow(a.substr(0, 2), false);
    std::string name = a.substr(2);
    return opts.find_nothrow(name.substr(0, name.find('=')), false);
}

bool takes_value(const po::option_description* d, const std::string& token)
{
    return d && token.find('=') == std::string::npos && d->semantic()->max_tokens() > 0;
}

// The command line in one pass: the global options (wherever they stand,
// before or after the command), the command's name, its options and its
// positional arguments. Positionals are taken out here, before
// Boost.Program_options sees the options: its positional handling slows
// down badly with tens of thousands of arguments (`add` with a whole list
// of prefixes). An option that takes a value keeps the token after it;
// `--` ends the options.
struct CommandLine {
    std::vector<std::string> global, options, positionals;
    std::string command;
};

CommandLine split_command_line(const std::vector<std::string>& args, const po::options_description& global,
                               const std::function<const po::options_description*(const std::string&)>& command_opts)
{
    CommandLine c;
    const po::options_description* own = nullptr;
    for (size_t i = 0; i < args.size(); i++) {
        const std::string& a = args[i];
        if (c.command.empty() && (a.size() < 2 || a[0] != '-')) {
            c.command = a;
            own = command_opts(a);
            continue;
        }
        if (!c.command.empty() && a == "--") {
            c.positionals.insert(c.positionals.end(), args.begin() + static_cast<long>(i) + 1, args.end());
            break;
        }
        if (!c.command.empty() && (a.size() < 2 || a[0] != '-')) {
            c.positionals.push_back(a);
            continue;
        }
        // An option: the command's own --help, a global one, or the command's.
        const po::option_description* g = option_named(global, a);
        bool is_global = g && (c.command.empty() || (a != "--help" && a != "-h"));
        auto& into = is_global ? c.global : c.options;
        const po::option_description* d = is_global ? g : own ? option_named(*own, a) : nullptr;
        into.push_back(a);
        if (takes_value(d, a) && i + 1 < args.size())
            into.push_back(args[++i]);
    }
    return c;
}

int run_command(const CommandSpec& spec, Command& cmd, const po::options_description& opts,
                const Global& g, const CommandLine& line, std::ostream& out, std::ostream& err)
{
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(line.options).options(opts).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(std::string(spec.name) + ": " + e.what());
    }
    if (vm.count("help")) {
        out << command_help(spec);
        return 0;
    }
    if (spec.needs_root) {
        if (::geteuid() != 0)
            throw Error(std::string(spec.name) +
                        ": needs root (CAP_BPF and CAP_NET_ADMIN) to reach the BPF maps");
        check_kernel();
    }
    return cmd.run(CommandContext{g, out, err}, line.positionals);
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
    auto fail = [&](const std::exception& e, int code) {
        if (json_errors)
            err << nlohmann::json{{"error", e.what()}}.dump() << "\n";
        else
            err << "prefixwall: " << e.what() << "\n";
        return code;
    };
    try {
        po::options_description global = global_options(&g);
        const CommandSpec* spec = nullptr;
        std::unique_ptr<Command> cmd;
        po::options_description opts;
        CommandLine line = split_command_line(args, global, [&](const std::string& name) {
            spec = find_command(name);
            if (!spec)
                return static_cast<const po::options_description*>(nullptr);
            cmd = spec->make();
            opts.add(command_options(*spec, *cmd));
            return static_cast<const po::options_description*>(&opts);
        });
        po::variables_map vm;
        try {
            po::store(po::command_line_parser(line.global).options(global).run(), vm);
            po::notify(vm);
        } catch (const po::error& e) {
            throw UsageError(e.what());
        }
        if (vm.count("help") || line.command.empty()) {
            (vm.count("help") ? out : err) << usage_text();
            return vm.count("help") ? 0 : 2;
        }
        if (!spec)
            throw UsageError("unknown command '" + line.command + "' (see 'prefixwall --help')");
        g_verbose = g.verbose;
        libbpf_set_print(libbpf_print);
        return run_command(*spec, *cmd, opts, g, line, out, err);
    } catch (const UsageError& e) {
        return fail(e, 2);
    } catch (const std::exception& e) {
        return fail(e, 1);
    }
}

} // namespace pw
