// The `prefixwall` command line: parses arguments with
// Boost.Program_options and calls the library. Returns the exit code:
// 0 success, 1 an operation failed, 2 bad usage.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace pw {

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

} // namespace pw
