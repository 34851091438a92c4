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
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    return opts.find_nothrow(name.substr(0, name.find('=')), false);
}

bool takes_value(const po::option_description* d, const std::string& token)
{
    return d && token.find('=') == std::string::npos && d->semantic()->max_tokens() > 0;
}

// The command line in three parts: the global options (wherever they
// stand, before or after the command), the command's name, and the rest.
struct Split {
    std::vector<std::string> global, rest;
    std::string command;
};

Split split_command_line(const std::vector<std::string>& args, const po::options_description& global)
{
    Split s;
    size_t at = 0;
    for (; at < args.size(); at++) {
        const std::string& a = args[at];
        if (a.size() < 2 || a[0] != '-')
            break;
        s.global.push_back(a);
        if (takes_value(option_named(global, a), a) && at + 1 < args.size())
            s.global.push_back(args[++at]);
    }
    if (at == args.size())
        return s;
    s.command = args[at];
    for (size_t i = at + 1; i < args.size(); i++) {
        const std::string& a = args[i];
        if (a == "--") { // the rest is the command's, verbatim
            s.rest.insert(s.rest.end(), args.begin() + static_cast<long>(i), args.end());
            break;
        }
        const po::option_description* d = option_named(global, a);
        if (!d || a == "--help" || a == "-h") {
            s.rest.push_back(a);
            continue;
        }
        s.global.push_back(a);
        if (takes_value(d, a) && i + 1 < args.size())
            s.global.push_back(args[++i]);
    }
    return s;
}

// Takes the positional arguments out before Boost.Program_options sees
// the rest: its positional handling slows down badly with tens of
// thousands of arguments (`add` with a whole list of prefixes). An option
// that takes a value keeps the token after it; `--` ends the options.
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
        if (takes_value(option_named(opts, a), a) && i + 1 < args.size())
            options.push_back(args[++i]);
    }
    return options;
}

int run_command(const CommandSpec& spec, const Global& g, const std::vector<std::string>& args,
                std::ostream& out, std::ostream& err)
{
    auto cmd = spec.make();
    po::options_description opts = command_options(spec, *cmd);
    std::vector<std::string> pos;
    po::variables_map vm;
    try {
        auto options = split_positionals(args, opts, pos);
        po::store(po::command_line_parser(options).options(opts).run(), vm);
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
    return cmd->run(CommandContext{g, out, err}, pos);
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
        Split s = split_command_line(args, global);
        po::variables_map vm;
        try {
            po::store(po::command_line_parser(s.global).options(global).run(), vm);
            po::notify(vm);
        } catch (const po::error& e) {
            throw UsageError(e.what());
        }
        if (vm.count("help") || s.command.empty()) {
            (vm.count("help") ? out : err) << usage_text();
            return vm.count("help") ? 0 : 2;
        }
        const CommandSpec* spec = find_command(s.command);
        if (!spec)
            throw UsageError("unknown command '" + s.command + "' (see 'prefixwall --help')");
        g_verbose = g.verbose;
        libbpf_set_print(libbpf_print);
        return run_command(*spec, g, s.rest, out, err);
    } catch (const UsageError& e) {
        return fail(e, 2);
    } catch (const std::exception& e) {
        return fail(e, 1);
    }
}

} // namespace pw
