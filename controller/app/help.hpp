// Everything the command table tells people and shells: the usage
// summary, one command's help, the bash completion script and the man page
// prefixwall(8). Each is generated from the table (app/command.hpp), so
// they cannot disagree with what the commands accept.
#pragma once

#include "app/command.hpp"

#include <string>

namespace pw {

std::string usage_text();
std::string command_help(const CommandSpec& spec);
std::string bash_completion();
std::string man_page();

} // namespace pw
