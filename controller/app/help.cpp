#include "app/help.hpp"

#include "base/version.hpp"

#include <sstream>

namespace pw {
namespace po = boost::program_options;

namespace {

// One option as the table declares it: its long and short names, the
// name of its value ("" for a switch) and its help.
struct OptionDoc {
    std::string name, short_name, value, help;
};

std::vector<OptionDoc> docs_of(const po::options_description& o)
{
    std::vector<OptionDoc> out;
    for (const auto& d : o.options()) {
        OptionDoc doc;
        doc.name = d->long_name();
        std::string shorter = d->canonical_display_name(po::command_line_style::allow_dash_for_short);
        if (shorter.size() == 2 && shorter[0] == '-')
            doc.short_name = shorter;
        if (d->semantic()->max_tokens() > 0) {
            doc.value = d->semantic()->name(); // "VALUE" or "VALUE (=default)"
            if (doc.value == "arg")
                doc.value = "VALUE";
        }
        doc.help = d->description();
        out.push_back(doc);
    }
    return out;
}

// The choices of a value written "a|b|c" (empty when it is not a choice).
std::vector<std::string> choices_of(const std::string& value)
{
    std::string v = value.substr(0, value.find(' '));
    std::vector<std::string> out;
    if (v.find('|') == std::string::npos)
        return out;
    std::stringstream ss(v);
    for (std::string c; std::getline(ss, c, '|');)
        out.push_back(c);
    return out;
}

std::string option_line(const OptionDoc& d)
{
    std::string s = "  ";
    s += d.short_name.empty() ? "    " : d.short_name + ", ";
    s += "--" + d.name;
    if (!d.value.empty())
        s += " " + d.value;
    if (s.size() < 34)
        s += std::string(34 - s.size(), ' ');
    else
        s += "\n" + std::string(34, ' ');
    return s + d.help + "\n";
}

std::string roff_escape(const std::string& s)
{
    std::string out;
    for (char c : s) {
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else
            out += c;
    }
    if (!out.empty() && (out[0] == '.' || out[0] == '\''))
        out = "\\&" + out;
    return out;
}

std::vector<OptionDoc> options_of(const CommandSpec& spec)
{
    auto cmd = spec.make();
    return docs_of(command_options(spec, *cmd));
}

} // namespace

std::string usage_text()
{
    std::ostringstream o;
    o << "usage: prefixwall [global options] COMMAND [args]\n"
         "       prefixwall COMMAND --help | prefixwall help COMMAND\n\ncommands:\n";
    for (const auto& c : command_table()) {
        std::string head = std::string("  ") + c.name;
        head += std::string(head.size() < 11 ? 11 - head.size() : 1, ' ');
        o << head << c.summary << "\n";
    }
    o << "\nglobal options (before or after the command):\n";
    for (const auto& d : docs_of(global_options()))
        o << option_line(d);
    return o.str();
}

std::string command_help(const CommandSpec& spec)
{
    std::ostringstream o;
    o << "usage: prefixwall " << spec.name << (*spec.synopsis ? " " : "") << spec.synopsis << "\n\n"
      << spec.summary << ".\n";
    if (*spec.details)
        o << "\n" << spec.details << "\n";
    auto opts = options_of(spec);
    if (!opts.empty()) {
        o << "\noptions:\n";
        for (const auto& d : opts)
            if (d.name != "help")
                o << option_line(d);
    }
    o << "\nGlobal options (--pin-dir, --state-dir, ...): prefixwall --help\n";
    return o.str();
}

std::string bash_completion()
{
    std::ostringstream o;
    o << "# bash completion for prefixwall(8); generated from its command table.\n"
         "_prefixwall() {\n"
         "  local cur prev cmd i\n"
         "  cur=${COMP_WORDS[COMP_CWORD]}\n"
         "  prev=${COMP_WORDS[COMP_CWORD-1]}\n"
         "  cmd=\n"
         "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "    case ${COMP_WORDS[i]} in\n"
         "      -*) ;;\n"
         "      *) case ${COMP_WORDS[i-1]} in\n";
    // A global option's value is not the command.
    o << "           ";
    bool first = true;
    for (const auto& d : docs_of(global_options()))
        if (!d.value.empty()) {
            o << (first ? "" : "|") << "--" << d.name;
            first = false;
        }
    o << ") ;;\n"
         "           *) cmd=${COMP_WORDS[i]}; break ;;\n"
         "         esac ;;\n"
         "    esac\n"
         "  done\n";
    std::string globals;
    for (const auto& d : docs_of(global_options()))
        globals += " --" + d.name;
    o << "  local globals='" << globals.substr(1) << "'\n";
    o << "  if [ -z \"$cmd\" ]; then\n    case $prev in\n";
    for (const auto& d : docs_of(global_options()))
        if (!d.value.empty())
            o << "      --" << d.name << ") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n";
    o << "    esac\n    if [[ $cur == -* ]]; then\n"
         "      COMPREPLY=($(compgen -W \"$globals\" -- \"$cur\"))\n    else\n"
         "      COMPREPLY=($(compgen -W '";
    std::string names;
    for (const auto& c : command_table())
        names += std::string(" ") + c.name;
    o << names.substr(1) << "' -- \"$cur\"))\n    fi\n    return\n  fi\n";
    o << "  local opts= words=\n  case $cmd in\n";
    for (const auto& c : command_table()) {
        auto opts = options_of(c);
        o << "    " << c.name << ")\n      opts='--help";
        for (const auto& d : opts)
            if (d.name != "help")
                o << " --" << d.name;
        o << "'\n      case $prev in\n";
        for (const auto& d : opts) {
            if (d.value.empty())
                continue;
            auto ch = choices_of(d.value);
            o << "        --" << d.name << ") ";
            if (!ch.empty()) {
                o << "COMPREPLY=($(compgen -W '";
                for (size_t i = 0; i < ch.size(); i++)
                    o << (i ? " " : "") << ch[i];
                o << "' -- \"$cur\")); return ;;\n";
            } else {
                o << "COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n";
            }
        }
        o << "      esac\n";
        switch (c.operand) {
        case Operand::interface:
            o << "      words=$(ls /sys/class/net 2>/dev/null)\n";
            break;
        case Operand::command:
            o << "      words='" << names.substr(1) << "'\n";
            break;
        default:
            break;
        }
        o << "      ;;\n";
    }
    o << "  esac\n"
         "  if [[ $cur == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$opts $globals\" -- \"$cur\"))\n"
         "  else\n"
         "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
         "  fi\n"
         "}\n"
         "complete -F _prefixwall prefixwall\n";
    return o.str();
}

std::string man_page()
{
    std::ostringstream o;
    o << ".TH PREFIXWALL 8 \"\" \"prefixwall " << version() << "\" \"System Administration\"\n"
      << ".SH NAME\nprefixwall \\- IPv4/IPv6 prefix filter in XDP, kept in sync with blocklists\n"
      << ".SH SYNOPSIS\n.B prefixwall\n[\\fIglobal options\\fR] \\fICOMMAND\\fR [\\fIargs\\fR]\n"
      << ".SH DESCRIPTION\n"
         "prefixwall judges the source and/or destination address of every IPv4 and IPv6 packet "
         "in the kernel's XDP hook by its longest matching prefix, and drops packets whose longest "
         "match is a block rule. Rules come from registries (files, HTTP(S), the Roskomnadzor dump, "
         "Spamhaus DROP, BGP prefix lists) or are added by hand; every change is applied as one "
         "atomic version. Per-rule counters report the load on each prefix, in the terminal and as "
         "Prometheus metrics.\n"
         ".PP\nThe data plane is pinned under the pin directory and keeps filtering whatever happens "
         "to the controller: a crash, a restart or a failed sync never stops filtering or leaves a "
         "half-applied rule set.\n";
    o << ".SH COMMANDS\n";
    for (const auto& c : command_table()) {
        o << ".TP\n.B " << c.name << (*c.synopsis ? " " : "") << roff_escape(c.synopsis) << "\n"
          << roff_escape(c.summary) << ".\n";
        if (*c.details)
            o << roff_escape(c.details) << "\n";
        for (const auto& d : options_of(c)) {
            if (d.name == "help")
                continue;
            o << ".RS\n.TP\n.B \\-\\-" << roff_escape(d.name) << (d.value.empty() ? "" : " ")
              << roff_escape(d.value) << "\n" << roff_escape(d.help) << "\n.RE\n";
        }
    }
    o << ".SH GLOBAL OPTIONS\n";
    for (const auto& d : docs_of(global_options())) {
        o << ".TP\n.B " << (d.short_name.empty() ? "" : roff_escape(d.short_name) + ", ") << "\\-\\-"
          << roff_escape(d.name) << (d.value.empty() ? "" : " ") << roff_escape(d.value) << "\n"
          << roff_escape(d.help) << "\n";
    }
    o << ".SH ENVIRONMENT\n.TP\n.B PREFIXWALL_PIN_DIR\nThe pin directory, unless \\-\\-pin-dir is given.\n"
         ".TP\n.B PREFIXWALL_STATE_DIR\nThe state directory, unless \\-\\-state-dir is given.\n"
         ".SH FILES\n.TP\n.I /sys/fs/bpf/prefixwall\nPinned maps (maps/) and XDP links (links/).\n"
         ".TP\n.I /var/lib/prefixwall\nRule metadata, attachments, per-source records.\n"
         ".TP\n.I /etc/prefixwall/prefixwall.conf\nThe daemon's configuration (prefixwall serve \\-\\-config).\n"
         ".SH EXIT STATUS\n0 on success, 1 when an operation failed or a sync was refused, 2 on bad usage.\n"
         ".SH SEE ALSO\n.BR ip (8),\n.BR bpftool (8),\n.BR nft (8),\n.BR ipset (8)\n";
    return o.str();
}

} // namespace pw
